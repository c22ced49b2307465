package main

import (
	"fmt"
	"os"
)

func init() {
	fmt.Println("exiting during init")
	os.Exit(3)
}

func Main() map[string]any {
	return map[string]any{}
}
