def greet(name):
    return "Hello from a zip, " + name + "!"
