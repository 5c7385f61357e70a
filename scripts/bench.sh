#!/usr/bin/env bash
# scripts/bench.sh — pgsluice copy against pgcopydb and pg_dump | pg_restore, same data, same -j.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/cluster.sh
. "$ROOT/scripts/lib/cluster.sh"

ALL_TOOLS=(pgsluice pgsluice-rules pgcopydb pgdump pgdump-dir)
PGSLUICE_EXTRA=()

usage() {
  cat <<EOF
Usage: scripts/bench.sh [options]

Builds a production-like source database once on a throwaway server (the demo
generator, scripts/sql/demo_data.sql, at a larger scale: one big e-mail table, one
multi-million-row numeric time series at the default size), then copies it with
each tool into a fresh empty database on a second throwaway server, --runs times,
tools interleaved run by run:

  pgsluice    build/pgsluice copy --source S --target T -j N --progress none
  pgcopydb    pgcopydb clone --source S --target T --table-jobs N --index-jobs N
                --dir WORKDIR --no-owner
  pgdump      pg_dump -Fc S | pg_restore --no-owner -d T        (one job, streamed)
  pgdump-dir  pg_dump -Fd -j N -f DIR S; pg_restore -j N --no-owner -d T DIR

The tools do not do quite the same work: pgcopydb also VACUUM ANALYZEs every table
on the target, pgsluice ANALYZEs it (unless told --skip-analyze through
--pgsluice-args), pg_restore does neither.

Every copy is checked (row count of every table, number of indexes and constraints
equal to the source); a failed or wrong copy is reported loudly and makes the
script exit 1. Prints the median wall time per tool, every run, the ratio to
pgcopydb and to pg_dump|pg_restore, and peak memory, and writes it all as JSON.

Options:
  --size-gb N        approximate source database size in GiB (default 2; fractions
                     such as 0.05 for a quick smoke test)
  -j, --jobs N       parallel jobs given to every tool (default 2)
  --runs N           runs per tool (default 3); the median is reported
  --only LIST        only these tools (comma separated): ${ALL_TOOLS[*]}
                     ("pgdump" runs the streamed pipe, "pgdump-dir" the -Fd -j variant)
  --out FILE         JSON results (default: out/bench.json in the repository)
  --pgsluice-args S  extra arguments appended to the pgsluice copy command
                     (split on spaces), e.g. "--skip-analyze"
  --keep             leave both servers running at the end (prints how to stop them)
  -h, --help         show this help

Memory: "peak RSS" is the sampled peak of the summed RSS of the tool's whole process
tree (every 0.2 s; shared pages of forked workers count once per process). "max RSS"
is GNU time's figure: the largest single process (pipe: both sides added up). The
servers' memory is not included in either.

Environment: PGSLUICE_BIN (default build/pgsluice), PG_BINDIR, PGSLUICE_TMPDIR.
EOF
}

# ------------------------------------------------------------------ measuring

PAGE_KB=$(($(getconf PAGESIZE 2>/dev/null || echo 4096) / 1024))

# tree_rss_kb PID — summed RSS (KiB) of PID and all its descendants.
tree_rss_kb() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" -v pkb="$PAGE_KB" '
    {
      pid = $1
      sub(/^.*\) /, "")          # drop "pid (comm) ": comm may contain spaces
      ppid[pid] = $2; rss[pid] = $22
    }
    END {
      for (p in ppid) {
        q = p; n = 0
        while (q != root && q > 1 && n++ < 64) q = ppid[q]
        if (q == root) s += rss[p]
      }
      print s * pkb + 0
    }' || true     # a process vanishing mid-read makes cat fail: not an error here
}

# tree_pids PID — PID's descendants (not PID itself).
tree_pids() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
    { pid = $1; sub(/^.*\) /, ""); ppid[pid] = $2 }
    END {
      for (p in ppid) {
        q = ppid[p]; n = 0
        while (q != root && q > 1 && n++ < 64) q = ppid[q]
        if (q == root) print p
      }
    }' | sort -n || true
}

