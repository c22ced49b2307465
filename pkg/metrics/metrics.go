package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Prefix starts every kwhisk series name.
const Prefix = "kwhisk_"

// DefaultMaxActionsPerNamespace is how many distinct actions of one
// namespace get series of their own.
//
// Action names are chosen by users, so an action label without a bound
// would let one namespace create series without end (each action costs
// about fifty series with its histograms, held by Prometheus for as long
// as it retains them). The bound is per namespace rather than global so
// that a namespace with many actions cannot take the series of the
// others; namespaces themselves are made by an operator and are bounded
// that way. Activations of actions past the bound are counted under the
// action label OtherActions, so totals stay exact.
const DefaultMaxActionsPerNamespace = 100

// OtherActions is the action label of the activations of the actions of
// a namespace past its bound. It cannot be an OpenWhisk entity name.
const OtherActions = "(other)"

// Outcome labels of kwhisk_activations_total, by activation status code.
var outcomes = [...]string{
	whisk.StatusSuccess:          "success",
	whisk.StatusApplicationError: "application_error",
	whisk.StatusDeveloperError:   "developer_error",
	whisk.StatusWhiskError:       "whisk_error",
}

// Options configure Metrics. Zero values: DefaultMaxActionsPerNamespace,
// the Go runtime and process collectors registered.
type Options struct {
	MaxActionsPerNamespace int
	// NoRuntime leaves out the Go runtime and process collectors (tests
	// that compare whole expositions).
	NoRuntime bool
}

// Metrics is one gateway's collectors, on a registry of its own: two
// gateways in one process (as tests run them) never share a series.
type Metrics struct {
	reg       *prometheus.Registry
	maxAction int

	activations *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	wait        *prometheus.HistogramVec
	initTime    *prometheus.HistogramVec
	coldStarts  *prometheus.CounterVec

	throttled *prometheus.CounterVec
	accepted  *prometheus.CounterVec
	fires     *prometheus.CounterVec
	rules     *prometheus.CounterVec

	eventsReceived prometheus.Counter
	eventsDup      prometheus.Counter
	eventsRejected *prometheus.CounterVec

	commitDuration prometheus.Histogram
	commitBatch    prometheus.Histogram
	commitErrors   prometheus.Counter

	// series caches the children of each action's hot series, so the
	// invoke path records with one atomic load, a map read and no
	// allocation or lock. The map is never changed once stored: a new
	// action's series are added to a copy, under mu (rare, and bounded).
	series atomic.Pointer[map[seriesKey]*actionSeries]
	// mu guards the writes to series and the fields below.
	mu       sync.Mutex
	labels   map[[3]string]bool // (ns, actionNS, action) with series
	perNS    map[string]int     // distinct actions with series, by namespace
	overflow map[overflowKey]*actionSeries
}

// seriesKey identifies an action's series by strings the caller already
// has, so looking it up builds no label.
type seriesKey struct {
	ns, actionNS, action, kind string
}

type overflowKey struct{ ns, kind string }

// actionSeries are the children of one (namespace, action, kind).
type actionSeries struct {
	outcomes       [len(outcomes)]prometheus.Counter
	duration, wait prometheus.Observer
	init           prometheus.Observer
	cold           prometheus.Counter
}

// durationBuckets span a warm no-op (a few ms) to the 5-minute limit.
var durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}

