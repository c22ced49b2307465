package kubetest

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	eventingclient "knative.dev/eventing/pkg/client/clientset/versioned"
	"knative.dev/pkg/apis"

	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/brokers"
	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// The real tier's tests with Knative Eventing: a Broker in the actions
// namespace delivers CloudEvents to kwhisk's triggers through Eventing's
// own broker ingress and filter and the in-memory channel.

// needEventing returns the harness when it runs Knative Eventing.
func needEventing(t testing.TB) *harness {
	t.Helper()
	h := needReal(t)
	if !h.eventing {
		t.Skip("no Knative Eventing: set KWHISK_EVENTING_BIN (make test-serving builds and sets it)")
	}
	return h
}

// brokerURL is the ingress of the Broker name of the actions namespace.
func brokerURL(name string) string {
	return "http://broker-ingress." + eventingNamespace + ".svc.cluster.local/" + actionsNamespace + "/" + name
}

// broker makes the Broker name in the actions namespace (Eventing's
// default class, the channel-based one over the in-memory channel) and
// waits until it is Ready.
func (h *harness) broker(t testing.TB, ec eventingclient.Interface, name string) {
	t.Helper()
	ctx := context.Background()
	_, err := ec.EventingV1().Brokers(actionsNamespace).Create(ctx, &eventingv1.Broker{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: actionsNamespace},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("Broker %s: %v", name, err)
	}
	waitReady(t, "Broker "+name, func() (apis.Condition, error) {
		b, err := ec.EventingV1().Brokers(actionsNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return apis.Condition{}, err
		}
		return readyOf(b.Status.GetCondition(apis.ConditionReady)), nil
	})
}

func readyOf(c *apis.Condition) apis.Condition {
	if c == nil {
		return apis.Condition{Message: "no Ready condition"}
	}
	return *c
}

// waitReady polls cond until its status is True.
func waitReady(t testing.TB, what string, cond func() (apis.Condition, error)) {
	t.Helper()
	var last string
	err := poll(context.Background(), 2*time.Minute, func() (bool, error) {
		c, err := cond()
		if err != nil {
			last = err.Error()
			return false, nil
		}
		last = string(c.Status) + " " + c.Reason + " " + c.Message
		return c.IsTrue(), nil
	})
	if err != nil {
		t.Fatalf("%s not Ready: %v (last: %s)", what, err, last)
	}
}

// knativeTrigger waits for the Eventing Trigger of the guest trigger name
// to be Ready.
func knativeTriggerReady(t testing.TB, ec eventingclient.Interface, name string) {
	t.Helper()
	tn := brokers.TriggerName(whisk.EntityPath{Namespace: "guest", Name: name})
	waitReady(t, "Trigger "+tn, func() (apis.Condition, error) {
		tr, err := ec.EventingV1().Triggers(actionsNamespace).Get(context.Background(), tn, metav1.GetOptions{})
		if err != nil {
			return apis.Condition{}, err
		}
		return readyOf(tr.Status.GetCondition(apis.ConditionReady)), nil
	})
}

// feed runs the subscribe feed's lifecycle event for the guest trigger
// name, as `wsk trigger create --feed` and its kin do.
func (g *gateway) feed(event, trigger string, params map[string]any) {
	g.t.Helper()
	body := map[string]any{
		"lifecycleEvent": event, "triggerName": "/guest/" + trigger,
		"authKey": auth.WellKnown[0].UUID + ":" + auth.WellKnown[0].Key,
	}
	for k, v := range params {
		body[k] = v
	}
	var rec activation
	if status := g.call(http.MethodPost, "/api/v1/namespaces/whisk.system/actions/"+events.SubscribeFeed+"?blocking=true", body, &rec); status != http.StatusOK {
		g.t.Fatalf("feed %s of %s: status %d, %s", event, trigger, status, rec.Response.Result)
	}
}

// subscribed makes the guest trigger name, fed by the broker through the
// subscribe feed with params, and a rule from it to action.
func (g *gateway) subscribed(trigger, action string, annotations []map[string]any, params map[string]any) {
	g.t.Helper()
	if status := g.call(http.MethodPut, "/api/v1/namespaces/_/triggers/"+trigger+"?overwrite=true", map[string]any{"annotations": annotations}, nil); status != http.StatusOK {
		g.t.Fatalf("put trigger %s: %d", trigger, status)
	}
	g.feed("CREATE", trigger, params)
	rule := map[string]any{"trigger": "/guest/" + trigger, "action": "/guest/" + action}
	if status := g.call(http.MethodPut, "/api/v1/namespaces/_/rules/"+trigger+"-rule?overwrite=true", rule, nil); status != http.StatusOK {
		g.t.Fatalf("put rule of %s: %d", trigger, status)
	}
}

