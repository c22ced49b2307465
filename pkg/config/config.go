// Package config builds the gateway's one typed Config from command-line
// flags and KWHISK_<NAME> environment variables, validates it once, and
// hands it down. Nothing else in kwhisk reads the environment.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kwhisk/kwhisk/pkg/logging"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

// Config is everything `kwhisk serve` is told.
type Config struct {
	Listen string // host:port of the API
	// MetricsAddr, if set, is the host:port of a listener that serves
	// only GET /metrics, without credentials; the API then no longer
	// serves it. Unset, the API serves /metrics.
	MetricsAddr string
	DataDir     string // database and runtime work dirs
	// StoreURL selects the store: "" is SQLite in DataDir, a postgres://
	// (or postgresql://) URL a PostgreSQL database that several gateway
	// replicas may share.
	StoreURL string
	// ActivationRetention is how long activation records are kept after
	// their start (default 7 days, as OpenWhisk deployments expire them);
	// 0 keeps every record.
	ActivationRetention time.Duration
	Platform            string // "local" or "knative"
	// APIHost is what actions see as __OW_API_HOST; defaults to
	// http://<listen>.
	APIHost string
	// BlockingWait bounds how long a blocking invoke waits before it
	// answers 202 with the activation id.
	BlockingWait time.Duration
	// DrainTimeout bounds how long shutdown waits for in-flight work.
	DrainTimeout time.Duration
	// EventsSink, if set, receives a CloudEvent per completed activation;
	// defaults to K_SINK (set when the gateway is a SinkBinding subject).
	EventsSink string
	// LogLevel is the least level of the gateway's log events (info).
	LogLevel slog.Level
	// OTLPEndpoint, if set, is the OTLP/HTTP collector the gateway's
	// trace spans go to (http://host:4318; /v1/traces is added to a URL
	// without a path); "" leaves tracing off.
	OTLPEndpoint string
	// DebugAddr, if set, is a loopback host:port serving net/http/pprof
	// (profiles of a running gateway); never a public address, since
	// profiles expose the process's internals to whoever connects.
	DebugAddr string

	// Throttles are the per-namespace limits of namespaces that set none
	// (serve), or the limits to set (admin namespace limits). A nil field
	// was not given: serve then applies OpenWhisk's (60 invokes and 60
	// fires a minute, 30 invokes in flight).
	Throttles whisk.Throttles

	// Local mode's supervisor. IdleTimeout stops instances unused that
	// long (default 10 minutes, as OpenWhisk); MaxInstances caps the
	// instances on the host and MaxActionInstances those of one action
	// version (0: the platform's defaults, 64 and 16); StemCells is the
	// number of prewarmed launchers kept per popular kind (default 1).
	IdleTimeout  time.Duration
	MaxInstances int
	// MaxActionConcurrency is the most activations one instance of an
	// action may run at once, the bound of its limits.concurrency
	// (default whisk.DefaultMaxConcurrency, 500; OpenWhisk ships 1).
	MaxActionConcurrency int
	MaxActionInstances   int
	StemCells            int

	// Knative mode (--platform knative). Kubeconfig is the client
	// configuration ("" means in-cluster). Action Services go into
	// KubeNamespace, or with NamespacePerOWNamespace into one namespace
	// per OpenWhisk namespace named KubeNamespace-<ns>. RuntimesDir holds
	// one file per kind, named <family>-<version> (nodejs-20), containing
	// its runtime image (the ko-resolved runtime ConfigMap, mounted), and
	// "blackbox" for the proxy image of --docker actions. Annotations are
	// default revision annotations (autoscaling.knative.dev/...).
	Kubeconfig              string
	KubeNamespace           string
	NamespacePerOWNamespace bool
	RuntimesDir             string
	Annotations             map[string]string
}

// Default returns the configuration with every default filled in.
func Default() Config {
	home, _ := os.UserHomeDir() // "" falls back to the working directory below
	return Config{
		Listen:              "127.0.0.1:3233",
		DataDir:             filepath.Join(home, ".kwhisk"),
		Platform:            "local",
		BlockingWait:        60 * time.Second,
		DrainTimeout:        30 * time.Second,
		ActivationRetention: 7 * 24 * time.Hour,
		IdleTimeout:         10 * time.Minute,
		StemCells:           1,

		MaxActionConcurrency: whisk.DefaultMaxConcurrency,

		KubeNamespace: "kwhisk-actions",
	}
}

