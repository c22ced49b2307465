package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// MsgUnreachable starts the message of every error that means the
// Kubernetes API server could not be reached or did not answer in time.
const MsgUnreachable = "The Kubernetes API server is unavailable"

// Error translates an error of the Kubernetes API call described by op
// (e.g. "create service guest/hello-1a2b") into a whisk error whose
// message is fit for clients and whose cause keeps op and err: the API
// server unreachable, overloaded or timing out is KindUnavailable (503);
// a refused permission is KindInternal naming the RBAC gap; a conflict or
// existing object KindConflict; a missing one KindNotFound; a rejected
// object KindInvalid. Others stay internal. nil stays nil; a context
// error passes unchanged so callers can tell their own deadline.
func Error(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if !apierrors.IsTimeout(err) && !apierrors.IsServerTimeout(err) {
			return err
		}
	}
	kind, msg := classify(err)
	return &whisk.Error{Kind: kind, Message: msg, Err: fmt.Errorf("%s: %w", op, err)}
}

func classify(err error) (whisk.Kind, string) {
	switch {
	case Unreachable(err):
		return whisk.KindUnavailable, MsgUnreachable
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err):
		return whisk.KindInternal, "The gateway's Kubernetes service account lacks a permission"
	case apierrors.IsAlreadyExists(err), apierrors.IsConflict(err):
		return whisk.KindConflict, "The Kubernetes object changed concurrently"
	case apierrors.IsNotFound(err):
		return whisk.KindNotFound, "The Kubernetes object does not exist"
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return whisk.KindInvalid, "Kubernetes rejected the object"
	}
	return whisk.KindInternal, "The Kubernetes API call failed"
}

// Unreachable reports whether err means the API server could not be
// reached or did not answer: a network error, a timeout, 429 or 503.
func Unreachable(err error) bool {
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case apierrors.IsServiceUnavailable(err), apierrors.IsTimeout(err), apierrors.IsServerTimeout(err),
		apierrors.IsTooManyRequests(err):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.As(err, &opErr), errors.As(err, &netErr):
		return true
	}
	return false
}
