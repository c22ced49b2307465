// Package events connects kwhisk's triggers to the CloudEvents world: the
// ingress that turns a CloudEvent POSTed by a broker into a trigger fire
// (authenticated, deduplicated, durable before it is acknowledged), the
// subscriber tokens brokers put in their URIs, the built-in feeds under
// /whisk.system (broker subscriptions and alarms), and the emitter that
// sends every completed activation to a sink. It also installs the rest
// of the /whisk.system catalog: OpenWhisk's utils and samples packages,
// Node.js actions embedded from packages/.
//
// It imports whisk, the CloudEvents SDK and the narrow interfaces it
// declares; the API mounts its ingress, the controller wires it.
package events
