package whisk

import "testing"

func TestThrottlesOver(t *testing.T) {
	n := func(v int) *int { return &v }
	def := Throttles{InvocationsPerMinute: n(60), ConcurrentInvocations: n(30), FiresPerMinute: n(60)}
	got := Throttles{ConcurrentInvocations: n(2)}.Over(def)
	if *got.InvocationsPerMinute != 60 || *got.ConcurrentInvocations != 2 || *got.FiresPerMinute != 60 {
		t.Errorf("Over = %d/%d/%d, want 60/2/60", *got.InvocationsPerMinute, *got.ConcurrentInvocations, *got.FiresPerMinute)
	}
	if got := (Throttles{}).Over(Throttles{}); got.FiresPerMinute != nil {
		t.Errorf("Over of nothing set a limit: %v", *got.FiresPerMinute)
	}
}
