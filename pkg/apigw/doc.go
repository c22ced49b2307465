// Package apigw keeps API definitions the way OpenWhisk's API management
// actions (/whisk.system/apimgmt) leave them in its API gateway: one
// Swagger 2.0 document per namespace and base path, each operation naming
// a web action in an "x-openwhisk" extension (action, namespace, package
// and the web action URL whose extension is the response type), with the
// gateway's invocation details (target URL, the web action's secret) in
// "x-ibm-configuration". Documents are kept as generic JSON so a Swagger
// file exported from OpenWhisk, or written by hand, round-trips unchanged.
//
// The package edits documents (New, AddEndpoint, RemoveEndpoint), checks
// them (Validate) and finds the operation a request addresses (Match).
package apigw
