package whisk

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
)

// Activation status codes, stored internally and shown as strings.
const (
	StatusSuccess          = 0
	StatusApplicationError = 1
	StatusDeveloperError   = 2
	StatusWhiskError       = 3
)

// StatusText returns the API's response.status string for a status code.
func StatusText(code int) string {
	switch code {
	case StatusSuccess:
		return "success"
	case StatusApplicationError:
		return "application error"
	case StatusDeveloperError:
		return "action developer error"
	default:
		return "whisk internal error"
	}
}

// ActivationID is a 32-character lower-case hex id.
type ActivationID string

// NewActivationID returns a fresh random id.
func NewActivationID() ActivationID {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return ActivationID(hex.EncodeToString(b[:]))
}

// CheckActivationID validates an id from a request path.
func CheckActivationID(s string) error {
	if len(s) != 32 {
		return Invalid("Activation id length is %d but must be 32.", len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return Invalid("The activation id is not valid.")
		}
	}
	return nil
}

// Response is an activation's outcome.
type Response struct {
	StatusCode int             `json:"statusCode"`
	Result     json.RawMessage `json:"result,omitempty"`
	Size       *int            `json:"size,omitempty"`
}

// Activation is one activation record as stored.
type Activation struct {
	Namespace    string       `json:"namespace"`
	Name         string       `json:"name"`
	Version      SemVer       `json:"version"`
	Subject      string       `json:"subject"`
	ActivationID ActivationID `json:"activationId"`
	Cause        ActivationID `json:"cause,omitempty"`
	Start        int64        `json:"start"`
	End          int64        `json:"end,omitempty"`
	Duration     int64        `json:"duration,omitempty"`
	Response     Response     `json:"response"`
	Logs         []string     `json:"logs"`
	Annotations  KeyValues    `json:"annotations"`
	Publish      bool         `json:"publish"`
}

// ResultView is the API's view of a Response: statusCode replaced by
// status and success.
type ResultView struct {
	Status  string          `json:"status"`
	Success bool            `json:"success"`
	Result  json.RawMessage `json:"result"`
	Size    *int            `json:"size,omitempty"`
}

// View returns the API view of r.
func (r Response) View() ResultView {
	res := r.Result
	if len(res) == 0 {
		res = json.RawMessage("{}")
	}
	return ResultView{Status: StatusText(r.StatusCode), Success: r.StatusCode == StatusSuccess, Result: res, Size: r.Size}
}

// ActivationView is the record as GET .../activations/{id} returns it.
type ActivationView struct {
	Namespace    string       `json:"namespace"`
	Name         string       `json:"name"`
	Version      SemVer       `json:"version"`
	Subject      string       `json:"subject"`
	ActivationID ActivationID `json:"activationId"`
	Cause        ActivationID `json:"cause,omitempty"`
	Start        int64        `json:"start"`
	End          int64        `json:"end,omitempty"`
	Duration     *int64       `json:"duration,omitempty"`
	Response     ResultView   `json:"response"`
	Logs         []string     `json:"logs"`
	Annotations  KeyValues    `json:"annotations"`
	Publish      bool         `json:"publish"`
}

// View returns the API view of a.
func (a *Activation) View() ActivationView {
	v := ActivationView{
		Namespace: a.Namespace, Name: a.Name, Version: a.Version, Subject: a.Subject,
		ActivationID: a.ActivationID, Cause: a.Cause, Start: a.Start, End: a.End,
		Response: a.Response.View(), Logs: a.Logs, Annotations: a.Annotations, Publish: a.Publish,
	}
	if a.End != 0 {
		d := a.Duration
		v.Duration = &d
	}
	if v.Logs == nil {
		v.Logs = []string{}
	}
	if v.Annotations == nil {
		v.Annotations = KeyValues{}
	}
	return v
}

// ActivationSummary is a list element without response and logs.
type ActivationSummary struct {
	Namespace    string       `json:"namespace"`
	Name         string       `json:"name"`
	Version      SemVer       `json:"version"`
	Subject      string       `json:"subject"`
	ActivationID ActivationID `json:"activationId"`
	Cause        ActivationID `json:"cause,omitempty"`
	Start        int64        `json:"start"`
	End          int64        `json:"end,omitempty"`
	Duration     *int64       `json:"duration,omitempty"`
	StatusCode   int          `json:"statusCode"`
	Annotations  KeyValues    `json:"annotations"`
	Publish      bool         `json:"publish"`
}

// Summary returns the list view of a.
func (a *Activation) Summary() ActivationSummary {
	v := a.View()
	return ActivationSummary{
		Namespace: v.Namespace, Name: v.Name, Version: v.Version, Subject: v.Subject,
		ActivationID: v.ActivationID, Cause: v.Cause, Start: v.Start, End: v.End, Duration: v.Duration,
		StatusCode: a.Response.StatusCode, Annotations: v.Annotations, Publish: v.Publish,
	}
}

// ErrorResult renders {"error": msg}.
func ErrorResult(msg string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"error": msg}) // a map of strings always marshals
	return b
}

// EntityName is the name the activation list's name filter matches: the
// package-relative name ("pkg/name" or "name") taken from the binding
// annotation when present, else from the path annotation, else the name.
func (a *Activation) EntityName() string {
	if b := a.Annotations.Get("binding"); b != nil {
		if s := EnvString(b); s != "" {
			if _, pkg := ParseParent(s); pkg != "" {
				return pkg + "/" + a.Name
			}
		}
	}
	if p := a.Annotations.Get("path"); p != nil {
		if s := EnvString(p); s != "" {
			if _, rest := ParseParent(s); rest != "" {
				return rest
			}
		}
	}
	return a.Name
}
