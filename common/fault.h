/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * fault.h: named fault-injection points, for the tests of the failure paths
 * (docs/hardening.md, "Fault injection"). Internal: not installed.
 *
 * Code that calls a library function which can fail puts a point in front
 * of it and takes the failure branch when the point fires:
 *
 *     x264_t *x264 = sv_fault_hit("x264.open") ? NULL : x264_encoder_open(param);
 *
 * so the code under test is the real error handling, only the library's
 * answer is forced. Points are armed by tests (sv_fault_arm()) or by the
 * environment variable SV_FAULTS, read once, the first time any point is
 * reached or armed:
 *
 *     SV_FAULTS=SPEC[,SPEC...]
 *     SPEC = NAME        every hit of NAME fails
 *          | NAME@N      only the Nth hit fails (1 = the first)
 *          | NAME@N+     the Nth hit and every later one fail
 *          | NAME@NxC    C hits fail, starting with the Nth
 *
 * e.g. `SV_FAULTS=x264.open,gst.playing@3`. NAME must be one of
 * sv_fault_points[]; a malformed or unknown SPEC is reported with
 * g_warning() and ignored.
 *
 * Cost when nothing is armed: one relaxed atomic load per point reached.
 * Thread: every function may be called from any thread.
 */
#ifndef SV_COMMON_FAULT_H
#define SV_COMMON_FAULT_H

#include <stdatomic.h>

#include <glib.h>

/* NULL-terminated list of every point the code defines, for validation and
 * docs/hardening.md. */
extern const char *const sv_fault_points[];

/* < 0: SV_FAULTS not read yet; 0: nothing armed; > 0: something armed.
 * Read through sv_fault_hit() only. */
extern atomic_int sv_fault_state_;

gboolean sv_fault_hit_slow_(const char *name);

/*
 * Whether the point @name fires now. Counts the hit when @name is armed.
 * @name: one of sv_fault_points[] (a string literal).
 */
static inline gboolean sv_fault_hit(const char *name)
{
    if (G_LIKELY(atomic_load_explicit(&sv_fault_state_, memory_order_relaxed) == 0)) {
        return FALSE;
    }
    return sv_fault_hit_slow_(name);
}

/* Whether any point is armed (or SV_FAULTS not read yet), for code that
 * skips a library call when it can, such as a cached check. */
static inline gboolean sv_fault_any_armed(void)
{
    return atomic_load_explicit(&sv_fault_state_, memory_order_relaxed) != 0;
}

/*
 * Arms @name: its hits number @nth to @nth + @count - 1 (counted from now)
 * fail; @count 0 means every hit from the @nth on. Re-arming a point
 * replaces its previous setting and restarts its count.
 * @nth: >= 1.
 */
void sv_fault_arm(const char *name, guint nth, guint count);

/*
 * Arms the points of an SV_FAULTS-style @spec (syntax above).
 * @return FALSE with @error (G_OPTION_ERROR_BAD_VALUE) naming the first bad
 * SPEC; the SPECs before it stay armed.
 */
gboolean sv_fault_arm_spec(const char *spec, GError **error);

/* Disarms every point (those from SV_FAULTS included; it is not re-read). */
void sv_fault_reset(void);

/* How many times @name fired since it was armed; 0 if it is not armed. */
guint sv_fault_fired(const char *name);

#endif /* SV_COMMON_FAULT_H */
