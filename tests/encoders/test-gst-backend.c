/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The GStreamer codec backend driven directly (below the frame encoder) with
 * hand-made I420/I444 frames: one output per input for every element, key
 * frames first and on request, 4:4:4 profiles only on request, bounded
 * waits, frames handed over without a copy, bit-rate units and live versus restart changes, probe
 * messages.
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

/* Every input gives its output within the push itself (timeout 0: no
 * look-ahead, no reordering, no encoding on other threads), the first is a
 * key frame with its headers, and a key frame comes on request. */
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

        g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, 0, &buf), ==,
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

/* The frame encoder's layout: Y, U and V back to back in one block, each
 * stride equal to its width. The backend hands such frames to the element
 * without a copy. */
static Planes *planes_new_contiguous(guint width, guint height, guint index)
{
    Planes *strided = planes_new(width, height, FALSE, index);
    Planes *p = g_new0(Planes, 1);
    guint cw = (width + 1) / 2, ch = (height + 1) / 2;
    gsize sizes[3] = {(gsize)width * height, (gsize)cw * ch, (gsize)cw * ch};

    *p = (Planes){.width = width, .height = height, .strides = {(int)width, (int)cw, (int)cw}};
    p->planes[0] = g_malloc(sizes[0] + sizes[1] + sizes[2]);
    p->planes[1] = p->planes[0] + sizes[0];
    p->planes[2] = p->planes[1] + sizes[1];
    for (int i = 0; i < 3; i++) {
        guint w = i == 0 ? width : cw, h = i == 0 ? height : ch;
        for (guint y = 0; y < h; y++) {
            memcpy(p->planes[i] + (gsize)y * w, strided->planes[i] + (gsize)y * strided->strides[i],
                   w);
        }
    }
    planes_free(strided);
    /* planes_free() frees planes[1] and [2] too: own them separately. */
    return p;
}

static void planes_free_contiguous(Planes *p)
{
    g_free(p->planes[0]);
    g_free(p);
}

/* A probe on the encoder's source pad that stands for an element which
 * emits its output later or not at all: buffers are dropped, or handed to
 * a thread that delivers them downstream after @delay_ms. */
typedef struct {
    gboolean deliver;
    guint delay_ms;
    GstPad *peer; /* the encoder's downstream neighbour */
    GThread *thread;
    GstBuffer *held;
} LateOutput;

static gpointer late_output_thread(gpointer data)
{
    LateOutput *late = data;

    g_usleep(late->delay_ms * 1000);
    /* Straight into the peer: the probe on the encoder's pad is not hit. */
    g_assert_cmpint(gst_pad_chain(late->peer, late->held), ==, GST_FLOW_OK);
    late->held = NULL;
    return NULL;
}

static GstPadProbeReturn late_output_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    LateOutput *late = data;

    (void)pad;
    if (late->deliver && late->thread == NULL) {
        late->held = gst_buffer_ref(GST_PAD_PROBE_INFO_BUFFER(info));
        late->thread = g_thread_new("late-output", late_output_thread, late);
    }
    return GST_PAD_PROBE_DROP;
}

static gulong add_late_output(void *backend, LateOutput *late)
{
    GstPad *src = gst_element_get_static_pad(sv_gstreamer_backend_get_element(backend), "src");
    late->peer = gst_pad_get_peer(src);
    gulong id = gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, late_output_probe, late, NULL);
    gst_object_unref(src);
    return id;
}

static void late_output_clear(LateOutput *late)
{
    if (late->thread != NULL) {
        g_thread_join(late->thread);
    }
    g_clear_pointer(&late->peer, gst_object_unref);
}

/* The elements encode on the caller's thread: a frame's output is there
 * when the push returns, even with a timeout of 0. Output an element does
 * not give during the push is waited for up to the timeout: a late one is
 * taken, a missing one is a TIMEOUT, promptly; the backend then restarts
 * and works. */
