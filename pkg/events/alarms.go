package events

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/kwhisk/kwhisk/pkg/activation"
	"github.com/kwhisk/kwhisk/pkg/logging"
	"github.com/kwhisk/kwhisk/pkg/store"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// AlarmFeed is the catalog name of the alarm feed.
const AlarmFeed = "alarms/alarm"

// Clock is the scheduler's time source; tests use a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time                         { return time.Now() }
func (RealClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// schedule is a parsed alarm.
type schedule struct {
	cron     cron.Schedule // nil for interval alarms
	interval time.Duration
	start    time.Time // zero: none
	stop     time.Time // zero: none
	payload  map[string]json.RawMessage
}

// next returns the first fire time strictly after t, or zero when the
// alarm is over.
func (s *schedule) next(t time.Time) time.Time {
	if !s.start.IsZero() && t.Before(s.start) {
		t = s.start.Add(-time.Nanosecond)
	}
	var n time.Time
	if s.cron != nil {
		n = s.cron.Next(t)
	} else {
		base := s.start
		if base.IsZero() {
			base = time.Unix(0, 0)
		}
		if t.Before(base) {
			n = base
		} else {
			k := t.Sub(base)/s.interval + 1
			n = base.Add(k * s.interval)
		}
	}
	if !s.stop.IsZero() && n.After(s.stop) {
		return time.Time{}
	}
	return n
}

// cronParser reads the alarms package's cron patterns: 5 fields, or 6
// with a leading seconds field (`*/8 * * * * *`), or a descriptor
// (`@hourly`, `@every 90s`).
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseSchedule reads cron (5 fields, or 6 with seconds first) or interval (seconds, or a duration
// like "90s"), startDate and stopDate (RFC 3339 or epoch ms), and
// trigger_payload (an object).
func parseSchedule(params map[string]json.RawMessage) (*schedule, error) {
	s := &schedule{payload: map[string]json.RawMessage{}}
	expr, iv := stringParam(params, "cron"), stringParam(params, "interval")
	switch {
	case expr != "" && iv != "":
		return nil, whisk.Invalid("give either cron or interval, not both")
	case expr != "":
		c, err := cronParser.Parse(expr)
		if err != nil {
			return nil, whisk.Invalid("cron pattern '%s' is not valid: %v", expr, err)
		}
		s.cron = c
	case iv != "":
		d, err := time.ParseDuration(iv)
		if err != nil {
			secs, serr := strconv.ParseFloat(iv, 64)
			if serr != nil {
				return nil, whisk.Invalid("interval must be seconds or a duration such as 90s")
			}
			d = time.Duration(secs * float64(time.Second))
		}
		if d < time.Second {
			return nil, whisk.Invalid("interval must be at least one second")
		}
		s.interval = d
	default:
		return nil, whisk.Invalid("alarms need a cron pattern or an interval")
	}
	for _, b := range []struct {
		key string
		dst *time.Time
	}{{"startDate", &s.start}, {"stopDate", &s.stop}} {
		v := stringParam(params, b.key)
		if v == "" {
			continue
		}
		t, err := parseDate(v)
		if err != nil {
			return nil, whisk.Invalid("%s must be an RFC 3339 date or epoch milliseconds", b.key)
		}
		*b.dst = t
	}
	if !s.start.IsZero() && !s.stop.IsZero() && !s.stop.After(s.start) {
		return nil, whisk.Invalid("stopDate must be after startDate")
	}
	if raw, ok := params["trigger_payload"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &s.payload); err != nil {
			return nil, whisk.Invalid("trigger_payload must be an object")
		}
	}
	return s, nil
}

func parseDate(v string) (time.Time, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	return time.Parse(time.RFC3339, v)
}

// Scheduler fires the triggers of alarm registrations. It fires each alarm
// at most once per scheduled time: the last fire is recorded with the
// registration, and after a restart the schedule resumes after it, so
// missed fires are skipped rather than replayed. With several gateways,
// only the one holding leadership should run it.
type Scheduler struct {
	feeds *Feeds
	clock Clock
	log   *slog.Logger

	mu     sync.Mutex
	alarms map[string]*alarmState // by trigger path
	wake   chan struct{}
}

type alarmState struct {
	trigger whisk.EntityPath
	sched   *schedule
	next    time.Time
	paused  bool
}

// TriggerFirer fires triggers: what the scheduler needs of the activation
// service.
type TriggerFirer interface {
	Fire(ctx context.Context, caller activation.Caller, path whisk.EntityPath, payload map[string]json.RawMessage, headers http.Header, tid string) (*activation.Outcome, error)
}

// NewScheduler returns a scheduler of the alarms registered in feeds. It
// fires nothing until Start, which names the firer: the activation service
// runs the built-in feed actions that register alarms with the scheduler,
// so the scheduler is built before it.
func NewScheduler(feeds *Feeds, clock Clock, log *slog.Logger) *Scheduler {
	return &Scheduler{feeds: feeds, clock: clock, log: logging.OrDiscard(log), alarms: map[string]*alarmState{}, wake: make(chan struct{}, 1)}
}

// set installs, replaces (fd != nil) or removes (fd == nil) an alarm.
func (s *Scheduler) set(trigger whisk.EntityPath, fd *Feed) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.poke()
	if fd == nil {
		delete(s.alarms, trigger.String())
		return nil
	}
	sched, err := parseSchedule(fd.Params)
	if err != nil {
		return err
	}
	after := s.clock.Now()
	if last := time.UnixMilli(fd.LastFired); fd.LastFired != 0 && last.After(after) {
		after = last
	}
	s.alarms[trigger.String()] = &alarmState{trigger: trigger, sched: sched, next: sched.next(after), paused: fd.Paused}
	return nil
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Load installs every stored alarm registration of the given namespaces.
func (s *Scheduler) Load(ctx context.Context, fds []*Feed) {
	for _, fd := range fds {
		if fd.Feed != AlarmFeed {
			continue
		}
		p, err := whisk.ParseFullyQualified(fd.Trigger)
		if err != nil {
			continue
		}
		if err := s.set(p, fd); err != nil {
			s.log.Error("load alarm", logging.KeyTrigger, fd.Trigger, logging.Err(err))
		}
	}
}

// Start fires alarms through firer until ctx ends.
func (s *Scheduler) Start(ctx context.Context, firer TriggerFirer) error {
	for {
		now := s.clock.Now()
		var due []*alarmState
		var soonest time.Time
		s.mu.Lock()
		for _, a := range s.alarms {
			if a.next.IsZero() {
				continue
			}
			if !a.next.After(now) {
				due = append(due, a)
				continue
			}
			if soonest.IsZero() || a.next.Before(soonest) {
				soonest = a.next
			}
		}
		s.mu.Unlock()
		sort.Slice(due, func(i, j int) bool { return due[i].trigger.String() < due[j].trigger.String() })
		for _, a := range due {
			s.fire(ctx, firer, a, now)
		}
		if len(due) > 0 {
			continue
		}
		var timer <-chan time.Time
		if !soonest.IsZero() {
			timer = s.clock.After(soonest.Sub(now))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-timer:
		}
	}
}

// fire fires one due alarm and schedules its next time.
func (s *Scheduler) fire(ctx context.Context, firer TriggerFirer, a *alarmState, now time.Time) {
	s.mu.Lock()
	at := a.next
	a.next = a.sched.next(now)
	paused, payload := a.paused, a.sched.payload
	s.mu.Unlock()
	if paused {
		return
	}
	// Record the fire first: a crash between the two skips this fire
	// instead of repeating it. A lifecycle event that changed the
	// registration in between makes it read again.
	for attempt := 0; ; attempt++ {
		fd, rev, err := s.feeds.Get(ctx, a.trigger)
		if err != nil {
			s.log.Error("read alarm", logging.KeyTrigger, a.trigger.String(), logging.Err(err))
			return
		}
		if fd.Paused {
			return // paused by the lifecycle event that won the race
		}
		fd.LastFired = at.UnixMilli()
		err = s.feeds.Put(ctx, a.trigger, fd, rev)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrStale) || attempt == staleRetries {
			s.log.Error("record alarm fire", logging.KeyTrigger, a.trigger.String(), logging.Err(err))
			return
		}
	}
	caller := activation.Caller{Namespace: a.trigger.Namespace, Subject: a.trigger.Namespace}
	if _, err := firer.Fire(ctx, caller, a.trigger, payload, nil, ""); err != nil {
		s.log.Warn("fire alarm", logging.KeyTrigger, a.trigger.String(), logging.Err(err))
	}
}

