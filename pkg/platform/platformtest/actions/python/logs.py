def main(params):
    line = "y" * params["size"]
    for _ in range(params["lines"]):
        print(line)
    return {"lines": params["lines"]}
