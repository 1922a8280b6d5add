#!/bin/sh
# Checks every shell file under $1 parses and starts with a shebang.
set -eu
n=0
for f in "$1"/*.sh; do
  head -n 1 "$f" | grep -q '^#!' || { echo "$f: no shebang" >&2; exit 1; }
  sh -n "$f"
  n=$((n + 1))
done
echo "lint: $n files ok"
