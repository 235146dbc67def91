/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Choosing an encoder for one client (reference 2.8) and sorting a codec
 * list by a client's preference (reference 2.7), with fake encoders so that
 * every outcome can be produced without a codec library.
 */
#include "config.h"

#include <string.h>

#include <spice-video/registry.h>

#define LOG_DOMAIN "sv-encoders"

/* ---- fake encoders ------------------------------------------------------------ */

static guint n_live_fakes;
static guint n_factory_calls;
static guint n_create_full_calls;
static const SvEncoderConfig *last_config;

static void fake_destroy(VideoEncoder *encoder)
{
    g_assert_cmpuint(n_live_fakes, >, 0);
    n_live_fakes--;
    g_free(encoder);
}

static VideoEncoder *fake_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                              VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                              bitmap_unref_t bitmap_unref)
{
    VideoEncoder *encoder = g_new0(VideoEncoder, 1);

    n_factory_calls++;
    n_live_fakes++;
    encoder->destroy = fake_destroy;
    encoder->codec_type = codec_type;
    return encoder;
}

static VideoEncoder *fake_new_full(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                   VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                   bitmap_unref_t bitmap_unref, const SvEncoderConfig *config)
{
    n_create_full_calls++;
    last_config = config;
    return fake_new(codec_type, starting_bit_rate, cbs, bitmap_ref, bitmap_unref);
}

/* A factory that cannot build its pipeline. */
static VideoEncoder *fake_new_fails(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                    VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                    bitmap_unref_t bitmap_unref)
{
    n_factory_calls++;
    return NULL;
}

#define PROBE_MESSAGE "element x265enc is not installed"

static gboolean fake_probe_fails(const SvEncoderDesc *desc, GError **error)
{
    /* A foreign domain: the registry reports it as SV_ENCODER_ERROR_UNAVAILABLE. */
    g_set_error_literal(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, PROBE_MESSAGE);
    return FALSE;
}

static gboolean fake_probe_fails_silently(const SvEncoderDesc *desc, GError **error)
{
    return FALSE;
}

static gboolean fake_probe_passes(const SvEncoderDesc *desc, GError **error)
{
    return TRUE;
}

/* The fields every fake shares; the factory and probe are given per fake. */
#define FAKE(enc, codec, type, capability)                                                 \
    .encoder_name = enc, .codec_name = codec, .codec_type = SPICE_VIDEO_CODEC_TYPE_##type, \
    .cap = SPICE_DISPLAY_CAP_CODEC_##capability, .description = "fake " enc ":" codec

static const SvEncoderDesc fake_mjpeg = {FAKE("fakegst", "mjpeg", MJPEG, MJPEG),
                                         .create = fake_new};
static const SvEncoderDesc fake_h264 = {FAKE("fakegst", "h264", H264, H264), .create = fake_new};
static const SvEncoderDesc fake_vp8 = {FAKE("fakegst", "vp8", VP8, VP8), .create = fake_new};
static const SvEncoderDesc fake_vp9 = {FAKE("fakegst", "vp9", VP9, VP9), .create = fake_new,
                                       .probe = fake_probe_passes};
static const SvEncoderDesc fake_h265 = {FAKE("fakegst", "h265", H265, H265), .create = fake_new};
static const SvEncoderDesc broken_vp9 = {FAKE("broken", "vp9", VP9, VP9), .create = fake_new_fails};
static const SvEncoderDesc broken_mjpeg = {FAKE("broken", "mjpeg", MJPEG, MJPEG),
                                           .create = fake_new_fails};
static const SvEncoderDesc missing_h265 = {FAKE("missing", "h265", H265, H265), .create = fake_new,
                                           .probe = fake_probe_fails};
static const SvEncoderDesc unbuilt_h264 = {FAKE("unbuilt", "h264", H264, H264), .create = NULL};
static const SvEncoderDesc unbuilt_mjpeg = {FAKE("unbuilt", "mjpeg", MJPEG, MJPEG), .create = NULL};
static const SvEncoderDesc full_vp8 = {FAKE("full", "vp8", VP8, VP8), .create = fake_new,
                                       .create_full = fake_new_full};
/* A capability beyond a 32-bit mask: no client can have it. */
static const SvEncoderDesc odd_cap = {
    .encoder_name = "odd",
    .codec_name = "vp8",
    .codec_type = SPICE_VIDEO_CODEC_TYPE_VP8,
    .cap = 40,
    .create = fake_new,
};

/* ---- client capability sets ----------------------------------------------------- */

