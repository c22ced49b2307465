#!/bin/sh
d=$(printf '%s' "$1" | sed -n 's/.*"delimiter":"\([^"]*\)".*/\1/p')
s="$d ✓ 😀 привет $d"
echo "$s"
printf '{"winter":"%s"}\n' "$s"
