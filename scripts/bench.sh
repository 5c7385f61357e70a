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
EXTRA_TOOLS=(pgrestore-fc pgsluice-subset)  # known to --only, not run by default (--subset adds the second)
ALL_TOOLS=("${COPY_TOOLS[@]}" "${ARCHIVE_TOOLS[@]}" "${EXTRA_TOOLS[@]}")
# --tables N: the tools run by default, and the ones --only may pick.
TABLES_TOOLS=(pgsluice pgdump pgcopydb)
TABLES_ALLOWED=(pgsluice pgcopydb pgdump pgdump-dir)
# --wide-rows: every tool that touches the wide rows (copy, dump, restore, and pg_dump's).
WIDE_TOOLS=(pgsluice pgsluice-rules pgsluice-dump pgsluice-restore pgsluice-restore-pipe pgdump-fc
  pgrestore-fc)

# Targets of issue #4 (pgsluice / pg_dump or pg_restore; at most this).
TARGET_DUMP_TIME=0.2       # pgsluice-dump vs pgdump-fc, median time
TARGET_DUMP_SIZE=0.85      # pgsluice archive bytes vs pg_dump -Fc file bytes
TARGET_RESTORE_TIME=0.7    # pgsluice-restore (and -pipe, -noanalyze) vs pgrestore-dir, median time
# Target of issue #12 (--tables): pgsluice copy / pg_dump -Fc | pg_restore, median time.
TARGET_MANY_TABLES=0.5
# Bound of the memory issue (--wide-rows): peak RSS at most this many MiB + 2 x the largest row.
WIDE_BASE_MIB=256
TABLES_LOCKS=1024          # max_locks_per_transaction of both servers with --tables
PGSLUICE_EXTRA=()
MODE=size                  # size (the default), tables (--tables N) or wide (--wide-rows)
RULES_FILE=$ROOT/scripts/sql/bench_rules.yaml
# --subset (issue #13): 1% of the users and what follows them; metrics_timeseries (no foreign
# key) stays whole.
SUBSET_ARGS=(--subset 'public.accounts_user:id % 100 = 0')
declare -A FAIL_MSG=()     # tool -> the last line of its last failure

