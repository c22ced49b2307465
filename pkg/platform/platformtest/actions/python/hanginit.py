while True:
    pass


def main(params):
    return {}
