#!/bin/sh
# eventing.sh builds Knative Eventing's components (the core controller and
# webhook, the in-memory channel's controller and dispatcher, the
# multi-tenant channel-based broker's controller, ingress and filter) from
# the tools module in eventing/ into a cache directory keyed by that
# module's go.mod + go.sum + this script, and prints that directory. A
# second run on the same machine reuses the binaries. Each binary is named
# by its path under knative.dev/eventing/cmd with '/' as '-'.
#
#   KWHISK_KUBE_CACHE   cache root (default $XDG_CACHE_HOME or $HOME/.cache, + /kwhisk-kube)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mod=$here/eventing
root=${KWHISK_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kwhisk-kube}
key=$(cat "$mod/go.mod" "$mod/go.sum" "$here/eventing.sh" | sha256sum | cut -c1-16)
dir=$root/eventing-$key
cmds="controller webhook in_memory/channel_controller in_memory/channel_dispatcher mtchannel_broker broker/ingress broker/filter"
have=yes
for c in $cmds; do
	[ -x "$dir/$(echo "$c" | tr / -)" ] || have=no
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
# packages they share, the others then mostly link.
for c in $cmds; do
	CGO_ENABLED=0 go build -trimpath -o "$tmp/$(echo "$c" | tr / -)" "knative.dev/eventing/cmd/$c" >&2
done
for c in $cmds; do
	mv "$tmp/$(echo "$c" | tr / -)" "$dir/"
done
echo "$dir"
