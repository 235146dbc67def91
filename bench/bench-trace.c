/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */
/* TEMPORARY STUB: `spice-bench trace` is being written. */
#include <stdio.h>

#include "bench-commands.h"

int sv_bench_trace_main(int argc, char **argv)
{
    fprintf(stderr, "spice-bench: trace: not implemented yet\n");
    return 2;
}
