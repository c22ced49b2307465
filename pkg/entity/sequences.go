package entity

import (
	"context"
	"encoding/json"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Messages of sequence checks.
const (
	MsgSequenceEmpty    = "No component specified for the sequence."
	MsgSequenceMissing  = "Sequence component does not exist."
	MsgSequenceSelf     = "Sequence may not refer to itself."
	MsgSequenceTooLong  = "Too many actions in the sequence."
	DefaultSequenceSize = 50
)

// sequenceExec validates the components of a sequence at self created by
// caller and returns its exec with fully qualified component names.
func (r *Resolver) sequenceExec(ctx context.Context, caller string, self whisk.EntityPath, components []string) (whisk.Exec, error) {
	e := whisk.Exec{Kind: whisk.KindSequence}
	if len(components) == 0 {
		return e, whisk.Invalid(MsgSequenceEmpty)
	}
	atomic := 0
	for _, c := range components {
		p, err := whisk.ParseFullyQualified(c)
		if err != nil {
			return e, err
		}
		p = p.Resolve(caller)
		n, err := r.countAtomic(ctx, caller, self, p, 0)
		if err != nil {
			return e, err
		}
		atomic += n
		if atomic > r.maxSequence {
			return e, whisk.Invalid(MsgSequenceTooLong)
		}
		e.Components = append(e.Components, p.FullyQualified())
	}
	return e, nil
}

// countAtomic counts the atomic actions behind component p, inlining inner
// sequences, and refuses a path back to self.
func (r *Resolver) countAtomic(ctx context.Context, caller string, self, p whisk.EntityPath, depth int) (int, error) {
	if p == self {
		return 0, whisk.Invalid(MsgSequenceSelf)
	}
	if depth > r.maxSequence {
		return 0, whisk.Invalid(MsgSequenceTooLong)
	}
	a, err := r.ResolveAction(ctx, caller, p)
	if err != nil {
		if store.IsNotFound(err) || whisk.IsKind(err, whisk.KindConflict) {
			return 0, whisk.Invalid(MsgSequenceMissing)
		}
		return 0, err
	}
	if a.Path() == self {
		return 0, whisk.Invalid(MsgSequenceSelf)
	}
	if a.Exec.Kind != whisk.KindSequence {
		return 1, nil
	}
	total := 0
	for _, c := range a.Exec.Components {
		cp, err := whisk.ParseFullyQualified(c)
		if err != nil {
			return 0, whisk.Invalid(MsgSequenceMissing)
		}
		n, err := r.countAtomic(ctx, caller, self, cp, depth+1)
		if err != nil {
			return 0, err
		}
		total += n
		if total > r.maxSequence {
			return 0, whisk.Invalid(MsgSequenceTooLong)
		}
	}
	return total, nil
}

// sequenceParameters is what a sequence stores as its parameters.
func sequenceParameters(e whisk.Exec) whisk.KeyValues {
	v, _ := json.Marshal(e.Components) // a string slice always marshals
	return whisk.KeyValues{{Key: "_actions", Value: v}}
}

// CheckAccess reports the 403 when caller may no longer read an action
// that sequence a runs, at any depth (a package turned private after the
// sequence was made). Other problems — a missing component, too many
// actions — are left for the run, which records them as application errors.
func (r *Resolver) CheckAccess(ctx context.Context, caller string, a *whisk.Action) error {
	if a.Exec.Kind != whisk.KindSequence {
		return nil
	}
	for _, c := range a.Exec.Components {
		p, err := whisk.ParseFullyQualified(c)
		if err != nil {
			continue
		}
		if _, err := r.countAtomic(ctx, caller, a.Path(), p.Resolve(caller), 0); whisk.IsKind(err, whisk.KindForbidden) {
			return err
		}
	}
	return nil
}
