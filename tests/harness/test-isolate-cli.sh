#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-FileCopyrightText: 2026 The spice-video authors
#
# spice-bench TRACE --isolate as users run it: the same deterministic JSON
# as without it, and a crashing, hanging or exiting encoder (the worker's
# test hooks, docs/replay.md) ends the run with exit status 1 and one line,
# spice-bench itself surviving, no worker left behind.
# Usage: test-isolate-cli.sh SPICE_BENCH CORPORA_DIR
set -u
bench=$1
corpora=$2
video=$corpora/video-photos-640-cut.spice.zst
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Workers of this test still running: they would carry its hook variables.
workers() {
    for p in /proc/[0-9]*; do
        tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q "__encoder-worker" &&
            tr '\0' '\n' <"$p/environ" 2>/dev/null | grep -q "^SV_ISOLATE_CLI_TEST=$$\$" &&
            echo "${p#/proc/}"
    done
}
export SV_ISOLATE_CLI_TEST=$$

# vpx:vp8 rather than gstreamer:vp8, whose output varies from run to run even
# in process (vp8enc's real-time deadline follows the wall clock).
codecs=spice:mjpeg
"$bench" list-encoders | grep -q '^vpx:vp8 .* available' && codecs="$codecs vpx:vp8"
for list in $codecs; do
    "$bench" "$video" --video-codecs "$list" --deterministic --json "$tmp/in.json" -q ||
        fail "$list: in-process run failed"
    "$bench" "$video" --video-codecs "$list" --deterministic --isolate --json "$tmp/iso.json" -q \
        2>"$tmp/err" || fail "$list --isolate: exit status $?: $(cat "$tmp/err")"
    cmp -s "$tmp/in.json" "$tmp/iso.json" || fail "$list: JSON differs with --isolate"
done

# check_failure HOOK=N EXPECT [ENV...]: exit 1, one line naming EXPECT.
# Deterministic, so that the encoder sees the same frames on any machine.
check_failure() {
    what=$1; expect=$2; shift 2
    env "$what" "$@" "$bench" "$video" --codec vp8 --deterministic --isolate -q \
        --json "$tmp/f.json" >"$tmp/o" 2>"$tmp/e"
    s=$?
    [ "$s" -eq 1 ] || fail "$what: exit status $s, expected 1: $(cat "$tmp/e")"
    [ "$(wc -l <"$tmp/e")" -eq 1 ] || fail "$what: expected one line on stderr, got: $(cat "$tmp/e")"
    grep -q "^spice-bench: $video: encoder [a-z0-9]*:vp8 $expect" "$tmp/e" ||
        fail "$what: message lacks '$expect': $(cat "$tmp/e")"
    [ -e "$tmp/f.json" ] && fail "$what: a JSON file was left after the failure"
    [ -z "$(workers)" ] || fail "$what: workers left running: $(workers)"
}
# SIGSEGV; SIGABRT under AddressSanitizer with abort_on_error.
check_failure SV_ISOLATE_TEST_CRASH_AT=10 "crashed (signal \(11\|6\), .*) at frame 10"
check_failure SV_ISOLATE_TEST_HANG_AT=4 "did not answer within 2 s (killed) at frame 4" \
    SV_ISOLATE_TIMEOUT_MS=2000
check_failure SV_ISOLATE_TEST_EXIT_AFTER=2 "exited with status 3 \(after frame 2\|at frame 3\)"

# The hidden worker command refuses nonsense.
"$bench" - __encoder-worker x >/dev/null 2>&1 && fail "__encoder-worker accepted 'x'"
echo "ok"
