package main

func Main() map[string]any {
	return map[string]any{"x": notDefinedAnywhere + 1}
}
