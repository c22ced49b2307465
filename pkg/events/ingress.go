package events

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/kwhisk/kwhisk/pkg/activation"
	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/tracing"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Reply event attributes: with the trigger annotation "cloudevents-reply"
// set to true, the first rule's action result goes back to the broker as
// the HTTP response, a CloudEvent of this type whose source is the action.
const (
	ReplyAnnotation = "cloudevents-reply"
	ReplyType       = "dev.kwhisk.activation.result"
)

// MaxEventSize bounds an event's HTTP body, like any fire payload.
const MaxEventSize = whisk.MaxPayloadSize

// Firer fires triggers and waits for activations.
type Firer interface {
	Fire(ctx context.Context, caller activation.Caller, path whisk.EntityPath, payload map[string]json.RawMessage, headers http.Header, tid string) (*activation.Outcome, error)
	Await(ctx context.Context, id whisk.ActivationID) (*whisk.Activation, error)
}

// Authenticator checks Basic credentials.
type Authenticator interface {
	Authenticate(ctx context.Context, header string) (*auth.Identity, error)
}

// Reader reads triggers, activation records and namespaces (for the
// namespace's own throttles when a delivery authenticates by token).
type Reader interface {
	GetTrigger(ctx context.Context, path whisk.EntityPath) (*whisk.Trigger, error)
	GetActivation(ctx context.Context, namespace string, id whisk.ActivationID) (*whisk.Activation, error)
	GetNamespace(ctx context.Context, name string) (*whisk.Namespace, error)
}

// Ingress turns CloudEvents into trigger fires.
type Ingress struct {
	firer   Firer
	auth    Authenticator
	reader  Reader
	tokens  *Tokens
	seen    *dedup
	wait    time.Duration
	feeds   *Feeds
	metrics Recorder
}

// Recorder hears of every event the ingress receives, for metrics
// (*metrics.Metrics is one). Its methods must be cheap and never block.
type Recorder interface {
	CloudEventReceived()
	CloudEventDeduplicated()
	// CloudEventRejected reports an event refused with an error of kind k.
	CloudEventRejected(k whisk.Kind)
}

type noRecorder struct{}

func (noRecorder) CloudEventReceived()           {}
func (noRecorder) CloudEventDeduplicated()       {}
func (noRecorder) CloudEventRejected(whisk.Kind) {}

// IngressOptions configure an Ingress. Zero values: DedupWindow 10 min,
// ReplyWait 60 s.
type IngressOptions struct {
	DedupWindow time.Duration
	ReplyWait   time.Duration
	// Feeds, if set, lets a paused subscription drop its events.
	Feeds *Feeds
	// Metrics hears of every event; nil: nothing does.
	Metrics Recorder
}

// NewIngress returns the CloudEvents ingress.
func NewIngress(firer Firer, authn Authenticator, reader Reader, tokens *Tokens, opts IngressOptions) *Ingress {
	if opts.DedupWindow <= 0 {
		opts.DedupWindow = 10 * time.Minute
	}
	if opts.ReplyWait <= 0 {
		opts.ReplyWait = time.Minute
	}
	if opts.Metrics == nil {
		opts.Metrics = noRecorder{}
	}
	return &Ingress{firer: firer, auth: authn, reader: reader, tokens: tokens,
		seen: newDedup(opts.DedupWindow, 100000, time.Now), wait: opts.ReplyWait, feeds: opts.Feeds, metrics: opts.Metrics}
}

// Tokens returns the subscriber-token maker.
func (in *Ingress) Tokens() *Tokens { return in.tokens }

// Delivery is the outcome of one event.
type Delivery struct {
	// ActivationID is the trigger activation; "" when no rule was active
	// or the event was a duplicate.
	ActivationID whisk.ActivationID
	Duplicate    bool
	Reply        *cloudevents.Event
}

var errCredentials = &whisk.Error{Kind: whisk.KindUnauthorized, Message: whisk.MsgAuthInvalid}

// Receive handles one CloudEvent (binary or structured mode) for the
// trigger at namespace/trigger.
func (in *Ingress) Receive(ctx context.Context, r *http.Request, namespace, trigger, tid string) (*Delivery, error) {
	in.metrics.CloudEventReceived()
	d, err := in.receive(ctx, r, namespace, trigger, tid)
	switch {
	case err != nil:
		in.metrics.CloudEventRejected(whisk.KindOf(err))
	case d.Duplicate:
		in.metrics.CloudEventDeduplicated()
	}
	return d, err
}

