//go:build tools

// Package tools holds Knative Serving's component mains as requirements of
// this module, so `go mod tidy` keeps what knative.sh builds. It is a module
// of its own because Knative v0.42 needs Kubernetes v0.29 libraries while the
// API server module beside it (third_party/go.mod) is v0.34; the build tag
// keeps the imports of main packages out of every build.
package tools

import (
	_ "knative.dev/serving/cmd/activator"
	_ "knative.dev/serving/cmd/autoscaler"
	_ "knative.dev/serving/cmd/controller"
	_ "knative.dev/serving/cmd/queue"
	_ "knative.dev/serving/cmd/webhook"
)
