#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster (temp dir, free port, trust auth on loopback) and print
# its SQLAlchemy URL. Installs Debian's postgresql when it is missing. Usage:
#   url=$(bash .ci/postgres.sh)   ...   pg_ctl -D "$dir" stop  (the dir is in .ci/postgres.dir)
set -euo pipefail
find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(find_bin)" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q postgresql >/dev/null
fi
bin=$(find_bin)
[ -n "$bin" ] || { echo "no PostgreSQL server binaries found" >&2; exit 1; }
dir=$(mktemp -d /tmp/sbs-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# initdb refuses to run as root: the cluster belongs to an unprivileged user.
owner=postgres
id -u "$owner" >/dev/null 2>&1 || useradd --system --no-create-home "$owner"
chown "$owner" "$dir"
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u "$owner" -- "$@"; else "$@"; fi; }
as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >/dev/null
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres sidebyside_test
echo "$dir" > "$(dirname "$0")/postgres.dir"
echo "postgresql+psycopg://postgres@127.0.0.1:$port/sidebyside_test"
