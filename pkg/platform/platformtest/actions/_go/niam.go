package main

// The entry point is not called Main.
func Niam(params map[string]any) map[string]any {
	return map[string]any{"entry": "niam", "n": params["n"]}
}
