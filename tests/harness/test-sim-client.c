/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The simulated client (harness/sim-client.h): spice-gtk's report windows
 * (5 frames, 1 s, 3 late frames in a row), margins against its mm_time
 * clock, cannot-decode reports, the capability presets, and real decoding
 * of every codec an encoder of the registry produces here, painted into the
 * client's screen.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib.h>
#include <turbojpeg.h>

#if SV_HAVE_GSTREAMER
#include <gst/gst.h>
#endif

#include <spice/protocol.h>
#include <spice/qxl_dev.h>

#include <spice-video/registry.h>
#include <spice-video/server.h>

#include "../test-timeout.h"
#include "sim-client.h"

#define NS_PER_MS G_GINT64_CONSTANT(1000000)
#define MIN_PSNR_DB 30.0

#define JPEG_WIDTH 64
#define JPEG_HEIGHT 48

/* ---- synthetic messages ---------------------------------------------------------------- */

static SvMessage message_init(SvMessageType type, int stream_id)
{
    SvMessage message;

    memset(&message, 0, sizeof(message));
    message.type = type;
    message.stream_id = stream_id;
    return message;
}

static SvSimClient *client_new(SvClientPreset preset, uint32_t caps, gboolean quality)
{
    SvSimClientConfig config;
    g_autoptr(GError) error = NULL;

    sv_sim_client_config_init(&config, preset);
    config.display_caps = caps;
    config.measure_quality = quality;
    SvSimClient *client = sv_sim_client_new(&config, &error);
    g_assert_no_error(error);
    g_assert_nonnull(client);
    return client;
}

static void receive(SvSimClient *client, int64_t now_ns, const SvMessage *message,
                    SvSimResult *result)
{
    g_autoptr(GError) error = NULL;
    SvSimResult local;

    g_assert_true(sv_sim_client_receive(client, now_ns, message, result ? result : &local, &error));
    g_assert_no_error(error);
}

static void send_create(SvSimClient *client, int64_t now_ns, int stream_id,
                        SpiceVideoCodecType codec, uint32_t width, uint32_t height,
                        gboolean top_down, SvSimResult *result)
{
    SvMessage m = message_init(SV_MSG_STREAM_CREATE, stream_id);
    m.codec_type = codec;
    m.width = width;
    m.height = height;
    m.dest = (SpiceRect){0, 0, (int32_t)width, (int32_t)height};
    m.top_down = top_down;
    m.clip_type = SV_CLIP_NONE;
    receive(client, now_ns, &m, result);
}

static void send_activate(SvSimClient *client, int64_t now_ns, int stream_id, uint32_t unique_id)
{
    SvMessage m = message_init(SV_MSG_STREAM_ACTIVATE_REPORT, stream_id);
    m.unique_id = unique_id;
    m.max_window_size = 5; /* spice-server's values (reference 6.1) */
    m.timeout_ms = 1000;
    receive(client, now_ns, &m, NULL);
}

static void send_mm_time(SvSimClient *client, int64_t now_ns, uint32_t mm_time)
{
    SvMessage m = message_init(SV_MSG_MULTI_MEDIA_TIME, -1);
    m.mm_time = mm_time;
    receive(client, now_ns, &m, NULL);
}

/* A real JPEG frame (tjCompress2), so that the client's decoder takes it. */
static GBytes *jpeg_frame_new(guint index)
{
    guint8 *bgrx = g_malloc(JPEG_WIDTH * JPEG_HEIGHT * 4);
    unsigned char *jpeg = NULL;
    unsigned long jpeg_size = 0;

    for (guint y = 0; y < JPEG_HEIGHT; y++) {
        for (guint x = 0; x < JPEG_WIDTH; x++) {
            guint8 *px = bgrx + (y * JPEG_WIDTH + x) * 4;
            px[0] = (guint8)(x * 4 + index * 8);
            px[1] = (guint8)(y * 5);
            px[2] = (guint8)(128 + index * 16);
            px[3] = 0;
        }
    }
    tjhandle tj = tjInitCompress();
    g_assert_nonnull(tj);
    g_assert_cmpint(tjCompress2(tj, bgrx, JPEG_WIDTH, JPEG_WIDTH * 4, JPEG_HEIGHT, TJPF_BGRX, &jpeg,
                                &jpeg_size, TJSAMP_420, 90, 0),
                    ==, 0);
    GBytes *bytes = g_bytes_new(jpeg, jpeg_size);
    tjFree(jpeg);
    tjDestroy(tj);
    g_free(bgrx);
    return bytes;
}

/* Sends one MJPEG frame stamped @stamp at @now_ns. */
static void send_jpeg(SvSimClient *client, int64_t now_ns, int stream_id, uint32_t stamp,
                      SvSimResult *result)
{
    static GBytes *frame;

    if (frame == NULL) {
        frame = jpeg_frame_new(0); /* lives as long as the program */
    }
    SvMessage m = message_init(SV_MSG_STREAM_DATA, stream_id);
    gsize size = 0;
    m.mm_time = stamp;
    m.data = g_bytes_get_data(frame, &size);
    m.data_size = (uint32_t)size;
    m.width = JPEG_WIDTH;
    m.height = JPEG_HEIGHT;
    receive(client, now_ns, &m, result);
}

static gboolean pop_report(SvSimClient *client, SvStreamReport *report)
{
    return sv_sim_client_pop_report(client, report);
}

static void assert_no_report(SvSimClient *client)
{
    SvStreamReport report;
    g_assert_false(pop_report(client, &report));
}

static void assert_cannot_decode(SvSimClient *client, uint32_t stream_id, uint32_t unique_id)
{
    SvStreamReport report;

    g_assert_true(pop_report(client, &report));
    g_assert_cmpuint(report.stream_id, ==, stream_id);
    g_assert_cmpuint(report.unique_id, ==, unique_id);
    g_assert_cmpuint(report.num_frames, ==, 0);
    g_assert_cmpuint(report.num_drops, ==, 0xFFFFFFFFu);
}

/* ---- clock ------------------------------------------------------------------------------- */

