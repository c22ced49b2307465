def main(params):
    return params
