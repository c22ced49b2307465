package kube

import (
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// RequestTimeout bounds every API call, so an API server that accepts
// connections but never answers cannot hang an activation.
const RequestTimeout = 15 * time.Second

// Config returns the client configuration from the kubeconfig file at
// path, or the in-cluster service account when path is "". Its requests
// time out after RequestTimeout; watches need WatchConfig.
func Config(path string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	if path == "" {
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster kubernetes config (pass --kubeconfig outside a cluster): %w", err)
		}
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s: %w", path, err)
		}
	}
	cfg.Timeout = RequestTimeout
	// One Service write per action version and one watch; the defaults
	// (5 QPS) would throttle a burst of action creates.
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "kwhisk"
	return cfg, nil
}

// WatchConfig is cfg without the request timeout, for watches, which
// stream for as long as they last.
func WatchConfig(cfg *rest.Config) *rest.Config {
	w := rest.CopyConfig(cfg)
	w.Timeout = 0
	return w
}
