#!/bin/sh
# Soak test (issue 9): replays a generated 1080p video trace of DURATION
# seconds (default 1800) with each codec in --deterministic mode, once for
# a sixth of it (300 s of 1800) and once for the whole trace, and compares
# peak RSS.
# Memory is bounded if the two peaks are within 5 %. Not part of `meson
# test` (it takes hours of CPU); run by hand:
#
#   sh tests/soak/soak.sh build/bench/spice-bench OUTDIR [DURATION] [CODECS]
#
# CODECS is a space-separated list of codec names, each optionally followed
# by '/' and encoder options: "mjpeg h264 vp8 vp9/cpu-used=9 h265".
#
# The trace is generated into a pipe, never written to disk (30 minutes of
# uncompressed 1080p video would be ~90 GB). Prints one line per codec and
# writes OUTDIR/soak.tsv.
set -eu
bench=$1
out=$2
duration=${3:-1800}
codecs=${4:-mjpeg h264 vp8 vp9 h265}
mkdir -p "$out"
short=$((duration / 6)) # 5 of 30 minutes

run() { # codec[/options] seconds -> prints peak RSS in KiB; JSON in $out
    codec=${1%%/*}
    options=
    case $1 in */*) options=${1#*/} ;; esac
    secs=$2
    "$bench" trace gen --workload video --size 1920x1080 --duration "$secs" --seed 1 \
        --labels "$out/labels-$secs.json" -o - |
        /usr/bin/time -f '%M' -o "$out/rss-$codec-$secs" \
            "$bench" - --codec "$codec" ${options:+--encoder-options "$options"} \
            --deterministic --json "$out/$codec-$secs.json" > "$out/$codec-$secs.txt"
    cat "$out/rss-$codec-$secs"
}

printf 'codec\trss_%ss_kib\trss_%ss_kib\tgrowth_pct\n' "$short" "$duration" > "$out/soak.tsv"
status=0
for codec in $codecs; do
    a=$(run "$codec" "$short")
    b=$(run "$codec" "$duration")
    growth=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", (b - a) * 100.0 / a }')
    printf '%s\t%s\t%s\t%s\n' "$codec" "$a" "$b" "$growth" >> "$out/soak.tsv"
    verdict=ok
    awk -v g="$growth" 'BEGIN { exit !(g > 5 || g < -5) }' && { verdict=GROWTH; status=1; }
    echo "soak $codec: peak RSS ${a} KiB at ${short} s, ${b} KiB at ${duration} s ($growth %) $verdict"
done
exit $status
