#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-FileCopyrightText: 2026 The spice-video authors
#
# spice-bench --module: list-encoders names each entry's origin, -v the
# module's name and version; the option works before the command and after
# it, for a replay too; a module that cannot be loaded is one line on stderr
# and exit status 2.
# Usage: test-module-cli.sh SPICE_BENCH FAKEMOD.so BADABI.so CORPORA_DIR
set -u
bench=$1
fakemod=$2
badabi=$3
corpora=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# The test must not depend on the caller's modules.
unset SPICE_VIDEO_MODULE_PATH

"$bench" --module "$fakemod" list-encoders >"$tmp/out" 2>"$tmp/err" ||
    fail "--module list-encoders: exit status $?: $(cat "$tmp/err")"
cat "$tmp/out"
grep -Eq "^fakemod:mjpeg +MJPEG .* rank 100  $fakemod +available\$" "$tmp/out" ||
    fail "no fakemod:mjpeg line naming $fakemod"
grep -Eq "^fakemod:vp8 .* $fakemod +unavailable: fakemod vp8 needs a hardware encoder" "$tmp/out" ||
    fail "no fakemod:vp8 line with the probe's reason"
grep -Eq '^spice:mjpeg .* built-in +available$' "$tmp/out" || fail "spice:mjpeg is not built-in"
[ ! -s "$tmp/err" ] || fail "unexpected stderr: $(cat "$tmp/err")"

# After the command, with -v.
"$bench" list-encoders -v "--module=$fakemod" >"$tmp/out" 2>"$tmp/err" ||
    fail "list-encoders -v --module=: exit status $?: $(cat "$tmp/err")"
grep -q "^    module: fakemod 1.2.3 ($fakemod)\$" "$tmp/out" || fail "-v lacks the module line"
grep -q '^    built into libspice-video$' "$tmp/out" || fail "-v lacks the built-in line"
grep -q '^default list (auto): spice:mjpeg;fakemod:mjpeg' "$tmp/out" ||
    fail "default list lacks fakemod:mjpeg after spice:mjpeg: $(grep '^default' "$tmp/out")"

# Without it, no module.
"$bench" list-encoders >"$tmp/out" 2>&1 || fail "list-encoders failed"
grep -q fakemod "$tmp/out" && fail "fakemod listed without --module"

# Modules that cannot be loaded: one line, status 2.
check_bad() {
    expect=$1; shift
    "$bench" "$@" >"$tmp/o" 2>"$tmp/e"; s=$?
    [ "$s" -eq 2 ] || fail "$*: exit status $s, expected 2"
    [ "$(wc -l <"$tmp/e")" -eq 1 ] || fail "$*: expected one line on stderr, got: $(cat "$tmp/e")"
    grep -q -- "$expect" "$tmp/e" || fail "$*: message lacks '$expect': $(cat "$tmp/e")"
    [ ! -s "$tmp/o" ] || fail "$*: unexpected stdout: $(cat "$tmp/o")"
}
check_bad "^spice-bench: /nonexistent.so: No such file or directory\$" --module /nonexistent.so list-encoders
check_bad "^spice-bench: $badabi: module ABI version 2, this library supports 1\$" list-encoders --module "$badabi"
check_bad "^spice-bench: --module needs a value" list-encoders --module

# A replay with the module's encoder, the option after the trace.
video=$corpora/video-photos-640-cut.spice.zst
"$bench" "$video" --module "$fakemod" --video-codecs 'fakemod:mjpeg' --deterministic \
    --duration 2 --json "$tmp/r.json" >"$tmp/out" 2>"$tmp/err" ||
    fail "replay with --module: exit status $?: $(cat "$tmp/err")"
grep -q 'fakemod:mjpeg' "$tmp/r.json" || fail "the replay's JSON does not name fakemod:mjpeg"
echo "ok"
