package kubetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kwhisk/kwhisk/test/kube/apiserver"
)

// Tokens of the test API server's static token file: the harness is in
// system:masters; the gateway authenticates as its service account from
// config/, so RBAC decides what it may do.
const (
	adminToken   = apiserver.AdminToken
	gatewayToken = "kwhisk-test-gateway-token"
	// gatewayUser is the service account of config/200-serviceaccount.yaml.
	gatewayUser = "system:serviceaccount:kwhisk:kwhisk-gateway"
	// eventingControllerToken is Knative Eventing's controller's account
	// (knative-eventing/eventing-controller), which the in-memory channel's
	// webhook requires of whoever changes a channel's subscribers. Like
	// the harness's other components it is in system:masters.
	eventingControllerToken = "kwhisk-test-eventing-controller-token"
)

// cluster is etcd and kube-apiserver, and in the real tier
// kube-controller-manager beside them.
type cluster struct {
	dir    string
	api    *apiserver.Server
	url    string // where pods and the gateway reach the API server
	kcm    *exec.Cmd
	kcmLog *os.File
}

// clusterOptions say where the API server serves: on loopback for the
// fake tier; on every address of the lab (advertised at advertise) for
// the real one, whose pods reach it over the lab's bridge.
type clusterOptions struct {
	bin       string
	dir       string
	advertise string // "" for loopback only
}

// startCluster starts etcd and kube-apiserver, and returns once /readyz
// answers ok.
func startCluster(ctx context.Context, o clusterOptions) (*cluster, error) {
	opts := apiserver.Options{
		Bin: o.bin, Dir: o.dir,
		Tokens: []apiserver.Token{{Token: gatewayToken, User: gatewayUser, UID: "gateway-uid",
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kwhisk"}},
			{Token: eventingControllerToken, User: "system:serviceaccount:knative-eventing:eventing-controller", UID: "eventing-controller-uid",
				Groups: []string{"system:masters", "system:serviceaccounts", "system:serviceaccounts:knative-eventing"}}},
	}
	if o.advertise != "" {
		opts.Address, opts.Advertise = "0.0.0.0", o.advertise
	}
	api, err := apiserver.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: o.dir, api: api, url: api.URL()}
	if o.advertise != "" {
		c.url = fmt.Sprintf("https://%s:%d", o.advertise, api.Port())
	}
	return c, nil
}

// startControllerManager runs Kubernetes' own controllers that Knative
// relies on: Deployments make ReplicaSets make Pods (which the pod runner
// runs), Endpoints follow ready pods, the garbage collector removes what
// a deleted Service owned.
func (c *cluster) startControllerManager(bin string) error {
	kubeconfig, err := c.kubeconfig("kube-controller-manager", adminToken)
	if err != nil {
		return err
	}
	c.kcmLog, err = os.Create(filepath.Join(c.dir, "kube-controller-manager.log"))
	if err != nil {
		return err
	}
	c.kcm = exec.Command(filepath.Join(bin, "kube-controller-manager"),
		"--kubeconfig", kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--controllers", "deployment,replicaset,endpoint,endpointslice,garbagecollector",
		"--concurrent-deployment-syncs", "10", "--concurrent-replicaset-syncs", "10",
		"--v", "1")
	c.kcm.Stdout, c.kcm.Stderr = c.kcmLog, c.kcmLog
	c.kcm.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.kcm.Start(); err != nil {
		return fmt.Errorf("start kube-controller-manager: %w", err)
	}
	return nil
}

func (c *cluster) stop() {
	if c.kcm != nil {
		_ = syscall.Kill(-c.kcm.Process.Pid, syscall.SIGKILL)
		_ = c.kcm.Wait()
		c.kcmLog.Close()
		c.kcm = nil
	}
	c.api.Stop()
}

// config is a client configuration for token, as this process reaches
// the server.
func (c *cluster) config(token string) *rest.Config { return c.api.Config(token) }

// kubeconfig writes a kubeconfig for token, naming the server as pods and
// the gateway reach it, and returns its path.
func (c *cluster) kubeconfig(name, token string) (string, error) {
	path := filepath.Join(c.dir, name+".kubeconfig")
	return path, c.api.Kubeconfig(path, c.url, token)
}

// freePort returns a loopback port nothing listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// poll calls cond until it is true, it fails, ctx ends or within passes,
// backing off from 10 ms to 250 ms between calls.
func poll(ctx context.Context, within time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(within)
	wait := 10 * time.Millisecond
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("condition not met within %s", within)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, 250*time.Millisecond)
	}
}
