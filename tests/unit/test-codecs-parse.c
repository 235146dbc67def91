/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The registry table and spice's `video-codecs` preference strings
 * (reference 2.4 to 2.6): every accepted and rejected example, with the
 * exact diagnostics, logged and returned.
 */
#include "config.h"

#include <string.h>

#include <spice-video/registry.h>

#define LOG_DOMAIN "sv-encoders"

/* What each case's list holds before parsing, so "unchanged" is visible. */
static const SvEncoderDesc previous_desc = {
    .encoder_name = "previous",
    .codec_name = "list",
    .codec_type = SPICE_VIDEO_CODEC_TYPE_MJPEG,
    .cap = SPICE_DISPLAY_CAP_CODEC_MJPEG,
};
#define UNCHANGED "previous:list"
/* Stands for the default list's string, whatever this build has. */
#define DEFAULT_LIST "<default>"

#define MAX_DIAGNOSTICS 4

typedef struct {
    const char *input;
    int ret;                                  /* sv_video_codecs_parse() */
    const char *result;                       /* to_string afterwards */
    const char *diagnostics[MAX_DIAGNOSTICS]; /* in order, NULL-terminated */
} ParseCase;

/* Cases whose outcome does not depend on which optional encoders were built. */
static const ParseCase parse_cases[] = {
    /* accepted (reference 2.5) */
    {"spice:mjpeg", 0, "spice:mjpeg", {NULL}},
    {"spice:mjpeg;;;", 0, "spice:mjpeg", {NULL}},
    {";;spice:mjpeg;;spice:mjpeg;;;", 0, "spice:mjpeg;spice:mjpeg", {NULL}},
    {"auto", 0, DEFAULT_LIST, {NULL}},
    /* rejected (reference 2.5) */
    {"", -1, UNCHANGED, {NULL}},
    {";", -1, UNCHANGED, {NULL}},
    {";;;;", -1, UNCHANGED, {NULL}},
    {";:;", -1, UNCHANGED, {"invalid encoder:codec value :"}},
    {"::::", -1, UNCHANGED, {"invalid encoder:codec value ::::"}},
    {"missingcolon", -1, UNCHANGED, {"invalid encoder:codec value missingcolon"}},
    {":missing_encoder", -1, UNCHANGED, {"invalid encoder:codec value :missing_encoder"}},
    {"missing_value:;", -1, UNCHANGED, {"invalid encoder:codec value missing_value:"}},
    {"unknown_encoder:mjpeg", -1, UNCHANGED, {"unknown video encoder unknown_encoder"}},
    {"spice:unknown_codec", -1, UNCHANGED, {"unknown video codec unknown_codec"}},
    {"spice&:mjpeg", -1, UNCHANGED, {"invalid encoder:codec value spice&:mjpeg"}},
    {"spice:mjpeg&", -1, UNCHANGED, {"invalid encoder:codec value spice:mjpeg&"}},
    /* the encoder name is checked before the codec name */
    {"bogus:bogus", -1, UNCHANGED, {"unknown video encoder bogus"}},
    /* known names, but the table has no such pair */
    {"x264:vp8", -1, UNCHANGED, {"unsupported video encoder x264"}},
    /* spice-server accepts any codec name after `spice`; the MJPEG factory
     * refuses it later, when a stream starts */
    {"spice:h264", 0, "spice:h264", {NULL}},
    {"spice:vp8;spice:mjpeg", 0, "spice:vp8;spice:mjpeg", {NULL}},
    /* mixed: the valid entries are installed, the others counted */
    {"spice:mjpeg;bogus:x;spice:mjpeg",
     1,
     "spice:mjpeg;spice:mjpeg",
     {"unknown video encoder bogus"}},
    {"spice:mjpeg;spice&:mjpeg;x264:vp8;;spice:mjpeg",
     2,
     "spice:mjpeg;spice:mjpeg",
     {"invalid encoder:codec value spice&:mjpeg", "unsupported video encoder x264"}},
    {"nope;spice:mjpeg;:;x:y:z",
     3,
     "spice:mjpeg",
     {"invalid encoder:codec value nope",
      "invalid encoder:codec value :", "invalid encoder:codec value x:y:z"}},
    /* only the exact string is special */
    {"auto;", -1, UNCHANGED, {"invalid encoder:codec value auto"}},
    {";auto", -1, UNCHANGED, {"invalid encoder:codec value auto"}},
    {"auto;spice:mjpeg", 1, "spice:mjpeg", {"invalid encoder:codec value auto"}},
    {"AUTO", -1, UNCHANGED, {"invalid encoder:codec value AUTO"}},
    /* no whitespace anywhere */
    {" spice:mjpeg", -1, UNCHANGED, {"invalid encoder:codec value  spice:mjpeg"}},
    {"spice:mjpeg ", -1, UNCHANGED, {"invalid encoder:codec value spice:mjpeg "}},
    {"spice :mjpeg", -1, UNCHANGED, {"invalid encoder:codec value spice :mjpeg"}},
    {"spice:mjpeg; spice:mjpeg", 1, "spice:mjpeg", {"invalid encoder:codec value  spice:mjpeg"}},
    {"spice:mjpeg\t", -1, UNCHANGED, {"invalid encoder:codec value spice:mjpeg\t"}},
    {"spice:mjpeg\n", -1, UNCHANGED, {"invalid encoder:codec value spice:mjpeg\n"}},
    /* names are case-sensitive */
    {"SPICE:mjpeg", -1, UNCHANGED, {"unknown video encoder SPICE"}},
    {"spice:MJPEG", -1, UNCHANGED, {"unknown video codec MJPEG"}},
    {"Spice:Mjpeg", -1, UNCHANGED, {"unknown video encoder Spice"}},
};

