package main

import "time"

func init() {
	time.Sleep(time.Hour)
}

func Main() map[string]any {
	return map[string]any{}
}