static void test_clock(void)
{
    g_autoptr(SvSimClient) client = client_new(SV_CLIENT_PRESET_SPICE_GTK, 0, FALSE);
    SvSimClientStats stats;

    sv_sim_client_set_mm_time(client, 2 * G_GINT64_CONSTANT(1000000000), 5000);
    g_assert_cmpuint(sv_sim_client_mm_time(client, 2 * G_GINT64_CONSTANT(1000000000)), ==, 5000);
    /* It runs on its own: 1 ms per ms, truncated. */
    g_assert_cmpuint(sv_sim_client_mm_time(client, 2 * G_GINT64_CONSTANT(1000000000) +
                                                       250 * NS_PER_MS + 999999),
                     ==, 5250);
    g_assert_cmpuint(sv_sim_client_mm_time(client, 2 * G_GINT64_CONSTANT(1000000000) - 1), ==,
                     4999);
    g_assert_cmpint(sv_sim_client_due_ns(client, 5400), ==,
                    2 * G_GINT64_CONSTANT(1000000000) + 400 * NS_PER_MS);
    g_assert_cmpint(sv_sim_client_due_ns(client, 4900), ==,
                    2 * G_GINT64_CONSTANT(1000000000) - 100 * NS_PER_MS);

    /* A MULTI_MEDIA_TIME message sets it; small forward jumps are no reset,
     * > 500 ms forward or any backward jump is. */
    send_mm_time(client, 3 * G_GINT64_CONSTANT(1000000000), 6100); /* +100 */
    g_assert_cmpuint(sv_sim_client_mm_time(client, 3 * G_GINT64_CONSTANT(1000000000)), ==, 6100);
    sv_sim_client_get_stats(client, &stats);
    g_assert_cmpuint(stats.mm_time_resets, ==, 0);
    send_mm_time(client, 3 * G_GINT64_CONSTANT(1000000000), 6600); /* +500: still no reset */
    sv_sim_client_get_stats(client, &stats);
    g_assert_cmpuint(stats.mm_time_resets, ==, 0);
    send_mm_time(client, 3 * G_GINT64_CONSTANT(1000000000), 7101); /* +501 */
    sv_sim_client_get_stats(client, &stats);
    g_assert_cmpuint(stats.mm_time_resets, ==, 1);
    send_mm_time(client, 3 * G_GINT64_CONSTANT(1000000000), 7100); /* -1 */
    sv_sim_client_get_stats(client, &stats);
    g_assert_cmpuint(stats.mm_time_resets, ==, 2);

    /* uint32 wrap-around. */
    sv_sim_client_set_mm_time(client, 0, UINT32_MAX - 10);
    g_assert_cmpuint(sv_sim_client_mm_time(client, 20 * NS_PER_MS), ==, 9);
    g_assert_cmpint(sv_sim_client_due_ns(client, 9), ==, 20 * NS_PER_MS);
}

/* ---- report windows ---------------------------------------------------------------------- */

#define STREAM 3
#define UNIQUE 0x1234u

/* A spice-gtk client with an MJPEG stream and active reports; its clock
 * reads 1000 at time 0. */
static SvSimClient *report_client_new(void)
{
    SvSimClient *client = client_new(SV_CLIENT_PRESET_SPICE_GTK, 0, FALSE);
    send_mm_time(client, 0, 1000);
    send_create(client, 0, STREAM, SPICE_VIDEO_CODEC_TYPE_MJPEG, JPEG_WIDTH, JPEG_HEIGHT, TRUE,
                NULL);
    send_activate(client, 0, STREAM, UNIQUE);
    assert_no_report(client);
    return client;
}

static void test_report_full_window(void)
{
    g_autoptr(SvSimClient) client = report_client_new();
    SvStreamReport report;
    SvSimResult result;

    /* Frames 40 ms apart, arriving with margins 200, 190, …, 160 ms. */
    for (guint k = 0; k < 5; k++) {
        int64_t now_ns = 100 * NS_PER_MS + k * 40 * NS_PER_MS;
        uint32_t stamp = 1000 + 100 + k * 40 + 200 - k * 10;
        send_jpeg(client, now_ns, STREAM, stamp, &result);
        g_assert_true(result.is_frame);
        g_assert_cmpint(result.stream_id, ==, STREAM);
        g_assert_cmpuint(result.mm_time, ==, stamp);
        g_assert_cmpint(result.margin_ms, ==, 200 - (int)k * 10);
        g_assert_false(result.late);
        g_assert_true(result.decoded);
        g_assert_null(result.problem);
        g_assert_cmpuint(result.width, ==, JPEG_WIDTH);
        g_assert_cmpuint(result.height, ==, JPEG_HEIGHT);
        g_assert_cmpint(result.due_ns, ==, (int64_t)(stamp - 1000) * NS_PER_MS);
        g_assert_true(isnan(result.psnr_y));
        if (k < 4) {
            assert_no_report(client);
        }
    }
    g_assert_true(pop_report(client, &report));
    g_assert_cmpuint(report.stream_id, ==, STREAM);
    g_assert_cmpuint(report.unique_id, ==, UNIQUE);
    g_assert_cmpuint(report.start_frame_mm_time, ==, 1300);
    g_assert_cmpuint(report.end_frame_mm_time, ==, 1000 + 100 + 160 + 200 - 40);
    g_assert_cmpuint(report.num_frames, ==, 5);
    g_assert_cmpuint(report.num_drops, ==, 0);
    g_assert_cmpint(report.last_frame_delay, ==, 160);
    g_assert_cmpuint(report.audio_delay, ==, 0xFFFFFFFFu);
    assert_no_report(client);

    /* The next window starts afresh. */
    for (guint k = 0; k < 5; k++) {
        send_jpeg(client, (400 + k * 40) * NS_PER_MS, STREAM, 1000 + 500 + k * 40, NULL);
    }
    g_assert_true(pop_report(client, &report));
    g_assert_cmpuint(report.start_frame_mm_time, ==, 1500);
    g_assert_cmpuint(report.end_frame_mm_time, ==, 1660);
    g_assert_cmpuint(report.num_frames, ==, 5);
    g_assert_cmpint(report.last_frame_delay, ==, 100);
    assert_no_report(client);

    SvSimClientStats stats;
    sv_sim_client_get_stats(client, &stats);
    g_assert_cmpuint(stats.frames, ==, 10);
    g_assert_cmpuint(stats.decoded, ==, 10);
    g_assert_cmpuint(stats.late, ==, 0);
    g_assert_cmpuint(stats.reports, ==, 2);
    g_assert_cmpuint(stats.cannot_decode_reports, ==, 0);
    g_assert_cmpint(stats.decode_cpu_ns, >, 0);
}

static void test_report_timeout(void)
{
    g_autoptr(SvSimClient) client = report_client_new();
    SvStreamReport report;

    /* The window starts with the first frame's arrival (t = 2 s). */
    int64_t start_ns = 2000 * NS_PER_MS;
    send_jpeg(client, start_ns, STREAM, 3100, NULL);
    send_jpeg(client, start_ns + 500 * NS_PER_MS, STREAM, 3600, NULL);
    send_jpeg(client, start_ns + 1000 * NS_PER_MS - 1, STREAM, 4000, NULL);
    assert_no_report(client);
    send_jpeg(client, start_ns + 1000 * NS_PER_MS, STREAM, 4050, NULL);
    g_assert_true(pop_report(client, &report));
    g_assert_cmpuint(report.start_frame_mm_time, ==, 3100);
    g_assert_cmpuint(report.end_frame_mm_time, ==, 4050);
    g_assert_cmpuint(report.num_frames, ==, 4);
    g_assert_cmpuint(report.num_drops, ==, 0);
    g_assert_cmpint(report.last_frame_delay, ==, 50);
    assert_no_report(client);

    /* A single frame after a long pause: the window opens on it, so no report yet. */
    send_jpeg(client, 10000 * NS_PER_MS, STREAM, 11100, NULL);
    assert_no_report(client);
    send_jpeg(client, 11000 * NS_PER_MS, STREAM, 12100, NULL);
    g_assert_true(pop_report(client, &report));
    g_assert_cmpuint(report.num_frames, ==, 2);
    g_assert_cmpuint(report.start_frame_mm_time, ==, 11100);
}