#define CAPS_BASE (SV_CAP(SPICE_DISPLAY_CAP_SIZED_STREAM) | SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT))
#define CAPS_MULTI (CAPS_BASE | SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC))
/* A client from before multi-codec support. */
#define CAPS_OLD CAPS_BASE
#define CAPS_ALL                                                                                \
    (CAPS_MULTI | SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP8) | \
     SV_CAP(SPICE_DISPLAY_CAP_CODEC_H264) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP9) |               \
     SV_CAP(SPICE_DISPLAY_CAP_CODEC_H265))
#define CAPS_NO_VP9 (CAPS_ALL & ~SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP9))
#define CAPS_NO_H264 (CAPS_ALL & ~SV_CAP(SPICE_DISPLAY_CAP_CODEC_H264))
#define CAPS_MJPEG_ONLY (CAPS_MULTI | SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG))
#define CAPS_NO_MJPEG (CAPS_ALL & ~SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG))
#define CAPS_MULTI_ONLY CAPS_MULTI

/* ---- the matrix ------------------------------------------------------------------ */

#define MAX_ENTRIES 6
#define CHOSE_BUILTIN (-1) /* the built-in MJPEG last resort */
#define CHOSE_NONE (-2)    /* the client gets no encoder */

typedef struct {
    const char *name;
    uint32_t caps;
    const SvEncoderDesc *list[MAX_ENTRIES]; /* NULL-terminated */
    SvNegotiationVerdict verdicts[MAX_ENTRIES];
    int chosen; /* index in list, CHOSE_BUILTIN or CHOSE_NONE */
} NegotiationCase;

/* The real built-in entry, as a list member (not the fallback). */
#define BUILTIN (&builtin_placeholder)
static const SvEncoderDesc builtin_placeholder;

#define CHOSEN SV_NEGOTIATION_CHOSEN
#define NOT_MJPEG SV_NEGOTIATION_SKIP_NOT_MJPEG
#define NO_CAP SV_NEGOTIATION_SKIP_NO_CAPABILITY
#define NOT_BUILT SV_NEGOTIATION_SKIP_NOT_BUILT
#define UNAVAILABLE SV_NEGOTIATION_SKIP_UNAVAILABLE
#define FACTORY_FAILED SV_NEGOTIATION_SKIP_FACTORY_FAILED
#define NOT_TRIED SV_NEGOTIATION_NOT_TRIED

static const NegotiationCase negotiation_cases[] = {
    /* Old clients decode MJPEG only: the first MJPEG entry wins, whoever makes it. */
    {"old-client/first-mjpeg",
     CAPS_OLD,
     {&fake_h264, &fake_vp8, &fake_mjpeg, &broken_mjpeg},
     {NOT_MJPEG, NOT_MJPEG, CHOSEN, NOT_TRIED},
     2},
    {"old-client/mjpeg-factory-fails",
     CAPS_OLD,
     {&broken_mjpeg, &fake_h264, &fake_mjpeg},
     {FACTORY_FAILED, NOT_MJPEG, CHOSEN},
     2},
    {"old-client/mjpeg-not-built", CAPS_OLD, {&unbuilt_mjpeg, &fake_mjpeg}, {NOT_BUILT, CHOSEN}, 1},
    {"old-client/no-mjpeg-entry",
     CAPS_OLD,
     {&fake_h264, &fake_vp8},
     {NOT_MJPEG, NOT_MJPEG},
     CHOSE_BUILTIN},
    {"old-client/all-mjpeg-fail",
     CAPS_OLD,
     {&broken_mjpeg, &unbuilt_mjpeg, &fake_vp9},
     {FACTORY_FAILED, NOT_BUILT, NOT_MJPEG},
     CHOSE_BUILTIN},
    {"old-client/empty-list", CAPS_OLD, {NULL}, {0}, CHOSE_BUILTIN},
    {"old-client/real-builtin-listed",
     CAPS_OLD,
     {&fake_h264, BUILTIN, &fake_mjpeg},
     {NOT_MJPEG, CHOSEN, NOT_TRIED},
     1},
    /* Multi-codec clients: the first entry they can decode and we can make. */
    {"multi/first-entry",
     CAPS_ALL,
     {&fake_h264, &fake_vp8, &fake_mjpeg},
     {CHOSEN, NOT_TRIED, NOT_TRIED},
     0},
    {"multi/probe-passes", CAPS_ALL, {&fake_vp9, &fake_h264}, {CHOSEN, NOT_TRIED}, 0},
    {"multi/missing-capability",
     CAPS_NO_VP9,
     {&fake_vp9, &broken_vp9, &fake_h264},
     {NO_CAP, NO_CAP, CHOSEN},
     2},
    {"multi/capability-before-build",
     CAPS_NO_H264,
     {&unbuilt_h264, &fake_h265},
     {NO_CAP, CHOSEN},
     1},
    {"multi/capability-out-of-range", CAPS_ALL, {&odd_cap, &fake_vp8}, {NO_CAP, CHOSEN}, 1},
    {"multi/factory-failure-falls-through",
     CAPS_ALL,
     {&broken_vp9, &broken_vp9, &fake_vp8},
     {FACTORY_FAILED, FACTORY_FAILED, CHOSEN},
     2},
    {"multi/probe-failure", CAPS_ALL, {&missing_h265, &fake_h264}, {UNAVAILABLE, CHOSEN}, 1},
    {"multi/not-built", CAPS_ALL, {&unbuilt_h264, &fake_h264}, {NOT_BUILT, CHOSEN}, 1},
    {"multi/mjpeg-only-client",
     CAPS_MJPEG_ONLY,
     {&fake_h264, &fake_vp8, &fake_mjpeg},
     {NO_CAP, NO_CAP, CHOSEN},
     2},
    {"multi/no-mjpeg-cap-picks-h264",
     CAPS_NO_MJPEG,
     {&fake_mjpeg, &fake_h264, &fake_vp8},
     {NO_CAP, CHOSEN, NOT_TRIED},
     1},
    {"multi/real-builtin-listed",
     CAPS_ALL,
     {&unbuilt_h264, BUILTIN, &fake_mjpeg},
     {NOT_BUILT, CHOSEN, NOT_TRIED},
     1},
    /* Nothing in the list works: MJPEG last resort when the client decodes it... */
    {"fallback/everything-fails",
     CAPS_ALL,
     {&broken_vp9, &missing_h265, &unbuilt_h264, &broken_mjpeg},
     {FACTORY_FAILED, UNAVAILABLE, NOT_BUILT, FACTORY_FAILED},
     CHOSE_BUILTIN},
    {"fallback/mjpeg-only-client",
     CAPS_MJPEG_ONLY,
     {&fake_h264, &fake_vp9},
     {NO_CAP, NO_CAP},
     CHOSE_BUILTIN},
    {"fallback/empty-list", CAPS_ALL, {NULL}, {0}, CHOSE_BUILTIN},
    /* ...and no encoder at all when it has MULTI_CODEC but not CODEC_MJPEG. */
    {"none/no-mjpeg-cap",
     CAPS_NO_MJPEG,
     {&fake_mjpeg, &broken_vp9, &missing_h265},
     {NO_CAP, FACTORY_FAILED, UNAVAILABLE},
     CHOSE_NONE},
    {"none/multi-only",
     CAPS_MULTI_ONLY,
     {&fake_mjpeg, &fake_h264, &fake_vp8},
     {NO_CAP, NO_CAP, NO_CAP},
     CHOSE_NONE},
    {"none/empty-list", CAPS_NO_MJPEG, {NULL}, {0}, CHOSE_NONE},
};

