def main(params):
    if params.get("hang"):
        print("hanging")
        while True:
            pass
    return {"hung": False}
