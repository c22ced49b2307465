#!/bin/sh
# Prints the __OW_ variables, SECRET and JSONISH as a JSON object.
esc() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
out=""
for k in $(env | sed -n 's/^\(__OW_[A-Z_]*\)=.*/\1/p') SECRET JSONISH; do
  eval "set=\${$k+x}"
  [ -n "$set" ] || continue
  eval "v=\$$k"
  out="$out${out:+,}\"$k\":\"$(esc "$v")\""
done
printf '{%s}\n' "$out"
