/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The libx264 and libvpx backends, driven directly through their
 * SvCodecBackendClass with hand-made I420/I444 frames: one output per
 * input, key frames where the bitstream contract puts them, forced key
 * frames, live bit-rate changes, odd sizes, 4:4:4 profiles, the option
 * tables, and a decode with GStreamer's decoders checked by PSNR.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib.h>

#if SV_HAVE_GSTREAMER
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#endif

#include "../test-timeout.h"
#include "native-encoders.h"

#define FPS 30
#define N_FRAMES 60
#define MIN_LUMA_PSNR_DB 30.0

typedef struct {
    const char *name; /* test path component */
    const SvCodecBackendClass *klass;
    const SvEncoderOption *table;
    SpiceVideoCodecType codec;
    gboolean has_yuv444;
} NativeCodec;

static const NativeCodec codecs[] = {
#if SV_HAVE_X264
    {"x264-h264", &sv_x264_backend_class, sv_x264_options, SPICE_VIDEO_CODEC_TYPE_H264, TRUE},
#endif
#if SV_HAVE_VPX
    {"vpx-vp8", &sv_vpx_backend_class, sv_vpx_vp8_options, SPICE_VIDEO_CODEC_TYPE_VP8, FALSE},
    {"vpx-vp9", &sv_vpx_backend_class, sv_vpx_vp9_options, SPICE_VIDEO_CODEC_TYPE_VP9, TRUE},
#endif
    {NULL, NULL, NULL, 0, FALSE},
};

/* ---- frames ----------------------------------------------------------------- */

typedef struct {
    guint8 *planes[3];
    int strides[3];
    uint32_t width, height;
    gboolean yuv444;
} TestFrame;

static guint8 clamp_u8(double v)
{
    return v <= 0.0 ? 0 : v >= 255.0 ? 255 : (guint8)(v + 0.5);
}

/*
 * Frame @t of a smooth, natural-looking sequence: a gradient with soft
 * blobs drifting across it. With @texture, fine deterministic detail that
 * needs bits at any quality (for the bit-rate tests).
 */
static TestFrame *test_frame_new(uint32_t width, uint32_t height, gboolean yuv444, int t,
                                 gboolean texture)
{
    TestFrame *f = g_new0(TestFrame, 1);
    uint32_t cw = yuv444 ? width : (width + 1) / 2;
    uint32_t ch = yuv444 ? height : (height + 1) / 2;
    guint32 noise = 12345u + (guint32)t * 7919u;

    f->width = width;
    f->height = height;
    f->yuv444 = yuv444;
    /* Strides wider than the picture: backends must honour them. */
    f->strides[0] = (int)width + 16;
    f->strides[1] = f->strides[2] = (int)cw + 8;
    f->planes[0] = g_malloc((gsize)f->strides[0] * height);
    f->planes[1] = g_malloc((gsize)f->strides[1] * ch);
    f->planes[2] = g_malloc((gsize)f->strides[2] * ch);

    for (uint32_t y = 0; y < height; y++) {
        for (uint32_t x = 0; x < width; x++) {
            double u = (double)x / width, v = (double)y / height;
            double bx = 0.3 + 0.4 * sin(t * 0.05), by = 0.5 + 0.3 * cos(t * 0.04);
            double d2 = (u - bx) * (u - bx) + (v - by) * (v - by);
            double luma = 40.0 + 120.0 * u + 40.0 * v + 60.0 * exp(-d2 * 30.0) +
                          12.0 * sin(u * 9.0 + t * 0.1) * cos(v * 7.0);
            if (texture) {
                noise = noise * 1664525u + 1013904223u;
                luma += (double)(noise >> 27) * 2.0 - 31.0;
            }
            f->planes[0][(gsize)y * f->strides[0] + x] = clamp_u8(luma);
        }
    }
    for (uint32_t y = 0; y < ch; y++) {
        for (uint32_t x = 0; x < cw; x++) {
            double u = (double)x / cw, v = (double)y / ch;
            f->planes[1][(gsize)y * f->strides[1] + x] =
                clamp_u8(128.0 + 40.0 * sin(u * 3.0 + t * 0.03));
            f->planes[2][(gsize)y * f->strides[2] + x] =
                clamp_u8(128.0 + 40.0 * cos(v * 4.0 - t * 0.02));
        }
    }
    return f;
}

