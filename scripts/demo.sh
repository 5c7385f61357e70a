#!/usr/bin/env bash
# scripts/demo.sh — see pgsluice copy a realistic database between two throwaway servers.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/cluster.sh
. "$ROOT/scripts/lib/cluster.sh"

usage() {
  cat <<EOF
Usage: scripts/demo.sh [options] [-- PGSLUICE_COPY_OPTIONS...]

Starts two throwaway PostgreSQL servers (source and target) on 127.0.0.1, fills the
source with data shaped like a membership web app (users, payments, events, a big
e-mail table, a wide time series), runs

  build/pgsluice copy --source SRC --target TGT -j N --progress plain --verify \
      --rules scripts/sql/demo_rules.yaml

and shows per-table row counts and sizes on both sides, a sample of the rows the rules
rewrote (e-mails, names, phones, host names), and how long it took.
Builds pgsluice first (scripts/setup.sh --target pgsluice) if build/pgsluice is
missing. Both servers are stopped and deleted at the end (also on Ctrl-C or
failure) unless --keep. Exits 1 if the copy fails or row counts differ.

Options:
  --size SMALL|MEDIUM|LARGE  data size: SMALL ~40 MB, MEDIUM ~300 MB (default),
                             LARGE ~1.5 GB
  --scale N                  exact scale factor instead (1 = ~300 MB; fractions allowed)
  -j, --jobs N               parallel data connections for pgsluice (default: $(default_jobs))
  --keep                     leave both servers running and print how to reach and stop them
  --no-rules                 copy without scripts/sql/demo_rules.yaml (no rewriting)
  -h, --help                 show this help

Anything after -- is appended to the pgsluice copy command, e.g.
  scripts/demo.sh -- --exclude-table-data 'post_office_*'
(row counts that differ are then shown but, as options may leave data out on
purpose, only the copy's own exit status counts).

Environment: PGSLUICE_BIN (pgsluice binary to run, default build/pgsluice),
PG_BINDIR (PostgreSQL bin dir), PGSLUICE_TMPDIR (where the servers' files go).
EOF
}

default_jobs() {
  local n
  n=$(nproc 2>/dev/null || echo 2)
  ((n < 2)) && n=2
  ((n > 8)) && n=8
  echo "$n"
}

scale_for_size() {
  case ${1^^} in
    SMALL) echo 0.1 ;;
    MEDIUM) echo 1 ;;
    LARGE) echo 5 ;;
    *) die "--size must be SMALL, MEDIUM or LARGE (got '$1')" ;;
  esac
}

# print_comparison SRC TGT — side-by-side table of rows and sizes; returns 1 on a row mismatch.
print_comparison() {
  local src=$1 tgt=$2
  local -A t_rows=() t_bytes=()
  local name rows bytes
  while IFS=$'\t' read -r name rows bytes; do
    [[ -n "$name" ]] || continue
    t_rows[$name]=$rows
    t_bytes[$name]=$bytes
  done < <(table_stats "$tgt")

  local mismatches=0 src_total_rows=0 tgt_total_rows=0 mark trows tbytes
  printf '\n%-40s %12s %12s %11s %11s  %s\n' table "source rows" "target rows" "source size" "target size" ""
  printf '%-40s %12s %12s %11s %11s  %s\n' "$(printf '%.0s-' {1..40})" ------------ ------------ ----------- ----------- --
  while IFS=$'\t' read -r name rows bytes; do
    [[ -n "$name" ]] || continue
    trows=${t_rows[$name]:-}
    tbytes=${t_bytes[$name]:-}
    if [[ -z "$trows" ]]; then
      mark="MISSING"
      mismatches=$((mismatches + 1))
    elif [[ "$trows" != "$rows" ]]; then
      mark="DIFFERS"
      mismatches=$((mismatches + 1))
    else
      mark="ok"
    fi
    src_total_rows=$((src_total_rows + rows))
    tgt_total_rows=$((tgt_total_rows + ${trows:-0}))
    printf '%-40s %12s %12s %11s %11s  %s\n' "$name" "$rows" "${trows:--}" \
      "$(human_bytes "$bytes")" "$( [[ -n "$tbytes" ]] && human_bytes "$tbytes" || echo -)" "$mark"
  done < <(table_stats "$src")
  printf '%-40s %12s %12s %11s %11s\n' "total (database size)" "$src_total_rows" "$tgt_total_rows" \
    "$(human_bytes "$(db_size "$src")")" "$(human_bytes "$(db_size "$tgt")")"
  ((mismatches == 0))
}

