def main(params):
    return {"s": "x" * params["size"]}
