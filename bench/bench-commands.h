/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/* bench-commands.h: the sub-commands of spice-bench that live in their own
 * files. Each takes argv starting at its own name and returns the exit
 * status (0, 1 for a failure, 2 for bad input or usage). */
#ifndef SV_BENCH_COMMANDS_H
#define SV_BENCH_COMMANDS_H

/* `spice-bench trace …` (bench/bench-trace.c). */
int sv_bench_trace_main(int argc, char **argv);

#endif /* SV_BENCH_COMMANDS_H */
