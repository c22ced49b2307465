// Package knative is the platform of knative mode: every action becomes a
// serving.knative.dev/v1 Service, every action version one Revision of it,
// and every activation one POST /run to that revision, addressed by its
// traffic tag, after the Service has been seen Ready through a watch.
//
// The translation is pure: MakeService (resources.go) builds the Service
// from an action version and the gateway's settings, with names from
// names.go. The Platform (knative.go) keeps Services in step with the
// actions it is asked to run, waits for readiness (wait.go), calls the
// runtime (invoke.go), removes Services and reconciles them against the
// stored actions (reconcile.go). Code too large to travel in the
// Service's environment is fetched by the runtime from the gateway with a
// signed token (code.go).
//
// Scaling follows OpenWhisk's shape, one container per concurrent
// activation: limits.concurrency is containerConcurrency, and revisions
// default to autoscaling.knative.dev/target-utilization-percentage "100"
// (Knative's 70 % would start 2 pods for one cold request at a
// concurrency of 1); the gateway's default annotations and the action's
// own override it. A revision's timeouts leave room for a cold start from
// zero, which Knative's activator counts in them (resources.go).
//
// It may import the standard library, pkg/whisk, pkg/platform, pkg/kube,
// the Knative Serving API and clientset, and client-go.
package knative
