/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/* bench-trace-gen.h: `spice-bench trace gen` (bench/bench-trace-gen.c). */
#ifndef SV_BENCH_TRACE_GEN_H
#define SV_BENCH_TRACE_GEN_H

/* argv starts at "gen"; returns the exit status (0, 1, 2 for bad usage). */
int sv_bench_trace_gen_main(int argc, char **argv);

#endif /* SV_BENCH_TRACE_GEN_H */