static void test_report_late(void)
{
    g_autoptr(SvSimClient) client = report_client_new();
    SvStreamReport report;
    SvSimResult result;
    SvSimClientStats stats;

    /* late, on time, late, late, on time: 3 drops but never 3 in a row, so the
     * report comes with the full window. */
    static const int margins[] = {-20, 30, -1, -5, 0};
    for (guint k = 0; k < G_N_ELEMENTS(margins); k++) {
        int64_t now_ns = (100 + k * 33) * NS_PER_MS;
        uint32_t stamp = (uint32_t)(1000 + 100 + k * 33 + margins[k]);
        send_jpeg(client, now_ns, STREAM, stamp, &result);
        g_assert_cmpint(result.margin_ms, ==, margins[k]);
        g_assert_cmpint(result.late, ==, margins[k] < 0);
        /* A drop is a lateness classification: the frame is still decoded. */
        g_assert_true(result.decoded);
        if (k < 4) {
            assert_no_report(client);
        }
    }
    g_assert_true(pop_report(client, &report));
    g_assert_cmpuint(report.num_frames, ==, 5);
    g_assert_cmpuint(report.num_drops, ==, 3);
    g_assert_cmpint(report.last_frame_delay, ==, 0);
    sv_sim_client_get_stats(client, &stats);
    g_assert_cmpuint(stats.late, ==, 3);

    /* on time, then 3 late in a row: a report on the third. */
    send_jpeg(client, 500 * NS_PER_MS, STREAM, 1000 + 500 + 10, NULL);
    send_jpeg(client, 533 * NS_PER_MS, STREAM, 1000 + 533 - 10, NULL);
    send_jpeg(client, 566 * NS_PER_MS, STREAM, 1000 + 566 - 20, NULL);
    assert_no_report(client);
    send_jpeg(client, 600 * NS_PER_MS, STREAM, 1000 + 600 - 30, &result);
    g_assert_true(result.late);
    g_assert_true(pop_report(client, &report));
    g_assert_cmpuint(report.start_frame_mm_time, ==, 1510);
    g_assert_cmpuint(report.end_frame_mm_time, ==, 1570);
    g_assert_cmpuint(report.num_frames, ==, 4);
    g_assert_cmpuint(report.num_drops, ==, 3);
    g_assert_cmpint(report.last_frame_delay, ==, -30);
    assert_no_report(client);

    /* The run of late frames restarted with the window: 2 more late frames
     * are not a report. */
    send_jpeg(client, 700 * NS_PER_MS, STREAM, 1000 + 600, NULL);
    send_jpeg(client, 733 * NS_PER_MS, STREAM, 1000 + 633, NULL);
    assert_no_report(client);
    sv_sim_client_get_stats(client, &stats);
    g_assert_cmpuint(stats.late, ==, 8);
    g_assert_cmpuint(stats.frames, ==, 11);
}

static void test_report_clock_update(void)
{
    g_autoptr(SvSimClient) client = report_client_new();
    SvSimResult result;
    SvStreamReport report;

    send_jpeg(client, 100 * NS_PER_MS, STREAM, 1200, &result);
    g_assert_cmpint(result.margin_ms, ==, 100);
    g_assert_cmpint(result.due_ns, ==, 200 * NS_PER_MS);

    /* The server raises its latency by 300 ms: the client clock goes back
     * 300 ms and the same stamps arrive with 300 ms more margin. */
    send_mm_time(client, 150 * NS_PER_MS, 1150 - 300);
    send_jpeg(client, 200 * NS_PER_MS, STREAM, 1300, &result);
    g_assert_cmpint(result.margin_ms, ==, 400);
    g_assert_cmpint(result.due_ns, ==, 600 * NS_PER_MS);

    /* Clock forward by 600 ms: the frames are now late. */
    send_mm_time(client, 250 * NS_PER_MS, 1250 + 600 - 300);
    send_jpeg(client, 300 * NS_PER_MS, STREAM, 1350, &result);
    g_assert_cmpint(result.margin_ms, ==, -250);
    g_assert_true(result.late);
    send_jpeg(client, 310 * NS_PER_MS, STREAM, 1360, &result);
    send_jpeg(client, 320 * NS_PER_MS, STREAM, 1370, &result);
    g_assert_true(pop_report(client, &report));
    g_assert_cmpuint(report.num_frames, ==, 5);
    g_assert_cmpuint(report.num_drops, ==, 3);
    g_assert_cmpint(report.last_frame_delay, ==, -250);

    SvSimClientStats stats;
    sv_sim_client_get_stats(client, &stats);
    g_assert_cmpuint(stats.mm_time_resets, ==, 2);
}

static void test_report_zero_stamp(void)
{
    g_autoptr(SvSimClient) client = report_client_new();
    SvSimResult result;

    /* spice-gtk replaces a 0 stamp with now + 100 ms. */
    send_jpeg(client, 50 * NS_PER_MS, STREAM, 0, &result);
    g_assert_cmpuint(result.mm_time, ==, 1150);
    g_assert_cmpint(result.margin_ms, ==, 100);
    g_assert_nonnull(result.problem);
}

/* No reports before activation, nor for another stream's activation. */
static void test_report_inactive(void)
{
    g_autoptr(SvSimClient) client = client_new(SV_CLIENT_PRESET_SPICE_GTK, 0, FALSE);

    send_mm_time(client, 0, 1000);
    send_create(client, 0, 1, SPICE_VIDEO_CODEC_TYPE_MJPEG, JPEG_WIDTH, JPEG_HEIGHT, TRUE, NULL);
    send_create(client, 0, 2, SPICE_VIDEO_CODEC_TYPE_MJPEG, JPEG_WIDTH, JPEG_HEIGHT, TRUE, NULL);
    send_activate(client, 0, 2, 9);
    for (guint k = 0; k < 7; k++) {
        send_jpeg(client, k * 10 * NS_PER_MS, 1, 1200 + k * 10, NULL);
    }
    assert_no_report(client);
    for (guint k = 0; k < 5; k++) {
        send_jpeg(client, k * 10 * NS_PER_MS, 2, 1200 + k * 10, NULL);
    }
    SvStreamReport report;
    g_assert_true(pop_report(client, &report));
    g_assert_cmpuint(report.stream_id, ==, 2);
    g_assert_cmpuint(report.unique_id, ==, 9);

    /* A destroyed stream: its frames are an unknown stream's. */
    SvMessage m = message_init(SV_MSG_STREAM_DESTROY, 2);
    receive(client, 0, &m, NULL);
    SvSimResult result;
    send_jpeg(client, 100 * NS_PER_MS, 2, 1200, &result);
    g_assert_false(result.decoded);
    g_assert_nonnull(result.problem);
    assert_cannot_decode(client, 2, 9);
    m = message_init(SV_MSG_STREAM_DESTROY_ALL, -1);
    receive(client, 0, &m, NULL);
    send_jpeg(client, 100 * NS_PER_MS, 1, 1200, &result);
    assert_cannot_decode(client, 1, 0);
    assert_no_report(client);
}

/* ---- cannot decode ----------------------------------------------------------------------- */

