# shellcheck shell=bash
# scripts/lib/cluster.sh — throwaway PostgreSQL clusters for demo, bench and tests.
#
# Source it (bash only):
#
#   . "$(dirname "$0")/lib/cluster.sh"
#   cluster_start src                      # initdb + start, free port on 127.0.0.1
#   cluster_start tgt -c work_mem=64MB     # extra postgresql.conf settings
#   SRC=$(cluster_uri src)                 # postgresql://postgres@127.0.0.1:PORT/postgres
#   pg psql "$SRC" -c 'select 1'           # run a binary from the newest PostgreSQL bin dir
#   ...                                    # on exit, Ctrl-C or failure every cluster is
#                                          # stopped and its directory removed
#   cluster_keep                           # ...unless this was called (prints how to stop)
#
# Every cluster lives in one temp directory ($CLUSTER_BASE/<name>/{data,sock,log}),
# trusts local connections for user "postgres", and is tuned for speed, not safety
# (fsync=off): never point it at data you want to keep.
#
# Environment:
#   PG_BINDIR        PostgreSQL bin dir (default: newest /usr/lib/postgresql/*/bin,
#                    else the directory of pg_config --bindir, else of initdb in PATH)
#   PGSLUICE_TMPDIR  where the temp directory goes (default: $TMPDIR or /tmp)
#
# It also offers a small exit-hook registry (at_exit CMD) so scripts can add their
# own cleanup without fighting over the EXIT trap.

if [[ -n "${_PGSLUICE_CLUSTER_SH:-}" ]]; then
  return 0
fi
_PGSLUICE_CLUSTER_SH=1

CLUSTER_BASE=""          # temp dir holding every cluster of this script run
CLUSTER_NAMES=()         # clusters started (in order)
CLUSTER_KEEP=0           # 1: leave clusters running at exit
_AT_EXIT=()              # commands run at exit, last registered first

# ---------------------------------------------------------------- messages

