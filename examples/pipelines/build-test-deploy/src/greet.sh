#!/bin/sh
# The "application": greets its argument.
echo "hello, ${1:-you}"