/* Strings made of well-formed registry pairs only: whether each entry is
 * accepted follows from whether its descriptor was built, so the expectation
 * is computed from the table (reference 2.5: `gstreamer:mjpeg` is rejected as
 * "unsupported" on a build without GStreamer). */
static const char *const optional_cases[] = {
    "gstreamer:mjpeg;gstreamer:h264;gstreamer:vp8;",
    "gstreamer:mjpeg",
    "spice:mjpeg;gstreamer:mjpeg;gstreamer:h264;gstreamer:vp8;gstreamer:vp9",
    "gstreamer:h265;x264:h264;vpx:vp8;vpx:vp9",
    "vpx:vp9;spice:mjpeg;x264:h264",
};

static SvVideoCodecs *new_previous_list(void)
{
    SvVideoCodecs *codecs = sv_video_codecs_new();
    sv_video_codecs_append(codecs, &previous_desc);
    return codecs;
}

static char *default_list_string(void)
{
    g_autoptr(SvVideoCodecs) def = sv_video_codecs_new_default();
    return sv_video_codecs_to_string(def);
}

/* Parses @input into a list holding UNCHANGED and checks the return value,
 * the list, the error, and that each diagnostic was both logged (in order,
 * and nothing else) and returned. */
static void check_parse(const char *input, int expected_ret, const char *expected_result,
                        const char *const *expected_diagnostics, guint n_expected_diagnostics)
{
    g_autoptr(SvVideoCodecs) codecs = new_previous_list();
    g_autoptr(GPtrArray) diagnostics = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;

    g_test_message("parsing '%s'", input);
    for (guint i = 0; i < n_expected_diagnostics; i++) {
        g_test_expect_message(LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, expected_diagnostics[i]);
    }
    int ret = sv_video_codecs_parse(codecs, input, diagnostics, &error);
    g_test_assert_expected_messages();

    g_assert_cmpint(ret, ==, expected_ret);
    g_autofree char *result = sv_video_codecs_to_string(codecs);
    g_assert_cmpstr(result, ==, expected_result);

    g_assert_cmpuint(diagnostics->len, ==, n_expected_diagnostics);
    for (guint i = 0; i < n_expected_diagnostics; i++) {
        g_assert_cmpstr(g_ptr_array_index(diagnostics, i), ==, expected_diagnostics[i]);
    }
    /* Invalid entries are counted, whether or not anything was installed. */
    if (ret >= 0) {
        g_assert_cmpuint((guint)ret, ==, n_expected_diagnostics);
        g_assert_no_error(error);
    } else {
        g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_INVALID_LIST);
        g_autofree char *message = g_strdup_printf("Failed to set video codecs from '%s'", input);
        g_assert_cmpstr(error->message, ==, message);
    }
}