static void test_cannot_decode_create(void)
{
    g_autoptr(SvSimClient) client = client_new(SV_CLIENT_PRESET_SPICE_GTK, 0, FALSE);
    SvSimResult result;
    SvSimClientStats stats;

    /* A codec type nobody decodes. */
    send_create(client, 0, 4, (SpiceVideoCodecType)99, 64, 48, TRUE, &result);
    g_assert_nonnull(result.problem);
    assert_cannot_decode(client, 4, 0);
    assert_no_report(client);
    /* The stream was forgotten: its activation and frames name an unknown
     * stream (spice-gtk answers each with the same report). */
    send_activate(client, 0, 4, 77);
    assert_cannot_decode(client, 4, 77);
    send_jpeg(client, 0, 4, 100, &result);
    g_assert_true(result.is_frame);
    g_assert_false(result.decoded);
    assert_cannot_decode(client, 4, 77);
    SvMessage clip = message_init(SV_MSG_STREAM_CLIP, 4);
    receive(client, 0, &clip, NULL);
    assert_cannot_decode(client, 4, 77);
    assert_no_report(client);

    /* A codec the client did not announce. */
    g_autoptr(SvSimClient) mjpeg_only =
        client_new(SV_CLIENT_PRESET_SPICE_GTK,
                   SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT) | SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) |
                       SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG),
                   FALSE);
    send_create(mjpeg_only, 0, 0, SPICE_VIDEO_CODEC_TYPE_VP8, 64, 48, TRUE, &result);
    g_assert_nonnull(result.problem);
    assert_cannot_decode(mjpeg_only, 0, 0);
    send_create(mjpeg_only, 0, 1, SPICE_VIDEO_CODEC_TYPE_MJPEG, 64, 48, TRUE, &result);
    g_assert_null(result.problem);
    assert_no_report(mjpeg_only);
    sv_sim_client_get_stats(mjpeg_only, &stats);
    g_assert_cmpuint(stats.cannot_decode_reports, ==, 1);
    g_assert_cmpuint(stats.reports, ==, 1);

    sv_sim_client_get_stats(client, &stats);
    g_assert_cmpuint(stats.cannot_decode_reports, ==, 4);
}

static void check_refused(SvSimClient *client, int stream_id, const guint8 *data, gsize size)
{
    SvSimResult result;
    SvSimClientStats before, after;

    sv_sim_client_get_stats(client, &before);
    SvMessage m = message_init(SV_MSG_STREAM_DATA, stream_id);
    m.mm_time = 1500;
    m.data = data;
    m.data_size = (uint32_t)size;
    receive(client, 100 * NS_PER_MS, &m, &result);
    g_assert_true(result.is_frame);
    g_assert_false(result.decoded);
    g_assert_nonnull(result.problem);
    g_assert_cmpint(result.margin_ms, ==, 400);
    assert_cannot_decode(client, (uint32_t)stream_id, 55);
    assert_no_report(client);
    sv_sim_client_get_stats(client, &after);
    g_assert_cmpuint(after.decode_errors, ==, before.decode_errors + 1);

    /* The client destroyed the stream: the next frame names an unknown one. */
    receive(client, 110 * NS_PER_MS, &m, &result);
    g_assert_false(result.decoded);
    assert_cannot_decode(client, (uint32_t)stream_id, 55);
    sv_sim_client_get_stats(client, &after);
    g_assert_cmpuint(after.decode_errors, ==, before.decode_errors + 1);
}

static void test_cannot_decode_garbage_mjpeg(void)
{
    g_autoptr(SvSimClient) client = client_new(SV_CLIENT_PRESET_SPICE_GTK, 0, FALSE);
    static const guint8 garbage[] = {0xff, 0xd8, 0xff, 0x00, 0x13, 0x37, 1, 2, 3, 4, 5, 6, 7};

    send_mm_time(client, 0, 1000);
    send_create(client, 0, 6, SPICE_VIDEO_CODEC_TYPE_MJPEG, 64, 48, TRUE, NULL);
    send_activate(client, 0, 6, 55);
    check_refused(client, 6, garbage, sizeof(garbage));

    /* An empty frame too. */
    send_create(client, 0, 6, SPICE_VIDEO_CODEC_TYPE_MJPEG, 64, 48, TRUE, NULL);
    send_activate(client, 0, 6, 55);
    check_refused(client, 6, garbage, 0);
}

static void test_cannot_decode_garbage_vp8(void)
{
    g_autoptr(SvSimClient) client = client_new(SV_CLIENT_PRESET_SPICE_GTK, 0, FALSE);

    if (!(sv_sim_client_get_caps(client) & SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP8))) {
        g_test_skip("no VP8 decoder (GStreamer vp8dec) here");
        return;
    }
    send_mm_time(client, 0, 1000);

    /* Random bytes. */
    g_autoptr(GRand) rand = g_rand_new_with_seed(42);
    guint8 garbage[4096];
    for (guint i = 0; i < sizeof(garbage); i++) {
        garbage[i] = (guint8)g_rand_int(rand);
    }
    garbage[0] |= 1; /* not a key frame */
    send_create(client, 0, 2, SPICE_VIDEO_CODEC_TYPE_VP8, 320, 240, TRUE, NULL);
    send_activate(client, 0, 2, 55);
    check_refused(client, 2, garbage, sizeof(garbage));

    /* A key-frame header (start code, 320x240) over random partitions. */
    garbage[0] = 0x50;
    garbage[1] = 0x2d;
    garbage[2] = 0x00;
    garbage[3] = 0x9d;
    garbage[4] = 0x01;
    garbage[5] = 0x2a;
    garbage[6] = 320 & 0xff;
    garbage[7] = 320 >> 8;
    garbage[8] = 240 & 0xff;
    garbage[9] = 240 >> 8;
    send_create(client, 0, 2, SPICE_VIDEO_CODEC_TYPE_VP8, 320, 240, TRUE, NULL);
    send_activate(client, 0, 2, 55);
    SvMessage m = message_init(SV_MSG_STREAM_DATA, 2);
    SvSimResult result;
    m.mm_time = 1500;
    m.data = garbage;
    m.data_size = 64;
    receive(client, 100 * NS_PER_MS, &m, &result);
    /* libvpx may conceal a damaged key frame or refuse it: either way no crash,
     * and a refusal is answered like spice-gtk does. */
    if (!result.decoded) {
        assert_cannot_decode(client, 2, 55);
    } else {
        g_assert_cmpuint(result.width, ==, 320);
    }
    assert_no_report(client);
}

/* ---- presets ----------------------------------------------------------------------------- */

#if SV_HAVE_GSTREAMER
static gboolean have_element(const char *name)
{
    GstElementFactory *factory = gst_element_factory_find(name);
    if (factory != NULL) {
        gst_object_unref(factory);
    }
    return factory != NULL;
}
#endif

