# hello.py: greets args["name"] and writes one line to each stream.
import sys


def main(args):
    name = args.get("name", "stranger")
    print("hello stdout " + name)
    print("hello stderr " + name, file=sys.stderr)
    return {"greeting": "Hello, " + name + "!"}
