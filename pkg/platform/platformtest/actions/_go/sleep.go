package main

import "time"

func Main(params map[string]any) map[string]any {
	ms, _ := params["ms"].(float64)
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return map[string]any{"slept": ms}
}
