#!/bin/sh
size=$(printf '%s' "$1" | sed -n 's/.*"size":\([0-9]*\).*/\1/p')
printf '{"s":"%s"}\n' "$(head -c "$size" /dev/zero | tr '\0' x)"
