/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Fault injection (common/fault.h, docs/hardening.md): each point of the
 * encoders' set-up and encode paths, armed in turn, with the behaviour
 * expected of the real failure it stands for:
 *  - at creation: the factory returns NULL, negotiation takes the next
 *    entry and its text says which entry failed;
 *  - at a (re)start or in a frame's encode: that frame is UNSUPPORTED, the
 *    stream goes on; three errors since the last size change make every
 *    frame UNSUPPORTED until the size changes (reference 4.4, 4.10);
 *  - allocation failures around the codec: that frame is UNSUPPORTED, the
 *    next one encodes.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "factory-error.h"
#include "fault.h"
#include "frame-encoder.h"

#define CLIENT_CAPS                                                                  \
    (SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG) | \
     SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP8) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_H264) |    \
     SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP9))
#define BIT_RATE (2 * 1000 * 1000)
#define WIDTH 128
#define HEIGHT 96
#define MAX_ERRORS 3 /* reference 4.4 */

/* ---- frames ------------------------------------------------------------------ */

typedef struct {
    SpiceBitmap bitmap;
    SpiceRect src;
    uint8_t *pixels;
} Image;

/* A 32-bit top-down image with a gradient and, with @noise, detail no
 * JPEG quality compresses well. */
static Image *image_new(uint32_t width, uint32_t height, int t, gboolean noise)
{
    Image *image = g_new0(Image, 1);
    size_t bytes = (size_t)width * height * 4;
    guint32 seed = 2463534242u + (guint32)t;

    image->pixels = g_malloc(bytes);
    for (uint32_t y = 0; y < height; y++) {
        for (uint32_t x = 0; x < width; x++) {
            uint8_t *p = image->pixels + ((size_t)y * width + x) * 4;
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            p[0] = (uint8_t)(x * 2 + (uint32_t)t * 3 + (noise ? seed & 0xff : 0));
            p[1] = (uint8_t)(y * 2 + (noise ? (seed >> 8) & 0xff : 0));
            p[2] = (uint8_t)(x + y + (noise ? (seed >> 16) & 0xff : 0));
            p[3] = 0xff;
        }
    }
    SpiceChunks *chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    chunks->data_size = (uint32_t)bytes;
    chunks->num_chunks = 1;
    chunks->chunk[0].data = image->pixels;
    chunks->chunk[0].len = (uint32_t)bytes;
    image->bitmap = (SpiceBitmap){
        .format = SPICE_BITMAP_FMT_32BIT,
        .flags = SPICE_BITMAP_FLAGS_TOP_DOWN,
        .x = width,
        .y = height,
        .stride = width * 4,
        .data = chunks,
    };
    image->src = (SpiceRect){0, 0, (int32_t)width, (int32_t)height};
    return image;
}

static void image_free(Image *image)
{
    g_free(image->bitmap.data);
    g_free(image->pixels);
    g_free(image);
}

/* One frame; the output, if any, is checked and freed. */
static VideoEncodeResults encode(VideoEncoder *encoder, uint32_t mm_time, uint32_t width,
                                 uint32_t height)
{
    Image *image = image_new(width, height, (int)mm_time, FALSE);
    VideoBuffer *out = NULL;
    VideoEncodeResults result =
        encoder->encode_frame(encoder, mm_time, &image->bitmap, &image->src, TRUE, NULL, &out);

    if (result == VIDEO_ENCODER_FRAME_ENCODE_DONE) {
        g_assert_nonnull(out);
        g_assert_cmpuint(out->size, >, 0);
        out->free(out);
    } else {
        g_assert_null(out);
    }
    image_free(image);
    return result;
}

static uint32_t errors_of(VideoEncoder *encoder)
{
    SvFrameRateState state;

    g_assert_true(sv_frame_encoder_get_rate_state(encoder, &state));
    return state.errors;
}

/* ---- the encoders under test ---------------------------------------------------- */

