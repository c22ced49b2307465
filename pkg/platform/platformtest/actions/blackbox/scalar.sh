#!/bin/sh
echo '"a string"'
