package main

import "fmt"

func Main(params struct{ Delimiter string }) map[string]string {
	s := params.Delimiter + " ✓ 😀 привет " + params.Delimiter
	fmt.Println(s)
	return map[string]string{"winter": s}
}
