#!/usr/bin/env bash
# A streaming replica of the local PostgreSQL cluster on 127.0.0.1:5433, for the suite's replica tests
# (tests/test_replica.py; .ci/run). Run as root (it acts as the postgres user) on a Debian cluster.
#   scripts/replica.sh start    the primary allows replication; the replica is (re)built with
#                               pg_basebackup -R when it cannot resume, started, and streaming
#   scripts/replica.sh stop     stop the replica (its directory is kept, so start resumes quickly)
#   scripts/replica.sh status   exit 0 when 5433 answers as a replica
set -euo pipefail

PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5433}
VERSION=${PG_VERSION:-$(ls /etc/postgresql | sort -n | tail -n 1)}
BIN=/usr/lib/postgresql/$VERSION/bin
HBA=/etc/postgresql/$VERSION/main/pg_hba.conf
DIR=${REPLICA_DIR:-/var/lib/postgresql/$VERSION/replica-$REPLICA_PORT}
LOG=$DIR/server.log

as_postgres() { runuser -u postgres -- "$@"; }
ask() { psql -h 127.0.0.1 -p "$1" -U postgres -d postgres -Atqc "$2"; }

is_replica() { [ "$(ask "$REPLICA_PORT" 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ]; }

streaming() {  # the replica's WAL receiver is connected to the primary
  [ "$(ask "$REPLICA_PORT" "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'" 2>/dev/null)" = 1 ]
}

wait_for() {  # wait_for SECONDS COMMAND...: true once COMMAND succeeds
  local seconds=$1
  shift
  for _ in $(seq $((seconds * 5))); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}

allow_replication() {  # on the primary, once: a replication entry for 127.0.0.1 (trust, as its other entries)
  if ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$HBA"; then
    echo "host replication all 127.0.0.1/32 trust" >>"$HBA"
    ask "$PRIMARY_PORT" 'SELECT pg_reload_conf()' >/dev/null
  fi
  [ "$(ask "$PRIMARY_PORT" 'SHOW wal_level')" != minimal ] || { echo "the primary's wal_level is minimal" >&2; exit 1; }
}

build() {
  rm -rf "$DIR"
  install -d -o postgres -g postgres -m 700 "$DIR"
  as_postgres "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DIR" -R -X stream -c fast
  # Debian keeps the primary's configuration outside its data directory: the replica gets its own
  # (a hot standby needs max_connections and the like at least as high as the primary's).
  as_postgres tee "$DIR/postgresql.conf" >/dev/null <<EOF
port = $REPLICA_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '/var/run/postgresql'
hot_standby = on
hot_standby_feedback = on
max_connections = $(ask "$PRIMARY_PORT" 'SHOW max_connections')
shared_buffers = 32MB
EOF
  as_postgres tee "$DIR/pg_hba.conf" >/dev/null <<EOF
local all all trust
host all all 127.0.0.1/32 trust
EOF
  as_postgres touch "$DIR/pg_ident.conf"
}

start() {
  if is_replica; then
    echo "replica: already serving on 127.0.0.1:$REPLICA_PORT"
    return
  fi
  if pg_isready -q -h 127.0.0.1 -p "$REPLICA_PORT"; then
    echo "port $REPLICA_PORT is taken by a server that is not a replica" >&2
    exit 1
  fi
  pg_isready -q -h 127.0.0.1 -p "$PRIMARY_PORT" || { echo "the primary on $PRIMARY_PORT is not running" >&2; exit 1; }
  allow_replication
  if [ -f "$DIR/standby.signal" ]; then  # resume; rebuild when it cannot catch up (the primary recycled its WAL)
    as_postgres "$BIN/pg_ctl" -D "$DIR" -l "$LOG" -w -t 30 start >/dev/null || true
    if ! wait_for 10 streaming; then
      as_postgres "$BIN/pg_ctl" -D "$DIR" -m fast -w stop >/dev/null 2>&1 || true
      build
      as_postgres "$BIN/pg_ctl" -D "$DIR" -l "$LOG" -w -t 30 start >/dev/null
    fi
  else
    build
    as_postgres "$BIN/pg_ctl" -D "$DIR" -l "$LOG" -w -t 30 start >/dev/null
  fi
  wait_for 30 streaming || { echo "the replica does not stream (see $LOG)" >&2; exit 1; }
  echo "replica: streaming from 127.0.0.1:$PRIMARY_PORT on 127.0.0.1:$REPLICA_PORT ($DIR)"
}

stop() {
  if [ -f "$DIR/postmaster.pid" ]; then
    as_postgres "$BIN/pg_ctl" -D "$DIR" -m fast -w stop >/dev/null
  fi
  echo "replica: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) is_replica ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
