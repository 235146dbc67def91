#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-FileCopyrightText: 2026 The spice-video authors
#
# The project guards itself as it asks users to (docs/ci.md): run the
# committed CI matrix (bench/ci-matrix.json, deterministic) and compare it
# with the committed baseline (bench/ci-baseline/); any regression fails.
# Usage: test-ci-regression.sh SPICE_BENCH SOURCE_ROOT TEST_DIR
set -u
bench=$1
# Under `meson test --setup valgrind`, SV_TEST_WRAPPER runs spice-bench under
# valgrind (tests/valgrind-run.sh).
spice_bench() { ${SV_TEST_WRAPPER:+"$SV_TEST_WRAPPER"} "$bench" "$@"; }
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

spice_bench matrix "$root/bench/ci-matrix.json" -o "$tmp/new" --jobs 2 2>"$tmp/matrix.err"
status=$?
if [ "$status" -ne 0 ]; then
    echo "FAIL: the CI matrix did not run cleanly (exit $status):"
    cat "$tmp/matrix.err"
    exit 1
fi
spice_bench compare "$root/bench/ci-baseline" "$tmp/new" --matrix "$root/bench/ci-matrix.json" \
    --format markdown -o "$tmp/compare.md"
status=$?
spice_bench compare "$root/bench/ci-baseline" "$tmp/new" --matrix "$root/bench/ci-matrix.json"
if [ "$status" -ne 0 ]; then
    echo "FAIL: regressions against bench/ci-baseline (exit $status); if intended, refresh it:"
    echo "  rm -rf bench/ci-baseline && spice-bench matrix bench/ci-matrix.json -o bench/ci-baseline"
    exit 1
fi
echo "ok: no regression against bench/ci-baseline"
