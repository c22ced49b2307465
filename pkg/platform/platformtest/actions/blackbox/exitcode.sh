#!/bin/sh
# The exit status does not matter: the last line of stdout is the result.
echo "a log line"
echo '{"exited":1}'
exit 1
