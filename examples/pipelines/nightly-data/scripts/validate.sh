#!/bin/sh
# Every record is customer,amount with a whole amount.
set -eu
head -n 1 "$WORK/raw.csv" | grep -qx 'customer,amount' || { echo "bad header" >&2; exit 1; }
bad=$(tail -n +2 "$WORK/raw.csv" | grep -cvE '^[a-z0-9_-]+,[0-9]+$' || true)
[ "$bad" -eq 0 ] || { echo "$bad malformed rows" >&2; exit 1; }
echo "schema ok"
