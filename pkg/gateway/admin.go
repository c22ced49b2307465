package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/kwhisk/kwhisk/pkg/auth"
	"github.com/kwhisk/kwhisk/pkg/config"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// AdminUsage describes the admin commands.
const AdminUsage = `usage: kwhisk admin namespace create NAME | list | delete NAME | ` +
	`limits NAME [--invocations-per-minute N] [--concurrent-invocations N] [--fires-per-minute N] [--reset]  [--data-dir DIR] [--store-url URL]`

// adminHelp is what `kwhisk admin --help` prints: the commands and the
// flags admin reads.
const adminHelp = AdminUsage + `
  --data-dir DIR                 the gateway's data directory (KWHISK_DATA_DIR; default ~/.kwhisk)
  --store-url URL                the gateway's PostgreSQL store, if it has one (KWHISK_STORE_URL)
  namespace create NAME          make a namespace and print its new uuid:key
  namespace list                 print each namespace and its uuid
  namespace delete NAME          delete a namespace and its key
  namespace limits NAME          print the namespace's own limits; with flags, set them first:
    --invocations-per-minute N   action invokes per calendar minute
    --concurrent-invocations N   action invokes in flight
    --fires-per-minute N         trigger fires per calendar minute
    --reset                      clear the namespace's own limits (the gateway's apply)
`

// Admin runs `kwhisk admin ...` against the gateway's store: the one
// --store-url names, else SQLite in the data dir.
func Admin(ctx context.Context, args []string, getenv func(string) string, out io.Writer) (err error) {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return &config.HelpRequested{Usage: adminHelp}
		}
	}
	var pos []string
	var flags []string
	reset := false
	for i := 0; i < len(args); i++ {
		if args[i] == "--reset" || args[i] == "-reset" {
			reset = true
			continue
		}
		if len(args[i]) > 1 && args[i][0] == '-' {
			flags = append(flags, args[i])
			if i+1 < len(args) && !hasValue(args[i]) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, args[i])
	}
	cfg, err := config.Parse(flags, getenv)
	if err != nil {
		return err
	}
	if len(pos) < 2 || pos[0] != "namespace" {
		return &config.UsageError{Msg: AdminUsage}
	}
	st, err := openStore(ctx, cfg, "", nil)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	switch {
	case pos[1] == "create" && len(pos) == 3:
		if err := auth.Bootstrap(ctx, st); err != nil {
			return err
		}
		key, err := auth.Create(ctx, st, pos[2])
		if err != nil {
			return err
		}
		fmt.Fprintln(out, key)
	case pos[1] == "list" && len(pos) == 2:
		if err := auth.Bootstrap(ctx, st); err != nil {
			return err
		}
		list, err := st.ListNamespaces(ctx)
		if err != nil {
			return err
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
		for _, ns := range list {
			fmt.Fprintf(out, "%s\t%s\n", ns.Name, ns.UUID)
		}
	case pos[1] == "limits" && len(pos) == 3:
		if err := auth.Bootstrap(ctx, st); err != nil {
			return err
		}
		return setLimits(ctx, st, pos[2], cfg.Throttles, reset, out)
	case pos[1] == "delete" && len(pos) == 3:
		if err := st.DeleteNamespace(ctx, pos[2]); err != nil {
			return fmt.Errorf("delete namespace %s: %w", pos[2], err)
		}
		fmt.Fprintf(out, "deleted namespace %s\n", pos[2])
	default:
		return &config.UsageError{Msg: AdminUsage}
	}
	return nil
}

// setLimits sets the limits given (all of them cleared first with reset)
// on the namespace name and prints the limits it then has of its own, as
// JSON; limits it does not set are the gateway's (`kwhisk serve` flags).
// A running gateway applies the change within its credential cache time
// (5 s), or within a second on PostgreSQL, whose change feed drops the
// cached credentials.
func setLimits(ctx context.Context, st auth.Namespaces, name string, set whisk.Throttles, reset bool, out io.Writer) error {
	ns, err := st.GetNamespace(ctx, name)
	if err != nil {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	changed := reset
	if reset {
		ns.Throttles = whisk.Throttles{}
	}
	for _, f := range []struct{ from, to **int }{
		{&set.InvocationsPerMinute, &ns.Throttles.InvocationsPerMinute},
		{&set.ConcurrentInvocations, &ns.Throttles.ConcurrentInvocations},
		{&set.FiresPerMinute, &ns.Throttles.FiresPerMinute},
	} {
		if *f.from != nil {
			*f.to, changed = *f.from, true
		}
	}
	if changed {
		if err := st.PutNamespace(ctx, ns); err != nil {
			return fmt.Errorf("set limits of %s: %w", name, err)
		}
	}
	b, err := json.Marshal(ns.Throttles)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\t%s\n", name, b)
	return nil
}

func hasValue(flag string) bool {
	for _, c := range flag {
		if c == '=' {
			return true
		}
	}
	return false
}
