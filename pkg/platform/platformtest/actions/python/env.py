import os


def main(params):
    return {k: v for k, v in os.environ.items() if k.startswith("__OW_") or k in ("SECRET", "JSONISH")}
