#!/usr/bin/env bash
# Start or stop the PostgreSQL and Redis servers that the dynamic-secret tests lease
# credentials from. One script for CI and for the test suite, so both run the same servers.
#
#   tools/services.sh install   install the Debian packages if they are missing (root)
#   tools/services.sh start     start both on 127.0.0.1 and print KEY=VALUE lines to export
#   tools/services.sh stop      stop both (idempotent)
set -euo pipefail

STATE_DIR=${INFISICAL_SERVICES_DIR:-/tmp/infisical-async-services}
PG_PORT=${INFISICAL_TEST_PG_PORT:-55432}
REDIS_PORT=${INFISICAL_TEST_REDIS_PORT:-56379}
PG_PASSWORD=pg-admin-test-password
REDIS_PASSWORD=redis-admin-test-password

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

as_postgres() {
  # initdb and pg_ctl refuse to run as root.
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi
}

install() {
  local need=()
  [ -n "$(pg_bin)" ] || need+=(postgresql)
  command -v redis-server >/dev/null || need+=(redis-server)
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

start() {
  local bin; bin=$(pg_bin)
  [ -n "$bin" ] || { echo "PostgreSQL server binaries not found; run: $0 install" >&2; exit 1; }
  command -v redis-server >/dev/null || { echo "redis-server not found; run: $0 install" >&2; exit 1; }
  mkdir -p "$STATE_DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$STATE_DIR"
  if [ ! -f "$STATE_DIR/pg/PG_VERSION" ]; then
    printf '%s\n' "$PG_PASSWORD" > "$STATE_DIR/pwfile"
    [ "$(id -u)" = 0 ] && chown postgres "$STATE_DIR/pwfile"
    as_postgres "'$bin/initdb' -D '$STATE_DIR/pg' -U postgres --pwfile='$STATE_DIR/pwfile' \
      --auth-local=trust --auth-host=scram-sha-256 >'$STATE_DIR/initdb.log' 2>&1"
  fi
  if ! as_postgres "'$bin/pg_ctl' -D '$STATE_DIR/pg' status" >/dev/null 2>&1; then
    as_postgres "'$bin/pg_ctl' -D '$STATE_DIR/pg' -l '$STATE_DIR/pg.log' -w -t 60 \
      -o \"-h 127.0.0.1 -p $PG_PORT -k '$STATE_DIR'\" start" >/dev/null
  fi
  if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning -a "$REDIS_PASSWORD" ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
      --requirepass "$REDIS_PASSWORD" --pidfile "$STATE_DIR/redis.pid" --logfile "$STATE_DIR/redis.log" \
      --dir "$STATE_DIR" >/dev/null
    for _ in $(seq 50); do
      redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning -a "$REDIS_PASSWORD" ping >/dev/null 2>&1 && break
      sleep 0.1
    done
  fi
  echo "INFISICAL_TEST_POSTGRES_DSN=postgresql://postgres:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres"
  echo "INFISICAL_TEST_REDIS_URL=redis://default:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0"
}

stop() {
  local bin; bin=$(pg_bin)
  if [ -n "$bin" ] && [ -f "$STATE_DIR/pg/PG_VERSION" ]; then
    as_postgres "'$bin/pg_ctl' -D '$STATE_DIR/pg' -m fast -w stop" >/dev/null 2>&1 || true
  fi
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --no-auth-warning -a "$REDIS_PASSWORD" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
