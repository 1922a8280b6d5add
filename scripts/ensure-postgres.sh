#!/usr/bin/env bash
# Makes sure PostgreSQL answers on 127.0.0.1:5432 as user `postgres` without a password (trust),
# which the PostgreSQL tests need (DWE_TEST_PG_URL overrides the server the tests use; then this
# script only checks that one). On a fresh Debian machine it installs the server, lets 127.0.0.1
# connect with trust auth, and starts the cluster; on a machine that has it, it only starts it.
# Exits non-zero, saying why, when the server still cannot be reached: CI must not pass without it.
# Also installs iproute2 and util-linux (ip netns, unshare) for the cross-host tests.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)

URL="${DWE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
check() { psql "$URL" -Atqc "SELECT 1" >/dev/null 2>&1; }

if [ -z "${DWE_TEST_PG_URL:-}" ] && ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
  need+=(postgresql postgresql-client)
fi
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -z "${DWE_TEST_PG_URL:-}" ] && ! check; then
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  # Only a fresh cluster (installed above, or never given a 127.0.0.1 rule) is opened to trust on loopback.
  if ! grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    $SUDO sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    reload=1
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  elif [ "${reload:-0}" = 1 ]; then
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
  fi
fi

for _ in $(seq 1 30); do check && break; sleep 1; done
if ! check; then
  echo "ensure-postgres.sh: PostgreSQL is not reachable at $URL (as user postgres, trust auth); the PostgreSQL tests cannot run" >&2
  exit 1
fi
echo "ensure-postgres.sh: PostgreSQL reachable at $URL ($(psql "$URL" -Atqc 'SHOW server_version'))"
