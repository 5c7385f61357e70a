#!/usr/bin/env bash
# scripts/bench.sh — pgsluice copy against pgcopydb and pg_dump | pg_restore, and pgsluice
# dump / restore against pg_dump / pg_restore; same data, same -j.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/cluster.sh
. "$ROOT/scripts/lib/cluster.sh"

COPY_TOOLS=(pgsluice pgsluice-rules pgcopydb pgdump pgdump-dir)
ARCHIVE_TOOLS=(pgsluice-dump pgdump-fc pgsluice-restore pgsluice-restore-pipe pgsluice-restore-noanalyze
  pgrestore-dir)
ALL_TOOLS=("${COPY_TOOLS[@]}" "${ARCHIVE_TOOLS[@]}")

# Targets of issue #4 (pgsluice / pg_dump or pg_restore; at most this).
TARGET_DUMP_TIME=0.2       # pgsluice-dump vs pgdump-fc, median time
TARGET_DUMP_SIZE=0.85      # pgsluice archive bytes vs pg_dump -Fc file bytes
TARGET_RESTORE_TIME=0.7    # pgsluice-restore (and -pipe, -noanalyze) vs pgrestore-dir, median time
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

The archive tools time one half of a dump and restore each (issue #4):

  pgsluice-dump          build/pgsluice dump --source S -f WORKDIR/FILE -j N --progress none
  pgdump-fc              pg_dump -Fc -f WORKDIR/FILE S          (default compression)
  pgsluice-restore       build/pgsluice restore --target T -f ARCHIVE -j N --progress none
  pgsluice-restore-pipe  cat ARCHIVE | build/pgsluice restore --target T -f - -j N ...
  pgsluice-restore-noanalyze
                         build/pgsluice restore --target T -f ARCHIVE -j N --progress none
                           --skip-analyze         (no ANALYZE: the same work as pg_restore)
  pgrestore-dir          pg_restore -j N --no-owner -d T DIRARCHIVE

The restore tools read archives written once, untimed, before the first run (a
pgsluice dump -j N and a pg_dump -Fd -j N of the source); every restore goes into a
freshly created empty database, and only the restore is timed. The summary gives
the ratios issue #4 sets targets for: dump time pgsluice-dump / pgdump-fc (<= $TARGET_DUMP_TIME),
archive size pgsluice / pg_dump -Fc bytes (<= $TARGET_DUMP_SIZE), restore time
pgsluice-restore(-pipe, -noanalyze) / pgrestore-dir (<= $TARGET_RESTORE_TIME).

The tools do not do quite the same work: pgcopydb also VACUUM ANALYZEs every table
on the target, pgsluice copy and restore ANALYZE it (copy not if told --skip-analyze
through --pgsluice-args, restore not in pgsluice-restore-noanalyze), pg_restore does
neither; pgsluice-restore-noanalyze / pgrestore-dir is the same-work restore ratio.

Every copy and restore is checked (row count of every table, number of indexes and
constraints equal to the source), every dump archive too (pgsluice inspect,
pg_restore -l); a failed or wrong one is reported loudly and makes the script exit
1. Prints the median wall time per tool, every run, the ratio to pgcopydb and to
pg_dump|pg_restore (copy tools), the archive ratios (archive tools), and peak
memory, and writes it all as JSON.

Options:
  --size-gb N        approximate source database size in GiB (default 2; fractions
                     such as 0.05 for a quick smoke test)
  -j, --jobs N       parallel jobs given to every tool (default 2)
  --runs N           runs per tool (default 3); the median is reported
  --only LIST        only these tools (comma separated; default all of them):
                       copy:    ${COPY_TOOLS[*]}
                       archive: ${ARCHIVE_TOOLS[*]}
                     ("pgdump" runs the streamed pipe, "pgdump-dir" the -Fd -j variant;
                     "copy" and "archive" stand for their whole group)
  --out FILE         JSON results (default: out/bench.json in the repository)
  --pgsluice-args S  extra arguments appended to the pgsluice copy command
                     (split on spaces), e.g. "--skip-analyze"
  --keep             leave both servers running and the work directory with the
                     archives in place at the end (prints how to stop / remove them)
  -h, --help         show this help

Memory: "peak RSS" is the sampled peak of the summed RSS of the tool's whole process
tree (every 0.2 s; shared pages of forked workers count once per process). "max RSS"
is GNU time's figure: the largest single process (pgdump's pipe: both sides added up;
cat | pgsluice restore: pgsluice alone). The servers' memory is not included in either.

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