// sendEvent posts a binary-mode CloudEvent to the broker's ingress and
// fails the test unless the broker accepts it.
func sendEvent(t testing.TB, broker, id, source, typ, data string) {
	t.Helper()
	if status, err := postEvent(broker, id, source, typ, data); err != nil || status != http.StatusAccepted {
		t.Fatalf("send event %s: broker answered %d (%v), want 202", id, status, err)
	}
}

// postEvent posts a binary-mode CloudEvent to the broker's ingress. The
// in-memory channel delivers while the broker's ingress waits, so the
// answer is the delivery's too.
func postEvent(broker, id, source, typ, data string) (int, error) {
	return postEventWith(broker, id, source, typ, data, nil)
}

// postEventWith is postEvent with extension attributes.
func postEventWith(broker, id, source, typ, data string, extensions map[string]string) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, brokerURL(broker), bytes.NewReader([]byte(data)))
	for k, v := range extensions {
		req.Header.Set("Ce-"+k, v)
	}
	req.Header.Set("Ce-Specversion", "1.0")
	req.Header.Set("Ce-Id", id)
	req.Header.Set("Ce-Source", source)
	req.Header.Set("Ce-Type", typ)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// activationsOf lists the guest activations of action name.
func (g *gateway) activationsOf(name string) []activation {
	g.t.Helper()
	var list []activation
	if status := g.call(http.MethodGet, "/api/v1/namespaces/_/activations?docs=true&limit=200&name="+name, nil, &list); status != http.StatusOK {
		g.t.Fatalf("list activations of %s: %d", name, status)
	}
	return list
}

// waitActivations waits until action name has at least n activations,
// and returns them.
func (g *gateway) waitActivations(name string, n int, within time.Duration) []activation {
	g.t.Helper()
	var list []activation
	_ = poll(context.Background(), within, func() (bool, error) {
		list = g.activationsOf(name)
		return len(list) >= n, nil
	})
	if len(list) < n {
		g.t.Fatalf("%s has %d activations, want %d", name, len(list), n)
	}
	return list
}

// recordJS returns what it was given, and logs it.
const recordJS = `function main(p) { console.log("got " + JSON.stringify(p)); return {seen: p} }`