// alarmHandler is /whisk.system/alarms/alarm.
func alarmHandler(feeds *Feeds, sched *Scheduler) Handler {
	return func(ctx context.Context, namespace string, params map[string]json.RawMessage) (any, error) {
		r, err := parseFeedRequest(namespace, params)
		if err != nil {
			return nil, err
		}
		return feeds.lifecycle(ctx, AlarmFeed, r, feedOps{
			validate: func(p map[string]json.RawMessage) error {
				_, err := parseSchedule(p)
				return err
			},
			apply: sched.set,
			read:  func(fd *Feed) any { return sched.read(r.trigger, fd) },
			now:   sched.clock.Now,
		})
	}
}

// alarmRead is READ's answer, in the alarms package's shape: config names
// the trigger and repeats the schedule as given, status says whether the
// alarm fires and since when, and why not when it does not.
type alarmRead struct {
	Config map[string]json.RawMessage `json:"config"`
	Status alarmStatus                `json:"status"`
}

type alarmStatus struct {
	Active         bool         `json:"active"`
	DateChanged    int64        `json:"dateChanged"`
	DateChangedISO string       `json:"dateChangedISO"`
	Reason         *alarmReason `json:"reason,omitempty"`
}

type alarmReason struct {
	Kind       string `json:"kind"` // AUTO: the alarm is over; USER: paused
	StatusCode *int   `json:"statusCode,omitempty"`
	Message    string `json:"message"`
}

