package main

func Main() []any {
	return []any{1, "two", map[string]int{"three": 3}}
}
