package gateway

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kwhisk/kwhisk/pkg/config"
)

func TestAdminNamespaceLimits(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	admin := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := Admin(ctx, append(args, "--data-dir", dir), func(string) string { return "" }, &out)
		return out.String(), err
	}
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"namespace", "limits", "guest"}, "guest\t{}\n"},
		{[]string{"namespace", "limits", "guest", "--invocations-per-minute", "1000", "--fires-per-minute=5"}, "guest\t{\"invocationsPerMinute\":1000,\"firesPerMinute\":5}\n"},
		{[]string{"namespace", "limits", "guest", "--concurrent-invocations", "2"}, "guest\t{\"invocationsPerMinute\":1000,\"concurrentInvocations\":2,\"firesPerMinute\":5}\n"},
		{[]string{"namespace", "limits", "guest", "--reset", "--fires-per-minute", "7"}, "guest\t{\"firesPerMinute\":7}\n"},
	}
	for _, s := range steps {
		got, err := admin(s.args...)
		if err != nil {
			t.Fatalf("admin %v: %v", s.args, err)
		}
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("admin %v (-want +got):\n%s", s.args, diff)
		}
	}
	st, err := openStore(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ns, err := st.GetNamespace(ctx, "guest")
	if err != nil {
		t.Fatal(err)
	}
	if ns.Throttles.FiresPerMinute == nil || *ns.Throttles.FiresPerMinute != 7 || ns.Throttles.InvocationsPerMinute != nil {
		t.Errorf("stored limits %+v, want only firesPerMinute 7", ns.Throttles)
	}
	if _, err := admin("namespace", "limits", "nobody", "--fires-per-minute", "1"); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("limits of a missing namespace: %v", err)
	}
	if _, err := admin("namespace", "limits", "guest", "--fires-per-minute", "-1"); !config.IsUsage(err) {
		t.Errorf("negative limit: %v, want a usage error", err)
	}
}
