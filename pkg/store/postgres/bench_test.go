package postgres_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/store/postgres"
	"github.com/kwhisk/kwhisk/pkg/store/postgres/pgtest"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// benchActivation is a record of about 1 KB as JSON, as sqlite's benchmark.
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

// BenchmarkPutActivation measures durable records per second (the final
// Flush is timed) and the p99 of a commit: the time from a put until a Flush
// issued right after it returns, sampled every 64th put.
func BenchmarkPutActivation(b *testing.B) {
	s := openStore(b, pgtest.Shared(b).SchemaURL("bench_put"), postgres.Options{})
	defer func() {
		if err := s.Close(); err != nil {
			b.Errorf("Close: %v", err)
		}
	}()
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var i int64
		for pb.Next() {
			i++
			t0 := time.Now()
			if err := s.PutActivation(b.Context(), benchActivation(i)); err != nil {
				b.Errorf("PutActivation: %v", err)
				return
			}
			if i%64 == 0 {
				if err := s.Flush(b.Context()); err != nil {
					b.Errorf("Flush: %v", err)
					return
				}
				mu.Lock()
				lat = append(lat, time.Since(t0))
				mu.Unlock()
			}
		}
	})
	if err := s.Flush(b.Context()); err != nil {
		b.Fatalf("Flush: %v", err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "commit-p99-ms")
	}
}
