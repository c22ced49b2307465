def main(params):
    print("about to throw")
    raise Exception("Extraordinary exception")