static void test_frame_free(TestFrame *f)
{
    for (int p = 0; p < 3; p++) {
        g_free(f->planes[p]);
    }
    g_free(f);
}

/* ---- driving a backend ------------------------------------------------------- */

typedef struct {
    const NativeCodec *codec;
    void *backend;
    SvBackendFormat format;
    int64_t frame_number;
} Driver;

static int *parse_options(const NativeCodec *codec, const char *options, int *values)
{
    g_autoptr(GError) error = NULL;

    g_assert_true(sv_encoder_options_parse(codec->table, options, values, &error));
    g_assert_no_error(error);
    return values;
}

static void driver_start(Driver *d, const NativeCodec *codec, const char *options, uint32_t width,
                         uint32_t height, gboolean yuv444, uint64_t bit_rate_bps)
{
    int values[SV_MAX_ENCODER_OPTIONS];
    g_autoptr(GError) error = NULL;

    memset(d, 0, sizeof(*d));
    d->codec = codec;
    d->backend = codec->klass->create(codec->codec, parse_options(codec, options, values), &error);
    g_assert_no_error(error);
    g_assert_nonnull(d->backend);
    d->format = (SvBackendFormat){codec->codec, width, height, FPS, yuv444};
    g_assert_true(codec->klass->start(d->backend, &d->format, bit_rate_bps, &error));
    g_assert_no_error(error);
}

static VideoBuffer *driver_encode(Driver *d, const TestFrame *f, gboolean force_key)
{
    SvYuvFrame frame = {
        .width = f->width,
        .height = f->height,
        .yuv444 = f->yuv444,
        .mm_time = (uint32_t)(d->frame_number * 1000 / FPS),
        .pts_ns = d->frame_number * G_GINT64_CONSTANT(1000000000) / FPS,
        .force_key_frame = force_key,
    };
    VideoBuffer *out = NULL;

    for (int p = 0; p < 3; p++) {
        frame.planes[p] = f->planes[p];
        frame.strides[p] = f->strides[p];
    }
    d->frame_number++;
    g_assert_cmpint(d->codec->klass->encode(d->backend, &frame,
                                            sv_test_timeout_ns(G_GINT64_CONSTANT(1000000000)),
                                            &out),
                    ==, SV_BACKEND_OK);
    g_assert_nonnull(out);
    g_assert_nonnull(out->free);
    g_assert_cmpuint(out->size, >, 0);
    return out;
}

static void driver_stop(Driver *d)
{
    d->codec->klass->destroy(d->backend);
    d->backend = NULL;
}

/* ---- bitstream inspection ---------------------------------------------------- */

typedef struct {
    gboolean sps, pps, idr, non_idr_slice;
    int n_slices;
    int profile_idc; /* of the SPS, -1 without one */
} H264Info;

/* Walks the Annex-B start codes of one access unit. */
static H264Info h264_inspect(const VideoBuffer *buf)
{
    H264Info info = {.profile_idc = -1};
    const guint8 *p = buf->data;
    gsize n = buf->size;

    g_assert_cmpuint(n, >=, 4);
    g_assert_true(p[0] == 0 && p[1] == 0 && (p[2] == 1 || (p[2] == 0 && p[3] == 1)));
    for (gsize i = 0; i + 3 < n; i++) {
        if (p[i] != 0 || p[i + 1] != 0 || p[i + 2] != 1) {
            continue;
        }
        int type = p[i + 3] & 0x1f;
        switch (type) {
        case 1:
            info.non_idr_slice = TRUE;
            info.n_slices++;
            break;
        case 5:
            info.idr = TRUE;
            info.n_slices++;
            break;
        case 7:
            info.sps = TRUE;
            if (i + 4 < n) {
                info.profile_idc = p[i + 4];
            }
            break;
        case 8:
            info.pps = TRUE;
            break;
        default:
            break;
        }
        i += 3;
    }
    return info;
}

typedef struct {
    gboolean key;
    int vp9_profile; /* -1 for VP8 */
} VpxInfo;

