#!/bin/sh
# Inputs too long for an argument come only on stdin.
if [ $# -gt 0 ]; then
  printf '%s\n' "$1"
else
  cat
fi