# The archive tools. A dump writes into its run directory ($RUN_DIR/ARCHIVE_NAME); a
# restore reads the archives prepare_archives wrote once ($PGSLUICE_ARCHIVE,
# $PGDUMP_DIR_ARCHIVE).

run_pgsluice_dump() {
  timed main "$PGSLUICE" dump --source "$SRC" -f "$RUN_DIR/$(archive_name pgsluice-dump)" \
    -j "$JOBS" --progress none
}

run_pgdump_fc() {
  timed main pg_dump -Fc -f "$RUN_DIR/$(archive_name pgdump-fc)" "$SRC"
}

run_pgsluice_restore() {
  timed main "$PGSLUICE" restore --target "$TGT" -f "$PGSLUICE_ARCHIVE" -j "$JOBS" --progress none
}

# The same from a pipe: the reader can only go forward.
run_pgsluice_restore_pipe() {
  # shellcheck disable=SC2002   # the cat is the point: standard input is not a file
  cat "$PGSLUICE_ARCHIVE" |
    timed main "$PGSLUICE" restore --target "$TGT" -f - -j "$JOBS" --progress none
}

# pgsluice restore without its ANALYZE: the same work as pg_restore.
run_pgsluice_restore_noanalyze() {
  timed main "$PGSLUICE" restore --target "$TGT" -f "$PGSLUICE_ARCHIVE" -j "$JOBS" --progress none \
    --skip-analyze
}

run_pgrestore_dir() {
  timed main pg_restore -j "$JOBS" --no-owner -d "$TGT" "$PGDUMP_DIR_ARCHIVE"
}

# tool_kind TOOL — copy (source -> target), dump (source -> archive) or restore
# (archive -> target).
tool_kind() {
  case $1 in
    pgsluice-dump|pgdump-fc) echo dump ;;
    pgsluice-restore|pgsluice-restore-pipe|pgsluice-restore-noanalyze|pgrestore-dir) echo restore ;;
    *) echo copy ;;
  esac
}

# archive_name DUMPTOOL — the file a dump tool writes in its run directory.
archive_name() {
  case $1 in
    pgsluice-dump) echo bench.pgs ;;
    pgdump-fc) echo bench.dump ;;
  esac
}

# path_bytes PATH — bytes of a file, or of all the files under a directory.
path_bytes() {
  find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

tool_version() {
  case $1 in
    pgsluice|pgsluice-rules|pgsluice-dump|pgsluice-restore|pgsluice-restore-pipe|pgsluice-restore-noanalyze)
      "$PGSLUICE" --version 2>/dev/null | head -n 1 || echo unknown ;;
    pgcopydb) pgcopydb --version 2>/dev/null | grep -m1 -o 'version .*' || echo unknown ;;
    pgdump|pgdump-dir|pgdump-fc) pg_dump --version ;;
    pgrestore-dir) pg_restore --version ;;
  esac
}

tool_label() {
  case $1 in
    pgsluice) echo "pgsluice copy${PGSLUICE_EXTRA[*]:+ ${PGSLUICE_EXTRA[*]}}" ;;
    pgsluice-rules) echo "pgsluice copy --rules" ;;
    pgcopydb) echo "pgcopydb clone" ;;
    pgdump) echo "pg_dump -Fc | pg_restore" ;;
    pgdump-dir) echo "pg_dump -Fd -j | pg_restore -j" ;;
    pgsluice-dump) echo "pgsluice dump" ;;
    pgdump-fc) echo "pg_dump -Fc" ;;
    pgsluice-restore) echo "pgsluice restore" ;;
    pgsluice-restore-pipe) echo "cat | pgsluice restore -f -" ;;
    pgsluice-restore-noanalyze) echo "pgsluice restore --skip-analyze" ;;
    pgrestore-dir) echo "pg_restore -j (of pg_dump -Fd)" ;;
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

