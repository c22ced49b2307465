def main(params):
    return {"error": params.get("error"), "other": "dropped"}
