#!/bin/sh
case "$1" in
*'"hang":true'*)
  echo hanging
  while :; do sleep 1; done
  ;;
esac
echo '{"hung":false}'
