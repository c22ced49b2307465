#!/bin/sh
# tools.sh installs ko, crane and registry (go-containerregistry) into a
# cache directory keyed by their versions, and prints that directory.
#
#   KWHISK_KUBE_CACHE   cache root (default $XDG_CACHE_HOME or $HOME/.cache, + /kwhisk-kube)
set -eu
KO_VERSION=v0.18.1
GGCR_VERSION=v0.20.3
root=${KWHISK_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kwhisk-kube}
dir=$root/tools-ko-$KO_VERSION-ggcr-$GGCR_VERSION
if [ -x "$dir/ko" ] && [ -x "$dir/crane" ] && [ -x "$dir/registry" ]; then
	echo "$dir"
	exit 0
fi
mkdir -p "$dir"
GOBIN=$dir CGO_ENABLED=0 go install github.com/google/ko@$KO_VERSION >&2
GOBIN=$dir CGO_ENABLED=0 go install github.com/google/go-containerregistry/cmd/crane@$GGCR_VERSION >&2
GOBIN=$dir CGO_ENABLED=0 go install github.com/google/go-containerregistry/cmd/registry@$GGCR_VERSION >&2
echo "$dir"
