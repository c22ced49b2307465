package postgres

import "testing"

func TestFirstSchema(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"kwhisk":            "kwhisk",
		" kwhisk , public":  "kwhisk",
		`"My ""Schema""",x`: `My "Schema"`,
		"$user, public":     "",
	} {
		if got := firstSchema(in); got != want {
			t.Errorf("firstSchema(%q) = %q, want %q", in, got, want)
		}
	}
}
