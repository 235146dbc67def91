#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-FileCopyrightText: 2026 The spice-video authors
#
# `spice-bench matrix` and `merge`, run as users run them (docs/ci.md,
# "Matrix runs"): a 2 codecs x 2 nets matrix on the first second of the corpus
# video trace, resuming, sharding and merging, a matrix file, bad input and a
# failing run. JSON is checked with python3 (meson's own interpreter).
#
# Usage: test-matrix.sh SPICE_BENCH SOURCE_ROOT TEST_DIR

set -u

BENCH=$1
SRC=$2
case $BENCH in /*) ;; *) BENCH=$PWD/$BENCH ;; esac
# Under `meson test --setup valgrind`, SV_TEST_WRAPPER runs spice-bench under
# valgrind (tests/valgrind-run.sh): the matrix and merge processes, not the
# runs a matrix starts (valgrind does not follow them).
spice_bench() { ${SV_TEST_WRAPPER:+"$SV_TEST_WRAPPER"} "$BENCH" "$@"; }
case $SRC in /*) ;; *) SRC=$PWD/$SRC ;; esac
TRACE=$SRC/corpora/video-photos-640-cut.spice.zst

W=$(mktemp -d "${TMPDIR:-/tmp}/test-matrix.XXXXXX") || exit 1
trap 'rm -rf "$W"' EXIT

n=0
failed=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    for line in "$@"; do echo "#   $line"; done
}
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
    desc=$1
    shift
    if "$@"; then pass "$desc"; else fail "$desc"; fi
}
# Runs python3 CODE ARGS... (sys.argv[1:] = ARGS); the exit status is the check.
# shellcheck disable=SC2317
py() {
    code=$1
    shift
    python3 -c "$code" "$@"
}

# matrix ARGS...: runs spice-bench matrix; status in $rc, stderr in $W/err.
matrix() {
    spice_bench matrix "$@" 2>"$W/err" >"$W/out"
    rc=$?
}

COMMON="--codecs mjpeg,vp8 --nets lan,wan --deterministic --duration 1 --jobs 2"

# ---- a 2 x 2 matrix -------------------------------------------------------------------------
# shellcheck disable=SC2086
matrix --traces "$TRACE" $COMMON -o "$W/full"
check "matrix exits 0" test "$rc" -eq 0
check "one progress line per run, all ok" \
    test "$(grep -c '^matrix \[[1-4]/4\] ok ' "$W/err")" -eq 4

CHECK_INDEX='
import json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
assert idx["schema"] == "spice-bench-matrix/1", idx["schema"]
runs = idx["runs"]
assert len(runs) == 4, len(runs)
fields = {"id", "trace", "codec", "net", "options", "repeat", "file", "status", "exit_code", "error"}
combos = set()
for i, r in enumerate(runs):
    assert set(r) == fields, sorted(r)
    assert r["id"] == i and r["repeat"] == 0 and r["options"] == "", r
    assert r["status"] == "ok" and r["exit_code"] == 0 and r["error"] is None, r
    assert os.path.basename(r["trace"]) == "video-photos-640-cut.spice.zst", r
    combos.add((r["codec"], r["net"]))
    res = json.load(open(os.path.join(d, r["file"])))
    assert res["schema"] == "spice-bench-replay/1"
    assert res["run"]["deterministic"] is True
    assert res["run"]["trace_duration_ms"] <= 1000.5, res["run"]["trace_duration_ms"]
    assert res["run"]["video_codecs"].endswith(":" + r["codec"]), res["run"]["video_codecs"]
    assert res["run"]["net"].startswith(r["net"] + ":"), res["run"]["net"]
assert combos == {("mjpeg", "lan"), ("mjpeg", "wan"), ("vp8", "lan"), ("vp8", "wan")}, combos
files = sorted(os.listdir(d))
assert files == sorted(["index.json"] + [r["file"] for r in runs]), files
'
check "index.json lists the 4 runs with their fields; 4 valid results, nothing else" \
    py "$CHECK_INDEX" "$W/full"

# ---- resume ---------------------------------------------------------------------------------
cp -R "$W/full" "$W/full.before"
touch "$W/marker"
sleep 1
# shellcheck disable=SC2086
matrix --traces "$TRACE" $COMMON -o "$W/full"
check "re-run exits 0" test "$rc" -eq 0
check "re-run skips all 4 runs" \
    test "$(grep -c '^matrix \[[1-4]/4\] skipped ' "$W/err")" -eq 4
check "re-run writes no result file" \
    test -z "$(find "$W/full" -name '*_r0.json' -newer "$W/marker")"
check "re-run leaves identical files" diff -r "$W/full.before" "$W/full"

# A missing and a damaged result are run again, with the same deterministic results.
rm "$W/full/video-photos-640-cut_mjpeg_wan_d1_r0.json"
printf '{"schema": "spice-bench-replay/1", "run": ' >"$W/full/video-photos-640-cut_vp8_lan_d1_r0.json"
# shellcheck disable=SC2086
matrix --traces "$TRACE" $COMMON -o "$W/full"
check "a missing and a damaged result are run again, the 2 others skipped" \
    test "$rc" -eq 0 -a "$(grep -c '\] ok ' "$W/err")" -eq 2 \
    -a "$(grep -c '\] skipped ' "$W/err")" -eq 2
check "the runs done again give identical files" diff -r "$W/full.before" "$W/full"

# ---- shards and merge -----------------------------------------------------------------------
# shellcheck disable=SC2086
matrix --traces "$TRACE" $COMMON -o "$W/s1" --shard 1/2
rc1=$rc
# shellcheck disable=SC2086
matrix --traces "$TRACE" $COMMON -o "$W/s2" --shard 2/2
check "both shards exit 0" test "$rc1" -eq 0 -a "$rc" -eq 0
CHECK_SHARD='
import json, os, sys
d, shard, ids = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3].split(",")]
idx = json.load(open(os.path.join(d, "index.json")))
assert idx["shard"] == shard, idx["shard"]
assert [r["id"] for r in idx["runs"]] == ids, [r["id"] for r in idx["runs"]]
assert sorted(os.listdir(d)) == sorted(["index.json"] + [r["file"] for r in idx["runs"]])
'
check "shard 1/2 holds runs 0 and 2 only" py "$CHECK_SHARD" "$W/s1" 1/2 0,2
check "shard 2/2 holds runs 1 and 3 only" py "$CHECK_SHARD" "$W/s2" 2/2 1,3
spice_bench merge -o "$W/merged" "$W/s1" "$W/s2" 2>"$W/err"
check "merge exits 0" test $? -eq 0
check "merged index.json equals the unsharded one" cmp "$W/full/index.json" "$W/merged/index.json"
check "merged results equal the unsharded ones" diff -r "$W/full" "$W/merged"
spice_bench merge -o "$W/merged2" "$W/s2" "$W/s1" "$W/s1" 2>"$W/err"
check "merge in another order, with a set twice, gives the same index" \
    cmp "$W/full/index.json" "$W/merged2/index.json"

# Two different results for one run: a conflict.
cp -R "$W/s1" "$W/s1x"
f=video-photos-640-cut_mjpeg_lan_d1_r0.json
sed 's/"seed": 1,/"seed": 2,/' "$W/s1/$f" >"$W/s1x/$f"
spice_bench merge -o "$W/merged3" "$W/s1" "$W/s1x" 2>"$W/err"
rc=$?
check "merging two different results of one run fails with exit 2 and one line" \
    test "$rc" -eq 2 -a "$(wc -l <"$W/err")" -eq 1
check "the conflict is named" grep -q "two different results" "$W/err"
check "a failed merge writes no index" test ! -e "$W/merged3/index.json"

# ---- a matrix file --------------------------------------------------------------------------
mkdir -p "$W/mf/traces"
ln -s "$TRACE" "$W/mf/traces/video.spice.zst"
cat >"$W/mf/matrix.json" <<'EOF'
{
  "traces": ["traces"],
  "codecs": ["vp8"],
  "nets": ["lan"],
  "encoder_options": ["", "cpu-used=8"],
  "repeat": 2,
  "deterministic": true,
  "duration": 0.5,
  "thresholds": {"psnr_mean": 0.5},
  "rd": {}
}
EOF
(cd / && spice_bench matrix "$W/mf/matrix.json" -o "$W/mf/out" -j 2 2>"$W/err")
check "matrix file run (from another directory) exits 0" test $? -eq 0
CHECK_FILE='
import json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
runs = idx["runs"]
got = [(r["options"], r["repeat"], r["status"]) for r in runs]
assert got == [("", 0, "ok"), ("", 1, "ok"), ("cpu-used=8", 0, "ok"), ("cpu-used=8", 1, "ok")], got
assert all(os.path.basename(r["trace"]) == "video.spice.zst" for r in runs)
assert idx["matrix"]["thresholds"] == {"psnr_mean": 0.5}, idx["matrix"]
res = [json.load(open(os.path.join(d, r["file"]))) for r in runs]
assert all(x["run"]["trace_duration_ms"] <= 500.5 for x in res)
assert len({r["file"] for r in runs}) == 4
# Repeats of a deterministic run are identical.
assert res[0] == res[1] and res[2] == res[3]
'
check "matrix file: options x repeats, traces relative to the file, thresholds kept" \
    py "$CHECK_FILE" "$W/mf/out"

# ---- the project's CI matrix ----------------------------------------------------------------
spice_bench matrix "$SRC/bench/ci-matrix.json" -o "$W/ci" --dry-run >"$W/out" 2>"$W/err"
check "bench/ci-matrix.json is valid (--dry-run exits 0, writes nothing)" \
    test $? -eq 0 -a ! -e "$W/ci" -a ! -s "$W/err"
CHECK_CI='
import os, shlex, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 12, lines
runs = set()
for i, line in enumerate(lines):
    w = shlex.split(line)
    assert w[0] == str(i) and w[1] == "spice-bench", w
    assert os.path.isfile(w[2]), w[2]
    assert "--deterministic" in w and "--duration" not in w, w
    runs.add((os.path.basename(w[2]), w[w.index("--codec") + 1], w[w.index("--net") + 1]))
assert runs == {(t, c, n) for t in ("video-photos-640-cut.spice.zst", "text-scroll.spice.zst")
                for c in ("mjpeg", "vp8", "h264") for n in ("lan", "wan")}, runs
'
check "bench/ci-matrix.json: both corpus traces x mjpeg, vp8, h264 x lan, wan, deterministic" \
    py "$CHECK_CI" "$W/out"

# ---- bad input: exit 2, one line, nothing written ---------------------------------------------
# bad NAME WHAT ARGS...: matrix ARGS must exit 2 with one line containing WHAT.
bad() {
    name=$1
    what=$2
    shift 2
    spice_bench matrix "$@" -o "$W/bad-out" 2>"$W/err" >"$W/out"
    rc=$?
    lines=$(wc -l <"$W/err")
    if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] && grep -q -- "$what" "$W/err" && \
        [ ! -e "$W/bad-out" ]; then
        pass "bad input: $name"
    else
        fail "bad input: $name" "exit $rc, $lines lines:" "$(cat "$W/err")"
    fi
}
bad "unknown codec in the list" "'xvid'" --traces "$TRACE" --codecs mjpeg,xvid --nets lan
bad "unknown net" "'moon'" --traces "$TRACE" --codecs mjpeg --nets lan,moon
bad "missing trace" "no-such.spice" --traces "$TRACE,$W/no-such.spice" --codecs mjpeg --nets lan
bad "--shard 3/2" "3/2" --traces "$TRACE" --codecs mjpeg --nets lan --shard 3/2
bad "--shard 0/2" "0/2" --traces "$TRACE" --codecs mjpeg --nets lan --shard 0/2
bad "unknown option" "--frobnicate" --traces "$TRACE" --codecs mjpeg --nets lan --frobnicate
bad "no --codecs" "--codecs" --traces "$TRACE" --nets lan
printf '{"traces": ["%s"], "codecs": ["mjpeg"], "nets": ["lan"], "codec": "vp8", "jobs": 2}\n' \
    "$TRACE" >"$W/unknown-key.json"
bad "unknown matrix-file keys" "unknown keys 'codec', 'jobs'" "$W/unknown-key.json"
printf '{"traces": ["%s"], "codecs": "mjpeg", "nets": ["lan"]}\n' "$TRACE" >"$W/bad-type.json"
bad "matrix-file codecs not an array" '"codecs" must be' "$W/bad-type.json"
printf '{"traces": [' >"$W/bad-json.json"
bad "matrix file not JSON" "not valid JSON" "$W/bad-json.json"
bad "matrix file and --codecs" "replaces" "$W/mf/matrix.json" --codecs mjpeg
spice_bench merge -o "$W/bad-out" "$W/mf" 2>"$W/err"
rc=$?
check "merge of a directory without index.json: exit 2, one line" \
    test "$rc" -eq 2 -a "$(wc -l <"$W/err")" -eq 1 -a ! -e "$W/bad-out/index.json"

# ---- a failing run ----------------------------------------------------------------------------
mkdir -p "$W/corrupt"
head -c 4096 /dev/urandom >"$W/corrupt/corrupt.spice"
matrix --traces "$TRACE,$W/corrupt/corrupt.spice" --codecs mjpeg --nets lan --deterministic \
    --duration 1 -o "$W/fail"
check "a failing run makes the matrix exit 1" test "$rc" -eq 1
check "the failure is reported in the progress" grep -q '^matrix \[[12]/2\] FAILED .*corrupt' "$W/err"
CHECK_FAIL='
import json, os, sys
d = sys.argv[1]
runs = json.load(open(os.path.join(d, "index.json")))["runs"]
assert len(runs) == 2, runs
good, bad = runs
assert good["status"] == "ok" and os.path.exists(os.path.join(d, good["file"])), good
assert bad["status"] == "failed" and bad["exit_code"] == 2, bad
assert "corrupt.spice" in bad["error"] and "\n" not in bad["error"], bad["error"]
assert not bad["error"].startswith("spice-bench:"), bad["error"]
assert not os.path.exists(os.path.join(d, bad["file"])), bad
assert sorted(os.listdir(d)) == sorted(["index.json", good["file"]]), os.listdir(d)
'
check "the failed run is in the index with its exit code and error, the other one done" \
    py "$CHECK_FAIL" "$W/fail"
spice_bench merge -o "$W/fail-merged" "$W/fail" 2>"$W/err"
check "merge keeps the failed run" \
    py 'import json,sys; r=json.load(open(sys.argv[1]))["runs"]; assert [x["status"] for x in r] == ["ok", "failed"]' \
    "$W/fail-merged/index.json"

# ---- --isolate: an encoder crashing in one run ends only that run -----------------------------
# The worker test hook crashes every isolated encoder at its 3rd frame: the
# video run fails with the worker's signal, the text run (no stream, no
# encoder) succeeds, and the matrix says so.
SV_ISOLATE_TEST_CRASH_AT=3 spice_bench matrix --traces "$TRACE,$SRC/corpora/text-scroll.spice.zst" \
    --codecs mjpeg --nets lan --deterministic --duration 2 --isolate -j 1 \
    -o "$W/iso" >"$W/out" 2>"$W/err"
check "matrix --isolate: exit status 1 when a run's encoder crashed" test $? -eq 1
CHECK_ISO='
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
by_trace = {r["trace"].rsplit("/", 1)[-1]: r for r in runs}
video = by_trace["video-photos-640-cut.spice.zst"]
text = by_trace["text-scroll.spice.zst"]
assert video["status"] == "failed" and "crashed" in video["error"], video
assert text["status"] == "ok", text
'
check "matrix --isolate: the crashed run is failed with its error, the other one ok" \
    py "$CHECK_ISO" "$W/iso/index.json"

echo "1..$n"
if [ "$failed" -gt 0 ]; then
    echo "# $failed of $n checks failed"
    exit 1
fi
exit 0
