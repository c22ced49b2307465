// Package storetest is the conformance suite every store.Store
// implementation must pass: call Run from the implementation's tests.
//
// It may import the standard library (including testing), store, whisk and
// github.com/google/go-cmp.
package storetest
