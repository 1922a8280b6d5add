#!/bin/sh
# Appends the day's totals to warehouse/totals.csv, once per day: a day already loaded (a repeat
# after a crash, or a second run for the same day) is skipped.
set -eu
mkdir -p warehouse
touch warehouse/totals.csv warehouse/loaded
if grep -qx "$DAY" warehouse/loaded; then
  echo "$DAY already loaded"
  exit 0
fi
sed "s/^/$DAY,/" "$WORK/totals.csv" >> warehouse/totals.csv
echo "$DAY" >> warehouse/loaded
echo "loaded $(wc -l < "$WORK/totals.csv" | tr -d ' ') rows for $DAY (key $DWE_IDEMPOTENCY_KEY)"
