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
	st, err := openStore(ctx, config.Config{DataDir: dir}, "", nil)
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

// `kwhisk admin --help` (or -h, anywhere among its arguments) is the admin
// usage, which main prints and exits 0 as for serve's --help; never
// serve's flags.
func TestAdminHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-help"}, {"namespace", "list", "-h"}, {"namespace", "limits", "guest", "--help"}} {
		var out bytes.Buffer
		err := Admin(context.Background(), args, func(string) string { return "" }, &out)
		help, ok := err.(*config.HelpRequested)
		if !ok {
			t.Errorf("admin %v: err = %v, want the admin usage", args, err)
			continue
		}
		if !strings.HasPrefix(help.Usage, "usage: kwhisk admin ") || strings.Contains(help.Usage, "kwhisk serve") ||
			!strings.Contains(help.Usage, "-data-dir") || !strings.Contains(help.Usage, "-fires-per-minute") {
			t.Errorf("admin %v usage = %q", args, help.Usage)
		}
		if out.Len() != 0 {
			t.Errorf("admin %v wrote %q", args, out.String())
		}
	}
}
