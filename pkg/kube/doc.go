// Package kube holds what kwhisk's Kubernetes parts share: building a
// client configuration (kubeconfig or in-cluster), deriving DNS-safe object
// and namespace names from OpenWhisk names, and translating API errors into
// whisk error kinds at the seam.
//
// It may import the standard library, pkg/whisk and k8s.io client
// libraries; it knows nothing of Knative.
package kube
