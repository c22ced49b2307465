package main

import "strings"

func Main(params struct{ Size int }) map[string]string {
	return map[string]string{"s": strings.Repeat("x", params.Size)}
}
