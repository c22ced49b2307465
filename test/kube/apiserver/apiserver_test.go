package apiserver

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func TestStart(t *testing.T) {
	bin := os.Getenv("KWHISK_KUBE_BIN")
	if bin == "" {
		t.Skip("set KWHISK_KUBE_BIN to the directory third_party/build.sh prints")
	}
	ctx := context.Background()
	start := time.Now()
	s, err := Start(ctx, Options{Bin: bin, Dir: t.TempDir(), Tokens: []Token{
		{Token: "reader-token", User: "system:serviceaccount:test:reader", UID: "reader-uid", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:test"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	t.Logf("ready in %s at %s", time.Since(start).Round(time.Millisecond), s.URL())

	admin, err := kubernetes.NewForConfig(s.Config(AdminToken))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "test"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("admin creates a namespace: %v", err)
	}
	// The second token is a service account RBAC gives nothing.
	reader, err := kubernetes.NewForConfig(s.Config("reader-token"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = reader.CoreV1().Secrets("test").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("service account lists secrets: %v, want forbidden", err)
	}
	// A kubeconfig for the admin works with client-go's loader.
	path := filepath.Join(t.TempDir(), "admin.kubeconfig")
	if err := s.Kubeconfig(path, "", AdminToken); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fromFile.CoreV1().Namespaces().Get(ctx, "test", metav1.GetOptions{}); err != nil {
		t.Errorf("through the kubeconfig: %v", err)
	}

	start = time.Now()
	s.Stop()
	t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
	if _, err := admin.CoreV1().Namespaces().Get(ctx, "test", metav1.GetOptions{}); err == nil {
		t.Error("the server still answers after Stop")
	}
}
