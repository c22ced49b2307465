import sys

print("exiting during init")
sys.exit(3)


def main(params):
    return {}