static VpxInfo vpx_inspect(SpiceVideoCodecType codec, const VideoBuffer *buf)
{
    VpxInfo info = {FALSE, -1};
    const guint8 *p = buf->data;

    if (codec == SPICE_VIDEO_CODEC_TYPE_VP8) {
        /* Frame tag: bit 0 is the frame type, 0 for a key frame; key frames
         * carry the start code 9d 01 2a. */
        info.key = (p[0] & 1) == 0;
        if (info.key) {
            g_assert_cmpuint(buf->size, >=, 10);
            g_assert_true(p[3] == 0x9d && p[4] == 0x01 && p[5] == 0x2a);
        }
        return info;
    }
    /* VP9 uncompressed header, MSB first: frame_marker(2) = 2,
     * profile_low_bit, profile_high_bit, [reserved_zero if profile 3],
     * show_existing_frame, frame_type (0 = key frame). */
    guint bit = 0;
    g_assert_cmpuint(p[0] >> 6, ==, 2);
    bit = 2;
    int low = (p[bit / 8] >> (7 - bit % 8)) & 1;
    bit++;
    int high = (p[bit / 8] >> (7 - bit % 8)) & 1;
    bit++;
    info.vp9_profile = (high << 1) | low;
    if (info.vp9_profile == 3) {
        bit++;
    }
    int show_existing = (p[bit / 8] >> (7 - bit % 8)) & 1;
    bit++;
    g_assert_cmpint(show_existing, ==, 0);
    info.key = ((p[bit / 8] >> (7 - bit % 8)) & 1) == 0;
    return info;
}

/* Whether @buf is a key frame, checking what the contract requires of one. */
static gboolean is_key_frame(const NativeCodec *codec, const VideoBuffer *buf)
{
    if (codec->codec == SPICE_VIDEO_CODEC_TYPE_H264) {
        H264Info info = h264_inspect(buf);
        g_assert_cmpint(info.n_slices, >, 0);
        /* One access unit: never IDR and non-IDR slices together. */
        g_assert_false(info.idr && info.non_idr_slice);
        if (info.idr) {
            g_assert_true(info.sps);
            g_assert_true(info.pps);
        }
        return info.idr;
    }
    return vpx_inspect(codec->codec, buf).key;
}

/* ---- tests ------------------------------------------------------------------- */

/* 60 frames, one output each; only the first is a key frame. */
static void test_one_output_per_input(gconstpointer data)
{
    const NativeCodec *codec = data;
    Driver d;

    driver_start(&d, codec, NULL, 320, 240, FALSE, 1000000);
    for (int t = 0; t < N_FRAMES; t++) {
        TestFrame *f = test_frame_new(320, 240, FALSE, t, FALSE);
        VideoBuffer *buf = driver_encode(&d, f, FALSE);
        gboolean key = is_key_frame(codec, buf);

        g_assert_cmpint(key, ==, t == 0);
        if (codec->codec == SPICE_VIDEO_CODEC_TYPE_H264 && t == 0) {
            int profile = h264_inspect(buf).profile_idc;
            g_test_message("%s: profile_idc %d", codec->name, profile);
            /* 4:2:0 within High: Baseline, Main or High. */
            g_assert_true(profile == 66 || profile == 77 || profile == 100);
        }
        if (codec->codec == SPICE_VIDEO_CODEC_TYPE_VP9) {
            g_assert_cmpint(vpx_inspect(codec->codec, buf).vp9_profile, ==, 0);
        }
        buf->free(buf);
        test_frame_free(f);
    }
    driver_stop(&d);
}

static void test_force_key_frame(gconstpointer data)
{
    const NativeCodec *codec = data;
    TestFrame *f[3];
    Driver d;

    for (int i = 0; i < 3; i++) {
        f[i] = test_frame_new(256, 144, FALSE, i, FALSE);
    }
    driver_start(&d, codec, NULL, 256, 144, FALSE, 800000);
    for (int t = 0; t < 20; t++) {
        gboolean force = t == 7 || t == 15;
        VideoBuffer *buf = driver_encode(&d, f[t % 3], force);

        g_assert_cmpint(is_key_frame(codec, buf), ==, t == 0 || force);
        buf->free(buf);
    }
    driver_stop(&d);
    for (int i = 0; i < 3; i++) {
        test_frame_free(f[i]);
    }
}

