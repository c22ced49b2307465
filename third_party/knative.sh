#!/bin/sh
# knative.sh builds Knative Serving's components (controller, webhook,
# autoscaler, activator, queue) from the tools module in knative/ into a cache
# directory keyed by that module's go.mod + go.sum + this script, and prints
# that directory. A second run on the same machine reuses the binaries.
#
#   KWHISK_KUBE_CACHE   cache root (default $XDG_CACHE_HOME or $HOME/.cache, + /kwhisk-kube)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mod=$here/knative
root=${KWHISK_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kwhisk-kube}
key=$(cat "$mod/go.mod" "$mod/go.sum" "$here/knative.sh" | sha256sum | cut -c1-16)
dir=$root/knative-$key
cmds="controller webhook autoscaler activator queue"
have=yes
for c in $cmds; do
	[ -x "$dir/$c" ] || have=no
done
if [ $have = yes ]; then
	echo "$dir"
	exit 0
fi
mkdir -p "$dir"
tmp=$(mktemp -d "$dir/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$mod"
# One binary at a time (the machines have 2 cores): the first compiles the
# packages the five share, the others then mostly link.
for c in $cmds; do
	CGO_ENABLED=0 go build -trimpath -o "$tmp/$c" "knative.dev/serving/cmd/$c" >&2
done
for c in $cmds; do
	mv "$tmp/$c" "$dir/"
done
echo "$dir"
