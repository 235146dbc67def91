#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-FileCopyrightText: 2026 The spice-video authors
#
# spice-bench with broken input and injected faults (docs/hardening.md):
#  - a trace that ends inside a blob: exit status 2, one line naming the
#    file, the byte offset and what was expected, and no --json/--csv file
#    (nor a temporary one) left behind;
#  - SV_FAULTS=x264.open with --video-codecs x264:h264: the replay falls back
#    to the built-in MJPEG encoder and the JSON's negotiation says why.
# The truncated traces are cut at test time from a decompressed copy of a
# corpus trace (spice-bench trace cat).
# Usage: test-faults-cli.sh SPICE_BENCH CORPORA_DIR
set -u
bench=$1
corpora=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bench" trace cat "$corpora/text-scroll.spice.zst" -o "$tmp/full.spice" ||
    fail "cannot decompress the corpus trace"
size=$(wc -c <"$tmp/full.spice")

# Offsets of the blob headers ("binary 0 NAME SIZE:") of at least 1000 bytes
# in the first and the second half of the trace.
blobs() {
    grep -abo 'binary [0-9]* [A-Za-z_.]* [0-9]*:' "$tmp/full.spice" |
        awk -F'[: ]' -v size="$size" -v half="$1" \
            '$5 >= 1000 && (half == 1 ? $1 < size / 2 : $1 >= size / 2) { print $1; exit }'
}
early=$(blobs 1)
late=$(blobs 2)
[ -n "$early" ] && [ -n "$late" ] || fail "no large blob found in the corpus trace"

# Cut 500 bytes into the blob's data (past its header line).
check_truncated() {
    label=$1; header=$2
    cut_at=$((header + 500))
    head -c "$cut_at" "$tmp/full.spice" >"$tmp/$label.spice"
    rm -f "$tmp/$label.json" "$tmp/$label.csv"
    "$bench" "$tmp/$label.spice" --codec mjpeg --deterministic --json "$tmp/$label.json" \
        --csv "$tmp/$label.csv" >"$tmp/$label.out" 2>"$tmp/$label.err"
    s=$?
    [ "$s" -eq 2 ] || fail "$label: exit status $s, expected 2: $(cat "$tmp/$label.err")"
    [ "$(wc -l <"$tmp/$label.err")" -eq 1 ] ||
        fail "$label: expected one line on stderr, got: $(cat "$tmp/$label.err")"
    line=$(cat "$tmp/$label.err")
    case $line in
    *"$tmp/$label.spice: offset "*) ;;
    *) fail "$label: the message does not name the file and offset: $line" ;;
    esac
    echo "$line" | grep -q 'blob "[a-z_.]*" of [0-9]* bytes runs past the end of the file' ||
        fail "$label: the message does not say what was expected: $line"
    # The offset is the blob's, inside the file.
    offset=$(echo "$line" | sed -n 's/.*: offset \([0-9]*\) .*/\1/p')
    [ -n "$offset" ] && [ "$offset" -le "$cut_at" ] ||
        fail "$label: offset '$offset' not within the $cut_at bytes read: $line"
    [ -e "$tmp/$label.json" ] && fail "$label: a JSON file was left after the error"
    [ -e "$tmp/$label.csv" ] && fail "$label: a CSV file was left after the error"
    ls "$tmp" | grep -q '\.tmp$' && fail "$label: a temporary file was left behind"
    return 0
}
check_truncated early "$early"
# Mid-replay: frames were encoded and CSV rows written before the error.
check_truncated late "$late"

# A compressed trace cut short: the same contract.
head -c 60000 "$corpora/text-scroll.spice.zst" >"$tmp/cut.spice.zst"
"$bench" "$tmp/cut.spice.zst" --codec mjpeg --json "$tmp/z.json" --csv "$tmp/z.csv" \
    >/dev/null 2>"$tmp/z.err"
s=$?
[ "$s" -eq 2 ] || fail "truncated zstd: exit status $s, expected 2"
[ "$(wc -l <"$tmp/z.err")" -eq 1 ] || fail "truncated zstd: $(cat "$tmp/z.err")"
grep -q "cut.spice.zst: offset [0-9]*.*truncated zstd data" "$tmp/z.err" ||
    fail "truncated zstd: $(cat "$tmp/z.err")"
[ -e "$tmp/z.json" ] || [ -e "$tmp/z.csv" ] && fail "truncated zstd: an output file was left"

# x264 that cannot open: negotiation falls back to MJPEG and says why.
SV_FAULTS=x264.open "$bench" "$corpora/video-photos-640-cut.spice.zst" \
    --video-codecs x264:h264 --deterministic --duration 3 --json "$tmp/x.json" -q \
    >"$tmp/x.out" 2>"$tmp/x.err" || fail "SV_FAULTS=x264.open: non-zero exit: $(cat "$tmp/x.err")"
[ ! -s "$tmp/x.err" ] || fail "SV_FAULTS=x264.open: unexpected stderr: $(cat "$tmp/x.err")"
grep -q '"negotiation": "1. x264:h264: skipped (factory-failed): [^"]*result: spice:mjpeg, the built-in last resort' \
    "$tmp/x.json" || fail "negotiation text: $(grep -o '"negotiation": "[^"]*"' "$tmp/x.json")"
grep -q '"encoder": "x264:h264"' "$tmp/x.json" && fail "x264 was used despite the fault"
grep -q '"encoder": "spice:mjpeg"' "$tmp/x.json" || fail "no stream encoded with spice:mjpeg"

# A malformed SV_FAULTS is reported (when a point is first reached), not fatal.
SV_FAULTS=x264.opne "$bench" "$corpora/video-photos-640-cut.spice.zst" --codec mjpeg \
    --deterministic --duration 3 -q \
    >/dev/null 2>"$tmp/w.err" || fail "SV_FAULTS=x264.opne: non-zero exit"
grep -q "SV_FAULTS: unknown fault point .x264.opne." "$tmp/w.err" || fail "no warning: $(cat "$tmp/w.err")"
echo ok