static void test_keyint(gconstpointer data)
{
    const NativeCodec *codec = data;
    TestFrame *f = test_frame_new(192, 108, FALSE, 0, FALSE);
    Driver d;

    driver_start(&d, codec, "keyint=10", 192, 108, FALSE, 500000);
    for (int t = 0; t < 25; t++) {
        VideoBuffer *buf = driver_encode(&d, f, FALSE);
        g_assert_cmpint(is_key_frame(codec, buf), ==, t % 10 == 0);
        buf->free(buf);
    }
    driver_stop(&d);
    test_frame_free(f);
}

/* x264's periodic intra refresh: no IDR after the first one, yet a forced
 * key frame is still an IDR with its headers. */
static void test_intra_refresh(gconstpointer data)
{
    const NativeCodec *codec = data;
    TestFrame *f = test_frame_new(192, 108, FALSE, 0, FALSE);
    Driver d;

    driver_start(&d, codec, "intra-refresh=true,keyint=10", 192, 108, FALSE, 500000);
    for (int t = 0; t < 40; t++) {
        VideoBuffer *buf = driver_encode(&d, f, t == 25);
        g_assert_cmpint(is_key_frame(codec, buf), ==, t == 0 || t == 25);
        buf->free(buf);
    }
    driver_stop(&d);
    test_frame_free(f);
}

/* Mean output size of @n frames from @t0. */
static double mean_size(Driver *d, int t0, int n)
{
    guint64 total = 0;

    for (int t = t0; t < t0 + n; t++) {
        TestFrame *f = test_frame_new(480, 270, FALSE, t, TRUE);
        VideoBuffer *buf = driver_encode(d, f, FALSE);
        total += buf->size;
        buf->free(buf);
        test_frame_free(f);
    }
    return (double)total / n;
}

/* A live bit-rate change moves the output size the same way. */
static void test_set_bit_rate(gconstpointer data)
{
    const NativeCodec *codec = data;
    Driver d;
    double low, high;

    driver_start(&d, codec, NULL, 480, 270, FALSE, 200000);
    mean_size(&d, 0, 20); /* settle after the key frame */
    low = mean_size(&d, 20, 20);
    g_assert_true(codec->klass->set_bit_rate(d.backend, 5000000));
    mean_size(&d, 40, 10);
    high = mean_size(&d, 50, 20);
    g_test_message("%s: mean frame %.0f bytes at 200 kbit/s, %.0f at 5 Mbit/s", codec->name, low,
                   high);
    /* 25x the rate; CBR should give far more than 4x the bytes. */
    g_assert_cmpfloat(high / low, >, 4.0);
    /* And roughly the target: 200 kbit/s at 30 fps is 833 bytes a frame. */
    g_assert_cmpfloat(low, <, 833.0 * 2.5);
    driver_stop(&d);
}

static void test_odd_size(gconstpointer data)
{
    const NativeCodec *codec = data;
    Driver d;

    driver_start(&d, codec, NULL, 161, 97, FALSE, 500000);
    for (int t = 0; t < 10; t++) {
        TestFrame *f = test_frame_new(161, 97, FALSE, t, FALSE);
        VideoBuffer *buf = driver_encode(&d, f, FALSE);
        g_assert_cmpint(is_key_frame(codec, buf), ==, t == 0);
        buf->free(buf);
        test_frame_free(f);
    }
    /* A restart with another size, as after a resolution change. */
    SvBackendFormat format = {codec->codec, 1, 1, FPS, FALSE};
    g_autoptr(GError) error = NULL;
    g_assert_true(codec->klass->start(d.backend, &format, 500000, &error));
    g_assert_no_error(error);
    d.format = format;
    TestFrame *tiny = test_frame_new(1, 1, FALSE, 0, FALSE);
    VideoBuffer *buf = driver_encode(&d, tiny, FALSE);
    g_assert_true(is_key_frame(codec, buf));
    buf->free(buf);
    test_frame_free(tiny);
    driver_stop(&d);
}

