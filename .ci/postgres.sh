# A throwaway PostgreSQL server for the test suite; source this file, then:
#   pg_throwaway_start    starts it and exports DATABASE_URL (database "consoleclone")
#   pg_throwaway_stop     stops it and removes its data folder (safe to call twice)
# It needs Debian's postgresql package. PostgreSQL refuses to run as root, so when run as root
# the server runs as the `postgres` system user, in a temporary folder it owns.

PG_THROWAWAY_DIR=""
PG_THROWAWAY_PORT=""

_pg_bin() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bin" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; return 1; }
  printf '%s\n' "$bin"
}

_pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

_pg_free_port() {
  local port
  for port in $(seq "${1:-54329}" $(( ${1:-54329} + 50 ))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  echo "no free port near ${1:-54329}" >&2
  return 1
}

pg_throwaway_start() {
  local bin
  bin=$(_pg_bin) || return 1
  PG_THROWAWAY_PORT=$(_pg_free_port "${PG_THROWAWAY_PORT_HINT:-54329}") || return 1
  PG_THROWAWAY_DIR=$(mktemp -d /tmp/consoleclone-pg.XXXXXX)
  [ "$(id -u)" -ne 0 ] || chown postgres: "$PG_THROWAWAY_DIR"
  _pg_as_owner "$bin/initdb" -D "$PG_THROWAWAY_DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  _pg_as_owner "$bin/pg_ctl" -D "$PG_THROWAWAY_DIR/data" -l "$PG_THROWAWAY_DIR/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_THROWAWAY_PORT -k $PG_THROWAWAY_DIR -c fsync=off" start >/dev/null
  "$bin/createdb" -h 127.0.0.1 -p "$PG_THROWAWAY_PORT" -U postgres consoleclone
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_THROWAWAY_PORT/consoleclone"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_THROWAWAY_PORT ($PG_THROWAWAY_DIR)"
}

pg_throwaway_stop() {
  [ -n "$PG_THROWAWAY_DIR" ] || return 0
  local bin
  bin=$(_pg_bin) || return 0
  _pg_as_owner "$bin/pg_ctl" -D "$PG_THROWAWAY_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_THROWAWAY_DIR"
  PG_THROWAWAY_DIR=""
}