log()  { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- exit hooks

# at_exit CMD — run CMD (a string, eval'd) when the script exits for any reason.
at_exit() {
  _AT_EXIT+=("$1")
}

_cluster_on_exit() {
  local rc=$?
  local i
  trap - EXIT INT TERM HUP
  set +e
  for ((i = ${#_AT_EXIT[@]} - 1; i >= 0; i--)); do
    eval "${_AT_EXIT[i]}"
  done
  cluster_cleanup
  exit "$rc"
}

trap _cluster_on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# ---------------------------------------------------------------- binaries

# cluster_pg_bindir — print the PostgreSQL bin directory (newest major installed).
cluster_pg_bindir() {
  if [[ -n "${PG_BINDIR:-}" ]]; then
    printf '%s\n' "$PG_BINDIR"
    return 0
  fi
  local d best="" bestv=-1 v
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" ]] || continue
    v=${d#/usr/lib/postgresql/}
    v=${v%/bin}
    [[ "$v" =~ ^[0-9]+$ ]] || continue
    if ((v > bestv)); then
      bestv=$v
      best=$d
    fi
  done
  if [[ -z "$best" ]] && command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    [[ -x "$d/initdb" ]] && best=$d
  fi
  if [[ -z "$best" ]] && command -v initdb >/dev/null 2>&1; then
    best=$(dirname "$(command -v initdb)")
  fi
  [[ -n "$best" ]] || return 1
  printf '%s\n' "$best"
}

PG_BIN=$(cluster_pg_bindir || true)

# cluster_pg_version — e.g. "15.18".
cluster_pg_version() {
  "$PG_BIN/postgres" -V | sed -E 's/^[^0-9]*([0-9]+(\.[0-9]+)?).*/\1/'
}

_require_pg_bin() {
  [[ -n "$PG_BIN" && -x "$PG_BIN/initdb" ]] ||
    die "no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin); run scripts/setup.sh or set PG_BINDIR"
}

# pg BIN [ARGS...] — run a client binary (psql, pg_dump, ...) from $PG_BIN.
pg() {
  local bin=$1
  shift
  "$PG_BIN/$bin" "$@"
}

# as_pg_owner CMD [ARGS...] — run a server-side command as the cluster owner:
# the "postgres" system user when we are root (initdb refuses root), else ourselves.
as_pg_owner() {
  if [[ $EUID -eq 0 ]]; then
    # From /: postgres may not be allowed into the caller's working directory.
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# ---------------------------------------------------------------- clusters

_cluster_init_base() {
  [[ -n "$CLUSTER_BASE" ]] && return 0
  local parent=${PGSLUICE_TMPDIR:-${TMPDIR:-/tmp}}
  CLUSTER_BASE=$(mktemp -d "$parent/pgsluice-clusters.XXXXXX")
  if [[ $EUID -eq 0 ]]; then
    getent passwd postgres >/dev/null ||
      die "running as root needs the 'postgres' system user (initdb refuses root); install the postgresql package"
    command -v runuser >/dev/null 2>&1 || die "running as root needs runuser (util-linux)"
    chown postgres: "$CLUSTER_BASE"
    # postgres must be able to reach the base dir through its parents.
    chmod 755 "$CLUSTER_BASE"
  fi
}

# cluster_free_port — print a TCP port on 127.0.0.1 that nothing listens on.
cluster_free_port() {
  local port tries
  for ((tries = 0; tries < 200; tries++)); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  die "could not find a free TCP port on 127.0.0.1"
}

cluster_dir()  { printf '%s\n' "$CLUSTER_BASE/$1"; }
cluster_port() { cat "$CLUSTER_BASE/$1/port"; }
cluster_log()  { printf '%s\n' "$CLUSTER_BASE/$1/log"; }

# cluster_uri NAME [DBNAME] — libpq URI of the cluster over TCP.
cluster_uri() {
  printf 'postgresql://postgres@127.0.0.1:%s/%s\n' "$(cluster_port "$1")" "${2:-postgres}"
}

# cluster_conninfo NAME [DBNAME] — key=value conninfo over the unix socket.
cluster_conninfo() {
  printf 'host=%s port=%s user=postgres dbname=%s\n' \
    "$CLUSTER_BASE/$1/sock" "$(cluster_port "$1")" "${2:-postgres}"
}

_cluster_write_conf() {
  local conf=$1 port=$2 sock=$3
  shift 3
  local dsm=posix shm_kb
  # Containers often have a tiny /dev/shm; parallel query would then fail.
  shm_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $2}')
  if [[ -z "$shm_kb" || "$shm_kb" -lt 1048576 ]]; then
    dsm=mmap
  fi
  {
    echo "# --- pgsluice throwaway cluster (scripts/lib/cluster.sh) ---"
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$sock'"
    echo "max_connections = 50"
    echo "shared_buffers = 256MB"
    echo "max_wal_size = 4GB"
    echo "checkpoint_timeout = 30min"
    echo "maintenance_work_mem = 256MB"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "dynamic_shared_memory_type = $dsm"
    echo "lc_messages = 'C'"
    echo "log_min_messages = warning"
    echo "log_line_prefix = '%m [%p] %q%a '"
    local kv
    for kv in "$@"; do
      echo "${kv%%=*} = ${kv#*=}"
    done
  } >>"$conf"
}

# cluster_start NAME [-c key=value]... — initdb and start a cluster called NAME.
cluster_start() {
  local name=$1
  shift
  local extra=()
  while (($#)); do
    case $1 in
      -c) extra+=("$2"); shift 2 ;;
      -c*) extra+=("${1#-c}"); shift ;;
      *) die "cluster_start: unexpected argument '$1'" ;;
    esac
  done
  [[ "$name" =~ ^[A-Za-z0-9_-]+$ ]] || die "cluster_start: bad cluster name '$name'"
  _require_pg_bin
  _cluster_init_base
  local dir=$CLUSTER_BASE/$name
  [[ -e "$dir" ]] && die "cluster '$name' already exists"
  mkdir -p "$dir/sock"
  [[ $EUID -eq 0 ]] && chown -R postgres: "$dir"

  if ! as_pg_owner "$PG_BIN/initdb" -D "$dir/data" --auth=trust -U postgres --no-sync \
      -E UTF8 --locale=C >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed for cluster '$name'"
  fi
  CLUSTER_NAMES+=("$name")
  # Keep the pristine configuration so a retry on another port starts clean.
  cp -p "$dir/data/postgresql.conf" "$dir/postgresql.conf.orig"

  local attempt port
  for attempt in 1 2 3 4 5; do
    port=$(cluster_free_port)
    cp -p "$dir/postgresql.conf.orig" "$dir/data/postgresql.conf"
    _cluster_write_conf "$dir/data/postgresql.conf" "$port" "$dir/sock" "${extra[@]}"
    echo "$port" >"$dir/port"
    if as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 start >/dev/null 2>&1; then
      log "cluster '$name' is up: $(cluster_uri "$name")  (PostgreSQL $(cluster_pg_version), dir $dir)"
      return 0
    fi
    if grep -q 'could not bind\|Address already in use' "$dir/log" 2>/dev/null; then
      warn "port $port was taken, retrying (attempt $attempt)"
      continue
    fi
    break
  done
  tail -n 30 "$dir/log" >&2 || true
  die "could not start cluster '$name'"
}

# cluster_stop NAME — stop the cluster (fast, then immediate) and remove its directory.
cluster_stop() {
  local name=$1 dir=$CLUSTER_BASE/$1
  [[ -n "$CLUSTER_BASE" && -d "$dir" ]] || return 0
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 20 stop >/dev/null 2>&1 ||
      as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 20 stop >/dev/null 2>&1 ||
      warn "could not stop cluster '$name' ($dir)"
  fi
  rm -rf "$dir"
  local n kept=()
  for n in "${CLUSTER_NAMES[@]}"; do
    [[ "$n" == "$name" ]] || kept+=("$n")
  done
  CLUSTER_NAMES=("${kept[@]}")
}

# cluster_stop_hint NAME — the shell command that stops a kept cluster.
cluster_stop_hint() {
  local dir=$CLUSTER_BASE/$1 prefix=""
  [[ $EUID -eq 0 ]] && prefix="runuser -u postgres -- "
  printf '%s%s/pg_ctl -D %s/data stop -m fast\n' "$prefix" "$PG_BIN" "$dir"
}

# cluster_keep — leave every cluster running at exit and print how to stop them.
cluster_keep() {
  CLUSTER_KEEP=1
}

_cluster_print_keep_hint() {
  local n
  ((${#CLUSTER_NAMES[@]})) || return 0
  echo
  echo "Clusters left running (--keep):"
  for n in "${CLUSTER_NAMES[@]}"; do
    printf '  %-8s %s\n' "$n" "$(cluster_uri "$n")"
  done
  echo "Stop and remove them with:"
  for n in "${CLUSTER_NAMES[@]}"; do
    printf '  %s\n' "$(cluster_stop_hint "$n")"
  done
  printf '  rm -rf %s\n' "$CLUSTER_BASE"
}

# cluster_cleanup — stop and remove every cluster (called from the EXIT trap).
cluster_cleanup() {
  [[ -n "$CLUSTER_BASE" ]] || return 0
  if ((CLUSTER_KEEP)); then
    _cluster_print_keep_hint
    return 0
  fi
  local n
  for n in "${CLUSTER_NAMES[@]}"; do
    [[ -n "$n" ]] && cluster_stop "$n"
  done
  rm -rf "$CLUSTER_BASE"
  CLUSTER_BASE=""
}

# ---------------------------------------------------------------- database helpers

PGSLUICE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEMO_SQL="$PGSLUICE_ROOT/scripts/sql/demo_data.sql"

# psql_q CONN SQL — run SQL, print unaligned tuples only (tab separated).
psql_q() {
  pg psql -X -q -v ON_ERROR_STOP=1 -A -t -F $'\t' -d "$1" -c "$2"
}

# load_demo_data CONN SCALE — fill CONN with the demo schema and data (scripts/sql/demo_data.sql).
load_demo_data() {
  pg psql -X -q -v ON_ERROR_STOP=1 -v scale="$2" -d "$1" -f "$DEMO_SQL"
}

# table_stats CONN — one line per user table: "schema.table<TAB>exact rows<TAB>total bytes",
# sorted by name. Partitioned parents are left out (their leaves are listed).
table_stats() {
  psql_q "$1" "
    SELECT format('%s.%s', n.nspname, c.relname),
           (xpath('/row/n/text()',
                  query_to_xml(format('SELECT count(*) AS n FROM ONLY %I.%I', n.nspname, c.relname),
                               false, true, '')))[1]::text::bigint,
           pg_total_relation_size(c.oid)
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%'
    ORDER BY 1"
}

# db_size CONN — bytes of the connected database.
db_size() {
  psql_q "$1" "SELECT pg_database_size(current_database())"
}

# human_bytes N — 1536 -> "1.5 KiB".
human_bytes() {
  awk -v b="$1" 'BEGIN {
    split("B KiB MiB GiB TiB", u, " "); i = 1
    while (b >= 1024 && i < 5) { b /= 1024; i++ }
    if (i == 1) printf "%d %s\n", b, u[i]; else printf "%.1f %s\n", b, u[i] }'
}

# now_s — seconds since the epoch with fractions.
now_s() {
  if [[ -n "${EPOCHREALTIME:-}" ]]; then
    printf '%s\n' "${EPOCHREALTIME/,/.}"
  else
    date +%s.%N
  fi
}

# elapsed_s START — seconds since START (from now_s), one decimal.
elapsed_s() {
  awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f\n", b - a }'
}
