package activation

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// manualClock is a clock the test moves.
type manualClock struct{ now time.Time }

func (c *manualClock) Now() time.Time { return c.now }

func throttleMessage(err error) string {
	if err == nil {
		return ""
	}
	if !whisk.IsKind(err, whisk.KindThrottled) {
		return "not throttled: " + err.Error()
	}
	return err.Error()
}

func TestInvokeRateUsesCalendarMinutes(t *testing.T) {
	clock := &manualClock{time.Date(2026, 1, 1, 10, 0, 58, 0, time.UTC)}
	th := newThrottles(whisk.Throttles{InvocationsPerMinute: intPtr(2)}, clock.Now)
	guest := Caller{Namespace: "guest"}
	var got []string
	invoke := func() {
		done, err := th.invoke(guest)
		got = append(got, throttleMessage(err))
		if err == nil {
			done()
		}
	}
	invoke()
	invoke()
	invoke() // third in the minute: refused, and counted
	invoke()
	clock.now = clock.now.Add(3 * time.Second) // 10:01:01, a new calendar minute
	invoke()
	want := []string{"", "", TooManyPerMinute(3, 2), TooManyPerMinute(4, 2), ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("invokes (-want +got):\n%s", diff)
	}
	if got, want := TooManyPerMinute(3, 2), "Too many requests in the last minute (count: 3, allowed: 2)."; got != want {
		t.Errorf("message %q, want OpenWhisk's %q", got, want)
	}
}

func TestConcurrentInvokes(t *testing.T) {
	clock := &manualClock{time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)}
	th := newThrottles(whisk.Throttles{ConcurrentInvocations: intPtr(2)}, clock.Now)
	guest := Caller{Namespace: "guest"}
	first, err := th.invoke(guest)
	if err != nil {
		t.Fatal(err)
	}
	second, err := th.invoke(guest)
	if err != nil {
		t.Fatal(err)
	}
	_, err = th.invoke(guest)
	if got, want := throttleMessage(err), "Too many concurrent requests in flight (count: 2, allowed: 2)."; got != want {
		t.Errorf("third concurrent invoke: %q, want %q", got, want)
	}
	if _, err := th.invoke(Caller{Namespace: "other"}); err != nil {
		t.Errorf("another namespace was throttled: %v", err)
	}
	first()
	first() // a second call must not free another slot
	third, err := th.invoke(guest)
	if err != nil {
		t.Fatalf("invoke after one finished: %v", err)
	}
	_, err = th.invoke(guest)
	if got, want := throttleMessage(err), TooManyConcurrent(2, 2); got != want {
		t.Errorf("after a double done: %q, want %q", got, want)
	}
	second()
	third()
}

func TestNamespaceLimitsOverrideDefaults(t *testing.T) {
	clock := &manualClock{time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)}
	th := newThrottles(whisk.Throttles{}, clock.Now) // OpenWhisk's defaults
	own := Caller{Namespace: "own", Throttles: whisk.Throttles{FiresPerMinute: intPtr(1), InvocationsPerMinute: intPtr(0)}}
	if err := th.fire(own); err != nil {
		t.Fatalf("first fire: %v", err)
	}
	if got, want := throttleMessage(th.fire(own)), TooManyPerMinute(2, 1); got != want {
		t.Errorf("second fire: %q, want %q", got, want)
	}
	if _, err := th.invoke(own); throttleMessage(err) != TooManyPerMinute(1, 0) {
		t.Errorf("invoke with a limit of 0: %v, want refused", err)
	}
	guest := Caller{Namespace: "guest"}
	for i := range 60 {
		if err := th.fire(guest); err != nil {
			t.Fatalf("fire %d under the default of 60: %v", i+1, err)
		}
	}
	if got, want := throttleMessage(th.fire(guest)), TooManyPerMinute(61, 60); got != want {
		t.Errorf("fire 61: %q, want %q", got, want)
	}
	held := make([]func(), 0, 30)
	for i := range 30 {
		done, err := th.invoke(guest)
		if err != nil {
			t.Fatalf("invoke %d under the default of 30 concurrent: %v", i+1, err)
		}
		held = append(held, done)
	}
	if _, err := th.invoke(guest); throttleMessage(err) != TooManyConcurrent(30, 30) {
		t.Errorf("invoke 31 in flight: %v", err)
	}
	for _, done := range held {
		done()
	}
}
