#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a given time.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 60)] [TARGET...]
# New inputs go to build-fuzz/corpus/<target>; the seed corpus in tests/fuzz/corpus stays small.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is needed (apt-get install clang)" >&2; exit 2; }
CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPGSLUICE_FUZZ=ON -DPGSLUICE_BUILD_TESTS=OFF -DPGSLUICE_BUILD_BENCH=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/*_fuzz.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
cmake --build build-fuzz --target "${targets[@]}"
for t in "${targets[@]}"; do
    seeds="tests/fuzz/corpus/${t%_fuzz}"
    work="build-fuzz/corpus/$t"
    mkdir -p "$work"
    echo "fuzz.sh: running $t for ${seconds}s"
    "build-fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 "$work" "$seeds"
done
