#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-FileCopyrightText: 2026 The spice-video authors
#
# Runs a program under valgrind memcheck with the project's options and
# suppressions; the exe_wrapper of `meson test --setup valgrind` (top-level
# meson.build, docs/hardening.md). By hand:
#   sh tests/valgrind-run.sh build/bench/spice-bench TRACE --codec vp8
# Extra valgrind options go in VALGRIND_OPTS (valgrind reads it; the options
# below win over it), e.g. VALGRIND_OPTS=--gen-suppressions=all, or
# VALGRIND_OPTS=--track-origins=yes (off by default: twice as slow) to see
# where an uninitialised value comes from.
#
# Usage: valgrind-run.sh PROGRAM [ARGS...]
#
# * A compiled test runs under valgrind; its report goes to a log file,
#   printed on stderr (the meson test log) when the program ends. Any
#   memcheck error, or a definitely or indirectly lost block, makes the
#   wrapper exit with status 99 (or the program's own status if that is not
#   0), which meson reports as a failure. Not --error-exitcode: a forked
#   child that ends without exec (a failed execv, _exit(127)) would exit
#   with that code instead of its own, as valgrind checks it for leaks too.
# * A shell-script test (PROGRAM is sh) is not itself run under valgrind:
#   the shell is not ours and tracing it would stop at its first exec. The
#   script runs natively with SV_TEST_WRAPPER set to an executable that runs
#   its arguments through this file, and puts it before the spice-bench
#   commands it checks: ${SV_TEST_WRAPPER:+"$SV_TEST_WRAPPER"} "$bench" ...
#   Those write their reports to log files (so the stderr and the exit status
#   the script checks are spice-bench's own); after the script, any log with
#   an error is printed and the test fails even if the script passed.
#
# Environment set for the program: G_SLICE=always-malloc (GLib 2.74 still has
# the slice allocator, whose magazines hide leaks and look like leaks) and
# gc-friendly added to G_DEBUG (freed GLib memory is cleared, so stale
# pointers do not keep lost blocks "reachable"). A test's own G_DEBUG flags
# (fatal-criticals) are kept. SV_ENCODE_TIMEOUT_MS=60000 and
# SV_DECODE_TIMEOUT_MS=60000 (unless set): the display model's 1 s wait for
# an encoder's output and the simulated client's 1 s wait for a GStreamer
# decoder's picture are too short under valgrind (frames would time out, and
# deterministic runs would differ).

set -u

here=$(cd "$(dirname "$0")" && pwd)

if [ $# -eq 0 ]; then
    echo "usage: valgrind-run.sh PROGRAM [ARGS...]" >&2
    exit 2
fi
if ! command -v valgrind >/dev/null 2>&1; then
    echo "valgrind-run.sh: valgrind is not installed (Debian package valgrind)" >&2
    exit 2
fi

export G_SLICE=always-malloc
case ",${G_DEBUG:-}," in
*,gc-friendly,*) ;;
,,) G_DEBUG=gc-friendly ;;
*) G_DEBUG=$G_DEBUG,gc-friendly ;;
esac
export G_DEBUG
SV_ENCODE_TIMEOUT_MS=${SV_ENCODE_TIMEOUT_MS:-60000}
SV_DECODE_TIMEOUT_MS=${SV_DECODE_TIMEOUT_MS:-60000}
export SV_ENCODE_TIMEOUT_MS SV_DECODE_TIMEOUT_MS

set -- --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --num-callers=30 \
    --trace-children=no --child-silent-after-fork=yes \
    --suppressions="$here/valgrind.supp" "$@"
if [ -f /usr/share/glib-2.0/valgrind/glib.supp ]; then
    set -- --suppressions=/usr/share/glib-2.0/valgrind/glib.supp "$@"
fi

# A spice-bench run of a shell-script test: its report goes to the directory
# of the wrapper that runs the script.
if [ -n "${SV_VALGRIND_LOG_DIR:-}" ]; then
    exec valgrind --log-file="$SV_VALGRIND_LOG_DIR/%p.log" "$@"
fi

logs=$(mktemp -d "${TMPDIR:-/tmp}/sv-valgrind.XXXXXX") || exit 2
# The program name, after the valgrind options.
for program; do
    case $program in
    --*) ;;
    *) break ;;
    esac
done
case ${program##*/} in
sh | dash | bash)
    script=yes
    # An executable, so that scripts can put it before any command.
    printf '#!/bin/sh\nexec sh "%s" "$@"\n' "$here/valgrind-run.sh" >"$logs/wrapper"
    chmod +x "$logs/wrapper"
    while [ "$1" != "$program" ]; do
        shift
    done
    SV_TEST_WRAPPER=$logs/wrapper SV_VALGRIND_LOG_DIR=$logs "$@"
    status=$?
    ;;
*)
    script=no
    valgrind --log-file="$logs/%p.log" "$@"
    status=$?
    ;;
esac

runs=0
bad=0
for log in "$logs"/*.log; do
    [ -f "$log" ] || continue
    runs=$((runs + 1))
    # Also a run that died before valgrind's summary (killed, timeout).
    if grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
        [ "$script" = yes ] || cat "$log" >&2
    else
        bad=$((bad + 1))
        echo "=== valgrind: errors in $(sed -n 's/^==[0-9]*== Command: //p' "$log" | head -n 1)" >&2
        cat "$log" >&2
    fi
done
rm -rf "$logs"
if [ "$script" = yes ]; then
    echo "valgrind: $runs program runs under memcheck, $bad with errors" >&2
fi
if [ "$bad" -gt 0 ] && [ "$status" -eq 0 ]; then
    status=99
fi
exit "$status"
