package whisk

import (
	"fmt"
	"strings"
)

// Limits are an action's resource limits as the API shows them: timeout in
// milliseconds, memory and logs in megabytes, concurrency in activations.
type Limits struct {
	Timeout     int  `json:"timeout"`
	Memory      int  `json:"memory"`
	Logs        int  `json:"logs"`
	Concurrency int  `json:"concurrency"`
	Instances   *int `json:"instances,omitempty"`
}

// LimitsPatch is a partial Limits from a PUT body: nil fields are unset.
type LimitsPatch struct {
	Timeout     *int `json:"timeout,omitempty"`
	Memory      *int `json:"memory,omitempty"`
	Logs        *int `json:"logs,omitempty"`
	Concurrency *int `json:"concurrency,omitempty"`
	Instances   *int `json:"instances,omitempty"`
}

// Apply returns l with the set fields of p.
func (p *LimitsPatch) Apply(l Limits) Limits {
	if p == nil {
		return l
	}
	if p.Timeout != nil {
		l.Timeout = *p.Timeout
	}
	if p.Memory != nil {
		l.Memory = *p.Memory
	}
	if p.Logs != nil {
		l.Logs = *p.Logs
	}
	if p.Concurrency != nil {
		l.Concurrency = *p.Concurrency
	}
	if p.Instances != nil {
		n := *p.Instances
		l.Instances = &n
	}
	return l
}

// LimitBounds are the system-wide allowed ranges of action limits.
type LimitBounds struct {
	MinTimeout, MaxTimeout, DefaultTimeout             int // ms
	MinMemory, MaxMemory, DefaultMemory                int // MB
	MinLogs, MaxLogs, DefaultLogs                      int // MB
	MinConcurrency, MaxConcurrency, DefaultConcurrency int
}

// DefaultMaxConcurrency is kwhisk's default bound of limits.concurrency
// (`--max-action-concurrency`); OpenWhisk ships 1 and documents raising it.
const DefaultMaxConcurrency = 500

// DefaultBounds are OpenWhisk's shipped defaults, but for the concurrency
// bound, kwhisk's default.
var DefaultBounds = LimitBounds{
	MinTimeout: 100, MaxTimeout: 300000, DefaultTimeout: 60000,
	MinMemory: 128, MaxMemory: 512, DefaultMemory: 256,
	MinLogs: 0, MaxLogs: 10, DefaultLogs: 10,
	MinConcurrency: 1, MaxConcurrency: DefaultMaxConcurrency, DefaultConcurrency: 1,
}

// Defaults returns the limits of a new action.
func (b LimitBounds) Defaults() Limits {
	return Limits{Timeout: b.DefaultTimeout, Memory: b.DefaultMemory, Logs: b.DefaultLogs, Concurrency: b.DefaultConcurrency}
}

// Validate checks l against the bounds with OpenWhisk's "allowed threshold"
// messages; maxInstances is the namespace's concurrent-invocation limit.
func (b LimitBounds) Validate(l Limits, maxInstances int) error {
	var errs []string
	check := func(what string, v, lo, hi int, unit string) {
		switch {
		case v < lo:
			errs = append(errs, fmt.Sprintf("%s %d%s below allowed threshold of %d%s", what, v, unit, lo, unit))
		case v > hi:
			errs = append(errs, fmt.Sprintf("%s %d%s exceeds allowed threshold of %d%s", what, v, unit, hi, unit))
		}
	}
	check("duration", l.Timeout, b.MinTimeout, b.MaxTimeout, " milliseconds")
	check("memory", l.Memory, b.MinMemory, b.MaxMemory, " MB")
	check("log", l.Logs, b.MinLogs, b.MaxLogs, " MB")
	check("concurrency", l.Concurrency, b.MinConcurrency, b.MaxConcurrency, "")
	if l.Instances != nil && maxInstances > 0 && (*l.Instances < 1 || *l.Instances > maxInstances) {
		errs = append(errs, fmt.Sprintf("Max action instance concurrency must not exceed your namespace concurrency of %d.", maxInstances))
	}
	if len(errs) == 0 {
		return nil
	}
	return Invalid("%s", strings.Join(errs, "; "))
}
