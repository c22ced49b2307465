package knative

import (
	"context"
	"fmt"

	"knative.dev/pkg/apis"
	"knative.dev/serving/pkg/apis/config"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	autoscalerconfig "knative.dev/serving/pkg/autoscaler/config"
)

// validationConfig is Knative's default configuration, except that a zero
// initial scale is allowed (the install recommends
// allow-zero-initial-scale; the cluster's webhook has the last word).
func validationConfig() *config.Config {
	as, err := autoscalerconfig.NewConfigFromMap(map[string]string{"allow-zero-initial-scale": "true"})
	if err != nil {
		panic(err) // a constant map
	}
	d, err := config.NewDefaultsConfigFromMap(nil)
	if err != nil {
		panic(err)
	}
	f, err := config.NewFeaturesConfigFromMap(nil)
	if err != nil {
		panic(err)
	}
	return &config.Config{Defaults: d, Features: f, Autoscaler: as}
}

// Check runs Knative's own defaulting and validation on a copy of svc, as
// the serving webhook would on create (old == nil) or on update of old, so
// a bad setting (an action's autoscaling annotation, say) is reported
// before the object is sent. Warnings are not errors.
func Check(ctx context.Context, svc, old *servingv1.Service) error {
	ctx = config.ToContext(ctx, validationConfig())
	c := svc.DeepCopy()
	if old == nil {
		ctx = apis.WithinCreate(ctx)
	} else {
		base := old.DeepCopy()
		base.SetDefaults(apis.WithinUpdate(ctx, base))
		ctx = apis.WithinUpdate(ctx, base)
	}
	c.SetDefaults(ctx)
	if errs := c.Validate(ctx).Filter(apis.ErrorLevel); errs != nil {
		return fmt.Errorf("invalid Knative Service %s: %w", svc.Name, errs)
	}
	return nil
}
