package main

func Main(params map[string]any) map[string]any {
	return map[string]any{}
}
