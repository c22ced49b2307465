// Package metrics owns the gateway's Prometheus collectors and serves
// them in the text exposition format. The parts that record (the
// activation service, the event ingress, the SQLite writer) declare the
// narrow recorder they call, and *Metrics implements them all; the
// platforms' gauges are read at scrape time from what they already
// report (WatchLocalInstances, WatchKnativeServices). So none of them
// imports this package or Prometheus: it imports only pkg/whisk, and
// only pkg/gateway imports it.
//
// Every series is named kwhisk_<what>_<unit> with base units (seconds)
// and counters ending in _total, as Prometheus' naming guide asks. Label
// values are bounded: namespaces are created by an operator and only an
// authenticated caller's namespace is ever a label; actions are bounded
// per namespace (Options.MaxActionsPerNamespace); everything else is a closed
// set (outcomes, throttle reasons, HTTP codes, instance states). No
// activation id, subject or payload is ever a label.
package metrics
