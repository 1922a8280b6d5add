#!/bin/sh
# Installs dist/$APP-$TAG.tar.gz into deploy/$TARGET. A deploy that already happened under this
# step's idempotency key (a repeat after a crash) is not done twice: the receipt says so.
set -eu
receipts=deploy/receipts
mkdir -p "$receipts" "deploy/$TARGET"
receipt="$receipts/$(echo "$DWE_IDEMPOTENCY_KEY" | tr ':/' '__')"
if [ -f "$receipt" ]; then
  echo "already deployed $TAG to $TARGET (receipt $receipt)"
  exit 0
fi
tar -xzf "dist/$APP-$TAG.tar.gz" -C "deploy/$TARGET"
echo "$TAG $TARGET" > "$receipt"
echo "deployed $TAG to $TARGET"