// TestEventingBrokerToTrigger: through kwhisk's API, the subscribe feed
// makes a real Eventing Trigger that becomes Ready; events posted to the
// broker reach the trigger through Eventing's filter and run the rule's
// action once, with its record and logs; the same event sent twice runs
// it once; filters select; a paused feed stops deliveries and UNPAUSE
// resumes them; DELETE deletes the Eventing Trigger.
func TestEventingBrokerToTrigger(t *testing.T) {
	h := needEventing(t)
	ec, err := eventingclient.NewForConfig(h.admin)
	if err != nil {
		t.Fatal(err)
	}
	h.broker(t, ec, "default")
	g := startGateway(t, h, t.TempDir())
	g.putAction("orders", "nodejs:20", recordJS, nil)
	g.subscribed("order-events", "orders", nil, map[string]any{"broker": "default", "type": "dev.example.order"})
	knativeTriggerReady(t, ec, "order-events")

	sendEvent(t, "default", "o-1", "/shop", "dev.example.order", `{"item":"tea"}`)
	list := g.waitActivations("orders", 1, time.Minute)
	var rec activation
	if status := g.call(http.MethodGet, "/api/v1/namespaces/_/activations/"+list[0].ActivationID, nil, &rec); status != http.StatusOK {
		t.Fatalf("get activation: %d", status)
	}
	if rec.Response.Status != "success" || !strings.Contains(string(rec.Response.Result), `"item":"tea"`) {
		t.Errorf("the rule's activation: %s %s", rec.Response.Status, rec.Response.Result)
	}
	if len(rec.Logs) != 1 || !strings.Contains(rec.Logs[0], `got {`) {
		t.Errorf("the rule's activation logs %q", rec.Logs)
	}

	// The same event again (a redelivery), and one of another type.
	sendEvent(t, "default", "o-1", "/shop", "dev.example.order", `{"item":"tea"}`)
	sendEvent(t, "default", "x-1", "/shop", "dev.example.other", `{"item":"coffee"}`)
	sendEvent(t, "default", "o-2", "/shop", "dev.example.order", `{"item":"cake"}`)
	list = g.waitActivations("orders", 2, time.Minute)
	time.Sleep(2 * time.Second) // what else would arrive has arrived
	if list = g.activationsOf("orders"); len(list) != 2 {
		t.Errorf("%d activations after a duplicate, another type and a second order; want 2", len(list))
	}

	// Filters on an extension attribute, beside the type.
	g.putAction("vip", "nodejs:20", recordJS, nil)
	g.subscribed("vip-events", "vip", nil, map[string]any{"broker": "default", "type": "dev.example.order", "filters": map[string]any{"tier": "gold"}})
	knativeTriggerReady(t, ec, "vip-events")
	for _, tier := range []string{"silver", "gold"} {
		if status, err := postEventWith("default", "t-"+tier, "/shop", "dev.example.order", `{"tier":"`+tier+`"}`, map[string]string{"tier": tier}); err != nil || status != http.StatusAccepted {
			t.Fatalf("event of tier %s: %d %v", tier, status, err)
		}
	}
	vip := g.waitActivations("vip", 1, time.Minute)
	time.Sleep(time.Second)
	if vip = g.activationsOf("vip"); len(vip) != 1 {
		t.Errorf("the gold-only trigger ran its action %d times for a silver and a gold event; want 1", len(vip))
	}
	var vipRec activation
	g.call(http.MethodGet, "/api/v1/namespaces/_/activations/"+vip[0].ActivationID, nil, &vipRec)
	if !strings.Contains(string(vipRec.Response.Result), `"gold"`) {
		t.Errorf("the gold-only trigger's action saw %s", vipRec.Response.Result)
	}
	orders := len(g.activationsOf("orders")) // the orders trigger took both

	// Paused: Eventing's Trigger goes; UNPAUSE brings it back.
	g.feed("PAUSE", "order-events", nil)
	tn := brokers.TriggerName(whisk.EntityPath{Namespace: "guest", Name: "order-events"})
	if _, err := ec.EventingV1().Triggers(actionsNamespace).Get(context.Background(), tn, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Eventing Trigger of a paused feed: %v, want none", err)
	}
	// The broker takes the event once its channel has let go of the
	// deleted Trigger's subscription (until then its delivery fails).
	if err := poll(context.Background(), 30*time.Second, func() (bool, error) {
		status, err := postEvent("default", "o-3", "/shop", "dev.example.order", `{"item":"paused"}`)
		return err == nil && status == http.StatusAccepted, nil
	}); err != nil {
		t.Fatalf("the broker does not take an event with the feed paused: %v", err)
	}
	g.feed("UNPAUSE", "order-events", nil)
	knativeTriggerReady(t, ec, "order-events")
	sendEvent(t, "default", "o-4", "/shop", "dev.example.order", `{"item":"resumed"}`)
	list = g.waitActivations("orders", orders+1, time.Minute)
	time.Sleep(time.Second)
	list = g.activationsOf("orders")
	var items []string
	for _, a := range list {
		var full activation
		g.call(http.MethodGet, "/api/v1/namespaces/_/activations/"+a.ActivationID, nil, &full)
		items = append(items, string(full.Response.Result))
	}
	if len(list) != orders+1 || strings.Contains(strings.Join(items, ","), "paused") {
		t.Errorf("after pause and unpause: %d activations %v; want %d, none of the paused event", len(list), items, orders+1)
	}

	g.feed("DELETE", "order-events", nil)
	if _, err := ec.EventingV1().Triggers(actionsNamespace).Get(context.Background(), tn, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Eventing Trigger after DELETE: %v, want none", err)
	}
}

