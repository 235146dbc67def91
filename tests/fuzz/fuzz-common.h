/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * fuzz-common.h: what the fuzz targets share: a reader that turns the input
 * into numbers (zeros once it runs out, so every prefix of an input is an
 * input), a failure that aborts with a message, and log handling that keeps
 * the library's debug chatter off stderr but makes warnings and criticals
 * fatal. Included by one target each; everything is static.
 */
#ifndef SV_FUZZ_COMMON_H
#define SV_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

typedef struct FuzzInput {
    const uint8_t *p, *end;
} FuzzInput;

static G_GNUC_UNUSED FuzzInput fuzz_input(const uint8_t *data, size_t size)
{
    return (FuzzInput){data, data + size};
}

static G_GNUC_UNUSED gboolean fuzz_done(const FuzzInput *in)
{
    return in->p >= in->end;
}

static G_GNUC_UNUSED size_t fuzz_left(const FuzzInput *in)
{
    return (size_t)(in->end - in->p);
}

static G_GNUC_UNUSED uint8_t fuzz_u8(FuzzInput *in)
{
    return in->p < in->end ? *in->p++ : 0;
}

static G_GNUC_UNUSED uint16_t fuzz_u16(FuzzInput *in)
{
    uint16_t v = fuzz_u8(in);
    return (uint16_t)(v | (uint16_t)fuzz_u8(in) << 8);
}

static G_GNUC_UNUSED uint32_t fuzz_u32(FuzzInput *in)
{
    uint32_t v = fuzz_u16(in);
    return v | (uint32_t)fuzz_u16(in) << 16;
}

/* A value in [lo, hi] from one byte (two when the range needs it). */
static G_GNUC_UNUSED int32_t fuzz_range(FuzzInput *in, int32_t lo, int32_t hi)
{
    uint32_t span = (uint32_t)(hi - lo) + 1;
    uint32_t v = span > 256 ? fuzz_u16(in) : fuzz_u8(in);
    return lo + (int32_t)(v % span);
}

/* Up to @n bytes into @out; the rest of @out is zeroed. */
static G_GNUC_UNUSED void fuzz_bytes(FuzzInput *in, uint8_t *out, size_t n)
{
    size_t have = MIN(n, fuzz_left(in));
    memcpy(out, in->p, have);
    memset(out + have, 0, n - have);
    in->p += have;
}

static G_GNUC_UNUSED G_NORETURN void fuzz_fail(const char *what)
{
    fprintf(stderr, "invariant violated: %s\n", what);
    abort();
}

#define FUZZ_CHECK(cond)                    \
    do {                                    \
        if (!(cond)) {                      \
            fuzz_fail(G_STRLOC ": " #cond); \
        }                                   \
    } while (0)

static void fuzz_log_handler(const char *domain, GLogLevelFlags level, const char *message,
                             gpointer user_data)
{
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) {
        fprintf(stderr, "%s: %s\n", domain != NULL ? domain : "(no domain)", message);
        abort();
    }
    /* Debug, info and messages (diagnostics of bad preference strings…)
     * are expected by the thousand; SV_FUZZ_VERBOSE shows them. */
    if (g_getenv("SV_FUZZ_VERBOSE") != NULL) {
        fprintf(stderr, "%s: %s\n", domain != NULL ? domain : "(no domain)", message);
    }
}

/* Once per process: route every log domain through fuzz_log_handler. */
static G_GNUC_UNUSED void fuzz_init_logs(void)
{
    static gboolean done;
    if (!done) {
        g_log_set_default_handler(fuzz_log_handler, NULL);
        done = TRUE;
    }
}

#endif /* SV_FUZZ_COMMON_H */
