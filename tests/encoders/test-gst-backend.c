/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The GStreamer codec backend driven directly (below the frame encoder) with
 * hand-made I420/I444 frames: one output per input for every element, key
 * frames first and on request, 4:4:4 profiles only on request, bounded
 * waits, bit-rate units and live versus restart changes, probe messages.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#if SV_HAVE_GST_ENCODERS
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#endif

#include "gstreamer-encoder.h"
#include "../test-timeout.h"
#include "streaming-checks.h"

#if SV_HAVE_GST_ENCODERS

#define WIDTH 320
#define HEIGHT 240
#define FPS 30
#define N_FRAMES 30
#define BIT_RATE_BPS (2u * 1000u * 1000u)
/* Generous: under sanitizers a frame takes far longer than in production. */
#define TIMEOUT_NS sv_test_timeout_ns(10 * G_GINT64_CONSTANT(1000000000))

/* ---- frames ----------------------------------------------------------------- */

typedef struct {
    guint8 *planes[3];
    int strides[3];
    guint width, height;
    gboolean yuv444;
} Planes;

/* Smooth gradients that move with @index, plus a little texture. */
static Planes *planes_new(guint width, guint height, gboolean yuv444, guint index)
{
    Planes *p = g_new0(Planes, 1);
    guint cw = yuv444 ? width : (width + 1) / 2;
    guint ch = yuv444 ? height : (height + 1) / 2;

    p->width = width;
    p->height = height;
    p->yuv444 = yuv444;
    for (int i = 0; i < 3; i++) {
        guint w = i == 0 ? width : cw;
        guint h = i == 0 ? height : ch;
        /* A stride larger than the width, as the frame encoder may hand out. */
        p->strides[i] = (int)w + 13;
        p->planes[i] = g_malloc((gsize)p->strides[i] * h);
        for (guint y = 0; y < h; y++) {
            for (guint x = 0; x < w; x++) {
                guint v;
                if (i == 0) {
                    v = 16 + ((x * 180 / w + y * 40 / h + index * 3) % 200) +
                        (((x / 4 + y / 4) & 1) ? 6 : 0);
                } else {
                    v = 64 + (i == 1 ? x * 128 / w : y * 128 / h);
                }
                p->planes[i][(gsize)y * p->strides[i] + x] = (guint8)MIN(v, 235);
            }
        }
    }
    return p;
}

static void planes_free(Planes *p)
{
    for (int i = 0; i < 3; i++) {
        g_free(p->planes[i]);
    }
    g_free(p);
}

static SvYuvFrame frame_of(const Planes *p, guint index, gboolean force_key_frame)
{
    SvYuvFrame frame = {
        .width = p->width,
        .height = p->height,
        .yuv444 = p->yuv444,
        .mm_time = 1000 + index * (1000 / FPS),
        .pts_ns = (int64_t)index * (G_GINT64_CONSTANT(1000000000) / FPS),
        .force_key_frame = force_key_frame,
    };
    for (int i = 0; i < 3; i++) {
        frame.planes[i] = p->planes[i];
        frame.strides[i] = p->strides[i];
    }
    return frame;
}

/* ---- cases ----------------------------------------------------------------- */

typedef struct {
    const char *name;
    SpiceVideoCodecType codec;
} Codec;

static const Codec all_codecs[] = {
    {"mjpeg", SPICE_VIDEO_CODEC_TYPE_MJPEG}, {"vp8", SPICE_VIDEO_CODEC_TYPE_VP8},
    {"h264", SPICE_VIDEO_CODEC_TYPE_H264},   {"vp9", SPICE_VIDEO_CODEC_TYPE_VP9},
    {"h265", SPICE_VIDEO_CODEC_TYPE_H265},
};

/* @return the backend with default options, or NULL after g_test_skip(). */
static void *backend_new(SpiceVideoCodecType codec, const char *options)
{
    const SvEncoderOption *table = sv_gstreamer_options_for_codec(codec);
    int values[SV_MAX_ENCODER_OPTIONS];
    g_autoptr(GError) error = NULL;

    g_assert_nonnull(table);
    g_assert_true(sv_encoder_options_parse(table, options, values, &error));
    void *backend = sv_gstreamer_backend_class.create(codec, values, &error);
    if (backend == NULL) {
        g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE);
        g_test_skip(error->message);
    }
    return backend;
}