static void test_timeout_is_bounded(void)
{
    void *backend = backend_new(SPICE_VIDEO_CODEC_TYPE_VP8, NULL);
    if (backend == NULL) {
        return;
    }
    start(backend, SPICE_VIDEO_CODEC_TYPE_VP8, WIDTH, HEIGHT, FALSE, BIT_RATE_BPS);
    Planes *p = planes_new(WIDTH, HEIGHT, FALSE, 0);
    SvYuvFrame frame = frame_of(p, 0, FALSE);
    VideoBuffer *buf = NULL;

    g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, 0, &buf), ==, SV_BACKEND_OK);
    assert_key_frame(SPICE_VIDEO_CODEC_TYPE_VP8, buf, TRUE);
    buf->free(buf);

    /* Output delivered from another thread 50 ms after the push. */
    LateOutput late = {.deliver = TRUE, .delay_ms = 50};
    add_late_output(backend, &late);
    frame = frame_of(p, 1, FALSE);
    buf = NULL;
    g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, TIMEOUT_NS, &buf), ==,
                    SV_BACKEND_OK);
    g_assert_nonnull(buf);
    g_assert_false(vp8_is_key_frame(buf->data, buf->size));
    buf->free(buf);
    late_output_clear(&late);

    /* No output at all: a TIMEOUT after about the timeout, not a hang. */
    start(backend, SPICE_VIDEO_CODEC_TYPE_VP8, WIDTH, HEIGHT, FALSE, BIT_RATE_BPS);
    LateOutput never = {.deliver = FALSE};
    add_late_output(backend, &never);
    for (guint i = 0; i < 2; i++) {
        int64_t timeout_ns = i == 0 ? 0 : 30 * G_GINT64_CONSTANT(1000000);
        gint64 t0 = g_get_monotonic_time();
        frame = frame_of(p, i, FALSE);
        buf = NULL;
        g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, timeout_ns, &buf), ==,
                        SV_BACKEND_TIMEOUT);
        g_assert_null(buf);
        gint64 elapsed_us = g_get_monotonic_time() - t0;
        g_assert_cmpint(elapsed_us, >=, timeout_ns / 1000);
        g_assert_cmpint(elapsed_us, <, 2 * G_USEC_PER_SEC);
    }
    late_output_clear(&never);

    /* The frame encoder restarts after a timeout: a clean stream again. */
    start(backend, SPICE_VIDEO_CODEC_TYPE_VP8, WIDTH, HEIGHT, FALSE, BIT_RATE_BPS);
    frame = frame_of(p, 0, FALSE);
    g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, TIMEOUT_NS, &buf), ==,
                    SV_BACKEND_OK);
    assert_key_frame(SPICE_VIDEO_CODEC_TYPE_VP8, buf, TRUE);
    buf->free(buf);
    assert_no_pending_output(backend);
    planes_free(p);
    sv_gstreamer_backend_class.destroy(backend);
}

/* @return the bytes of @n frames of @p-like pictures through a new
 * gstreamer:h264 backend, and how many went in without a copy. */
static GByteArray *encode_h264(guint width, guint height, gboolean contiguous, guint n,
                               guint64 *wrapped)
{
    void *backend = backend_new(SPICE_VIDEO_CODEC_TYPE_H264, "threads=1");
    GByteArray *out = g_byte_array_new();

    g_assert_nonnull(backend);
    start(backend, SPICE_VIDEO_CODEC_TYPE_H264, width, height, FALSE, BIT_RATE_BPS);
    for (guint i = 0; i < n; i++) {
        Planes *p = contiguous ? planes_new_contiguous(width, height, i)
                               : planes_new(width, height, FALSE, i);
        SvYuvFrame frame = frame_of(p, i, FALSE);
        VideoBuffer *buf = NULL;
        g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, TIMEOUT_NS, &buf), ==,
                        SV_BACKEND_OK);
        g_byte_array_append(out, buf->data, buf->size);
        buf->free(buf);
        /* Freed at once: an element still reading them would be caught by
         * the sanitizers and valgrind. */
        if (contiguous) {
            planes_free_contiguous(p);
        } else {
            planes_free(p);
        }
    }
    *wrapped = sv_gstreamer_backend_get_wrapped_frames(backend);
    sv_gstreamer_backend_class.destroy(backend);
    return out;
}

