#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-FileCopyrightText: 2026 The spice-video authors
#
# spice-bench trace info|cut|cat as users run them.
# Usage: test-trace-cli.sh SPICE_BENCH CORPORA_DIR
bench=$1
# Under `meson test --setup valgrind`, SV_TEST_WRAPPER runs spice-bench under
# valgrind (tests/valgrind-run.sh).
spice_bench() { ${SV_TEST_WRAPPER:+"$SV_TEST_WRAPPER"} "$bench" "$@"; }
corpora=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# info, text and JSON
out=$(spice_bench trace info "$corpora/video-photos-640-cut.spice.zst") || fail "info exit $?"
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -q '^events: 119$' || fail "no 'events: 119'"
printf '%s\n' "$out" | grep -q '^  640x360 at (192,204): 45 frames, .* 25\.0[0-9] fps$' ||
  fail "no 640x360 video candidate"
json=$(spice_bench trace info --json "$corpora/idle-cursor.spice.zst") || fail "info --json exit $?"
printf '%s\n' "$json" | grep -q '"events": 507,' || fail "no \"events\": 507 in JSON"
printf '%s\n' "$json" | grep -q '"cursor": 245' || fail "no \"cursor\": 245 in JSON"

# cut by events and by time, cat with conversion
spice_bench trace cut "$corpora/idle-cursor.spice.zst" --events 100:200 -o "$tmp/cut.spice" ||
  fail "cut --events exit $?"
n=$(spice_bench trace info --json "$tmp/cut.spice" | sed -n 's/.*"events": \([0-9]*\),.*/\1/p')
# 100 events plus the set-up before them: 8 worker messages (memslot,
# start, resets, primary, monitors config), 3 surface commands, the cursor
# hide and set.
[ "$n" = 113 ] || fail "cut --events 100:200 gave $n events, expected 113"
spice_bench trace cut "$corpora/text-scroll.spice.zst" --from 2 --to 3 -o "$tmp/cut.spice.gz" --json \
  > "$tmp/cut.json" || fail "cut --from/--to exit $?"
grep -q '"events_written": ' "$tmp/cut.json" || fail "cut --json: $(cat "$tmp/cut.json")"
spice_bench trace info "$tmp/cut.spice.gz" | grep -q '^compression: gzip$' || fail "not gzip"
spice_bench trace cat "$tmp/cut.spice.gz" -o "$tmp/cat.spice.zst" || fail "cat exit $?"
spice_bench trace cat "$tmp/cat.spice.zst" -o "$tmp/cat.spice" || fail "cat exit $?"
spice_bench trace cat "$tmp/cut.spice.gz" -o - | cmp -s - "$tmp/cat.spice" || fail "cat to stdout differs"

# errors: one line, exit status 2, no output file left
printf 'SPICE_REPLAY 1\nevent 0 0 1 5\ndrawable\nrect bbox 1 2\n' > "$tmp/bad.spice"
err=$(spice_bench trace cat "$tmp/bad.spice" -o "$tmp/out.spice" 2>&1 >/dev/null); status=$?
[ "$status" -eq 2 ] || fail "bad trace: exit status $status"
expected="spice-bench: $tmp/bad.spice: offset 52 (line 5, event 0): unexpected end of file, expected a number for \"rect bbox\" ($tmp/out.spice not written)"
[ "$err" = "$expected" ] || fail "bad trace: '$err'"
[ ! -e "$tmp/out.spice" ] && [ ! -e "$tmp/out.spice.tmp" ] || fail "partial output left"
err=$(spice_bench trace info "$tmp/missing.spice" 2>&1 >/dev/null); status=$?
[ "$status" -eq 2 ] || fail "missing file: exit status $status"
[ "$err" = "spice-bench: $tmp/missing.spice: No such file or directory" ] ||
  fail "missing file: '$err'"
err=$(spice_bench trace cut "$tmp/cat.spice" -o "$tmp/x.spice" 2>&1); status=$?
[ "$status" -eq 2 ] || fail "cut without range: exit status $status"
[ "$err" = "spice-bench: trace: cut: needs --from/--to or --events (see spice-bench trace --help)" ] ||
  fail "cut without range: '$err'"
spice_bench trace info --frobnicate >/dev/null 2>&1; status=$?
[ "$status" -eq 2 ] || fail "unknown option: exit status $status"
spice_bench trace frobnicate >/dev/null 2>&1; status=$?
[ "$status" -eq 2 ] || fail "unknown command: exit status $status"
spice_bench trace --help | grep -q '^  cut FILE -o OUT' || fail "trace --help"
# gen: every workload reads back; the labels match what info finds
for w in video fullscreen-video scroll drag progress slideshow idle mix video+drag+progress \
         slideshow+scroll; do
  spice_bench trace gen --workload $w --size 320x240 --duration 2 --seed 7 -o "$tmp/gen-$w.spice.zst" ||
    fail "gen $w exit $?"
  info=$(spice_bench trace info --json "$tmp/gen-$w.spice.zst") || fail "gen $w: info exit $?"
  labels=$(cat "$tmp/gen-$w.spice.zst.labels.json")
  case $w in
  video|mix|video+*) region='"x": 40, "y": 15, "width": 160, "height": 120';;
  fullscreen-video) region='"x": 0, "y": 0, "width": 320, "height": 240';;
  *) region=;;
  esac
  if [ -n "$region" ]; then
    printf '%s\n' "$labels" | grep -q "{$region, \"start_ns\": 100000000, \"end_ns\": 1980000000, \"frames\": 48}" ||
      fail "gen $w: labels $labels"
    printf '%s\n' "$info" | grep -q "\"video_candidates\": \[{$region, \"frames\": 48, \"start_ns\": 100000000, \"end_ns\": 1980000000," ||
      fail "gen $w: info $info"
  else
    printf '%s\n' "$labels" | grep -q '"video_regions": \[\]' || fail "gen $w: labels $labels"
    printf '%s\n' "$info" | grep -q '"video_candidates": \[\]' || fail "gen $w: info $info"
  fi
done
spice_bench trace gen --workload mix --size 320x240 --duration 2 --seed 7 -o "$tmp/gen-again.spice.zst" ||
  fail "gen again"
cmp -s "$tmp/gen-mix.spice.zst" "$tmp/gen-again.spice.zst" || fail "gen is not deterministic"
spice_bench trace gen --workload mix --size 320x240 --duration 2 --seed 8 -o "$tmp/gen-seed8.spice.zst" ||
  fail "gen seed 8"
! cmp -s "$tmp/gen-mix.spice.zst" "$tmp/gen-seed8.spice.zst" || fail "the seed changes nothing"
spice_bench trace gen --workload nope -o "$tmp/x.spice" 2>/dev/null; status=$?
[ "$status" -eq 2 ] || fail "gen unknown workload: exit status $status"
echo "all trace CLI checks passed"
