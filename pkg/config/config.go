// Package config builds the gateway's one typed Config from command-line
// flags and KWHISK_<NAME> environment variables, validates it once, and
// hands it down. Nothing else in kwhisk reads the environment.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is everything `kwhisk serve` is told.
type Config struct {
	Listen   string // host:port of the API
	DataDir  string // database and runtime work dirs
	Platform string // "local"
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
}

// Default returns the configuration with every default filled in.
func Default() Config {
	home, _ := os.UserHomeDir() // "" falls back to the working directory below
	return Config{
		Listen:       "127.0.0.1:3233",
		DataDir:      filepath.Join(home, ".kwhisk"),
		Platform:     "local",
		BlockingWait: 60 * time.Second,
		DrainTimeout: 30 * time.Second,
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
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the database and runtime work dirs")
	fs.StringVar(&c.Platform, "platform", c.Platform, "data plane: local")
	fs.StringVar(&c.APIHost, "api-host", c.APIHost, "API host actions see as __OW_API_HOST (default http://<listen>)")
	fs.DurationVar(&c.BlockingWait, "blocking-wait", c.BlockingWait, "how long a blocking invoke waits before answering 202")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", c.DrainTimeout, "how long shutdown waits for in-flight activations")
	fs.StringVar(&c.EventsSink, "events-sink", getenv("K_SINK"), "URL that receives a CloudEvent per completed activation")

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
	if c.DataDir == "" {
		return &UsageError{"invalid value for flag --data-dir: must not be empty"}
	}
	switch c.Platform {
	case "local":
	default:
		return &UsageError{fmt.Sprintf("invalid value %q for flag --platform: want local", c.Platform)}
	}
	if c.BlockingWait <= 0 {
		return &UsageError{fmt.Sprintf("invalid value %s for flag --blocking-wait: must be positive", c.BlockingWait)}
	}
	if c.DrainTimeout < 0 {
		return &UsageError{fmt.Sprintf("invalid value %s for flag --drain-timeout: must not be negative", c.DrainTimeout)}
	}
	if c.EventsSink != "" {
		if u, err := url.Parse(c.EventsSink); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &UsageError{fmt.Sprintf("invalid value %q for flag --events-sink: want an http(s) URL", c.EventsSink)}
		}
	}
	if c.APIHost == "" {
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		c.APIHost = "http://" + net.JoinHostPort(host, port)
	}
	return nil
}

// IsUsage reports whether err is a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
