import sys


def main(params):
    print("hello " + params["name"])
    print("a line on stderr", file=sys.stderr)
    return {"greeting": "Hello, " + params["name"] + "!"}
