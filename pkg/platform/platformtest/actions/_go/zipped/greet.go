package main

func greet(name string) string {
	return "Hello from a zip, " + name + "!"
}