static void test_preset_spice_gtk(void)
{
    uint32_t caps = sv_client_preset_caps(SV_CLIENT_PRESET_SPICE_GTK);
    SvClientPreset preset = SV_CLIENT_PRESET_LEGACY;
    g_autoptr(GError) error = NULL;

    g_assert_true(sv_client_preset_parse("spice-gtk", &preset, &error));
    g_assert_no_error(error);
    g_assert_cmpint(preset, ==, SV_CLIENT_PRESET_SPICE_GTK);
    g_assert_cmpstr(sv_client_preset_to_string(preset), ==, "spice-gtk");
    g_assert_false(sv_client_preset_parse("spice-gtk2", &preset, &error));
    g_assert_error(error, SV_SIM_CLIENT_ERROR, SV_SIM_CLIENT_ERROR_CONFIG);

    g_assert_true(caps & SV_CAP(SPICE_DISPLAY_CAP_SIZED_STREAM));
    g_assert_true(caps & SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT));
    g_assert_true(caps & SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC));
    g_assert_true(caps & SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG));
    g_assert_true(caps & SV_CAP(SPICE_DISPLAY_CAP_PREF_VIDEO_CODEC_TYPE));
#if SV_HAVE_GSTREAMER
    gboolean convert =
        have_element("appsrc") && have_element("appsink") && have_element("videoconvert");
    g_assert_cmpint(!!(caps & SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP8)), ==,
                    convert && have_element("vp8dec"));
    g_assert_cmpint(!!(caps & SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP9)), ==,
                    convert && have_element("vp9dec"));
    g_assert_cmpint(!!(caps & SV_CAP(SPICE_DISPLAY_CAP_CODEC_H264)), ==,
                    convert && have_element("avdec_h264") && have_element("h264parse"));
    g_assert_cmpint(!!(caps & SV_CAP(SPICE_DISPLAY_CAP_CODEC_H265)), ==,
                    convert && have_element("avdec_h265") && have_element("h265parse"));
#else
    g_assert_false(caps & SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP8));
    g_assert_false(caps & SV_CAP(SPICE_DISPLAY_CAP_CODEC_H264));
#endif

    g_autoptr(SvSimClient) client = client_new(SV_CLIENT_PRESET_SPICE_GTK, 0, FALSE);
    g_assert_cmpuint(sv_sim_client_get_caps(client), ==, caps);
    g_autoptr(SvSimClient) custom =
        client_new(SV_CLIENT_PRESET_SPICE_GTK, SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT), FALSE);
    g_assert_cmpuint(sv_sim_client_get_caps(custom), ==, SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT));
}

static void test_preset_legacy(void)
{
    g_autoptr(SvSimClient) client = client_new(SV_CLIENT_PRESET_LEGACY, 0, FALSE);
    SvClientPreset preset = SV_CLIENT_PRESET_SPICE_GTK;
    SvSimResult result;
    SvSimClientStats stats;

    g_assert_true(sv_client_preset_parse("legacy", &preset, NULL));
    g_assert_cmpint(preset, ==, SV_CLIENT_PRESET_LEGACY);
    g_assert_cmpstr(sv_client_preset_to_string(preset), ==, "legacy");
    g_assert_cmpuint(sv_client_preset_caps(SV_CLIENT_PRESET_LEGACY), ==, 0);
    g_assert_cmpuint(sv_sim_client_get_caps(client), ==, 0);
    g_assert_false(sv_sim_client_get_caps(client) & SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC));

    /* It decodes MJPEG, but sends no report of any kind. */
    send_mm_time(client, 0, 1000);
    send_create(client, 0, 0, SPICE_VIDEO_CODEC_TYPE_MJPEG, JPEG_WIDTH, JPEG_HEIGHT, TRUE, &result);
    g_assert_null(result.problem);
    send_activate(client, 0, 0, 1);
    for (guint k = 0; k < 12; k++) {
        send_jpeg(client, k * 100 * NS_PER_MS, 0, 1000 + k * 100 + (k % 2 ? 50 : -50), &result);
        g_assert_true(result.decoded);
    }
    send_create(client, 0, 1, SPICE_VIDEO_CODEC_TYPE_VP8, 64, 48, TRUE, &result);
    g_assert_nonnull(result.problem);
    send_jpeg(client, 0, 7, 1000, &result);
    g_assert_false(result.decoded);
    assert_no_report(client);
    sv_sim_client_get_stats(client, &stats);
    g_assert_cmpuint(stats.frames, ==, 13);
    g_assert_cmpuint(stats.decoded, ==, 12);
    g_assert_cmpuint(stats.late, ==, 6);
    g_assert_cmpuint(stats.reports, ==, 0);
    g_assert_cmpuint(stats.cannot_decode_reports, ==, 0);
}

static void test_bad_input(void)
{
    g_autoptr(SvSimClient) client = client_new(SV_CLIENT_PRESET_SPICE_GTK, 0, FALSE);
    g_autoptr(GError) error = NULL;
    SvSimResult result;
    SvSimClientConfig config;

    SvMessage m = message_init(SV_MSG_DRAW, -1);
    g_assert_false(sv_sim_client_receive(client, 0, &m, &result, &error));
    g_assert_error(error, SV_SIM_CLIENT_ERROR, SV_SIM_CLIENT_ERROR_INVALID_MESSAGE);
    g_clear_error(&error);
    m = message_init(SV_MSG_STREAM_DATA, -1);
    g_assert_false(sv_sim_client_receive(client, 0, &m, &result, &error));
    g_assert_error(error, SV_SIM_CLIENT_ERROR, SV_SIM_CLIENT_ERROR_INVALID_MESSAGE);
    g_clear_error(&error);
    m = message_init((SvMessageType)1000, -1);
    g_assert_false(sv_sim_client_receive(client, 0, &m, &result, &error));
    g_assert_error(error, SV_SIM_CLIENT_ERROR, SV_SIM_CLIENT_ERROR_INVALID_MESSAGE);
    g_clear_error(&error);

    sv_sim_client_config_init(&config, SV_CLIENT_PRESET_SPICE_GTK);
    g_assert_true(config.decode);
    g_assert_true(config.measure_quality);
    config.decode_cost_ns_per_pixel = -1.0;
    g_assert_null(sv_sim_client_new(&config, &error));
    g_assert_error(error, SV_SIM_CLIENT_ERROR, SV_SIM_CLIENT_ERROR_CONFIG);
}

/* ---- painting ---------------------------------------------------------------------------- */

static void send_surface(SvSimClient *client, uint32_t surface_id, uint32_t width, uint32_t height)
{
    SvMessage m = message_init(SV_MSG_SURFACE_CREATE, -1);
    m.surface_id = surface_id;
    m.width = width;
    m.height = height;
    m.dest = (SpiceRect){0, 0, (int32_t)width, (int32_t)height};
    receive(client, 0, &m, NULL);
}

static guint32 screen_pixel(SvSimClient *client, int x, int y)
{
    SvCanvas *screen = sv_sim_client_get_screen(client);
    const guint8 *p =
        sv_canvas_get_const_data(screen) + (gsize)y * sv_canvas_get_stride(screen) + (gsize)x * 4;
    return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16;
}

/* The JPEG frame is a gradient with R ≈ 128: painted pixels are far from black. */
static gboolean painted(SvSimClient *client, int x, int y)
{
    return ((screen_pixel(client, x, y) >> 16) & 0xff) > 64;
}

