package events

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/kwhisk/kwhisk/pkg/logging"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// CompletedType is the type of the events the emitter sends: one per
// completed top-level activation (actions, sequences, triggers), with id =
// the activation id, source = "/<namespace>/<path of the action or
// trigger>", subject = the activation id, time = its end (or start), and
// data = the activation summary as GET .../activations lists it (JSON:
// namespace, name, version, subject, activationId, start, end, duration,
// statusCode, annotations, publish).
const CompletedType = "dev.kwhisk.activation.completed"

// Emitter sends completed activations to a sink, fire and forget: Emit
// never blocks; past the queue's capacity events are dropped and counted.
type Emitter struct {
	sink    string
	client  *http.Client
	queue   chan *whisk.Activation
	dropped atomic.Int64
	log     *slog.Logger
}

// NewEmitter returns an emitter to sink with a queue of size events.
func NewEmitter(sink string, size int, log *slog.Logger) *Emitter {
	if size <= 0 {
		size = 1024
	}
	return &Emitter{sink: sink, client: &http.Client{Timeout: 10 * time.Second}, queue: make(chan *whisk.Activation, size), log: logging.OrDiscard(log)}
}

// Emit queues a record, or drops it when the queue is full.
func (e *Emitter) Emit(a *whisk.Activation) {
	select {
	case e.queue <- a:
	default:
		e.dropped.Add(1)
	}
}

// Dropped counts the events dropped so far because the queue was full.
func (e *Emitter) Dropped() int64 { return e.dropped.Load() }

// Start sends queued events until ctx ends.
func (e *Emitter) Start(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case a := <-e.queue:
			if err := e.send(ctx, a); err != nil {
				e.log.Warn("emit activation", logging.KeyNamespace, a.Namespace, logging.KeyActivationID, string(a.ActivationID), logging.Err(err))
			}
		}
	}
}

// CompletedEvent renders a record as the event the emitter sends.
func CompletedEvent(a *whisk.Activation) (cloudevents.Event, error) {
	ev := cloudevents.New()
	ev.SetID(string(a.ActivationID))
	ev.SetType(CompletedType)
	source := a.Namespace + "/" + a.Name
	if p := a.Annotations.Get("path"); p != nil {
		source = whisk.EnvString(p)
	}
	ev.SetSource("/" + strings.TrimPrefix(source, "/"))
	ev.SetSubject(string(a.ActivationID))
	t := a.End
	if t == 0 {
		t = a.Start
	}
	ev.SetTime(time.UnixMilli(t))
	err := ev.SetData("application/json", a.Summary())
	return ev, err
}

func (e *Emitter) send(ctx context.Context, a *whisk.Activation) error {
	ev, err := CompletedEvent(a)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := cehttp.NewHTTPRequestFromEvent(ctx, e.sink, ev)
	if err != nil {
		return err
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close() // the sink's answer has nothing for us
	if resp.StatusCode >= 300 {
		return &sinkError{status: resp.StatusCode}
	}
	return nil
}

type sinkError struct{ status int }

func (e *sinkError) Error() string { return "sink answered " + http.StatusText(e.status) }
