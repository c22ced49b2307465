package activation

import (
	"strconv"
	"sync"
	"time"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// DefaultThrottles are OpenWhisk's shipped per-namespace limits (the
// ansible and standalone defaults, not the higher figures its docs give).
var DefaultThrottles = whisk.Throttles{
	InvocationsPerMinute:  intPtr(60),
	ConcurrentInvocations: intPtr(30),
	FiresPerMinute:        intPtr(60),
}

func intPtr(n int) *int { return &n }

// TooManyPerMinute is OpenWhisk's 429 message for a per-minute rate:
// count requests so far in the current calendar minute, this one included.
func TooManyPerMinute(count, allowed int) string {
	return "Too many requests in the last minute (count: " + strconv.Itoa(count) + ", allowed: " + strconv.Itoa(allowed) + ")."
}

// TooManyConcurrent is OpenWhisk's 429 message for the concurrent limit:
// count activations in flight, not counting the one refused.
func TooManyConcurrent(count, allowed int) string {
	return "Too many concurrent requests in flight (count: " + strconv.Itoa(count) + ", allowed: " + strconv.Itoa(allowed) + ")."
}

// throttles counts, per namespace, the invokes and fires of the current
// calendar minute and the invokes in flight, and refuses what exceeds the
// namespace's limits (its own where set, else the defaults). Rate windows
// are fixed epoch minutes: the counts reset when the minute changes.
// Every request counts against the rate, refused ones too, as in
// OpenWhisk; a request is refused when the count exceeds the limit.
type throttles struct {
	defaults whisk.Throttles // every field set
	now      func() time.Time
	// refused, if set, hears of every refusal with its namespace and
	// reason (a Throttle constant), under the lock: it must not block.
	refused func(ns, reason string)

	mu   sync.Mutex
	byNS map[string]*usage
}

// usage is one namespace's counts.
type usage struct {
	minute   int64 // epoch minute the rate counts are for
	invokes  int
	fires    int
	inflight int
}

// newThrottles counts against defaults, whose unset fields take
// DefaultThrottles.
func newThrottles(defaults whisk.Throttles, now func() time.Time) *throttles {
	return &throttles{defaults: withDefaults(defaults), now: now, byNS: map[string]*usage{}}
}

// withDefaults returns t with its unset fields taken from DefaultThrottles:
// the one place the system limits are completed. The result shares no
// pointers with t.
func withDefaults(t whisk.Throttles) whisk.Throttles {
	all := t.Over(DefaultThrottles)
	return whisk.Throttles{
		InvocationsPerMinute:  intPtr(*all.InvocationsPerMinute),
		ConcurrentInvocations: intPtr(*all.ConcurrentInvocations),
		FiresPerMinute:        intPtr(*all.FiresPerMinute),
	}
}

// usage returns ns's counts with the rate counts of an earlier minute
// reset. The caller holds t.mu.
func (t *throttles) usage(ns string) *usage {
	minute := t.now().Unix() / 60
	u := t.byNS[ns]
	if u == nil {
		if len(t.byNS) >= 10000 {
			t.prune(minute)
		}
		u = &usage{minute: minute}
		t.byNS[ns] = u
	}
	if u.minute != minute {
		u.minute, u.invokes, u.fires = minute, 0, 0
	}
	return u
}

// prune drops the namespaces with nothing in flight and no count this
// minute, so the map does not grow with every namespace ever seen.
func (t *throttles) prune(minute int64) {
	for ns, u := range t.byNS {
		if u.inflight == 0 && u.minute != minute {
			delete(t.byNS, ns)
		}
	}
}

// Throttle reasons: which limit refused a request (Recorder.Throttled).
const (
	ThrottleInvocationsPerMinute  = "invocations_per_minute"
	ThrottleConcurrentInvocations = "concurrent_invocations"
	ThrottleFiresPerMinute        = "fires_per_minute"
)

func (t *throttles) refuse(ns, reason string) {
	if t.refused != nil {
		t.refused(ns, reason)
	}
}

// invoke admits one top-level invoke by c: it counts against the rate
// and, once admitted, against the concurrent limit until done is called
// (exactly once, when the activation has completed).
func (t *throttles) invoke(c Caller) (done func(), err error) {
	lim := c.Throttles.Over(t.defaults)
	perMinute, concurrent := *lim.InvocationsPerMinute, *lim.ConcurrentInvocations
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.usage(c.Namespace)
	u.invokes++
	if u.invokes > perMinute {
		t.refuse(c.Namespace, ThrottleInvocationsPerMinute)
		return nil, whisk.Errorf(whisk.KindThrottled, "%s", TooManyPerMinute(u.invokes, perMinute))
	}
	if u.inflight >= concurrent {
		t.refuse(c.Namespace, ThrottleConcurrentInvocations)
		return nil, whisk.Errorf(whisk.KindThrottled, "%s", TooManyConcurrent(u.inflight, concurrent))
	}
	u.inflight++
	var once sync.Once
	return func() {
		once.Do(func() {
			t.mu.Lock()
			u.inflight--
			t.mu.Unlock()
		})
	}, nil
}

// fire admits one trigger fire by c against the fire rate.
func (t *throttles) fire(c Caller) error {
	perMinute := *c.Throttles.Over(t.defaults).FiresPerMinute
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.usage(c.Namespace)
	u.fires++
	if u.fires > perMinute {
		t.refuse(c.Namespace, ThrottleFiresPerMinute)
		return whisk.Errorf(whisk.KindThrottled, "%s", TooManyPerMinute(u.fires, perMinute))
	}
	return nil
}