static void test_paint_clip(void)
{
    g_autoptr(SvSimClient) client = client_new(SV_CLIENT_PRESET_SPICE_GTK, 0, FALSE);
    SvSimResult result;

    g_assert_null(sv_sim_client_get_screen(client));
    send_surface(client, 0, 200, 100);
    g_assert_nonnull(sv_sim_client_get_screen(client));
    g_assert_cmpuint(sv_canvas_get_width(sv_sim_client_get_screen(client)), ==, 200);
    g_assert_cmpuint(sv_canvas_get_height(sv_sim_client_get_screen(client)), ==, 100);
    send_mm_time(client, 0, 1000);

    /* Stream 1 at (10,10)-(74,58), clipped to its left half. */
    SvMessage create = message_init(SV_MSG_STREAM_CREATE, 1);
    SpiceRect left_half = {10, 10, 42, 58};
    create.codec_type = SPICE_VIDEO_CODEC_TYPE_MJPEG;
    create.width = JPEG_WIDTH;
    create.height = JPEG_HEIGHT;
    create.dest = (SpiceRect){10, 10, 74, 58};
    create.top_down = TRUE;
    create.clip_type = SV_CLIP_RECTS;
    create.n_clip_rects = 1;
    create.clip_rects = &left_half;
    receive(client, 0, &create, NULL);
    send_jpeg(client, 0, 1, 1100, &result);
    g_assert_true(result.decoded);
    g_assert_true(painted(client, 12, 12));
    g_assert_true(painted(client, 41, 57));
    g_assert_false(painted(client, 42, 12));
    g_assert_false(painted(client, 73, 57));
    g_assert_false(painted(client, 9, 9));

    /* An empty clip list: nothing is visible. */
    SvMessage clip = message_init(SV_MSG_STREAM_CLIP, 1);
    clip.clip_type = SV_CLIP_RECTS;
    receive(client, 0, &clip, NULL);
    send_surface(client, 0, 200, 100); /* a fresh black screen */
    send_jpeg(client, 0, 1, 1100, &result);
    g_assert_true(result.decoded);
    g_assert_false(painted(client, 12, 12));
    g_assert_false(painted(client, 60, 40));

    /* No clip: the whole destination; a sized frame goes to its own dest, scaled. */
    clip.clip_type = SV_CLIP_NONE;
    receive(client, 0, &clip, NULL);
    send_jpeg(client, 0, 1, 1100, &result);
    g_assert_true(painted(client, 73, 57));
    g_assert_false(painted(client, 74, 58));
    SvMessage sized = message_init(SV_MSG_STREAM_DATA, 1);
    GBytes *frame = jpeg_frame_new(1);
    gsize size = 0;
    sized.sized = TRUE;
    sized.mm_time = 1100;
    sized.width = JPEG_WIDTH;
    sized.height = JPEG_HEIGHT;
    sized.dest = (SpiceRect){100, 0, 200, 100};
    sized.data = g_bytes_get_data(frame, &size);
    sized.data_size = (uint32_t)size;
    receive(client, 0, &sized, &result);
    g_bytes_unref(frame);
    g_assert_true(result.decoded);
    g_assert_true(painted(client, 100, 0));
    g_assert_true(painted(client, 199, 99));

    /* The primary goes away: frames still decode, nothing is painted. */
    SvMessage destroy = message_init(SV_MSG_SURFACE_DESTROY, -1);
    destroy.surface_id = 0;
    receive(client, 0, &destroy, NULL);
    g_assert_null(sv_sim_client_get_screen(client));
    send_jpeg(client, 0, 1, 1100, &result);
    g_assert_true(result.decoded);
}

static void test_paint_draw_image(void)
{
    g_autoptr(SvSimClient) client = client_new(SV_CLIENT_PRESET_SPICE_GTK, 0, FALSE);
    SvSimResult result;

    send_surface(client, 0, 64, 32);
    /* A white FILL over the left half. */
    SvDrawCommand fill;
    memset(&fill, 0, sizeof(fill));
    fill.type = QXL_DRAW_FILL;
    fill.surface_id = 0;
    fill.bbox = (SpiceRect){0, 0, 32, 32};
    fill.clip_type = SV_CLIP_NONE;
    fill.effect = QXL_EFFECT_OPAQUE;
    fill.surfaces_dest[0] = fill.surfaces_dest[1] = fill.surfaces_dest[2] = -1;
    fill.brush.type = SV_BRUSH_SOLID;
    fill.brush.color = 0xffffff;
    fill.rop_descriptor = SPICE_ROPD_OP_PUT;
    SvMessage draw = message_init(SV_MSG_DRAW, -1);
    draw.draw = &fill;
    draw.drawable_seq = 17;
    receive(client, 0, &draw, &result);
    g_assert_cmpuint(result.drawable_seq, ==, 17);
    g_assert_false(result.is_frame);
    g_assert_cmphex(screen_pixel(client, 0, 0), ==, 0xffffff);
    g_assert_cmphex(screen_pixel(client, 31, 31), ==, 0xffffff);
    g_assert_cmphex(screen_pixel(client, 32, 0), ==, 0);

    /* A lossless IMAGE of the right half (pure red). */
    guint8 pixels[16 * 32 * 4];
    for (guint i = 0; i < sizeof(pixels); i += 4) {
        pixels[i] = 0;
        pixels[i + 1] = 0;
        pixels[i + 2] = 0xff;
        pixels[i + 3] = 0;
    }
    SvMessage image = message_init(SV_MSG_IMAGE, -1);
    image.surface_id = 0;
    image.dest = (SpiceRect){40, 0, 56, 32};
    image.pixels = pixels;
    image.pixels_stride = 16 * 4;
    receive(client, 0, &image, NULL);
    g_assert_cmphex(screen_pixel(client, 40, 0), ==, 0xff0000);
    g_assert_cmphex(screen_pixel(client, 55, 31), ==, 0xff0000);
    g_assert_cmphex(screen_pixel(client, 56, 0), ==, 0);
    g_assert_cmphex(screen_pixel(client, 39, 0), ==, 0);
}

/* ---- decoders: every codec an encoder here produces ------------------------------------ */

#define DEC_WIDTH 320
#define DEC_HEIGHT 240
#define DEC_FRAMES 6
#define FPS 30

typedef struct {
    const char *name;
    SpiceVideoCodecType codec;
    /* encoders to try, in order ("encoder:codec") */
    const char *encoders[3];
    gboolean top_down;
} DecodeCase;

static const DecodeCase decode_cases[] = {
    {"mjpeg", SPICE_VIDEO_CODEC_TYPE_MJPEG, {"spice:mjpeg"}, TRUE},
    {"mjpeg-bottom-up", SPICE_VIDEO_CODEC_TYPE_MJPEG, {"spice:mjpeg"}, FALSE},
    {"vp8", SPICE_VIDEO_CODEC_TYPE_VP8, {"vpx:vp8", "gstreamer:vp8"}, TRUE},
    {"h264", SPICE_VIDEO_CODEC_TYPE_H264, {"x264:h264", "gstreamer:h264"}, TRUE},
    {"h264-bottom-up", SPICE_VIDEO_CODEC_TYPE_H264, {"x264:h264", "gstreamer:h264"}, FALSE},
    {"vp9", SPICE_VIDEO_CODEC_TYPE_VP9, {"vpx:vp9", "gstreamer:vp9"}, TRUE},
    {"h265", SPICE_VIDEO_CODEC_TYPE_H265, {"gstreamer:h265"}, TRUE},
};