typedef struct {
    const char *name;    /* encoder:codec */
    const char *element; /* GStreamer element it needs, or NULL */
    gboolean built;      /* compiled in */
} Target;

static const SvEncoderDesc *desc_of(const char *name)
{
    g_auto(GStrv) parts = g_strsplit(name, ":", 2);
    return sv_registry_find(parts[0], parts[1]);
}

/* NULL if @name can run here, else why not (for g_test_skip). */
static const char *unavailable(const char *name)
{
    static char reason[256];
    const SvEncoderDesc *desc = desc_of(name);
    g_autoptr(GError) error = NULL;

    g_assert_nonnull(desc);
    if (!sv_encoder_desc_is_available(desc, &error)) {
        g_snprintf(reason, sizeof(reason), "%s: %s", name, error->message);
        return reason;
    }
    return NULL;
}

static VideoEncoder *create(const char *name)
{
    const SvEncoderDesc *desc = desc_of(name);
    /* Encode every frame at one rate: no DROP gets in the way of counting. */
    SvEncoderConfig config = {.no_rate_control = TRUE, .max_threads = 1};

    g_assert_nonnull(desc);
    g_assert_nonnull(desc->create_full);
    return desc->create_full(desc->codec_type, BIT_RATE, NULL, NULL, NULL, &config);
}

/* The point of a SPEC ("vpx.init@1" -> "vpx.init"), in a static buffer. */
static const char *point_of(const char *spec)
{
    static char name[64];
    g_strlcpy(name, spec, MIN(sizeof(name), strcspn(spec, "@") + 1));
    return name;
}

static void setup(void)
{
    sv_fault_reset();
    sv_factory_error_clear();
}

/* ---- the facility itself --------------------------------------------------------- */