static void start(void *backend, SpiceVideoCodecType codec, guint width, guint height,
                  gboolean yuv444, uint64_t bit_rate_bps)
{
    SvBackendFormat format = {codec, width, height, FPS, yuv444};
    g_autoptr(GError) error = NULL;

    g_assert_true(sv_gstreamer_backend_class.start(backend, &format, bit_rate_bps, &error));
    g_assert_no_error(error);
}

/* Checks that @buf is a frame a decoder can start from. */
static void assert_key_frame(SpiceVideoCodecType codec, const VideoBuffer *buf, gboolean first)
{
    const guint8 *data = buf->data;
    size_t size = buf->size;

    switch (codec) {
    case SPICE_VIDEO_CODEC_TYPE_MJPEG:
        g_assert_true(jpeg_has_soi(data, size));
        break;
    case SPICE_VIDEO_CODEC_TYPE_VP8:
        g_assert_true(vp8_is_key_frame(data, size));
        break;
    case SPICE_VIDEO_CODEC_TYPE_VP9:
        g_assert_true(vp9_is_key_frame(data, size));
        break;
    case SPICE_VIDEO_CODEC_TYPE_H264:
    case SPICE_VIDEO_CODEC_TYPE_H265: {
        gboolean h265 = codec == SPICE_VIDEO_CODEC_TYPE_H265;
        AnnexBInfo info = annexb_scan(data, size, h265);
        g_assert_true(info.starts_with_start_code);
        g_assert_true(annexb_is_idr(data, size, h265));
        if (first) {
            g_assert_true(annexb_has(&info, h265 ? H265_NAL_SPS : H264_NAL_SPS));
            g_assert_true(annexb_has(&info, h265 ? H265_NAL_PPS : H264_NAL_PPS));
            if (h265) {
                g_assert_true(annexb_has(&info, H265_NAL_VPS));
            }
        }
        break;
    }
    default:
        g_assert_not_reached();
    }
}

static gboolean is_key_frame(SpiceVideoCodecType codec, const VideoBuffer *buf)
{
    switch (codec) {
    case SPICE_VIDEO_CODEC_TYPE_VP8:
        return vp8_is_key_frame(buf->data, buf->size);
    case SPICE_VIDEO_CODEC_TYPE_VP9:
        return vp9_is_key_frame(buf->data, buf->size);
    case SPICE_VIDEO_CODEC_TYPE_H264:
    case SPICE_VIDEO_CODEC_TYPE_H265:
        return annexb_is_idr(buf->data, buf->size, codec == SPICE_VIDEO_CODEC_TYPE_H265);
    default:
        return TRUE;
    }
}

/* Nothing may be left in appsink once every encode() returned its frame. */
static void assert_no_pending_output(void *backend)
{
    GstElement *encoder = sv_gstreamer_backend_get_element(backend);
    GstObject *pipeline = gst_element_get_parent(encoder);
    GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    GstSample *extra = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 200 * GST_MSECOND);

    g_assert_null(extra);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
}

/* Every input gives its output within the call (no look-ahead, no
 * reordering), the first is a key frame with its headers, and a key frame
 * comes on request. */
