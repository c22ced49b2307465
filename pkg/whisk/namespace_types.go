package whisk

// Throttles are a namespace's invocation limits. A nil field means the
// system default applies.
type Throttles struct {
	InvocationsPerMinute  *int `json:"invocationsPerMinute,omitempty"`
	ConcurrentInvocations *int `json:"concurrentInvocations,omitempty"`
	FiresPerMinute        *int `json:"firesPerMinute,omitempty"`
}

// Over returns t's limits where set and def's elsewhere: a namespace's
// own limits over the system's. It is the one place the two are
// combined; the result may share pointers with t and def.
func (t Throttles) Over(def Throttles) Throttles {
	pick := func(own, d *int) *int {
		if own != nil {
			return own
		}
		return d
	}
	return Throttles{
		InvocationsPerMinute:  pick(t.InvocationsPerMinute, def.InvocationsPerMinute),
		ConcurrentInvocations: pick(t.ConcurrentInvocations, def.ConcurrentInvocations),
		FiresPerMinute:        pick(t.FiresPerMinute, def.FiresPerMinute),
	}
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
