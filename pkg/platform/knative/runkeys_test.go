package knative

import (
	"context"
	"encoding/hex"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/kwhisk/kwhisk/pkg/runtime/runauth"
	"github.com/kwhisk/kwhisk/pkg/whisk"
)

func runKeysSecret(keys string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: RunKeysSecret, Namespace: "kwhisk"},
		Data:       map[string][]byte{RunKeysField: []byte(keys)},
	}
}

// TestLoadRunKeysCreatesTheSecret: a gateway on a cluster without the
// Secret makes one with a random key, and signs with it.
func TestLoadRunKeysCreatesTheSecret(t *testing.T) {
	kube := kubefake.NewSimpleClientset()
	k, err := LoadRunKeys(context.Background(), kube, kube, "kwhisk", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := kube.CoreV1().Secrets("kwhisk").Get(context.Background(), RunKeysSecret, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the Secret was not made: %v", err)
	}
	master, err := hex.DecodeString(strings.TrimSpace(string(s.Data[RunKeysField])))
	if err != nil || len(master) != 32 {
		t.Fatalf("made key %q: want 32 random bytes in hex", s.Data[RunKeysField])
	}
	body := []byte(`{"activation_id":"a"}`)
	if _, err := runauth.Check([][]byte{runauth.Derive(master, "/guest/a")}, k.sign("/guest/a", body, time.Now().Add(time.Minute)), body); err != nil {
		t.Errorf("a request signed for /guest/a does not check under the Secret's key: %v", err)
	}
	// A second replica reads the same key.
	k2, err := LoadRunKeys(context.Background(), kube, kube, "kwhisk", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k2.actionKeys("/guest/a"), k.actionKeys("/guest/a"); got[0] != want[0] {
		t.Errorf("second replica's key %v, want the first's %v", got, want)
	}
}

func TestLoadRunKeysRefusesABadSecret(t *testing.T) {
	for _, keys := range []string{"", "# only a comment\n", "not hex\n", "abcd\n"} {
		kube := kubefake.NewSimpleClientset(runKeysSecret(keys))
		if _, err := LoadRunKeys(context.Background(), kube, kube, "kwhisk", nil); err == nil || !strings.Contains(err.Error(), RunKeysSecret) {
			t.Errorf("keys %q: error %v, want one naming the Secret", keys, err)
		}
	}
}

// TestRunKeysFollowTheSecret: a rotation written to the Secret applies
// to the next request; an invalid edit keeps the keys in force.
func TestRunKeysFollowTheSecret(t *testing.T) {
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	kube := kubefake.NewSimpleClientset(runKeysSecret(a + "\n"))
	k, err := LoadRunKeys(context.Background(), kube, kube, "kwhisk", slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { k.Watch(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	derived := func(h string) string {
		m, _ := hex.DecodeString(h)
		return hex.EncodeToString(runauth.Derive(m, "/guest/a"))
	}
	wait := func(want []string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := k.actionKeys("/guest/a")
			if strings.Join(got, ",") == strings.Join(want, ",") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("action keys %v, want %v", got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	update := func(keys string) {
		t.Helper()
		if _, err := kube.CoreV1().Secrets("kwhisk").Update(context.Background(), runKeysSecret(keys), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	update("# rotating\n" + b + "\n" + a + "\n")
	wait([]string{derived(b), derived(a)})
	update("zz\n")
	time.Sleep(100 * time.Millisecond)
	wait([]string{derived(b), derived(a)})
	update(b + "\n")
	wait([]string{derived(b)})
}

func TestPlatformRunKeys(t *testing.T) {
	code := []byte(strings.Repeat("k", 32))
	masters := [][]byte{[]byte(strings.Repeat("1", 32)), []byte(strings.Repeat("2", 32))}
	p := &Platform{o: Options{CodeKey: code, RunKeys: NewRunKeys(masters...)}}
	path := whisk.EntityPath{Namespace: "guest", Name: "a"}
	d := Digest("x")
	got, err := p.RunKeys(context.Background(), d, signToken(code, path, d))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != hex.EncodeToString(runauth.Derive(masters[0], "/guest/a")) || got[1] != hex.EncodeToString(runauth.Derive(masters[1], "/guest/a")) {
		t.Errorf("RunKeys = %v, want /guest/a's key under each master", got)
	}
	// A token of another digest or a forged one opens nothing.
	for _, token := range []string{signToken(code, path, Digest("y")), "x.y", signToken([]byte(strings.Repeat("z", 32)), path, d)} {
		if _, err := p.RunKeys(context.Background(), d, token); !whisk.IsKind(err, whisk.KindUnauthorized) {
			t.Errorf("token %q: error %v, want unauthorized", token, err)
		}
	}
}
