package tracing

import "testing"

func TestNormalize(t *testing.T) {
	const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct{ in, want string }{
		{valid, valid},
		{"", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", ""}, // version 00 has no more fields
		{"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-says", valid},
		{"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", ""},
		{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", ""}, // upper case
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", ""},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g", ""},
		{"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseAndFormatRoundTrip(t *testing.T) {
	for _, tp := range []string{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
	} {
		sc := Parse(tp)
		if !sc.IsValid() || !sc.IsRemote() {
			t.Fatalf("Parse(%q) = %v, want a valid remote span context", tp, sc)
		}
		if got := Format(sc); got != tp {
			t.Errorf("Format(Parse(%q)) = %q", tp, got)
		}
	}
	if sc := Parse("nonsense"); sc.IsValid() {
		t.Errorf("Parse(nonsense) = %v, want invalid", sc)
	}
}

// A valid traceparent costs nothing to check: the invoke path reads it on
// every request.
func TestNormalizeDoesNotAllocate(t *testing.T) {
	const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if n := testing.AllocsPerRun(100, func() { _ = Normalize(valid) }); n != 0 {
		t.Errorf("Normalize allocates %v times, want 0", n)
	}
}
