#!/bin/sh
# build.sh builds kube-apiserver and etcd from this tools module into a cache
# directory keyed by the module's go.mod + go.sum + etcd main, and prints that
# directory. A second run on the same machine reuses the binaries.
#
#   KWHISK_KUBE_CACHE   cache root (default $XDG_CACHE_HOME or $HOME/.cache, + /kwhisk-kube)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=${KWHISK_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kwhisk-kube}
key=$(cat "$here/go.mod" "$here/go.sum" "$here/etcd/main.go" | sha256sum | cut -c1-16)
dir=$root/$key
if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/etcd" ]; then
	echo "$dir"
	exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$here"
# Both binaries are pure Go; -trimpath keeps the cache key meaningful across checkouts.
CGO_ENABLED=0 go build -trimpath -o "$tmp/etcd" ./etcd >&2
CGO_ENABLED=0 go build -trimpath -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
mv "$tmp/etcd" "$tmp/kube-apiserver" "$dir/"
echo "$dir"