static const SvEncoderDesc *resolve(const SvEncoderDesc *desc)
{
    return desc == BUILTIN ? sv_registry_builtin_mjpeg() : desc;
}

static SvVideoCodecs *list_of(const SvEncoderDesc *const *entries, guint *n_out)
{
    SvVideoCodecs *codecs = sv_video_codecs_new();
    guint n = 0;

    while (n < MAX_ENTRIES && entries[n] != NULL) {
        sv_video_codecs_append(codecs, resolve(entries[n]));
        n++;
    }
    *n_out = n;
    return codecs;
}

static void reset_counters(void)
{
    n_factory_calls = 0;
    n_create_full_calls = 0;
    last_config = NULL;
}

static VideoEncoder *negotiate(const SvVideoCodecs *codecs, uint32_t caps,
                               const SvEncoderConfig *config, SvNegotiation **negotiation)
{
    VideoEncoderRateControlCbs cbs = {0};

    return sv_video_codecs_create_encoder(codecs, caps, 10 * 1000 * 1000, &cbs, NULL, NULL, config,
                                          negotiation);
}

static void test_negotiation_case(gconstpointer data)
{
    const NegotiationCase *c = data;
    guint n_entries;
    g_autoptr(SvVideoCodecs) codecs = list_of(c->list, &n_entries);
    g_autoptr(SvNegotiation) negotiation = NULL;
    const SvEncoderDesc *expected_chosen = NULL;
    g_autofree char *expected_log = NULL;

    reset_counters();
    if (c->chosen >= 0) {
        expected_chosen = resolve(c->list[c->chosen]);
        expected_log = g_strdup_printf("video encoder %s:%s chosen (*",
                                       expected_chosen->encoder_name, expected_chosen->codec_name);
    } else if (c->chosen == CHOSE_BUILTIN) {
        expected_chosen = sv_registry_builtin_mjpeg();
        expected_log = g_strdup("video encoder spice:mjpeg chosen as the last resort*");
    } else {
        expected_log = g_strdup("no video encoder for this client*");
    }

    g_test_expect_message(LOG_DOMAIN, G_LOG_LEVEL_INFO, expected_log);
    VideoEncoder *encoder = negotiate(codecs, c->caps, NULL, &negotiation);
    g_test_assert_expected_messages();

    g_assert_nonnull(negotiation);
    g_assert_cmpuint(negotiation->n_steps, ==, n_entries);
    for (guint i = 0; i < n_entries; i++) {
        const SvNegotiationStep *step = &negotiation->steps[i];

        g_test_message("step %u: %s:%s %s: %s", i, step->desc->encoder_name, step->desc->codec_name,
                       sv_negotiation_verdict_to_string(step->verdict), step->message);
        g_assert_true(step->desc == resolve(c->list[i]));
        g_assert_cmpstr(sv_negotiation_verdict_to_string(step->verdict), ==,
                        sv_negotiation_verdict_to_string(c->verdicts[i]));
        g_assert_nonnull(step->message);
    }

    g_assert_true(negotiation->chosen == expected_chosen);
    g_assert_cmpint(negotiation->fallback, ==, c->chosen == CHOSE_BUILTIN);
    if (expected_chosen == NULL) {
        g_assert_null(encoder);
    } else {
        g_assert_nonnull(encoder);
        g_assert_cmpint(encoder->codec_type, ==, expected_chosen->codec_type);
        encoder->destroy(encoder);
    }
    g_assert_cmpuint(n_live_fakes, ==, 0);
}

