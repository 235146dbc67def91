/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/* Encoder option strings against an option table: values and diagnostics. */
#include "config.h"

#include <spice-video/registry.h>

static const char *const presets[] = {"ultrafast", "superfast", "veryfast", NULL};

static const SvEncoderOption table[] = {
    {"preset", SV_OPTION_ENUM, 0, 0, 0, presets, "speed preset"},
    {"keyint", SV_OPTION_INT, 0, 10000, 0, NULL, "frames between key frames, 0 = never"},
    {"threads", SV_OPTION_INT, 0, 64, 1, NULL, "encoder threads, 0 = auto"},
    {"yuv444", SV_OPTION_BOOL, 0, 1, 0, NULL, "4:4:4 chroma"},
    {NULL},
};

typedef struct {
    const char *string;
    gboolean ok;
    int values[4];       /* when ok */
    const char *message; /* when not */
} Case;

static const Case cases[] = {
    {NULL, TRUE, {0, 0, 1, 0}, NULL},
    {"", TRUE, {0, 0, 1, 0}, NULL},
    {"preset=veryfast", TRUE, {2, 0, 1, 0}, NULL},
    {"keyint=60,threads=0,yuv444=true", TRUE, {0, 60, 0, 1}, NULL},
    {"yuv444=on,yuv444=off", TRUE, {0, 0, 1, 0}, NULL},
    {"keyint=10000", TRUE, {0, 10000, 1, 0}, NULL},
    {"keyint=10001", FALSE, {0}, "keyint: 10001 is out of range 0..10000"},
    {"keyint=-1", FALSE, {0}, "keyint: -1 is out of range 0..10000"},
    {"keyint=6x", FALSE, {0}, "keyint: '6x' is not an integer"},
    {"keyint=", FALSE, {0}, "keyint: '' is not an integer"},
    {"keyint=99999999999999999999", FALSE, {0}, "keyint: '99999999999999999999' is not an integer"},
    {"preset=slow", FALSE, {0}, "preset: 'slow' is not one of ultrafast, superfast, veryfast"},
    {"yuv444=maybe",
     FALSE,
     {0},
     "yuv444: 'maybe' is not a boolean (expected: true, false, 1, 0, yes, no, on, off)"},
    {"bogus=1", FALSE, {0}, "unknown option 'bogus' (expected: preset, keyint, threads, yuv444)"},
    {"Preset=ultrafast",
     FALSE,
     {0},
     "unknown option 'Preset' (expected: preset, keyint, threads, yuv444)"},
    {"preset", FALSE, {0}, "option 'preset' is not name=value"},
    {"=3", FALSE, {0}, "option '=3' is not name=value"},
    {"keyint=5,,threads=2", FALSE, {0}, "option '' is not name=value"},
};

static void test_case(gconstpointer data)
{
    const Case *c = data;
    int values[SV_MAX_ENCODER_OPTIONS];
    g_autoptr(GError) error = NULL;

    gboolean ok = sv_encoder_options_parse(table, c->string, values, &error);
    g_assert_cmpint(ok, ==, c->ok);
    if (ok) {
        g_assert_no_error(error);
        for (guint i = 0; i < 4; i++) {
            g_assert_cmpint(values[i], ==, c->values[i]);
        }
    } else {
        g_assert_nonnull(error);
        g_assert_cmpstr(error->message, ==, c->message);
    }
}

static void test_to_string(void)
{
    int values[SV_MAX_ENCODER_OPTIONS];

    g_assert_true(sv_encoder_options_parse(table, "preset=superfast,yuv444=1", values, NULL));
    g_autofree char *text = sv_encoder_options_to_string(table, values);
    g_assert_cmpstr(text, ==, "preset=superfast,keyint=0,threads=1,yuv444=true");
    /* It parses back to the same values. */
    int again[SV_MAX_ENCODER_OPTIONS];
    g_assert_true(sv_encoder_options_parse(table, text, again, NULL));
    g_assert_cmpmem(values, 4 * sizeof(int), again, 4 * sizeof(int));

    static const SvEncoderOption empty[] = {{NULL}};
    g_autoptr(GError) error = NULL;
    g_assert_false(sv_encoder_options_parse(empty, "x=1", values, &error));
    g_assert_cmpstr(error->message, ==, "unknown option 'x' (expected: no options)");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = g_strdup_printf("/options/parse/%02u", i);
        g_test_add_data_func(path, &cases[i], test_case);
    }
    g_test_add_func("/options/to-string", test_to_string);
    return g_test_run();
}