# kill_tree PID — SIGTERM PID and all its descendants. The tree is frozen first
# (SIGSTOP) so no process can fork a new child between listing and killing.
kill_tree() {
  local root=$1 pids="" more
  [[ -n "$root" ]] && kill -0 "$root" 2>/dev/null || return 0
  kill -STOP "$root" 2>/dev/null || true
  for _ in 1 2 3; do
    more=$(tree_pids "$root")
    # shellcheck disable=SC2086
    [[ -n "$more" ]] && kill -STOP $more 2>/dev/null
    [[ "$more" == "$pids" ]] && break
    pids=$more
  done
  # shellcheck disable=SC2086
  kill -TERM "$root" $pids 2>/dev/null
  # shellcheck disable=SC2086
  kill -CONT "$root" $pids 2>/dev/null
  return 0
}

CURRENT_RUN_PID=""
# A copy still running when we exit (Ctrl-C, error) is stopped before the servers are.
stop_current_run() { kill_tree "$CURRENT_RUN_PID"; }
at_exit stop_current_run

# sample_rss PID OUTFILE — write the peak tree RSS (KiB) of PID to OUTFILE until PID exits.
sample_rss() {
  local pid=$1 out=$2 peak=0 cur
  while kill -0 "$pid" 2>/dev/null; do
    cur=$(tree_rss_kb "$pid")
    [[ "$cur" =~ ^[0-9]+$ ]] && ((cur > peak)) && peak=$cur
    echo "$peak" >"$out"
    sleep 0.2
  done
}

HAVE_GNU_TIME=0
[[ -x /usr/bin/time ]] && /usr/bin/time -f '%M' true >/dev/null 2>&1 && HAVE_GNU_TIME=1

# timed TAG CMD... — run CMD under GNU time (max RSS into $RUN_DIR/TAG.time), if available.
timed() {
  local tag=$1
  shift
  if ((HAVE_GNU_TIME)); then
    /usr/bin/time -f '%M' -o "$RUN_DIR/$tag.time" "$@"
  else
    "$@"
  fi
}

# ------------------------------------------------------------------ the tools

# Each run_<tool> copies $SRC into the (empty) database $TGT; the current directory
# is a fresh per-run scratch directory $RUN_DIR.

run_pgsluice() {
  timed main "$PGSLUICE" copy --source "$SRC" --target "$TGT" -j "$JOBS" --progress none \
    "${PGSLUICE_EXTRA[@]}"
}

# The same copy with scripts/sql/bench_rules.yaml: realistic rewrites (e-mails, names, phones,
# JSON keys) and no exclusions, so both runs move the same rows.
run_pgsluice_rules() {
  PGSLUICE_SALT=bench-salt-not-a-secret-0123 timed main "$PGSLUICE" copy --source "$SRC" \
    --target "$TGT" -j "$JOBS" --progress none --rules "$ROOT/scripts/sql/bench_rules.yaml" \
    "${PGSLUICE_EXTRA[@]}"
}

run_pgcopydb() {
  timed main pgcopydb clone --source "$SRC" --target "$TGT" \
    --table-jobs "$JOBS" --index-jobs "$JOBS" --dir "$RUN_DIR/pgcopydb" --no-owner
}

run_pgdump() {
  timed dump pg_dump -Fc "$SRC" | timed restore pg_restore --no-owner -d "$TGT"
}

run_pgdump_dir() {
  timed dump pg_dump -Fd -j "$JOBS" -f "$RUN_DIR/dump" "$SRC"
  timed restore pg_restore -j "$JOBS" --no-owner -d "$TGT" "$RUN_DIR/dump"
}