static guint8 to_u8(double v)
{
    return (guint8)CLAMP(lround(v), 0, 255);
}

/* Natural-looking content: a drifting gradient, a moving soft blob, a
 * moving sharp rectangle and a fine texture; 32BIT (B, G, R, x). */
static SpiceBitmap *bitmap_new(guint index, gboolean top_down)
{
    SpiceBitmap *bitmap = g_new0(SpiceBitmap, 1);
    guint32 stride = DEC_WIDTH * 4;
    guint8 *pixels = g_malloc((gsize)stride * DEC_HEIGHT);
    double bx = DEC_WIDTH * (0.3 + 0.4 * sin(index * 0.3));
    double by = DEC_HEIGHT * (0.5 + 0.3 * cos(index * 0.2));
    double sigma = 0.15 * DEC_WIDTH;
    int rx = 20 + (int)index * 9;

    for (guint line = 0; line < DEC_HEIGHT; line++) {
        guint y = top_down ? line : DEC_HEIGHT - 1 - line;
        for (guint x = 0; x < DEC_WIDTH; x++) {
            double u = (x + index * 3.0) / DEC_WIDTH;
            double v = (double)y / DEC_HEIGHT;
            double d2 = ((x - bx) * (x - bx) + (y - by) * (y - by)) / (2 * sigma * sigma);
            double blob = 90.0 * exp(-d2);
            double texture = ((x * 7 + y * 13) % 11) - 5.0;
            gboolean rect = (int)x >= rx && (int)x < rx + 40 && y >= 150 && y < 190;
            guint8 *px = pixels + (gsize)line * stride + x * 4;
            px[2] = rect ? 230 : to_u8(40 + 150 * fmod(u, 1.0) + blob + texture);
            px[1] = rect ? 40 : to_u8(50 + 140 * v + 0.5 * blob + texture);
            px[0] = rect ? 60 : to_u8(200 - 120 * (0.5 * fmod(u, 1.0) + 0.5 * v) + texture);
            px[3] = 0;
        }
    }
    SpiceChunks *chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    chunks->num_chunks = 1;
    chunks->data_size = stride * DEC_HEIGHT;
    chunks->chunk[0].data = pixels;
    chunks->chunk[0].len = stride * DEC_HEIGHT;
    bitmap->format = SPICE_BITMAP_FMT_32BIT;
    bitmap->flags = top_down ? SPICE_BITMAP_FLAGS_TOP_DOWN : 0;
    bitmap->x = DEC_WIDTH;
    bitmap->y = DEC_HEIGHT;
    bitmap->stride = stride;
    bitmap->data = chunks;
    return bitmap;
}

static void bitmap_free(SpiceBitmap *bitmap)
{
    g_free(bitmap->data->chunk[0].data);
    g_free(bitmap->data);
    g_free(bitmap);
}

static int64_t virtual_now_ns;

static int64_t virtual_clock(void *opaque)
{
    return virtual_now_ns;
}

static uint32_t source_fps(void *opaque)
{
    return FPS;
}

static void bitmap_ref(gpointer data)
{
}

static void bitmap_unref(gpointer data)
{
}