main() {
  local scale=1 jobs keep=0 rules=1
  jobs=$(default_jobs)
  local copy_extra=()
  while (($#)); do
    case $1 in
      --size) scale=$(scale_for_size "${2:?--size needs a value}"); shift ;;
      --size=*) scale=$(scale_for_size "${1#*=}") ;;
      --scale) scale=${2:?--scale needs a value}; shift ;;
      --scale=*) scale=${1#*=} ;;
      -j|--jobs) jobs=${2:?-j needs a value}; shift ;;
      -j*) jobs=${1#-j} ;;
      --jobs=*) jobs=${1#*=} ;;
      --keep) keep=1 ;;
      --no-rules) rules=0 ;;
      -h|--help) usage; exit 0 ;;
      --) shift; copy_extra=("$@"); break ;;
      *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
  done
  if ! [[ "$scale" =~ ^[0-9]*\.?[0-9]+$ ]] || ! awk -v s="$scale" 'BEGIN { exit !(s > 0) }'; then
    die "--scale must be a positive number (got '$scale')"
  fi
  [[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "-j must be a positive integer (got '$jobs')"

  local t_all
  t_all=$(now_s)
  local bin=${PGSLUICE_BIN:-$ROOT/build/pgsluice}
  if [[ ! -x "$bin" ]]; then
    log "$bin is missing: building it with scripts/setup.sh --target pgsluice"
    "$ROOT/scripts/setup.sh" --target pgsluice
    [[ -x "$bin" ]] || die "scripts/setup.sh finished but $bin is still missing"
  fi
  _require_pg_bin
  # pgsluice runs pg_dump: make it the same major version as the servers.
  export PATH="$PG_BIN:$PATH"
  ((keep)) && cluster_keep

  log "starting two throwaway PostgreSQL servers"
  cluster_start source
  cluster_start target
  local src tgt
  src=$(cluster_uri source app)
  tgt=$(cluster_uri target app)
  psql_q "$(cluster_uri source)" "CREATE DATABASE app" >/dev/null
  psql_q "$(cluster_uri target)" "CREATE DATABASE app" >/dev/null

  log "generating demo data at scale $scale on the source (scripts/sql/demo_data.sql)"
  local t0 load_s copy_s
  t0=$(now_s)
  load_demo_data "$src" "$scale"
  load_s=$(elapsed_s "$t0")
  local src_bytes
  src_bytes=$(db_size "$src")
  log "source database 'app' is $(human_bytes "$src_bytes"), generated in ${load_s}s"

  local cmd=("$bin" copy --source "$src" --target "$tgt" -j "$jobs" --progress plain --verify)
  if ((rules)); then
    # A demo salt: real runs keep theirs secret and stable, so fakes stay the same run to run.
    export PGSLUICE_SALT=${PGSLUICE_SALT:-demo-salt-not-a-secret}
    cmd+=(--rules "$ROOT/scripts/sql/demo_rules.yaml")
  fi
  cmd+=("${copy_extra[@]}")
  log "running: ${cmd[*]}"
  echo
  t0=$(now_s)
  local rc=0
  "${cmd[@]}" || rc=$?
  copy_s=$(elapsed_s "$t0")
  echo
  if ((rc != 0)); then
    log "pgsluice copy FAILED with exit status $rc after ${copy_s}s"
  else
    log "pgsluice copy finished in ${copy_s}s"
  fi

  local same=0
  print_comparison "$src" "$tgt" || same=1
  if ((rules && rc == 0)); then
    echo
    echo "Rewritten in flight by scripts/sql/demo_rules.yaml (source -> target, same rows):"
    local q="SELECT id, email, first_name || ' ' || last_name, coalesce(phone, '-') FROM accounts_user ORDER BY id LIMIT 3"
    paste <(psql_q "$src" "$q") <(psql_q "$tgt" "$q" | cut -f2-) |
      awk -F'\t' '{ printf "  %-4s %-28s -> %s\n       %-28s -> %s\n       %-28s -> %s\n", $1, $2, $5, $3, $6, $4, $7 }'
    printf '  site hostnames: %s -> %s\n' \
      "$(psql_q "$src" "SELECT string_agg(hostname, ', ' ORDER BY id) FROM wagtailcore_site")" \
      "$(psql_q "$tgt" "SELECT string_agg(hostname, ', ' ORDER BY id) FROM wagtailcore_site")"
    printf '  source e-mails found on the target: %s\n' \
      "$(psql_q "$tgt" "SELECT count(*) FROM accounts_user WHERE email NOT LIKE '%@example.invalid'")"
  fi

  echo
  echo "Summary"
  printf '  servers          PostgreSQL %s, source %s, target %s\n' "$(cluster_pg_version)" \
    "$(cluster_port source)" "$(cluster_port target)"
  printf '  demo data        scale %s, %s, generated in %ss\n' "$scale" "$(human_bytes "$src_bytes")" "$load_s"
  printf '  pgsluice copy    -j %s, %ss (%s MiB/s of source database), exit status %s\n' "$jobs" "$copy_s" \
    "$(awk -v b="$src_bytes" -v s="$copy_s" 'BEGIN { printf "%.1f", (s > 0 ? b / 1048576 / s : 0) }')" "$rc"
  local verdict="identical on both sides"
  if ((same != 0)); then
    verdict="DIFFER (see the table above)"
    ((${#copy_extra[@]})) && verdict+="; expected if your extra options leave data out"
  fi
  printf '  row counts       %s\n' "$verdict"
  printf '  total            %ss\n' "$(elapsed_s "$t_all")"
  if ((keep)); then
    echo
    echo "Connect with:"
    echo "  $PG_BIN/psql '$src'"
    echo "  $PG_BIN/psql '$tgt'"
  fi

  ((rc == 0)) || exit "$rc"
  if ((same != 0 && ${#copy_extra[@]} == 0)); then
    die "row counts differ between source and target"
  fi
}

main "$@"
