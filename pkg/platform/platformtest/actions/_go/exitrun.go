package main

import "os"

func Main(params map[string]any) map[string]any {
	if params["exit"] == true {
		os.Exit(3)
	}
	return map[string]any{"alive": true}
}