static void test_one_output_per_input(gconstpointer data)
{
    const Codec *codec = data;
    void *backend = backend_new(codec->codec, NULL);
    if (backend == NULL) {
        return;
    }
    start(backend, codec->codec, WIDTH, HEIGHT, FALSE, BIT_RATE_BPS);

    for (guint i = 0; i < N_FRAMES; i++) {
        Planes *p = planes_new(WIDTH, HEIGHT, FALSE, i);
        SvYuvFrame frame = frame_of(p, i, i == 20);
        VideoBuffer *buf = NULL;

        g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, TIMEOUT_NS, &buf), ==,
                        SV_BACKEND_OK);
        g_assert_nonnull(buf);
        g_assert_cmpuint(buf->size, >, 0);
        if (i == 0 || i == 20) {
            assert_key_frame(codec->codec, buf, i == 0);
        } else if (i == 1 && codec->codec != SPICE_VIDEO_CODEC_TYPE_MJPEG) {
            /* Not every frame a key frame: the settings are the streaming ones. */
            g_assert_false(is_key_frame(codec->codec, buf));
        }
        if (i == 0 && codec->codec == SPICE_VIDEO_CODEC_TYPE_H264) {
            AnnexBInfo info = annexb_scan(buf->data, buf->size, FALSE);
            /* 4:2:0 by default: anything but the High 4:4:4 family. */
            g_assert_cmpint(info.h264_profile_idc, !=, 244);
        }
        if (i == 0 && codec->codec == SPICE_VIDEO_CODEC_TYPE_VP9) {
            g_assert_cmpint(vp9_profile(buf->data, buf->size), ==, 0);
        }
        buf->free(buf);
        planes_free(p);
    }
    assert_no_pending_output(backend);
    sv_gstreamer_backend_class.destroy(backend);
}

/* keyint and threads reach the element: a key frame every 5 frames. */
static void test_keyint_threads(gconstpointer data)
{
    const Codec *codec = data;
    const char *options = codec->codec == SPICE_VIDEO_CODEC_TYPE_H264
                              ? "keyint=5,threads=2,intra-refresh=false"
                              : "keyint=5,threads=2";
    void *backend = backend_new(codec->codec, options);
    if (backend == NULL) {
        return;
    }
    start(backend, codec->codec, WIDTH, HEIGHT, FALSE, BIT_RATE_BPS);

    for (guint i = 0; i < 16; i++) {
        Planes *p = planes_new(WIDTH, HEIGHT, FALSE, i);
        SvYuvFrame frame = frame_of(p, i, FALSE);
        VideoBuffer *buf = NULL;

        g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, TIMEOUT_NS, &buf), ==,
                        SV_BACKEND_OK);
        if (is_key_frame(codec->codec, buf) != (i % 5 == 0)) {
            g_test_message("frame %u: key frame %d", i, is_key_frame(codec->codec, buf));
        }
        g_assert_cmpint(is_key_frame(codec->codec, buf), ==, i % 5 == 0);
        buf->free(buf);
        planes_free(p);
    }
    sv_gstreamer_backend_class.destroy(backend);
}

/* A restart (new size) starts again with a key frame; odd sizes work. */
static void test_restart_odd_size(gconstpointer data)
{
    const Codec *codec = data;
    void *backend = backend_new(codec->codec, NULL);
    if (backend == NULL) {
        return;
    }
    static const guint sizes[][2] = {{WIDTH, HEIGHT}, {161, 97}};

    for (guint s = 0; s < G_N_ELEMENTS(sizes); s++) {
        start(backend, codec->codec, sizes[s][0], sizes[s][1], FALSE, BIT_RATE_BPS);
        for (guint i = 0; i < 3; i++) {
            Planes *p = planes_new(sizes[s][0], sizes[s][1], FALSE, i);
            SvYuvFrame frame = frame_of(p, s * 10 + i, FALSE);
            VideoBuffer *buf = NULL;

            g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, TIMEOUT_NS, &buf),
                            ==, SV_BACKEND_OK);
            if (i == 0) {
                assert_key_frame(codec->codec, buf, TRUE);
            }
            buf->free(buf);
            planes_free(p);
        }
    }
    sv_gstreamer_backend_class.destroy(backend);
}

/* yuv444=true: High 4:4:4 (profile_idc 244) for H.264, profile 1 for VP9. */
static void test_yuv444(gconstpointer data)
{
    const Codec *codec = data;
    void *backend = backend_new(codec->codec, "yuv444=true");
    if (backend == NULL) {
        return;
    }
    start(backend, codec->codec, WIDTH, HEIGHT, TRUE, BIT_RATE_BPS);

    Planes *p = planes_new(WIDTH, HEIGHT, TRUE, 0);
    SvYuvFrame frame = frame_of(p, 0, FALSE);
    VideoBuffer *buf = NULL;
    g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, TIMEOUT_NS, &buf), ==,
                    SV_BACKEND_OK);
    assert_key_frame(codec->codec, buf, TRUE);
    if (codec->codec == SPICE_VIDEO_CODEC_TYPE_H264) {
        AnnexBInfo info = annexb_scan(buf->data, buf->size, FALSE);
        g_assert_cmpint(info.h264_profile_idc, ==, 244);
    } else if (codec->codec == SPICE_VIDEO_CODEC_TYPE_VP9) {
        g_assert_cmpint(vp9_profile(buf->data, buf->size), ==, 1);
    }
    buf->free(buf);
    planes_free(p);
    sv_gstreamer_backend_class.destroy(backend);
}

