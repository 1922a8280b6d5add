#!/bin/sh
# Copies the day's export from $1 into $WORK/raw.csv and reports its row count as an output.
# The source is flaky: while $1/outage holds a number above 0, it fails and counts down.
set -eu
src=$1
if [ -f "$src/outage" ] && [ "$(cat "$src/outage")" -gt 0 ]; then
  left=$(($(cat "$src/outage") - 1))
  echo "$left" > "$src/outage"
  echo "source unavailable (will recover in $left more tries)" >&2
  exit 75
fi
mkdir -p "$WORK"
cp "$src/$DAY.csv" "$WORK/raw.csv"
rows=$(($(wc -l < "$WORK/raw.csv") - 1))
echo "fetched $rows rows for $DAY"
echo "rows=$rows" >> "$DWE_OUTPUT"
