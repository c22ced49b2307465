package main

import (
	"fmt"
	"os"
)

func Main(params struct{ Name string }) map[string]string {
	fmt.Println("hello", params.Name)
	fmt.Fprintln(os.Stderr, "a line on stderr")
	return map[string]string{"greeting": "Hello, " + params.Name + "!"}
}