// TestEventingReplyAndSink: a trigger annotated cloudevents-reply sends
// its rule's result back into the broker, where a second trigger sees it;
// with --events-sink at the broker, every completed activation becomes an
// event a third trigger sees. The first rule's action starts from zero:
// the delivery waits out the cold start.
func TestEventingReplyAndSink(t *testing.T) {
	h := needEventing(t)
	ec, err := eventingclient.NewForConfig(h.admin)
	if err != nil {
		t.Fatal(err)
	}
	h.broker(t, ec, "replies")
	g := startGateway(t, h, t.TempDir(), "--events-sink", brokerURL("replies"))
	g.putAction("ask", "nodejs:20", `function main(p) { return {answer: 42, q: p.q} }`, nil)
	g.putAction("hear", "nodejs:20", recordJS, nil)
	g.putAction("audit", "nodejs:20", recordJS, nil)
	reply := []map[string]any{{"key": events.ReplyAnnotation, "value": true}}
	g.subscribed("questions", "ask", reply, map[string]any{"broker": "replies", "type": "dev.example.question"})
	g.subscribed("answers", "hear", nil, map[string]any{"broker": "replies", "type": events.ReplyType})
	g.subscribed("completions", "audit", nil, map[string]any{"broker": "replies", "type": events.CompletedType, "source": "/guest/ask"})
	for _, tr := range []string{"questions", "answers", "completions"} {
		knativeTriggerReady(t, ec, tr)
	}
	// ask's revision is scaled to zero before the event comes.
	rev := h.revisionReady(t, "ask", "", 2*time.Minute)
	if err := poll(context.Background(), 2*time.Minute, func() (bool, error) { return h.revisionPodsLeft(t, rev) == 0, nil }); err != nil {
		t.Fatalf("ask's revision %s did not scale to zero: %v", rev, err)
	}

	sendEvent(t, "replies", "q-1", "/quiz", "dev.example.question", `{"q":"life"}`)
	heard := g.waitActivations("hear", 1, 2*time.Minute)
	var rec activation
	g.call(http.MethodGet, "/api/v1/namespaces/_/activations/"+heard[0].ActivationID, nil, &rec)
	if !strings.Contains(string(rec.Response.Result), `"answer":42`) {
		t.Errorf("the second trigger's action saw %s; want the first rule's result", rec.Response.Result)
	}
	asked := g.activationsOf("ask")
	if len(asked) != 1 {
		t.Fatalf("ask ran %d times, want 1", len(asked))
	}
	var askRec activation
	g.call(http.MethodGet, "/api/v1/namespaces/_/activations/"+asked[0].ActivationID, nil, &askRec)
	if !hasAnnotation(askRec.Annotations, "initTime") {
		t.Errorf("ask's activation has no initTime: the event did not meet a cold start")
	}
	g.waitActivations("audit", 1, time.Minute)
}

func hasAnnotation(kv whisk.KeyValues, key string) bool {
	for _, a := range kv {
		if a.Key == key {
			return true
		}
	}
	return false
}

// TestEventingRedeliveryRunsOnce: a gateway that stops answering (SIGSTOP)
// makes the broker's first delivery time out, though the request has
// reached the gateway's socket; the broker delivers again. Once the
// gateway runs again it reads both: the rule's action runs once.
func TestEventingRedeliveryRunsOnce(t *testing.T) {
	h := needEventing(t)
	ec, err := eventingclient.NewForConfig(h.admin)
	if err != nil {
		t.Fatal(err)
	}
	h.broker(t, ec, "default")
	// A 2 s blocking wait: each delivery times out after 7 s.
	g := startGateway(t, h, t.TempDir(), "--blocking-wait", "2s")
	g.putAction("once", "nodejs:20", recordJS, nil)
	g.subscribed("once-events", "once", nil, map[string]any{"broker": "default", "type": "dev.example.once"})
	knativeTriggerReady(t, ec, "once-events")
	h.revisionReady(t, "once", "", 2*time.Minute)

	if err := g.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// The broker's ingress answers once the delivery is over: send it
	// aside.
	sent := make(chan struct{})
	go func() { _, _ = postEvent("default", "r-1", "/retry", "dev.example.once", `{"n":1}`); close(sent) }()
	defer func() { <-sent }()
	time.Sleep(9 * time.Second) // the first delivery's 7 s, and the retry sent
	if err := g.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	g.waitActivations("once", 1, time.Minute)
	time.Sleep(3 * time.Second)
	if list := g.activationsOf("once"); len(list) != 1 {
		t.Errorf("the action ran %d times for one event delivered twice; want 1", len(list))
	}
}
