#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-FileCopyrightText: 2026 The spice-video authors
#
# spice-bench compare, rd and bd-rate, run as users run them.
# Usage: test-compare.sh SPICE_BENCH SOURCE_ROOT TEST_DIR
set -eu

BENCH=$1
SRC=$2
# meson passes the program relative to the build directory; the checks run
# in a scratch directory.
case $BENCH in /*) ;; *) BENCH=$(pwd)/$BENCH ;; esac
# Under `meson test --setup valgrind`, SV_TEST_WRAPPER runs spice-bench under
# valgrind (tests/valgrind-run.sh). The replays and the rd sweep that make
# the inputs run natively: the harness suite replays every codec under
# valgrind already, and these would take most of the time.
spice_bench() { ${SV_TEST_WRAPPER:+"$SV_TEST_WRAPPER"} "$BENCH" "$@"; }
case $SRC in /*) ;; *) SRC=$(pwd)/$SRC ;; esac
TRACE=$SRC/corpora/video-photos-640-cut.spice.zst

W=$(mktemp -d "${TMPDIR:-/tmp}/test-compare.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM
cd "$W"

failures=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
ok() {
    echo "ok: $*"
}

# run EXPECTED_STATUS NAME COMMAND...: stdout to NAME.out, stderr to NAME.err.
run() {
    expected=$1
    name=$2
    shift 2
    status=0
    "$@" >"$name.out" 2>"$name.err" || status=$?
    if [ "$status" -ne "$expected" ]; then
        fail "$name: exit status $status, expected $expected"
        sed 's/^/    /' "$name.out" "$name.err" >&2
        return 1
    fi
    return 0
}

contains() { # FILE PATTERN DESCRIPTION
    if grep -q -- "$2" "$1"; then ok "$3"; else
        fail "$3: '$2' not in $1"
        sed 's/^/    /' "$1" >&2
    fi
}

lacks() { # FILE PATTERN DESCRIPTION
    if grep -q -- "$2" "$1"; then
        fail "$3: '$2' in $1"
        sed 's/^/    /' "$1" >&2
    else ok "$3"; fi
}

py() {
    python3 - "$@"
}

# A bad-input case: status 2 and exactly one line on stderr, starting
# "spice-bench: ".
bad() { # NAME ARGS...
    name=$1
    shift
    if run 2 "$name" spice_bench "$@"; then
        lines=$(wc -l <"$name.err")
        if [ "$lines" -eq 1 ] && grep -q '^spice-bench: ' "$name.err"; then
            ok "$name: status 2, one line: $(cat "$name.err")"
        else
            fail "$name: expected one 'spice-bench: ' line on stderr, got $lines"
            sed 's/^/    /' "$name.err" >&2
        fi
    fi
}

# ---------------------------------------------------------------------------
# Result sets. The whole 2 s trace: video streams start after about 0.8 s,
# so --duration 1 would have no stream frames to measure.
replay() {
    "$BENCH" "$TRACE" --deterministic -q "$@"
}
mkdir base worse
replay --codec mjpeg --quality 90 --json base/mjpeg.json
replay --codec vp8 --json base/vp8.json
replay --codec mjpeg --quality 90 --net wan --json base/mjpeg-wan.json
replay --codec mjpeg --quality 20 --json worse/mjpeg.json
replay --codec vp8 --json worse/vp8.json
replay --codec h264 --bit-rate 1 --no-rate-control --json worse/h264.json

# Identical sets: nothing regressed.
if run 0 same spice_bench compare base base; then
    ok "identical sets: status 0"
    contains same.out "0 regressed, 0 improved" "identical sets: all unchanged"
    lacks same.out "^!!" "identical sets: no row marked"
fi

# Worse JPEG quality as NEW: PSNR and SSIM regress, the rest does not.
if run 1 worse spice_bench compare base worse; then
    ok "worse set: status 1"
    contains worse.out '^!!  psnr_mean .*48.42 dB .*39.28 dB .*-9.14 dB .*regressed' \
        "worse set: psnr_mean regressed with its numbers"
    contains worse.out '^!!  ssim_mean .*regressed' "worse set: ssim_mean regressed"
    contains worse.out 'video_bitrate_bps .*unchanged (not at equal quality' \
        "worse set: fewer bits at lower PSNR is no improvement"
    contains worse.out '^missing  video-photos-640-cut.spice.zst spice:mjpeg;gstreamer:mjpeg wan' \
        "worse set: run only in BASE listed as missing"
    contains worse.out '^new  video-photos-640-cut.spice.zst gstreamer:h264;x264:h264 lan' \
        "worse set: run only in NEW listed as new"
    contains worse.out '2 runs compared: 2 regressed' "worse set: summary"
fi

# The reverse is an improvement.
if run 0 better spice_bench compare worse base; then
    contains better.out '^ +  psnr_mean .*improved' "better set: psnr_mean improved"
fi

# Thresholds from the command line and from a matrix file.
if run 0 override spice_bench compare base worse --threshold psnr_mean=-10 --threshold 'ssim_mean=off'; then
    contains override.out 'psnr_mean .*-10 dB  unchanged' "--threshold: psnr_mean unchanged"
fi
run 1 override-one spice_bench compare base worse --threshold psnr_mean=-10 &&
    contains override-one.out '^!!  ssim_mean' "--threshold: the other metric still regresses"
cat >matrix.json <<'EOF'
{"traces": [], "thresholds": {"psnr_mean": "-10", "ssim_mean": 0.05}}
EOF
run 0 matrix spice_bench compare base worse --matrix matrix.json &&
    ok "--matrix thresholds: status 0"
run 1 matrix-cli spice_bench compare base worse --matrix matrix.json --threshold psnr_mean=0.3 &&
    ok "--threshold wins over --matrix"
run 1 relative spice_bench compare worse base --threshold 'video_bitrate_bps=+5%' \
    --threshold psnr_mean=20 &&
    contains relative.out '^!!  video_bitrate_bps .*+5 %  regressed' \
        "bit rate regresses when PSNR did not rise by the PSNR threshold"

# JUnit: valid XML, one testcase per run x metric, the regressions as failures.
if run 1 junit spice_bench compare base worse --format junit -o junit.xml; then
    [ ! -e junit.xml.tmp ] || fail "junit: junit.xml.tmp left behind"
    if py junit.xml <<'EOF' >junit.check 2>&1; then ok "junit: $(cat junit.check)"; else fail "junit: $(cat junit.check)"; fi
import sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
cases = doc.getElementsByTagName("testcase")
fails = doc.getElementsByTagName("failure")
skips = doc.getElementsByTagName("skipped")
names = sorted(f.parentNode.getAttribute("name") for f in fails)
assert names == ["psnr_mean", "ssim_mean"], names
msg = [f.getAttribute("message") for f in fails if f.parentNode.getAttribute("name") == "psnr_mean"][0]
assert "48.42 dB" in msg and "39.28 dB" in msg and "-0.3 dB" in msg, msg
assert len(skips) == 2, len(skips)
root = doc.documentElement
assert root.getAttribute("failures") == "2", root.getAttribute("failures")
assert int(root.getAttribute("tests")) == len(cases), (root.getAttribute("tests"), len(cases))
print("valid XML, %d testcases, failures %s" % (len(cases), names))
EOF
fi

# Names with XML's special characters are escaped.
mkdir odd-base odd-new
for side in odd-base:base odd-new:worse; do
    py "${side#*:}/mjpeg.json" >"${side%%:*}/odd.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["run"]["trace"] = "a&b <c> \"d\" 'e'\u00e9.spice"
json.dump(d, sys.stdout)
EOF
done
if run 1 junit-odd spice_bench compare odd-base odd-new --format junit -o odd.xml; then
    if py odd.xml <<'EOF' >odd.check 2>&1; then ok "junit: $(cat odd.check)"; else fail "junit escaping: $(cat odd.check)"; fi
import sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
names = {s.getAttribute("name") for s in doc.getElementsByTagName("testsuite")}
assert "a&b <c> \"d\" 'e'\u00e9.spice spice:mjpeg;gstreamer:mjpeg lan" in names, names
print("special characters escaped")
EOF
fi

# Markdown: a table for a merge-request comment.
if run 1 markdown spice_bench compare base worse --format markdown; then
    contains markdown.out '^| Run | Metric | Base | New | Change | Threshold | Verdict |$' \
        "markdown: table header"
    contains markdown.out '^|---|---|---:|' "markdown: table rule"
    contains markdown.out '| psnr_mean | 48.42 dB | 39.28 dB | -9.14 dB | -0.3 dB | \*\*regressed\*\* |' \
        "markdown: regression in bold"
fi

# JSON.
if run 1 json spice_bench compare base worse --format json -o compare.json; then
    if py compare.json <<'EOF' >json.check 2>&1; then ok "json: $(cat json.check)"; else fail "json: $(cat json.check)"; fi
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "spice-bench-compare/1"
s = d["summary"]
assert (s["compared"], s["regressed"], s["missing"], s["new"]) == (2, 2, 1, 1), s
st = sorted(r["status"] for r in d["runs"])
assert st == ["compared", "compared", "missing", "new"], st
m = [x for r in d["runs"] if r["status"] == "compared" for x in r["metrics"] if x["metric"] == "psnr_mean"]
assert sorted(x["verdict"] for x in m) == ["regressed", "unchanged"], m
print("parses, summary", s)
EOF
fi

# Noisy metrics (wall and CPU time): one sample each is never a verdict;
# repeats go through Welch's t-test. The samples are set by hand, so the
# p-values are known (scipy.stats.ttest_ind(..., equal_var=False)):
#   1000,1010,990 vs 1500,1490,1510: p = 4.26e-07, +50 %   -> regressed
#   1000,1001,999 vs 1050,1051,1049: p = 4.26e-07, +5 %    -> unchanged (< 10 %)
#   1000,1200,800,950 vs 1300,1000,1400: p = 0.171, +23 % -> unchanged (p)
noisy_set() { # DIR VALUE...
    dir=$1
    shift
    mkdir "$dir"
    i=0
    for v in "$@"; do
        i=$((i + 1))
        py base/mjpeg.json "$v" >"$dir/run$i.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["run"]["replay_wall_ms"] = float(sys.argv[2])
d["cpu"]["total_ms"] = float(sys.argv[2]) / 2
json.dump(d, sys.stdout)
EOF
    done
}
noisy_set noisy-base 1000 1010 990
noisy_set noisy-slow 1500 1490 1510
noisy_set noisy-close-a 1000 1001 999
noisy_set noisy-close-b 1050 1051 1049
noisy_set noisy-wide-a 1000 1200 800 950
noisy_set noisy-wide-b 1300 1000 1400
run 0 noisy1 spice_bench compare noisy-base/run1.json noisy-slow/run1.json &&
    contains noisy1.out 'replay_wall_ms .*+50.0 %  *+10 %  unchanged (noisy, 1 sample)' \
        "noisy, 1 sample: unchanged"
if run 1 noisy3 spice_bench compare noisy-base noisy-slow; then
    contains noisy3.out '^!!  replay_wall_ms .*+50.0 %  *+10 %  regressed (Welch p=4.26e-07, n=3/3)' \
        "noisy, 3 samples: wall time regressed by Welch's test"
    contains noisy3.out '^!!  cpu_total_ms .*regressed (Welch' "noisy: CPU time too"
fi
run 0 noisy-close spice_bench compare noisy-close-a noisy-close-b &&
    contains noisy-close.out 'replay_wall_ms .*+5.0 %  *+10 %  unchanged (Welch p=4.26e-07, n=3/3)' \
        "noisy: significant but within the threshold is unchanged"
run 0 noisy-wide spice_bench compare noisy-wide-a noisy-wide-b &&
    contains noisy-wide.out 'replay_wall_ms .*unchanged (Welch p=0.171, n=4/3)' \
        "noisy: beyond the threshold but not significant is unchanged"
run 0 noisy-faster spice_bench compare noisy-slow noisy-base &&
    contains noisy-faster.out '^ +  replay_wall_ms .*improved (Welch' "noisy: faster is improved"

# Bad input: status 2, one line.
bad bad-missing compare base does-not-exist
bad bad-one compare base
bad bad-three compare base worse base
bad bad-option compare base worse --frobnicate
bad bad-format compare base worse --format html
bad bad-metric compare base worse --threshold nonsense=1
bad bad-value compare base worse --threshold psnr_mean=lots
bad bad-syntax compare base worse --threshold psnr_mean
bad bad-schema compare base matrix.json
echo '{"thresholds": {"nope": 1}}' >bad-matrix.json
bad bad-matrix compare base worse --matrix bad-matrix.json
mkdir empty
bad bad-empty compare base empty
printf '{"schema": "spice-bench-replay/1", ' >truncated.json
bad bad-json compare base truncated.json

# ---------------------------------------------------------------------------
# rd: two codecs x four points.
if run 0 rd "$BENCH" rd "$TRACE" --codecs mjpeg,vp8 --qualities 20,40,60,80 \
    --rates 0.5,1,2,4 --json rd.json; then
    contains rd.out '^vp8 .* 0.5 Mbit/s .* dB' "rd: a table of points"
    contains rd.out '^  vp8 *[-+][0-9][0-9]*\.[0-9][0-9] % bits' "rd: a BD-rate number"
    if py rd.json <<'EOF' >rd.check 2>&1; then ok "rd: $(cat rd.check)"; else fail "rd: $(cat rd.check)"; fi
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "spice-bench-rd/1"
assert [c["codec"] for c in d["curves"]] == ["mjpeg", "vp8"]
for c in d["curves"]:
    assert len(c["points"]) == 4, c
    for p in c["points"]:
        assert p["video_bps"] > 0 and p["psnr_db"] > 20 and 0 < p["ssim"] <= 1, p
q = [p["psnr_db"] for p in d["curves"][0]["points"]]
assert q == sorted(q), q
b = d["bd_rate"][0]
assert b["anchor"] == "mjpeg" and b["codec"] == "vp8" and isinstance(b["bd_rate_pct"], float), b
print("2 curves x 4 points, BD-rate %.2f %%" % b["bd_rate_pct"])
EOF
    run 0 bd-one spice_bench bd-rate rd.json --codec-a mjpeg --codec-b vp8 &&
        contains bd-one.out '^BD-rate of vp8 against mjpeg: [-+][0-9]' "bd-rate inside one rd file"
    bad bd-choose bd-rate rd.json rd.json
fi

# bd-rate on hand-made curves: B = A with every rate x 1.23 is +23.00 %.
cat >a.json <<'EOF'
{"schema": "spice-bench-rd/1", "curves": [{"codec": "h264", "points": [
 {"video_bps": 100000, "psnr_db": 30.0}, {"video_bps": 200000, "psnr_db": 34.0},
 {"video_bps": 400000, "psnr_db": 37.0}, {"video_bps": 800000, "psnr_db": 39.0}]}]}
EOF
py a.json >b.json <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
c = d["curves"][0]
c["codec"] = "vp8"
for p in c["points"]:
    p["video_bps"] *= 1.23
json.dump(d, sys.stdout)
EOF
run 0 bd-23 spice_bench bd-rate a.json b.json --psnr &&
    contains bd-23.out '^BD-rate of vp8 against h264: +23.00 %' "bd-rate: rates x 1.23 give +23.00 %"
run 0 bd-0 spice_bench bd-rate a.json a.json --json &&
    contains bd-0.out '"bd_rate_pct": 0' "bd-rate: A against A is 0"
cat >three.json <<'EOF'
{"schema": "spice-bench-rd/1", "curves": [{"codec": "vp8", "points": [
 {"video_bps": 100000, "psnr_db": 30.0}, {"video_bps": 200000, "psnr_db": 34.0},
 {"video_bps": 400000, "psnr_db": 37.0}]}]}
EOF
bad bd-three bd-rate a.json three.json
contains bd-three.err 'needs at least 4' "bd-rate: fewer than 4 points named"
cat >flat.json <<'EOF'
{"schema": "spice-bench-rd/1", "curves": [{"codec": "vp8", "points": [
 {"video_bps": 100000, "psnr_db": 30.0}, {"video_bps": 200000, "psnr_db": 34.0},
 {"video_bps": 400000, "psnr_db": 37.0}, {"video_bps": 500000, "psnr_db": 38.0},
 {"video_bps": 800000, "psnr_db": 37.5}]}]}
EOF
bad bd-strict bd-rate a.json flat.json --strict
contains bd-strict.err 'not monotone' "bd-rate --strict: non-monotone curve rejected"
run 0 bd-pruned spice_bench bd-rate a.json flat.json &&
    ok "bd-rate: a dominated point is left out: $(cat bd-pruned.out)"
bad bd-none bd-rate
bad bd-schema bd-rate base/mjpeg.json a.json

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "all checks passed"
