#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-FileCopyrightText: 2026 The spice-video authors
#
# spice-bench TRACE as users run it: outputs, exit statuses, one-line errors,
# and the man page listing every option --help lists.
# Usage: test-replay-cli.sh SPICE_BENCH CORPORA_DIR DOCS_DIR
set -u
bench=$1
# Under `meson test --setup valgrind`, SV_TEST_WRAPPER runs spice-bench under
# valgrind (tests/valgrind-run.sh).
spice_bench() { ${SV_TEST_WRAPPER:+"$SV_TEST_WRAPPER"} "$bench" "$@"; }
corpora=$2
docs=$3
video=$corpora/video-photos-640-cut.spice.zst
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A run with every output.
spice_bench "$video" --codec mjpeg --deterministic --json "$tmp/r.json" --csv "$tmp/r.csv" \
    --dump-frames "$tmp/dump" --dump-fps 5 >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 0 ] || fail "replay: exit status $status: $(cat "$tmp/err")"
[ -s "$tmp/r.json" ] || fail "no JSON written"
grep -q '"schema" *: *"spice-bench-replay/1"' "$tmp/r.json" || fail "JSON lacks the schema"
[ "$(wc -l <"$tmp/r.csv")" -gt 10 ] || fail "CSV has fewer than 10 lines"
head -c 10 "$tmp/dump/side-by-side.y4m" | grep -q YUV4MPEG2 || fail "no Y4M dump"
grep -qi 'psnr' "$tmp/out" || fail "summary lacks PSNR: $(cat "$tmp/out")"
# Not a terminal: no progress line.
[ ! -s "$tmp/err" ] || fail "unexpected stderr: $(cat "$tmp/err")"
ls "$tmp" | grep -q '\.tmp$' && fail "temporary file left behind"

# JSON on stdout, summary moved to stderr.
spice_bench "$video" --codec mjpeg --deterministic --json - >"$tmp/stdout.json" 2>/dev/null ||
    fail "--json -: non-zero exit"
grep -q '"schema"' "$tmp/stdout.json" || fail "--json - wrote no JSON to stdout"

# Bad input: exit status 2 and exactly one line naming the problem.
check_bad() {
    expect=$1; shift
    spice_bench "$@" >"$tmp/o" 2>"$tmp/e"; s=$?
    [ "$s" -eq 2 ] || fail "$*: exit status $s, expected 2"
    [ "$(wc -l <"$tmp/e")" -eq 1 ] || fail "$*: expected one line on stderr, got: $(cat "$tmp/e")"
    grep -q -- "$expect" "$tmp/e" || fail "$*: message lacks '$expect': $(cat "$tmp/e")"
}
check_bad "bw" "$video" --net bw=fast
check_bad "theora" "$video" --codec theora
check_bad "--streaming" "$video" --streaming sometimes
check_bad "needs a value" "$video" --json
check_bad "unknown option" "$video" --frobnicate
check_bad "exclude" "$video" --codec vp8 --video-codecs spice:mjpeg
printf 'SPICE_REPLAY 1\nevent 0 0 1 12\nnot a draw\n' >"$tmp/bad.spice"
check_bad "offset" "$tmp/bad.spice" --json "$tmp/bad.json"
[ -e "$tmp/bad.json" ] && fail "a JSON file was left after bad input"

# The man page documents every option --help lists.
spice_bench --help >"$tmp/help" || fail "--help failed"
for opt in $(grep -o -- '--[a-z][a-z-]*' "$tmp/help" | sort -u); do
    grep -q -- "$(echo "$opt" | sed 's/-/\\\\-/g')" "$docs/spice-bench.1" ||
        grep -q -- "$opt" "$docs/spice-bench.1" || fail "docs/spice-bench.1 lacks $opt"
done
echo "ok"