// New returns the collectors, registered on a new registry.
func New(o Options) *Metrics {
	if o.MaxActionsPerNamespace <= 0 {
		o.MaxActionsPerNamespace = DefaultMaxActionsPerNamespace
	}
	m := &Metrics{
		reg:       prometheus.NewRegistry(),
		maxAction: o.MaxActionsPerNamespace,
		labels:    map[[3]string]bool{},
		perNS:     map[string]int{},
		overflow:  map[overflowKey]*actionSeries{},
	}
	action := []string{"namespace", "action"}
	m.series.Store(&map[seriesKey]*actionSeries{})
	m.activations = m.counterVec("activations_total",
		"Activations completed (primitive actions, sequences and compositions), by outcome: success, application_error, developer_error, whisk_error.",
		"namespace", "action", "kind", "outcome")
	m.duration = m.histogramVec("activation_duration_seconds", "Activation run time, as the record's duration.", durationBuckets, action...)
	m.wait = m.histogramVec("activation_wait_seconds",
		"Time from receiving an activation to its start: queueing, instance or Service start, a Knative cold start.", durationBuckets, action...)
	m.initTime = m.histogramVec("activation_init_seconds", "Time to initialize the code of a cold activation.", durationBuckets, action...)
	m.coldStarts = m.counterVec("cold_starts_total", "Activations that ran on a newly started instance.", action...)
	m.throttled = m.counterVec("throttled_requests_total",
		"Requests refused with 429, by reason: invocations_per_minute, concurrent_invocations, fires_per_minute.", "namespace", "reason")
	m.accepted = m.counterVec("blocking_invokes_accepted_total",
		"Blocking invokes answered 202 with the activation id because the activation outlasted the blocking wait.", "namespace")
	m.fires = m.counterVec("trigger_fires_total", "Trigger fires that found an active rule and made a trigger activation.", "namespace")
	m.rules = m.counterVec("rule_activations_total",
		"Rules processed by trigger activations, by outcome: invoked (its action's invoke was accepted), inactive, failed (the invoke was refused).",
		"namespace", "outcome")
	m.eventsReceived = m.counter("cloudevents_received_total", "CloudEvents delivered to the event ingress.")
	m.eventsDup = m.counter("cloudevents_deduplicated_total", "CloudEvents acknowledged as duplicates of an event already fired.")
	m.eventsRejected = m.counterVec("cloudevents_rejected_total", "CloudEvents refused, by the HTTP status answered.", "code")
	m.commitDuration = m.histogram("store_commit_duration_seconds", "Time to commit one batch of activation records.",
		[]float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1})
	m.commitBatch = m.histogram("store_commit_batch_size", "Activation records and pending entries committed in one transaction.",
		prometheus.ExponentialBuckets(1, 2, 10))
	m.commitErrors = m.counter("store_commit_errors_total", "Batch commits that failed (they are retried).")
	if !o.NoRuntime {
		m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return m
}

func (m *Metrics) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: Prefix + name, Help: help}, labels)
	m.reg.MustRegister(c)
	return c
}

func (m *Metrics) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: Prefix + name, Help: help})
	m.reg.MustRegister(c)
	return c
}

func (m *Metrics) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: Prefix + name, Help: help, Buckets: buckets}, labels)
	m.reg.MustRegister(h)
	return h
}

func (m *Metrics) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: Prefix + name, Help: help, Buckets: buckets})
	m.reg.MustRegister(h)
	return h
}

// Handler serves the exposition (GET /metrics). It needs no credentials:
// see docs/design.md, Metrics, for where it is served and why.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Gatherer is the registry, for tests and other exporters.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Activation counts one completed activation of action a recorded in
// namespace ns: its outcome (by status code), run time and wait, and for
// a cold start its init time. kind is the record's kind ("sequence" for
// sequences and compositions). It does not allocate once the action's
// series exist.
func (m *Metrics) Activation(ns string, a *whisk.Action, kind string, status int, duration, wait time.Duration, cold bool, init time.Duration) {
	s := m.seriesOf(ns, a, kind)
	if status < 0 || status >= len(outcomes) {
		status = whisk.StatusWhiskError
	}
	s.outcomes[status].Inc()
	s.duration.Observe(duration.Seconds())
	s.wait.Observe(wait.Seconds())
	if cold {
		s.cold.Inc()
		s.init.Observe(init.Seconds())
	}
}

// seriesOf returns the cached series of a's activations in ns, making
// them on first use (or the namespace's OtherActions series past its
// bound).
func (m *Metrics) seriesOf(ns string, a *whisk.Action, kind string) *actionSeries {
	k := seriesKey{ns: ns, actionNS: a.Namespace, action: a.Name, kind: kind}
	if s := (*m.series.Load())[k]; s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := *m.series.Load()
	if s := cur[k]; s != nil {
		return s
	}
	if m.perNS[ns] >= m.maxAction {
		ok := overflowKey{ns, kind}
		if s := m.overflow[ok]; s != nil {
			return s
		}
		s := m.newSeries(ns, OtherActions, kind)
		m.overflow[ok] = s
		return s
	}
	label := actionLabel(ns, a)
	// The same action under another kind (it was updated) counts once.
	if lk := [3]string{ns, a.Namespace, a.Name}; !m.labels[lk] {
		m.labels[lk] = true
		m.perNS[ns]++
	}
	s := m.newSeries(ns, label, kind)
	next := make(map[seriesKey]*actionSeries, len(cur)+1)
	for key, v := range cur {
		next[key] = v
	}
	next[k] = s
	m.series.Store(&next)
	return s
}

func (m *Metrics) newSeries(ns, action, kind string) *actionSeries {
	s := &actionSeries{
		duration: m.duration.WithLabelValues(ns, action),
		wait:     m.wait.WithLabelValues(ns, action),
		init:     m.initTime.WithLabelValues(ns, action),
		cold:     m.coldStarts.WithLabelValues(ns, action),
	}
	for i, o := range outcomes {
		s.outcomes[i] = m.activations.WithLabelValues(ns, action, kind, o)
	}
	return s
}

