/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Choosing an encoder for a client (reference 2.7, 2.8) with the real
 * encoders of this build: the default list with the gstreamer:* entries, a
 * client that lacks a codec, and an encoder whose GStreamer element is not
 * installed. The chosen encoder must also encode a frame.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#if SV_HAVE_GST_ENCODERS
#include <gst/gst.h>
#endif

#include <spice-video/registry.h>

#include "streaming-checks.h"

#if SV_HAVE_GST_ENCODERS

#define WIDTH 64
#define HEIGHT 48
#define STARTING_BIT_RATE (4u * 1000u * 1000u)

/* Every capability a current spice-gtk with all GStreamer decoders has. */
#define ALL_CAPS                                                                     \
    (SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG) | \
     SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP8) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_H264) |    \
     SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP9) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_H265))

static const SvEncoderConfig config = {
    .no_rate_control = TRUE,
    .encode_timeout_ns = 20 * G_GINT64_CONSTANT(1000000000),
};

/* @return FALSE after g_test_skip() if @encoder:@codec cannot be used here. */
static gboolean require(const char *encoder, const char *codec)
{
    const SvEncoderDesc *desc = sv_registry_find(encoder, codec);
    g_autoptr(GError) error = NULL;

    g_assert_nonnull(desc);
    if (!sv_encoder_desc_is_available(desc, &error)) {
        g_autofree char *reason = g_strdup_printf("%s:%s: %s", encoder, codec, error->message);
        g_test_skip(reason);
        return FALSE;
    }
    return TRUE;
}

/* Encodes one frame with @encoder: the chosen encoder must really work. */
static void encode_one_frame(VideoEncoder *encoder)
{
    guint32 stride = WIDTH * 4;
    g_autofree guint8 *pixels = g_malloc(stride * HEIGHT);
    SpiceChunks *chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    SpiceBitmap bitmap = {
        .format = SPICE_BITMAP_FMT_32BIT,
        .flags = SPICE_BITMAP_FLAGS_TOP_DOWN,
        .x = WIDTH,
        .y = HEIGHT,
        .stride = stride,
        .data = chunks,
    };
    SpiceRect src = {0, 0, WIDTH, HEIGHT};
    VideoBuffer *buf = NULL;

    for (guint i = 0; i < stride * HEIGHT; i++) {
        pixels[i] = (guint8)(i * 7 / 5);
    }
    chunks->num_chunks = 1;
    chunks->data_size = stride * HEIGHT;
    chunks->chunk[0].data = pixels;
    chunks->chunk[0].len = stride * HEIGHT;

    g_assert_cmpint(encoder->encode_frame(encoder, 1000, &bitmap, &src, TRUE, NULL, &buf), ==,
                    VIDEO_ENCODER_FRAME_ENCODE_DONE);
    g_assert_nonnull(buf);
    switch (encoder->codec_type) {
    case SPICE_VIDEO_CODEC_TYPE_H264:
        g_assert_true(annexb_is_idr(buf->data, buf->size, FALSE));
        break;
    case SPICE_VIDEO_CODEC_TYPE_VP8:
        g_assert_true(vp8_is_key_frame(buf->data, buf->size));
        break;
    case SPICE_VIDEO_CODEC_TYPE_MJPEG:
        g_assert_true(jpeg_has_soi(buf->data, buf->size));
        break;
    default:
        break;
    }
    buf->free(buf);
    g_free(chunks);
}

static const SvNegotiationStep *step_of(const SvNegotiation *negotiation, const char *encoder,
                                        const char *codec)
{
    for (guint i = 0; i < negotiation->n_steps; i++) {
        const SvEncoderDesc *desc = negotiation->steps[i].desc;
        if (strcmp(desc->encoder_name, encoder) == 0 && strcmp(desc->codec_name, codec) == 0) {
            return &negotiation->steps[i];
        }
    }
    g_assert_not_reached();
}

