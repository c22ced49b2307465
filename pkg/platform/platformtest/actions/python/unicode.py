def main(params):
    s = params["delimiter"] + " ✓ 😀 привет " + params["delimiter"]
    print(s)
    return {"winter": s}
