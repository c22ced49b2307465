package main

import (
	"fmt"
	"os"
)

func Main(params map[string]any) map[string]any {
	fmt.Println("hello", params["name"])
	fmt.Fprintln(os.Stderr, "a line on stderr")
	return map[string]any{"greeting": fmt.Sprintf("Hello, %v!", params["name"])}
}
