package whisk

// Throttles are a namespace's invocation limits. A nil field means the
// system default applies.
type Throttles struct {
	InvocationsPerMinute  *int `json:"invocationsPerMinute,omitempty"`
	ConcurrentInvocations *int `json:"concurrentInvocations,omitempty"`
	FiresPerMinute        *int `json:"firesPerMinute,omitempty"`
}

// Namespace is an OpenWhisk namespace and the one key that authenticates as
// it. Only a salted hash of the key is kept.
type Namespace struct {
	Name      string    `json:"name"`
	UUID      string    `json:"uuid"`
	KeyHash   []byte    `json:"-"`
	KeySalt   []byte    `json:"-"`
	Throttles Throttles `json:"limits"`
	Created   int64     `json:"created"` // epoch ms
}
