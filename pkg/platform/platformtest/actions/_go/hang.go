package main

import (
	"fmt"
	"time"
)

func Main(params map[string]any) map[string]any {
	if params["hang"] == true {
		fmt.Println("hanging")
		time.Sleep(time.Hour)
	}
	return map[string]any{"hung": false}
}
