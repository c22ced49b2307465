//go:build tools

// Package tools holds Knative Eventing's component mains as requirements of
// this module, so `go mod tidy` keeps what eventing.sh builds: the core
// controller and webhook, the in-memory channel's controller and
// dispatcher, and the multi-tenant channel-based broker's controller,
// ingress and filter. A module of its own, as third_party/knative/ is for
// Serving, so that each keeps its binaries' cache key.
package tools

import (
	_ "knative.dev/eventing/cmd/broker/filter"
	_ "knative.dev/eventing/cmd/broker/ingress"
	_ "knative.dev/eventing/cmd/controller"
	_ "knative.dev/eventing/cmd/in_memory/channel_controller"
	_ "knative.dev/eventing/cmd/in_memory/channel_dispatcher"
	_ "knative.dev/eventing/cmd/mtchannel_broker"
	_ "knative.dev/eventing/cmd/webhook"
)
