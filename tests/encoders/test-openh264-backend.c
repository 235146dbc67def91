/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The openh264 module's codec backend on its own (the backend contract of
 * codec-backend.h): one output per input, forced key frames, keyint, a live
 * bit-rate change that moves the output size, odd sizes. The module as a
 * whole is tested through the loader in test-openh264-module.c.
 */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "openh264-backend.h"
#include "streaming-checks.h"

#define FPS 30

typedef struct {
    guint8 *planes[3];
    int strides[3];
    uint32_t width, height;
} TestFrame;

static guint8 clamp_u8(double v)
{
    return v <= 0.0 ? 0 : v >= 255.0 ? 255 : (guint8)(v + 0.5);
}

/* Frame @t of a smooth moving picture; with @texture, fine detail that
 * needs bits at any quality (for the bit-rate test). */
static TestFrame *test_frame_new(uint32_t width, uint32_t height, int t, gboolean texture)
{
    TestFrame *f = g_new0(TestFrame, 1);
    uint32_t cw = (width + 1) / 2, ch = (height + 1) / 2;
    guint32 noise = 12345u + (guint32)t * 7919u;

    f->width = width;
    f->height = height;
    /* Strides wider than the picture: the backend must honour them. */
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
            double luma = 40.0 + 120.0 * u + 40.0 * v + 60.0 * exp(-d2 * 30.0);
            if (texture) {
                noise = noise * 1664525u + 1013904223u;
                luma += (double)(noise >> 27) * 2.0 - 31.0;
            }
            f->planes[0][(gsize)y * f->strides[0] + x] = clamp_u8(luma);
        }
    }
    for (uint32_t y = 0; y < ch; y++) {
        for (uint32_t x = 0; x < cw; x++) {
            f->planes[1][(gsize)y * f->strides[1] + x] = clamp_u8(128.0 + 40.0 * sin(x * 0.1));
            f->planes[2][(gsize)y * f->strides[2] + x] = clamp_u8(128.0 + 40.0 * cos(y * 0.1));
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

typedef struct {
    void *backend;
    SvBackendFormat format;
    int64_t frame_number;
} Driver;

static void driver_start(Driver *d, const char *options, uint32_t width, uint32_t height,
                         uint64_t bit_rate_bps)
{
    int values[SV_MAX_ENCODER_OPTIONS];
    g_autoptr(GError) error = NULL;

    memset(d, 0, sizeof(*d));
    g_assert_true(sv_encoder_options_parse(sv_openh264_options, options, values, &error));
    d->backend = sv_openh264_backend_class.create(SPICE_VIDEO_CODEC_TYPE_H264, values, &error);
    g_assert_no_error(error);
    g_assert_nonnull(d->backend);
    d->format = (SvBackendFormat){SPICE_VIDEO_CODEC_TYPE_H264, width, height, FPS, FALSE};
    g_assert_true(sv_openh264_backend_class.start(d->backend, &d->format, bit_rate_bps, &error));
    g_assert_no_error(error);
}

/* One frame in, one access unit out, starting with a start code. */
static VideoBuffer *driver_encode(Driver *d, const TestFrame *f, gboolean force_key)
{
    SvYuvFrame frame = {
        .width = f->width,
        .height = f->height,
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
    g_assert_cmpint(sv_openh264_backend_class.encode(d->backend, &frame,
                                                     G_GINT64_CONSTANT(1000000000), &out),
                    ==, SV_BACKEND_OK);
    g_assert_nonnull(out);
    g_assert_cmpuint(out->size, >, 0);
    g_assert_true(annexb_scan(out->data, out->size, FALSE).starts_with_start_code);
    return out;
}

static void driver_stop(Driver *d)
{
    sv_openh264_backend_class.destroy(d->backend);
    d->backend = NULL;
}

/* An IDR access unit with its parameter sets, or a frame with neither. */
static gboolean is_idr_with_headers(const VideoBuffer *buf)
{
    AnnexBInfo info = annexb_scan(buf->data, buf->size, FALSE);
    gboolean idr = annexb_has(&info, H264_NAL_IDR);

    g_assert_cmpint(annexb_has(&info, H264_NAL_SPS), ==, idr);
    g_assert_cmpint(annexb_has(&info, H264_NAL_PPS), ==, idr);
    return idr;
}

static void test_force_key_frame(void)
{
    TestFrame *f[3];
    Driver d;

    for (int i = 0; i < 3; i++) {
        f[i] = test_frame_new(256, 144, i, FALSE);
    }
    driver_start(&d, NULL, 256, 144, 800000);
    for (int t = 0; t < 20; t++) {
        gboolean force = t == 0 || t == 7 || t == 15;
        VideoBuffer *buf = driver_encode(&d, f[t % 3], force);

        g_assert_cmpint(is_idr_with_headers(buf), ==, force);
        buf->free(buf);
    }
    driver_stop(&d);
    for (int i = 0; i < 3; i++) {
        test_frame_free(f[i]);
    }
}

static void test_keyint(void)
{
    TestFrame *f = test_frame_new(192, 108, 0, FALSE);
    Driver d;

    driver_start(&d, "keyint=10", 192, 108, 500000);
    for (int t = 0; t < 25; t++) {
        VideoBuffer *buf = driver_encode(&d, f, FALSE);
        g_assert_cmpint(is_idr_with_headers(buf), ==, t % 10 == 0);
        buf->free(buf);
    }
    driver_stop(&d);
    test_frame_free(f);
}

/* Mean output size of @n textured 480x270 frames from @t0. */
static double mean_size(Driver *d, int t0, int n)
{
    guint64 total = 0;

    for (int t = t0; t < t0 + n; t++) {
        TestFrame *f = test_frame_new(480, 270, t, TRUE);
        VideoBuffer *buf = driver_encode(d, f, FALSE);
        total += buf->size;
        buf->free(buf);
        test_frame_free(f);
    }
    return (double)total / n;
}

/* A live bit-rate change (no restart: no new IDR) moves the output size
 * the same way, both ways. It starts high: without frame skipping,
 * OpenH264 pays back an IDR that overshoots a low target over many frames. */
static void test_set_bit_rate(void)
{
    Driver d;
    double high, low, high_again;

    driver_start(&d, NULL, 480, 270, 5000000);
    mean_size(&d, 0, 10); /* settle after the key frame */
    high = mean_size(&d, 10, 20);
    g_assert_true(sv_openh264_backend_class.set_bit_rate(d.backend, 300000));
    mean_size(&d, 30, 20);
    low = mean_size(&d, 50, 20);
    g_assert_true(sv_openh264_backend_class.set_bit_rate(d.backend, 5000000));
    mean_size(&d, 70, 10);
    high_again = mean_size(&d, 80, 20);
    g_test_message("mean frame %.0f bytes at 5 Mbit/s, %.0f at 300 kbit/s, %.0f at 5 Mbit/s", high,
                   low, high_again);
    g_assert_cmpfloat(high / low, >, 4.0);
    g_assert_cmpfloat(high_again / low, >, 4.0);
    /* And roughly the target: 300 kbit/s at 30 fps is 1250 bytes a frame. */
    g_assert_cmpfloat(low, <, 1250.0 * 2.5);
    driver_stop(&d);
}

/* Odd sizes and sizes that are no multiple of 16, through a restart. */
static void test_odd_sizes(void)
{
    static const uint32_t sizes[][2] = {{161, 97}, {16, 16}, {17, 33}, {33, 17}, {642, 361}};
    Driver d;

    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
        TestFrame *f = test_frame_new(sizes[i][0], sizes[i][1], (int)i, FALSE);
        driver_start(&d, NULL, sizes[i][0], sizes[i][1], 1000000);
        for (int t = 0; t < 3; t++) {
            VideoBuffer *buf = driver_encode(&d, f, t == 0);
            g_assert_cmpint(is_idr_with_headers(buf), ==, t == 0);
            buf->free(buf);
        }
        driver_stop(&d);
        test_frame_free(f);
    }
}

static void test_refusals(void)
{
    g_autoptr(GError) error = NULL;
    static const SvBackendFormat refused[] = {
        {SPICE_VIDEO_CODEC_TYPE_H264, 64, 64, FPS, TRUE},  /* 4:4:4 */
        {SPICE_VIDEO_CODEC_TYPE_H264, 15, 64, FPS, FALSE}, /* OpenH264's minimum is 16 */
        {SPICE_VIDEO_CODEC_TYPE_H264, 64, 15, FPS, FALSE},
        {SPICE_VIDEO_CODEC_TYPE_H264, 8192, 64, FPS, FALSE},
    };
    void *backend;

    g_assert_null(sv_openh264_backend_class.create(SPICE_VIDEO_CODEC_TYPE_VP8, NULL, &error));
    g_assert_nonnull(error);
    g_clear_error(&error);
    backend = sv_openh264_backend_class.create(SPICE_VIDEO_CODEC_TYPE_H264, NULL, &error);
    g_assert_nonnull(backend);
    for (guint i = 0; i < G_N_ELEMENTS(refused); i++) {
        g_assert_false(sv_openh264_backend_class.start(backend, &refused[i], 1000000, &error));
        g_assert_nonnull(error);
        g_clear_error(&error);
    }
    /* Not started: nothing to change live. */
    g_assert_false(sv_openh264_backend_class.set_bit_rate(backend, 1000000));
    sv_openh264_backend_class.destroy(backend);
}

static void test_probe(void)
{
    char why[128] = "";

    g_assert_true(sv_openh264_probe(why, sizeof(why)));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/openh264-backend/probe", test_probe);
    g_test_add_func("/openh264-backend/force-key-frame", test_force_key_frame);
    g_test_add_func("/openh264-backend/keyint", test_keyint);
    g_test_add_func("/openh264-backend/set-bit-rate", test_set_bit_rate);
    g_test_add_func("/openh264-backend/odd-sizes", test_odd_sizes);
    g_test_add_func("/openh264-backend/refusals", test_refusals);
    return g_test_run();
}
