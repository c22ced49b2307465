package main

import "fmt"

func Main() map[string]any {
	fmt.Println("about to throw")
	panic("Extraordinary exception")
}
