/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * test-timeout.h: the wall-clock limit of a test's wait for a real encoder.
 * Under valgrind (tests/valgrind-run.sh sets SV_ENCODE_TIMEOUT_MS) a
 * GStreamer encoder's first frame can take longer than the tests' usual
 * limits; the tests then wait that long instead. Everything is static.
 */
#ifndef SV_TEST_TIMEOUT_H
#define SV_TEST_TIMEOUT_H

#include <stdint.h>

#include <glib.h>

/* @return @timeout_ns, or SV_ENCODE_TIMEOUT_MS when that is longer. */
static G_GNUC_UNUSED int64_t sv_test_timeout_ns(int64_t timeout_ns)
{
    const char *env = g_getenv("SV_ENCODE_TIMEOUT_MS");
    guint64 ms = 0;
    if (env != NULL && g_ascii_string_to_unsigned(env, 10, 1, G_MAXINT32, &ms, NULL)) {
        return MAX(timeout_ns, (int64_t)ms * 1000000);
    }
    return timeout_ns;
}

#endif /* SV_TEST_TIMEOUT_H */