/* The default list has spice-server 0.15's gstreamer entries. */
static void test_default_list(void)
{
    g_autoptr(SvVideoCodecs) defaults = sv_video_codecs_new_default();
    g_autofree char *string = sv_video_codecs_to_string(defaults);

    g_assert_cmpstr(string, ==,
                    "spice:mjpeg;gstreamer:mjpeg;gstreamer:h264;gstreamer:vp8;gstreamer:vp9");
}

/* A client that prefers H.264 gets gstreamer:h264; without CODEC_H264 it
 * gets the next codec of its preference (VP8), not MJPEG. */
static void test_client_lacks_h264(void)
{
    if (!require("gstreamer", "h264") || !require("gstreamer", "vp8")) {
        return;
    }
    static const uint8_t prefs[] = {SPICE_VIDEO_CODEC_TYPE_H264, SPICE_VIDEO_CODEC_TYPE_VP8,
                                    SPICE_VIDEO_CODEC_TYPE_MJPEG};
    g_autoptr(SvVideoCodecs) defaults = sv_video_codecs_new_default();
    g_autoptr(SvVideoCodecs) sorted =
        sv_video_codecs_sort_for_client(defaults, prefs, G_N_ELEMENTS(prefs), NULL);
    g_autoptr(SvNegotiation) negotiation = NULL;

    VideoEncoder *encoder = sv_video_codecs_create_encoder(sorted, ALL_CAPS, STARTING_BIT_RATE,
                                                           NULL, NULL, NULL, &config, &negotiation);
    g_assert_nonnull(encoder);
    g_assert_cmpint(encoder->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_H264);
    g_assert_true(negotiation->chosen == sv_registry_find("gstreamer", "h264"));
    encode_one_frame(encoder);
    encoder->destroy(encoder);
    g_clear_pointer(&negotiation, sv_negotiation_free);

    uint32_t caps = ALL_CAPS & ~SV_CAP(SPICE_DISPLAY_CAP_CODEC_H264);
    encoder = sv_video_codecs_create_encoder(sorted, caps, STARTING_BIT_RATE, NULL, NULL, NULL,
                                             &config, &negotiation);
    g_assert_nonnull(encoder);
    g_assert_cmpint(encoder->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_VP8);
    g_assert_true(negotiation->chosen == sv_registry_find("gstreamer", "vp8"));
    g_assert_false(negotiation->fallback);
    const SvNegotiationStep *h264 = step_of(negotiation, "gstreamer", "h264");
    g_assert_cmpint(h264->verdict, ==, SV_NEGOTIATION_SKIP_NO_CAPABILITY);
    g_assert_cmpstr(h264->message, ==, "client lacks SPICE_DISPLAY_CAP_CODEC_H264");
    encode_one_frame(encoder);
    encoder->destroy(encoder);
}

/* An old client (no MULTI_CODEC) gets the first MJPEG entry. */
static void test_old_client(void)
{
    if (!require("gstreamer", "mjpeg")) {
        return;
    }
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_assert_cmpint(sv_video_codecs_parse(codecs, "gstreamer:h264;gstreamer:mjpeg", NULL, NULL), ==,
                    0);
    g_autoptr(SvNegotiation) negotiation = NULL;
    VideoEncoder *encoder = sv_video_codecs_create_encoder(codecs, 0, STARTING_BIT_RATE, NULL, NULL,
                                                           NULL, &config, &negotiation);
    g_assert_nonnull(encoder);
    g_assert_true(negotiation->chosen == sv_registry_find("gstreamer", "mjpeg"));
    g_assert_cmpint(negotiation->steps[0].verdict, ==, SV_NEGOTIATION_SKIP_NOT_MJPEG);
    encode_one_frame(encoder);
    encoder->destroy(encoder);
}

/* The entry after gstreamer:h264 in the lists below, as this build has it. */
static const SvEncoderDesc *expected_next(void)
{
    const SvEncoderDesc *x264 = sv_registry_find("x264", "h264");
    return sv_encoder_desc_is_available(x264, NULL) ? x264 : sv_registry_find("gstreamer", "mjpeg");
}