usage() {
  cat <<EOF
Usage: scripts/bench.sh [options]

Builds a production-like source database once on a throwaway server (the demo
generator, scripts/sql/demo_data.sql, at a larger scale: one big e-mail table, one
multi-million-row numeric time series at the default size), then copies it with
each tool into a fresh empty database on a second throwaway server, --runs times,
tools interleaved run by run:

  pgsluice    build/pgsluice copy --source S --target T -j N --no-owner --progress none
  pgcopydb    pgcopydb clone --source S --target T --table-jobs N --index-jobs N
                --dir WORKDIR --no-owner
  pgdump      pg_dump -Fc S | pg_restore --no-owner -d T        (one job, streamed)
  pgdump-dir  pg_dump -Fd -j N -f DIR S; pg_restore -j N --no-owner -d T DIR

The archive tools time one half of a dump and restore each (issue #4):

  pgsluice-dump          build/pgsluice dump --source S -f WORKDIR/FILE -j N --progress none
  pgdump-fc              pg_dump -Fc -f WORKDIR/FILE S          (default compression)
  pgsluice-restore       build/pgsluice restore --target T -f ARCHIVE -j N --no-owner
                           --progress none
  pgsluice-restore-pipe  cat ARCHIVE | build/pgsluice restore --target T -f - -j N ...
  pgsluice-restore-noanalyze
                         build/pgsluice restore --target T -f ARCHIVE -j N --no-owner
                           --progress none --skip-analyze
                                                  (no ANALYZE: the same work as pg_restore)

Every pgsluice load gets --no-owner as pg_restore and pgcopydb do: the same work (with
10,000 tables, 10,000 ALTER TABLE ... OWNER TO that the others do not run).
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
memory, and writes it all as JSON. pgsluice copy runs with --report; the seconds per
phase of its median run are printed (and kept in the JSON).

Many tables (--tables N, issue #12): instead of the size-based source, N tables of
10 rows each (int primary key, an indexed text column, a timestamptz with a default;
every 10th table has a foreign key to the one before it) and one table in 500 list
partitions with 50,000 rows (scripts/sql/bench_many_tables.sql, server-side). Both
servers run with max_locks_per_transaction = $TABLES_LOCKS (pg_dump locks every table).
Tools by default: ${TABLES_TOOLS[*]} (--only may pick from ${TABLES_ALLOWED[*]}).
Prints, besides the table, pgsluice copy / pg_dump -Fc | pg_restore against the
target (<= $TARGET_MANY_TABLES) and pgsluice's seconds per phase; then, untimed, copies
once more into a third server left at the default max_locks_per_transaction (64),
with pgsluice copy (must succeed) and pg_dump -Fc | pg_restore, and prints PASS/FAIL
for each. Every copy is checked as above (tables, rows, indexes, constraints).

Wide rows (--wide-rows, a memory case): one table with three rows, a 300 MiB bytea,
a 200 MiB text and a 50 MiB jsonb (random-looking, built server-side by
scripts/sql/bench_wide_rows.sql; --wide-mb scales them). Tools by default:
  ${WIDE_TOOLS[*]}
  (pgsluice-rules copies with scripts/sql/bench_wide_rules.yaml: {set: "x"} on the
  text; pgrestore-fc is pg_restore -j N --no-owner -d T of a pg_dump -Fc written once,
  untimed, like the pgsluice archive the restores read). Every copy and restore is
  checked value by value (md5 of every value on both sides; the ruled text must be
  "x"). Prints each pgsluice tool's peak memory (GNU time's max RSS of the pgsluice
  process and the sampled tree RSS, the worst run) against the bound $WIDE_BASE_MIB MiB + 2 x
  the largest row, PASS or FAIL per line; pg_dump's and pg_restore's for comparison.

A tool that fails (or, for a restore, whose input archive could not be written) is
reported as FAILED with the last line of its error, the other tools go on, and the
script exits 1 at the end.

Options:
  --size-gb N        approximate source database size in GiB (default 2; fractions
                     such as 0.05 for a quick smoke test)
  --tables N         the many-tables source with N small tables (see above) instead
                     of the size-based one, e.g. 10000
  --wide-rows        the wide-rows memory case (see above) instead
  --wide-mb N        --wide-rows: MiB of the largest value (default 300; the text is
                     2/3 of it, the jsonb 1/6), e.g. 30 for a quick run
  -j, --jobs N       parallel jobs given to every tool (default 2)
  --runs N           runs per tool (default 3); the median is reported
  --only LIST        only these tools (comma separated; default all of them):
                       copy:    ${COPY_TOOLS[*]}
                       archive: ${ARCHIVE_TOOLS[*]}
                       other:   ${EXTRA_TOOLS[*]} (pg_restore -j of a pg_dump -Fc)
                     ("pgdump" runs the streamed pipe, "pgdump-dir" the -Fd -j variant;
                     "copy" and "archive" stand for their whole group)
  --out FILE         JSON results (default: out/bench.json in the repository)
  --rules FILE       the rules file of pgsluice-rules (default
                     scripts/sql/bench_rules.yaml; scripts/sql/bench_rules_json_phone.yaml
                     is issue 14's json + phone case, which must cost at most 1.15x)
  --pgsluice-args S  extra arguments appended to the pgsluice copy command
                     (split on spaces), e.g. "--skip-analyze"
  --subset           also time pgsluice copy of a 1% subset (pgsluice-subset:
                     ${SUBSET_ARGS[*]}; the time-series table has no key and
                     stays whole), checked with pgsluice verify of the same subset;
                     prints its time against the full pgsluice copy and the share
                     of rows it moved
  --keep             leave the servers running and the work directory with the
                     archives and pgsluice's reports in place at the end (prints how
                     to stop / remove them)
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
# A copy still running when we exit (Ctrl-C, error) is stopped before the servers are, and
# before its work directory is removed (up to 20 s for it to go).
stop_current_run() {
  local pid=$CURRENT_RUN_PID pids i
  [[ -n "$pid" ]] || return 0
  pids="$pid $(tree_pids "$pid" | tr '\n' ' ')"
  kill_tree "$pid"
  for ((i = 0; i < 200; i++)); do
    # shellcheck disable=SC2086
    kill -0 $pids 2>/dev/null || break       # fails only when none of them is left
    sleep 0.1
  done
  CURRENT_RUN_PID=""
}
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

# pgsluice copy writes its --report into the run directory; bench_run keeps it
# ($WORK/reports/TOOL-RUN.json) for the per-phase seconds of the median run.
run_pgsluice() {
  timed main "$PGSLUICE" copy --source "$SRC" --target "$TGT" -j "$JOBS" --no-owner \
    --progress none --report "$RUN_DIR/report.json" "${PGSLUICE_EXTRA[@]}"
}

# The same copy with a rules file ($RULES_FILE). By default scripts/sql/bench_rules.yaml:
# realistic rewrites (e-mails, names, phones, JSON keys) and no exclusions, so both runs
# move the same rows; with --wide-rows scripts/sql/bench_wide_rules.yaml.
run_pgsluice_rules() {
  PGSLUICE_SALT=bench-salt-not-a-secret-0123 timed main "$PGSLUICE" copy --source "$SRC" \
    --target "$TGT" -j "$JOBS" --no-owner --progress none --rules "$RULES_FILE" \
    --report "$RUN_DIR/report.json" "${PGSLUICE_EXTRA[@]}"
}

# The same copy of a subset ($SUBSET_ARGS); checked with pgsluice verify and the same subset.
run_pgsluice_subset() {
  timed main "$PGSLUICE" copy --source "$SRC" --target "$TGT" -j "$JOBS" --no-owner \
    --progress none "${SUBSET_ARGS[@]}" --report "$RUN_DIR/report.json" "${PGSLUICE_EXTRA[@]}"
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
  timed main "$PGSLUICE" restore --target "$TGT" -f "$PGSLUICE_ARCHIVE" -j "$JOBS" --no-owner \
    --progress none
}

# The same from a pipe: the reader can only go forward.
run_pgsluice_restore_pipe() {
  # shellcheck disable=SC2002   # the cat is the point: standard input is not a file
  cat "$PGSLUICE_ARCHIVE" |
    timed main "$PGSLUICE" restore --target "$TGT" -f - -j "$JOBS" --no-owner --progress none
}

# pgsluice restore without its ANALYZE: the same work as pg_restore.
run_pgsluice_restore_noanalyze() {
  timed main "$PGSLUICE" restore --target "$TGT" -f "$PGSLUICE_ARCHIVE" -j "$JOBS" --no-owner \
    --progress none --skip-analyze
}

run_pgrestore_dir() {
  timed main pg_restore -j "$JOBS" --no-owner -d "$TGT" "$PGDUMP_DIR_ARCHIVE"
}

run_pgrestore_fc() {
  timed main pg_restore -j "$JOBS" --no-owner -d "$TGT" "$PGDUMP_FC_ARCHIVE"
}

# tool_kind TOOL — copy (source -> target), dump (source -> archive) or restore
# (archive -> target).
tool_kind() {
  case $1 in
    pgsluice-dump|pgdump-fc) echo dump ;;
    pgsluice-restore|pgsluice-restore-pipe|pgsluice-restore-noanalyze|pgrestore-dir|pgrestore-fc)
      echo restore ;;
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
    pgsluice|pgsluice-rules|pgsluice-subset|pgsluice-dump|pgsluice-restore|pgsluice-restore-pipe|pgsluice-restore-noanalyze)
      "$PGSLUICE" --version 2>/dev/null | head -n 1 || echo unknown ;;
    pgcopydb) pgcopydb --version 2>/dev/null | grep -m1 -o 'version .*' || echo unknown ;;
    pgdump|pgdump-dir|pgdump-fc) pg_dump --version ;;
    pgrestore-dir|pgrestore-fc) pg_restore --version ;;
  esac
}

