// Package auth turns HTTP Basic credentials into an Identity: the
// namespace a uuid:key pair authenticates as. Keys are kept only as salted
// SHA-256 hashes and compared in constant time. It also creates namespaces
// with fresh keys and bootstraps OpenWhisk's well-known ones.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// KeyLength is the length of a namespace's secret key.
const KeyLength = 64

// Well-known identities every OpenWhisk deployment bootstraps.
var WellKnown = []struct{ Namespace, UUID, Key string }{
	{"guest", "23bc46b1-71f6-4ed5-8c54-816aa4f8c502", "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"},
	{"whisk.system", "789c46b1-71f6-4ed5-8c54-816aa4f8c502", "abczO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"},
}

// Identity is an authenticated caller.
type Identity struct {
	Subject   string
	Namespace string
	UUID      string
	// Key is the caller's "uuid:key", passed to actions that ask for it.
	Key       string
	Throttles whisk.Throttles
}

// Namespaces is the part of the store auth needs.
type Namespaces interface {
	PutNamespace(ctx context.Context, ns *whisk.Namespace) error
	GetNamespace(ctx context.Context, name string) (*whisk.Namespace, error)
	NamespaceByUUID(ctx context.Context, uuid string) (*whisk.Namespace, error)
	ListNamespaces(ctx context.Context) ([]*whisk.Namespace, error)
	DeleteNamespace(ctx context.Context, name string) error
}

// Authenticator verifies credentials against stored key hashes. Verified
// credentials are cached for a short time so the hot path does not query
// the store on every request.
type Authenticator struct {
	store Namespaces
	ttl   time.Duration

	mu    sync.Mutex
	cache map[string]cached // by full Authorization header value
}

type cached struct {
	id      *Identity
	expires time.Time
}

// New returns an Authenticator over store.
func New(store Namespaces) *Authenticator {
	return &Authenticator{store: store, ttl: 5 * time.Second, cache: map[string]cached{}}
}

var (
	errMissing = &whisk.Error{Kind: whisk.KindUnauthorized, Message: whisk.MsgAuthMissing}
	errInvalid = &whisk.Error{Kind: whisk.KindUnauthorized, Message: whisk.MsgAuthInvalid}
)

// Authenticate checks an Authorization header value.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (*Identity, error) {
	if header == "" {
		return nil, errMissing
	}
	now := time.Now()
	a.mu.Lock()
	c, ok := a.cache[header]
	a.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.id, nil
	}
	scheme, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "basic") {
		return nil, errMissing
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return nil, errInvalid
	}
	uuid, key, ok := strings.Cut(string(raw), ":")
	if !ok || uuid == "" || len(key) != KeyLength {
		return nil, errInvalid
	}
	ns, err := a.store.NamespaceByUUID(ctx, uuid)
	if err != nil {
		if whisk.IsKind(err, whisk.KindNotFound) {
			return nil, errInvalid
		}
		return nil, fmt.Errorf("look up key: %w", err)
	}
	if subtle.ConstantTimeCompare(hashKey(ns.KeySalt, key), ns.KeyHash) != 1 {
		return nil, errInvalid
	}
	id := &Identity{Subject: ns.Name, Namespace: ns.Name, UUID: ns.UUID, Key: uuid + ":" + key, Throttles: ns.Throttles}
	a.mu.Lock()
	if len(a.cache) > 10000 {
		a.cache = map[string]cached{}
	}
	a.cache[header] = cached{id: id, expires: now.Add(a.ttl)}
	a.mu.Unlock()
	return id, nil
}

// Forget drops cached credentials, e.g. after a namespace is deleted.
func (a *Authenticator) Forget() {
	a.mu.Lock()
	a.cache = map[string]cached{}
	a.mu.Unlock()
}

func hashKey(salt []byte, key string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(key))
	return h.Sum(nil)
}

// NewNamespace returns a namespace record for uuid:key with the key hashed.
func NewNamespace(name, uuid, key string) (*whisk.Namespace, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, fmt.Errorf("salt: %w", err)
	}
	return &whisk.Namespace{
		Name: name, UUID: uuid, KeySalt: salt, KeyHash: hashKey(salt, key),
		Created: time.Now().UnixMilli(),
	}, nil
}

// Create makes a namespace with a fresh uuid and key and returns "uuid:key".
// It fails with a conflict if the namespace exists.
func Create(ctx context.Context, store Namespaces, name string) (string, error) {
	if err := whisk.CheckNamespace(name); err != nil {
		return "", err
	}
	if _, err := store.GetNamespace(ctx, name); err == nil {
		return "", whisk.Errorf(whisk.KindConflict, "namespace %q already exists", name)
	} else if !whisk.IsKind(err, whisk.KindNotFound) {
		return "", err
	}
	uuid, key, err := newCredentials()
	if err != nil {
		return "", err
	}
	ns, err := NewNamespace(name, uuid, key)
	if err != nil {
		return "", err
	}
	if err := store.PutNamespace(ctx, ns); err != nil {
		return "", fmt.Errorf("create namespace %s: %w", name, err)
	}
	return uuid + ":" + key, nil
}

// Bootstrap creates the well-known namespaces that do not exist yet.
func Bootstrap(ctx context.Context, store Namespaces) error {
	for _, w := range WellKnown {
		if _, err := store.GetNamespace(ctx, w.Namespace); err == nil {
			continue
		} else if !whisk.IsKind(err, whisk.KindNotFound) {
			return fmt.Errorf("bootstrap %s: %w", w.Namespace, err)
		}
		ns, err := NewNamespace(w.Namespace, w.UUID, w.Key)
		if err != nil {
			return err
		}
		if err := store.PutNamespace(ctx, ns); err != nil {
			return fmt.Errorf("bootstrap %s: %w", w.Namespace, err)
		}
	}
	return nil
}

const keyAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func newCredentials() (uuid, key string, err error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", "", fmt.Errorf("uuid: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	uuid = fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	// Rejection sampling keeps every character equally likely.
	k := make([]byte, 0, KeyLength)
	buf := make([]byte, 2*KeyLength)
	for len(k) < KeyLength {
		if _, err := rand.Read(buf); err != nil {
			return "", "", fmt.Errorf("key: %w", err)
		}
		for _, b := range buf {
			if int(b) < 256-256%len(keyAlphabet) && len(k) < KeyLength {
				k = append(k, keyAlphabet[int(b)%len(keyAlphabet)])
			}
		}
	}
	return uuid, string(k), nil
}
