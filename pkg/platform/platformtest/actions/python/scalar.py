def main(params):
    return "a string"
