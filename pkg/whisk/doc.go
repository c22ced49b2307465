// Package whisk is the OpenWhisk entity model: names and paths, actions and
// their exec, limits, parameters and annotations, activations, and the error
// kinds every other package maps its failures onto.
//
// It knows no HTTP, SQL, Kubernetes or processes and imports only the
// standard library; everything else in kwhisk points inward to it.
package whisk