/* The luma PSNR of @area of the screen against @bitmap (visual order). */
static double screen_psnr(SvSimClient *client, const SpiceBitmap *bitmap)
{
    SvCanvas *screen = sv_sim_client_get_screen(client);
    SpiceRect area = {0, 0, DEC_WIDTH, DEC_HEIGHT};
    g_autofree guint8 *out = g_malloc(DEC_WIDTH * DEC_HEIGHT * 4);
    double sse = 0.0;

    sv_canvas_read(screen, &area, out, DEC_WIDTH * 4);
    for (guint line = 0; line < DEC_HEIGHT; line++) {
        gboolean top_down = bitmap->flags & SPICE_BITMAP_FLAGS_TOP_DOWN;
        const guint8 *src = bitmap->data->chunk[0].data +
                            (gsize)(top_down ? line : DEC_HEIGHT - 1 - line) * bitmap->stride;
        for (guint x = 0; x < DEC_WIDTH; x++) {
            const guint8 *a = src + x * 4;
            const guint8 *b = out + ((gsize)line * DEC_WIDTH + x) * 4;
            double ya = 0.257 * a[2] + 0.504 * a[1] + 0.098 * a[0];
            double yb = 0.257 * b[2] + 0.504 * b[1] + 0.098 * b[0];
            sse += (ya - yb) * (ya - yb);
        }
    }
    double mse = sse / (DEC_WIDTH * DEC_HEIGHT);
    return mse < 1e-10 ? 100.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

static void test_decode(gconstpointer user_data)
{
    const DecodeCase *c = user_data;
    const SvEncoderDesc *desc = NULL;
    GString *reasons = g_string_new(NULL);

    for (guint i = 0; i < G_N_ELEMENTS(c->encoders) && c->encoders[i] != NULL; i++) {
        g_auto(GStrv) names = g_strsplit(c->encoders[i], ":", 2);
        const SvEncoderDesc *d = sv_registry_find(names[0], names[1]);
        g_autoptr(GError) error = NULL;
        if (d != NULL && d->create_full != NULL && sv_encoder_desc_is_available(d, &error)) {
            desc = d;
            break;
        }
        g_string_append_printf(reasons, "%s%s: %s", reasons->len ? "; " : "", c->encoders[i],
                               error != NULL ? error->message : "unknown");
    }
    if (desc == NULL) {
        g_autofree char *reason = g_string_free(reasons, FALSE);
        g_autofree char *msg = g_strdup_printf("no encoder for %s: %s", c->name, reason);
        g_test_skip(msg);
        return;
    }
    g_string_free(reasons, TRUE);

    g_autoptr(SvSimClient) client = client_new(SV_CLIENT_PRESET_SPICE_GTK, 0, TRUE);
    int cap = c->codec == SPICE_VIDEO_CODEC_TYPE_MJPEG  ? SPICE_DISPLAY_CAP_CODEC_MJPEG
              : c->codec == SPICE_VIDEO_CODEC_TYPE_VP8  ? SPICE_DISPLAY_CAP_CODEC_VP8
              : c->codec == SPICE_VIDEO_CODEC_TYPE_H264 ? SPICE_DISPLAY_CAP_CODEC_H264
              : c->codec == SPICE_VIDEO_CODEC_TYPE_VP9  ? SPICE_DISPLAY_CAP_CODEC_VP9
                                                        : SPICE_DISPLAY_CAP_CODEC_H265;
    if (!(sv_sim_client_get_caps(client) & SV_CAP(cap))) {
        g_autofree char *msg =
            g_strdup_printf("no %s decoder (GStreamer element missing)", c->name);
        g_test_skip(msg);
        return;
    }

    VideoEncoderRateControlCbs cbs = {.get_source_fps = source_fps};
    SvEncoderConfig config = {
        .clock = {.now_ns = virtual_clock},
        .no_rate_control = TRUE,
        .fixed_quality = 90,
        .encode_timeout_ns = sv_test_timeout_ns(20 * G_GINT64_CONSTANT(1000000000)),
    };
    virtual_now_ns = 1000 * G_GINT64_CONSTANT(1000000000);
    VideoEncoder *encoder = desc->create_full(desc->codec_type, 8u * 1000u * 1000u, &cbs,
                                              bitmap_ref, bitmap_unref, &config);
    g_assert_nonnull(encoder);

    send_surface(client, 0, DEC_WIDTH + 40, DEC_HEIGHT + 20);
    send_mm_time(client, 0, 10000);
    SvSimResult result;
    send_create(client, 0, 0, c->codec, DEC_WIDTH, DEC_HEIGHT, c->top_down, &result);
    g_assert_null(result.problem);
    send_activate(client, 0, 0, 5);

    SpiceRect area = {0, 0, DEC_WIDTH, DEC_HEIGHT};
    for (guint i = 0; i < DEC_FRAMES; i++) {
        SpiceBitmap *bitmap = bitmap_new(i, c->top_down);
        VideoBuffer *buffer = NULL;
        uint32_t stamp = 10000 + 200 + i * (1000 / FPS);

        virtual_now_ns += G_GINT64_CONSTANT(1000000000) / FPS;
        g_assert_cmpint(encoder->encode_frame(encoder, stamp, bitmap, &area, c->top_down, bitmap,
                                              &buffer),
                        ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
        g_assert_nonnull(buffer);

        SvMessage m = message_init(SV_MSG_STREAM_DATA, 0);
        m.mm_time = stamp;
        m.width = DEC_WIDTH;
        m.height = DEC_HEIGHT;
        m.data = buffer->data;
        m.data_size = buffer->size;
        m.source = bitmap;
        m.source_area = area;
        receive(client, (int64_t)i * (1000 / FPS) * NS_PER_MS, &m, &result);
        buffer->free(buffer);

        g_assert_true(result.is_frame);
        if (!result.decoded) {
            g_test_message("frame %u: %s", i, result.problem);
        }
        g_assert_true(result.decoded);
        g_assert_cmpuint(result.width, ==, DEC_WIDTH);
        g_assert_cmpuint(result.height, ==, DEC_HEIGHT);
        g_assert_cmpint(result.decode_ns, >=, 0);
        g_assert_false(result.late);
        g_test_message("%s frame %u: %u bytes, PSNR %.2f dB, SSIM %.4f", c->name, i, m.data_size,
                       result.psnr_y, result.ssim_y);
        g_assert_cmpfloat(result.psnr_y, >=, MIN_PSNR_DB);
        g_assert_cmpfloat(result.ssim_y, >, 0.8);
        g_assert_cmpfloat(result.ssim_y, <=, 1.0);
        /* The screen shows it the right way up. */
        g_assert_cmpfloat(screen_psnr(client, bitmap), >=, MIN_PSNR_DB);
        bitmap_free(bitmap);
    }
    encoder->destroy(encoder);

    SvSimClientStats stats;
    sv_sim_client_get_stats(client, &stats);
    g_assert_cmpuint(stats.decoded, ==, DEC_FRAMES);
    g_assert_cmpuint(stats.decode_errors, ==, 0);
    g_assert_cmpuint(stats.reports, ==, 1); /* the 5-frame window */
    g_assert_cmpint(stats.decode_cpu_ns, >, 0);
}

/* The deterministic cost model replaces the measured decode time. */
static void test_decode_cost_model(void)
{
    SvSimClientConfig config;
    g_autoptr(GError) error = NULL;
    SvSimResult result;

    sv_sim_client_config_init(&config, SV_CLIENT_PRESET_SPICE_GTK);
    config.decode_cost_ns_per_pixel = 2.5;
    g_autoptr(SvSimClient) client = sv_sim_client_new(&config, &error);
    g_assert_no_error(error);
    send_create(client, 0, 0, SPICE_VIDEO_CODEC_TYPE_MJPEG, JPEG_WIDTH, JPEG_HEIGHT, TRUE, NULL);
    send_jpeg(client, 0, 0, 100, &result);
    g_assert_true(result.decoded);
    g_assert_cmpint(result.decode_ns, ==, (int64_t)(2.5 * JPEG_WIDTH * JPEG_HEIGHT));

    /* Without decoding: no picture, no decode time, reports still flow. */
    config.decode = FALSE;
    config.decode_cost_ns_per_pixel = 0;
    g_autoptr(SvSimClient) nodecode = sv_sim_client_new(&config, &error);
    g_assert_no_error(error);
    send_create(nodecode, 0, 0, SPICE_VIDEO_CODEC_TYPE_MJPEG, JPEG_WIDTH, JPEG_HEIGHT, TRUE, NULL);
    send_activate(nodecode, 0, 0, 3);
    for (guint k = 0; k < 5; k++) {
        send_jpeg(nodecode, 0, 0, 100, &result);
        g_assert_false(result.decoded);
        g_assert_cmpint(result.decode_ns, ==, 0);
    }
    SvStreamReport report;
    g_assert_true(pop_report(nodecode, &report));
    g_assert_cmpuint(report.num_frames, ==, 5);
    send_create(nodecode, 0, 1, (SpiceVideoCodecType)42, 64, 48, TRUE, &result);
    assert_cannot_decode(nodecode, 1, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/sim-client/clock", test_clock);
    g_test_add_func("/sim-client/report/full-window", test_report_full_window);
    g_test_add_func("/sim-client/report/timeout", test_report_timeout);
    g_test_add_func("/sim-client/report/late", test_report_late);
    g_test_add_func("/sim-client/report/clock-update", test_report_clock_update);
    g_test_add_func("/sim-client/report/zero-stamp", test_report_zero_stamp);
    g_test_add_func("/sim-client/report/inactive", test_report_inactive);
    g_test_add_func("/sim-client/cannot-decode/create", test_cannot_decode_create);
    g_test_add_func("/sim-client/cannot-decode/garbage-mjpeg", test_cannot_decode_garbage_mjpeg);
    g_test_add_func("/sim-client/cannot-decode/garbage-vp8", test_cannot_decode_garbage_vp8);
    g_test_add_func("/sim-client/preset/spice-gtk", test_preset_spice_gtk);
    g_test_add_func("/sim-client/preset/legacy", test_preset_legacy);
    g_test_add_func("/sim-client/bad-input", test_bad_input);
    g_test_add_func("/sim-client/paint/clip", test_paint_clip);
    g_test_add_func("/sim-client/paint/draw-image", test_paint_draw_image);
    g_test_add_func("/sim-client/decode/cost-model", test_decode_cost_model);
    for (guint i = 0; i < G_N_ELEMENTS(decode_cases); i++) {
        g_autofree char *path = g_strdup_printf("/sim-client/decode/%s", decode_cases[i].name);
        g_test_add_data_func(path, &decode_cases[i], test_decode);
    }
    return g_test_run();
}
