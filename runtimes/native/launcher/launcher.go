package launcher

import (
	"context"

	"github.com/kwhisk/kwhisk/pkg/actionloop"
)

// Image is the default runtime image of native actions (OpenWhisk's).
const Image = "openwhisk/dockerskeleton"

// Launcher runs native code: env is what each activation's process starts
// from, before the action's and the activation's variables.
func Launcher(env []string) *actionloop.Launcher {
	return &actionloop.Launcher{Source: actionloop.ExecFile, Env: env, Skeleton: true}
}

// ForImage is Launcher for the native runtime image; it needs no files.
func ForImage(_ context.Context, _ string, env []string) (*actionloop.Launcher, error) {
	return Launcher(env), nil
}
