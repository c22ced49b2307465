package main

func Main() string {
	return "a string"
}