func (in *Ingress) receive(ctx context.Context, r *http.Request, namespace, trigger, tid string) (*Delivery, error) {
	if err := whisk.CheckNamespace(namespace); err != nil {
		return nil, err
	}
	if err := whisk.CheckName(trigger); err != nil {
		return nil, err
	}
	caller, err := in.authenticate(ctx, r, namespace, trigger)
	if err != nil {
		return nil, err
	}
	if r.ContentLength > MaxEventSize {
		return nil, whisk.Errorf(whisk.KindTooLarge, "Request larger than allowed: %d > %d bytes.", r.ContentLength, MaxEventSize)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxEventSize+1))
	if err != nil {
		return nil, whisk.Malformed("could not read the event")
	}
	if len(body) > MaxEventSize {
		return nil, whisk.Errorf(whisk.KindTooLarge, "Request larger than allowed: %d > %d bytes.", len(body), MaxEventSize)
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	ev, err := cehttp.NewEventFromHTTPRequest(r)
	if err != nil {
		return nil, whisk.Invalid("The request is not a valid CloudEvent: %v", err)
	}
	if err := ev.Validate(); err != nil {
		return nil, whisk.Invalid("The request is not a valid CloudEvent: %v", err)
	}
	payload, err := Parameters(ev)
	if err != nil {
		return nil, err
	}
	path := whisk.EntityPath{Namespace: namespace, Name: trigger}
	if in.feeds != nil {
		if fd, _, err := in.feeds.Get(ctx, path); err == nil && fd.Paused {
			return &Delivery{}, nil
		}
	}
	key := path.String() + "\x00" + ev.Source() + "\x00" + ev.ID()
	switch in.seen.claim(key) {
	case claimDone:
		return &Delivery{Duplicate: true}, nil
	case claimPending:
		return nil, whisk.Errorf(whisk.KindUnavailable, "This event is being delivered already; retry later.")
	}
	// An accepted event is fired even if the broker stops waiting for the
	// answer: its retry will be acknowledged as a duplicate.
	out, err := in.firer.Fire(context.WithoutCancel(ctx), caller, path, payload, traceHeaders(r.Header, ev), tid)
	if err != nil {
		in.seen.forget(key)
		return nil, err
	}
	in.seen.settle(key)
	d := &Delivery{}
	if out == nil {
		return d, nil
	}
	d.ActivationID = out.ID
	t, err := in.reader.GetTrigger(ctx, path)
	if err == nil && t.Annotations.Truthy(ReplyAnnotation) {
		d.Reply = in.reply(ctx, namespace, out.ID)
	}
	return d, nil
}

// authenticate accepts the trigger's token (query parameter "token") or
// Basic credentials of the trigger's namespace.
func (in *Ingress) authenticate(ctx context.Context, r *http.Request, namespace, trigger string) (activation.Caller, error) {
	if tok := r.URL.Query().Get("token"); tok != "" {
		if in.tokens == nil || !in.tokens.Verify(namespace, trigger, tok) {
			return activation.Caller{}, errCredentials
		}
		ns, err := in.reader.GetNamespace(ctx, namespace)
		if err != nil {
			if whisk.IsKind(err, whisk.KindNotFound) {
				return activation.Caller{}, errCredentials
			}
			return activation.Caller{}, err
		}
		return activation.Caller{Namespace: namespace, Subject: namespace, Throttles: ns.Throttles}, nil
	}
	id, err := in.auth.Authenticate(ctx, r.Header.Get("Authorization"))
	if err != nil {
		return activation.Caller{}, err
	}
	if id.Namespace != namespace {
		return activation.Caller{}, errCredentials
	}
	return activation.Caller{Namespace: id.Namespace, Subject: id.Subject, Key: id.Key, Throttles: id.Throttles}, nil
}

