from greet import greet


def main(params):
    return {"zipped": greet(params["name"])}