static void test_spec(void)
{
    g_autoptr(GError) error = NULL;

    setup();
    g_assert_false(sv_fault_hit("x264.open"));
    g_assert_cmpuint(sv_fault_fired("x264.open"), ==, 0);

    /* NAME: every hit. */
    g_assert_true(sv_fault_arm_spec("x264.open", &error));
    g_assert_no_error(error);
    for (int i = 0; i < 4; i++) {
        g_assert_true(sv_fault_hit("x264.open"));
    }
    g_assert_cmpuint(sv_fault_fired("x264.open"), ==, 4);
    g_assert_false(sv_fault_hit("vpx.init")); /* others untouched */

    /* NAME@N: only the Nth; NAME@NxC: C from the Nth; NAME@N+: the Nth on. */
    g_assert_true(sv_fault_arm_spec("vpx.init@2,gst.playing@2x2,gst.encode@3+", &error));
    gboolean expect_init[] = {FALSE, TRUE, FALSE, FALSE, FALSE};
    gboolean expect_playing[] = {FALSE, TRUE, TRUE, FALSE, FALSE};
    gboolean expect_encode[] = {FALSE, FALSE, TRUE, TRUE, TRUE};
    for (guint i = 0; i < G_N_ELEMENTS(expect_init); i++) {
        g_assert_cmpint(sv_fault_hit("vpx.init"), ==, expect_init[i]);
        g_assert_cmpint(sv_fault_hit("gst.playing"), ==, expect_playing[i]);
        g_assert_cmpint(sv_fault_hit("gst.encode"), ==, expect_encode[i]);
    }
    g_assert_cmpuint(sv_fault_fired("gst.playing"), ==, 2);

    /* Re-arming restarts the count; programmatic arming is the same. */
    sv_fault_arm("vpx.init", 1, 1);
    g_assert_true(sv_fault_hit("vpx.init"));
    g_assert_false(sv_fault_hit("vpx.init"));

    /* Bad specs: an error naming the spec; nothing after it is armed. */
    static const struct {
        const char *spec;
        const char *message;
    } bad[] = {
        {"x264.opne", "unknown fault point 'x264.opne'"},
        {"x264.open@0", "bad fault spec 'x264.open@0'"},
        {"x264.open@", "bad fault spec 'x264.open@'"},
        {"x264.open@2x", "bad fault spec 'x264.open@2x'"},
        {"x264.open@2x0", "bad fault spec 'x264.open@2x0'"},
        {"x264.open@1-3", "bad fault spec 'x264.open@1-3'"},
        {"vpx.encode,nothing,gst.element", "unknown fault point 'nothing'"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        sv_fault_reset();
        g_assert_false(sv_fault_arm_spec(bad[i].spec, &error));
        g_assert_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
        g_assert_true(g_str_has_prefix(error->message, bad[i].message));
        g_clear_error(&error);
    }
    g_assert_true(sv_fault_hit("vpx.encode")); /* before the bad one */
    g_assert_false(sv_fault_hit("gst.element"));

    /* Empty entries are fine; reset disarms everything. */
    g_assert_true(sv_fault_arm_spec(",x264.encode,,", &error));
    sv_fault_reset();
    g_assert_false(sv_fault_hit("x264.encode"));
    g_assert_false(sv_fault_hit("vpx.encode"));

    /* Every point the code names is in the list (spot check both ends). */
    g_assert_cmpstr(sv_fault_points[0], ==, "mjpeg.create");
    guint n = g_strv_length((char **)sv_fault_points);
    g_assert_cmpuint(n, ==, 15);
}

/* Several threads hitting one point: every hit counted once. */
static gpointer hit_many(gpointer data)
{
    guint fired = 0;
    for (int i = 0; i < 1000; i++) {
        fired += sv_fault_hit("frame.output") ? 1 : 0;
    }
    return GUINT_TO_POINTER(fired);
}

static void test_threads(void)
{
    GThread *threads[4];
    guint fired = 0;

    setup();
    sv_fault_arm("frame.output", 1001, 2000);
    for (guint i = 0; i < G_N_ELEMENTS(threads); i++) {
        threads[i] = g_thread_new("hit", hit_many, NULL);
    }
    for (guint i = 0; i < G_N_ELEMENTS(threads); i++) {
        fired += GPOINTER_TO_UINT(g_thread_join(threads[i]));
    }
    g_assert_cmpuint(fired, ==, 2000);
    g_assert_cmpuint(sv_fault_fired("frame.output"), ==, 2000);
    sv_fault_reset();
}

/* ---- creation: the factory fails, negotiation moves on ----------------------------- */

typedef struct {
    const char *point;  /* armed for every hit, or as SPEC when it has an '@' */
    const char *list;   /* video-codecs string */
    const char *failed; /* the entry that must fail */
    const char *chosen; /* the entry chosen instead; "spice:mjpeg" = last resort */
    const char *reason; /* in the factory's reason */
} FactoryCase;

static const FactoryCase factory_cases[] = {
    {"x264.open", "x264:h264;vpx:vp8", "x264:h264", "vpx:vp8", "x264_encoder_open failed"},
    {"x264.open", "x264:h264", "x264:h264", "spice:mjpeg", "x264_encoder_open failed"},
    {"vpx.init@1", "vpx:vp9;vpx:vp8", "vpx:vp9", "vpx:vp8", "vpx_codec_enc_init failed"},
    {"vpx.init", "vpx:vp8;x264:h264", "vpx:vp8", "x264:h264", "vpx_codec_enc_init failed"},
    {"gst.element", "gstreamer:vp8;x264:h264", "gstreamer:vp8", "x264:h264",
     "vp8enc is installed but cannot be created"},
    {"gst.element", "gstreamer:h264;vpx:vp8", "gstreamer:h264", "vpx:vp8",
     "x264enc is installed but cannot be created"},
};

static void test_factory(gconstpointer data)
{
    const FactoryCase *c = data;
    const char *why = unavailable(c->failed);

    if (why == NULL && strcmp(c->chosen, "spice:mjpeg") != 0) {
        why = unavailable(c->chosen);
    }
    if (why != NULL) {
        g_test_skip(why);
        return;
    }
    setup();

    /* The factory on its own: NULL, and the reason left for the caller. */
    g_assert_true(sv_fault_arm_spec(c->point, NULL));
    g_assert_null(create(c->failed));
    g_autofree char *reason = sv_factory_error_take();
    g_assert_nonnull(reason);
    g_assert_nonnull(strstr(reason, c->reason));

    /* Negotiation: the failed entry is skipped as factory-failed, the next
     * one chosen, and the text says so. */
    sv_fault_reset();
    g_assert_true(sv_fault_arm_spec(c->point, NULL));
    SvVideoCodecs *codecs = sv_video_codecs_new();
    g_assert_cmpint(sv_video_codecs_parse(codecs, c->list, NULL, NULL), ==, 0);
    SvNegotiation *negotiation = NULL;
    SvEncoderConfig config = {.no_rate_control = TRUE, .max_threads = 1};
    VideoEncoder *encoder = sv_video_codecs_create_encoder(codecs, CLIENT_CAPS, BIT_RATE, NULL,
                                                           NULL, NULL, &config, &negotiation);
    g_assert_nonnull(encoder);
    g_assert_nonnull(negotiation);
    g_assert_cmpuint(sv_fault_fired(point_of(c->point)), >=, 1);
    const SvNegotiationStep *step = &negotiation->steps[0];
    g_autofree char *first =
        g_strdup_printf("%s:%s", step->desc->encoder_name, step->desc->codec_name);
    g_assert_cmpstr(first, ==, c->failed);
    g_assert_cmpint(step->verdict, ==, SV_NEGOTIATION_SKIP_FACTORY_FAILED);
    g_autofree char *chosen = g_strdup_printf("%s:%s", negotiation->chosen->encoder_name,
                                              negotiation->chosen->codec_name);
    g_assert_cmpstr(chosen, ==, c->chosen);
    g_assert_cmpint(negotiation->fallback, ==, strcmp(c->chosen, "spice:mjpeg") == 0);

    g_autofree char *text = sv_negotiation_describe(negotiation);
    g_autofree char *skipped = g_strdup_printf("1. %s: skipped (factory-failed): ", c->failed);
    g_assert_nonnull(strstr(text, skipped));
    g_autofree char *result =
        g_strdup_printf("result: %s%s\n", c->chosen,
                        negotiation->fallback ? ", the built-in last resort" : "");
    g_assert_nonnull(strstr(text, result));

    /* The encoder chosen instead works. */
    sv_fault_reset();
    g_assert_cmpint(encode(encoder, 1000, WIDTH, HEIGHT), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    encoder->destroy(encoder);
    sv_negotiation_free(negotiation);
    sv_video_codecs_free(codecs);
}

/* The last resort itself failing: no encoder, frames go as images, and a
 * warning (the one unexpected case). */
static void test_factory_mjpeg(void)
{
    setup();
    sv_fault_arm("mjpeg.create", 1, 0);
    g_assert_null(sv_mjpeg_encoder_new(SPICE_VIDEO_CODEC_TYPE_MJPEG, BIT_RATE, NULL, NULL, NULL));
    g_autofree char *reason = sv_factory_error_take();
    g_assert_cmpstr(reason, ==, "mjpeg: libjpeg cannot create a compressor");

    SvVideoCodecs *codecs = sv_video_codecs_new();
    g_assert_cmpint(sv_video_codecs_parse(codecs, "spice:mjpeg", NULL, NULL), ==, 0);
    SvNegotiation *negotiation = NULL;
    g_test_expect_message("sv-encoders", G_LOG_LEVEL_WARNING,
                          "the built-in spice:mjpeg encoder could not be created*");
    VideoEncoder *encoder = sv_video_codecs_create_encoder(codecs, CLIENT_CAPS, BIT_RATE, NULL,
                                                           NULL, NULL, NULL, &negotiation);
    g_test_assert_expected_messages();
    g_assert_null(encoder);
    g_assert_null(negotiation->chosen);
    g_assert_cmpint(negotiation->steps[0].verdict, ==, SV_NEGOTIATION_SKIP_FACTORY_FAILED);
    g_autofree char *text = sv_negotiation_describe(negotiation);
    g_assert_nonnull(strstr(text, "result: no encoder; the client gets stream frames as images"));
    sv_negotiation_free(negotiation);
    sv_video_codecs_free(codecs);

    /* Disarmed, the same factory works again. */
    sv_fault_reset();
    encoder = sv_mjpeg_encoder_new(SPICE_VIDEO_CODEC_TYPE_MJPEG, BIT_RATE, NULL, NULL, NULL);
    g_assert_nonnull(encoder);
    encoder->destroy(encoder);
}

/* ---- (re)start: that frame is UNSUPPORTED, the next start recovers -------------------- */

typedef struct {
    const char *encoder; /* encoder:codec */
    const char *spec;    /* armed after the factory */
    uint32_t width, height;
} StartCase;

static const StartCase start_cases[] = {
    {"x264:h264", "x264.open@1", WIDTH, HEIGHT},
    {"x264:h264", "x264.picture@1", WIDTH - 1, HEIGHT - 1}, /* odd: padded picture */
    {"vpx:vp8", "vpx.init@1", WIDTH, HEIGHT},
    {"vpx:vp9", "vpx.init@1", WIDTH, HEIGHT},
    {"gstreamer:vp8", "gst.playing@1", WIDTH, HEIGHT},
    {"gstreamer:vp8", "gst.element@2", WIDTH, HEIGHT}, /* the encoder element */
    {"gstreamer:h264", "gst.playing@1", WIDTH, HEIGHT},
};

static void test_start(gconstpointer data)
{
    const StartCase *c = data;
    const char *why = unavailable(c->encoder);

    if (why != NULL) {
        g_test_skip(why);
        return;
    }
    setup();
    VideoEncoder *encoder = create(c->encoder);
    g_assert_nonnull(encoder);
    g_assert_true(sv_fault_arm_spec(c->spec, NULL));

    /* The first frame's start fails: UNSUPPORTED, one error. */
    g_assert_cmpint(encode(encoder, 1000, c->width, c->height), ==,
                    VIDEO_ENCODER_FRAME_UNSUPPORTED);
    g_assert_cmpuint(errors_of(encoder), ==, 1);
    g_assert_cmpuint(sv_fault_fired(point_of(c->spec)), ==, 1);

    /* The next frame starts again and encodes; the stream goes on. */
    for (uint32_t i = 1; i <= 3; i++) {
        g_assert_cmpint(encode(encoder, 1000 + i * 33, c->width, c->height), ==,
                        VIDEO_ENCODER_FRAME_ENCODE_DONE);
    }
    g_assert_cmpuint(errors_of(encoder), ==, 1);
    SvFrameRateState state;
    g_assert_true(sv_frame_encoder_get_rate_state(encoder, &state));
    g_assert_cmpuint(state.backend_starts, ==, 1);
    encoder->destroy(encoder);
    sv_fault_reset();
}

/* ---- mid-stream: three errors, then UNSUPPORTED until the size changes ----------------- */

typedef struct {
    const char *encoder;
    const char *point;
} MidCase;

static const MidCase mid_cases[] = {
    {"x264:h264", "x264.encode"},     {"vpx:vp8", "vpx.encode"},
    {"vpx:vp9", "vpx.encode"},        {"vpx:vp8", "vpx.image"},
    {"x264:h264", "frame.output"},    {"gstreamer:vp8", "gst.encode"},
    {"gstreamer:h264", "gst.encode"},
};

static void test_midstream(gconstpointer data)
{
    const MidCase *c = data;
    const char *why = unavailable(c->encoder);
    uint32_t t = 1000;

    if (why != NULL) {
        g_test_skip(why);
        return;
    }
    setup();
    VideoEncoder *encoder = create(c->encoder);
    g_assert_nonnull(encoder);
    for (int i = 0; i < 3; i++, t += 33) {
        g_assert_cmpint(encode(encoder, t, WIDTH, HEIGHT), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    }

    /* Every encode fails from now on: each failing frame is UNSUPPORTED and
     * counts; the backend is restarted for the next one. */
    sv_fault_arm(c->point, 1, 0);
    for (uint32_t n = 1; n <= MAX_ERRORS; n++, t += 33) {
        g_assert_cmpint(encode(encoder, t, WIDTH, HEIGHT), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
        g_assert_cmpuint(errors_of(encoder), ==, n);
        g_assert_cmpuint(sv_fault_fired(c->point), ==, n);
    }
    /* The third gives up on this size: UNSUPPORTED without trying, even
     * once the codec works again. */
    for (int i = 0; i < 3; i++, t += 33) {
        g_assert_cmpint(encode(encoder, t, WIDTH, HEIGHT), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    }
    g_assert_cmpuint(sv_fault_fired(c->point), ==, MAX_ERRORS);
    sv_fault_reset();
    for (int i = 0; i < 3; i++, t += 33) {
        g_assert_cmpint(encode(encoder, t, WIDTH, HEIGHT), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    }

    /* A new size clears the count: encoding resumes. */
    for (int i = 0; i < 3; i++, t += 33) {
        g_assert_cmpint(encode(encoder, t, WIDTH + 16, HEIGHT), ==,
                        VIDEO_ENCODER_FRAME_ENCODE_DONE);
        g_assert_cmpuint(errors_of(encoder), ==, 0);
    }
    encoder->destroy(encoder);
}

/* spice counts errors since the last size change, not in a row: successes
 * in between do not reset the count (reference 4.4's pseudocode). */
static void test_errors_not_consecutive(void)
{
    const char *name = "x264:h264";
    const char *why = unavailable(name);
    uint32_t t = 1000;

    if (why != NULL) {
        g_test_skip(why);
        return;
    }
    setup();
    VideoEncoder *encoder = create(name);
    g_assert_nonnull(encoder);
    for (uint32_t n = 1; n <= MAX_ERRORS; n++) {
        g_assert_cmpint(encode(encoder, t, WIDTH, HEIGHT), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
        t += 33;
        sv_fault_arm("x264.encode", 1, 1);
        g_assert_cmpint(encode(encoder, t, WIDTH, HEIGHT), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
        t += 33;
        g_assert_cmpuint(errors_of(encoder), ==, n);
    }
    sv_fault_reset();
    g_assert_cmpint(encode(encoder, t, WIDTH, HEIGHT), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    g_assert_cmpint(encode(encoder, t + 33, WIDTH, HEIGHT - 2), ==,
                    VIDEO_ENCODER_FRAME_ENCODE_DONE);
    encoder->destroy(encoder);
}

/* A start failing every time also counts: three frames, then images until
 * the size changes (GStreamer failing to reach PLAYING for good). */
static void test_playing_for_good(void)
{
    const char *name = "gstreamer:vp8";
    const char *why = unavailable(name);
    uint32_t t = 1000;

    if (why != NULL) {
        g_test_skip(why);
        return;
    }
    setup();
    VideoEncoder *encoder = create(name);
    g_assert_nonnull(encoder);
    sv_fault_arm("gst.playing", 1, 0);
    for (uint32_t n = 1; n <= MAX_ERRORS + 2; n++, t += 33) {
        g_assert_cmpint(encode(encoder, t, WIDTH, HEIGHT), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
        g_assert_cmpuint(errors_of(encoder), ==, MIN(n, MAX_ERRORS + 1));
    }
    g_assert_cmpuint(sv_fault_fired("gst.playing"), ==, MAX_ERRORS);
    sv_fault_reset();
    g_assert_cmpint(encode(encoder, t, WIDTH, HEIGHT + 2), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    encoder->destroy(encoder);
}

/* ---- allocations around the codec: that frame only ------------------------------------ */

/* The conversion buffers of the frame encoder: UNSUPPORTED without an
 * error (spice's push failure), the next frame encodes. */
static void test_convert(void)
{
    const char *name = "vpx:vp8";
    const char *why = unavailable(name);

    if (why != NULL) {
        g_test_skip(why);
        return;
    }
    setup();
    VideoEncoder *encoder = create(name);
    g_assert_nonnull(encoder);
    sv_fault_arm("frame.convert", 1, 1);
    g_assert_cmpint(encode(encoder, 1000, WIDTH, HEIGHT), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    g_assert_cmpuint(sv_fault_fired("frame.convert"), ==, 1);
    g_assert_cmpuint(errors_of(encoder), ==, 0);
    g_assert_cmpint(encode(encoder, 1033, WIDTH, HEIGHT), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    encoder->destroy(encoder);
    sv_fault_reset();
}

static void test_mjpeg_alloc(gconstpointer data)
{
    const char *point = data;
    SvEncoderConfig config = {.fixed_quality = 100};

    setup();
    VideoEncoder *encoder = sv_mjpeg_encoder_new_full(SPICE_VIDEO_CODEC_TYPE_MJPEG, BIT_RATE, NULL,
                                                      NULL, NULL, &config);
    g_assert_nonnull(encoder);
    /* Noise at quality 100: larger than the first output buffer, so that
     * libjpeg asks for more (mjpeg.grow). */
    Image *image = image_new(320, 240, 0, TRUE);
    VideoBuffer *out = NULL;

    sv_fault_arm(point, 1, 1);
    g_assert_cmpint(encoder->encode_frame(encoder, 1000, &image->bitmap, &image->src, TRUE, NULL,
                                          &out),
                    ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    g_assert_null(out);
    g_assert_cmpuint(sv_fault_fired(point), ==, 1);
    for (int i = 0; i < 2; i++) {
        g_assert_cmpint(encoder->encode_frame(encoder, 1100 + i * 100, &image->bitmap, &image->src,
                                              TRUE, NULL, &out),
                        ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
        g_assert_nonnull(out);
        g_assert_cmpuint(out->size, >, 32 * 1024);
        g_assert_cmpuint(out->data[0], ==, 0xff); /* SOI */
        g_assert_cmpuint(out->data[1], ==, 0xd8);
        out->free(out);
        out = NULL;
    }
    image_free(image);
    encoder->destroy(encoder);
    sv_fault_reset();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/faults/spec", test_spec);
    g_test_add_func("/faults/threads", test_threads);
    for (guint i = 0; i < G_N_ELEMENTS(factory_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/faults/factory/%s/%s", factory_cases[i].point, factory_cases[i].list);
        g_test_add_data_func(path, &factory_cases[i], test_factory);
    }
    g_test_add_func("/faults/factory/mjpeg.create", test_factory_mjpeg);
    for (guint i = 0; i < G_N_ELEMENTS(start_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/faults/start/%s/%s", start_cases[i].spec, start_cases[i].encoder);
        g_test_add_data_func(path, &start_cases[i], test_start);
    }
    for (guint i = 0; i < G_N_ELEMENTS(mid_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/faults/midstream/%s/%s", mid_cases[i].point, mid_cases[i].encoder);
        g_test_add_data_func(path, &mid_cases[i], test_midstream);
    }
    g_test_add_func("/faults/midstream/not-consecutive", test_errors_not_consecutive);
    g_test_add_func("/faults/start/gst.playing-for-good", test_playing_for_good);
    g_test_add_func("/faults/alloc/frame.convert", test_convert);
    static const char *const mjpeg_points[] = {"mjpeg.buffer", "mjpeg.lines", "mjpeg.grow"};
    for (guint i = 0; i < G_N_ELEMENTS(mjpeg_points); i++) {
        g_autofree char *path = g_strdup_printf("/faults/alloc/%s", mjpeg_points[i]);
        g_test_add_data_func(path, mjpeg_points[i], test_mjpeg_alloc);
    }
    return g_test_run();
}