/* Frames in the frame encoder's layout go to the element without a copy
 * (after a first copied one showed that the element lets go of its input
 * within the push), described by a video meta: the stream is byte for byte
 * the one copied frames give. 202x120: the chroma stride 101 is not
 * GStreamer's default (104), so the meta matters. */
static void test_zero_copy(void)
{
    if (gst_registry_lookup_feature(gst_registry_get(), "x264enc") == NULL) {
        g_test_skip("x264enc not installed");
        return;
    }
    gst_object_unref(gst_registry_lookup_feature(gst_registry_get(), "x264enc"));
    const guint n = 8;
    guint64 wrapped_copy = 0, wrapped_direct = 0;
    g_autoptr(GByteArray) copied = encode_h264(202, 120, FALSE, n, &wrapped_copy);
    g_autoptr(GByteArray) direct = encode_h264(202, 120, TRUE, n, &wrapped_direct);

    g_assert_cmpuint(wrapped_copy, ==, 0);
    g_assert_cmpuint(wrapped_direct, ==, n - 1);
    g_assert_cmpuint(direct->len, ==, copied->len);
    g_assert_true(memcmp(direct->data, copied->data, direct->len) == 0);

    /* Odd sizes are padded for H.264: always copied. */
    g_autoptr(GByteArray) odd = encode_h264(201, 119, TRUE, 3, &wrapped_direct);
    g_assert_cmpuint(wrapped_direct, ==, 0);
}

static GstPadProbeReturn keep_input_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    GPtrArray *kept = data;

    (void)pad;
    g_ptr_array_add(kept, gst_buffer_ref(GST_PAD_PROBE_INFO_BUFFER(info)));
    return GST_PAD_PROBE_OK;
}

/* An element that keeps its input past the push (as one with look-ahead
 * would) must not be left with the caller's planes: the backend notices,
 * restarts the pipeline, and copies every frame from then on. */
static void test_element_keeps_input(void)
{
    void *backend = backend_new(SPICE_VIDEO_CODEC_TYPE_VP8, NULL);
    if (backend == NULL) {
        return;
    }
    start(backend, SPICE_VIDEO_CODEC_TYPE_VP8, WIDTH, HEIGHT, FALSE, BIT_RATE_BPS);
    g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func((GDestroyNotify)gst_buffer_unref);
    GstElement *before = sv_gstreamer_backend_get_element(backend);
    VideoBuffer *buf = NULL;

    for (guint i = 0; i < 4; i++) {
        Planes *p = planes_new_contiguous(WIDTH, HEIGHT, i);
        SvYuvFrame frame = frame_of(p, i, FALSE);
        if (i == 2) {
            GstPad *sink = gst_element_get_static_pad(before, "sink");
            gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_BUFFER, keep_input_probe, kept, NULL);
            gst_object_unref(sink);
        }
        g_assert_cmpint(sv_gstreamer_backend_class.encode(backend, &frame, TIMEOUT_NS, &buf), ==,
                        SV_BACKEND_OK);
        /* Frame 3 is the first of a new pipeline. */
        g_assert_cmpint(vp8_is_key_frame(buf->data, buf->size), ==, i == 0 || i == 3);
        buf->free(buf);
        g_assert_cmpuint(sv_gstreamer_backend_get_wrapped_frames(backend), ==, i == 0 ? 0 : 1);
        if (i == 2) {
            /* What the probe kept is the wrapped frame: drop it before the
             * planes go. */
            g_assert_cmpuint(kept->len, ==, 1);
            g_ptr_array_set_size(kept, 0);
        }
        planes_free_contiguous(p);
    }
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
    g_test_add_func("/gst-backend/zero-copy", test_zero_copy);
    g_test_add_func("/gst-backend/element-keeps-input", test_element_keeps_input);
    g_test_add_func("/gst-backend/mismatched-frame-is-error", test_mismatched_frame_is_error);
    g_test_add_func("/gst-backend/buffer-outlives-backend", test_buffer_outlives_backend);
    g_test_add_func("/gst-backend/probe", test_probe);
#else
    g_test_add_func("/gst-backend/not-built", test_not_built);
#endif
    return g_test_run();
}