static void test_parse_case(gconstpointer data)
{
    const ParseCase *c = data;
    guint n_diagnostics = 0;

    while (n_diagnostics < MAX_DIAGNOSTICS && c->diagnostics[n_diagnostics] != NULL) {
        n_diagnostics++;
    }
    if (strcmp(c->result, DEFAULT_LIST) == 0) {
        g_autofree char *def = default_list_string();
        check_parse(c->input, c->ret, def, c->diagnostics, n_diagnostics);
    } else {
        check_parse(c->input, c->ret, c->result, c->diagnostics, n_diagnostics);
    }
}

static void test_parse_optional(gconstpointer data)
{
    const char *input = data;
    g_auto(GStrv) entries = g_strsplit(input, ";", -1);
    g_autoptr(GPtrArray) expected_diagnostics = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) expected_result = g_string_new(NULL);
    guint n_valid = 0;

    for (guint i = 0; entries[i] != NULL; i++) {
        if (entries[i][0] == '\0') {
            continue;
        }
        g_auto(GStrv) names = g_strsplit(entries[i], ":", 2);
        g_assert_nonnull(names[1]);
        const SvEncoderDesc *desc = sv_registry_find(names[0], names[1]);
        g_assert_nonnull(desc);
        if (desc->create != NULL) {
            g_string_append_printf(expected_result, "%s%s", n_valid > 0 ? ";" : "", entries[i]);
            n_valid++;
        } else {
            g_ptr_array_add(expected_diagnostics,
                            g_strdup_printf("unsupported video encoder %s", names[0]));
        }
    }

    check_parse(input, n_valid > 0 ? (int)expected_diagnostics->len : -1,
                n_valid > 0 ? expected_result->str : UNCHANGED,
                (const char *const *)expected_diagnostics->pdata, expected_diagnostics->len);
}

static void test_parse_null(void)
{
    g_autoptr(SvVideoCodecs) codecs = new_previous_list();

    g_test_expect_message(LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*string != NULL*");
    g_assert_cmpint(sv_video_codecs_parse(codecs, NULL, NULL, NULL), ==, -1);
    g_test_assert_expected_messages();

    g_autofree char *result = sv_video_codecs_to_string(codecs);
    g_assert_cmpstr(result, ==, UNCHANGED);
}

/* Diagnostics are optional; they are still logged. */
static void test_parse_without_diagnostics(void)
{
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();

    g_test_expect_message(LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "unknown video encoder bogus");
    g_assert_cmpint(sv_video_codecs_parse(codecs, "bogus:mjpeg;spice:mjpeg", NULL, NULL), ==, 1);
    g_test_assert_expected_messages();
    g_assert_cmpuint(sv_video_codecs_get_length(codecs), ==, 1);
    g_assert_true(sv_video_codecs_get(codecs, 0) == sv_registry_builtin_mjpeg());

    g_assert_cmpint(sv_video_codecs_parse(codecs, ";;", NULL, NULL), ==, -1);
    g_assert_cmpuint(sv_video_codecs_get_length(codecs), ==, 1);
}

/* A failed parse leaves a real list alone; a good one replaces it entirely. */
static void test_parse_keeps_previous(void)
{
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(sv_video_codecs_parse(codecs, "spice:mjpeg;spice:mjpeg", NULL, &error), ==, 0);
    g_assert_no_error(error);

    g_test_expect_message(LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "unknown video codec av1");
    g_assert_cmpint(sv_video_codecs_parse(codecs, "spice:av1", NULL, &error), ==, -1);
    g_test_assert_expected_messages();
    g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_INVALID_LIST);
    g_clear_error(&error);

    g_autofree char *kept = sv_video_codecs_to_string(codecs);
    g_assert_cmpstr(kept, ==, "spice:mjpeg;spice:mjpeg");

    g_assert_cmpint(sv_video_codecs_parse(codecs, "spice:mjpeg", NULL, &error), ==, 0);
    g_autofree char *replaced = sv_video_codecs_to_string(codecs);
    g_assert_cmpstr(replaced, ==, "spice:mjpeg");
}