// Parameters turns an event into trigger parameters: a JSON object's keys
// as they are, any other data as __ce_data (JSON value, text, or base64 for
// binary), and every attribute and extension as __ce_<name>.
func Parameters(ev *cloudevents.Event) (map[string]json.RawMessage, error) {
	p := map[string]json.RawMessage{}
	if data := ev.Data(); len(data) > 0 {
		ct := ev.DataContentType()
		mt, _, _ := mime.ParseMediaType(ct)
		isJSON := ct == "" || mt == "application/json" || strings.HasSuffix(mt, "+json") || strings.HasPrefix(mt, "text/json")
		switch {
		case isJSON && json.Valid(data):
			trimmed := strings.TrimSpace(string(data))
			if strings.HasPrefix(trimmed, "{") {
				if err := json.Unmarshal(data, &p); err != nil {
					return nil, whisk.Invalid("The event data is not valid JSON: %v", err)
				}
			} else {
				p["__ce_data"] = json.RawMessage(trimmed)
			}
		case isJSON && mt != "" && mt != "text/plain":
			return nil, whisk.Invalid("The event data is not valid JSON.")
		case strings.HasPrefix(mt, "text/") || mt == "application/xml" || strings.HasSuffix(mt, "+xml"):
			p["__ce_data"] = whisk.JSONString(string(data))
		default:
			p["__ce_data"] = whisk.JSONString(base64.StdEncoding.EncodeToString(data))
		}
	}
	attr := map[string]string{
		"specversion": ev.SpecVersion(), "type": ev.Type(), "source": ev.Source(), "id": ev.ID(),
		"subject": ev.Subject(), "datacontenttype": ev.DataContentType(), "dataschema": ev.DataSchema(),
	}
	if !ev.Time().IsZero() {
		attr["time"] = ev.Time().UTC().Format(time.RFC3339Nano)
	}
	for k, v := range ev.Extensions() {
		attr[k] = fmt.Sprint(v)
	}
	for k, v := range attr {
		if v != "" {
			p["__ce_"+k] = whisk.JSONString(v)
		}
	}
	return p, nil
}

// reply builds the reply event from the first rule's action result, or
// nil if there is none within the wait.
func (in *Ingress) reply(ctx context.Context, namespace string, triggerID whisk.ActivationID) *cloudevents.Event {
	ctx, cancel := context.WithTimeout(ctx, in.wait)
	defer cancel()
	rec, err := in.record(ctx, namespace, triggerID)
	if err != nil || rec == nil {
		return nil
	}
	for _, line := range rec.Logs {
		var entry struct {
			ActivationID whisk.ActivationID `json:"activationId"`
			Action       string             `json:"action"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil || entry.ActivationID == "" {
			continue
		}
		act, err := in.record(ctx, namespace, entry.ActivationID)
		if err != nil || act == nil {
			return nil
		}
		ev := cloudevents.New()
		ev.SetID(string(act.ActivationID))
		ev.SetType(ReplyType)
		ev.SetSource("/" + entry.Action)
		ev.SetTime(time.UnixMilli(act.End))
		if err := ev.SetData("application/json", json.RawMessage(act.Response.View().Result)); err != nil {
			return nil
		}
		ev.SetExtension("kwhiskstatus", act.Response.View().Status)
		return &ev
	}
	return nil
}

// record waits for an in-flight activation or reads it from the store,
// polling briefly when neither has it yet (the trigger's rule invoke may
// still be registering).
func (in *Ingress) record(ctx context.Context, namespace string, id whisk.ActivationID) (*whisk.Activation, error) {
	for {
		rec, err := in.firer.Await(ctx, id)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			return rec, nil
		}
		rec, err = in.reader.GetActivation(ctx, namespace, id)
		if err == nil {
			return rec, nil
		}
		if !whisk.IsKind(err, whisk.KindNotFound) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// WriteReply writes ev as the HTTP response in binary mode.
func WriteReply(ctx context.Context, w http.ResponseWriter, ev *cloudevents.Event) error {
	if ev == nil {
		return errors.New("no reply event")
	}
	return cehttp.WriteResponseWriter(ctx, binding.ToMessage(ev), http.StatusOK, w)
}

// traceHeaders are the headers a trigger fire gets: the request's, with
// the event's traceparent extension (Distributed Tracing, in a structured
// event) as the traceparent header when the request has none. A binary
// event carries it as the header already.
func traceHeaders(h http.Header, ev *cloudevents.Event) http.Header {
	if tracing.FromHeader(h) != "" {
		return h
	}
	tp, ok := ev.Extensions()["traceparent"].(string)
	if !ok || tp == "" {
		return h
	}
	h = h.Clone()
	h[tracing.Header] = []string{tp}
	return h
}
