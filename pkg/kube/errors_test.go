package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func TestError(t *testing.T) {
	gr := schema.GroupResource{Group: "serving.knative.dev", Resource: "services"}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("connect: %w", syscall.ECONNREFUSED)}
	tests := []struct {
		name string
		err  error
		kind whisk.Kind
	}{
		{"connection refused", fmt.Errorf("Get \"https://api\": %w", refused), whisk.KindUnavailable},
		{"503", apierrors.NewServiceUnavailable("etcd down"), whisk.KindUnavailable},
		{"server timeout", apierrors.NewServerTimeout(gr, "create", 1), whisk.KindUnavailable},
		{"throttled", apierrors.NewTooManyRequests("slow down", 1), whisk.KindUnavailable},
		{"forbidden", apierrors.NewForbidden(gr, "x", errors.New("RBAC")), whisk.KindInternal},
		{"exists", apierrors.NewAlreadyExists(gr, "x"), whisk.KindConflict},
		{"conflict", apierrors.NewConflict(gr, "x", errors.New("stale")), whisk.KindConflict},
		{"not found", apierrors.NewNotFound(gr, "x"), whisk.KindNotFound},
		{"invalid", apierrors.NewBadRequest("no"), whisk.KindInvalid},
		{"other", errors.New("boom"), whisk.KindInternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Error("create service ns/x", tc.err)
			if got := whisk.KindOf(err); got != tc.kind {
				t.Errorf("kind %v, want %v (%v)", got, tc.kind, err)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("%v does not wrap %v", err, tc.err)
			}
		})
	}
	if err := Error("x", nil); err != nil {
		t.Errorf("Error(nil) = %v", err)
	}
	if err := Error("x", context.Canceled); err != context.Canceled {
		t.Errorf("Error(context.Canceled) = %v, want it unchanged", err)
	}
}
