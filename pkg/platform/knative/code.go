package knative

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Code tokens let a runtime fetch exactly one action's code of one digest:
// "<base64url of the action path>.<base64url of an HMAC-SHA256 over the
// path and digest>". They do not expire: a revision may scale from zero
// at any time; a new digest (any code change) needs a new token.

const tokenContext = "kwhisk code v1\x00"

func tokenMAC(key []byte, path, digest string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tokenContext + path + "\x00" + digest))
	return m.Sum(nil)
}

func signToken(key []byte, path whisk.EntityPath, digest string) string {
	p := path.FullyQualified()
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(p)) + "." + enc.EncodeToString(tokenMAC(key, p, digest))
}

// checkToken returns the action path token grants digest of, or false.
func checkToken(key []byte, token, digest string) (whisk.EntityPath, bool) {
	enc := base64.RawURLEncoding
	ps, ms, ok := strings.Cut(token, ".")
	if !ok {
		return whisk.EntityPath{}, false
	}
	p, err1 := enc.DecodeString(ps)
	mac, err2 := enc.DecodeString(ms)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, tokenMAC(key, string(p), digest)) {
		return whisk.EntityPath{}, false
	}
	path, err := whisk.ParseFullyQualified(string(p))
	return path, err == nil
}

// Code returns the stored code of the action a token was signed for, when
// its digest is the one asked for: GET /api/v1/code/{digest} of the
// runtimes. A bad token is KindUnauthorized; code that changed since (or
// an action gone) is KindNotFound.
func (p *Platform) Code(ctx context.Context, digest, token string) (string, error) {
	path, ok := checkToken(p.o.CodeKey, token, digest)
	if !ok {
		return "", whisk.Errorf(whisk.KindUnauthorized, "The code token is not valid for this digest.")
	}
	if p.o.Actions == nil {
		return "", whisk.NotFound()
	}
	a, err := p.o.Actions.GetAction(ctx, path)
	if err != nil {
		return "", err
	}
	code := a.Exec.CodeString()
	if Digest(code) != digest {
		return "", whisk.NotFound()
	}
	return code, nil
}

// LoadKey reads the code-token key at path, creating a random one (mode
// 0600) when there is none.
func LoadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < 32 {
			return nil, fmt.Errorf("code key %s is shorter than 32 bytes", path)
		}
		return b, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read code key: %w", err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("make code key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("make code key: %w", err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("write code key: %w", err)
	}
	return b, nil
}
