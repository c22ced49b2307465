def niam(params):
    return {"entry": "niam", "n": params["n"]}
