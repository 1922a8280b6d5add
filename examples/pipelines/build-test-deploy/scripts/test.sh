#!/bin/sh
# Unit tests of src/greet.sh.
set -eu
out=$(sh src/greet.sh dwe)
[ "$out" = "hello, dwe" ] || { echo "expected 'hello, dwe', got '$out'" >&2; exit 1; }
[ "$(sh src/greet.sh)" = "hello, you" ] || { echo "default greeting is wrong" >&2; exit 1; }
echo "test: 2 passed"
