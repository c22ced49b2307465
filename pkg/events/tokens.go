package events

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Tokens makes and checks the per-trigger tokens a broker puts in its
// subscriber URI: HMAC-SHA256 of "namespace/trigger" under the gateway's
// secret. Several secrets may be valid at once so a secret can be rotated:
// the first signs, every one verifies.
type Tokens struct {
	secrets [][]byte
}

// NewTokens returns Tokens over secrets (first one signs).
func NewTokens(secrets ...[]byte) *Tokens { return &Tokens{secrets: secrets} }

// LoadTokens reads the secrets file at path (one hex secret per line, the
// first signs), creating it with a fresh secret if it does not exist.
func LoadTokens(path string) (*Tokens, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("event token secret: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("event token secret: %w", err)
		}
		if err := os.WriteFile(path, []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("event token secret: %w", err)
		}
		return NewTokens(secret), nil
	}
	if err != nil {
		return nil, fmt.Errorf("event token secret: %w", err)
	}
	var secrets [][]byte
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := hex.DecodeString(line)
		if err != nil || len(s) < 16 {
			return nil, fmt.Errorf("event token secret %s: lines must be hex secrets of at least 16 bytes", path)
		}
		secrets = append(secrets, s)
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("event token secret %s: no secret", path)
	}
	return NewTokens(secrets...), nil
}

// Token returns the token for a trigger.
func (t *Tokens) Token(namespace, trigger string) string {
	return hex.EncodeToString(sign(t.secrets[0], namespace, trigger))
}

// Verify reports whether token is valid for the trigger under any secret.
func (t *Tokens) Verify(namespace, trigger, token string) bool {
	got, err := hex.DecodeString(token)
	if err != nil {
		return false
	}
	ok := false
	for _, s := range t.secrets {
		if hmac.Equal(got, sign(s, namespace, trigger)) {
			ok = true
		}
	}
	return ok
}

func sign(secret []byte, namespace, trigger string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(namespace + "/" + trigger))
	return m.Sum(nil)
}
