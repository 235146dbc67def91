#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-FileCopyrightText: 2026 The spice-video authors
#
# One deterministic replay of the corpus video through one encoder, as users
# run it: the encoder is negotiated, frames are encoded, decoded by the
# simulated client and shown. Under `meson test --setup valgrind` the replay
# runs under valgrind (SV_TEST_WRAPPER, tests/valgrind-run.sh), so every
# encoder's whole path (display model, encoder, network, client decoder,
# metrics) is checked for memory errors and leaks once.
# Usage: test-replay-encoder.sh SPICE_BENCH VIDEO_TRACE ENCODER:CODEC
# Exit status 77 (skip) when ENCODER:CODEC cannot be used here.
set -u
bench=$1
video=$2
encoder=$3
spice_bench() { ${SV_TEST_WRAPPER:+"$SV_TEST_WRAPPER"} "$bench" "$@"; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $encoder: $*"; exit 1; }

# Availability is asked natively: it is not what this test checks.
"$bench" list-encoders >"$tmp/list" || fail "list-encoders: exit status $?"
line=$(grep "^$encoder " "$tmp/list")
case $line in
'') fail "not in list-encoders: $(cat "$tmp/list")" ;;
*' available') ;;
*)
    echo "SKIP: $line"
    exit 77
    ;;
esac

spice_bench "$video" --video-codecs "$encoder" --deterministic -q --json "$tmp/r.json" \
    >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 0 ] || fail "replay: exit status $status: $(cat "$tmp/err")"
[ ! -s "$tmp/err" ] || fail "unexpected stderr: $(cat "$tmp/err")"
python3 - "$tmp/r.json" "$encoder" <<'EOF' || fail "unexpected result (above)"
import json
import sys

result = json.load(open(sys.argv[1]))
negotiated = [n["encoder"] for n in result["encoder"]["negotiated"]]
frames = result["frames"]
print(f"negotiated {negotiated}, {frames['encoded']} frames encoded, {frames['shown']} shown, "
      f"PSNR-Y {result['quality']['psnr_y_db']['mean']} dB")
assert negotiated == [sys.argv[2]], negotiated
assert frames["encoded"] > 0 and frames["shown"] > 0, frames
assert frames["not_decoded"] == 0, frames
EOF
echo "ok"
