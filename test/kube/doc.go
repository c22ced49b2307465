// Package kubetest is the integration harness of knative mode: a real
// kube-apiserver and etcd on loopback (built from third_party/ by
// `make test-kube`, found through KWHISK_KUBE_BIN), Knative Serving's own
// CRDs, the RBAC of config/ for the gateway's service account, the gateway
// with --platform knative, and a small stand-in for Knative's controllers
// that runs each revision's runtime main as a local process. Without
// KWHISK_KUBE_BIN its tests skip, except those that need no cluster.
package kubetest