# check_archive TOOL FILE — does the archive a dump tool wrote read back as complete?
# Prints the problem and returns 1 if not.
check_archive() {
  local tool=$1 file=$2 rc=0
  if [[ ! -s "$file" ]]; then
    echo "no archive was written ($file is missing or empty)"
    return 1
  fi
  case $tool in
    pgsluice-dump) "$PGSLUICE" inspect "$file" >/dev/null 2>"$RUN_DIR/check.log" || rc=$? ;;
    pgdump-fc) pg_restore -l "$file" >/dev/null 2>"$RUN_DIR/check.log" || rc=$? ;;
  esac
  if ((rc != 0)); then
    echo "the archive does not read back (exit status $rc):"
    tail -n 10 "$RUN_DIR/check.log"
    return 1
  fi
}

# ------------------------------------------------------------------ archives for the restores

PGSLUICE_ARCHIVE="" PGSLUICE_ARCHIVE_BYTES=""
PGDUMP_DIR_ARCHIVE="" PGDUMP_DIR_ARCHIVE_BYTES=""
PREP_FAILED=""     # restore tools whose archive could not be written

# prep_failed WHAT LOGFILE TOOL... — report a failed archive; TOOLs will not run.
prep_failed() {
  local what=$1 log_file=$2 kept
  shift 2
  printf '\n!!! %s FAILED: the restore benchmarks %s cannot run; last lines of its output:\n' \
    "$what" "$*" >&2
  tail -n 25 "$log_file" | sed 's/^/    /' >&2
  kept="$FAILED_LOG_DIR/bench-$1-archive.failed.log"
  cp "$log_file" "$kept" 2>/dev/null && printf '    full output kept in %s\n' "$kept" >&2
  PREP_FAILED+=" $* "
}

# prepare_archives TOOL... — write, once and untimed, the archives the selected restore
# tools read: a pgsluice dump and a pg_dump -Fd, both -j $JOBS, into $WORK/archives.
prepare_archives() {
  local need_pgs=0 need_dir=0 t log_file
  for t; do
    case $t in
      pgsluice-restore|pgsluice-restore-pipe|pgsluice-restore-noanalyze) need_pgs=1 ;;
      pgrestore-dir) need_dir=1 ;;
    esac
  done
  ((need_pgs || need_dir)) || return 0
  mkdir -p "$WORK/archives"
  recreate_target
  if ((need_pgs)); then
    PGSLUICE_ARCHIVE=$WORK/archives/restore-input.pgs
    log_file=$WORK/archives/restore-input.pgs.log
    log "writing the archive the pgsluice restores read (not timed): pgsluice dump -j $JOBS"
    if "$PGSLUICE" dump --source "$SRC" -f "$PGSLUICE_ARCHIVE" -j "$JOBS" --progress none \
      >"$log_file" 2>&1; then
      PGSLUICE_ARCHIVE_BYTES=$(path_bytes "$PGSLUICE_ARCHIVE")
      log "    $(human_bytes "$PGSLUICE_ARCHIVE_BYTES")"
    else
      prep_failed "pgsluice dump" "$log_file" pgsluice-restore pgsluice-restore-pipe \
        pgsluice-restore-noanalyze
    fi
  fi
  if ((need_dir)); then
    PGDUMP_DIR_ARCHIVE=$WORK/archives/restore-input.dir
    log_file=$WORK/archives/restore-input.dir.log
    log "writing the archive pg_restore reads (not timed): pg_dump -Fd -j $JOBS"
    if pg_dump -Fd -j "$JOBS" -f "$PGDUMP_DIR_ARCHIVE" "$SRC" >"$log_file" 2>&1; then
      PGDUMP_DIR_ARCHIVE_BYTES=$(path_bytes "$PGDUMP_DIR_ARCHIVE")
      log "    $(human_bytes "$PGDUMP_DIR_ARCHIVE_BYTES")"
    else
      prep_failed "pg_dump -Fd" "$log_file" pgrestore-dir
    fi
  fi
}

