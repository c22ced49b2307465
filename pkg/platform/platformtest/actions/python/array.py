def main(params):
    return [1, "two", {"three": 3}]
