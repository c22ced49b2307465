// Package commitq is the group commit shared by the stores: a bounded queue
// of activation writes that a single writer goroutine commits in batches,
// readable from memory until committed, and the merge of queued records
// with a database page when listing.
//
// Every queued write has a sequence number; a store commits the seq of each
// batch's last write with the batch, so a reader that reads that seq in the
// same snapshot as its rows knows which queued records the snapshot holds.
//
// It may import the standard library, store and whisk.
package commitq
