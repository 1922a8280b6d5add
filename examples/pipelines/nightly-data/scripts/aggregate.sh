#!/bin/sh
# Sums amounts per customer into $WORK/totals.csv.
set -eu
tail -n +2 "$WORK/raw.csv" | awk -F, '{ t[$1] += $2 } END { for (c in t) print c "," t[c] }' | sort > "$WORK/totals.csv"
n=$(wc -l < "$WORK/totals.csv" | tr -d ' ')
echo "aggregated $n customers"
echo "customers=$n" >> "$DWE_OUTPUT"
