// Package store is the contract for kwhisk's persistent state: entities
// (actions, packages, triggers, rules), activation records, namespaces and
// API definitions.
// Implementations live in subpackages and must pass storetest.Run.
//
// Every method takes the caller's context first and reports failures as
// whisk errors: whisk.KindNotFound for a missing key, whisk.KindConflict
// for a create over an existing key or a stale revision. Other failures are
// internal errors carrying the driver's error as cause.
package store

import (
	"context"
	"errors"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Collection names an entity collection; entities of all collections in one
// namespace share one name space.
type Collection string

const (
	Actions  Collection = "actions"
	Packages Collection = "packages"
	Triggers Collection = "triggers"
	Rules    Collection = "rules"
)

// Change names a row another process changed in a store shared by
// several gateway replicas, as its change feed reports it: Table is
// "entities" or "namespaces"; Namespace and Name are the row's key (an
// entity's Namespace is "ns" or "ns/pkg"; a namespace row has only Name).
// The zero Change means anything may have changed (the feed lost
// notifications), so caches must be flushed whole.
type Change struct {
	Table     string // EntitiesTable, NamespacesTable, or "" for anything
	Namespace string
	Name      string
}

// The tables a Change names.
const (
	EntitiesTable   = "entities"
	NamespacesTable = "namespaces"
)

// Document is a stored entity: its key, its collection, an opaque JSON body
// and the revision used for optimistic concurrency.
type Document struct {
	Collection Collection
	Namespace  string // the entity's namespace field: "ns" or "ns/pkg"
	Name       string
	Rev        int64 // 0 on create; set by Put
	Updated    int64 // epoch ms; lists are ordered by it, newest first
	Body       []byte
}

// ListQuery selects documents of one collection.
type ListQuery struct {
	Collection Collection
	// Namespace is "ns" or "ns/pkg". With WithPackages, "ns" also matches
	// documents in the namespace's packages ("ns/<any>").
	Namespace    string
	WithPackages bool
	Skip, Limit  int // Limit 0 means no limit
}

// ErrExists is returned by Put with Rev 0 when the key is taken (in any
// collection); ErrStale when Rev does not match the stored revision.
var (
	ErrExists = &whisk.Error{Kind: whisk.KindConflict, Message: whisk.MsgAlreadyExists}
	ErrStale  = &whisk.Error{Kind: whisk.KindConflict, Message: whisk.MsgConcurrentUpdate}
)

// ErrFull is returned by writes while the database or its disk is full:
// a 503, since the request may succeed once space is freed. Reads keep
// working.
var ErrFull = &whisk.Error{Kind: whisk.KindUnavailable, Message: MsgFull}

// MsgFull says why writes are refused while the store is full.
const MsgFull = "The database or disk is full: kwhisk accepts no new activations or changes until space is freed."

// ErrUnavailable is wrapped, together with the driver's error, by every
// call of a store whose database cannot be reached (a server stopped or
// restarting, a network cut): a 503, since the same request succeeds once
// the database is back, and the store reconnects by itself.
var ErrUnavailable = &whisk.Error{Kind: whisk.KindUnavailable, Message: MsgUnavailable}

// MsgUnavailable says why requests are refused while the database is
// unreachable.
const MsgUnavailable = "The database is unreachable: kwhisk cannot read or write its state until it is back."

// IsNotFound reports whether err is a missing-key error.
func IsNotFound(err error) bool { return whisk.IsKind(err, whisk.KindNotFound) }

// IsExists reports whether err is ErrExists.
func IsExists(err error) bool { return errors.Is(err, ErrExists) }

// Entities stores entity documents keyed by (Namespace, Name).
type Entities interface {
	// GetEntity returns the document under the key, whatever its collection.
	GetEntity(ctx context.Context, namespace, name string) (*Document, error)
	// PutEntity creates (doc.Rev == 0) or replaces (doc.Rev == stored
	// revision) the document and sets doc.Rev to the new revision.
	PutEntity(ctx context.Context, doc *Document) error
	// DeleteEntity removes the document if its revision is rev (0: any).
	DeleteEntity(ctx context.Context, namespace, name string, rev int64) error
	// ListEntities returns matching documents, newest Updated first, and
	// the total number matching (ignoring Skip and Limit).
	ListEntities(ctx context.Context, q ListQuery) ([]*Document, int, error)
}

// ActivationQuery selects activation records of one namespace.
type ActivationQuery struct {
	Namespace   string
	Name        string // matches Activation.EntityName(); "" for all
	Since, Upto int64  // inclusive bounds on Start in epoch ms; 0 for none
	Skip, Limit int    // Limit 0 means no limit
}

// Activations stores activation records. Writes are group-committed: a put
// record is visible to GetActivation and ListActivations as soon as
// PutActivation returns, and durable once a later Flush returns (or within
// the implementation's flush interval).
type Activations interface {
	PutActivation(ctx context.Context, a *whisk.Activation) error
	GetActivation(ctx context.Context, namespace string, id whisk.ActivationID) (*whisk.Activation, error)
	// ListActivations returns matching records, newest Start first, and the
	// total number matching (ignoring Skip and Limit).
	ListActivations(ctx context.Context, q ActivationQuery) ([]*whisk.Activation, int, error)
	// Flush returns once every record put before the call is durable.
	Flush(ctx context.Context) error
	// ExpireActivations deletes up to limit durable records (logs and
	// result with them) whose Start is before the epoch ms before, oldest
	// first, and returns how many it deleted. Records not yet durable wait
	// for a later call. Callers delete in small batches, so that writers
	// are never held up for long.
	ExpireActivations(ctx context.Context, before int64, limit int) (int, error)
}

// Pending keeps activations that were acknowledged (202) before they
// completed, so a crash cannot lose them.
type Pending interface {
	// AddPending durably records a started activation (its identifying
	// fields; Response is ignored) before the caller acknowledges it.
	// PutActivation of the same id removes the pending entry.
	AddPending(ctx context.Context, a *whisk.Activation) error
	// TakePending returns every pending activation left by an earlier
	// process; the caller completes each with PutActivation.
	TakePending(ctx context.Context) ([]*whisk.Activation, error)
}

// Namespaces stores namespaces and their hashed keys.
type Namespaces interface {
	// PutNamespace creates or replaces the namespace with ns.Name.
	PutNamespace(ctx context.Context, ns *whisk.Namespace) error
	GetNamespace(ctx context.Context, name string) (*whisk.Namespace, error)
	// NamespaceByUUID finds the namespace whose key has the given uuid.
	NamespaceByUUID(ctx context.Context, uuid string) (*whisk.Namespace, error)
	ListNamespaces(ctx context.Context) ([]*whisk.Namespace, error)
	DeleteNamespace(ctx context.Context, name string) error
}

// API is a namespace's API definition (what `wsk api create` builds): one
// per (Namespace, BasePath), its Body an opaque JSON document (the API's
// Swagger 2.0 document), versioned by Rev as entities are.
type API struct {
	Namespace string
	BasePath  string // "/hello"; compared for equality only
	Rev       int64  // 0 on create; set by PutAPI
	Updated   int64  // epoch ms
	Body      []byte
}

// APIs stores API definitions. They live in a key space of their own: an
// API's base path never collides with an entity's name.
type APIs interface {
	// GetAPI returns the API under the key; NotFound when there is none.
	GetAPI(ctx context.Context, namespace, basePath string) (*API, error)
	// PutAPI creates (api.Rev == 0; ErrExists when the key is taken) or
	// replaces (api.Rev == stored revision; ErrStale when it is not,
	// NotFound when the API is gone) and sets api.Rev to the new revision.
	PutAPI(ctx context.Context, api *API) error
	// DeleteAPI removes the API if its revision is rev (0: any): NotFound
	// when there is none, ErrStale when the revision does not match.
	DeleteAPI(ctx context.Context, namespace, basePath string, rev int64) error
	// ListAPIs returns every API of the namespace, ordered by BasePath.
	ListAPIs(ctx context.Context, namespace string) ([]*API, error)
}

// Store is everything kwhisk persists. Close flushes pending writes.
type Store interface {
	Entities
	Activations
	Pending
	Namespaces
	APIs
	Close() error
}
