/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/* Encoder option strings: `name=value,name=value` against one table. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <spice-video/registry.h>

static guint table_length(const SvEncoderOption *table)
{
    guint n = 0;
    while (table != NULL && table[n].name != NULL) {
        n++;
    }
    return n;
}

static char *expected_names(const SvEncoderOption *table)
{
    GString *names = g_string_new(NULL);
    for (guint i = 0; i < table_length(table); i++) {
        g_string_append_printf(names, "%s%s", i > 0 ? ", " : "", table[i].name);
    }
    if (names->len == 0) {
        g_string_append(names, "no options");
    }
    return g_string_free(names, FALSE);
}

static char *choice_names(const char *const *choices)
{
    GString *names = g_string_new(NULL);
    for (guint i = 0; choices != NULL && choices[i] != NULL; i++) {
        g_string_append_printf(names, "%s%s", i > 0 ? ", " : "", choices[i]);
    }
    return g_string_free(names, FALSE);
}

static gboolean parse_value(const SvEncoderOption *option, const char *text, int *value,
                            GError **error)
{
    switch (option->type) {
    case SV_OPTION_BOOL: {
        static const char *const yes[] = {"1", "true", "yes", "on", NULL};
        static const char *const no[] = {"0", "false", "no", "off", NULL};
        if (g_strv_contains(yes, text)) {
            *value = 1;
            return TRUE;
        }
        if (g_strv_contains(no, text)) {
            *value = 0;
            return TRUE;
        }
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "%s: '%s' is not a boolean (expected: true, false, 1, 0, yes, no, on, off)",
                    option->name, text);
        return FALSE;
    }
    case SV_OPTION_ENUM: {
        for (int i = 0; option->choices != NULL && option->choices[i] != NULL; i++) {
            if (strcmp(option->choices[i], text) == 0) {
                *value = i;
                return TRUE;
            }
        }
        g_autofree char *names = choice_names(option->choices);
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: '%s' is not one of %s",
                    option->name, text, names);
        return FALSE;
    }
    case SV_OPTION_INT:
    default: {
        char *end = NULL;
        errno = 0;
        long long parsed = strtoll(text, &end, 10);
        if (*text == '\0' || *end != '\0' || errno != 0) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "%s: '%s' is not an integer", option->name, text);
            return FALSE;
        }
        if (parsed < option->min || parsed > option->max) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "%s: %s is out of range %d..%d", option->name, text, option->min,
                        option->max);
            return FALSE;
        }
        *value = (int)parsed;
        return TRUE;
    }
    }
}

gboolean sv_encoder_options_parse(const SvEncoderOption *table, const char *string, int *values,
                                  GError **error)
{
    guint n = table_length(table);

    g_return_val_if_fail(values != NULL, FALSE);
    g_return_val_if_fail(n <= SV_MAX_ENCODER_OPTIONS, FALSE);

    for (guint i = 0; i < n; i++) {
        values[i] = table[i].default_value;
    }
    if (string == NULL || *string == '\0') {
        return TRUE;
    }

    g_auto(GStrv) items = g_strsplit(string, ",", -1);
    for (guint k = 0; items[k] != NULL; k++) {
        const char *item = items[k];
        const char *eq = strchr(item, '=');
        if (eq == NULL || eq == item) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED,
                        "option '%s' is not name=value", item);
            return FALSE;
        }
        g_autofree char *name = g_strndup(item, eq - item);
        guint i = 0;
        while (i < n && strcmp(table[i].name, name) != 0) {
            i++;
        }
        if (i == n) {
            g_autofree char *names = expected_names(table);
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_UNKNOWN_OPTION,
                        "unknown option '%s' (expected: %s)", name, names);
            return FALSE;
        }
        if (!parse_value(&table[i], eq + 1, &values[i], error)) {
            return FALSE;
        }
    }
    return TRUE;
}

char *sv_encoder_options_to_string(const SvEncoderOption *table, const int *values)
{
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < table_length(table); i++) {
        g_string_append_printf(out, "%s%s=", i > 0 ? "," : "", table[i].name);
        switch (table[i].type) {
        case SV_OPTION_BOOL:
            g_string_append(out, values[i] ? "true" : "false");
            break;
        case SV_OPTION_ENUM:
            g_string_append(out, table[i].choices[values[i]]);
            break;
        case SV_OPTION_INT:
        default:
            g_string_append_printf(out, "%d", values[i]);
            break;
        }
    }
    return g_string_free(out, FALSE);
}
