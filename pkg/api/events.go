package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kwhisk/kwhisk/pkg/events"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// EventIngress turns CloudEvents into trigger fires.
type EventIngress interface {
	Receive(ctx context.Context, r *http.Request, namespace, trigger, tid string) (*events.Delivery, error)
}

// receiveEvent accepts a CloudEvent for a trigger: 202 with the trigger
// activation id once it is durable (or for a duplicate already accepted),
// 204 when no rule is active, 200 with a reply event when the trigger
// asks for one. Authentication is the trigger's token or its namespace's
// Basic credentials, checked by the ingress. Knative Eventing's senders
// (which send "Prefer: reply") take any body as a reply event and refuse
// one that is not: they get the 202s without a body, the activation id in
// the X-OpenWhisk-Activation-Id header alone.
func (s *Server) receiveEvent(c echo.Context) error {
	if s.Events == nil {
		return whisk.NotFound()
	}
	d, err := s.Events.Receive(c.Request().Context(), c.Request(), param(c, "namespace"), param(c, "trigger"), transactionID(c))
	if err != nil {
		return err
	}
	if d.ActivationID != "" {
		c.Response().Header().Set(headerActivationID, string(d.ActivationID))
	}
	knative := c.Request().Header.Get("Prefer") == "reply"
	switch {
	case d.Reply != nil:
		return events.WriteReply(c.Request().Context(), c.Response(), d.Reply)
	case knative && d.ActivationID == "" && !d.Duplicate:
		return c.NoContent(http.StatusNoContent)
	case knative:
		return c.NoContent(http.StatusAccepted)
	case d.Duplicate:
		return c.JSON(http.StatusAccepted, map[string]bool{"duplicate": true})
	case d.ActivationID == "":
		return c.NoContent(http.StatusNoContent)
	}
	return c.JSON(http.StatusAccepted, map[string]whisk.ActivationID{"activationId": d.ActivationID})
}