static void check_round_trip(const SvVideoCodecs *codecs)
{
    g_autofree char *string = sv_video_codecs_to_string(codecs);
    g_autoptr(SvVideoCodecs) parsed = sv_video_codecs_new();

    g_assert_false(g_str_has_suffix(string, ";"));
    g_assert_cmpint(sv_video_codecs_parse(parsed, string, NULL, NULL), ==, 0);
    g_assert_cmpuint(sv_video_codecs_get_length(parsed), ==, sv_video_codecs_get_length(codecs));
    for (guint i = 0; i < sv_video_codecs_get_length(codecs); i++) {
        g_assert_true(sv_video_codecs_get(parsed, i) == sv_video_codecs_get(codecs, i));
    }
    g_autofree char *again = sv_video_codecs_to_string(parsed);
    g_assert_cmpstr(again, ==, string);
}

static void test_round_trip(void)
{
    g_autoptr(SvVideoCodecs) def = sv_video_codecs_new_default();
    check_round_trip(def);

    /* Every built entry, twice, in table order. */
    g_autoptr(SvVideoCodecs) all = sv_video_codecs_new();
    size_t n;
    const SvEncoderDesc *const *list = sv_registry_list(&n);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            if (list[i]->create != NULL) {
                sv_video_codecs_append(all, list[i]);
            }
        }
    }
    g_assert_cmpuint(sv_video_codecs_get_length(all), >=, 2);
    check_round_trip(all);
}

static void test_to_string_empty(void)
{
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_autofree char *string = sv_video_codecs_to_string(codecs);

    g_assert_cmpstr(string, ==, "");
}

static void test_copy(void)
{
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_assert_cmpint(sv_video_codecs_parse(codecs, "spice:mjpeg;spice:mjpeg", NULL, NULL), ==, 0);

    g_autoptr(SvVideoCodecs) copy = sv_video_codecs_copy(codecs);
    sv_video_codecs_append(codecs, &previous_desc);
    g_assert_cmpuint(sv_video_codecs_get_length(copy), ==, 2);
    g_assert_cmpuint(sv_video_codecs_get_length(codecs), ==, 3);
}

/* ---- the table ---------------------------------------------------------------- */

static void test_registry_table(void)
{
    static const char *const encoder_names[] = {"spice", "gstreamer", "x264", "vpx"};
    static const char *const codec_names[] = {"mjpeg", "vp8", "h264", "vp9", "h265"};
    size_t n = 0;
    const SvEncoderDesc *const *list = sv_registry_list(&n);

    /* 9 encoder:codec pairs, plus spice:{vp8,h264,vp9,h265} that only parse */
    g_assert_cmpuint(n, ==, 13);
    for (size_t i = 0; i < n; i++) {
        const SvEncoderDesc *desc = list[i];
        gboolean known_encoder = FALSE;
        gboolean known_codec = FALSE;

        for (guint j = 0; j < G_N_ELEMENTS(encoder_names); j++) {
            known_encoder |= strcmp(desc->encoder_name, encoder_names[j]) == 0;
        }
        for (guint j = 0; j < G_N_ELEMENTS(codec_names); j++) {
            known_codec |= strcmp(desc->codec_name, codec_names[j]) == 0;
        }
        g_assert_true(known_encoder);
        g_assert_true(known_codec);
        g_assert_true(sv_registry_find(desc->encoder_name, desc->codec_name) == desc);
        g_assert_nonnull(desc->description);
        g_assert_cmpint(desc->codec_type, >=, SPICE_VIDEO_CODEC_TYPE_MJPEG);
        g_assert_cmpint(desc->codec_type, <, SPICE_VIDEO_CODEC_TYPE_ENUM_END);
        /* Each codec's capability, in the order of reference 2.2. */
        static const uint32_t cap_of_type[SPICE_VIDEO_CODEC_TYPE_ENUM_END] = {
            [SPICE_VIDEO_CODEC_TYPE_MJPEG] = SPICE_DISPLAY_CAP_CODEC_MJPEG,
            [SPICE_VIDEO_CODEC_TYPE_VP8] = SPICE_DISPLAY_CAP_CODEC_VP8,
            [SPICE_VIDEO_CODEC_TYPE_H264] = SPICE_DISPLAY_CAP_CODEC_H264,
            [SPICE_VIDEO_CODEC_TYPE_VP9] = SPICE_DISPLAY_CAP_CODEC_VP9,
            [SPICE_VIDEO_CODEC_TYPE_H265] = SPICE_DISPLAY_CAP_CODEC_H265,
        };
        g_assert_cmpuint(desc->cap, ==, cap_of_type[desc->codec_type]);
        /* Opt-in encoders never join the default list. */
        if (strcmp(desc->encoder_name, "x264") == 0 || strcmp(desc->encoder_name, "vpx") == 0 ||
            strcmp(desc->codec_name, "h265") == 0) {
            g_assert_cmpint(desc->rank, ==, 0);
        }
    }

    g_assert_null(sv_registry_find("SPICE", "mjpeg"));
    g_assert_null(sv_registry_find("spice", "MJPEG"));
    g_assert_null(sv_registry_find("x264", "vp8"));
    g_assert_null(sv_registry_find("spice", ""));
}

