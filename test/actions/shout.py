# shout.py: upper-cases args["message"] and says which runtime did it.
def main(args):
    return {
        "message": str(args.get("message", "")).upper(),
        "place": args.get("place"),
        "by": "python",
    }
