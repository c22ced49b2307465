package main

import (
	"os"
	"strings"
)

func Main() map[string]string {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "__OW_") || k == "SECRET" || k == "JSONISH" {
			env[k] = v
		}
	}
	return env
}