// actionLabel names a within namespace ns: its package-relative name
// ("pkg/name" or "name") when it lives in ns, else its fully qualified
// name ("/whisk.system/utils/echo"), so shared actions stay apart from
// the namespace's own.
func actionLabel(ns string, a *whisk.Action) string {
	p := a.Path()
	if p.Namespace == ns {
		return p.Qualified()
	}
	return p.FullyQualified()
}

// Throttled counts a request of namespace ns refused with 429 for reason
// (the limit that refused it: a closed set the activation service names).
func (m *Metrics) Throttled(ns, reason string) { m.throttled.WithLabelValues(ns, reason).Inc() }

// BlockingAccepted counts a blocking invoke of namespace ns answered 202.
func (m *Metrics) BlockingAccepted(ns string) { m.accepted.WithLabelValues(ns).Inc() }

// TriggerFired counts a fire of a trigger of ns that made an activation.
func (m *Metrics) TriggerFired(ns string) { m.fires.WithLabelValues(ns).Inc() }

// RuleActivation counts a rule a trigger activation of ns processed, with
// its outcome (a closed set the activation service names).
func (m *Metrics) RuleActivation(ns, outcome string) { m.rules.WithLabelValues(ns, outcome).Inc() }

// CloudEventReceived counts an event delivered to the ingress. The
// namespace in its URL is not a label: anyone may post to any URL.
func (m *Metrics) CloudEventReceived() { m.eventsReceived.Inc() }

// CloudEventDeduplicated counts an event acknowledged as a duplicate.
func (m *Metrics) CloudEventDeduplicated() { m.eventsDup.Inc() }

// CloudEventRejected counts an event refused with an error of kind k,
// labelled with the HTTP status the API answers for it.
func (m *Metrics) CloudEventRejected(k whisk.Kind) {
	m.eventsRejected.WithLabelValues(strconv.Itoa(statusOf(k))).Inc()
}

// statusOf is the HTTP status of an error kind (as pkg/api answers it),
// a closed set.
func statusOf(k whisk.Kind) int {
	switch k {
	case whisk.KindInvalid:
		return http.StatusBadRequest
	case whisk.KindUnauthorized:
		return http.StatusUnauthorized
	case whisk.KindForbidden:
		return http.StatusForbidden
	case whisk.KindNotFound:
		return http.StatusNotFound
	case whisk.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case whisk.KindUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case whisk.KindThrottled:
		return http.StatusTooManyRequests
	case whisk.KindUnavailable:
		return http.StatusServiceUnavailable
	case whisk.KindConflict:
		return http.StatusConflict
	case whisk.KindUnprocessable:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// Commit records one group commit of the store's writer: how many items
// it wrote, how long it took, and whether it failed.
func (m *Metrics) Commit(items int, d time.Duration, err error) {
	if err != nil {
		m.commitErrors.Inc()
		return
	}
	m.commitDuration.Observe(d.Seconds())
	m.commitBatch.Observe(float64(items))
}

// LocalInstances are local mode's instance counts at one moment.
type LocalInstances struct {
	Running  int // started and running at least one activation
	Starting int
	Idle     int // started and running none
}

// WatchLocalInstances reports kwhisk_local_instances{state} from stats,
// called at each scrape.
func (m *Metrics) WatchLocalInstances(stats func() LocalInstances) {
	desc := prometheus.NewDesc(Prefix+"local_instances", "Local mode's action instances, by state: running, starting, idle.", []string{"state"}, nil)
	m.reg.MustRegister(collectFunc{desc, func(ch chan<- prometheus.Metric) {
		s := stats()
		for _, v := range []struct {
			state string
			n     int
		}{{"running", s.Running}, {"starting", s.Starting}, {"idle", s.Idle}} {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(v.n), v.state)
		}
	}})
}

// ServiceReadiness counts Knative Services by their Ready condition.
type ServiceReadiness struct {
	Ready, NotReady, Unknown int
}

// WatchKnativeServices reports kwhisk_knative_services{ready} from
// services, called at each scrape.
func (m *Metrics) WatchKnativeServices(services func() ServiceReadiness) {
	desc := prometheus.NewDesc(Prefix+"knative_services", "Knative Services of actions, by their Ready condition: true, false, unknown.", []string{"ready"}, nil)
	m.reg.MustRegister(collectFunc{desc, func(ch chan<- prometheus.Metric) {
		s := services()
		for _, v := range []struct {
			ready string
			n     int
		}{{"true", s.Ready}, {"false", s.NotReady}, {"unknown", s.Unknown}} {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, float64(v.n), v.ready)
		}
	}})
}

// collectFunc is a collector of one family read at scrape time.
type collectFunc struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectFunc) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c collectFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }
