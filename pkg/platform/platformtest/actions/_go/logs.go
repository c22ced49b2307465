package main

import (
	"bufio"
	"os"
	"strings"
)

func Main(params struct{ Lines, Size int }) map[string]int {
	w := bufio.NewWriter(os.Stdout)
	line := strings.Repeat("y", params.Size)
	for range params.Lines {
		w.WriteString(line + "\n")
	}
	w.Flush()
	return map[string]int{"lines": params.Lines}
}
