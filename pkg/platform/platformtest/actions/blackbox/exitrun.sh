#!/bin/sh
case "$1" in
*'"exit":true'*) exit 3 ;;
esac
echo '{"alive":true}'