tool_version() {
  case $1 in
    pgsluice|pgsluice-rules) "$PGSLUICE" --version 2>/dev/null | head -n 1 || echo unknown ;;
    pgcopydb) pgcopydb --version 2>/dev/null | grep -m1 -o 'version .*' || echo unknown ;;
    pgdump|pgdump-dir) pg_dump --version ;;
  esac
}

tool_label() {
  case $1 in
    pgsluice) echo "pgsluice copy${PGSLUICE_EXTRA[*]:+ ${PGSLUICE_EXTRA[*]}}" ;;
    pgsluice-rules) echo "pgsluice copy --rules" ;;
    pgcopydb) echo "pgcopydb clone" ;;
    pgdump) echo "pg_dump -Fc | pg_restore" ;;
    pgdump-dir) echo "pg_dump -Fd -j | pg_restore -j" ;;
  esac
}

# ------------------------------------------------------------------ checks

# schema_summary CONN — "indexes=N constraints=N sequences=N" for non-system schemas.
schema_summary() {
  psql_q "$1" "
    SELECT format('indexes=%s constraints=%s sequences=%s',
      (SELECT count(*) FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')),
      (SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')),
      (SELECT count(*) FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema')))"
}

# check_copy — compare the target with the source; prints the differences, returns 1 if any.
check_copy() {
  local tgt_rows tgt_schema
  tgt_rows=$(table_stats "$TGT" | cut -f1,2) || return 1
  tgt_schema=$(schema_summary "$TGT") || return 1
  local ok=0
  if [[ "$tgt_rows" != "$SRC_ROWS" ]]; then
    echo "row counts differ (source vs target):"
    diff <(echo "$SRC_ROWS") <(echo "$tgt_rows") | sed 's/^/    /' || true
    ok=1
  fi
  if [[ "$tgt_schema" != "$SRC_SCHEMA" ]]; then
    echo "schema differs: source $SRC_SCHEMA, target $tgt_schema"
    ok=1
  fi
  return "$ok"
}

# ------------------------------------------------------------------ one run

recreate_target() {
  PGOPTIONS="-c client_min_messages=warning" psql_q "$TGT_ADMIN" "DROP DATABASE IF EXISTS $TGT_DB WITH (FORCE)" >/dev/null
  psql_q "$TGT_ADMIN" "CREATE DATABASE $TGT_DB" >/dev/null
  # Start every run with no dirty buffers or pending WAL from the previous one.
  psql_q "$TGT_ADMIN" "CHECKPOINT" >/dev/null
  psql_q "$SRC" "CHECKPOINT" >/dev/null
}

# bench_run TOOL RUN — one timed copy; sets RUN_SECONDS, RUN_TREE_KB, RUN_MAX_KB, RUN_OK.
bench_run() {
  local tool=$1 run=$2
  RUN_DIR="$WORK/$tool-$run"
  mkdir -p "$RUN_DIR"
  recreate_target
  local log_file="$RUN_DIR/output.log" t0 pid rc=0
  t0=$(now_s)
  (cd "$RUN_DIR" && "run_${tool//-/_}") >"$log_file" 2>&1 &
  pid=$!
  CURRENT_RUN_PID=$pid
  sample_rss "$pid" "$RUN_DIR/tree_rss" &
  local sampler=$!
  wait "$pid" || rc=$?
  RUN_SECONDS=$(elapsed_s "$t0")
  CURRENT_RUN_PID=""
  wait "$sampler" 2>/dev/null || true
  RUN_TREE_KB=$(cat "$RUN_DIR/tree_rss" 2>/dev/null || echo 0)
  RUN_MAX_KB=0
  if ((HAVE_GNU_TIME)); then
    local f=$RUN_DIR/main.time
    if [[ -f $f ]]; then
      RUN_MAX_KB=$(tail -n 1 "$f")
    elif [[ "$tool" == pgdump ]]; then      # pipe: both sides run at once
      RUN_MAX_KB=$(( $(tail -n 1 "$RUN_DIR/dump.time" 2>/dev/null || echo 0) +
                     $(tail -n 1 "$RUN_DIR/restore.time" 2>/dev/null || echo 0) ))
    else                                   # one step after the other
      local a b
      a=$(tail -n 1 "$RUN_DIR/dump.time" 2>/dev/null || echo 0)
      b=$(tail -n 1 "$RUN_DIR/restore.time" 2>/dev/null || echo 0)
      RUN_MAX_KB=$((a > b ? a : b))
    fi
    [[ "$RUN_MAX_KB" =~ ^[0-9]+$ ]] || RUN_MAX_KB=0
  fi
  RUN_OK=1
  if ((rc != 0)); then
    RUN_OK=0
    printf '\n!!! %s run %d FAILED (exit status %d) after %ss; last lines of its output:\n' \
      "$tool" "$run" "$rc" "$RUN_SECONDS" >&2
    tail -n 25 "$log_file" | sed 's/^/    /' >&2
  else
    local problems
    if ! problems=$(check_copy 2>&1); then
      RUN_OK=0
      printf '\n!!! %s run %d produced a WRONG COPY:\n%s\n' "$tool" "$run" "$problems" | sed 's/^/    /' >&2
    fi
  fi
  if ((!RUN_OK)); then
    cp "$log_file" "$FAILED_LOG_DIR/bench-$tool-run$run.failed.log" 2>/dev/null &&
      printf '    full output kept in %s\n' "$FAILED_LOG_DIR/bench-$tool-run$run.failed.log" >&2
  fi
  rm -rf "$RUN_DIR"     # dumps and work dirs can be big
}

# ------------------------------------------------------------------ results

median() {
  tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "null"; exit }
    if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {   # ratio A B -> A/B with two decimals, "-" if unknown
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "null" || b == "null" || b + 0 == 0) print "-"; else printf "%.2f\n", a / b }'
}

max_of() {
  tr ' ' '\n' | grep -v '^$' | sort -g | tail -n 1
}

json_num_list() {   # "1.0 2.5" -> "[1.0, 2.5]"
  local out="" x
  for x in $1; do out+="${out:+, }$x"; done
  printf '[%s]' "$out"
}

main() {
  local size_gb=2 runs=3 keep=0 out="$ROOT/out/bench.json" only=""
  JOBS=2
  while (($#)); do
    case $1 in
      --size-gb) size_gb=${2:?--size-gb needs a value}; shift ;;
      --size-gb=*) size_gb=${1#*=} ;;
      -j|--jobs) JOBS=${2:?-j needs a value}; shift ;;
      -j*) JOBS=${1#-j} ;;
      --jobs=*) JOBS=${1#*=} ;;
      --runs) runs=${2:?--runs needs a value}; shift ;;
      --runs=*) runs=${1#*=} ;;
      --only) only=${2:?--only needs a value}; shift ;;
      --only=*) only=${1#*=} ;;
      --out) out=${2:?--out needs a value}; shift ;;
      --out=*) out=${1#*=} ;;
      --pgsluice-args) read -r -a PGSLUICE_EXTRA <<<"${2?--pgsluice-args needs a value}"; shift ;;
      --pgsluice-args=*) read -r -a PGSLUICE_EXTRA <<<"${1#*=}" ;;
      --keep) keep=1 ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
  done
  if ! [[ "$size_gb" =~ ^[0-9]*\.?[0-9]+$ ]] || ! awk -v s="$size_gb" 'BEGIN { exit !(s > 0) }'; then
    die "--size-gb must be a positive number (got '$size_gb')"
  fi
  [[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "-j must be a positive integer (got '$JOBS')"
  [[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer (got '$runs')"

  local tools=() t
  if [[ -n "$only" ]]; then
    IFS=',' read -r -a tools <<<"$only"
    for t in "${tools[@]}"; do
      [[ " ${ALL_TOOLS[*]} " == *" $t "* ]] || die "--only: unknown tool '$t' (known: ${ALL_TOOLS[*]})"
    done
  else
    tools=("${ALL_TOOLS[@]}")
  fi

  _require_pg_bin
  export PATH="$PG_BIN:$PATH"     # pg_dump, pg_restore and what pgcopydb runs: the servers' version
  PGSLUICE=${PGSLUICE_BIN:-$ROOT/build/pgsluice}
  for t in "${tools[@]}"; do
    case $t in
      pgsluice|pgsluice-rules)
        if [[ ! -x "$PGSLUICE" ]]; then
          log "$PGSLUICE is missing: building it with scripts/setup.sh --target pgsluice"
          "$ROOT/scripts/setup.sh" --target pgsluice
          [[ -x "$PGSLUICE" ]] || die "$PGSLUICE is still missing"
        fi ;;
      pgcopydb) command -v pgcopydb >/dev/null 2>&1 || die "pgcopydb is not installed (scripts/setup.sh --no-build installs it)" ;;
    esac
  done
  ((HAVE_GNU_TIME)) || warn "/usr/bin/time (package 'time') not found: no max RSS figures"

  # Scale 1 of the demo generator is ~308 MiB on disk.
  local scale
  scale=$(awk -v g="$size_gb" 'BEGIN { printf "%.4g\n", g * 1024 / 308 }')

  ((keep)) && cluster_keep
  log "starting the source and target servers"
  cluster_start source
  cluster_start target
  SRC=$(cluster_uri source bench)
  TGT_DB=bench_target
  TGT=$(cluster_uri target "$TGT_DB")
  TGT_ADMIN=$(cluster_uri target postgres)
  psql_q "$(cluster_uri source)" "CREATE DATABASE bench" >/dev/null

  log "building the source database: ~${size_gb} GiB (demo generator at scale $scale)"
  local t0 gen_s src_bytes
  t0=$(now_s)
  load_demo_data "$SRC" "$scale" >/dev/null
  gen_s=$(elapsed_s "$t0")
  src_bytes=$(db_size "$SRC")
  local src_stats
  src_stats=$(table_stats "$SRC")
  SRC_ROWS=$(cut -f1,2 <<<"$src_stats")
  SRC_SCHEMA=$(schema_summary "$SRC")
  log "source: $(human_bytes "$src_bytes") in ${gen_s}s; $SRC_SCHEMA"
  awk -F'\t' '{ printf "      %-36s %12s rows %10.1f MiB\n", $1, $2, $3 / 1048576 }' <<<"$src_stats" >&2

  WORK=$(mktemp -d "${PGSLUICE_TMPDIR:-${TMPDIR:-/tmp}}/pgsluice-bench.XXXXXX")
  at_exit "rm -rf '$WORK'"
  mkdir -p "$(dirname "$out")"
  FAILED_LOG_DIR=$(cd "$(dirname "$out")" && pwd)

  local -A secs=() tree=() maxrss=() failed=()
  local run
  for ((run = 1; run <= runs; run++)); do
    for t in "${tools[@]}"; do
      log "run $run/$runs: $(tool_label "$t")"
      bench_run "$t" "$run"
      if ((RUN_OK)); then
        secs[$t]+="$RUN_SECONDS "
        tree[$t]+="$RUN_TREE_KB "
        maxrss[$t]+="$RUN_MAX_KB "
        log "    ${RUN_SECONDS}s, peak RSS $((RUN_TREE_KB / 1024)) MiB (tree), $((RUN_MAX_KB / 1024)) MiB (max process)"
      else
        failed[$t]=$(( ${failed[$t]:-0} + 1 ))
      fi
    done
  done

  # ---- table
  local med_copydb="" med_dump=""
  [[ -n "${secs[pgcopydb]:-}" ]] && med_copydb=$(median <<<"${secs[pgcopydb]}")
  [[ -n "${secs[pgdump]:-}" ]] && med_dump=$(median <<<"${secs[pgdump]}")

  echo
  printf 'Source: %s (%s rows in %d tables), -j %s, %s run(s) each, PostgreSQL %s, %s CPUs\n' \
    "$(human_bytes "$src_bytes")" "$(awk -F'\t' '{ s += $2 } END { print s }' <<<"$src_stats")" \
    "$(wc -l <<<"$src_stats")" "$JOBS" "$runs" "$(cluster_pg_version)" "$(nproc 2>/dev/null || echo '?')"
  echo
  printf '%-30s %9s  %-24s %9s %9s %11s %10s\n' tool "median s" "runs (s)" "vs copydb" "vs dump" "peak RSS" "max RSS"
  printf '%-30s %9s  %-24s %9s %9s %11s %10s\n' "$(printf '%.0s-' {1..30})" --------- \
    ------------------------ --------- --------- ----------- ----------
  local any_failed=0 med runs_s tree_mib max_mib status
  local json_tools=""
  for t in "${tools[@]}"; do
    if [[ -n "${secs[$t]:-}" ]]; then
      med=$(median <<<"${secs[$t]}")
      runs_s=${secs[$t]% }
      tree_mib=$(( $(max_of <<<"${tree[$t]}") / 1024 ))
      max_mib=$(( $(max_of <<<"${maxrss[$t]}") / 1024 ))
    else
      med=null; runs_s=""; tree_mib=0; max_mib=0
    fi
    status=ok
    if [[ -n "${failed[$t]:-}" ]]; then
      status="FAILED ${failed[$t]}/$runs"
      any_failed=1
    fi
    printf '%-30s %9s  %-24s %9s %9s %7s MiB %6s MiB%s\n' "$(tool_label "$t")" \
      "$( [[ $med == null ]] && echo - || echo "$med")" "${runs_s// /, }" \
      "$(ratio "$med" "$med_copydb")" "$(ratio "$med" "$med_dump")" "$tree_mib" "$max_mib" \
      "$( [[ $status == ok ]] || echo "  <-- $status")"
    json_tools+="${json_tools:+,
}    {\"tool\": \"$t\", \"command\": \"$(tool_label "$t")\", \"version\": \"$(tool_version "$t" | sed 's/["\\]//g')\",
     \"status\": \"$status\", \"median_seconds\": $med, \"runs_seconds\": $(json_num_list "$runs_s"),
     \"ratio_vs_pgcopydb\": $(r=$(ratio "$med" "$med_copydb"); [[ $r == - ]] && echo null || echo "$r"),
     \"ratio_vs_pgdump\": $(r=$(ratio "$med" "$med_dump"); [[ $r == - ]] && echo null || echo "$r"),
     \"peak_tree_rss_mib\": $tree_mib, \"max_process_rss_mib\": $max_mib}"
  done
  echo
  echo "vs copydb / vs dump: median time divided by pgcopydb's / pg_dump -Fc | pg_restore's (below 1 = faster)."

  # ---- JSON
  local json_tables
  json_tables=$(awk -F'\t' 'BEGIN { ORS = "" } { printf "%s\n    {\"table\": \"%s\", \"rows\": %s, \"bytes\": %s}", (NR > 1 ? "," : ""), $1, $2, $3 }' <<<"$src_stats")
  cat >"$out" <<EOF
{
  "benchmark": "pgsluice scripts/bench.sh",
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "host": {"cpus": $(nproc 2>/dev/null || echo 0), "postgresql": "$(cluster_pg_version)"},
  "jobs": $JOBS,
  "runs": $runs,
  "source": {"size_gb_requested": $size_gb, "scale": $scale, "bytes": $src_bytes,
             "generate_seconds": $gen_s, "schema": "$SRC_SCHEMA", "tables": [$json_tables
  ]},
  "results": [
$json_tools
  ]
}
EOF
  log "results written to $out"

  if ((any_failed)); then
    die "at least one tool FAILED or produced a wrong copy (see above)"
  fi
}

main "$@"
