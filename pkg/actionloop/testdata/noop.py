def main(args):
    return {}
