/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * openh264-backend.h: the OpenH264 codec backend of the openh264 module,
 * for the module's glue (openh264-module.c). Internal to the module.
 */
#ifndef SV_OPENH264_BACKEND_H
#define SV_OPENH264_BACKEND_H

#include "codec-backend.h"

/* Options, in this order (the index of a value in the options array handed
 * to create()): */
enum {
    SV_OPENH264_OPTION_USAGE,      /* enum camera|screen, default camera */
    SV_OPENH264_OPTION_COMPLEXITY, /* enum low|medium|high, default low */
    SV_OPENH264_OPTION_KEYINT,     /* int, frames between IDRs, 0 = only when needed */
    SV_OPENH264_OPTION_THREADS,    /* int, 0 = one per processor (sliced) */
    SV_OPENH264_N_OPTIONS,
};
extern const SvEncoderOption sv_openh264_options[];
extern const SvCodecBackendClass sv_openh264_backend_class;

/* @return TRUE if an OpenH264 encoder can be created here; else FALSE with
 *         the reason in @why. */
gboolean sv_openh264_probe(char *why, size_t why_size);

#endif /* SV_OPENH264_BACKEND_H */
