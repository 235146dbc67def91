/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * factory-error.h: why a factory returned NULL. spice's new_video_encoder_t
 * has no GError, so a factory that fails leaves its reason here, per
 * thread, for the caller that wants to say why (the registry's negotiation
 * text). Internal: not installed.
 *
 * Thread: per thread; a factory and its caller run on the same one.
 */
#ifndef SV_COMMON_FACTORY_ERROR_H
#define SV_COMMON_FACTORY_ERROR_H

#include <glib.h>

/* Replaces this thread's reason with the printf-style message. */
void sv_factory_error_set(const char *format, ...) G_GNUC_PRINTF(1, 2);

/* Forgets this thread's reason (call before a factory). */
void sv_factory_error_clear(void);

/* This thread's reason, or NULL; clears it.
 * Ownership: the caller frees with g_free(). */
char *sv_factory_error_take(void);

#endif /* SV_COMMON_FACTORY_ERROR_H */
