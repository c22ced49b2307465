package podrunner

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kwhisk/kwhisk/test/kube/apiserver"
	"github.com/kwhisk/kwhisk/test/kube/lab"
)

// The tests run the test binary inside a lab (lab.Enter) with an API
// server there and a Runner; the "images" are this test binary again,
// in a role named by roleEnv (see containerMain).
const (
	roleEnv   = "KWHISK_PODRUNNER_ROLE"
	nodeName  = "kwhisk-test-node"
	trustedNS = "trusted"
)

// cluster is what the integration tests share; nil when they skip.
var cluster *testCluster

var skipReason string

type testCluster struct {
	client  kubernetes.Interface
	runner  *Runner
	lab     *lab.Lab
	server  *apiserver.Server
	logs    string
	started time.Time
}

// images maps the tests' image names to this binary in a role.
func images(exe string) map[string]Image {
	return map[string]Image{
		"test/server": {Binary: exe, Args: []string{"image-default-arg"}, Env: []string{roleEnv + "=server", "FROM_IMAGE=image", "OVERRIDDEN=image"}},
		"test/crash":  {Binary: exe, Env: []string{roleEnv + "=crash"}},
		"test/slow":   {Binary: exe, Env: []string{roleEnv + "=server"}, StartDelay: 2 * time.Second},
	}
}

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		containerMain(role)
		return
	}
	bin := os.Getenv("KWHISK_KUBE_BIN")
	switch err := lab.Available(); {
	case bin == "":
		skipReason = "no API server: set KWHISK_KUBE_BIN to the directory third_party/build.sh prints"
	case err != nil:
		skipReason = err.Error()
	}
	if skipReason != "" {
		os.Exit(m.Run())
	}
	if !lab.Inside() {
		code, err := lab.Enter()
		if err != nil {
			fmt.Fprintln(os.Stderr, "podrunner test:", err)
			os.Exit(1)
		}
		os.Exit(code)
	}
	os.Exit(runInside(m, bin))
}