/* A frame whose output cannot arrive in time is a TIMEOUT, promptly; the
 * backend then restarts and works, and destroying a busy pipeline does
 * not hang. */
static void test_timeout_is_bounded(void)
{
    void *backend = backend_new(SPICE_VIDEO_CODEC_TYPE_VP9, "cpu-used=0");
    if (backend == NULL) {
        return;
    }
    start(backend, SPICE_VIDEO_CODEC_TYPE_VP9, 640, 360, FALSE, BIT_RATE_BPS);

    Planes *p = planes_new(640, 360, FALSE, 0);
    SvYuvFrame frame = frame_of(p, 0, FALSE);
    VideoBuffer *buf = NULL;
    gint64 t0 = g_get_monotonic_time();
    /* 0 ns: the encoder cannot be done before the first look. */
    g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, 0, &buf), ==,
                    SV_BACKEND_TIMEOUT);
    g_assert_null(buf);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);

    /* 1 ms: still a timeout, and still prompt. */
    frame = frame_of(p, 1, FALSE);
    t0 = g_get_monotonic_time();
    SvBackendResult result = sv_gstreamer_backend_class.encode(backend, &frame, 1000 * 1000, &buf);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
    if (result == SV_BACKEND_OK) {
        buf->free(buf); /* the first frame's output came just in time */
    } else {
        g_assert_cmpint(result, ==, SV_BACKEND_TIMEOUT);
    }
    planes_free(p);

    /* The frame encoder restarts after a timeout: a clean stream again. */
    start(backend, SPICE_VIDEO_CODEC_TYPE_VP9, WIDTH, HEIGHT, FALSE, BIT_RATE_BPS);
    p = planes_new(WIDTH, HEIGHT, FALSE, 0);
    frame = frame_of(p, 0, FALSE);
    g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, TIMEOUT_NS, &buf), ==,
                    SV_BACKEND_OK);
    assert_key_frame(SPICE_VIDEO_CODEC_TYPE_VP9, buf, TRUE);
    buf->free(buf);

    /* Destroy while a frame is being encoded. */
    frame = frame_of(p, 1, FALSE);
    buf = NULL;
    g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, 0, &buf), !=,
                    SV_BACKEND_ERROR);
    if (buf != NULL) {
        buf->free(buf);
    }
    planes_free(p);
    sv_gstreamer_backend_class.destroy(backend);
}

/* A frame of another size than start() was told is an ERROR, not a hang. */
static void test_mismatched_frame_is_error(void)
{
    void *backend = backend_new(SPICE_VIDEO_CODEC_TYPE_VP8, NULL);
    if (backend == NULL) {
        return;
    }
    Planes *p = planes_new(64, 64, FALSE, 0);
    SvYuvFrame frame = frame_of(p, 0, FALSE);
    VideoBuffer *buf = NULL;

    /* Not started yet. */
    g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, TIMEOUT_NS, &buf), ==,
                    SV_BACKEND_ERROR);
    start(backend, SPICE_VIDEO_CODEC_TYPE_VP8, WIDTH, HEIGHT, FALSE, BIT_RATE_BPS);
    g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, TIMEOUT_NS, &buf), ==,
                    SV_BACKEND_ERROR);
    g_assert_null(buf);
    planes_free(p);
    sv_gstreamer_backend_class.destroy(backend);
}

typedef struct {
    const char *name;
    SpiceVideoCodecType codec;
    const char *property;
    gboolean live;
    /* element value for 2 Mbit/s, and for 500 Mbit/s (clamped) */
    guint64 at_2m;
    guint64 at_500m;
} BitRateCase;

