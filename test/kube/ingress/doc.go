// Package ingress is the test network of the kube harness's real tier: a
// stand-in for the two pieces of a cluster's data plane that Knative
// Serving relies on but that cannot be had here (no Envoy is obtainable,
// and there is no kube-proxy or iptables in the lab).
//
// # What it stands in for
//
// A KIngress implementation (the job of net-kourier, net-istio or
// net-contour, class [Class]): it watches Knative's
// networking.internal.knative.dev/v1alpha1 Ingresses of its class and
// marks them Ready (ObservedGeneration, NetworkConfigured,
// LoadBalancerReady with a public and a private load balancer), then
// routes HTTP by the Knative contract: the Host (port stripped) picks a
// rule, the path (literal prefix, longest first, exact header matches)
// picks a path, the percentages pick a split, and the split's Service and
// port pick a ready endpoint from the Service's Endpoints. The path's and
// the split's AppendHeaders replace any header of the same name, as the
// conformance suite expects; RewriteHost is honoured by routing again
// with the new Host, as a round trip through the gateway would.
//
// kube-proxy, for HTTP only: a Host of the form <svc>.<ns>.svc.<domain>,
// <svc>.<ns>.svc or <svc>.<ns> that no rule claims goes to a ready
// endpoint of that Service, by the request's port (the port the listener
// is bound to) → the Service port of that number → the Endpoints port of
// the same name, which is how kube-proxy maps a ClusterIP port to a pod
// port. With [DNS] answering every *.cluster.local with the ingress's
// address, in-cluster clients such as the activator (websocket to
// autoscaler.knative-serving.svc.cluster.local:8080) and the autoscaler
// (probes of <revision>.<ns>.svc.cluster.local, scrapes of
// <revision>-private.<ns>:9090) reach their peers with no ClusterIP.
//
// It reads the API only through informers; nothing on the request path
// calls the API server. Endpoints come from v1 Endpoints, not
// EndpointSlices: Knative v0.42 writes Endpoints for its selector-less
// revision Services, and the lab runs no endpointslice-mirroring
// controller to turn them into slices.
//
// # What it does not do
//
//   - No TLS: spec.tls, HTTPOption Redirected, and HTTP/2 over TLS are
//     ignored (Knative's defaults use none of them).
//   - HTTP only: the kube-proxy stand-in forwards HTTP requests (with
//     Upgrade, so websockets pass), not arbitrary TCP or UDP to a Service.
//   - h2c only with prior knowledge (as Knative's own h2c clients speak it);
//     an HTTP/1.1 "Upgrade: h2c" is passed through like any upgrade.
//   - No wildcard rule hosts, no per-route timeouts or retry policies
//     beyond one rule: a request whose connection to the chosen endpoint
//     fails to dial is sent to a ready endpoint again within
//     [Config.RetryWithin] (endpoints churn while pods come and go), as is
//     a request to a Service with no ready endpoint yet.
//   - No readiness probing of its own configuration across gateway pods
//     (Knative's status prober with K-Network-Hash): the routing table is
//     the informer cache itself, so an Ingress is routable the moment it is
//     marked Ready. Probe requests (K-Network-Probe) are forwarded like any
//     other, which is what the activator's probes need.
//   - Visibility is by listener: [Config.Listen] addresses serve every rule
//     and Service hosts (the cluster-local gateway), [Config.PublicListen]
//     addresses serve only ExternalIP rules (the external gateway). In the
//     lab everything is in the cluster, so only Listen is used.
//   - Not a load balancer worth measuring: endpoint choice is uniform
//     random, splits are weighted random.
package ingress
