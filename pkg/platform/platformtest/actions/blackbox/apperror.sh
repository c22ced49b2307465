#!/bin/sh
value=$(printf '%s' "$1" | sed 's/^{"error":\(.*\)}$/\1/')
printf '{"error":%s,"other":"dropped"}\n' "$value"
