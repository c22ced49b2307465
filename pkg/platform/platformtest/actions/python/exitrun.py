import os


def main(params):
    if params.get("exit"):
        os._exit(3)
    return {"alive": True}