/* Sizes the codec cannot take are an error from start(), not a crash. */
static void test_bad_size(gconstpointer data)
{
    const NativeCodec *codec = data;
    int values[SV_MAX_ENCODER_OPTIONS];
    g_autoptr(GError) error = NULL;
    void *backend = codec->klass->create(codec->codec, parse_options(codec, NULL, values), &error);
    const uint32_t sizes[][2] = {{0, 100}, {100, 0}, {70000, 64}, {64, 70000}};

    g_assert_nonnull(backend);
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
        SvBackendFormat format = {codec->codec, sizes[i][0], sizes[i][1], FPS, FALSE};
        g_assert_false(codec->klass->start(backend, &format, 1000000, &error));
        g_assert_nonnull(error);
        g_test_message("%ux%u: %s", sizes[i][0], sizes[i][1], error->message);
        g_clear_error(&error);
    }
    /* Still usable afterwards. */
    SvBackendFormat format = {codec->codec, 64, 64, FPS, FALSE};
    g_assert_true(codec->klass->start(backend, &format, 1000000, &error));
    g_assert_no_error(error);
    codec->klass->destroy(backend);
}

/* Buffers are plain allocations: valid and freeable after destroy(). */
static void test_buffer_outlives_backend(gconstpointer data)
{
    const NativeCodec *codec = data;
    TestFrame *f = test_frame_new(64, 48, FALSE, 0, FALSE);
    VideoBuffer *bufs[3];
    Driver d;

    driver_start(&d, codec, NULL, 64, 48, FALSE, 300000);
    for (int i = 0; i < 3; i++) {
        bufs[i] = driver_encode(&d, f, FALSE);
    }
    driver_stop(&d);
    for (int i = 0; i < 3; i++) {
        volatile guint8 first = bufs[i]->data[0];
        (void)first;
        bufs[i]->free(bufs[i]);
    }
    test_frame_free(f);
}

static void test_yuv444(gconstpointer data)
{
    const NativeCodec *codec = data;
    int values[SV_MAX_ENCODER_OPTIONS];
    g_autoptr(GError) error = NULL;
    Driver d;

    if (!codec->has_yuv444) {
        /* VP8 has no 4:4:4: the option parses, the backend refuses it. */
        void *backend =
            codec->klass->create(codec->codec, parse_options(codec, "yuv444=true", values), &error);
        g_assert_null(backend);
        g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE);
        return;
    }
    driver_start(&d, codec, "yuv444=true", 161, 97, TRUE, 1000000);
    for (int t = 0; t < 5; t++) {
        TestFrame *f = test_frame_new(161, 97, TRUE, t, FALSE);
        VideoBuffer *buf = driver_encode(&d, f, FALSE);

        g_assert_cmpint(is_key_frame(codec, buf), ==, t == 0);
        if (codec->codec == SPICE_VIDEO_CODEC_TYPE_H264) {
            if (t == 0) {
                /* High 4:4:4 Predictive */
                g_assert_cmpint(h264_inspect(buf).profile_idc, ==, 244);
            }
        } else {
            g_assert_cmpint(vpx_inspect(codec->codec, buf).vp9_profile, ==, 1);
        }
        buf->free(buf);
        test_frame_free(f);
    }
    driver_stop(&d);
}

typedef struct {
    const char *string;
    const char *message; /* part of the expected error */
} BadOption;

