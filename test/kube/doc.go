// Package kubetest is the integration harness of knative mode, in two
// tiers over the same real kube-apiserver and etcd (built from
// third_party/, found through KWHISK_KUBE_BIN), Knative Serving's own
// CRDs, the RBAC of config/ for the gateway's service account and the
// gateway with --platform knative.
//
// The fake tier (`make test-kube-fake`; `make test-kube` runs both): a small stand-in for Knative written
// for the test (knative_test.go) creates Revisions, sets status and runs
// each revision's runtime main as a local process. It is fast, and lets
// tests look inside (spans of each request, instances scaled at will).
//
// The real tier (`make test-serving`, KWHISK_KNATIVE_BIN naming the
// binaries third_party/knative.sh builds): the test binary re-runs itself
// inside a network namespace of its own (package lab), starts
// kube-controller-manager, and runs Knative Serving's own controller,
// webhook, autoscaler and activator from Knative's own config/core, with
// queue-proxy as every revision pod's sidecar. What needs a node or a
// network stands in, each labelled so in its package: the pod runner
// (kubelet and scheduler, package podrunner), the test ingress (the
// KIngress implementation and kube-proxy, package ingress) and dnsmasq
// (cluster DNS). Every change to Knative's installation is in
// serving_test.go. Tests that drive the stand-in skip in the real tier
// (needFake); real-tier tests skip in the fake one (needReal).
//
// Without KWHISK_KUBE_BIN the tests skip, except those that need no
// cluster.
package kubetest