/* Every subset of the codec capabilities, with and without MULTI_CODEC,
 * against lists of working and failing fakes: the rules of reference 2.8
 * hold for each. */
static void silent_log(const char *domain, GLogLevelFlags level, const char *message,
                       gpointer user_data)
{
}

static void test_negotiation_matrix(void)
{
    static const uint32_t codec_caps[] = {
        SPICE_DISPLAY_CAP_CODEC_MJPEG, SPICE_DISPLAY_CAP_CODEC_VP8,  SPICE_DISPLAY_CAP_CODEC_H264,
        SPICE_DISPLAY_CAP_CODEC_VP9,   SPICE_DISPLAY_CAP_CODEC_H265,
    };
    static const SvEncoderDesc *const lists[][MAX_ENTRIES] = {
        {&fake_h264, &fake_vp8, &fake_mjpeg},
        {&fake_vp9, &fake_h265, &fake_vp8, &fake_mjpeg, &fake_h264},
        {&broken_vp9, &missing_h265, &unbuilt_h264, &broken_mjpeg},
        {&missing_h265, &fake_h265, &unbuilt_mjpeg, &fake_mjpeg, &broken_vp9, &fake_vp9},
        {NULL},
    };
    guint handler = g_log_set_handler(LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, silent_log, NULL);
    guint n_checked = 0;

    for (guint subset = 0; subset < (1u << G_N_ELEMENTS(codec_caps)) * 2; subset++) {
        uint32_t caps = CAPS_BASE;
        gboolean multi = subset & 1;

        if (multi) {
            caps |= SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC);
        }
        for (guint b = 0; b < G_N_ELEMENTS(codec_caps); b++) {
            if (subset & (2u << b)) {
                caps |= SV_CAP(codec_caps[b]);
            }
        }
        gboolean has_mjpeg = caps & SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG);

        for (guint l = 0; l < G_N_ELEMENTS(lists); l++) {
            guint n_entries;
            g_autoptr(SvVideoCodecs) codecs = list_of(lists[l], &n_entries);
            g_autoptr(SvNegotiation) negotiation = NULL;
            VideoEncoder *encoder = negotiate(codecs, caps, NULL, &negotiation);
            int chosen_index = -1;

            g_assert_cmpuint(negotiation->n_steps, ==, n_entries);
            for (guint i = 0; i < n_entries; i++) {
                const SvNegotiationStep *step = &negotiation->steps[i];
                const SvEncoderDesc *desc = step->desc;
                gboolean can_decode = multi ? (caps & SV_CAP(desc->cap)) != 0
                                            : desc->codec_type == SPICE_VIDEO_CODEC_TYPE_MJPEG;

                if (chosen_index >= 0) {
                    g_assert_cmpint(step->verdict, ==, SV_NEGOTIATION_NOT_TRIED);
                    continue;
                }
                if (!can_decode) {
                    g_assert_cmpint(step->verdict, ==,
                                    multi ? SV_NEGOTIATION_SKIP_NO_CAPABILITY
                                          : SV_NEGOTIATION_SKIP_NOT_MJPEG);
                } else if (desc->create == NULL) {
                    g_assert_cmpint(step->verdict, ==, SV_NEGOTIATION_SKIP_NOT_BUILT);
                } else if (desc->probe == fake_probe_fails) {
                    g_assert_cmpint(step->verdict, ==, SV_NEGOTIATION_SKIP_UNAVAILABLE);
                } else if (desc->create == fake_new_fails) {
                    g_assert_cmpint(step->verdict, ==, SV_NEGOTIATION_SKIP_FACTORY_FAILED);
                } else {
                    g_assert_cmpint(step->verdict, ==, SV_NEGOTIATION_CHOSEN);
                    chosen_index = (int)i;
                }
            }

            if (chosen_index >= 0) {
                g_assert_true(negotiation->chosen == negotiation->steps[chosen_index].desc);
                g_assert_false(negotiation->fallback);
            } else if (!multi || has_mjpeg) {
                g_assert_true(negotiation->chosen == sv_registry_builtin_mjpeg());
                g_assert_true(negotiation->fallback);
            } else {
                g_assert_null(negotiation->chosen);
                g_assert_false(negotiation->fallback);
            }
            g_assert_true((encoder != NULL) == (negotiation->chosen != NULL));
            if (encoder != NULL) {
                g_assert_cmpint(encoder->codec_type, ==, negotiation->chosen->codec_type);
                encoder->destroy(encoder);
            }
            g_assert_cmpuint(n_live_fakes, ==, 0);
            n_checked++;
        }
    }
    g_log_remove_handler(LOG_DOMAIN, handler);
    g_assert_cmpuint(n_checked, ==, 64 * G_N_ELEMENTS(lists));
}

