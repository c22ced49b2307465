package sqlite_test

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/kwhisk/kwhisk/pkg/store/sqlite"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// benchActivation is a record of about 1 KB as JSON.
func benchActivation(start int64) *whisk.Activation {
	return &whisk.Activation{
		Namespace:    "guest",
		Name:         "hello",
		Version:      whisk.DefaultVersion,
		Subject:      "guest",
		ActivationID: whisk.NewActivationID(),
		Start:        start,
		End:          start + 12,
		Duration:     12,
		Response:     whisk.Response{StatusCode: whisk.StatusSuccess, Result: json.RawMessage(`{"payload":"` + strings.Repeat("x", 400) + `"}`)},
		Logs:         []string{"2024-01-01T00:00:00.000000000Z stdout: " + strings.Repeat("l", 300)},
		Annotations: whisk.KeyValues{
			{Key: "path", Value: json.RawMessage(`"guest/hello"`)},
			{Key: "kind", Value: json.RawMessage(`"nodejs:20"`)},
			{Key: "limits", Value: json.RawMessage(`{"concurrency":1,"logs":10,"memory":256,"timeout":60000}`)},
			{Key: "waitTime", Value: json.RawMessage(`3`)},
		},
	}
}

// BenchmarkPutActivation measures sustained puts: the final Flush is timed,
// so the rate is what reaches the disk, not what fits in the queue.
func BenchmarkPutActivation(b *testing.B) {
	s := openStore(b, b.TempDir(), sqlite.Options{})
	defer func() {
		if err := s.Close(); err != nil {
			b.Errorf("Close: %v", err)
		}
	}()
	if n, err := json.Marshal(benchActivation(1)); err != nil || len(n) < 900 {
		b.Fatalf("record is %d bytes (%v), want about 1 KB", len(n), err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var i int64
		for pb.Next() {
			i++
			if err := s.PutActivation(b.Context(), benchActivation(i)); err != nil {
				b.Errorf("PutActivation: %v", err)
				return
			}
		}
	})
	if err := s.Flush(b.Context()); err != nil {
		b.Fatalf("Flush: %v", err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}

// BenchmarkGetActivation reads random committed records.
func BenchmarkGetActivation(b *testing.B) {
	s := openStore(b, b.TempDir(), sqlite.Options{})
	defer func() {
		if err := s.Close(); err != nil {
			b.Errorf("Close: %v", err)
		}
	}()
	const n = 20000
	ids := make([]whisk.ActivationID, n)
	for i := range ids {
		a := benchActivation(int64(i))
		ids[i] = a.ActivationID
		if err := s.PutActivation(b.Context(), a); err != nil {
			b.Fatalf("PutActivation: %v", err)
		}
	}
	if err := s.Flush(b.Context()); err != nil {
		b.Fatalf("Flush: %v", err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(rand.Uint64(), 0))
		for pb.Next() {
			if _, err := s.GetActivation(b.Context(), "guest", ids[rng.IntN(n)]); err != nil {
				b.Errorf("GetActivation: %v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
}
