#!/bin/sh
name=$(printf '%s' "$1" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
echo "hello $name"
echo "a line on stderr" >&2
printf '{"greeting":"Hello, %s!"}\n' "$name"