static void check_unavailable_h264(const SvVideoCodecs *codecs)
{
    g_autoptr(SvNegotiation) negotiation = NULL;
    VideoEncoder *encoder = sv_video_codecs_create_encoder(codecs, ALL_CAPS, STARTING_BIT_RATE,
                                                           NULL, NULL, NULL, &config, &negotiation);

    g_assert_nonnull(encoder);
    const SvNegotiationStep *step = &negotiation->steps[0];
    g_assert_cmpstr(step->desc->encoder_name, ==, "gstreamer");
    g_assert_cmpstr(step->desc->codec_name, ==, "h264");
    g_assert_cmpint(step->verdict, ==, SV_NEGOTIATION_SKIP_UNAVAILABLE);
    g_assert_cmpstr(step->message, ==, "x264enc not installed");
    g_assert_true(negotiation->chosen == expected_next());
    g_assert_false(negotiation->fallback);
    encode_one_frame(encoder);
    encoder->destroy(encoder);
}

/* gstreamer:h264 with its real probe, once x264enc is gone from GStreamer's
 * registry (in a subprocess: the removal is process-wide). */
static void test_x264enc_missing(void)
{
    if (!require("gstreamer", "h264") || !require("gstreamer", "mjpeg")) {
        return;
    }
    if (!g_test_subprocess()) {
        g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
        g_test_trap_assert_passed();
        return;
    }
    GstRegistry *registry = gst_registry_get();
    GstPluginFeature *feature = gst_registry_lookup_feature(registry, "x264enc");
    g_assert_nonnull(feature);
    gst_registry_remove_feature(registry, feature);
    gst_object_unref(feature);

    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_assert_cmpint(sv_video_codecs_parse(codecs, "gstreamer:h264;x264:h264;gstreamer:mjpeg", NULL,
                                          NULL),
                    >=, 0);
    if (sv_video_codecs_get_length(codecs) == 2) {
        /* x264:h264 not built: the list is gstreamer:h264;gstreamer:mjpeg. */
        g_assert_true(sv_video_codecs_get(codecs, 1) == sv_registry_find("gstreamer", "mjpeg"));
    }
    check_unavailable_h264(codecs);
}

static gboolean fake_probe_x264enc_missing(const SvEncoderDesc *desc, GError **error)
{
    g_set_error_literal(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                        "x264enc not installed");
    return FALSE;
}

/* The same with a copy of the descriptor whose probe fails, in-process. */
static void test_fake_probe(void)
{
    if (!require("gstreamer", "mjpeg")) {
        return;
    }
    static SvEncoderDesc hidden;
    hidden = *sv_registry_find("gstreamer", "h264");
    hidden.probe = fake_probe_x264enc_missing;

    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    sv_video_codecs_append(codecs, &hidden);
    const SvEncoderDesc *x264 = sv_registry_find("x264", "h264");
    if (sv_encoder_desc_is_available(x264, NULL)) {
        sv_video_codecs_append(codecs, x264);
    }
    sv_video_codecs_append(codecs, sv_registry_find("gstreamer", "mjpeg"));
    check_unavailable_h264(codecs);
}

#else

static void test_not_built(void)
{
    g_test_skip("built without the GStreamer encoders");
}

#endif /* SV_HAVE_GST_ENCODERS */

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

#if SV_HAVE_GST_ENCODERS
    gst_init(&argc, &argv);
    g_test_add_func("/negotiation-real/default-list", test_default_list);
    g_test_add_func("/negotiation-real/client-lacks-h264", test_client_lacks_h264);
    g_test_add_func("/negotiation-real/old-client", test_old_client);
    g_test_add_func("/negotiation-real/x264enc-missing", test_x264enc_missing);
    g_test_add_func("/negotiation-real/fake-probe", test_fake_probe);
#else
    g_test_add_func("/negotiation-real/not-built", test_not_built);
#endif
    return g_test_run();
}
