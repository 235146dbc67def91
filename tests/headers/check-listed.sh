#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# SPDX-FileCopyrightText: 2026 The spice-video authors
#
# check-listed.sh DIR NAME...: fails when a *.h file in DIR is not among the
# NAMEs (the headers listed in sv_public_headers).
dir=$1
shift
status=0
for path in "$dir"/*.h; do
    [ -e "$path" ] || continue
    base=${path##*/}
    found=no
    for name in "$@"; do
        if [ "$name" = "$base" ]; then
            found=yes
            break
        fi
    done
    if [ "$found" = no ]; then
        echo "include/spice-video/$base is not in sv_public_headers" \
            "(include/spice-video/meson.build)"
        status=1
    fi
done
[ "$status" = 0 ] && echo "all $# public headers are listed"
exit "$status"