/* ---- details of the steps ------------------------------------------------------ */

static const SvNegotiationStep *negotiate_one(const SvEncoderDesc *desc, uint32_t caps,
                                              SvNegotiation **negotiation)
{
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    sv_video_codecs_append(codecs, desc);
    sv_video_codecs_append(codecs, &fake_h264);

    VideoEncoder *encoder = negotiate(codecs, caps, NULL, negotiation);
    if (encoder != NULL) {
        encoder->destroy(encoder);
    }
    g_assert_cmpuint((*negotiation)->n_steps, ==, 2);
    return &(*negotiation)->steps[0];
}

static void test_step_messages(void)
{
    struct {
        const SvEncoderDesc *desc;
        uint32_t caps;
        SvNegotiationVerdict verdict;
        const char *message;
    } cases[] = {
        {&fake_vp9, CAPS_NO_VP9, NO_CAP, "client lacks SPICE_DISPLAY_CAP_CODEC_VP9"},
        {&fake_mjpeg, CAPS_NO_MJPEG, NO_CAP, "client lacks SPICE_DISPLAY_CAP_CODEC_MJPEG"},
        {&fake_h265, CAPS_MULTI_ONLY, NO_CAP, "client lacks SPICE_DISPLAY_CAP_CODEC_H265"},
        {&odd_cap, CAPS_ALL, NO_CAP, "client lacks display capability 40"},
        {&fake_vp8, CAPS_OLD, NOT_MJPEG,
         "client lacks SPICE_DISPLAY_CAP_MULTI_CODEC and only decodes MJPEG"},
        /* the probe's own words */
        {&missing_h265, CAPS_ALL, UNAVAILABLE, PROBE_MESSAGE},
        {&unbuilt_h264, CAPS_ALL, NOT_BUILT, "not compiled into this build of spice-video"},
        {&broken_vp9, CAPS_ALL, FACTORY_FAILED, "the factory returned no encoder"},
        {&fake_vp8, CAPS_ALL, CHOSEN, "encoder created"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(SvNegotiation) negotiation = NULL;
        const SvNegotiationStep *step = negotiate_one(cases[i].desc, cases[i].caps, &negotiation);

        g_assert_cmpint(step->verdict, ==, cases[i].verdict);
        g_assert_cmpstr(step->message, ==, cases[i].message);
        if (cases[i].verdict == CHOSEN) {
            g_assert_cmpint(negotiation->steps[1].verdict, ==, NOT_TRIED);
            g_assert_cmpstr(negotiation->steps[1].message, ==, "an earlier entry was chosen");
        }
    }
    g_assert_cmpuint(n_live_fakes, ==, 0);
}

/* Each skip is logged at debug level, with its reason. */
static void test_skip_logged(void)
{
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_autoptr(SvNegotiation) negotiation = NULL;

    sv_video_codecs_append(codecs, &fake_vp9);
    sv_video_codecs_append(codecs, &missing_h265);
    sv_video_codecs_append(codecs, &fake_h264);

    g_test_expect_message(LOG_DOMAIN, G_LOG_LEVEL_DEBUG,
                          "skipping video encoder fakegst:vp9 (no-capability): "
                          "client lacks SPICE_DISPLAY_CAP_CODEC_VP9");
    g_test_expect_message(LOG_DOMAIN, G_LOG_LEVEL_DEBUG,
                          "skipping video encoder missing:h265 (unavailable): " PROBE_MESSAGE);
    g_test_expect_message(LOG_DOMAIN, G_LOG_LEVEL_INFO,
                          "video encoder fakegst:h264 chosen (2 list entries skipped before it)");
    VideoEncoder *encoder = negotiate(codecs, CAPS_NO_VP9, NULL, &negotiation);
    g_test_assert_expected_messages();

    g_assert_nonnull(encoder);
    encoder->destroy(encoder);
}

static void test_config(void)
{
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    SvEncoderConfig config = {0};

    sv_video_codecs_append(codecs, &full_vp8);

    /* With a config, create_full gets it. */
    reset_counters();
    VideoEncoder *encoder = negotiate(codecs, CAPS_ALL, &config, NULL);
    g_assert_nonnull(encoder);
    g_assert_cmpuint(n_create_full_calls, ==, 1);
    g_assert_true(last_config == &config);
    encoder->destroy(encoder);

    /* Without one, the spice-compatible factory. */
    reset_counters();
    encoder = negotiate(codecs, CAPS_ALL, NULL, NULL);
    g_assert_nonnull(encoder);
    g_assert_cmpuint(n_create_full_calls, ==, 0);
    g_assert_cmpuint(n_factory_calls, ==, 1);
    encoder->destroy(encoder);

    /* A config means nothing to an entry without create_full. */
    g_autoptr(SvVideoCodecs) plain = sv_video_codecs_new();
    sv_video_codecs_append(plain, &fake_vp8);
    reset_counters();
    encoder = negotiate(plain, CAPS_ALL, &config, NULL);
    g_assert_nonnull(encoder);
    g_assert_cmpuint(n_create_full_calls, ==, 0);
    g_assert_cmpuint(n_factory_calls, ==, 1);
    encoder->destroy(encoder);

    /* The last resort takes the config too. */
    g_autoptr(SvVideoCodecs) empty = sv_video_codecs_new();
    g_autoptr(SvNegotiation) negotiation = NULL;
    encoder = negotiate(empty, CAPS_ALL, &config, &negotiation);
    g_assert_nonnull(encoder);
    g_assert_true(negotiation->fallback);
    g_assert_cmpint(encoder->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_MJPEG);
    encoder->destroy(encoder);
    g_assert_cmpuint(n_live_fakes, ==, 0);
}

static void test_describe(void)
{
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_autoptr(SvNegotiation) negotiation = NULL;

    sv_video_codecs_append(codecs, &missing_h265);
    sv_video_codecs_append(codecs, &fake_vp9);
    sv_video_codecs_append(codecs, &fake_h264);
    sv_video_codecs_append(codecs, &fake_vp8);
    VideoEncoder *encoder = negotiate(codecs, CAPS_NO_VP9, NULL, &negotiation);
    g_assert_nonnull(encoder);
    encoder->destroy(encoder);

    g_autofree char *text = sv_negotiation_describe(negotiation);
    g_assert_cmpstr(text, ==,
                    "1. missing:h265: skipped (unavailable): " PROBE_MESSAGE "\n"
                    "2. fakegst:vp9: skipped (no-capability): "
                    "client lacks SPICE_DISPLAY_CAP_CODEC_VP9\n"
                    "3. fakegst:h264: chosen\n"
                    "4. fakegst:vp8: not tried\n"
                    "result: fakegst:h264\n");

    g_autoptr(SvVideoCodecs) empty = sv_video_codecs_new();
    g_autoptr(SvNegotiation) none = NULL;
    g_assert_null(negotiate(empty, CAPS_NO_MJPEG, NULL, &none));
    g_autofree char *none_text = sv_negotiation_describe(none);
    g_assert_cmpstr(none_text, ==,
                    "(empty codec list)\n"
                    "result: no encoder; the client gets stream frames as images\n");

    g_autoptr(SvNegotiation) fallback = NULL;
    encoder = negotiate(empty, CAPS_OLD, NULL, &fallback);
    g_assert_nonnull(encoder);
    encoder->destroy(encoder);
    g_autofree char *fallback_text = sv_negotiation_describe(fallback);
    g_assert_cmpstr(fallback_text, ==,
                    "(empty codec list)\n"
                    "result: spice:mjpeg, the built-in last resort\n");
}

static void test_verdict_names(void)
{
    g_assert_cmpstr(sv_negotiation_verdict_to_string(CHOSEN), ==, "chosen");
    g_assert_cmpstr(sv_negotiation_verdict_to_string(NOT_MJPEG), ==, "not-mjpeg");
    g_assert_cmpstr(sv_negotiation_verdict_to_string(NO_CAP), ==, "no-capability");
    g_assert_cmpstr(sv_negotiation_verdict_to_string(NOT_BUILT), ==, "not-built");
    g_assert_cmpstr(sv_negotiation_verdict_to_string(UNAVAILABLE), ==, "unavailable");
    g_assert_cmpstr(sv_negotiation_verdict_to_string(FACTORY_FAILED), ==, "factory-failed");
    g_assert_cmpstr(sv_negotiation_verdict_to_string(NOT_TRIED), ==, "not-tried");
}

static void test_no_negotiation_out(void)
{
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();

    sv_video_codecs_append(codecs, &fake_h264);
    VideoEncoder *encoder = negotiate(codecs, CAPS_ALL, NULL, NULL);
    g_assert_nonnull(encoder);
    encoder->destroy(encoder);
    g_assert_null(negotiate(codecs, CAPS_MULTI_ONLY, NULL, NULL));
    sv_negotiation_free(NULL);
}

static void test_is_available(void)
{
    g_autoptr(GError) error = NULL;
    static const SvEncoderDesc silent = {FAKE("silent", "h265", H265, H265), .create = fake_new,
                                         .probe = fake_probe_fails_silently};

    g_assert_true(sv_encoder_desc_is_available(&fake_h264, &error));
    g_assert_no_error(error);
    g_assert_true(sv_encoder_desc_is_available(&fake_vp9, &error));
    g_assert_no_error(error);

    g_assert_false(sv_encoder_desc_is_available(&unbuilt_h264, &error));
    g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_NOT_BUILT);
    g_clear_error(&error);

    g_assert_false(sv_encoder_desc_is_available(&missing_h265, &error));
    g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE);
    g_assert_cmpstr(error->message, ==, PROBE_MESSAGE);
    g_clear_error(&error);

    g_assert_false(sv_encoder_desc_is_available(&silent, &error));
    g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE);
    g_clear_error(&error);

    g_assert_false(sv_encoder_desc_is_available(&missing_h265, NULL));
}