static void test_options(gconstpointer data)
{
    const NativeCodec *codec = data;
    int values[SV_MAX_ENCODER_OPTIONS];
    const BadOption common[] = {
        {"keyint=-1", "out of range"},     {"keyint=100000", "out of range"},
        {"threads=65", "out of range"},    {"threads=two", "not an integer"},
        {"yuv444=maybe", "not a boolean"}, {"colour=blue", "unknown option 'colour'"},
        {"keyint", "not name=value"},
    };
    const BadOption x264_bad[] = {
        {"preset=turbo", "not one of"},
        {"tune=zerolatency", "not one of"},
    };
    const BadOption vp8_bad[] = {
        {"cpu-used=17", "out of range -16..16"},
        {"row-mt=true", "unknown option"},
    };
    const BadOption vp9_bad[] = {
        {"cpu-used=-10", "out of range -9..9"},
        {"tile-columns=7", "out of range"},
        {"tune=film", "not one of"},
    };
    const BadOption *specific;
    guint n_specific;
    const char *good;

    switch (codec->codec) {
    case SPICE_VIDEO_CODEC_TYPE_H264:
        specific = x264_bad;
        n_specific = G_N_ELEMENTS(x264_bad);
        good = "preset=veryfast,tune=film,keyint=30,threads=2,intra-refresh=on,yuv444=false";
        break;
    case SPICE_VIDEO_CODEC_TYPE_VP8:
        specific = vp8_bad;
        n_specific = G_N_ELEMENTS(vp8_bad);
        good = "cpu-used=-3,keyint=30,threads=2,tune=screen,yuv444=no";
        break;
    default:
        specific = vp9_bad;
        n_specific = G_N_ELEMENTS(vp9_bad);
        good = "cpu-used=8,keyint=30,threads=2,tune=screen,row-mt=off,tile-columns=1,yuv444=1";
        break;
    }
    for (guint i = 0; i < G_N_ELEMENTS(common) + n_specific; i++) {
        const BadOption *bad =
            i < G_N_ELEMENTS(common) ? &common[i] : &specific[i - G_N_ELEMENTS(common)];
        g_autoptr(GError) error = NULL;

        g_assert_false(sv_encoder_options_parse(codec->table, bad->string, values, &error));
        g_assert_nonnull(error);
        if (strstr(error->message, bad->message) == NULL) {
            g_error("'%s': unexpected message '%s'", bad->string, error->message);
        }
    }

    /* Defaults, and that every good value starts an encoder. */
    g_assert_true(sv_encoder_options_parse(codec->table, NULL, values, NULL));
    g_autofree char *defaults = sv_encoder_options_to_string(codec->table, values);
    g_test_message("%s defaults: %s", codec->name, defaults);
    if (codec->codec == SPICE_VIDEO_CODEC_TYPE_H264) {
        g_assert_nonnull(strstr(defaults, "preset=ultrafast"));
    } else if (codec->codec == SPICE_VIDEO_CODEC_TYPE_VP8) {
        g_assert_nonnull(strstr(defaults, "cpu-used=16"));
    } else {
        g_assert_nonnull(strstr(defaults, "cpu-used=9"));
    }

    Driver d;
    gboolean yuv444 = codec->codec == SPICE_VIDEO_CODEC_TYPE_VP9;
    TestFrame *f = test_frame_new(96, 64, yuv444, 0, FALSE);
    driver_start(&d, codec, good, 96, 64, yuv444, 400000);
    for (int t = 0; t < 3; t++) {
        VideoBuffer *buf = driver_encode(&d, f, FALSE);
        buf->free(buf);
    }
    driver_stop(&d);
    test_frame_free(f);
}

/* ---- decoding with GStreamer ------------------------------------------------- */

#if SV_HAVE_GSTREAMER
static gboolean have_elements(const char *const *names)
{
    for (guint i = 0; names[i] != NULL; i++) {
        GstElementFactory *factory = gst_element_factory_find(names[i]);
        if (factory == NULL) {
            g_autofree char *reason = g_strdup_printf("GStreamer %s not installed", names[i]);
            g_test_skip(reason);
            return FALSE;
        }
        gst_object_unref(factory);
    }
    return TRUE;
}

static double plane_psnr(const guint8 *a, int a_stride, const guint8 *b, int b_stride, int w, int h)
{
    double sse = 0.0;

    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            double d = (double)a[(gsize)y * a_stride + x] - b[(gsize)y * b_stride + x];
            sse += d * d;
        }
    }
    if (sse == 0.0) {
        return 99.0;
    }
    return 10.0 * log10(255.0 * 255.0 * w * h / sse);
}
#endif

/* Encodes N_FRAMES of @width x @height, decodes them with GStreamer and
 * checks the luma PSNR of every frame. */
