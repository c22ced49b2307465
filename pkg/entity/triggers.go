package entity

import (
	"context"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// MsgFeedName refuses a feed annotation that is not an entity path.
const MsgFeedName = "Feed name is not valid"

// Triggers is the trigger collection. Triggers live only in namespaces,
// never in packages.
type Triggers struct {
	store store.Entities
}

// NewTriggers returns the trigger collection over st.
func NewTriggers(st store.Entities) *Triggers { return &Triggers{store: st} }

// Get returns the trigger at path.
func (s *Triggers) Get(ctx context.Context, path whisk.EntityPath) (*whisk.Trigger, error) {
	t, _, err := getAs[whisk.Trigger](ctx, s.store, store.Triggers, path.Namespace, path.Name)
	return t, err
}

// Put creates or updates a trigger. Update replaces parameters and
// annotations when given, keeps the rules, and bumps the version.
func (s *Triggers) Put(ctx context.Context, path whisk.EntityPath, put *whisk.TriggerPut, overwrite bool) (*whisk.Trigger, error) {
	if err := checkKeyValues(put.Parameters, put.Annotations); err != nil {
		return nil, err
	}
	if put.Annotations != nil {
		if feed := put.Annotations.Get("feed"); feed != nil {
			if _, err := whisk.ParseFullyQualified(whisk.EnvString(feed)); err != nil {
				return nil, whisk.Invalid(MsgFeedName)
			}
		}
	}
	old, rev, err := getAs[whisk.Trigger](ctx, s.store, store.Triggers, path.Namespace, path.Name)
	if err := existsCheck(err, old != nil, overwrite); err != nil {
		return nil, err
	}
	t := &whisk.Trigger{Namespace: path.Namespace, Name: path.Name, Version: whisk.DefaultVersion, Parameters: whisk.KeyValues{}, Annotations: whisk.KeyValues{}}
	if old != nil {
		t = old
		t.Version = old.Version.Bump()
	}
	if put.Parameters != nil {
		t.Parameters = copyKV(put.Parameters)
	}
	if put.Annotations != nil {
		t.Annotations = copyKV(put.Annotations)
	}
	if put.Version != nil {
		t.Version = *put.Version
	}
	if put.Publish != nil {
		t.Publish = *put.Publish
	}
	now := updatedClock.next()
	t.Updated = now
	if err := putAs(ctx, s.store, store.Triggers, t.Namespace, t.Name, rev, now, t); err != nil {
		if store.IsExists(err) && old == nil && overwrite {
			return nil, store.ErrStale
		}
		return nil, err
	}
	return t, nil
}

// Delete removes the trigger and returns it. Its rules stay; their status
// then reads inactive.
func (s *Triggers) Delete(ctx context.Context, path whisk.EntityPath) (*whisk.Trigger, error) {
	t, rev, err := getAs[whisk.Trigger](ctx, s.store, store.Triggers, path.Namespace, path.Name)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteEntity(ctx, path.Namespace, path.Name, rev); err != nil {
		return nil, err
	}
	return t, nil
}

// List returns the namespace's triggers, newest first.
func (s *Triggers) List(ctx context.Context, ns string, skip, limit int) ([]*whisk.Trigger, int, error) {
	return listAs[whisk.Trigger](ctx, s.store, store.ListQuery{Collection: store.Triggers, Namespace: ns, Skip: skip, Limit: limit})
}

// updateRules applies f to the trigger's rules map with a revision check,
// retrying a few times on concurrent updates.
func (s *Triggers) updateRules(ctx context.Context, path whisk.EntityPath, f func(map[string]whisk.ReducedRule) error) error {
	for attempt := 0; ; attempt++ {
		t, rev, err := getAs[whisk.Trigger](ctx, s.store, store.Triggers, path.Namespace, path.Name)
		if err != nil {
			return err
		}
		if t.Rules == nil {
			t.Rules = map[string]whisk.ReducedRule{}
		}
		if err := f(t.Rules); err != nil {
			return err
		}
		err = putAs(ctx, s.store, store.Triggers, t.Namespace, t.Name, rev, t.Updated, t)
		if err == nil || !whisk.IsKind(err, whisk.KindConflict) || attempt == 4 {
			return err
		}
	}
}
