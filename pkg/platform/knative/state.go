package knative

import (
	"sync"

	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// version is one action version as the platform addresses it: its
// Service, its revision and that revision's traffic tag, and the Service
// that runs it (built once).
type version struct {
	namespace, service, revision, tag string
	want                              *servingv1.Service
}

func (v *version) key() string { return v.namespace + "/" + v.service }

// versions caches built versions by action key, so the warm path builds
// nothing. It forgets everything when full: rebuilding is cheap, and the
// bound keeps an endless stream of versions from growing it.
type versions struct {
	mu  sync.Mutex
	max int
	m   map[string]*version
}

func newVersions(max int) *versions { return &versions{max: max, m: map[string]*version{}} }

func (c *versions) get(key string) *version {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *versions) put(key string, v *version) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		c.m = map[string]*version{}
	}
	c.m[key] = v
}

// keyedMutex serialises the writes to one Service, so a burst of cold
// activations of one action makes one create, not a storm of conflicts.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
