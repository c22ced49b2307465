import time


def main(params):
    ms = params.get("ms", 0)
    time.sleep(ms / 1000)
    return {"slept": ms}
