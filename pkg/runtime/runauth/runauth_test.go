package runauth_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kwhisk/kwhisk/pkg/runtime/runauth"
)

var (
	master = []byte("master key")
	key    = runauth.Derive(master, "/guest/hello")
	body   = []byte(`{"value":{},"activation_id":"0123456789abcdef0123456789abcdef"}`)
)

func TestDerive(t *testing.T) {
	for _, other := range [][]byte{
		runauth.Derive(master, "/guest/other"),
		runauth.Derive([]byte("another master"), "/guest/hello"),
	} {
		if string(other) == string(key) {
			t.Errorf("two actions or two masters share the key %x", key)
		}
	}
	if string(runauth.Derive(master, "/guest/hello")) != string(key) {
		t.Error("Derive is not deterministic")
	}
}

// A signature checks under its key, among others, and gives back its
// expiry to the millisecond.
func TestSignCheck(t *testing.T) {
	expiry := time.Now().Add(time.Minute)
	h := runauth.Sign(key, expiry, body)
	got, err := runauth.Check([][]byte{runauth.Derive(master, "/guest/other"), key}, h, body)
	if err != nil || got.UnixMilli() != expiry.UnixMilli() {
		t.Errorf("Check = %v, %v; want %v, nil", got, err, expiry)
	}
}

func TestCheckRefuses(t *testing.T) {
	expiry := time.Now().Add(time.Minute)
	h := runauth.Sign(key, expiry, body)
	_, sum, _ := strings.Cut(h, ",v1=")
	tests := []struct {
		name   string
		keys   [][]byte
		header string
		body   []byte
		want   error
	}{
		{"changed body", [][]byte{key}, h, []byte(strings.Replace(string(body), "{}", `{"x":1}`, 1)), runauth.ErrSignature},
		{"wrong key", [][]byte{runauth.Derive(master, "/guest/other")}, h, body, runauth.ErrSignature},
		{"no keys", nil, h, body, runauth.ErrSignature},
		{"changed expiry", [][]byte{key}, fmt.Sprintf("t=%d,v1=%s", expiry.UnixMilli()+1, sum), body, runauth.ErrSignature},
		{"unsigned", [][]byte{key}, "", body, runauth.ErrUnsigned},
		{"garbage", [][]byte{key}, "garbage", body, runauth.ErrSignature},
		{"no expiry", [][]byte{key}, "v1=" + sum, body, runauth.ErrSignature},
		{"no MAC", [][]byte{key}, fmt.Sprintf("t=%d", expiry.UnixMilli()), body, runauth.ErrSignature},
		{"expiry not a number", [][]byte{key}, "t=soon,v1=" + sum, body, runauth.ErrSignature},
		{"expiry zero", [][]byte{key}, "t=0,v1=" + sum, body, runauth.ErrSignature},
		{"MAC not hex", [][]byte{key}, fmt.Sprintf("t=%d,v1=%s", expiry.UnixMilli(), strings.Repeat("z", len(sum))), body, runauth.ErrSignature},
		{"MAC short", [][]byte{key}, fmt.Sprintf("t=%d,v1=%s", expiry.UnixMilli(), sum[:len(sum)-2]), body, runauth.ErrSignature},
	}
	for _, tt := range tests {
		if _, err := runauth.Check(tt.keys, tt.header, tt.body); !errors.Is(err, tt.want) {
			t.Errorf("%s: Check(%q) = %v, want %v", tt.name, tt.header, err, tt.want)
		}
	}
}

func TestAccept(t *testing.T) {
	now := time.Now()
	r := runauth.NewReplays()
	expiry := now.Add(time.Minute)
	if err := r.Accept("a", expiry, now); err != nil {
		t.Fatalf("first Accept = %v", err)
	}
	if err := r.Accept("a", expiry, now.Add(time.Second)); !errors.Is(err, runauth.ErrReplayed) {
		t.Errorf("replay: Accept = %v, want %v", err, runauth.ErrReplayed)
	}
	tests := []struct {
		name   string
		id     string
		expiry time.Time
		want   error
	}{
		{"within the skew", "b", now.Add(-runauth.Skew + time.Millisecond), nil},
		{"past expiry and skew", "c", now.Add(-runauth.Skew - time.Millisecond), runauth.ErrExpired},
		{"at the window's end", "d", now.Add(runauth.MaxWindow), nil},
		{"beyond the window", "e", now.Add(runauth.MaxWindow + time.Millisecond), runauth.ErrSignature},
		{"no activation id", "", expiry, runauth.ErrSignature},
	}
	for _, tt := range tests {
		if err := r.Accept(tt.id, tt.expiry, now); !errors.Is(err, tt.want) {
			t.Errorf("%s: Accept = %v, want %v", tt.name, err, tt.want)
		}
	}
	if n := r.Len(); n != 3 {
		t.Errorf("Len = %d, want the 3 ids accepted", n)
	}
}

// Ids are forgotten once their requests have expired.
func TestAcceptSweeps(t *testing.T) {
	const old, fresh = 100, 64 // a sweep comes at least every 64 accepts
	r := runauth.NewReplays()
	now := time.Now()
	for i := range old {
		if err := r.Accept(fmt.Sprint("old", i), now.Add(time.Minute), now); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.Len(); n != old {
		t.Fatalf("Len = %d, want %d: none has expired", n, old)
	}
	later := now.Add(time.Minute + runauth.Skew + time.Second)
	for i := range fresh {
		if err := r.Accept(fmt.Sprint("new", i), later.Add(time.Minute), later); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.Len(); n > fresh {
		t.Errorf("Len = %d after %d new ids; want the %d expired ones swept", n, fresh, old)
	}
}

// BenchmarkSignCheck is what run authentication adds to a warm invoke: the
// gateway's derive and sign, and the runtime's check and replay entry, on
// a body of a typical size.
func BenchmarkSignCheck(b *testing.B) {
	master := []byte("0123456789abcdef0123456789abcdef")
	body := []byte(`{"value":{"name":"bench"},"namespace":"guest","action_name":"/guest/hello","action_version":"0.0.1","activation_id":"0123456789abcdef0123456789abcdef","transaction_id":"0123456789abcdef0123456789abcdef"}`)
	keys := [][]byte{runauth.Derive(master, "/guest/hello")}
	r := runauth.NewReplays()
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		h := runauth.Sign(runauth.Derive(master, "/guest/hello"), now.Add(time.Minute), body)
		exp, err := runauth.Check(keys, h, body)
		if err != nil {
			b.Fatal(err)
		}
		if err := r.Accept(strconv.Itoa(i), exp, now); err != nil {
			b.Fatal(err)
		}
	}
}
