/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

#include "config.h"

#include "factory-error.h"

static GPrivate reason = G_PRIVATE_INIT(g_free);

void sv_factory_error_set(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    g_private_replace(&reason, g_strdup_vprintf(format, args));
    va_end(args);
}

void sv_factory_error_clear(void)
{
    g_private_replace(&reason, NULL);
}

char *sv_factory_error_take(void)
{
    char *text = g_private_get(&reason);

    g_private_set(&reason, NULL);
    return text;
}