static const BitRateCase bit_rate_cases[] = {
    /* kbit/s of 1000 bit, changeable while playing. */
    {"h264", SPICE_VIDEO_CODEC_TYPE_H264, "bitrate", TRUE, 2000, 500000},
    /* kbit/s, range 1..102400. */
    {"h265", SPICE_VIDEO_CODEC_TYPE_H265, "bitrate", TRUE, 2000, 102400},
    /* bit/s, restart needed. */
    {"vp8", SPICE_VIDEO_CODEC_TYPE_VP8, "target-bitrate", FALSE, 2000000, 500000000},
    {"vp9", SPICE_VIDEO_CODEC_TYPE_VP9, "target-bitrate", FALSE, 2000000, 500000000},
    {"mjpeg", SPICE_VIDEO_CODEC_TYPE_MJPEG, "bitrate", FALSE, 2000000, 500000000},
};

static guint64 element_bit_rate(void *backend, const char *property)
{
    GObject *encoder = sv_gstreamer_backend_get_element(backend);
    GValue value = G_VALUE_INIT;
    GParamSpec *pspec = g_object_class_find_property(G_OBJECT_GET_CLASS(encoder), property);

    g_assert_nonnull(pspec);
    g_value_init(&value, G_TYPE_UINT64);
    GValue raw = G_VALUE_INIT;
    g_value_init(&raw, pspec->value_type);
    g_object_get_property(encoder, property, &raw);
    g_assert_true(g_value_transform(&raw, &value));
    guint64 result = g_value_get_uint64(&value);
    g_value_unset(&raw);
    g_value_unset(&value);
    return result;
}

static void test_bit_rate(gconstpointer data)
{
    const BitRateCase *c = data;
    void *backend = backend_new(c->codec, NULL);
    if (backend == NULL) {
        return;
    }
    start(backend, c->codec, WIDTH, HEIGHT, FALSE, BIT_RATE_BPS);
    g_assert_cmpuint(element_bit_rate(backend, c->property), ==, c->at_2m);

    gboolean applied = sv_gstreamer_backend_class.set_bit_rate(backend, 500u * 1000u * 1000u);
    g_assert_cmpint(applied, ==, c->live);
    if (!applied) {
        g_assert_cmpuint(element_bit_rate(backend, c->property), ==, c->at_2m);
        /* What the frame encoder does next: restart at the new rate. */
        start(backend, c->codec, WIDTH, HEIGHT, FALSE, 500u * 1000u * 1000u);
    }
    g_assert_cmpuint(element_bit_rate(backend, c->property), ==, c->at_500m);

    /* Still encodes after a live change. */
    Planes *p = planes_new(WIDTH, HEIGHT, FALSE, 0);
    SvYuvFrame frame = frame_of(p, 0, FALSE);
    VideoBuffer *buf = NULL;
    g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, TIMEOUT_NS, &buf), ==,
                    SV_BACKEND_OK);
    buf->free(buf);
    planes_free(p);
    sv_gstreamer_backend_class.destroy(backend);
}

/* Buffers stay valid after the backend is gone. */
static void test_buffer_outlives_backend(void)
{
    void *backend = backend_new(SPICE_VIDEO_CODEC_TYPE_H264, NULL);
    if (backend == NULL) {
        return;
    }
    start(backend, SPICE_VIDEO_CODEC_TYPE_H264, WIDTH, HEIGHT, FALSE, BIT_RATE_BPS);
    VideoBuffer *bufs[3] = {NULL};
    for (guint i = 0; i < G_N_ELEMENTS(bufs); i++) {
        Planes *p = planes_new(WIDTH, HEIGHT, FALSE, i);
        SvYuvFrame frame = frame_of(p, i, FALSE);
        g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, TIMEOUT_NS, &bufs[i]),
                        ==, SV_BACKEND_OK);
        planes_free(p);
    }
    sv_gstreamer_backend_class.destroy(backend);
    assert_key_frame(SPICE_VIDEO_CODEC_TYPE_H264, bufs[0], TRUE);
    for (guint i = 0; i < G_N_ELEMENTS(bufs); i++) {
        bufs[i]->free(bufs[i]);
    }
}