// UsageError is a flag problem; main prints it on one line and exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Parse reads flags from args (after the subcommand) and env from getenv.
// Env values apply first; flags given on the command line win.
func Parse(args []string, getenv func(string) string) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(discard{})
	fs.StringVar(&c.Listen, "listen", c.Listen, "host:port the API listens on")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "host:port of a listener serving only GET /metrics (default: /metrics on the API's port)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the database and runtime work dirs")
	fs.StringVar(&c.StoreURL, "store-url", c.StoreURL, "store: empty for SQLite in --data-dir, or a postgres:// URL")
	fs.DurationVar(&c.ActivationRetention, "activation-retention", c.ActivationRetention, "how long activation records are kept (168h: 7 days; 0 keeps all)")
	fs.StringVar(&c.Platform, "platform", c.Platform, "data plane: local")
	fs.StringVar(&c.APIHost, "api-host", c.APIHost, "API host actions see as __OW_API_HOST (default http://<listen>)")
	fs.DurationVar(&c.BlockingWait, "blocking-wait", c.BlockingWait, "how long a blocking invoke waits before answering 202")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "how long shutdown waits for in-flight activations")
	fs.StringVar(&c.EventsSink, "events-sink", getenv("K_SINK"), "URL that receives a CloudEvent per completed activation")
	fs.Var(logLevel{&c.LogLevel}, "log-level", "least level of the gateway's log events: "+logging.Levels)
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", c.OTLPEndpoint, "OTLP/HTTP collector URL that receives trace spans (default: no tracing)")
	fs.StringVar(&c.DebugAddr, "debug-addr", c.DebugAddr, "loopback host:port serving net/http/pprof (off when empty)")
	fs.Var(optInt{&c.Throttles.InvocationsPerMinute}, "invocations-per-minute", "action invokes a namespace may make per calendar minute (default 60)")
	fs.Var(optInt{&c.Throttles.ConcurrentInvocations}, "concurrent-invocations", "action invokes a namespace may have in flight (default 30)")
	fs.Var(optInt{&c.Throttles.FiresPerMinute}, "fires-per-minute", "trigger fires a namespace may make per calendar minute (default 60)")
	fs.DurationVar(&c.IdleTimeout, "idle-timeout", c.IdleTimeout, "local mode: stop action instances unused for this long")
	fs.IntVar(&c.MaxInstances, "max-instances", c.MaxInstances, "local mode: most action instances on this host (0: 64)")
	fs.IntVar(&c.MaxActionInstances, "max-action-instances", c.MaxActionInstances, "local mode: most instances of one action version (0: 16)")
	fs.IntVar(&c.MaxActionConcurrency, "max-action-concurrency", c.MaxActionConcurrency, "most activations an action's limits.concurrency may allow in one instance")
	fs.IntVar(&c.StemCells, "stem-cells", c.StemCells, "local mode: prewarmed launchers kept per popular kind")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", c.Kubeconfig, "knative mode: kubeconfig file (default: in-cluster)")
	fs.StringVar(&c.KubeNamespace, "kube-namespace", c.KubeNamespace, "knative mode: Kubernetes namespace of action Services (the prefix with --namespace-per-ow-namespace)")
	fs.BoolVar(&c.NamespacePerOWNamespace, "namespace-per-ow-namespace", c.NamespacePerOWNamespace, "knative mode: one Kubernetes namespace per OpenWhisk namespace")
	fs.StringVar(&c.RuntimesDir, "runtimes-dir", c.RuntimesDir, "knative mode: directory of runtime images, one file per kind")
	fs.Var(annotations{&c.Annotations}, "annotations", "knative mode: default revision annotations, key=value,...")

	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		name := "KWHISK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := getenv(name); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = &UsageError{fmt.Sprintf("invalid value %q for %s (flag --%s): %v", v, name, f.Name, err)}
			}
		}
	})
	if envErr != nil {
		return c, envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			var b strings.Builder
			b.WriteString("usage: kwhisk serve [flags]; each flag is also read from KWHISK_<FLAG NAME>\n")
			fs.SetOutput(&b)
			fs.PrintDefaults()
			return c, &HelpRequested{Usage: b.String()}
		}
		return c, &UsageError{firstLine(err.Error())}
	}
	if fs.NArg() > 0 {
		return c, &UsageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return c, c.Validate()
}

