// Package entity keeps OpenWhisk's entities in the store with OpenWhisk's
// semantics: one name space per namespace across collections, create vs
// update with overwrite, merge rules, revision checks, and a read cache for
// the invoke path. It imports whisk, store and platform (for the runtime
// kinds), never HTTP.
package entity
