// Package metrics owns the gateway's Prometheus collectors and serves
// them in the text exposition format. The parts that record (the
// activation service, the event ingress, the SQLite writer, the
// platforms) declare the narrow recorder they call; *Metrics implements
// them all, so none of them imports this package or Prometheus. It
// imports only pkg/whisk; only pkg/gateway imports it.
//
// Every series is named kwhisk_<what>_<unit> with base units (seconds)
// and counters ending in _total, as Prometheus' naming guide asks. Label
// values are bounded: namespaces are created by an operator and only an
// authenticated caller's namespace is ever a label; actions are bounded
// per namespace (MaxActionsPerNamespace); everything else is a closed
// set (outcomes, throttle reasons, HTTP codes, instance states). No
// activation id, subject or payload is ever a label.
package metrics