static void decode_check(const NativeCodec *codec, uint32_t width, uint32_t height, gboolean yuv444)
{
#if SV_HAVE_GSTREAMER
    static const char *const h264_elements[] = {"appsrc", "h264parse", "avdec_h264", "appsink",
                                                NULL};
    static const char *const vp8_elements[] = {"appsrc", "vp8dec", "appsink", NULL};
    static const char *const vp9_elements[] = {"appsrc", "vp9parse", "vp9dec", "appsink", NULL};
    const char *launch;
    const char *const *elements;
    GstCaps *caps;
    TestFrame *frames[N_FRAMES];
    GstElement *pipeline, *src, *sink;
    g_autoptr(GError) error = NULL;
    double min_psnr = 99.0, sum_psnr = 0.0;
    Driver d;
    int decoded = 0;

    switch (codec->codec) {
    case SPICE_VIDEO_CODEC_TYPE_H264:
        elements = h264_elements;
        launch = "appsrc name=src format=time ! h264parse ! avdec_h264 ! appsink name=sink "
                 "sync=false";
        caps = gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "byte-stream",
                                   "alignment", G_TYPE_STRING, "au", NULL);
        break;
    case SPICE_VIDEO_CODEC_TYPE_VP8:
        elements = vp8_elements;
        launch = "appsrc name=src format=time ! vp8dec ! appsink name=sink sync=false";
        caps = gst_caps_new_simple("video/x-vp8", "width", G_TYPE_INT, (int)width, "height",
                                   G_TYPE_INT, (int)height, "framerate", GST_TYPE_FRACTION, FPS, 1,
                                   NULL);
        break;
    default:
        elements = vp9_elements;
        launch = "appsrc name=src format=time ! vp9parse ! vp9dec ! appsink name=sink sync=false";
        caps = gst_caps_new_simple("video/x-vp9", "width", G_TYPE_INT, (int)width, "height",
                                   G_TYPE_INT, (int)height, "framerate", GST_TYPE_FRACTION, FPS, 1,
                                   NULL);
        break;
    }
    if (!have_elements(elements)) {
        gst_caps_unref(caps);
        return;
    }
    pipeline = gst_parse_launch(launch, &error);
    g_assert_no_error(error);
    src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    gst_app_src_set_caps(GST_APP_SRC(src), caps);
    gst_caps_unref(caps);
    g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), !=,
                    GST_STATE_CHANGE_FAILURE);

    driver_start(&d, codec, yuv444 ? "yuv444=true" : NULL, width, height, yuv444, 1500000);
    for (int t = 0; t < N_FRAMES; t++) {
        frames[t] = test_frame_new(width, height, yuv444, t, FALSE);
        VideoBuffer *buf = driver_encode(&d, frames[t], FALSE);
        GstBuffer *gbuf = gst_buffer_new_memdup(buf->data, buf->size);

        GST_BUFFER_PTS(gbuf) = (GstClockTime)t * GST_SECOND / FPS;
        GST_BUFFER_DURATION(gbuf) = GST_SECOND / FPS;
        buf->free(buf);
        g_assert_cmpint(gst_app_src_push_buffer(GST_APP_SRC(src), gbuf), ==, GST_FLOW_OK);
    }
    driver_stop(&d);
    gst_app_src_end_of_stream(GST_APP_SRC(src));

    for (;;) {
        GstSample *sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND);
        GstVideoInfo info;
        GstVideoFrame vframe;

        if (sample == NULL) {
            break;
        }
        g_assert_cmpint(decoded, <, N_FRAMES);
        g_assert_true(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
        if (codec->codec == SPICE_VIDEO_CODEC_TYPE_H264 && !yuv444) {
            /* Odd 4:2:0 sizes come out one pixel larger (streaming-encoders.md). */
            g_assert_cmpint(GST_VIDEO_INFO_WIDTH(&info), ==, (width + 1) & ~1u);
            g_assert_cmpint(GST_VIDEO_INFO_HEIGHT(&info), ==, (height + 1) & ~1u);
        } else {
            g_assert_cmpint(GST_VIDEO_INFO_WIDTH(&info), ==, width);
            g_assert_cmpint(GST_VIDEO_INFO_HEIGHT(&info), ==, height);
        }
        if (decoded == 0) {
            g_test_message("%s: decoded as %s", codec->name,
                           gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&info)));
        }
        g_assert_cmpint(GST_VIDEO_INFO_FORMAT(&info), ==,
                        yuv444 ? GST_VIDEO_FORMAT_Y444 : GST_VIDEO_FORMAT_I420);
        g_assert_true(gst_video_frame_map(&vframe, &info, gst_sample_get_buffer(sample),
                                          GST_MAP_READ));
        double psnr =
            plane_psnr(GST_VIDEO_FRAME_PLANE_DATA(&vframe, 0),
                       GST_VIDEO_FRAME_PLANE_STRIDE(&vframe, 0), frames[decoded]->planes[0],
                       frames[decoded]->strides[0], (int)width, (int)height);
        gst_video_frame_unmap(&vframe);
        gst_sample_unref(sample);
        min_psnr = MIN(min_psnr, psnr);
        sum_psnr += psnr;
        decoded++;
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(src);
    gst_object_unref(sink);
    gst_object_unref(pipeline);
    for (int t = 0; t < N_FRAMES; t++) {
        test_frame_free(frames[t]);
    }
    g_test_message("%s %ux%u%s: %d frames decoded, luma PSNR min %.2f dB, mean %.2f dB",
                   codec->name, width, height, yuv444 ? " I444" : "", decoded, min_psnr,
                   sum_psnr / MAX(decoded, 1));
    g_assert_cmpint(decoded, ==, N_FRAMES);
    g_assert_cmpfloat(min_psnr, >=, MIN_LUMA_PSNR_DB);