// Validate checks every field and names the offending flag.
func (c *Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil || port == "" {
		return &UsageError{fmt.Sprintf("invalid value %q for flag --listen: want host:port", c.Listen)}
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil || port == "" {
			return &UsageError{fmt.Sprintf("invalid value %q for flag --metrics-addr: want host:port", c.MetricsAddr)}
		}
	}
	if c.DataDir == "" {
		return &UsageError{"invalid value for flag --data-dir: must not be empty"}
	}
	if err := validStoreURL(c.StoreURL); err != nil {
		return err
	}
	switch c.Platform {
	case "local":
	case "knative":
		if c.RuntimesDir == "" {
			return &UsageError{"invalid value for flag --runtimes-dir: required with --platform knative"}
		}
		if !dnsLabel.MatchString(c.KubeNamespace) || len(c.KubeNamespace) > 40 {
			return &UsageError{fmt.Sprintf("invalid value %q for flag --kube-namespace: want a DNS label of at most 40 characters", c.KubeNamespace)}
		}
	default:
		return &UsageError{fmt.Sprintf("invalid value %q for flag --platform: want local or knative", c.Platform)}
	}
	if c.MaxActionConcurrency < 1 {
		return &UsageError{fmt.Sprintf("invalid value %d for flag --max-action-concurrency: must be at least 1", c.MaxActionConcurrency)}
	}
	if c.BlockingWait <= 0 {
		return &UsageError{fmt.Sprintf("invalid value %s for flag --blocking-wait: must be positive", c.BlockingWait)}
	}
	if c.ActivationRetention < 0 {
		return &UsageError{fmt.Sprintf("invalid value %s for flag --activation-retention: must not be negative (0 keeps every activation)", c.ActivationRetention)}
	}
	if c.DrainTimeout < 0 {
		return &UsageError{fmt.Sprintf("invalid value %s for flag --drain-timeout: must not be negative", c.DrainTimeout)}
	}
	if c.EventsSink != "" {
		if u, err := url.Parse(c.EventsSink); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &UsageError{fmt.Sprintf("invalid value %q for flag --events-sink: want an http(s) URL", c.EventsSink)}
		}
	}
	if c.OTLPEndpoint != "" {
		if u, err := url.Parse(c.OTLPEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &UsageError{fmt.Sprintf("invalid value %q for flag --otlp-endpoint: want an http(s) URL", c.OTLPEndpoint)}
		}
	}
	if c.DebugAddr != "" && !loopback(c.DebugAddr) {
		return &UsageError{fmt.Sprintf("invalid value %q for flag --debug-addr: want a loopback host:port (127.0.0.1, ::1 or localhost); profiles are never served on other addresses", c.DebugAddr)}
	}
	for _, t := range []struct {
		flag string
		v    *int
	}{
		{"invocations-per-minute", c.Throttles.InvocationsPerMinute},
		{"concurrent-invocations", c.Throttles.ConcurrentInvocations},
		{"fires-per-minute", c.Throttles.FiresPerMinute},
		{"max-instances", &c.MaxInstances},
		{"max-action-instances", &c.MaxActionInstances},
		{"stem-cells", &c.StemCells},
	} {
		if t.v != nil && *t.v < 0 {
			return &UsageError{fmt.Sprintf("invalid value %d for flag --%s: must not be negative", *t.v, t.flag)}
		}
	}
	if c.IdleTimeout <= 0 {
		return &UsageError{fmt.Sprintf("invalid value %s for flag --idle-timeout: must be positive", c.IdleTimeout)}
	}
	if c.APIHost == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		c.APIHost = "http://" + net.JoinHostPort(host, port)
	}
	return nil
}

// validStoreURL accepts "" or a postgres:// URL with a host. The message
// never echoes the URL: it may hold a password.
func validStoreURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return &UsageError{"invalid value for flag --store-url: want empty (SQLite in --data-dir) or a postgres://user:password@host:port/database URL"}
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return &UsageError{"invalid value for flag --store-url: the postgres:// URL names no host"}
	}
	return nil
}

// loopback reports whether addr is host:port with a loopback host.
func loopback(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// HelpRequested is returned for -h/--help; main prints Usage and exits 0.
type HelpRequested struct{ Usage string }

func (h *HelpRequested) Error() string { return h.Usage }

// IsUsage reports whether err is a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// optInt is an int flag that stays nil unless given.
type optInt struct{ p **int }

func (o optInt) String() string {
	if o.p == nil || *o.p == nil {
		return ""
	}
	return strconv.Itoa(**o.p)
}

func (o optInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not an integer")
	}
	*o.p = &n
	return nil
}

// logLevel is a slog level flag, by name.
type logLevel struct{ l *slog.Level }

func (f logLevel) String() string {
	if f.l == nil {
		return ""
	}
	return strings.ToLower(f.l.String())
}

func (f logLevel) Set(s string) error {
	l, err := logging.ParseLevel(s)
	if err != nil {
		return err
	}
	*f.l = l
	return nil
}

// dnsLabel is a Kubernetes namespace name (DNS-1123 label).
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// annotations is a key=value,... flag.
type annotations struct{ m *map[string]string }

func (a annotations) String() string {
	if a.m == nil || len(*a.m) == 0 {
		return ""
	}
	var kv []string
	for k, v := range *a.m {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func (a annotations) Set(s string) error {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("%q is not key=value", kv)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	*a.m = m
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
