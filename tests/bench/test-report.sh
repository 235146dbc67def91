#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-FileCopyrightText: 2026 The spice-video authors
#
# spice-bench report: the HTML dashboard and the CI exports, run as users
# run them, then rendered in headless Chromium (docs/ci.md, "Reports and
# dashboards"). Skips (77) only when no chromium is installed, after every
# other check has run.
# Usage: test-report.sh SPICE_BENCH SOURCE_ROOT TEST_DIR
set -eu

BENCH=$1
SRC=$2
# meson passes paths relative to the build directory: make them absolute.
case $BENCH in /*) ;; *) BENCH=$PWD/$BENCH ;; esac
# Under `meson test --setup valgrind`, SV_TEST_WRAPPER runs spice-bench under
# valgrind (tests/valgrind-run.sh). The replays, rd sweep and latency run
# that make the inputs run natively: the harness suite replays every codec
# under valgrind already, and these would take most of the time.
spice_bench() { ${SV_TEST_WRAPPER:+"$SV_TEST_WRAPPER"} "$BENCH" "$@"; }
case $SRC in /*) ;; *) SRC=$PWD/$SRC ;; esac
TRACE=$SRC/corpora/video-photos-640-cut.spice.zst

W=$(mktemp -d "${TMPDIR:-/tmp}/test-report.XXXXXX")
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
        sed 's/^/    /' "$name.err" >&2
        return 1
    fi
    return 0
}

# bad_input NAME OUTPUT COMMAND...: exit 2, one line 'spice-bench: …', OUTPUT
# (and OUTPUT.tmp) not created.
bad_input() {
    name=$1
    out=$2
    shift 2
    rm -f "$out" "$out.tmp"
    if run 2 "$name" "$@"; then
        lines=$(wc -l <"$name.err")
        if [ "$lines" -ne 1 ] || ! grep -q '^spice-bench: ' "$name.err"; then
            fail "$name: expected one line 'spice-bench: ...' on stderr, got:"
            sed 's/^/    /' "$name.err" >&2
        elif [ -e "$out" ] || [ -e "$out.tmp" ]; then
            fail "$name: $out left behind"
        else
            ok "$name: $(cat "$name.err")"
        fi
    fi
}

# --- Results: deterministic 2-second replays --------------------------------
for run_spec in mjpeg:lan vp8:lan vp8:wan; do
    codec=${run_spec%%:*}
    net=${run_spec#*:}
    run 0 "replay-$codec-$net" "$BENCH" "$TRACE" --codec "$codec" --net "$net" \
        --deterministic --duration 2 -q --json "$codec-$net.json" ||
        { echo "cannot produce the results" >&2; exit 1; }
done
# A repeat of vp8 wan (same key): the exports report its spread.
cp vp8-wan.json vp8-wan-again.json
# A result whose strings try to inject markup into the page.
python3 - <<'EOF'
import json
d = json.load(open("mjpeg-lan.json"))
d["run"]["net"] = 'evil <script>alert("net")</script> & "net"'
if d["encoder"]["negotiated"]:
    d["encoder"]["negotiated"][0]["encoder"] = "<script>alert('enc')</script>"
json.dump(d, open("evil.json", "w"), indent=2)
EOF
RESULTS="mjpeg-lan.json vp8-lan.json vp8-wan.json vp8-wan-again.json evil.json"

# Keys as the report sees them (Bencher's benchmark names), for the verdicts.
# shellcheck disable=SC2086
run 0 keys spice_bench report $RESULTS -o keys.html --bencher keys.json || exit 1
python3 - <<'EOF'
import json
keys = list(json.load(open("keys.json")).keys())
vp8_wan = [k for k in keys if "vp8" in k and "wan" in k][0]
comparisons = [
    {"key": vp8_wan, "metric": "latency_p95_ms", "base": 100.0, "new": 150.0,
     "change": 0.5, "verdict": "regression"},
    {"key": vp8_wan, "metric": "psnr_mean", "base": 39.0, "new": 40.0,
     "change": 0.0256, "verdict": "improvement"},
    {"key": "a|b|c|", "metric": "<script>alert('metric')</script>", "base": 1, "new": 1,
     "change": 0, "verdict": "unchanged"},
]
json.dump({"comparisons": comparisons}, open("compare.json", "w"), indent=2)
rd = {"codecs": [
    {"codec": "mjpeg", "points": [{"bitrate_bps": 2e6, "psnr": 33.0, "ssim": 0.93},
                                  {"bitrate_bps": 8e6, "psnr": 40.0, "ssim": 0.98},
                                  {"bitrate_bps": 4e6, "psnr": 37.0, "ssim": 0.96}]},
    {"codec": "vp8", "points": [{"bitrate_bps": 5e5, "psnr": 34.0, "ssim": 0.94},
                                {"bitrate_bps": 2e6, "psnr": 39.5, "ssim": 0.975}]},
]}
json.dump(rd, open("rd.json", "w"), indent=2)
EOF

# --- The report --------------------------------------------------------------
TITLE='Nightly <script>alert("title")</script> & co'
# shellcheck disable=SC2086
if run 0 report spice_bench report $RESULTS -o report.html --title "$TITLE" \
    --compare compare.json --rd rd.json --bencher bencher.json \
    --github-benchmark gab.json; then
    ok "report written"
else
    exit 1
fi
[ -s report.html ] || fail "report.html is empty"
for f in report.html.tmp bencher.json.tmp gab.json.tmp gab-bigger.json.tmp; do
    [ ! -e "$f" ] || fail "$f left behind"
done
# Deterministic: the same inputs give the same bytes.
# shellcheck disable=SC2086
run 0 report-again spice_bench report $RESULTS -o again.html --title "$TITLE" \
    --compare compare.json --rd rd.json &&
    if cmp -s report.html again.html; then ok "report is deterministic"; else
        fail "two reports of the same inputs differ"; fi

# Structure, escaping, self-containment (python3's html.parser).
if python3 - report.html <<'EOF'; then ok "HTML structure, charts, escaping"; else fail "HTML checks"; fi
import re, sys
from html.parser import HTMLParser

text = open(sys.argv[1], encoding="utf-8").read()
errors = []

VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source"}

class Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.svgs = {}          # id -> {"title", "desc", "lines", "bars", "markers"}
        self.current = None
        self.in_title = False
        self.scripts = 0
        self.texts = []
    def handle_starttag(self, tag, attrs):
        self._element(tag, dict(attrs))
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self._element(tag, dict(attrs))
    def _element(self, tag, a):
        for k, v in a.items():
            if v and re.match(r"\s*(https?:)?//", v) and k in ("src", "href", "xlink:href", "action"):
                errors.append("external reference %s=%s" % (k, v))
        if tag == "script":
            self.scripts += 1
            if "src" in a:
                errors.append("script with src")
        if tag in ("img", "iframe", "object", "embed", "link", "audio", "video"):
            errors.append("element <%s> in a self-contained page" % tag)
        if tag == "svg":
            self.current = a.get("id")
            if not self.current:
                errors.append("svg without id")
            self.svgs[self.current] = {"title": "", "desc": "", "lines": 0, "bars": 0,
                                       "markers": 0, "role": a.get("role"),
                                       "labelledby": a.get("aria-labelledby", "")}
        elif self.current and tag == "path":
            cls = a.get("class", "")
            d = a.get("d", "")
            if not d.strip():
                errors.append("empty path d in %s" % self.current)
            if cls.startswith("line"):
                # at least two points: a move and a line
                if len(re.findall(r"[ML]", d)) >= 2:
                    self.svgs[self.current]["lines"] += 1
            elif cls == "bar":
                self.svgs[self.current]["bars"] += 1
            elif cls.startswith("marker"):
                self.svgs[self.current]["markers"] += 1
        if self.current and tag in ("title", "desc") and self.stack and self.stack[-1] == "svg":
            self.in_title = tag
    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            errors.append("</%s> closes <%s>" % (tag, self.stack[-1] if self.stack else "nothing"))
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag == "svg":
            self.current = None
        if tag in ("title", "desc"):
            self.in_title = False
    def handle_data(self, data):
        self.texts.append(data)
        if self.in_title and self.current:
            self.svgs[self.current][self.in_title] += data

c = Checker()
c.feed(text)
c.close()
if c.stack:
    errors.append("unclosed elements: %s" % c.stack)

# Self-contained: no URL of any external resource anywhere.
if re.search(r"https?://", text):
    errors.append("an http(s):// URL in the page")
if re.search(r"@import|url\(\s*['\"]?(?!#)", text):
    errors.append("a CSS import or url() that is not a fragment")
if "Content-Security-Policy" not in text:
    errors.append("no Content-Security-Policy")

# Escaping: the only <script> element is the page's own.
if c.scripts != 1:
    errors.append("%d <script> elements, expected 1" % c.scripts)
if re.search(r"<script>\s*alert", text, re.I):
    errors.append("unescaped <script> from the inputs")
for needle in ["&lt;script&gt;alert(&quot;title&quot;)&lt;/script&gt; &amp; co",
               "evil &lt;script&gt;alert(&quot;net&quot;)&lt;/script&gt;",
               "&lt;script&gt;alert(&#39;metric&#39;)&lt;/script&gt;"]:
    if needle not in text:
        errors.append("escaped text missing: %s" % needle)
alltext = "".join(c.texts)
if 'Nightly <script>alert("title")</script> & co' not in alltext:
    errors.append("the title does not read back as given")

# The charts: ids, accessibility, drawn series.
line_charts = ["chart-bitrate", "chart-psnr", "chart-drops", "chart-rd-psnr", "chart-rd-ssim",
               "chart-latency-cdf-end_to_end", "chart-latency-cdf-network"]
for cid in line_charts + ["chart-bars"]:
    s = c.svgs.get(cid)
    if s is None:
        errors.append("no <svg id=%s>" % cid)
        continue
    if not s["title"].strip() or not s["desc"].strip():
        errors.append("%s lacks <title>/<desc>" % cid)
    if s["role"] != "img" or cid + "-title" not in s["labelledby"]:
        errors.append("%s: role/aria-labelledby missing" % cid)
# 2-second runs have one window with shown frames: PSNR is one point (a marker) per run.
for cid in line_charts:
    s = c.svgs.get(cid)
    if s and cid == "chart-psnr":
        if s["markers"] < 3:
            errors.append("%s: %d series drawn, expected >= 3" % (cid, s["markers"]))
    elif s and s["lines"] < 2:
        errors.append("%s: %d series drawn, expected >= 2" % (cid, s["lines"]))
    if s and s["markers"] < 2:
        errors.append("%s: no markers" % cid)
# Bitrate: 4 runs (first repeats) + 2 capacities (lan, wan) + the evil net's capacity.
if c.svgs.get("chart-bitrate", {}).get("lines", 0) < 6:
    errors.append("chart-bitrate: capacity lines missing")
# Bars: 4 run keys x 4 measures (PSNR, bitrate, shown %, p95 latency).
if c.svgs.get("chart-bars", {}).get("bars", 0) < 16:
    errors.append("chart-bars: %d bars, expected 16" % c.svgs.get("chart-bars", {}).get("bars", 0))
if len(c.svgs) < 10:
    errors.append("only %d charts" % len(c.svgs))
# Not colour alone: dash patterns and distinct marker shapes, legends, direct labels.
for needle in ['stroke-dasharray="9 4"', 'stroke-dasharray="2 3"', "marker-circle",
               "marker-square", "marker-triangle", 'class="legend"', 'class="direct-label"',
               "-pattern-1", 'class="swatch"']:
    if needle not in text:
        errors.append("missing %s" % needle)

# Verdicts: the regression is highlighted, with a mark and not only a colour.
m = re.search(r'<tr class="verdict-bad"><td class="verdict">\u2716 regression</td>(.*?)</tr>', text)
if not m or "latency_p95_ms" not in m.group(1):
    errors.append("regression row not highlighted")
if '<tr class="verdict-good"><td class="verdict">\u2714 improvement' not in text:
    errors.append("improvement row not marked")
if "1 worse, 1 better" not in text:
    errors.append("run table lacks the verdict counts of its key")
# Sortable tables (data-v on numbers).
if text.count('class="sortable"') < 2 or 'data-v="' not in text:
    errors.append("sortable tables missing")

for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

# The exports' shapes.
if python3 - <<'EOF'; then ok "Bencher and github-action-benchmark exports"; else fail "exports"; fi
import json, math, re, sys
errors = []
bmf = json.load(open("bencher.json"))
results = {n: json.load(open(n)) for n in ["mjpeg-lan.json", "vp8-lan.json", "vp8-wan.json"]}
if not isinstance(bmf, dict) or len(bmf) != 4:
    errors.append("bencher: %d benchmarks, expected 4 (one per key)" % len(bmf))
spread = 0
for name, measures in bmf.items():
    if not isinstance(measures, dict) or len(measures) < 3:
        errors.append("bencher %s: too few measures" % name)
        continue
    for slug, m in measures.items():
        if not re.fullmatch(r"[a-z0-9-]{1,64}", slug):
            errors.append("bencher: bad measure slug %r" % slug)
        if not isinstance(m, dict) or not isinstance(m.get("value"), (int, float)):
            errors.append("bencher %s %s: no numeric value" % (name, slug))
            continue
        if set(m) - {"value", "lower_value", "upper_value"}:
            errors.append("bencher: unexpected keys %s" % set(m))
        if "lower_value" in m:
            spread += 1
            if not m["lower_value"] <= m["value"] <= m["upper_value"]:
                errors.append("bencher: value outside its bounds")
if spread == 0:
    errors.append("bencher: the repeated key has no lower/upper values")
# The PSNR of vp8 wan reads back.
want = results["vp8-wan.json"]["quality"]["psnr_y_db"]["mean"]
found = [m["value"] for n, ms in bmf.items() if "vp8" in n and "wan" in n
         for s, m in ms.items() if "psnr" in s and "final" not in s]
if not found or abs(found[0] - want) > 1e-6:
    errors.append("bencher: vp8 wan PSNR %s, expected %s" % (found, want))

smaller = json.load(open("gab.json"))
bigger = json.load(open("gab-bigger.json"))
for label, arr in (("smaller", smaller), ("bigger", bigger)):
    if not isinstance(arr, list) or not arr:
        errors.append("github %s: not a non-empty array" % label)
        continue
    for e in arr:
        if not isinstance(e.get("name"), str) or not isinstance(e.get("unit"), str) \
                or not isinstance(e.get("value"), (int, float)) or not math.isfinite(e["value"]):
            errors.append("github %s: bad entry %s" % (label, e))
        if "extra" in e and not isinstance(e["extra"], str):
            errors.append("github %s: extra is not a string" % label)
        if "range" in e and not isinstance(e["range"], str):
            errors.append("github %s: range is not a string" % label)
names_s = {e["name"] for e in smaller}
names_b = {e["name"] for e in bigger}
if names_s & names_b:
    errors.append("github: a metric is in both directions")
if not any("psnr" in n for n in names_b) or any("psnr" in n for n in names_s):
    errors.append("github: PSNR is not bigger-is-better")
if not any("latency" in n for n in names_s) or any("latency" in n for n in names_b):
    errors.append("github: latency is not smaller-is-better")
if len({e["name"] for e in smaller}) != len(smaller):
    errors.append("github: duplicate names")
for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

# --- With the real outputs of spice-bench compare and rd ----------------------
# (Their own tests cover them; if they fail here, the check says so and goes on.)
mkdir -p base new
cp vp8-wan.json base/
cp vp8-wan-again.json new/
if spice_bench compare base new --format json -o real-compare.json >compare.out 2>compare.err &&
    "$BENCH" rd "$TRACE" --codecs vp8,mjpeg --rates 1,4 --qualities 40,80 --duration 2 \
        --json real-rd.json >rd.out 2>rd.err; then
    if run 0 report-real spice_bench report vp8-wan.json -o real.html --compare real-compare.json \
        --rd real-rd.json; then
        if python3 - <<'EOF'; then ok "report reads compare --format json and rd --json"; else fail "report of real compare/rd output"; fi
import re, sys
text = open("real.html", encoding="utf-8").read()
errors = []
rows = re.findall(r'<tr class="verdict-[a-z]+"><td class="verdict">', text)
if len(rows) < 5:
    errors.append("%d verdict rows from spice-bench compare" % len(rows))
for cid in ("chart-rd-psnr", "chart-rd-ssim"):
    m = re.search(r'<svg id="%s".*?</svg>' % cid, text, re.S)
    if not m or len(re.findall(r'<path class="line" d="M[^"]*L', m.group(0))) < 2:
        errors.append("%s: not two curves" % cid)
for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
    fi
else
    echo "note: spice-bench compare or rd failed; their output is not checked here:"
    cat compare.err rd.err 2>/dev/null | sed 's/^/    /'
fi

# --- Latency policies: one series per policy in "latency over time" ----------
if run 0 replay-vp8-lan-interactive "$BENCH" "$TRACE" --codec vp8 --net lan \
    --latency-policy interactive --deterministic --duration 2 -q --json vp8-lan-interactive.json &&
    run 0 report-policies spice_bench report vp8-lan.json vp8-lan-interactive.json -o policies.html; then
    if python3 - <<'EOF'; then ok "latency over time: both policies, labelled"; else fail "latency over time chart"; fi
import json, re, sys
text = open("policies.html", encoding="utf-8").read()
errors = []
for name in ("vp8-lan.json", "vp8-lan-interactive.json"):
    d = json.load(open(name))
    if not any(w.get("latency_p50_ms") is not None for w in d["windows"]):
        errors.append("%s: no window with latency_p50_ms" % name)
m = re.search(r'<svg id="chart-latency-time".*?</svg>', text, re.S)
if not m:
    errors.append("no chart-latency-time")
else:
    svg = m.group(0)
    drawn = len(re.findall(r'<path class="line" d="M', svg))
    if drawn < 2:
        errors.append("chart-latency-time: %d series drawn, expected 2" % drawn)
    for label in ("spice policy", "interactive policy"):
        if label not in svg:
            errors.append("chart-latency-time: no series labelled '%s'" % label)
for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
fi
# One policy only: labels stay as they were (no policy named).
if run 0 report-one-policy spice_bench report vp8-lan.json vp8-wan.json -o one-policy.html; then
    if grep -q 'chart-latency-time' one-policy.html && ! grep -q 'spice policy' one-policy.html; then
        ok "latency over time: one policy, unlabelled"
    else
        fail "latency over time with one policy: chart missing or policy named"
    fi
fi

# --- spice-bench latency and --latency-policy (they feed the chart above) -----
if run 0 latency "$BENCH" latency "$TRACE" --codecs mjpeg --nets lan --deterministic \
    --duration 1 --markdown latency.md; then
    if grep -q '^trace .* policy .* targets (interactive)$' latency.out &&
        grep -q ' lan .* mjpeg .* spice ' latency.out &&
        grep -q ' lan .* mjpeg .* interactive .* p50<=60 ' latency.out &&
        grep -q '^1 of 1 combinations\|^0 of 1 combinations' latency.out; then
        ok "latency: both policies side by side, targets marked"
    else
        fail "latency: unexpected table"
        sed 's/^/    /' latency.out >&2
    fi
    if head -1 latency.md | grep -q '^# ' &&
        grep -q "^spice-bench latency $TRACE --codecs mjpeg --nets lan --deterministic --duration 1 --markdown latency.md\$" latency.md &&
        [ "$(grep -c '^| video-photos-640-cut | lan | mjpeg |' latency.md)" -eq 2 ] &&
        [ ! -e latency.md.tmp ]; then
        ok "latency --markdown: the command, then the table"
    else
        fail "latency --markdown"
        sed 's/^/    /' latency.md >&2
    fi
fi
bad_input latency-no-trace latency2.md spice_bench latency --markdown latency2.md
bad_input latency-unknown-option latency2.md spice_bench latency "$TRACE" --bogus --markdown latency2.md
bad_input latency-empty-codec latency2.md spice_bench latency "$TRACE" --codecs mjpeg,,vp8 \
    --markdown latency2.md
bad_input latency-bad-codec latency2.md spice_bench latency "$TRACE" --codecs mpeg9 --nets lan \
    --markdown latency2.md
bad_input latency-policy-unknown policy.json spice_bench "$TRACE" --latency-policy fast \
    --json policy.json
run 0 latency-help spice_bench latency --help && grep -q -- '--markdown' latency-help.out &&
    ok "latency --help"

# --- Bad input: exit 2, one line, no output left ----------------------------
echo '{"hello": "world"}' >not-a-result.json
echo 'not json' >broken.json
bad_input missing-file out.html spice_bench report "$W/does-not-exist.json" -o out.html
bad_input not-a-result out.html spice_bench report not-a-result.json -o out.html
bad_input no-output out.html spice_bench report vp8-lan.json
bad_input unknown-option out.html spice_bench report vp8-lan.json -o out.html --bogus
bad_input compare-not-json out.html spice_bench report vp8-lan.json -o out.html --compare broken.json
bad_input compare-no-list out.html spice_bench report vp8-lan.json -o out.html \
    --compare not-a-result.json
bad_input rd-no-codecs out.html spice_bench report vp8-lan.json -o out.html --rd not-a-result.json
# A failing output leaves the others unwritten (all or nothing) and an old file as it was.
echo old >out.html
if run 1 unwritable spice_bench report vp8-lan.json -o out.html --bencher "$W/no/such/dir/b.json"; then
    if [ "$(cat out.html)" = old ] && [ ! -e out.html.tmp ]; then
        ok "unwritable export: nothing replaced"
    else
        fail "unwritable export: out.html replaced or out.html.tmp left"
    fi
fi
run 0 help spice_bench report --help && grep -q -- '--github-benchmark' help.out && ok "--help"

# --- In a browser -------------------------------------------------------------
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ]; then
    echo "SKIP: the browser checks need chromium (not installed; every other check ran)"
    [ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
    exit 77
fi
chrome() {
    HOME=$W timeout 180 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
        --user-data-dir="$W/profile" --no-first-run --disable-extensions "$@"
}

# A copy with a probe: it sorts the runs table by mean bitrate (a click on its
# header) and measures every chart's drawn shapes with getBBox().
python3 - <<'EOF'
text = open("report.html", encoding="utf-8").read()
probe = r"""<script>
(function(){
var out=[];
document.querySelectorAll('svg.chart-svg').forEach(function(s){
 var n=0;
 s.querySelectorAll('path.line,path.bar,path.marker').forEach(function(p){
  var b=p.getBBox(); if(b.width>0||b.height>0){n++;}});
 var r=s.getBoundingClientRect();
 out.push(s.id+' '+n+' '+Math.round(r.width)+'x'+Math.round(r.height));});
var t=document.getElementById('table-runs');
var th=t.tHead.rows[0].cells, col=-1;
for(var i=0;i<th.length;i++){if(th[i].textContent==='mean bitrate'){col=i;}}
th[col].click();
var v=[];Array.prototype.forEach.call(t.tBodies[0].rows,function(r){v.push(r.cells[col].getAttribute('data-v'));});
out.push('sorted '+th[col].getAttribute('aria-sort')+' '+v.join(','));
var pre=document.createElement('pre');pre.id='probe';pre.textContent=out.join('\n');
document.body.appendChild(pre);
})();
</script>"""
open("probe.html", "w", encoding="utf-8").write(text.replace("</body>", probe + "\n</body>"))
EOF
chrome --dump-dom "file://$W/probe.html" >dom.html 2>chrome-dom.err || true
if python3 - <<'EOF'; then ok "Chromium: charts drawn, table sorts"; else fail "Chromium DOM"; fi
import re, sys
dom = open("dom.html", encoding="utf-8").read()
errors = []
m = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
if not m:
    print("  no probe output in the DOM dump (did the page load?)", file=sys.stderr)
    sys.exit(1)
lines = m.group(1).strip().split("\n")
charts = {}
for line in lines:
    if line.startswith("sorted "):
        parts = line.split(" ")
        if parts[1] != "ascending":
            errors.append("header click did not sort (aria-sort %s)" % parts[1])
        vals = [float(x) if x else float("-inf") for x in parts[2].split(",")]
        if vals != sorted(vals) or len(vals) < 5:
            errors.append("runs not sorted by mean bitrate: %s" % vals)
        continue
    cid, n, size = line.split(" ")
    charts[cid] = int(n)
    w, h = (int(x) for x in size.split("x"))
    if w < 200 or h < 150:
        errors.append("%s laid out at %s" % (cid, size))
for cid in ["chart-bitrate", "chart-psnr", "chart-drops", "chart-bars", "chart-latency-time",
            "chart-latency-cdf-end_to_end", "chart-rd-psnr", "chart-rd-ssim"]:
    if charts.get(cid, 0) < 2:
        errors.append("%s: %s shapes with a size" % (cid, charts.get(cid)))
# The browser's own serialisation still has drawn paths.
paths = re.findall(r'<path class="line[^"]*" d="([^"]*)"', dom)
if len(paths) < 10 or any(not p.strip() for p in paths):
    errors.append("%d line paths in the DOM" % len(paths))
if dom.count("<svg") < 10:
    errors.append("%d <svg> in the DOM" % dom.count("<svg"))
for e in errors:
    print("  " + e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF

chrome --screenshot="$W/shot.png" --window-size=1280,2000 "file://$W/report.html" \
    >chrome-shot.out 2>chrome-shot.err || true
if python3 - <<'EOF'; then ok "Chromium screenshot is not blank"; else fail "screenshot"; fi
import struct, sys, zlib
try:
    data = open("shot.png", "rb").read()
except OSError:
    print("  no screenshot written", file=sys.stderr)
    sys.exit(1)
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    n, t = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    pos += 12 + n
    if t == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif t == b"IDAT":
        idat += body
if depth != 8 or ctype not in (2, 6):
    print("  unexpected PNG format %d/%d" % (depth, ctype), file=sys.stderr)
    sys.exit(1)
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(idat)
stride = w * bpp
prev = bytearray(stride)
i = 0
ink = colour = 0
for y in range(h):
    f = raw[i]
    line = bytearray(raw[i + 1:i + 1 + stride])
    i += 1 + stride
    if f == 1:
        for x in range(bpp, stride):
            line[x] = (line[x] + line[x - bpp]) & 255
    elif f == 2:
        for x in range(stride):
            line[x] = (line[x] + prev[x]) & 255
    elif f == 3:
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            line[x] = (line[x] + ((a + prev[x]) >> 1)) & 255
    elif f == 4:
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    prev = line
    for x in range(0, stride, bpp):
        r, g, b = line[x], line[x + 1], line[x + 2]
        if r < 240 or g < 240 or b < 240:
            ink += 1
        if max(r, g, b) - min(r, g, b) > 60:
            colour += 1
total = w * h
print("  screenshot %dx%d: %.1f %% ink, %d coloured pixels" % (w, h, 100.0 * ink / total, colour))
# Text and tables alone give ink; the series' colours come from the charts.
sys.exit(0 if ink > total * 0.02 and colour > 500 else 1)
EOF

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "all report checks passed"
