package platform

import (
	"fmt"
	"sort"
	"strings"
)

// The messages for a kind a platform does not offer are made here, once,
// for every platform and for the action collection: what it offers comes
// from Runtimes, why a kind is missing from the platform itself when it
// knows (Explainer).

// Offering is the part of a Platform that lists its kinds.
type Offering interface {
	Runtimes() []Runtime
}

// Explainer is implemented by platforms that can say why a kind they do
// not offer cannot run, e.g. local mode naming the interpreter the host
// lacks.
type Explainer interface {
	// Missing returns why kind cannot run, or "" when it can or when
	// nothing is known beyond it not being offered.
	Missing(kind string) string
}

// Unsupported is the developer error Run answers for an action whose kind
// o does not offer (an action stored before its runtime went away): o's
// explanation when it has one.
func Unsupported(o Offering, kind string) string {
	if why := missing(o, kind); why != "" {
		return why
	}
	return "The runtime '" + kind + "' is not supported by this platform."
}

// UnsupportedKind is the message refusing an action written with a kind
// o does not offer: the kinds it offers, and, when it offers none of the
// kind's family, o's explanation of why.
func UnsupportedKind(o Offering, kind string) string {
	rts := o.Runtimes()
	kinds := make([]string, 0, len(rts))
	for _, rt := range rts {
		kinds = append(kinds, rt.Kind)
	}
	sort.Strings(kinds)
	msg := fmt.Sprintf("The specified runtime '%s' is not supported by this platform. Valid values are: '%s'", kind, strings.Join(kinds, "', '"))
	family, _, _ := strings.Cut(kind, ":")
	for _, rt := range rts {
		if rt.Family == family {
			return msg
		}
	}
	if why := missing(o, kind); why != "" {
		msg += ". " + why
	}
	return msg
}

func missing(o Offering, kind string) string {
	if e, ok := o.(Explainer); ok {
		return e.Missing(kind)
	}
	return ""
}
