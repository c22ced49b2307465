package entity

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Messages of rule checks.
const (
	MsgRuleNeedsBoth     = "rule requires a valid trigger and a valid action"
	MsgRuleNeedsTrigger  = "Only rules with existing triggers can be activated"
	MsgRuleBadStatus     = "status must be 'active' or 'inactive'"
	MsgRuleStatusMissing = "status must be defined"
)

// Rules is the rule collection; a rule's status lives in its trigger's
// rules map.
type Rules struct {
	store    store.Entities
	triggers *Triggers
	resolver *Resolver
}

// NewRules returns the rule collection.
func NewRules(st store.Entities, triggers *Triggers, resolver *Resolver) *Rules {
	return &Rules{store: st, triggers: triggers, resolver: resolver}
}

// RulePut is the body of PUT .../rules/{name}: trigger and action are a
// name string or a {path,name} object.
type RulePut struct {
	Trigger     json.RawMessage  `json:"trigger,omitempty"`
	Action      json.RawMessage  `json:"action,omitempty"`
	Version     *whisk.SemVer    `json:"version,omitempty"`
	Publish     *bool            `json:"publish,omitempty"`
	Annotations *whisk.KeyValues `json:"annotations,omitempty"`
}

// parseRef reads a rule's trigger or action reference and resolves "_".
func parseRef(raw json.RawMessage, ns string) (whisk.EntityPath, bool, error) {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" || t == `""` {
		return whisk.EntityPath{}, false, nil
	}
	var s string
	if t[0] == '{' {
		var ref whisk.EntityRef
		if err := json.Unmarshal(raw, &ref); err != nil {
			return whisk.EntityPath{}, false, whisk.Malformed(err.Error())
		}
		s = ref.Path + "/" + ref.Name
	} else if err := json.Unmarshal(raw, &s); err != nil {
		return whisk.EntityPath{}, false, whisk.Malformed("trigger and action must be names")
	}
	p, err := whisk.ParseFullyQualified(s)
	if err != nil {
		return p, false, err
	}
	return p.Resolve(ns), true, nil
}

// readable is OpenWhisk's READ entitlement on what a rule names, checked
// before anything else: a trigger only in the caller's namespace (triggers
// are never shared), an action as the resolver reaches it (the caller's
// own, or one in a package shared with it). The 403 names every refused
// entity, sorted and joined as OpenWhisk does. It returns the action's
// resolve error other than a refusal (not found, …) for Put to report after
// its own checks.
func (s *Rules) readable(ctx context.Context, caller string, trig whisk.EntityPath, hasTrig bool, act whisk.EntityPath, hasAct bool) (actErr error, err error) {
	var denied []string
	if hasTrig && trig.Namespace != caller {
		denied = append(denied, trig.String())
	}
	if hasAct {
		_, actErr = s.resolver.ResolveAction(ctx, caller, act)
		if whisk.IsKind(actErr, whisk.KindForbidden) {
			denied = append(denied, act.String())
		}
	}
	if len(denied) > 0 {
		sort.Strings(denied)
		return nil, forbidden(strings.Join(denied, ", "))
	}
	return actErr, nil
}

// status reads the rule's status from its trigger.
func (s *Rules) status(ctx context.Context, r *whisk.Rule) string {
	t, err := s.triggers.Get(ctx, r.Trigger.EntityPath())
	if err != nil {
		return whisk.StatusInactive
	}
	if rr, ok := t.Rules[r.Namespace+"/"+r.Name]; ok {
		return rr.Status
	}
	return whisk.StatusInactive
}

// Get returns the rule with its status.
func (s *Rules) Get(ctx context.Context, path whisk.EntityPath) (*whisk.Rule, error) {
	r, _, err := getAs[whisk.Rule](ctx, s.store, store.Rules, path.Namespace, path.Name)
	if err != nil {
		return nil, err
	}
	r.Status = s.status(ctx, r)
	return r, nil
}

