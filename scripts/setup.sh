#!/usr/bin/env bash
# scripts/setup.sh — install what pgsluice needs (Debian/Ubuntu) and build it into build/.
#
# Idempotent: only missing packages are installed (apt-get update runs only then),
# and the CMake build is incremental. See --help.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Packages the build, the tests, the demo and the benchmark need.
REQUIRED_PACKAGES=(
  build-essential cmake ninja-build pkg-config g++
  libpq-dev postgresql postgresql-contrib postgresql-client
  libzstd-dev liburing-dev libxxhash-dev libcli11-dev libyaml-cpp-dev libre2-dev
  nlohmann-json3-dev libfmt-dev libgtest-dev libgmock-dev libbenchmark-dev
  pgcopydb time
  dpkg-dev groff-base man-db
)
# dpkg-dev: dpkg-shlibdeps computes the .deb's Depends (scripts/package.sh); groff and man render
# the man page in the package test.
# Skipped with --minimal: clang for fuzzing (-DPGSLUICE_FUZZ=ON), lintian for
# scripts/package.sh's check, zsh for the zsh completion's test.
OPTIONAL_PACKAGES=(clang libclang-rt-dev lintian zsh)

usage() {
  cat <<EOF
Usage: scripts/setup.sh [options]

Install the Debian packages pgsluice needs (only the missing ones), then configure
and build it with CMake into build/ at the repository root.

Options:
  --no-build          only install packages, do not configure or build
  --no-install        only configure and build, do not check or install packages
  --minimal           skip optional packages (${OPTIONAL_PACKAGES[*]}: for fuzzing,
                      lintian and the zsh completion's test)
  --check             install nothing, build nothing: list missing packages and
                      exit 1 if any is missing (0 otherwise)
  --build-type TYPE   CMake build type (default: RelWithDebInfo)
  --build-dir DIR     build directory (default: build)
  --target T          build only this CMake target (repeatable; default: all)
  -j, --jobs N        parallel build jobs (default: number of CPUs)
  -h, --help          show this help

Environment: CMAKE_ARGS (extra arguments for the configure step, e.g.
"-DPGSLUICE_BUILD_BENCH=OFF").
EOF
}

log() { printf '==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# missing_packages PKG... — print the ones dpkg does not report as installed.
missing_packages() {
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      printf '%s\n' "$p"
    fi
  done
}

# as_root CMD... — run CMD as root: directly, through sudo, or explain and fail.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "installing packages needs root and sudo is not available; as root run:
  apt-get update && apt-get install -y $*"
  fi
}

install_packages() {
  local wanted=("$@") missing
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    log "not a Debian-like system (no dpkg/apt-get): skipping package installation."
    log "make sure these (or your distribution's equivalents) are installed: ${wanted[*]}"
    return 0
  fi
  mapfile -t missing < <(missing_packages "${wanted[@]}")
  if ((${#missing[@]} == 0)); then
    log "all ${#wanted[@]} packages are installed"
    return 0
  fi
  log "installing missing packages: ${missing[*]}"
  if [[ $EUID -ne 0 && -z "$(command -v sudo || true)" ]]; then
    die "installing packages needs root and sudo is not available; as root run:
  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  mapfile -t missing < <(missing_packages "${wanted[@]}")
  ((${#missing[@]} == 0)) || die "still missing after apt-get install: ${missing[*]}"
  log "packages installed"
}

build() {
  local build_dir=$1 build_type=$2 jobs=$3
  shift 3
  local targets=("$@")
  local cfg=(cmake -S "$ROOT" -B "$build_dir")
  if [[ -f "$build_dir/CMakeCache.txt" ]]; then
    # Keep the generator the tree was created with; only change the build type if asked.
    [[ -n "$build_type" ]] && cfg+=("-DCMAKE_BUILD_TYPE=$build_type")
  else
    command -v ninja >/dev/null 2>&1 && cfg+=(-G Ninja)
    cfg+=("-DCMAKE_BUILD_TYPE=${build_type:-RelWithDebInfo}")
  fi
  if [[ -n "${CMAKE_ARGS:-}" ]]; then
    local extra
    read -r -a extra <<<"$CMAKE_ARGS"
    cfg+=("${extra[@]}")
  fi
  log "configuring: ${cfg[*]}"
  "${cfg[@]}"
  local bld=(cmake --build "$build_dir" -j "$jobs")
  ((${#targets[@]})) && bld+=(--target "${targets[@]}")
  log "building: ${bld[*]}"
  "${bld[@]}"
  log "build done: $build_dir"
}

main() {
  local do_build=1 do_install=1 minimal=0 check=0 build_type="" build_dir="$ROOT/build"
  local jobs targets=()
  jobs=$(nproc 2>/dev/null || echo 2)
  while (($#)); do
    case $1 in
      --no-build) do_build=0 ;;
      --no-install) do_install=0 ;;
      --minimal) minimal=1 ;;
      --check) check=1 ;;
      --build-type) build_type=${2:?--build-type needs a value}; shift ;;
      --build-type=*) build_type=${1#*=} ;;
      --build-dir) build_dir=${2:?--build-dir needs a value}; shift ;;
      --build-dir=*) build_dir=${1#*=} ;;
      --target) targets+=("${2:?--target needs a value}"); shift ;;
      --target=*) targets+=("${1#*=}") ;;
      -j|--jobs) jobs=${2:?-j needs a value}; shift ;;
      -j*) jobs=${1#-j} ;;
      --jobs=*) jobs=${1#*=} ;;
      -h|--help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
  done
  [[ "$build_dir" = /* ]] || build_dir="$ROOT/$build_dir"

  local packages=("${REQUIRED_PACKAGES[@]}")
  ((minimal)) || packages+=("${OPTIONAL_PACKAGES[@]}")

  if ((check)); then
    command -v dpkg-query >/dev/null 2>&1 || { log "no dpkg: cannot check packages"; exit 0; }
    local missing
    mapfile -t missing < <(missing_packages "${packages[@]}")
    if ((${#missing[@]})); then
      printf 'missing: %s\n' "${missing[*]}"
      exit 1
    fi
    log "all ${#packages[@]} packages are installed"
    exit 0
  fi

  if ((do_install)); then
    install_packages "${packages[@]}"
  else
    log "--no-install: not checking packages"
  fi
  if ((do_build)); then
    build "$build_dir" "$build_type" "$jobs" "${targets[@]}"
  else
    log "--no-build: skipping the build"
  fi
}

main "$@"