# ------------------------------------------------------------------ one run

recreate_target() {
  PGOPTIONS="-c client_min_messages=warning" psql_q "$TGT_ADMIN" "DROP DATABASE IF EXISTS $TGT_DB WITH (FORCE)" >/dev/null
  psql_q "$TGT_ADMIN" "CREATE DATABASE $TGT_DB" >/dev/null
  # Start every run with no dirty buffers or pending WAL from the previous one.
  psql_q "$TGT_ADMIN" "CHECKPOINT" >/dev/null
  psql_q "$SRC" "CHECKPOINT" >/dev/null
}

# bench_run TOOL RUN — one timed copy, dump or restore; sets RUN_SECONDS, RUN_TREE_KB,
# RUN_MAX_KB, RUN_OK and, for a dump, RUN_ARCHIVE_BYTES. Every run starts from a fresh
# empty target database (for a dump too: that also stops what the last run left going
# there, such as autovacuum).
bench_run() {
  local tool=$1 run=$2 kind
  kind=$(tool_kind "$tool")
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
  elif [[ $kind == dump ]]; then
    local problems archive
    archive="$RUN_DIR/$(archive_name "$tool")"
    RUN_ARCHIVE_BYTES=$(path_bytes "$archive")
    if ! problems=$(check_archive "$tool" "$archive" 2>&1); then
      RUN_OK=0
      printf '\n!!! %s run %d produced a BAD ARCHIVE:\n%s\n' "$tool" "$run" "$problems" | sed 's/^/    /' >&2
    elif ((KEEP)); then       # keep the last run's archive
      mv -f "$archive" "$WORK/archives/$tool-$(archive_name "$tool")"
    fi
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

ratio() {   # ratio A B [DECIMALS] -> A/B with two (or DECIMALS) decimals, "-" if unknown
  awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { if (a == "" || b == "" || a == "null" || b == "null" || b + 0 == 0) print "-"; else printf "%.*f\n", d, a / b }'
}

json_ratio() {   # json_ratio A B [DECIMALS] -> A/B, or null if unknown
  local r
  r=$(ratio "$@")
  [[ $r == - ]] && echo null || echo "$r"
}

meets() {   # meets A B TARGET -> true if A/B <= TARGET, false if not, null if unknown
  awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { if (a == "" || b == "" || a == "null" || b == "null" || b + 0 == 0) print "null"; else print (a / b <= t ? "true" : "false") }'
}

median_int() {   # median rounded to a whole number ("null" if none)
  median | awk '{ if ($1 == "null") print "null"; else printf "%.0f\n", $1 }'
}

# archive_line WHAT A B TARGET UNIT — one line of the archive summary: A/B against TARGET.
archive_line() {
  local what=$1 a=$2 b=$3 target=$4 unit=$5 r met detail
  [[ $a == null ]] && a=""
  [[ $b == null ]] && b=""
  r=$(ratio "$a" "$b")
  case $(meets "$a" "$b" "$target") in
    true) met=met ;;
    false) met=MISSED ;;
    *) met="not measured" ;;
  esac
  if [[ $unit == bytes ]]; then
    detail="$( [[ -n $a ]] && human_bytes "$a" || echo -) / $( [[ -n $b ]] && human_bytes "$b" || echo -)"
  else
    detail="${a:--} s / ${b:--} s"
  fi
  printf '  %-70s %6s  %-26s target <= %-5s %s\n' "$what" "$r" "($detail)" "$target" "$met"
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

  KEEP=$keep
  local tools=() t listed=() expanded=()
  if [[ -n "$only" ]]; then
    IFS=',' read -r -a listed <<<"$only"
    for t in "${listed[@]}"; do
      case $t in
        copy) expanded+=("${COPY_TOOLS[@]}") ;;
        archive) expanded+=("${ARCHIVE_TOOLS[@]}") ;;
        *)
          [[ " ${ALL_TOOLS[*]} " == *" $t "* ]] ||
            die "--only: unknown tool '$t' (known: ${ALL_TOOLS[*]}, or the groups copy, archive)"
          expanded+=("$t") ;;
      esac
    done
    for t in "${expanded[@]}"; do      # each tool once, in the order given
      [[ " ${tools[*]} " == *" $t "* ]] || tools+=("$t")
    done
  else
    tools=("${ALL_TOOLS[@]}")
  fi

  _require_pg_bin
  export PATH="$PG_BIN:$PATH"     # pg_dump, pg_restore and what pgcopydb runs: the servers' version
  PGSLUICE=${PGSLUICE_BIN:-$ROOT/build/pgsluice}
  for t in "${tools[@]}"; do
    case $t in
      pgsluice|pgsluice-rules|pgsluice-dump|pgsluice-restore|pgsluice-restore-pipe|\
      pgsluice-restore-noanalyze)
        if [[ ! -x "$PGSLUICE" ]]; then
          log "$PGSLUICE is missing: building it with scripts/setup.sh --target pgsluice"
          "$ROOT/scripts/setup.sh" --target pgsluice
          [[ -x "$PGSLUICE" ]] || die "$PGSLUICE is still missing"
        fi
        if [[ $(tool_kind "$t") != copy ]]; then
          local sub
          for sub in dump restore inspect; do
            "$PGSLUICE" --help 2>/dev/null | grep -Eq "^ +$sub +" ||
              die "$PGSLUICE has no '$sub' command (rebuild it, or set PGSLUICE_BIN)"
          done
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
  if ((keep)); then
    mkdir -p "$WORK/archives"
    at_exit "log 'work directory (archives in archives/) kept: $WORK (rm -rf it when done)'"
  else
    at_exit "rm -rf '$WORK'"
  fi
  mkdir -p "$(dirname "$out")"
  FAILED_LOG_DIR=$(cd "$(dirname "$out")" && pwd)

  prepare_archives "${tools[@]}"

  local -A secs=() tree=() maxrss=() failed=() abytes=()
  local run
  for ((run = 1; run <= runs; run++)); do
    for t in "${tools[@]}"; do
      if [[ "$PREP_FAILED" == *" $t "* ]]; then     # its archive could not be written
        failed[$t]=$(( ${failed[$t]:-0} + 1 ))
        continue
      fi
      log "run $run/$runs: $(tool_label "$t")"
      bench_run "$t" "$run"
      if ((RUN_OK)); then
        secs[$t]+="$RUN_SECONDS "
        tree[$t]+="$RUN_TREE_KB "
        maxrss[$t]+="$RUN_MAX_KB "
        local size_note=""
        if [[ $(tool_kind "$t") == dump ]]; then
          abytes[$t]+="$RUN_ARCHIVE_BYTES "
          size_note=", archive $(human_bytes "$RUN_ARCHIVE_BYTES")"
        fi
        log "    ${RUN_SECONDS}s$size_note, peak RSS $((RUN_TREE_KB / 1024)) MiB (tree), $((RUN_MAX_KB / 1024)) MiB (max process)"
      else
        failed[$t]=$(( ${failed[$t]:-0} + 1 ))
      fi
    done
  done

  # ---- table
  local med_copydb="" med_dump=""
  [[ -n "${secs[pgcopydb]:-}" ]] && med_copydb=$(median <<<"${secs[pgcopydb]}")
  [[ -n "${secs[pgdump]:-}" ]] && med_dump=$(median <<<"${secs[pgdump]}")
  # The archive tools' baselines: pg_dump -Fc for the dumps, pg_restore -j for the restores.
  local med_fc="" med_pgrestore="" bytes_fc=""
  [[ -n "${secs[pgdump-fc]:-}" ]] && med_fc=$(median <<<"${secs[pgdump-fc]}")
  [[ -n "${secs[pgrestore-dir]:-}" ]] && med_pgrestore=$(median <<<"${secs[pgrestore-dir]}")
  [[ -n "${abytes[pgdump-fc]:-}" ]] && bytes_fc=$(median_int <<<"${abytes[pgdump-fc]}")

  echo
  printf 'Source: %s (%s rows in %d tables), -j %s, %s run(s) each, PostgreSQL %s, %s CPUs\n' \
    "$(human_bytes "$src_bytes")" "$(awk -F'\t' '{ s += $2 } END { print s }' <<<"$src_stats")" \
    "$(wc -l <<<"$src_stats")" "$JOBS" "$runs" "$(cluster_pg_version)" "$(nproc 2>/dev/null || echo '?')"
  echo
  printf '%-31s %9s  %-24s %9s %9s %11s %10s\n' tool "median s" "runs (s)" "vs copydb" "vs dump" "peak RSS" "max RSS"
  printf '%-31s %9s  %-24s %9s %9s %11s %10s\n' "$(printf '%.0s-' {1..31})" --------- \
    ------------------------ --------- --------- ----------- ----------
  local any_failed=0 med runs_s tree_mib max_mib status kind base_copydb base_dump json_extra
  local json_tools="" any_archive=0
  local -A med_of=() bytes_of=()
  for t in "${tools[@]}"; do
    kind=$(tool_kind "$t")
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
    # The copy baselines say nothing about half a dump and restore: the archive tools
    # are compared in their own summary below.
    base_copydb=$med_copydb base_dump=$med_dump json_extra=""
    if [[ $kind != copy ]]; then
      base_copydb="" base_dump="" any_archive=1
      med_of[$t]=$med
    fi
    case $kind in
      dump)
        local abytes_med=null
        [[ -n "${abytes[$t]:-}" ]] && abytes_med=$(median_int <<<"${abytes[$t]}")
        bytes_of[$t]=$abytes_med
        json_extra=",
     \"archive_bytes\": $abytes_med, \"runs_archive_bytes\": $(json_num_list "${abytes[$t]:-}"),
     \"ratio_vs_pgdump_fc\": $(json_ratio "$med" "$med_fc"),
     \"size_ratio_vs_pgdump_fc\": $(json_ratio "$abytes_med" "$bytes_fc" 3)" ;;
      restore)
        local in_bytes=$PGSLUICE_ARCHIVE_BYTES
        [[ $t == pgrestore-dir ]] && in_bytes=$PGDUMP_DIR_ARCHIVE_BYTES
        json_extra=",
     \"input_archive_bytes\": ${in_bytes:-null},
     \"ratio_vs_pgrestore_dir\": $(json_ratio "$med" "$med_pgrestore")" ;;
    esac
    printf '%-31s %9s  %-24s %9s %9s %7s MiB %6s MiB%s\n' "$(tool_label "$t")" \
      "$( [[ $med == null ]] && echo - || echo "$med")" "${runs_s// /, }" \
      "$(ratio "$med" "$base_copydb")" "$(ratio "$med" "$base_dump")" "$tree_mib" "$max_mib" \
      "$( [[ $status == ok ]] || echo "  <-- $status")"
    json_tools+="${json_tools:+,
}    {\"tool\": \"$t\", \"kind\": \"$kind\", \"command\": \"$(tool_label "$t")\", \"version\": \"$(tool_version "$t" | sed 's/["\\]//g')\",
     \"status\": \"$status\", \"median_seconds\": $med, \"runs_seconds\": $(json_num_list "$runs_s"),
     \"ratio_vs_pgcopydb\": $(json_ratio "$med" "$base_copydb"),
     \"ratio_vs_pgdump\": $(json_ratio "$med" "$base_dump"),
     \"peak_tree_rss_mib\": $tree_mib, \"max_process_rss_mib\": $max_mib$json_extra}"
  done
  echo
  echo "vs copydb / vs dump: median time divided by pgcopydb's / pg_dump -Fc | pg_restore's (below 1 = faster)."

  # ---- archive summary (issue #4)
  local json_archive="null"
  if ((any_archive)); then
    local m_dump=${med_of[pgsluice-dump]:-} m_restore=${med_of[pgsluice-restore]:-}
    local m_pipe=${med_of[pgsluice-restore-pipe]:-} b_pgs=${bytes_of[pgsluice-dump]:-}
    local m_noan=${med_of[pgsluice-restore-noanalyze]:-}
    echo
    echo "Archives: pgsluice against pg_dump / pg_restore, -j $JOBS (issue #4 targets; below 1 = faster / smaller):"
    archive_line "dump time: pgsluice dump / pg_dump -Fc" "$m_dump" "$med_fc" "$TARGET_DUMP_TIME" s
    archive_line "archive size: pgsluice dump / pg_dump -Fc" "$b_pgs" "$bytes_fc" "$TARGET_DUMP_SIZE" bytes
    archive_line "restore time: pgsluice restore / pg_restore -j" "$m_restore" "$med_pgrestore" \
      "$TARGET_RESTORE_TIME" s
    archive_line "restore time: pgsluice restore -f - / pg_restore -j" "$m_pipe" "$med_pgrestore" \
      "$TARGET_RESTORE_TIME" s
    archive_line "restore time, same work as pg_restore (--skip-analyze) / pg_restore -j" \
      "$m_noan" "$med_pgrestore" "$TARGET_RESTORE_TIME" s
    if [[ -n $PGSLUICE_ARCHIVE_BYTES || -n $PGDUMP_DIR_ARCHIVE_BYTES ]]; then
      printf '  restored archives (written once, untimed): pgsluice %s, pg_dump -Fd %s\n' \
        "$( [[ -n $PGSLUICE_ARCHIVE_BYTES ]] && human_bytes "$PGSLUICE_ARCHIVE_BYTES" || echo -)" \
        "$( [[ -n $PGDUMP_DIR_ARCHIVE_BYTES ]] && human_bytes "$PGDUMP_DIR_ARCHIVE_BYTES" || echo -)"
    fi
    json_archive="{
    \"dump_time\": {\"tool\": \"pgsluice-dump\", \"baseline\": \"pgdump-fc\", \"ratio\": $(json_ratio "$m_dump" "$med_fc"),
                  \"target\": $TARGET_DUMP_TIME, \"met\": $(meets "$m_dump" "$med_fc" "$TARGET_DUMP_TIME")},
    \"archive_size\": {\"tool\": \"pgsluice-dump\", \"baseline\": \"pgdump-fc\", \"ratio\": $(json_ratio "$b_pgs" "$bytes_fc" 3),
                     \"bytes\": ${b_pgs:-null}, \"baseline_bytes\": ${bytes_fc:-null},
                     \"target\": $TARGET_DUMP_SIZE, \"met\": $(meets "$b_pgs" "$bytes_fc" "$TARGET_DUMP_SIZE")},
    \"restore_time\": {\"tool\": \"pgsluice-restore\", \"baseline\": \"pgrestore-dir\", \"ratio\": $(json_ratio "$m_restore" "$med_pgrestore"),
                     \"target\": $TARGET_RESTORE_TIME, \"met\": $(meets "$m_restore" "$med_pgrestore" "$TARGET_RESTORE_TIME")},
    \"restore_pipe_time\": {\"tool\": \"pgsluice-restore-pipe\", \"baseline\": \"pgrestore-dir\", \"ratio\": $(json_ratio "$m_pipe" "$med_pgrestore"),
                          \"target\": $TARGET_RESTORE_TIME, \"met\": $(meets "$m_pipe" "$med_pgrestore" "$TARGET_RESTORE_TIME")},
    \"restore_time_no_analyze\": {\"tool\": \"pgsluice-restore-noanalyze\", \"baseline\": \"pgrestore-dir\", \"ratio\": $(json_ratio "$m_noan" "$med_pgrestore"),
                                \"target\": $TARGET_RESTORE_TIME, \"met\": $(meets "$m_noan" "$med_pgrestore" "$TARGET_RESTORE_TIME")},
    \"restore_inputs\": {\"pgsluice_archive_bytes\": ${PGSLUICE_ARCHIVE_BYTES:-null},
                       \"pgdump_dir_archive_bytes\": ${PGDUMP_DIR_ARCHIVE_BYTES:-null}}
  }"
  fi

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
  ],
  "archive_ratios": $json_archive
}
EOF
  log "results written to $out"

  if ((any_failed)); then
    die "at least one tool FAILED or produced a wrong copy or archive (see above)"
  fi
}

main "$@"