/* spice:vp8 parses as in spice-server but never yields an encoder: a client
 * with every capability still gets the built-in MJPEG, and the step says why. */
static void test_spice_non_mjpeg(void)
{
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_autoptr(SvNegotiation) negotiation = NULL;
    g_autoptr(GError) error = NULL;
    uint32_t caps = SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG) |
                    SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP8);

    g_assert_cmpint(sv_video_codecs_parse(codecs, "spice:vp8", NULL, NULL), ==, 0);
    g_assert_false(sv_encoder_desc_is_available(sv_video_codecs_get(codecs, 0), &error));
    g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE);
    g_assert_cmpstr(error->message, ==, "the built-in encoder only produces MJPEG, not vp8");

    VideoEncoder *encoder =
        sv_video_codecs_create_encoder(codecs, caps, 1000000, NULL, NULL, NULL, NULL, &negotiation);
    g_assert_nonnull(encoder);
    g_assert_cmpint(encoder->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_MJPEG);
    g_assert_true(negotiation->fallback);
    g_assert_true(negotiation->chosen == sv_registry_builtin_mjpeg());
    g_assert_cmpuint(negotiation->n_steps, ==, 1);
    g_assert_cmpint(negotiation->steps[0].verdict, ==, SV_NEGOTIATION_SKIP_UNAVAILABLE);
    g_assert_cmpstr(negotiation->steps[0].message, ==,
                    "the built-in encoder only produces MJPEG, not vp8");
    encoder->destroy(encoder);
}

static void test_names(void)
{
    g_autofree char *vp9 = sv_display_cap_to_string(SPICE_DISPLAY_CAP_CODEC_VP9);
    g_autofree char *multi = sv_display_cap_to_string(SPICE_DISPLAY_CAP_MULTI_CODEC);
    g_autofree char *other = sv_display_cap_to_string(99);

    g_assert_cmpstr(vp9, ==, "SPICE_DISPLAY_CAP_CODEC_VP9");
    g_assert_cmpstr(multi, ==, "SPICE_DISPLAY_CAP_MULTI_CODEC");
    g_assert_cmpstr(other, ==, "display capability 99");
    g_assert_cmpstr(sv_video_codec_type_to_string(SPICE_VIDEO_CODEC_TYPE_MJPEG), ==, "MJPEG");
    g_assert_cmpstr(sv_video_codec_type_to_string(SPICE_VIDEO_CODEC_TYPE_H265), ==, "H265");
    g_assert_cmpstr(sv_video_codec_type_to_string(SPICE_VIDEO_CODEC_TYPE_ENUM_END), ==, "?");
}

static void test_registry_builtin(void)
{
    const SvEncoderDesc *builtin = sv_registry_builtin_mjpeg();
    g_autoptr(GError) error = NULL;

    g_assert_true(builtin == sv_registry_find("spice", "mjpeg"));
    g_assert_cmpint(builtin->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_MJPEG);
    g_assert_cmpuint(builtin->cap, ==, SPICE_DISPLAY_CAP_CODEC_MJPEG);
    g_assert_nonnull(builtin->create);
    g_assert_true(sv_encoder_desc_is_available(builtin, &error));
    g_assert_no_error(error);
}

