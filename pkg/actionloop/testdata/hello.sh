#!/bin/sh
# A native action: the input is the one argument, the last line of
# stdout the result, everything else logs.
name=$(printf '%s' "$1" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
echo "hello $name"
echo "a line on stderr" >&2
printf '{"greeting":"Hello, %s!"}\n' "$name"
