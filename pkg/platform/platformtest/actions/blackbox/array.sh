#!/bin/sh
echo '[1,"two",{"three":3}]'