/* ---- client preferences (reference 2.7) ------------------------------------------ */

static void check_sort(const SvEncoderDesc *const *server_entries, const uint8_t *client,
                       guint num_codecs, const char *expected)
{
    guint n;
    g_autoptr(SvVideoCodecs) server = list_of(server_entries, &n);
    g_autofree char *server_before = sv_video_codecs_to_string(server);
    g_autoptr(GError) error = NULL;

    g_autoptr(SvVideoCodecs) sorted =
        sv_video_codecs_sort_for_client(server, client, num_codecs, &error);
    g_assert_no_error(error);
    g_assert_nonnull(sorted);

    g_autofree char *result = sv_video_codecs_to_string(sorted);
    g_assert_cmpstr(result, ==, expected);
    g_autofree char *server_after = sv_video_codecs_to_string(server);
    g_assert_cmpstr(server_after, ==, server_before);
}

static void test_sort_reference_example(void)
{
    /* server gstreamer:mjpeg;gstreamer:vp8;gstreamer:h264, client h264, vp9,
     * mjpeg → h264;mjpeg;vp8 (the fakes stand in for the GStreamer entries). */
    const SvEncoderDesc *server[MAX_ENTRIES] = {&fake_mjpeg, &fake_vp8, &fake_h264};
    const uint8_t client[] = {SPICE_VIDEO_CODEC_TYPE_H264, SPICE_VIDEO_CODEC_TYPE_VP9,
                              SPICE_VIDEO_CODEC_TYPE_MJPEG};

    check_sort(server, client, G_N_ELEMENTS(client), "fakegst:h264;fakegst:mjpeg;fakegst:vp8");
}

