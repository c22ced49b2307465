// Package runauth authenticates the gateway's run requests to a Knative
// revision, so that only the gateway can invoke an action: a pod of
// another tenant that reaches a revision's cluster-local URL is refused
// before the action's code is touched.
//
// The gateway holds master keys (a Kubernetes Secret; the first signs,
// every one verifies, so a key can be rotated). Each action has its own
// key, derived from a master and the action's fully qualified name, and a
// revision's runtime fetches its action's keys from the gateway at boot.
// A pod therefore never holds a key that opens another action: action
// code runs in the same container as the runtime and could read anything
// the runtime holds, so a master key in the pod would let any action call
// every other.
//
// A run request carries Header: its expiry and an HMAC-SHA256 over the
// expiry and the exact body, which names the activation. The runtime
// refuses a request whose MAC matches no key, one past its expiry, and one
// whose activation id it has already accepted (a replay); the replay
// cache is per pod and holds ids until their requests expire.
//
// It imports only the standard library: runtime images link it.
package runauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header carries a run request's signature: "t=<expiry, epoch ms>,v1=<hex MAC>".
const Header = "Kwhisk-Signature"

// Skew is how far the clocks of the gateway and a pod may disagree: a
// request is accepted until Skew past its expiry.
const Skew = 30 * time.Second

// RefetchAfter is the soonest a runtime fetches its keys again after a
// signature that none of them checks (a key the gateway has just rotated
// in, or a forgery: the bound keeps forgeries from making every pod hammer
// the gateway). The gateway tries a refused run once more after it.
const RefetchAfter = time.Second

// MaxWindow is the furthest ahead an expiry may be: Knative's longest
// revision timeout (600 s) with room. It bounds how long a replay cache
// keeps an activation id.
const MaxWindow = 15 * time.Minute

const (
	deriveContext = "kwhisk run key v1\x00"
	macContext    = "kwhisk run v1\x00"
)

// Errors of Check and Accept; a runtime answers each with 401.
var (
	ErrUnsigned  = errors.New("the run request is not signed by the gateway")
	ErrSignature = errors.New("the run request's signature is not valid for this action")
	ErrExpired   = errors.New("the run request has expired")
	ErrReplayed  = errors.New("the run request's activation has already run")
)

// Derive returns the key of the action named action (fully qualified,
// "/ns/pkg/a") under master.
func Derive(master []byte, action string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(deriveContext + action))
	return m.Sum(nil)
}

func mac(key []byte, expiry string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(macContext + expiry + "\x00"))
	m.Write(body)
	return m.Sum(nil)
}

// Sign returns the Header value of a run request with body that expires
// at expiry, under the action's key.
func Sign(key []byte, expiry time.Time, body []byte) string {
	t := strconv.FormatInt(expiry.UnixMilli(), 10)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac(key, t, body))
}

// parse splits a Header value.
func parse(header string) (expiry time.Time, t string, sum []byte, ok bool) {
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = v
		case "v1":
			sum, _ = hex.DecodeString(v)
		}
	}
	ms, err := strconv.ParseInt(t, 10, 64)
	if err != nil || ms <= 0 || len(sum) != sha256.Size {
		return time.Time{}, "", nil, false
	}
	return time.UnixMilli(ms), t, sum, true
}

// Check reports whether header signs body under one of keys, and the
// request's expiry. It does not look at the clock or the replay cache.
func Check(keys [][]byte, header string, body []byte) (time.Time, error) {
	if header == "" {
		return time.Time{}, ErrUnsigned
	}
	expiry, t, sum, ok := parse(header)
	if !ok {
		return time.Time{}, ErrSignature
	}
	for _, k := range keys {
		if hmac.Equal(sum, mac(k, t, body)) {
			return expiry, nil
		}
	}
	return time.Time{}, ErrSignature
}

// Replays remembers the activation ids a pod has accepted until their
// requests expire.
type Replays struct {
	mu     sync.Mutex
	seen   map[string]time.Time // activation id → when it may be forgotten
	sweeps int
}

// NewReplays returns an empty replay cache.
func NewReplays() *Replays { return &Replays{seen: map[string]time.Time{}} }

// Accept records the activation id of a request with a valid signature
// that expires at expiry, or refuses it: ErrExpired past its expiry (and
// Skew), ErrReplayed when the id was accepted before.
func (r *Replays) Accept(id string, expiry, now time.Time) error {
	if id == "" {
		return ErrSignature // a signed body always names its activation
	}
	until := expiry.Add(Skew)
	if now.After(until) {
		return ErrExpired
	}
	if expiry.After(now.Add(MaxWindow)) {
		// No gateway signs that far ahead; keeping the id that long
		// would let the cache grow without bound.
		return ErrSignature
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[id]; ok {
		return ErrReplayed
	}
	r.seen[id] = until
	// Sweep now and then, in proportion to the ids kept, so the cache
	// stays bounded by the requests of one window.
	if r.sweeps++; r.sweeps >= 64 && r.sweeps >= len(r.seen)/4 {
		r.sweeps = 0
		for k, t := range r.seen {
			if now.After(t) {
				delete(r.seen, k)
			}
		}
	}
	return nil
}

// Len is the number of ids kept.
func (r *Replays) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}
