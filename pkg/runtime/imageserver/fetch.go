package imageserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// How long a runtime keeps trying to fetch its code while the gateway does
// not answer or answers 5xx or 429, and the pauses between attempts.
const (
	fetchPatience = time.Minute
	fetchBackoff  = 100 * time.Millisecond
	fetchMaxPause = 2 * time.Second
	maxCodeBytes  = 64 << 20 // the API caps code at 48 MB
)

// fetchCode GETs the code at url with the bearer token, retrying what may
// pass (no answer, 5xx, 429) for up to a minute.
func fetchCode(ctx context.Context, client *http.Client, url, token string) (string, error) {
	giveUp := time.Now().Add(fetchPatience)
	pause := fetchBackoff
	for {
		code, retry, err := fetchOnce(ctx, client, url, token)
		if err == nil || !retry || ctx.Err() != nil || time.Now().Add(pause).After(giveUp) {
			return code, err
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		}
		pause = min(pause*2, fetchMaxPause)
	}
}

func fetchOnce(ctx context.Context, client *http.Client, url, token string) (code string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return "", true, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxCodeBytes+1))
	switch {
	case err != nil:
		return "", true, err
	case resp.StatusCode == http.StatusOK && len(body) > maxCodeBytes:
		return "", false, errors.New("the code is larger than 64 MB")
	case resp.StatusCode == http.StatusOK:
		return string(body), false, nil
	}
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	return "", retry, fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
}