#else
    (void)codec;
    (void)width;
    (void)height;
    (void)yuv444;
    g_test_skip("built without GStreamer: no decoder to check with");
#endif
}

static void test_decode_psnr(gconstpointer data)
{
    decode_check(data, 320, 180, FALSE);
}

static void test_decode_psnr_odd(gconstpointer data)
{
    decode_check(data, 161, 97, FALSE);
}

static void test_decode_psnr_yuv444(gconstpointer data)
{
    decode_check(data, 161, 97, TRUE);
}

/* GLib keeps its first quark block when GStreamer's quarks outgrow it and
 * drops the pointer on purpose (readers are lock-free); LeakSanitizer sees
 * that block, allocated by GLib's library constructor, as a leak. Only
 * allocations made while shared libraries initialise are exempted; the
 * slow unwinder is needed to see through GLib, built without frame
 * pointers. Both hooks are ignored outside sanitizer builds. */
__attribute__((visibility("default"))) const char *__asan_default_options(void);
__attribute__((visibility("default"))) const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void);
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void)
{
    return "leak:_dl_init\n";
}

/* The factories refuse codecs their library does not make. */
static void test_wrong_codec(void)
{
    g_autoptr(GError) error = NULL;

#if SV_HAVE_X264
    g_assert_null(sv_x264_backend_class.create(SPICE_VIDEO_CODEC_TYPE_VP8, NULL, &error));
    g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE);
    g_clear_error(&error);
#endif
#if SV_HAVE_VPX
    g_assert_null(sv_vpx_backend_class.create(SPICE_VIDEO_CODEC_TYPE_H264, NULL, &error));
    g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE);
    g_clear_error(&error);
#endif
    g_assert_null(sv_x264_encoder_new(SPICE_VIDEO_CODEC_TYPE_VP8, 1000000, NULL, NULL, NULL));
    g_assert_null(sv_vpx_encoder_new(SPICE_VIDEO_CODEC_TYPE_H264, 1000000, NULL, NULL, NULL));
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        GTestDataFunc func;
        gboolean h264_only;
        gboolean needs_yuv444;
    } cases[] = {
        {"one-output-per-input", test_one_output_per_input},
        {"force-key-frame", test_force_key_frame},
        {"keyint", test_keyint},
        {"intra-refresh", test_intra_refresh, TRUE},
        {"set-bit-rate", test_set_bit_rate},
        {"odd-size", test_odd_size},
        {"bad-size", test_bad_size},
        {"buffer-outlives-backend", test_buffer_outlives_backend},
        {"yuv444", test_yuv444},
        {"options", test_options},
        {"decode-psnr", test_decode_psnr},
        {"decode-psnr-odd-size", test_decode_psnr_odd},
        {"decode-psnr-yuv444", test_decode_psnr_yuv444, FALSE, TRUE},
    };

    g_test_init(&argc, &argv, NULL);
#if SV_HAVE_GSTREAMER
    gst_init(&argc, &argv);
#endif
    g_test_add_func("/native-backends/wrong-codec", test_wrong_codec);
    for (guint c = 0; codecs[c].name != NULL; c++) {
        for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
            if ((cases[i].h264_only && codecs[c].codec != SPICE_VIDEO_CODEC_TYPE_H264) ||
                (cases[i].needs_yuv444 && !codecs[c].has_yuv444)) {
                continue;
            }
            g_autofree char *path =
                g_strdup_printf("/native-backends/%s/%s", codecs[c].name, cases[i].name);
            g_test_add_data_func(path, &codecs[c], cases[i].func);
        }
    }
    int result = g_test_run();
#if SV_HAVE_GSTREAMER
    gst_deinit();
#endif
    return result;
}