static void test_sort_ignores_bad_values(void)
{
    const SvEncoderDesc *server[MAX_ENTRIES] = {&fake_mjpeg, &fake_vp8, &fake_h264, &fake_vp9};
    /* 0, ENUM_END and 255 are out of range; the second VP8 and MJPEG repeat. */
    const uint8_t client[] = {
        0,
        SPICE_VIDEO_CODEC_TYPE_ENUM_END,
        SPICE_VIDEO_CODEC_TYPE_VP8,
        255,
        SPICE_VIDEO_CODEC_TYPE_MJPEG,
        SPICE_VIDEO_CODEC_TYPE_VP8,
        SPICE_VIDEO_CODEC_TYPE_H264,
        SPICE_VIDEO_CODEC_TYPE_MJPEG,
    };

    check_sort(server, client, G_N_ELEMENTS(client),
               "fakegst:vp8;fakegst:mjpeg;fakegst:h264;fakegst:vp9");

    /* A repeat does not move a codec to its later position. */
    const uint8_t repeat[] = {SPICE_VIDEO_CODEC_TYPE_VP9, SPICE_VIDEO_CODEC_TYPE_H264,
                              SPICE_VIDEO_CODEC_TYPE_VP9};
    check_sort(server, repeat, G_N_ELEMENTS(repeat),
               "fakegst:vp9;fakegst:h264;fakegst:mjpeg;fakegst:vp8");

    /* Nothing valid: the server order, unchanged. */
    const uint8_t junk[] = {0, 7, 200};
    check_sort(server, junk, G_N_ELEMENTS(junk),
               "fakegst:mjpeg;fakegst:vp8;fakegst:h264;fakegst:vp9");
}

