/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/* bench-commands.h: the sub-commands of spice-bench that live in their own
 * files. Each takes argv starting at its own name and returns the exit
 * status (0, 1 for a failure, 2 for bad input or usage). */
#ifndef SV_BENCH_COMMANDS_H
#define SV_BENCH_COMMANDS_H

#include <stdio.h>

/* `spice-bench trace …` (bench/bench-trace.c). */
int sv_bench_trace_main(int argc, char **argv);

/* `spice-bench TRACE …` (bench/bench-replay.c); argv starts at the trace. */
int sv_bench_replay_main(int argc, char **argv);
void sv_bench_replay_usage(FILE *out);

/* `spice-bench matrix …` and `merge …` (bench/bench-matrix.c). */
int sv_bench_matrix_main(int argc, char **argv);
int sv_bench_merge_main(int argc, char **argv);

/* `spice-bench compare …`, `rd …` and `bd-rate …` (bench/bench-compare.c). */
int sv_bench_compare_main(int argc, char **argv);
int sv_bench_rd_main(int argc, char **argv);
int sv_bench_bd_rate_main(int argc, char **argv);

/* `spice-bench report …` (bench/bench-report.c). */
int sv_bench_report_main(int argc, char **argv);

int sv_bench_latency_main(int argc, char **argv);
void sv_bench_latency_usage(FILE *out);

#endif /* SV_BENCH_COMMANDS_H */
