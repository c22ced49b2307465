x = not_defined_anywhere + 1


def main(params):
    return {"x": x}
