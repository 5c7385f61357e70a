#!/usr/bin/env bash
# scripts/package.sh — build pgsluice_<version>_amd64.deb with CPack and check it with lintian.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
  cat <<EOF
Usage: scripts/package.sh [options]

Builds pgsluice in a build directory (configuring it if needed), makes the Debian package
there with 'cpack -G DEB' (Depends: the libraries the binary links, found by dpkg-shlibdeps,
plus postgresql-client), copies it to the output directory and runs lintian on it when lintian
is installed. The version is CMake's project(VERSION). Prints the package's path last.

Options:
  --build-dir DIR   build directory (default: build-deb). One without a CMakeCache.txt is
                    configured for the binary only (no tests, no benchmarks), RelWithDebInfo
                    with Debian's hardening flags; an existing one (e.g. build) is used as it is
  --output DIR      where the .deb goes (default: the repository root)
  --no-build        package what DIR holds, do not build (the binary must be built)
  --no-lintian      do not run lintian
  --strict          exit 1 when lintian reports an error or a warning
  -h, --help        show this help

Needs cmake, dpkg-dev (dpkg-shlibdeps) and, for the check, lintian:
  apt-get install -y dpkg-dev lintian
EOF
}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# configure BUILD_DIR — the pgsluice binary only, with Debian's hardening flags (fortify,
# stack protector, relro, bindnow) from dpkg-buildflags.
configure() {
  local generator=() flags=()
  command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
  if command -v dpkg-buildflags >/dev/null 2>&1; then
    local get="env DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get"
    flags=("-DCMAKE_CXX_FLAGS=$($get CPPFLAGS) $($get CXXFLAGS)"
           "-DCMAKE_EXE_LINKER_FLAGS=$($get LDFLAGS)")
  fi
  log "configuring $1"
  cmake -S "$ROOT" -B "$1" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPGSLUICE_BUILD_TESTS=OFF -DPGSLUICE_BUILD_BENCH=OFF "${flags[@]}" >&2
}

# run_lintian DEB STRICT — prints lintian's tags with their explanations; fails with STRICT=1
# when one is an error or a warning.
run_lintian() {
  if ! command -v lintian >/dev/null 2>&1; then
    log "lintian is not installed: not checked (apt-get install -y lintian)"
    return 0
  fi
  log "lintian $(basename "$1")"
  local report
  report=$(lintian --allow-root --info "$1" 2>&1) || true
  if [[ -n "$report" ]]; then
    printf '%s\n' "$report" >&2
  else
    log "lintian: no tags"
  fi
  if (($2)) && grep -qE '^[EW]: ' <<<"$report"; then
    die "lintian reported errors or warnings (--strict)"
  fi
}

main() {
  local build_dir="$ROOT/build-deb" output="$ROOT" build=1 lint=1 strict=0
  while (($#)); do
    case $1 in
      --build-dir) build_dir=${2:?--build-dir needs a value}; shift ;;
      --build-dir=*) build_dir=${1#*=} ;;
      --output) output=${2:?--output needs a value}; shift ;;
      --output=*) output=${1#*=} ;;
      --no-build) build=0 ;;
      --no-lintian) lint=0 ;;
      --strict) strict=1 ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
  done
  [[ "$build_dir" = /* ]] || build_dir="$PWD/$build_dir"
  command -v cpack >/dev/null 2>&1 || die "cpack not found: apt-get install -y cmake"
  command -v dpkg-shlibdeps >/dev/null 2>&1 ||
    die "dpkg-shlibdeps not found (it computes Depends): apt-get install -y dpkg-dev"

  if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
    ((build)) || die "$build_dir is not configured; run without --no-build"
    configure "$build_dir"
  fi
  if ((build)); then
    log "building pgsluice in $build_dir"
    cmake --build "$build_dir" --target pgsluice >&2
  fi
  [[ -x "$build_dir/pgsluice" ]] || die "$build_dir/pgsluice is not built; run without --no-build"

  log "packaging with cpack -G DEB"
  rm -f "$build_dir"/package/pgsluice_*.deb
  (cd "$build_dir" && cpack -G DEB --config CPackConfig.cmake) >&2 ||
    die "cpack failed (its logs: $build_dir/package/_CPack_Packages/Linux/DEB/)"
  local debs=("$build_dir"/package/pgsluice_*_amd64.deb)
  [[ -f "${debs[0]}" ]] || die "cpack made no pgsluice_*_amd64.deb in $build_dir/package"
  mkdir -p "$output"
  local deb
  deb="$(cd "$output" && pwd)/$(basename "${debs[0]}")"
  cp "${debs[0]}" "$deb"
  log "Depends: $(dpkg-deb -f "$deb" Depends)"
  ((lint)) && run_lintian "$deb" "$strict"
  printf '%s\n' "$deb"
}

main "$@"
