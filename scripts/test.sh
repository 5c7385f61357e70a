#!/usr/bin/env bash
# scripts/test.sh — install what is missing, build, and run the whole test suite with ctest.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<EOF
Usage: scripts/test.sh [options] [FILTER] [-- CTEST_ARGS...]

Installs missing packages (scripts/setup.sh), builds into build/, then runs
  ctest --test-dir build --output-on-failure -j 2 [-R FILTER]
and prints a one-line summary. Exits non-zero if anything fails.

  FILTER              only tests whose name matches this regex (ctest -R)
  -j, --jobs N        tests run in parallel (default: 2)
  --no-install        do not check or install packages
  --no-build          do not build (use build/ as it is)
  --smoke             after ctest, also run scripts/demo.sh and scripts/bench.sh at a
                      tiny size (a few seconds each; needs a working 'pgsluice copy')
  -h, --help          show this help

Everything after -- is passed to ctest as is.
EOF
}

log() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

main() {
  local filter="" jobs=2 install=1 build=1 smoke=0
  local ctest_extra=()
  while (($#)); do
    case $1 in
      -j|--jobs) jobs=${2:?-j needs a value}; shift ;;
      -j*) jobs=${1#-j} ;;
      --jobs=*) jobs=${1#*=} ;;
      --no-install) install=0 ;;
      --no-build) build=0 ;;
      --smoke) smoke=1 ;;
      -h|--help) usage; exit 0 ;;
      --) shift; ctest_extra=("$@"); break ;;
      -*) usage >&2; die "unknown option: $1" ;;
      *) [[ -z "$filter" ]] || die "only one FILTER is allowed"; filter=$1 ;;
    esac
    shift
  done

  local start=$SECONDS
  cd "$ROOT"

  if ((install)); then
    if ! "$ROOT/scripts/setup.sh" --check --minimal >/dev/null 2>&1; then
      log "some packages are missing: running scripts/setup.sh --no-build --minimal"
      "$ROOT/scripts/setup.sh" --no-build --minimal
    else
      log "all packages are installed"
    fi
  fi

  if ((build)); then
    log "building"
    "$ROOT/scripts/setup.sh" --no-install
  fi
  [[ -d "$ROOT/build" ]] || die "no build/ directory; run without --no-build"

  local ctest_cmd=(ctest --test-dir "$ROOT/build" --output-on-failure -j "$jobs"
                   --no-tests=error --timeout 900)
  [[ -n "$filter" ]] && ctest_cmd+=(-R "$filter")
  ctest_cmd+=("${ctest_extra[@]}")

  local logfile rc=0
  logfile=$(mktemp "${TMPDIR:-/tmp}/pgsluice-ctest.XXXXXX")
  # shellcheck disable=SC2064  # expand now: logfile is local to main
  trap "rm -f '$logfile'" EXIT
  log "running: ${ctest_cmd[*]}"
  "${ctest_cmd[@]}" 2>&1 | tee "$logfile" || rc=$?

  local summary
  summary=$(grep -E '[0-9]+% tests passed' "$logfile" | tail -n 1 || true)
  [[ -n "$summary" ]] || summary="no test summary from ctest"

  if ((rc == 0 && smoke)) && [[ -z "$filter" ]]; then
    log "smoke: scripts/demo.sh --scale 0.02"
    "$ROOT/scripts/demo.sh" --scale 0.02 -j 2 || rc=$?
    if ((rc == 0)); then
      log "smoke: scripts/bench.sh --size-gb 0.01 --runs 1"
      local smoke_dir
      smoke_dir=$(mktemp -d "${TMPDIR:-/tmp}/pgsluice-smoke.XXXXXX")
      "$ROOT/scripts/bench.sh" --size-gb 0.01 --runs 1 -j 2 --out "$smoke_dir/bench.json" || rc=$?
      rm -rf "$smoke_dir"
    fi
    ((rc == 0)) && summary="$summary; demo and bench smoke runs passed"
  fi

  local elapsed=$((SECONDS - start))
  if ((rc == 0)); then
    printf '\ntest.sh: PASSED: %s (%dm%02ds)\n' "$summary" $((elapsed / 60)) $((elapsed % 60))
  else
    printf '\ntest.sh: FAILED (exit %d): %s (%dm%02ds)\n' "$rc" "$summary" $((elapsed / 60)) $((elapsed % 60))
  fi
  return "$rc"
}

main "$@"
