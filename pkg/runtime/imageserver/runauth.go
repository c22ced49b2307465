package imageserver

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
	"github.com/kwhisk/kwhisk/pkg/runtime/runauth"
	"github.com/kwhisk/kwhisk/pkg/runtime/wire"
)

// Run authentication, Knative mode only: the runtime fetches its action's
// run keys from the gateway (wire.EnvRunKeysURL) and refuses every /run
// they do not sign, and every replay, before it runs anything
// (pkg/runtime/runauth).

const (
	maxKeysBytes   = 1 << 20
	keysRetryAfter = runauth.RefetchAfter // the soonest a fetch follows the last one, on a failed check
	keysMaxAge     = time.Minute          // keys older than this are fetched again in the background
	keysPatience   = 10 * time.Second     // a fetch after the boot's
)

var errNoKeys = errors.New("the runtime could not fetch its action's run keys")

// runKeys holds the run keys of a Knative action, fetched from the gateway
// at boot, and the pod's replay cache. The keys are fetched again, one
// fetch at a time, when a signature matches none of them (the gateway may
// have rotated its key) and when they have grown old (so a key the
// gateway dropped stops opening the action).
type runKeys struct {
	url, token string
	client     *http.Client
	stderr     io.Writer
	replays    *runauth.Replays
	retryAfter time.Duration // keysRetryAfter; tests shorten it
	maxAge     time.Duration // keysMaxAge; tests shorten it
	first      chan struct{} // closed when the boot fetch has ended

	mu      sync.Mutex
	ctx     context.Context // the server's, from start
	keys    [][]byte        // nil until a fetch has succeeded
	fetched time.Time       // when keys were fetched
	tried   time.Time       // when the last fetch ended
	busy    chan struct{}   // the fetch under way, closed when it ends; nil: none
}

func newRunKeys(url, token string, client *http.Client, stderr io.Writer) *runKeys {
	return &runKeys{
		url: url, token: token, client: client, stderr: stderr, replays: runauth.NewReplays(),
		retryAfter: keysRetryAfter, maxAge: keysMaxAge, first: make(chan struct{}),
	}
}

// start begins the boot fetch, which runs while the action initialises.
func (k *runKeys) start(ctx context.Context) {
	k.mu.Lock()
	k.ctx, k.busy = ctx, k.first
	k.mu.Unlock()
	go k.fetch(k.first, fetchPatience)
}

// fetch fetches the keys, keeping the ones it had when it fails, and
// closes done.
func (k *runKeys) fetch(done chan struct{}, patience time.Duration) {
	ctx, cancel := context.WithTimeout(k.ctx, patience)
	keys, err := k.get(ctx)
	cancel()
	if err != nil && k.ctx.Err() == nil {
		fmt.Fprintf(k.stderr, "kwhisk runtime: fetch the run keys: %v\n", err)
	}
	k.mu.Lock()
	k.tried, k.busy = time.Now(), nil
	if err == nil {
		k.keys, k.fetched = keys, k.tried
	}
	k.mu.Unlock()
	close(done)
}

func (k *runKeys) get(ctx context.Context) ([][]byte, error) {
	b, err := fetch(ctx, k.client, k.url, k.token, maxKeysBytes)
	if err != nil {
		return nil, err
	}
	var rk wire.RunKeys
	if err := json.Unmarshal(b, &rk); err != nil {
		return nil, fmt.Errorf("GET %s: %w", k.url, err)
	}
	keys := make([][]byte, 0, len(rk.Keys)) // not nil: the gateway may list none
	for _, h := range rk.Keys {
		key, err := hex.DecodeString(h)
		if err != nil || len(key) == 0 {
			return nil, fmt.Errorf("GET %s: a key is not hex", k.url)
		}
		keys = append(keys, key)
	}
	return keys, nil
}

// refetch returns the fetch under way, or starts one unless the last
// ended less than retryAfter ago (then it returns nil).
func (k *runKeys) refetch() <-chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.busy == nil && time.Since(k.tried) >= k.retryAfter {
		k.busy = make(chan struct{})
		go k.fetch(k.busy, keysPatience)
	}
	return k.busy
}

func (k *runKeys) current() (keys [][]byte, stale bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys, time.Since(k.fetched) > k.maxAge
}

// verify checks that header signs body under one of the action's keys and
// returns the request's expiry. When no key matches, or none could be
// fetched, it waits for a fetch of the keys (see refetch) and checks again.
func (k *runKeys) verify(ctx context.Context, header string, body []byte) (time.Time, error) {
	if err := waitFor(ctx, k.first); err != nil {
		return time.Time{}, err
	}
	keys, stale := k.current()
	expiry, err := check(keys, header, body)
	switch {
	case err == nil && stale:
		k.refetch() // in the background: this request is good
	case errors.Is(err, runauth.ErrSignature) || errors.Is(err, errNoKeys):
		if done := k.refetch(); done != nil {
			if err := waitFor(ctx, done); err != nil {
				return time.Time{}, err
			}
			keys, _ = k.current()
			expiry, err = check(keys, header, body)
		}
	}
	return expiry, err
}

func check(keys [][]byte, header string, body []byte) (time.Time, error) {
	if keys == nil && header != "" {
		return time.Time{}, errNoKeys
	}
	return runauth.Check(keys, header, body)
}

func waitFor(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// authorize reads a Knative /run body and returns it when the gateway
// signed it for this action and its activation has not come here before.
// Otherwise it answers 401 (400 for a signed body that is no run request)
// and returns nil, having touched nothing of the action.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) *wire.RunRequest {
	body, status, err := s.signedRun(w, r)
	if err != nil {
		fmt.Fprintf(s.stderr, "kwhisk runtime: refused a run: %v\n", err)
		writeJSON(w, status, actionloop.ErrorResult(err.Error()))
		return nil
	}
	return body
}

func (s *Server) signedRun(w http.ResponseWriter, r *http.Request) (*wire.RunRequest, int, error) {
	header := r.Header.Get(runauth.Header)
	if header == "" {
		return nil, http.StatusUnauthorized, runauth.ErrUnsigned // without reading a body
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return nil, http.StatusUnauthorized, fmt.Errorf("the run request could not be read: %w", err)
	}
	expiry, err := s.keys.verify(r.Context(), header, raw)
	if err != nil {
		return nil, http.StatusUnauthorized, err
	}
	var body wire.RunRequest
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, http.StatusBadRequest, errors.New("The run request is not valid JSON: " + err.Error())
	}
	if err := s.keys.replays.Accept(body.ActivationID, expiry, time.Now()); err != nil {
		return nil, http.StatusUnauthorized, err
	}
	return &body, 0, nil
}
