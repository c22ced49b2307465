import sys


def main(args):
    print("hello " + args["name"])
    print("a line on stderr", file=sys.stderr)
    return {"greeting": "Hello, " + args["name"] + "!"}