static void test_registry_not_built(void)
{
    size_t n = 0;
    const SvEncoderDesc *const *list = sv_registry_list(&n);

    for (size_t i = 0; i < n; i++) {
        g_autoptr(GError) error = NULL;
        gboolean available = sv_encoder_desc_is_available(list[i], &error);

        if (list[i]->create == NULL) {
            g_assert_false(available);
            g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_NOT_BUILT);
        } else if (available) {
            g_assert_no_error(error);
        } else {
            g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE);
        }
    }
}

static void test_default_list(void)
{
    g_autoptr(SvVideoCodecs) def = sv_video_codecs_new_default();
    size_t n = 0;
    const SvEncoderDesc *const *list = sv_registry_list(&n);
    guint n_ranked_built = 0;

    g_assert_cmpuint(sv_video_codecs_get_length(def), >=, 1);
    g_assert_true(sv_video_codecs_get(def, 0) == sv_registry_builtin_mjpeg());

    /* Exactly the built entries with a rank, each once, highest rank first. */
    for (size_t i = 0; i < n; i++) {
        guint occurrences = 0;
        for (guint j = 0; j < sv_video_codecs_get_length(def); j++) {
            occurrences += sv_video_codecs_get(def, j) == list[i];
        }
        if (list[i]->create != NULL && list[i]->rank > 0) {
            g_assert_cmpuint(occurrences, ==, 1);
            n_ranked_built++;
        } else {
            g_assert_cmpuint(occurrences, ==, 0);
        }
    }
    g_assert_cmpuint(sv_video_codecs_get_length(def), ==, n_ranked_built);
    for (guint j = 1; j < sv_video_codecs_get_length(def); j++) {
        g_assert_cmpint(sv_video_codecs_get(def, j - 1)->rank, >=,
                        sv_video_codecs_get(def, j)->rank);
    }

    /* With the four GStreamer encoders it is spice-server 0.15's list. */
    static const char *const gst_codecs[] = {"mjpeg", "h264", "vp8", "vp9"};
    gboolean gst_built = TRUE;
    for (guint i = 0; i < G_N_ELEMENTS(gst_codecs); i++) {
        gst_built &= sv_registry_find("gstreamer", gst_codecs[i])->create != NULL;
    }
    g_autofree char *string = sv_video_codecs_to_string(def);
    if (gst_built) {
        g_assert_cmpstr(string, ==,
                        "spice:mjpeg;gstreamer:mjpeg;gstreamer:h264;gstreamer:vp8;gstreamer:vp9");
    } else {
        g_assert_true(g_str_has_prefix(string, "spice:mjpeg"));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    for (guint i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
        g_autofree char *path = g_strdup_printf("/codecs-parse/case/%02u", i);
        g_test_add_data_func(path, &parse_cases[i], test_parse_case);
    }
    for (guint i = 0; i < G_N_ELEMENTS(optional_cases); i++) {
        g_autofree char *path = g_strdup_printf("/codecs-parse/optional/%02u", i);
        g_test_add_data_func(path, optional_cases[i], test_parse_optional);
    }
    g_test_add_func("/codecs-parse/null", test_parse_null);
    g_test_add_func("/codecs-parse/without-diagnostics", test_parse_without_diagnostics);
    g_test_add_func("/codecs-parse/keeps-previous", test_parse_keeps_previous);
    g_test_add_func("/codecs-parse/round-trip", test_round_trip);
    g_test_add_func("/codecs-parse/to-string-empty", test_to_string_empty);
    g_test_add_func("/codecs-parse/copy", test_copy);
    g_test_add_func("/registry/table", test_registry_table);
    g_test_add_func("/registry/spice-non-mjpeg", test_spice_non_mjpeg);
    g_test_add_func("/registry/names", test_names);
    g_test_add_func("/registry/builtin-mjpeg", test_registry_builtin);
    g_test_add_func("/registry/not-built", test_registry_not_built);
    g_test_add_func("/registry/default-list", test_default_list);

    return g_test_run();
}
