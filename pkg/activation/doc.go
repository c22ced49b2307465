// Package activation runs activations: it resolves the action, merges
// parameters, hands the run to the platform, builds the activation record
// OpenWhisk clients expect, stores it, and answers blocking callers or
// acknowledges non-blocking ones. Acknowledged activations are recorded as
// pending first, so a crash cannot lose them.
//
// It imports whisk, platform and the narrow store methods it needs; never
// HTTP.
package activation
