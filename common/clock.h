/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/* clock.h: reading an SvClock (a virtual or the system monotonic clock). */
#ifndef SV_COMMON_CLOCK_H
#define SV_COMMON_CLOCK_H

#include <spice-video/encoders.h>

#define SV_NSEC_PER_SEC INT64_C(1000000000)
#define SV_NSEC_PER_MSEC INT64_C(1000000)

/* The system CLOCK_MONOTONIC, ns. */
int64_t sv_clock_monotonic_ns(void);

/* @clock's time, ns; a NULL clock or a NULL now_ns reads CLOCK_MONOTONIC. */
int64_t sv_clock_now_ns(const SvClock *clock);

#endif /* SV_COMMON_CLOCK_H */
