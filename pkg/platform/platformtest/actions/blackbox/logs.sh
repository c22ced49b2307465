#!/bin/sh
lines=$(printf '%s' "$1" | sed -n 's/.*"lines":\([0-9]*\).*/\1/p')
size=$(printf '%s' "$1" | sed -n 's/.*"size":\([0-9]*\).*/\1/p')
line=$(head -c "$size" /dev/zero | tr '\0' y)
i=0
while [ "$i" -lt "$lines" ]; do
  echo "$line"
  i=$((i + 1))
done
printf '{"lines":%s}\n' "$lines"
