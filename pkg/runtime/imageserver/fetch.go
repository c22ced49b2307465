package imageserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// How long a runtime keeps trying to fetch from the gateway (its code,
// its run keys) while the gateway does not answer or answers 5xx or 429,
// and the pauses between attempts.
const (
	fetchPatience = time.Minute
	fetchBackoff  = 100 * time.Millisecond
	fetchMaxPause = 2 * time.Second
	maxCodeBytes  = 64 << 20 // the API caps code at 48 MB
)

// fetchCode GETs the code at url with the bearer token (see fetch).
func fetchCode(ctx context.Context, client *http.Client, url, token string) (string, error) {
	code, err := fetch(ctx, client, url, token, maxCodeBytes)
	return string(code), err
}

// fetch GETs url with the bearer token and returns the body of a 200 of
// at most limit bytes. It retries what may pass (no answer, 5xx, 429) for
// up to fetchPatience, or until ctx's deadline if that is sooner, and
// then returns the last attempt's error.
func fetch(ctx context.Context, client *http.Client, url, token string, limit int64) ([]byte, error) {
	giveUp := time.Now().Add(fetchPatience)
	if d, ok := ctx.Deadline(); ok && d.Before(giveUp) {
		giveUp = d
	}
	pause := fetchBackoff
	for {
		body, retry, err := fetchOnce(ctx, client, url, token, limit)
		if err == nil || !retry || ctx.Err() != nil || time.Now().Add(pause).After(giveUp) {
			return body, err
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		pause = min(pause*2, fetchMaxPause)
	}
}

func fetchOnce(ctx context.Context, client *http.Client, url, token string, limit int64) (body []byte, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return nil, true, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	switch {
	case err != nil:
		return nil, true, err
	case resp.StatusCode == http.StatusOK && int64(len(body)) > limit:
		return nil, false, fmt.Errorf("GET %s: the answer is larger than %d MB", url, limit>>20)
	case resp.StatusCode == http.StatusOK:
		return body, false, nil
	}
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	return nil, retry, fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
}
