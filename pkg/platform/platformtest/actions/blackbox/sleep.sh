#!/bin/sh
ms=$(printf '%s' "$1" | sed -n 's/.*"ms":\([0-9]*\).*/\1/p')
ms=${ms:-0}
sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
printf '{"slept":%s}\n' "$ms"