/* Equal ranks keep the server order: duplicates, same codec from several
 * encoders, and codecs the client did not list. */
static void test_sort_is_stable(void)
{
    const SvEncoderDesc *server[MAX_ENTRIES] = {&broken_mjpeg, &fake_h264, &unbuilt_h264,
                                                &fake_mjpeg,   &fake_vp8,  &fake_h265};
    const uint8_t client[] = {SPICE_VIDEO_CODEC_TYPE_MJPEG};

    check_sort(server, client, G_N_ELEMENTS(client),
               "broken:mjpeg;fakegst:mjpeg;fakegst:h264;unbuilt:h264;fakegst:vp8;fakegst:h265");

    const uint8_t h264_first[] = {SPICE_VIDEO_CODEC_TYPE_H264, SPICE_VIDEO_CODEC_TYPE_H265};
    check_sort(server, h264_first, G_N_ELEMENTS(h264_first),
               "fakegst:h264;unbuilt:h264;fakegst:h265;broken:mjpeg;fakegst:mjpeg;fakegst:vp8");

    const SvEncoderDesc *empty[MAX_ENTRIES] = {NULL};
    check_sort(empty, client, G_N_ELEMENTS(client), "");
}

static void test_sort_empty_preference(void)
{
    g_autoptr(SvVideoCodecs) server = sv_video_codecs_new_default();
    g_autoptr(GError) error = NULL;
    const uint8_t client[] = {SPICE_VIDEO_CODEC_TYPE_MJPEG};

    g_assert_null(sv_video_codecs_sort_for_client(server, client, 0, &error));
    g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_INVALID_PREFS);
    g_clear_error(&error);
    g_assert_null(sv_video_codecs_sort_for_client(server, NULL, 0, &error));
    g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_INVALID_PREFS);
}

/* The sorted list is what the negotiation then walks. */
static void test_sort_then_negotiate(void)
{
    const SvEncoderDesc *server_entries[MAX_ENTRIES] = {&fake_mjpeg, &fake_vp8, &fake_h264};
    const uint8_t client[] = {SPICE_VIDEO_CODEC_TYPE_H264, SPICE_VIDEO_CODEC_TYPE_VP9,
                              SPICE_VIDEO_CODEC_TYPE_MJPEG};
    guint n;
    g_autoptr(SvVideoCodecs) server = list_of(server_entries, &n);
    g_autoptr(SvVideoCodecs) sorted =
        sv_video_codecs_sort_for_client(server, client, G_N_ELEMENTS(client), NULL);
    g_autoptr(SvNegotiation) negotiation = NULL;

    VideoEncoder *encoder = negotiate(sorted, CAPS_ALL, NULL, &negotiation);
    g_assert_nonnull(encoder);
    g_assert_true(negotiation->chosen == &fake_h264);
    encoder->destroy(encoder);

    g_autoptr(SvNegotiation) server_negotiation = NULL;
    encoder = negotiate(server, CAPS_ALL, NULL, &server_negotiation);
    g_assert_nonnull(encoder);
    g_assert_true(server_negotiation->chosen == &fake_mjpeg);
    encoder->destroy(encoder);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    for (guint i = 0; i < G_N_ELEMENTS(negotiation_cases); i++) {
        g_autofree char *path = g_strdup_printf("/negotiation/case/%s", negotiation_cases[i].name);
        g_test_add_data_func(path, &negotiation_cases[i], test_negotiation_case);
    }
    g_test_add_func("/negotiation/matrix", test_negotiation_matrix);
    g_test_add_func("/negotiation/step-messages", test_step_messages);
    g_test_add_func("/negotiation/skip-logged", test_skip_logged);
    g_test_add_func("/negotiation/config", test_config);
    g_test_add_func("/negotiation/describe", test_describe);
    g_test_add_func("/negotiation/verdict-names", test_verdict_names);
    g_test_add_func("/negotiation/no-negotiation-out", test_no_negotiation_out);
    g_test_add_func("/negotiation/is-available", test_is_available);
    g_test_add_func("/sort-for-client/reference-example", test_sort_reference_example);
    g_test_add_func("/sort-for-client/ignores-bad-values", test_sort_ignores_bad_values);
    g_test_add_func("/sort-for-client/stable", test_sort_is_stable);
    g_test_add_func("/sort-for-client/empty-preference", test_sort_empty_preference);
    g_test_add_func("/sort-for-client/then-negotiate", test_sort_then_negotiate);

    return g_test_run();
}