// Put creates a rule (active) or updates one (keeping its status, moving
// it to a new trigger if the trigger changed).
func (s *Rules) Put(ctx context.Context, caller string, path whisk.EntityPath, put *RulePut, overwrite bool) (*whisk.Rule, error) {
	if put.Annotations != nil {
		if err := checkKeyValues(nil, put.Annotations); err != nil {
			return nil, err
		}
	}
	trig, hasTrig, err := parseRef(put.Trigger, path.Namespace)
	if err != nil {
		return nil, err
	}
	act, hasAct, err := parseRef(put.Action, path.Namespace)
	if err != nil {
		return nil, err
	}
	actErr, err := s.readable(ctx, caller, trig, hasTrig, act, hasAct)
	if err != nil {
		return nil, err
	}
	old, rev, err := getAs[whisk.Rule](ctx, s.store, store.Rules, path.Namespace, path.Name)
	if err := existsCheck(err, old != nil, overwrite); err != nil {
		return nil, err
	}
	if old == nil && (!hasTrig || !hasAct) {
		return nil, whisk.Invalid(MsgRuleNeedsBoth)
	}
	r := &whisk.Rule{Namespace: path.Namespace, Name: path.Name, Version: whisk.DefaultVersion, Annotations: whisk.KeyValues{}}
	status := whisk.StatusActive
	var oldTrigger whisk.EntityPath
	if old != nil {
		r = old
		r.Version = old.Version.Bump()
		status = s.status(ctx, old)
		oldTrigger = old.Trigger.EntityPath()
	}
	if hasTrig {
		if _, err := s.triggers.Get(ctx, trig); err != nil {
			if store.IsNotFound(err) {
				return nil, whisk.Invalid("trigger %s does not exist", trig.FullyQualified())
			}
			return nil, err
		}
		r.Trigger = whisk.RefOf(trig)
	}
	if hasAct {
		if actErr != nil {
			if store.IsNotFound(actErr) {
				return nil, whisk.Invalid("action %s does not exist", act.FullyQualified())
			}
			return nil, actErr
		}
		r.Action = whisk.RefOf(act)
	}
	if put.Annotations != nil {
		r.Annotations = copyKV(put.Annotations)
	}
	if put.Version != nil {
		r.Version = *put.Version
	}
	if put.Publish != nil {
		r.Publish = *put.Publish
	}
	now := updatedClock.next()
	r.Updated = now
	r.Status = ""
	if err := putAs(ctx, s.store, store.Rules, r.Namespace, r.Name, rev, now, r); err != nil {
		if store.IsExists(err) && old == nil && overwrite {
			return nil, store.ErrStale
		}
		return nil, err
	}
	id := r.Namespace + "/" + r.Name
	if old != nil && oldTrigger != r.Trigger.EntityPath() {
		err := s.triggers.updateRules(ctx, oldTrigger, func(m map[string]whisk.ReducedRule) error { delete(m, id); return nil })
		if err != nil && !store.IsNotFound(err) {
			return nil, err
		}
	}
	err = s.triggers.updateRules(ctx, r.Trigger.EntityPath(), func(m map[string]whisk.ReducedRule) error {
		m[id] = whisk.ReducedRule{Action: r.Action, Status: status}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.Status = status
	return r, nil
}

// SetStatus enables or disables a rule.
func (s *Rules) SetStatus(ctx context.Context, path whisk.EntityPath, status string) error {
	switch status {
	case whisk.StatusActive, whisk.StatusInactive:
	case "":
		return whisk.Invalid(MsgRuleStatusMissing)
	default:
		return whisk.Invalid(MsgRuleBadStatus)
	}
	r, _, err := getAs[whisk.Rule](ctx, s.store, store.Rules, path.Namespace, path.Name)
	if err != nil {
		return err
	}
	id := r.Namespace + "/" + r.Name
	err = s.triggers.updateRules(ctx, r.Trigger.EntityPath(), func(m map[string]whisk.ReducedRule) error {
		m[id] = whisk.ReducedRule{Action: r.Action, Status: status}
		return nil
	})
	if store.IsNotFound(err) {
		return whisk.Errorf(whisk.KindNotFound, MsgRuleNeedsTrigger)
	}
	return err
}

// Delete unlinks the rule from its trigger and removes it; it returns the
// rule with status inactive.
func (s *Rules) Delete(ctx context.Context, path whisk.EntityPath) (*whisk.Rule, error) {
	r, rev, err := getAs[whisk.Rule](ctx, s.store, store.Rules, path.Namespace, path.Name)
	if err != nil {
		return nil, err
	}
	id := r.Namespace + "/" + r.Name
	err = s.triggers.updateRules(ctx, r.Trigger.EntityPath(), func(m map[string]whisk.ReducedRule) error { delete(m, id); return nil })
	if err != nil && !store.IsNotFound(err) {
		return nil, err
	}
	if err := s.store.DeleteEntity(ctx, path.Namespace, path.Name, rev); err != nil {
		return nil, err
	}
	r.Status = whisk.StatusInactive
	return r, nil
}

// List returns the namespace's rules without status, newest first.
func (s *Rules) List(ctx context.Context, ns string, skip, limit int) ([]*whisk.Rule, int, error) {
	return listAs[whisk.Rule](ctx, s.store, store.ListQuery{Collection: store.Rules, Namespace: ns, Skip: skip, Limit: limit})
}