tool_label() {
  case $1 in
    pgsluice) echo "pgsluice copy${PGSLUICE_EXTRA[*]:+ ${PGSLUICE_EXTRA[*]}}" ;;
    pgsluice-rules) echo "pgsluice copy --rules" ;;
    pgsluice-subset) echo "pgsluice copy --subset 1%" ;;
    pgcopydb) echo "pgcopydb clone" ;;
    pgdump) echo "pg_dump -Fc | pg_restore" ;;
    pgdump-dir) echo "pg_dump -Fd -j | pg_restore -j" ;;
    pgsluice-dump) echo "pgsluice dump" ;;
    pgdump-fc) echo "pg_dump -Fc" ;;
    pgsluice-restore) echo "pgsluice restore" ;;
    pgsluice-restore-pipe) echo "cat | pgsluice restore -f -" ;;
    pgsluice-restore-noanalyze) echo "pgsluice restore --skip-analyze" ;;
    pgrestore-dir) echo "pg_restore -j (of pg_dump -Fd)" ;;
    pgrestore-fc) echo "pg_restore -j (of pg_dump -Fc)" ;;
  esac
}

# ------------------------------------------------------------------ checks

# schema_summary CONN — "tables=N indexes=N constraints=N sequences=N" for non-system schemas
# (tables: ordinary and partitioned). Catalogue reads only: no table is locked.
schema_summary() {
  psql_q "$1" "
    SELECT format('tables=%s indexes=%s constraints=%s sequences=%s',
      (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\_%'),
      (SELECT count(*) FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog', 'information_schema')),
      (SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')),
      (SELECT count(*) FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema')))"
}

# table_rows CONN — "schema.table<TAB>exact rows" per user table, in table_stats' order. One
# statement (so one transaction) per table in one session: with 10,000 tables one query
# counting them all would need a lock per table at once, more than a server at the default
# max_locks_per_transaction holds.
table_rows() {
  psql_q "$1" "
    SELECT format('SELECT %L, count(*) FROM ONLY %I.%I;',
                  format('%s.%s', n.nspname, c.relname), n.nspname, c.relname)
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r'
      AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%'
    ORDER BY format('%s.%s', n.nspname, c.relname)" |
    pg psql -X -q -v ON_ERROR_STOP=1 -A -t -F $'\t' -d "$1" -f -
}

# wide_values CONN [RULED] — md5 of every value of public.wide, one line per row (--wide-rows).
# With RULED=1 the source side as the wide rules file rewrites it: the text is "x".
wide_values() {
  local t="md5(t)"
  [[ ${2:-0} == 1 ]] && t="CASE WHEN t IS NULL THEN NULL ELSE md5('x') END"
  psql_q "$1" "
    SELECT id, kind, coalesce(md5(b), '-'), coalesce($t, '-'), coalesce(md5(j::text), '-'),
           coalesce(note, '-'), created
    FROM public.wide ORDER BY id"
}

# check_copy [TOOL] — compare the target with the source; prints the differences, returns 1
# if any. With --wide-rows also every value (md5 on both sides; TOOL pgsluice-rules: with the
# rules applied).
check_copy() {
  local tool=${1:-} tgt_rows tgt_schema
  tgt_rows=$(table_rows "$TGT") || return 1
  tgt_schema=$(schema_summary "$TGT") || return 1
  local ok=0
  if [[ $tool == pgsluice-subset ]]; then   # fewer rows by design: verify with the same subset
    if ! "$PGSLUICE" verify --source "$SRC" --target "$TGT" "${SUBSET_ARGS[@]}" >/dev/null 2>"$WORK/verify.err"; then
      echo "pgsluice verify of the subset failed: $(tail -n 1 "$WORK/verify.err")"
      ok=1
    fi
  elif [[ "$tgt_rows" != "$SRC_ROWS" ]]; then
    echo "row counts differ (source vs target):"
    diff <(echo "$SRC_ROWS") <(echo "$tgt_rows") | head -n 40 | sed 's/^/    /' || true
    ok=1
  fi
  if [[ "$tgt_schema" != "$SRC_SCHEMA" ]]; then
    echo "schema differs: source $SRC_SCHEMA, target $tgt_schema"
    ok=1
  fi
  if [[ $MODE == wide ]]; then
    local want=$SRC_WIDE got
    [[ $tool == pgsluice-rules ]] && want=$SRC_WIDE_RULED
    got=$(wide_values "$TGT") || return 1
    if [[ "$got" != "$want" ]]; then
      echo "values differ (md5 per value; id, kind, bytea, text, jsonb, note, created; source vs target):"
      diff <(echo "$want") <(echo "$got") | sed 's/^/    /' || true
      ok=1
    fi
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
PGDUMP_FC_ARCHIVE="" PGDUMP_FC_ARCHIVE_BYTES=""
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
  local t last
  last=$(last_line "$log_file")
  for t; do FAIL_MSG[$t]="no input archive: $what failed: $last"; done
}

# last_line FILE — the last non-empty line of FILE (a failed tool's error, as a rule).
last_line() {
  grep -v '^[[:space:]]*$' "$1" 2>/dev/null | tail -n 1 | cut -c1-300 || true
}

# prepare_archives TOOL... — write, once and untimed, the archives the selected restore
# tools read: a pgsluice dump and a pg_dump -Fd, both -j $JOBS, and a pg_dump -Fc, into
# $WORK/archives.
prepare_archives() {
  local need_pgs=0 need_dir=0 need_fc=0 t log_file
  for t; do
    case $t in
      pgsluice-restore|pgsluice-restore-pipe|pgsluice-restore-noanalyze) need_pgs=1 ;;
      pgrestore-dir) need_dir=1 ;;
      pgrestore-fc) need_fc=1 ;;
    esac
  done
  ((need_pgs || need_dir || need_fc)) || return 0
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
  if ((need_fc)); then
    PGDUMP_FC_ARCHIVE=$WORK/archives/restore-input.dump
    log_file=$WORK/archives/restore-input.dump.log
    log "writing the archive pg_restore reads (not timed): pg_dump -Fc"
    if pg_dump -Fc -f "$PGDUMP_FC_ARCHIVE" "$SRC" >"$log_file" 2>&1; then
      PGDUMP_FC_ARCHIVE_BYTES=$(path_bytes "$PGDUMP_FC_ARCHIVE")
      log "    $(human_bytes "$PGDUMP_FC_ARCHIVE_BYTES")"
    else
      prep_failed "pg_dump -Fc" "$log_file" pgrestore-fc
    fi
  fi
}

# ------------------------------------------------------------------ one run

RUN_SEQ=0
RETIRE_ADMIN="" RETIRE_DB=""   # --tables: the last run's database, closed before the next run
recreate_target() {
  if [[ $MODE == tables ]]; then
    # A new database for every run, the earlier ones left until the servers go. Dropping a
    # database of 10,000 tables right before the next run makes ext4 step over each of its
    # just-freed inodes ("recently deleted") whenever the next run creates a file: every
    # later run, of every tool, took 2.5 times as long as the first. The one left behind is
    # closed to autovacuum (it skips databases that allow no connections), which would
    # otherwise vacuum its 100,000 new catalogue rows during the next tool's run.
    if [[ -n "$RETIRE_ADMIN" ]]; then
      psql_q "$RETIRE_ADMIN" "ALTER DATABASE $RETIRE_DB WITH ALLOW_CONNECTIONS false" >/dev/null
      psql_q "$RETIRE_ADMIN" "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity WHERE datname = '$RETIRE_DB'" >/dev/null
    fi
    RUN_SEQ=$((RUN_SEQ + 1))
    TGT_DB=bench_target_$RUN_SEQ
    RETIRE_ADMIN=$TGT_ADMIN RETIRE_DB=$TGT_DB
  else
    PGOPTIONS="-c client_min_messages=warning" psql_q "$TGT_ADMIN" "DROP DATABASE IF EXISTS $TGT_DB WITH (FORCE)" >/dev/null
  fi
  psql_q "$TGT_ADMIN" "CREATE DATABASE $TGT_DB" >/dev/null
  TGT="${TGT_ADMIN%/*}/$TGT_DB"
  # Start every run with no dirty buffers or pending WAL from the previous one.
  psql_q "$TGT_ADMIN" "CHECKPOINT" >/dev/null
  psql_q "$SRC" "CHECKPOINT" >/dev/null
  settle_page_cache
}

# With root, every run starts with a page cache that holds the source database and little
# else. Once earlier runs' files fill memory, the kernel's reclaim and writeback run during the
# timed run, on the core a serial tool leaves idle and a parallel one needs: pgsluice copy of
# 10,000 tables went from 12.5 s to 17.6 s while pg_dump | pg_restore stayed at 24 s.
settle_page_cache() {
  [[ -w /proc/sys/vm/drop_caches ]] || return 0
  sync
  echo 3 >/proc/sys/vm/drop_caches
  find "$(cluster_dir source)/data" -type f -exec cat {} + >/dev/null 2>&1 || true
}

# bench_run TOOL RUN — one timed copy, dump or restore (RUN: a number, or a name such as
# "locks64"); sets RUN_SECONDS, RUN_TREE_KB, RUN_MAX_KB, RUN_OK and, for a dump,
# RUN_ARCHIVE_BYTES; a failure also sets FAIL_MSG[TOOL]. Every run starts from a fresh
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
  if [[ -s "$RUN_DIR/report.json" ]]; then     # pgsluice copy's --report
    mkdir -p "$WORK/reports"
    cp "$RUN_DIR/report.json" "$WORK/reports/$tool-$run.json"
  fi
  if ((rc != 0)); then
    RUN_OK=0
    printf '\n!!! %s run %s FAILED (exit status %d) after %ss; last lines of its output:\n' \
      "$tool" "$run" "$rc" "$RUN_SECONDS" >&2
    tail -n 25 "$log_file" | sed 's/^/    /' >&2
    FAIL_MSG[$tool]="exit status $rc: $(last_line "$log_file")"
  elif [[ $kind == dump ]]; then
    local problems archive
    archive="$RUN_DIR/$(archive_name "$tool")"
    RUN_ARCHIVE_BYTES=$(path_bytes "$archive")
    if ! problems=$(check_archive "$tool" "$archive" 2>&1); then
      RUN_OK=0
      printf '\n!!! %s run %s produced a BAD ARCHIVE:\n%s\n' "$tool" "$run" "$problems" | sed 's/^/    /' >&2
      FAIL_MSG[$tool]="bad archive: $(head -n 1 <<<"$problems")"
    elif ((KEEP)); then       # keep the last run's archive
      mv -f "$archive" "$WORK/archives/$tool-$(archive_name "$tool")"
    fi
  else
    local problems
    if ! problems=$(check_copy "$tool" 2>&1); then
      RUN_OK=0
      printf '\n!!! %s run %s produced a WRONG COPY:\n%s\n' "$tool" "$run" "$problems" | sed 's/^/    /' >&2
      FAIL_MSG[$tool]="wrong copy: $(head -n 1 <<<"$problems" | sed "s/:$//") (details above)"
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

# json_escape TEXT — TEXT as the inside of a JSON string.
json_escape() {
  printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g; s/\t/ /g' | tr -d '\000-\037'
}

# median_run SECS RUNS — the run (from the list RUNS, in step with the list SECS) whose seconds
# are the median (the lower middle one for an even count); empty if none.
median_run() {
  paste -d ' ' <(tr ' ' '\n' <<<"$1" | grep -v '^$') <(tr ' ' '\n' <<<"$2" | grep -v '^$') |
    sort -g -k1,1 | awk '{ r[NR] = $2 } END { if (NR) print r[int((NR + 1) / 2)] }'
}

# phases_of REPORT — "phase<TAB>seconds" per phase of a pgsluice --report file (its "phases"
# object, as pgsluice writes it: indented by two, one phase a line).
phases_of() {
  awk '
    /^  "phases": \{\}/ { exit }
    /^  "phases": \{/ { on = 1; next }
    on && /^  \}/ { exit }
    on {
      line = $0; gsub(/[",]/, "", line); sub(/^ +/, "", line)
      n = split(line, kv, ": ")
      if (n == 2) printf "%s\t%.1f\n", kv[1], kv[2]
    }' "$1" 2>/dev/null || true
}

# json_phases PHASES — '{"connect": 0.1, ...}' from phases_of's lines.
json_phases() {
  awk -F'\t' 'BEGIN { ORS = "" } { printf "%s\"%s\": %s", (NR > 1 ? ", " : ""), $1, $2 } END { print "" }' <<<"$1" |
    sed 's/^/{/; s/$/}/'
}

declare -A LOCKS_RESULT=() LOCKS_SECS=() LOCKS_MSG=()
# locks_check TOOL... — copy once more with each TOOL (timed, not compared) into a third
# server left at the default max_locks_per_transaction, checked as every copy is; sets
# LOCKS_RESULT[TOOL] (PASS or FAIL), LOCKS_SECS[TOOL] and, on a failure, LOCKS_MSG[TOOL].
locks_check() {
  log "starting a third server at the default max_locks_per_transaction for the locks check"
  cluster_start locks64
  local save_tgt=$TGT save_admin=$TGT_ADMIN t save_msg
  TGT=$(cluster_uri locks64 "$TGT_DB")
  TGT_ADMIN=$(cluster_uri locks64 postgres)
  LOCKS_SETTING=$(psql_q "$TGT_ADMIN" "SHOW max_locks_per_transaction")
  for t; do
    log "locks check: $(tool_label "$t") into the server at max_locks_per_transaction = $LOCKS_SETTING"
    save_msg=${FAIL_MSG[$t]:-}
    bench_run "$t" locks64
    LOCKS_SECS[$t]=$RUN_SECONDS
    if ((RUN_OK)); then
      LOCKS_RESULT[$t]=PASS
      log "    PASS, ${RUN_SECONDS}s"
    else
      LOCKS_RESULT[$t]=FAIL
      LOCKS_MSG[$t]=${FAIL_MSG[$t]:-}
    fi
    FAIL_MSG[$t]=$save_msg        # the timed runs' failures are reported on their own
    [[ -n $save_msg ]] || unset "FAIL_MSG[$t]"
  done
  TGT=$save_tgt TGT_ADMIN=$save_admin
  ((KEEP)) || cluster_stop locks64
}

main() {
  local size_gb=2 size_given=0 runs=3 keep=0 out="$ROOT/out/bench.json" only=""
  local tables_n="" wide=0 wide_mb=300 wide_mb_given=0 subset=0 rules=""
  JOBS=2
  while (($#)); do
    case $1 in
      --size-gb) size_gb=${2:?--size-gb needs a value}; size_given=1; shift ;;
      --size-gb=*) size_gb=${1#*=}; size_given=1 ;;
      --tables) tables_n=${2:?--tables needs a value}; shift ;;
      --tables=*) tables_n=${1#*=} ;;
      --wide-rows) wide=1 ;;
      --wide-mb) wide_mb=${2:?--wide-mb needs a value}; wide_mb_given=1; shift ;;
      --wide-mb=*) wide_mb=${1#*=}; wide_mb_given=1 ;;
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
      --rules) rules=${2:?--rules needs a file}; shift ;;
      --rules=*) rules=${1#*=} ;;
      --keep) keep=1 ;;
      --subset) subset=1 ;;
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
  if [[ -n "$tables_n" ]]; then
    [[ "$tables_n" =~ ^[1-9][0-9]*$ ]] || die "--tables must be a positive integer (got '$tables_n')"
    ((wide)) && die "--tables and --wide-rows are two different cases: give one of them"
    MODE=tables
  fi
  if ((wide)); then
    MODE=wide
    RULES_FILE=$ROOT/scripts/sql/bench_wide_rules.yaml
  fi
  if [[ -n "$rules" ]]; then
    [[ -r "$rules" ]] || die "--rules: cannot read $rules"
    RULES_FILE=$(realpath "$rules")
  fi
  ((wide_mb_given && !wide)) && die "--wide-mb goes with --wide-rows"
  if ((wide)); then
    if ! [[ "$wide_mb" =~ ^[1-9][0-9]*$ ]] || ((wide_mb > 600)); then
      die "--wide-mb must be a whole number of MiB from 1 to 600 (got '$wide_mb')"
    fi
  fi
  ((size_given)) && [[ $MODE != size ]] && die "--size-gb does not go with --tables or --wide-rows"
  ((subset)) && [[ $MODE != size ]] && die "--subset goes with the size-based source only"

  KEEP=$keep
  local tools=() t listed=() expanded=() defaults=() allowed=()
  case $MODE in
    size) defaults=("${COPY_TOOLS[@]}" "${ARCHIVE_TOOLS[@]}"); allowed=("${ALL_TOOLS[@]}") ;;
    tables) defaults=("${TABLES_TOOLS[@]}"); allowed=("${TABLES_ALLOWED[@]}") ;;
    wide) defaults=("${WIDE_TOOLS[@]}"); allowed=("${WIDE_TOOLS[@]}") ;;
  esac
  if [[ -n "$only" ]]; then
    IFS=',' read -r -a listed <<<"$only"
    for t in "${listed[@]}"; do
      case $t in
        copy|archive)      # a group: those of its tools that run in this case
          local g group=()
          [[ $t == copy ]] && group=("${COPY_TOOLS[@]}") || group=("${ARCHIVE_TOOLS[@]}")
          for g in "${group[@]}"; do
            [[ " ${allowed[*]} " == *" $g "* ]] && expanded+=("$g")
          done ;;
        *)
          [[ " ${ALL_TOOLS[*]} " == *" $t "* ]] ||
            die "--only: unknown tool '$t' (known: ${ALL_TOOLS[*]}, or the groups copy, archive)"
          [[ " ${allowed[*]} " == *" $t "* ]] ||
            die "--only: '$t' does not run with --${MODE/wide/wide-rows} (that case takes: ${allowed[*]})"
          expanded+=("$t") ;;
      esac
    done
    for t in "${expanded[@]}"; do      # each tool once, in the order given
      [[ " ${tools[*]} " == *" $t "* ]] || tools+=("$t")
    done
    ((${#tools[@]})) || die "--only: none of '$only' runs in this case (it takes: ${allowed[*]})"
  else
    tools=("${defaults[@]}")
  fi
  if ((subset)) && [[ " ${tools[*]} " != *" pgsluice-subset "* ]]; then
    tools+=(pgsluice-subset)
  fi

  _require_pg_bin
  export PATH="$PG_BIN:$PATH"     # pg_dump, pg_restore and what pgcopydb runs: the servers' version
  PGSLUICE=${PGSLUICE_BIN:-$ROOT/build/pgsluice}
  for t in "${tools[@]}"; do
    case $t in
      pgsluice|pgsluice-rules|pgsluice-subset|pgsluice-dump|pgsluice-restore|pgsluice-restore-pipe|\
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

  local server_conf=()
  [[ $MODE == tables ]] && server_conf=(-c "max_locks_per_transaction=$TABLES_LOCKS")
  ((keep)) && cluster_keep
  log "starting the source and target servers${server_conf[*]:+ (${server_conf[*]#-c })}"
  cluster_start source "${server_conf[@]}"
  cluster_start target "${server_conf[@]}"
  SRC=$(cluster_uri source bench)
  TGT_DB=bench_target
  TGT=$(cluster_uri target "$TGT_DB")
  TGT_ADMIN=$(cluster_uri target postgres)
  psql_q "$(cluster_uri source)" "CREATE DATABASE bench" >/dev/null

  local t0 gen_s src_bytes
  t0=$(now_s)
  case $MODE in
    size)
      log "building the source database: ~${size_gb} GiB (demo generator at scale $scale)"
      load_demo_data "$SRC" "$scale" >/dev/null ;;
    tables)
      log "building the source database: $tables_n tables of 10 rows, one table in 500 partitions (scripts/sql/bench_many_tables.sql)"
      pg psql -X -q -v ON_ERROR_STOP=1 -v tables="$tables_n" -d "$SRC" \
        -f "$ROOT/scripts/sql/bench_many_tables.sql" >/dev/null ;;
    wide)
      log "building the source database: rows of a $wide_mb MiB bytea, a $((wide_mb * 2 / 3)) MiB text, a $((wide_mb / 6)) MiB jsonb (scripts/sql/bench_wide_rows.sql)"
      pg psql -X -q -v ON_ERROR_STOP=1 -v mb="$wide_mb" -d "$SRC" \
        -f "$ROOT/scripts/sql/bench_wide_rows.sql" >/dev/null ;;
  esac
  gen_s=$(elapsed_s "$t0")
  src_bytes=$(db_size "$SRC")
  SRC_ROWS=$(table_rows "$SRC")
  SRC_SCHEMA=$(schema_summary "$SRC")
  local src_stats="" src_tables src_total_rows
  src_tables=$(grep -c . <<<"$SRC_ROWS" || true)
  src_total_rows=$(awk -F'\t' '{ s += $2 } END { printf "%.0f\n", s }' <<<"$SRC_ROWS")
  log "source: $(human_bytes "$src_bytes") in ${gen_s}s; $SRC_SCHEMA"
  if [[ $MODE == tables ]]; then     # 10,000 lines say nothing: the shape instead
    log "      $src_tables tables (partitions counted, the partitioned parent not), $src_total_rows rows"
  else
    src_stats=$(table_stats "$SRC")
    awk -F'\t' '{ printf "      %-36s %12s rows %10.1f MiB\n", $1, $2, $3 / 1048576 }' <<<"$src_stats" >&2
  fi
  local largest_row=0 bound_kb=0
  if [[ $MODE == wide ]]; then
    SRC_WIDE=$(wide_values "$SRC")
    SRC_WIDE_RULED=$(wide_values "$SRC" 1)
    # The largest row as COPY moves it (binary: bytea raw, text and jsonb as text).
    largest_row=$(psql_q "$SRC" "
      SELECT max(coalesce(octet_length(b), 0) + coalesce(octet_length(t), 0) +
                 coalesce(octet_length(j::text), 0) + coalesce(octet_length(kind), 0) +
                 coalesce(octet_length(note), 0) + 8 + 4)
      FROM public.wide")
    bound_kb=$((WIDE_BASE_MIB * 1024 + 2 * largest_row / 1024))
    log "largest row $(human_bytes "$largest_row"): memory bound $WIDE_BASE_MIB MiB + 2 x $(human_bytes "$largest_row") = $((bound_kb / 1024)) MiB"
  fi

  WORK=$(mktemp -d "${PGSLUICE_TMPDIR:-${TMPDIR:-/tmp}}/pgsluice-bench.XXXXXX")
  if ((keep)); then
    mkdir -p "$WORK/archives"
    at_exit "log 'work directory (archives in archives/, pgsluice reports in reports/) kept: $WORK (rm -rf it when done)'"
  else
    at_exit "stop_current_run; rm -rf '$WORK'"
  fi
  mkdir -p "$(dirname "$out")"
  FAILED_LOG_DIR=$(cd "$(dirname "$out")" && pwd)

  prepare_archives "${tools[@]}"

  local -A secs=() okruns=() tree=() maxrss=() failed=() abytes=()
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
        okruns[$t]+="$run "
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

  # The untimed check of --tables: a target at the default max_locks_per_transaction.
  local locks_tools=()
  if [[ $MODE == tables ]]; then
    for t in pgsluice pgdump; do
      [[ " ${tools[*]} " == *" $t "* ]] && locks_tools+=("$t")
    done
    ((${#locks_tools[@]})) && locks_check "${locks_tools[@]}"
  fi

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
  local shape=""
  case $MODE in
    tables) shape="many tables: $tables_n small tables + 500 partitions, " ;;
    wide) shape="wide rows: largest $(human_bytes "$largest_row"), " ;;
  esac
  printf 'Source: %s%s (%s rows in %d tables), -j %s, %s run(s) each, PostgreSQL %s, %s CPUs\n' \
    "$shape" "$(human_bytes "$src_bytes")" "$src_total_rows" "$src_tables" "$JOBS" "$runs" \
    "$(cluster_pg_version)" "$(nproc 2>/dev/null || echo '?')"
  echo
  printf '%-31s %9s  %-24s %9s %9s %11s %10s\n' tool "median s" "runs (s)" "vs copydb" "vs dump" "peak RSS" "max RSS"
  printf '%-31s %9s  %-24s %9s %9s %11s %10s\n' "$(printf '%.0s-' {1..31})" --------- \
    ------------------------ --------- --------- ----------- ----------
  local any_failed=0 med runs_s tree_mib max_mib status kind base_copydb base_dump json_extra
  local json_tools="" any_archive=0
  local -A med_of=() bytes_of=() tree_mib_of=() max_mib_of=()
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
    tree_mib_of[$t]=$tree_mib max_mib_of[$t]=$max_mib
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
    fi
    med_of[$t]=$med
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
        [[ $t == pgrestore-fc ]] && in_bytes=$PGDUMP_FC_ARCHIVE_BYTES
        json_extra=",
     \"input_archive_bytes\": ${in_bytes:-null},
     \"ratio_vs_pgrestore_dir\": $(json_ratio "$med" "$med_pgrestore")" ;;
    esac
    if [[ $status != ok ]]; then
      json_extra+=",
     \"error\": \"$(json_escape "${FAIL_MSG[$t]:-}")\""
    fi
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
  if [[ -n $med_copydb || -n $med_dump ]]; then
    echo
    echo "vs copydb / vs dump: median time divided by pgcopydb's / pg_dump -Fc | pg_restore's (below 1 = faster)."
  fi
  if ((any_failed)); then
    echo
    echo "FAILED (the error's last line; the full output is kept in $FAILED_LOG_DIR/bench-TOOL-*.failed.log):"
    for t in "${tools[@]}"; do
      [[ -n "${failed[$t]:-}" ]] || continue
      printf '  %-31s %s of %s run(s): %s\n' "$(tool_label "$t")" "${failed[$t]}" "$runs" \
        "${FAIL_MSG[$t]:-see above}"
    done
  fi

  # ---- pgsluice's seconds per phase, from the --report of its median run
  local json_phases_all="" ph mrun
  for t in pgsluice pgsluice-rules; do
    [[ -n "${secs[$t]:-}" ]] || continue
    mrun=$(median_run "${secs[$t]}" "${okruns[$t]}")
    [[ -n $mrun && -s "$WORK/reports/$t-$mrun.json" ]] || continue
    ph=$(phases_of "$WORK/reports/$t-$mrun.json")
    [[ -n $ph ]] || continue
    echo
    printf '%s, seconds per phase (its --report; run %s, the median run):\n' "$(tool_label "$t")" "$mrun"
    awk -F'\t' '{ printf "  %-14s %8.1f\n", $1, $2; s += $2 } END { printf "  %-14s %8.1f\n", "(sum)", s }' <<<"$ph"
    json_phases_all+="${json_phases_all:+, }\"$t\": {\"run\": $mrun, \"seconds\": $(json_phases "$ph")}"
  done

  # ---- the subset (issue #13): its time against the full copy, and the share of rows moved
  local json_subset="null"
  if [[ -n "${secs[pgsluice-subset]:-}" ]]; then
    local m_sub m_full rows_sub="" rep_file
    m_sub=$(median <<<"${secs[pgsluice-subset]}")
    m_full=${med_of[pgsluice]:-}
    [[ $m_full == null ]] && m_full=""
    mrun=$(median_run "${secs[pgsluice-subset]}" "${okruns[pgsluice-subset]}")
    rep_file="$WORK/reports/pgsluice-subset-$mrun.json"
    [[ -s $rep_file ]] && rows_sub=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"]["rows"])' "$rep_file" 2>/dev/null || true)
    echo
    echo "Subset (${SUBSET_ARGS[*]}; issue #13):"
    printf '  %-52s %s / %s s = %s\n' "time: pgsluice copy --subset / pgsluice copy" "$m_sub" "${m_full:--}" "$(ratio "$m_sub" "${m_full:-}")"
    printf '  %-52s %s of %s = %s\n' "rows moved: subset / whole database" "${rows_sub:--}" "$src_total_rows" "$(ratio "${rows_sub:-}" "$src_total_rows" 4)"
    printf '  %-52s %s MiB\n' "peak RSS (tree) of the subset copy" "${tree_mib_of[pgsluice-subset]:-0}"
    json_subset="{\"median_s\": $m_sub, \"full_copy_median_s\": ${m_full:-null}, \"rows\": ${rows_sub:-null}, \"source_rows\": $src_total_rows, \"peak_rss_mib\": ${tree_mib_of[pgsluice-subset]:-0}}"
  fi

  # ---- many tables (issue #12)
  local json_tables_case="null"
  if [[ $MODE == tables ]]; then
    local m_pgs=${med_of[pgsluice]:-} json_locks="" r
    [[ $m_pgs == null ]] && m_pgs=""
    echo
    echo "Many tables ($tables_n + 500 partitions; issue #12 target; below 1 = faster):"
    archive_line "copy time: pgsluice copy / pg_dump -Fc | pg_restore" "$m_pgs" "$med_dump" \
      "$TARGET_MANY_TABLES" s
    if ((${#locks_tools[@]})); then
      echo
      echo "Target at the default max_locks_per_transaction ($LOCKS_SETTING; one run each, not timed for comparison):"
      for t in "${locks_tools[@]}"; do
        r=${LOCKS_RESULT[$t]:-FAIL}
        printf '  %-31s %-4s %8ss%s\n' "$(tool_label "$t")" "$r" "${LOCKS_SECS[$t]:--}" \
          "$( [[ $r == PASS ]] || echo "  <-- ${LOCKS_MSG[$t]:-see above}")"
        # pgsluice must manage there; pg_restore is the reference.
        [[ $t == pgsluice && $r != PASS ]] && any_failed=1
        json_locks+="${json_locks:+, }\"$t\": {\"result\": \"$r\", \"seconds\": ${LOCKS_SECS[$t]:-null}$(
          [[ $r == PASS ]] || printf ', "error": "%s"' "$(json_escape "${LOCKS_MSG[$t]:-}")")}"
      done
    fi
    json_tables_case="{
    \"tables\": $tables_n, \"partitions\": 500, \"max_locks_per_transaction\": $TABLES_LOCKS,
    \"copy_time\": {\"tool\": \"pgsluice\", \"baseline\": \"pgdump\", \"ratio\": $(json_ratio "$m_pgs" "$med_dump"),
                  \"target\": $TARGET_MANY_TABLES, \"met\": $(meets "$m_pgs" "$med_dump" "$TARGET_MANY_TABLES")},
    \"default_locks_target\": {\"max_locks_per_transaction\": ${LOCKS_SETTING:-null}${json_locks:+, $json_locks}}
  }"
  fi

  # ---- wide rows: peak memory against the bound
  local json_wide="null"
  if [[ $MODE == wide ]]; then
    local bound_mib=$((bound_kb / 1024)) verdict tkb mkb json_wide_tools="" within
    echo
    printf 'Memory with wide rows: peak RSS against %s MiB + 2 x the largest row (%s) = %s MiB,\n' \
      "$WIDE_BASE_MIB" "$(human_bytes "$largest_row")" "$bound_mib"
    echo "the worst of the successful runs (max RSS: the pgsluice process, GNU time; tree: sampled):"
    printf '  %-31s %10s %10s %10s  %s\n' tool "max RSS" "tree RSS" bound result
    for t in "${tools[@]}"; do
      within=null
      if [[ -z "${secs[$t]:-}" ]]; then
        verdict="FAILED: ${FAIL_MSG[$t]:-see above}"
      elif [[ $t != pgsluice* ]]; then
        verdict="(comparison)"
      else
        mkb=$(max_of <<<"${maxrss[$t]}") tkb=$(max_of <<<"${tree[$t]}")
        if ((HAVE_GNU_TIME)) && ((mkb > bound_kb || tkb > bound_kb)); then
          verdict=FAIL within=false
        elif ((HAVE_GNU_TIME)); then
          verdict=PASS within=true
        else
          verdict="PASS? (no GNU time: tree RSS only)"
          ((tkb > bound_kb)) && verdict=FAIL within=false
        fi
      fi
      printf '  %-31s %10s %10s %10s  %s\n' "$(tool_label "$t")" \
        "$( [[ -n "${secs[$t]:-}" ]] && echo "${max_mib_of[$t]} MiB" || echo -)" \
        "$( [[ -n "${secs[$t]:-}" ]] && echo "${tree_mib_of[$t]} MiB" || echo -)" \
        "$( [[ $t == pgsluice* ]] && echo "$bound_mib MiB" || echo -)" "$verdict"
      mkb=null tkb=null
      [[ -n "${secs[$t]:-}" ]] && mkb=${max_mib_of[$t]} tkb=${tree_mib_of[$t]}
      json_wide_tools+="${json_wide_tools:+,
}      {\"tool\": \"$t\", \"max_process_rss_mib\": $mkb, \"peak_tree_rss_mib\": $tkb,
       \"bound_mib\": $( [[ $t == pgsluice* ]] && echo "$bound_mib" || echo null), \"within_bound\": $within}"
    done
    json_wide="{
    \"wide_mib\": $wide_mb, \"largest_row_bytes\": $largest_row,
    \"bound_mib\": $bound_mib, \"bound\": \"$WIDE_BASE_MIB MiB + 2 x largest row\",
    \"tools\": [
$json_wide_tools
    ]
  }"
  fi

  # ---- archive summary (issue #4)
  local json_archive="null"
  if ((any_archive)) && [[ $MODE == size ]]; then
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
    [[ $m_dump == null ]] && m_dump=""
    [[ $m_restore == null ]] && m_restore=""
    [[ $m_pipe == null ]] && m_pipe=""
    [[ $m_noan == null ]] && m_noan=""
    [[ $b_pgs == null ]] && b_pgs=""
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
  local json_source
  case $MODE in
    size)
      local json_tables
      json_tables=$(awk -F'\t' 'BEGIN { ORS = "" } { printf "%s\n    {\"table\": \"%s\", \"rows\": %s, \"bytes\": %s}", (NR > 1 ? "," : ""), $1, $2, $3 }' <<<"$src_stats")
      json_source="{\"size_gb_requested\": $size_gb, \"scale\": $scale, \"bytes\": $src_bytes,
             \"generate_seconds\": $gen_s, \"schema\": \"$SRC_SCHEMA\", \"tables\": [$json_tables
  ]}" ;;
    tables)
      json_source="{\"generator\": \"scripts/sql/bench_many_tables.sql\", \"small_tables\": $tables_n,
             \"partitions\": 500, \"leaf_tables\": $src_tables, \"rows\": $src_total_rows,
             \"bytes\": $src_bytes, \"generate_seconds\": $gen_s, \"schema\": \"$SRC_SCHEMA\"}" ;;
    wide)
      local json_tables
      json_tables=$(awk -F'\t' 'BEGIN { ORS = "" } { printf "%s\n    {\"table\": \"%s\", \"rows\": %s, \"bytes\": %s}", (NR > 1 ? "," : ""), $1, $2, $3 }' <<<"$src_stats")
      json_source="{\"generator\": \"scripts/sql/bench_wide_rows.sql\", \"wide_mib\": $wide_mb,
             \"largest_row_bytes\": $largest_row, \"bytes\": $src_bytes,
             \"generate_seconds\": $gen_s, \"schema\": \"$SRC_SCHEMA\", \"tables\": [$json_tables
  ]}" ;;
  esac
  cat >"$out" <<JSON
{
  "benchmark": "pgsluice scripts/bench.sh",
  "case": "$MODE",
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "host": {"cpus": $(nproc 2>/dev/null || echo 0), "postgresql": "$(cluster_pg_version)"},
  "jobs": $JOBS,
  "runs": $runs,
  "source": $json_source,
  "results": [
$json_tools
  ],
  "pgsluice_phases": {${json_phases_all}},
  "archive_ratios": $json_archive,
  "many_tables": $json_tables_case,
  "subset": $json_subset,
  "wide_rows": $json_wide
}
JSON
  log "results written to $out"

  if ((any_failed)); then
    die "at least one tool FAILED or produced a wrong copy or archive (see above)"
  fi
}

main "$@"