func runInside(m *testing.M, bin string) int {
	start := time.Now()
	dir, err := os.MkdirTemp("", "kwhisk-podrunner-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := lab.Current()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer l.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := apiserver.Start(ctx, apiserver.Options{Bin: bin, Dir: dir, Address: "0.0.0.0", Advertise: l.IP().String()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	stopped := false
	defer func() {
		if !stopped {
			srv.Stop()
		}
	}()
	admin := srv.Config(apiserver.AdminToken)
	client, err := kubernetes.NewForConfig(admin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	logs := dir + "/logs"
	r := New(Config{
		Rest: admin, NodeName: nodeName, Lab: l,
		Images:    images(exe),
		Trusted:   []string{trustedNS},
		APIServer: fmt.Sprintf("https://%s:%d", l.IP(), srv.Port()),
		LogsDir:   logs,
	})
	runDone := make(chan error, 1)
	go func() { runDone <- r.Run(ctx) }()
	cluster = &testCluster{client: client, runner: r, lab: l, server: srv, logs: logs, started: time.Now()}
	fmt.Fprintf(os.Stderr, "podrunner test: API server and runner in lab %s in %s\n", l.Name(), time.Since(start).Round(time.Millisecond))

	code := m.Run()
	cancel()
	if err := <-runDone; err != nil {
		fmt.Fprintln(os.Stderr, "runner:", err)
		code = 1
	}
	srv.Stop()
	stopped = true
	if code != 0 || os.Getenv("KWHISK_KUBE_KEEP") != "" {
		fmt.Fprintf(os.Stderr, "podrunner test: state and logs kept in %s\n", dir)
	} else {
		os.RemoveAll(dir)
	}
	return code
}

func need(t *testing.T) *testCluster {
	t.Helper()
	if cluster == nil {
		t.Skip(skipReason)
	}
	return cluster
}

// containerMain is this binary as a container's process.
//
//	server: HTTP on $PORT (8080): /healthz 503 until $READY_AFTER, then 200,
//	        remembering the probe's headers (/probes); /live 200 for $LIVE_FOR;
//	        /env its argv, env and working directory; /hello; /peer?port=N
//	        GETs /hello from 127.0.0.1:N; /kube reads its own pod through
//	        $KUBECONFIG. Writes ./ready after $READY_AFTER. SIGTERM: prints
//	        "got SIGTERM" and exits 0, or "ignoring SIGTERM" with $IGNORE_TERM.
//	crash:  prints "crashing" and exits $EXIT_CODE after $CRASH_AFTER.
func containerMain(role string) {
	fmt.Printf("%s started: %q\n", role, os.Args)
	switch role {
	case "crash":
		d, _ := time.ParseDuration(os.Getenv("CRASH_AFTER"))
		time.Sleep(d)
		fmt.Println("crashing")
		var code int
		fmt.Sscan(os.Getenv("EXIT_CODE"), &code)
		os.Exit(code)
	case "server":
		serve()
	default:
		fmt.Println("unknown role", role)
		os.Exit(2)
	}
}

func serve() {
	start := time.Now()
	readyAfter, _ := time.ParseDuration(os.Getenv("READY_AFTER"))
	liveFor, _ := time.ParseDuration(os.Getenv("LIVE_FOR"))
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		for range sigs {
			if os.Getenv("IGNORE_TERM") != "" {
				fmt.Println("ignoring SIGTERM")
				continue
			}
			fmt.Println("got SIGTERM")
			os.Exit(0)
		}
	}()
	go func() {
		time.Sleep(readyAfter)
		_ = os.WriteFile("ready", nil, 0o644)
	}()
	var mu sync.Mutex
	var probe http.Header
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		probe = r.Header.Clone()
		mu.Unlock()
		if time.Since(start) < readyAfter {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
		}
	})
	mux.HandleFunc("/probes", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		_ = json.NewEncoder(w).Encode(probe)
	})
	mux.HandleFunc("/live", func(w http.ResponseWriter, r *http.Request) {
		if liveFor > 0 && time.Since(start) > liveFor {
			http.Error(w, "dead", http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		cwd, _ := os.Getwd()
		_ = json.NewEncoder(w).Encode(map[string]any{"args": os.Args, "env": os.Environ(), "cwd": cwd})
	})
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s:%s", os.Getenv("HOSTNAME"), os.Getenv("PORT"))
	})
	mux.HandleFunc("/peer", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get("http://127.0.0.1:" + r.URL.Query().Get("port") + "/hello")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		_, _ = io.Copy(w, resp.Body)
	})
	mux.HandleFunc("/kube", func(w http.ResponseWriter, r *http.Request) {
		cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		c, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		pod, err := c.CoreV1().Pods(os.Getenv("POD_NAMESPACE")).Get(r.Context(), os.Getenv("HOSTNAME"), metav1.GetOptions{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, "%s %s", cfg.Host, pod.Status.PodIP)
	})
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	err := http.ListenAndServe(":"+port, mux)
	fmt.Println(err)
	os.Exit(1)
}

// describe is a pod's status in one line, for failure messages.
func describe(p *v1.Pod) string {
	if p == nil {
		return "gone"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s ip=%s", p.Status.Phase, p.Status.PodIP)
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, " %s=%s", c.Type, c.Status)
	}
	for _, s := range p.Status.ContainerStatuses {
		fmt.Fprintf(&b, " [%s ready=%v restarts=%d", s.Name, s.Ready, s.RestartCount)
		switch {
		case s.State.Waiting != nil:
			fmt.Fprintf(&b, " waiting %s %s", s.State.Waiting.Reason, s.State.Waiting.Message)
		case s.State.Running != nil:
			b.WriteString(" running")
		case s.State.Terminated != nil:
			fmt.Fprintf(&b, " terminated %d %s", s.State.Terminated.ExitCode, s.State.Terminated.Reason)
		}
		b.WriteString("]")
	}
	return b.String()
}
