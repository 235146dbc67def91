/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */
#include "config.h"

#include <time.h>

#include "clock.h"

int64_t sv_clock_monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * SV_NSEC_PER_SEC + ts.tv_nsec;
}

int64_t sv_clock_now_ns(const SvClock *clock)
{
    if (clock == NULL || clock->now_ns == NULL) {
        return sv_clock_monotonic_ns();
    }
    return clock->now_ns(clock->opaque);
}