// read builds READ's answer for the alarm registered on trigger.
func (s *Scheduler) read(trigger whisk.EntityPath, fd *Feed) alarmRead {
	cfg := map[string]json.RawMessage{}
	str := func(v string) json.RawMessage { b, _ := json.Marshal(v); return b }
	cfg["name"], cfg["namespace"] = str(trigger.Name), str(trigger.Namespace)
	cfg["payload"] = json.RawMessage("{}")
	if p, ok := fd.Params["trigger_payload"]; ok && string(p) != "null" {
		cfg["payload"] = p
	}
	for _, k := range []string{"cron", "interval", "startDate", "stopDate"} {
		if v, ok := fd.Params[k]; ok && string(v) != "null" {
			cfg[k] = v
		}
	}
	st := alarmStatus{Active: !fd.Paused, DateChanged: fd.DateChanged()}
	if fd.Paused {
		st.Reason = &alarmReason{Kind: "USER", Message: "Disabled by a PAUSE lifecycle event"}
	} else if sched, err := parseSchedule(fd.Params); err == nil {
		after := s.clock.Now()
		if last := time.UnixMilli(fd.LastFired); fd.LastFired != 0 && last.After(after) {
			after = last
		}
		if sched.next(after).IsZero() {
			what := "cron"
			if sched.cron == nil {
				what = "interval"
			}
			st.Active = false
			st.Reason = &alarmReason{Kind: "AUTO", Message: "Automatically disabled after firing last scheduled " + what + " trigger"}
			if fd.LastFired != 0 {
				st.DateChanged = fd.LastFired
			} else if !sched.stop.IsZero() {
				st.DateChanged = sched.stop.UnixMilli()
			}
		}
	}
	st.DateChangedISO = time.UnixMilli(st.DateChanged).UTC().Format("2006-01-02T15:04:05Z")
	return alarmRead{Config: cfg, Status: st}
}