/* The probe says which element is missing, in exactly these words. */
static void test_probe(void)
{
    size_t n = 0;
    const SvEncoderDesc *const *descs = sv_registry_list(&n);
    guint n_gstreamer = 0;

    for (size_t i = 0; i < n; i++) {
        const SvEncoderDesc *desc = descs[i];
        if (strcmp(desc->encoder_name, "gstreamer") != 0) {
            continue;
        }
        n_gstreamer++;
        const char *element = sv_gstreamer_element_for_codec(desc->codec_type);
        g_assert_nonnull(element);
        g_assert_true(desc->probe == sv_gstreamer_probe);
        g_assert_true(desc->options == sv_gstreamer_options_for_codec(desc->codec_type));

        g_autoptr(GError) error = NULL;
        GstElementFactory *factory = gst_element_factory_find(element);
        gboolean ok = sv_gstreamer_probe(desc, &error);
        g_assert_cmpint(ok, ==, factory != NULL);
        if (factory != NULL) {
            g_assert_no_error(error);
            gst_object_unref(factory);
        } else {
            g_autofree char *expected = g_strdup_printf("%s not installed", element);
            g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE);
            g_assert_cmpstr(error->message, ==, expected);
        }
    }
    g_assert_cmpuint(n_gstreamer, ==, 5);

    /* A missing element, as a machine without it sees it. */
    SvEncoderDesc fake = *sv_registry_find("gstreamer", "h264");
    GstRegistry *registry = gst_registry_get();
    GstPluginFeature *feature = gst_registry_lookup_feature(registry, "x264enc");
    if (feature == NULL) {
        return;
    }
    gst_registry_remove_feature(registry, feature);
    g_autoptr(GError) error = NULL;
    g_assert_false(sv_gstreamer_probe(&fake, &error));
    g_assert_cmpstr(error->message, ==, "x264enc not installed");
    g_assert_true(gst_registry_add_feature(registry, feature));
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
    for (guint i = 0; i < G_N_ELEMENTS(all_codecs); i++) {
        g_autofree char *path =
            g_strdup_printf("/gst-backend/%s/one-output-per-input", all_codecs[i].name);
        g_test_add_data_func(path, &all_codecs[i], test_one_output_per_input);
        g_autofree char *path2 =
            g_strdup_printf("/gst-backend/%s/restart-odd-size", all_codecs[i].name);
        g_test_add_data_func(path2, &all_codecs[i], test_restart_odd_size);
        if (all_codecs[i].codec != SPICE_VIDEO_CODEC_TYPE_MJPEG) {
            g_autofree char *path3 =
                g_strdup_printf("/gst-backend/%s/keyint-threads", all_codecs[i].name);
            g_test_add_data_func(path3, &all_codecs[i], test_keyint_threads);
        }
    }
    g_test_add_data_func("/gst-backend/h264/yuv444", &all_codecs[2], test_yuv444);
    g_test_add_data_func("/gst-backend/vp9/yuv444", &all_codecs[3], test_yuv444);
    g_test_add_data_func("/gst-backend/h265/yuv444", &all_codecs[4], test_yuv444);
    g_test_add_data_func("/gst-backend/mjpeg/yuv444", &all_codecs[0], test_yuv444);
    for (guint i = 0; i < G_N_ELEMENTS(bit_rate_cases); i++) {
        g_autofree char *path = g_strdup_printf("/gst-backend/%s/bit-rate", bit_rate_cases[i].name);
        g_test_add_data_func(path, &bit_rate_cases[i], test_bit_rate);
    }
    g_test_add_func("/gst-backend/timeout-is-bounded", test_timeout_is_bounded);
    g_test_add_func("/gst-backend/mismatched-frame-is-error", test_mismatched_frame_is_error);
    g_test_add_func("/gst-backend/buffer-outlives-backend", test_buffer_outlives_backend);
    g_test_add_func("/gst-backend/probe", test_probe);
#else
    g_test_add_func("/gst-backend/not-built", test_not_built);
#endif
    return g_test_run();
}
