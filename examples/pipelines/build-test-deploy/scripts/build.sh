#!/bin/sh
# Packages the application as $OUT/$APP-<tag>.tar.gz.
set -eu
tag=$1
stage=$(mktemp -d)
mkdir -p "$stage/$APP/bin" "$OUT"
cp src/greet.sh "$stage/$APP/bin/greet"
chmod +x "$stage/$APP/bin/greet"
echo "$tag" > "$stage/$APP/VERSION"
tar -czf "$OUT/$APP-$tag.tar.gz" -C "$stage" "$APP"
rm -rf "$stage"
echo "built $OUT/$APP-$tag.tar.gz"
