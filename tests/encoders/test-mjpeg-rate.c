/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Rate control of the built-in MJPEG encoder, driven by a fake clock and
 * scripted client reports and server drops. Every frame has the same
 * content, so the compressed size at each quality is a constant that the
 * test measures first (with a fixed-quality encoder) and then uses to
 * derive, from the reference's rules, what the encoder must decide.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <spice-video/encoders.h>

#define WIDTH 320
#define HEIGHT 240
#define MS (INT64_C(1000000))
#define NO_AUDIO UINT32_MAX

static const int ladder[] = {20, 30, 40, 50, 60, 70, 80};

typedef struct {
    int64_t now_ns;
    uint32_t source_fps;
    uint32_t roundtrip_ms;
    GArray *delays; /* uint32_t, every update_client_playback_delay */

    uint8_t *pixels;
    SpiceChunks *chunks;
    SpiceBitmap bitmap;
    SpiceRect src;

    VideoEncoder *encoder;
    uint64_t size_at[G_N_ELEMENTS(ladder)];

    /* Frames encoded since the fixture last cleared these. */
    guint done, dropped;
    int64_t first_done_ns, last_done_ns;
    uint32_t first_done_mm;
    uint64_t done_bytes;
} Fixture;

static int64_t fake_now(void *opaque)
{
    return ((Fixture *)opaque)->now_ns;
}

static uint32_t cb_source_fps(void *opaque)
{
    return ((Fixture *)opaque)->source_fps;
}

static uint32_t cb_roundtrip(void *opaque)
{
    return ((Fixture *)opaque)->roundtrip_ms;
}

static void cb_delay(void *opaque, uint32_t delay_ms)
{
    g_array_append_val(((Fixture *)opaque)->delays, delay_ms);
}

/* A photo-like picture: gradients and soft blobs. */
static void fill_picture(uint8_t *pixels)
{
    for (int y = 0; y < HEIGHT; y++) {
        for (int x = 0; x < WIDTH; x++) {
            uint8_t *p = pixels + (y * WIDTH + x) * 4;
            double blob = 60 * sin(x / 13.0) * cos(y / 17.0);
            p[0] = (uint8_t)CLAMP(x * 255 / WIDTH + blob, 0, 255);
            p[1] = (uint8_t)CLAMP(y * 255 / HEIGHT - blob / 2, 0, 255);
            p[2] =
                (uint8_t)CLAMP(128 + 100 * sin((x + y) / 23.0) + ((x * 7 + y * 13) % 11), 0, 255);
            p[3] = 0;
        }
    }
}

static VideoEncoder *make_encoder(Fixture *fx, uint64_t bit_rate, int fixed_quality,
                                  gboolean quirks)
{
    VideoEncoderRateControlCbs cbs = {
        .opaque = fx,
        .get_roundtrip_ms = cb_roundtrip,
        .get_source_fps = cb_source_fps,
        .update_client_playback_delay = cb_delay,
    };
    SvEncoderConfig config = {
        .clock = {fake_now, fx},
        .fixed_quality = fixed_quality,
        .spice_quirks = quirks,
    };
    return sv_mjpeg_encoder_new_full(SPICE_VIDEO_CODEC_TYPE_MJPEG, bit_rate, &cbs, NULL, NULL,
                                     &config);
}

static void fixture_set_up(Fixture *fx, gconstpointer data)
{
    fx->now_ns = 1000 * MS;
    fx->source_fps = 25;
    fx->roundtrip_ms = 60;
    fx->delays = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    fx->pixels = g_malloc(WIDTH * HEIGHT * 4);
    fill_picture(fx->pixels);
    fx->chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    fx->chunks->num_chunks = 1;
    fx->chunks->data_size = WIDTH * HEIGHT * 4;
    fx->chunks->chunk[0].data = fx->pixels;
    fx->chunks->chunk[0].len = WIDTH * HEIGHT * 4;
    fx->bitmap = (SpiceBitmap){
        .format = SPICE_BITMAP_FMT_32BIT,
        .flags = SPICE_BITMAP_FLAGS_TOP_DOWN,
        .x = WIDTH,
        .y = HEIGHT,
        .stride = WIDTH * 4,
        .data = fx->chunks,
    };
    fx->src = (SpiceRect){0, 0, WIDTH, HEIGHT};

    /* The size of this frame at every rung of the ladder. */
    for (guint i = 0; i < G_N_ELEMENTS(ladder); i++) {
        VideoEncoder *enc = make_encoder(fx, 1000000, ladder[i], FALSE);
        VideoBuffer *buf = NULL;
        g_assert_cmpint(enc->encode_frame(enc, 1, &fx->bitmap, &fx->src, TRUE, NULL, &buf), ==,
                        VIDEO_ENCODER_FRAME_ENCODE_DONE);
        fx->size_at[i] = buf->size;
        buf->free(buf);
        enc->destroy(enc);
    }
    /* Sanity: a higher quality costs more bytes. */
    for (guint i = 1; i < G_N_ELEMENTS(ladder); i++) {
        g_assert_cmpuint(fx->size_at[i], >, fx->size_at[i - 1]);
    }
}

static void fixture_tear_down(Fixture *fx, gconstpointer data)
{
    if (fx->encoder != NULL) {
        fx->encoder->destroy(fx->encoder);
    }
    g_array_unref(fx->delays);
    g_free(fx->chunks);
    g_free(fx->pixels);
}

static uint32_t mm_time(const Fixture *fx)
{
    return (uint32_t)(fx->now_ns / MS);
}

static void clear_counts(Fixture *fx)
{
    fx->done = fx->dropped = 0;
    fx->done_bytes = 0;
    fx->first_done_ns = fx->last_done_ns = -1;
}

/* Offers one frame at the current time, then advances the clock. */
static VideoEncodeResults offer_frame(Fixture *fx, int64_t step_ns)
{
    VideoBuffer *buf = NULL;
    VideoEncodeResults r = fx->encoder->encode_frame(fx->encoder, mm_time(fx), &fx->bitmap,
                                                     &fx->src, TRUE, NULL, &buf);

    g_assert_true(r == VIDEO_ENCODER_FRAME_ENCODE_DONE || r == VIDEO_ENCODER_FRAME_DROP);
    if (r == VIDEO_ENCODER_FRAME_ENCODE_DONE) {
        g_assert_nonnull(buf);
        if (fx->first_done_ns < 0) {
            fx->first_done_ns = fx->now_ns;
            fx->first_done_mm = mm_time(fx);
        }
        fx->last_done_ns = fx->now_ns;
        fx->done++;
        fx->done_bytes += buf->size;
        buf->free(buf);
    } else {
        fx->dropped++;
    }
    fx->now_ns += step_ns;
    return r;
}

static SvMjpegRateState state_of(const Fixture *fx)
{
    SvMjpegRateState st;
    g_assert_true(sv_mjpeg_encoder_get_rate_state(fx->encoder, &st));
    return st;
}

static void positive_report(Fixture *fx, uint32_t start_mm, uint32_t end_mm)
{
    fx->encoder->client_stream_report(fx->encoder, 5, 0, start_mm, end_mm, 300, NO_AUDIO);
}

static void late_report(Fixture *fx, uint32_t start_mm, uint32_t end_mm)
{
    fx->encoder->client_stream_report(fx->encoder, 5, 2, start_mm, end_mm, -100, NO_AUDIO);
}

/* ---- tests ------------------------------------------------------------- */

static void test_creation(Fixture *fx, gconstpointer data)
{
    VideoEncoderStats stats;

    fx->encoder = make_encoder(fx, 8 * 1000 * 1000, 0, FALSE);
    g_assert_nonnull(fx->encoder);
    g_assert_cmpint(fx->encoder->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_MJPEG);

    SvMjpegRateState st = state_of(fx);
    g_assert_cmpint(st.quality_index, ==, 3);
    g_assert_cmpint(st.quality, ==, 50);
    g_assert_cmpuint(st.fps, ==, 5);
    g_assert_cmpfloat_with_epsilon(st.adjusted_fps, 7.5, 1e-9);
    g_assert_cmpuint(st.byte_rate, ==, 1000 * 1000);
    g_assert_true(st.evaluating);
    g_assert_true(st.warming_up);
    g_assert_cmpuint(fx->encoder->get_bit_rate(fx->encoder), ==, 8 * 1000 * 1000);

    fx->encoder->get_stats(fx->encoder, &stats);
    g_assert_cmpuint(stats.starting_bit_rate, ==, 8 * 1000 * 1000);
    g_assert_cmpuint(stats.cur_bit_rate, ==, 8 * 1000 * 1000);
    g_assert_true(isnan(stats.avg_quality)); /* no frame yet, as in spice */

    offer_frame(fx, 40 * MS);
    fx->encoder->get_stats(fx->encoder, &stats);
    g_assert_cmpfloat_with_epsilon(stats.avg_quality, 50.0, 1e-9);

    /* Warm-up lasts 3 s. */
    fx->now_ns += 3000 * MS;
    g_assert_false(state_of(fx).warming_up);
}

static void test_refuses_other_codecs(Fixture *fx, gconstpointer data)
{
    static const SpiceVideoCodecType others[] = {
        SPICE_VIDEO_CODEC_TYPE_VP8, SPICE_VIDEO_CODEC_TYPE_H264, SPICE_VIDEO_CODEC_TYPE_VP9,
        SPICE_VIDEO_CODEC_TYPE_H265};
    for (guint i = 0; i < G_N_ELEMENTS(others); i++) {
        g_assert_null(sv_mjpeg_encoder_new(others[i], 1000000, NULL, NULL, NULL));
    }
    /* The spice signature with NULL callbacks works. */
    VideoEncoder *enc =
        sv_mjpeg_encoder_new(SPICE_VIDEO_CODEC_TYPE_MJPEG, 1000000, NULL, NULL, NULL);
    g_assert_nonnull(enc);
    g_assert_false(sv_mjpeg_encoder_get_rate_state(NULL, &(SvMjpegRateState){0}));
    enc->destroy(enc);
}

/* Runs the creation-time SET evaluation at an ample rate: the ladder is
 * climbed one rung per frame, pacing is off meanwhile, and it settles at
 * quality 80 and 25 fps. */
static void settle_high(Fixture *fx)
{
    fx->encoder = make_encoder(fx, UINT64_C(8) * 1000 * 1000 * 1000, 0, FALSE);
    /* 5 ms apart: far faster than 7.5 fps pacing, yet nothing is dropped. */
    for (int i = 0; i < 5; i++) {
        g_assert_cmpint(offer_frame(fx, 5 * MS), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    }
}

static void test_set_evaluation_climbs(Fixture *fx, gconstpointer data)
{
    VideoEncoderStats stats;

    settle_high(fx);
    SvMjpegRateState st = state_of(fx);
    g_assert_false(st.evaluating);
    g_assert_cmpint(st.quality, ==, 80);
    g_assert_cmpuint(st.fps, ==, 25);
    g_assert_cmpfloat_with_epsilon(st.adjusted_fps, 37.5, 1e-9); /* ratio 1.5 kept */
    /* Frames went out at 50, 60, 70, 80, 80. */
    fx->encoder->get_stats(fx->encoder, &stats);
    g_assert_cmpfloat_with_epsilon(stats.avg_quality, 68.0, 1e-9);
    /* The playback delay is reported once, at the end: a frame takes no
     * time at this rate, so it is the one-way latency, 60 / 2. */
    g_assert_cmpuint(fx->delays->len, ==, 1);
    g_assert_cmpuint(g_array_index(fx->delays, uint32_t, 0), ==, 30);
}

/* With a budget of 7 frames/s at quality 50, sampling stops at the median
 * (fps between 5 and 10 below the source rate). */
static void test_set_evaluation_median(Fixture *fx, gconstpointer data)
{
    uint64_t byte_rate = 7 * fx->size_at[3];

    fx->encoder = make_encoder(fx, byte_rate * 8, 0, FALSE);
    offer_frame(fx, 40 * MS);
    offer_frame(fx, 40 * MS);
    SvMjpegRateState st = state_of(fx);
    g_assert_false(st.evaluating);
    g_assert_cmpint(st.quality, ==, 50);
    g_assert_cmpuint(st.fps, ==, 7);
    /* 2 frame times + one-way latency: 2 * size * 1000 / rate + 30. */
    g_assert_cmpuint(fx->delays->len, ==, 1);
    g_assert_cmpuint(g_array_index(fx->delays, uint32_t, 0), ==,
                     2 * (fx->size_at[3] * 1000 / byte_rate) + 30);
}

/* With a starved budget the evaluation walks down the ladder until a rung
 * gives more than 5 fps, or reaches the bottom. */
static void check_descent(Fixture *fx, uint64_t byte_rate)
{
    int expect = 0;

    for (int i = 3; i >= 0; i--) {
        if (byte_rate / fx->size_at[i] > 5) {
            expect = i;
            break;
        }
    }
    /* Of rungs giving the same integer fps, the higher quality is kept. */
    while (expect < 3 && byte_rate / fx->size_at[expect + 1] == byte_rate / fx->size_at[expect]) {
        expect++;
    }
    if (fx->encoder != NULL) {
        fx->encoder->destroy(fx->encoder);
    }
    fx->encoder = make_encoder(fx, byte_rate * 8, 0, FALSE);
    for (int i = 0; i < 8 && (i < 2 || state_of(fx).evaluating); i++) {
        offer_frame(fx, 200 * MS);
    }
    SvMjpegRateState st = state_of(fx);
    g_assert_false(st.evaluating);
    g_assert_cmpint(st.quality_index, ==, expect);
    g_assert_cmpuint(st.fps, ==, CLAMP(byte_rate / fx->size_at[expect], 1, 25));
    g_assert_cmpint(st.quality_index, <, 3);
}

static void test_set_evaluation_descends(Fixture *fx, gconstpointer data)
{
    check_descent(fx, 3 * fx->size_at[3]);
    /* Exactly 5 fps at quality 40 is not enough: one more rung down. */
    check_descent(fx, 5 * fx->size_at[2]);
    check_descent(fx, 5 * fx->size_at[1]);
    /* Even the bottom rung is too slow: it stays there. */
    check_descent(fx, 2 * fx->size_at[0]);
}

/* After settling, frames are paced at adjusted_fps, then compensation
 * steers the encoded rate towards fps. */
static void test_pacing_and_compensation(Fixture *fx, gconstpointer data)
{
    settle_high(fx);
    clear_counts(fx);
    /* 100 fps offered; pacing at 37.5 fps lets one frame in three through. */
    int64_t last = -1;
    for (int i = 0; i < 40; i++) {
        int64_t t = fx->now_ns;
        if (offer_frame(fx, 10 * MS) == VIDEO_ENCODER_FRAME_ENCODE_DONE) {
            if (last >= 0) {
                g_assert_cmpint(t - last, >=, 1000 * MS / 37.5);
            }
            last = t;
        }
    }
    g_assert_cmpuint(fx->done, >=, 12);
    g_assert_cmpuint(fx->done, <=, 15);

    /* Over the next seconds the encoded rate converges on 25 fps. */
    for (int i = 0; i < 200; i++) {
        offer_frame(fx, 10 * MS);
    }
    clear_counts(fx);
    for (int i = 0; i < 300; i++) {
        offer_frame(fx, 10 * MS);
    }
    double fps = fx->done / 3.0;
    g_assert_cmpfloat(fps, >=, 23.0);
    g_assert_cmpfloat(fps, <=, 27.0);
    SvMjpegRateState st = state_of(fx);
    g_assert_cmpfloat(st.adjusted_fps, >=, 25.0);
    g_assert_cmpfloat(st.adjusted_fps, <=, 50.0);
}

/* Positive reports raise the rate once the stream has been stable for 2 s
 * since the last change, by one average frame over what was measured. */
static void test_positive_report_increase(Fixture *fx, gconstpointer data)
{
    uint64_t byte_rate = 7 * fx->size_at[3];
    const int64_t step = 140 * MS; /* a little over the 7 fps budget */

    fx->encoder = make_encoder(fx, byte_rate * 8, 0, FALSE);
    offer_frame(fx, step);
    offer_frame(fx, step); /* settles at q50, 7 fps; this frame starts the measurement */
    g_assert_false(state_of(fx).evaluating);
    uint32_t change_mm = mm_time(fx) - 140;
    int64_t change_ns = fx->now_ns - step;
    uint64_t bytes = fx->size_at[3];
    guint frames = 1;
    int64_t last_ns = change_ns;
    for (int i = 0; i < 15; i++) {
        g_assert_cmpint(offer_frame(fx, step), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
        bytes += fx->size_at[3];
        frames++;
        last_ns = fx->now_ns - step;
    }
    /* Too early: the period starts less than 2 s after the change. */
    positive_report(fx, change_mm + 1999, mm_time(fx));
    g_assert_cmpuint(state_of(fx).byte_rate, ==, byte_rate);
    /* Drops in the report: not positive. */
    fx->encoder->client_stream_report(fx->encoder, 5, 1, change_mm + 2500, mm_time(fx), 300,
                                      NO_AUDIO);
    g_assert_cmpuint(state_of(fx).byte_rate, ==, byte_rate);

    positive_report(fx, change_mm + 2000, mm_time(fx));
    uint64_t measured = (uint64_t)(bytes / ((double)(last_ns - change_ns) / 1e9));
    uint64_t avg = bytes / frames;
    g_assert_cmpuint(measured + avg, >=, byte_rate);
    SvMjpegRateState st = state_of(fx);
    g_assert_cmpuint(st.byte_rate, ==, MIN(measured, byte_rate) + avg);
    g_assert_cmpuint(st.byte_rate, ==, 8 * fx->size_at[3]);
    g_assert_true(st.evaluating); /* an UPGRADE evaluation follows */
    g_assert_cmpuint(fx->encoder->get_bit_rate(fx->encoder), ==, st.byte_rate * 8);
}

/* At high fps and quality the stability period is 3 s; a stream that does
 * not use its rate is only re-evaluated. */
static void test_positive_report_strict(Fixture *fx, gconstpointer data)
{
    settle_high(fx);
    uint64_t byte_rate = state_of(fx).byte_rate;
    uint32_t change_mm = mm_time(fx) - 5; /* the settling frame */
    for (int i = 0; i < 100; i++) {
        offer_frame(fx, 40 * MS);
    }
    positive_report(fx, change_mm + 2999, mm_time(fx));
    g_assert_false(state_of(fx).evaluating);
    positive_report(fx, change_mm + 3000, mm_time(fx));
    SvMjpegRateState st = state_of(fx);
    g_assert_true(st.evaluating);
    g_assert_cmpuint(st.byte_rate, ==, byte_rate); /* 1 GB/s is far from used */
}

/* Late frames: ignored in warm-up (the rate stays), then a decrease to what
 * was measured minus one average frame, and a DOWNGRADE evaluation during
 * which reports are ignored. */
static void test_negative_report_decrease(Fixture *fx, gconstpointer data)
{
    uint64_t byte_rate = 7 * fx->size_at[3];

    fx->encoder = make_encoder(fx, byte_rate * 8, 0, FALSE);
    offer_frame(fx, 200 * MS);
    offer_frame(fx, 200 * MS);
    uint32_t change_mm = mm_time(fx) - 200;
    for (int i = 0; i < 4; i++) {
        offer_frame(fx, 200 * MS);
    }
    /* 1.2 s after creation: warm-up. */
    late_report(fx, change_mm, mm_time(fx));
    g_assert_cmpuint(state_of(fx).byte_rate, ==, byte_rate);
    g_assert_false(state_of(fx).evaluating);

    clear_counts(fx);
    for (int i = 0; i < 15; i++) {
        offer_frame(fx, 200 * MS);
    }
    g_assert_cmpuint(fx->done, ==, 15);
    /* The measurement covers every frame since the settling one. */
    uint64_t bytes = 20 * fx->size_at[3];
    double duration = (double)(fx->last_done_ns - (fx->first_done_ns - 5 * 200 * MS)) / 1e9;
    uint64_t measured = MIN((uint64_t)(bytes / duration), byte_rate);
    uint64_t step = bytes / 20;
    late_report(fx, change_mm, mm_time(fx));
    SvMjpegRateState st = state_of(fx);
    g_assert_cmpuint(st.byte_rate, ==, measured - step);
    g_assert_cmpuint(st.byte_rate, <, byte_rate);
    g_assert_true(st.evaluating);
    g_assert_false(st.warming_up);

    /* During the DOWNGRADE evaluation further reports change nothing. */
    late_report(fx, mm_time(fx), mm_time(fx));
    g_assert_cmpuint(state_of(fx).byte_rate, ==, measured - step);
}

/* A negative report about frames from before the last change is ignored. */
static void test_negative_report_stale(Fixture *fx, gconstpointer data)
{
    uint64_t byte_rate = 7 * fx->size_at[3];

    fx->encoder = make_encoder(fx, byte_rate * 8, 0, FALSE);
    fx->now_ns += 4000 * MS; /* past warm-up without frames */
    offer_frame(fx, 200 * MS);
    offer_frame(fx, 200 * MS);
    uint32_t change_mm = mm_time(fx) - 200;
    for (int i = 0; i < 10; i++) {
        offer_frame(fx, 200 * MS);
    }
    late_report(fx, change_mm - 1000, change_mm - 1);
    g_assert_cmpuint(state_of(fx).byte_rate, ==, byte_rate);
    late_report(fx, change_mm - 1000, change_mm);
    g_assert_cmpuint(state_of(fx).byte_rate, <, byte_rate);
}

/* A frame that arrived 5 ms late (-5) is above the -15 ms "late" line but
 * needs more playback delay: spice's unsigned comparison misses it, ours
 * does not. */
static void test_negative_delay_raises_playback_delay(Fixture *fx, gconstpointer data)
{
    for (int quirks = 0; quirks <= 1; quirks++) {
        uint64_t byte_rate = 7 * fx->size_at[3];
        if (fx->encoder != NULL) {
            fx->encoder->destroy(fx->encoder);
        }
        fx->encoder = make_encoder(fx, byte_rate * 8, 0, quirks);
        for (int i = 0; i < 5; i++) {
            offer_frame(fx, 200 * MS);
        }
        g_array_set_size(fx->delays, 0);
        fx->encoder->client_stream_report(fx->encoder, 5, 0, mm_time(fx) - 1000, mm_time(fx), -5,
                                          NO_AUDIO);
        if (quirks) {
            g_assert_cmpuint(fx->delays->len, ==, 0);
        } else {
            g_assert_cmpuint(fx->delays->len, ==, 1);
            g_assert_cmpuint(g_array_index(fx->delays, uint32_t, 0), ==,
                             2 * (fx->size_at[3] * 1000 / byte_rate) + 30);
        }
    }
}

/* A positive report whose period starts before the last change says
 * nothing about stability since then; spice's unsigned subtraction takes it
 * as a very long stable period and increases. */
static void test_positive_report_before_change(Fixture *fx, gconstpointer data)
{
    for (int quirks = 0; quirks <= 1; quirks++) {
        uint64_t byte_rate = 7 * fx->size_at[3];
        if (fx->encoder != NULL) {
            fx->encoder->destroy(fx->encoder);
        }
        fx->encoder = make_encoder(fx, byte_rate * 8, 0, quirks);
        offer_frame(fx, 140 * MS);
        offer_frame(fx, 140 * MS);
        uint32_t change_mm = mm_time(fx) - 140;
        for (int i = 0; i < 6; i++) {
            offer_frame(fx, 140 * MS);
        }
        positive_report(fx, change_mm - 1, mm_time(fx));
        if (quirks) {
            g_assert_cmpuint(state_of(fx).byte_rate, >, byte_rate);
        } else {
            g_assert_cmpuint(state_of(fx).byte_rate, ==, byte_rate);
            g_assert_false(state_of(fx).evaluating);
        }
    }
}

/* Video delay far above audio delay while audio dropped: negative. */
static void test_video_vs_audio(Fixture *fx, gconstpointer data)
{
    uint64_t byte_rate = 7 * fx->size_at[3];

    fx->encoder = make_encoder(fx, byte_rate * 8, 0, FALSE);
    fx->now_ns += 4000 * MS;
    for (int i = 0; i < 12; i++) {
        offer_frame(fx, 200 * MS);
    }
    uint32_t start = mm_time(fx) - 1000;
    /* Audio latency peaks at 400, then falls to 100 while video sits at 300. */
    fx->encoder->client_stream_report(fx->encoder, 5, 0, start, mm_time(fx), 300, 400);
    g_assert_cmpuint(state_of(fx).byte_rate, ==, byte_rate);
    fx->encoder->client_stream_report(fx->encoder, 5, 0, start, mm_time(fx), 300, 100);
    g_assert_cmpuint(state_of(fx).byte_rate, <, byte_rate);
}

/* Server drops: more than 10% of frames replaced in the send queue, once at
 * least min(fps, source fps) frames were encoded, means a decrease. */
static void test_server_drops(Fixture *fx, gconstpointer data)
{
    static const struct {
        uint32_t source_fps;
        guint drops_before, drops_after;
        gboolean decrease;
    } cases[] = {
        {25, 1, 1, FALSE},                    /* 2 / (2 + 25) = 0.074 */
        {25, 2, 1, TRUE},                     /* 3 / 28 = 0.107 */
        {25, 5, 1, TRUE},  {20, 1, 1, FALSE}, /* 2 / 22 = 0.091 */
        {9, 0, 1, FALSE},                     /* 1 / 10: exactly 0.1 is not more than 0.1 */
        {9, 1, 1, TRUE},                      /* 2 / 11 */
    };

    for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
        if (fx->encoder != NULL) {
            fx->encoder->destroy(fx->encoder);
        }
        fx->source_fps = cases[c].source_fps;
        settle_high(fx); /* q80, 25 fps; the settling frame counts 1 */
        g_assert_cmpuint(state_of(fx).fps, ==, 25);
        fx->now_ns += 4000 * MS;
        uint64_t byte_rate = state_of(fx).byte_rate;
        for (guint i = 0; i < cases[c].drops_before; i++) {
            fx->encoder->notify_server_frame_drop(fx->encoder);
        }
        g_assert_cmpuint(state_of(fx).byte_rate, ==, byte_rate); /* too few frames encoded */
        /* Bring the encoded count to min(fps, source fps). */
        for (uint32_t i = 1; i < cases[c].source_fps; i++) {
            g_assert_cmpint(offer_frame(fx, 50 * MS), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
        }
        g_assert_cmpuint(state_of(fx).byte_rate, ==, byte_rate);
        for (guint i = 0; i < cases[c].drops_after; i++) {
            fx->encoder->notify_server_frame_drop(fx->encoder);
        }
        if (cases[c].decrease) {
            g_assert_cmpuint(state_of(fx).byte_rate, <, byte_rate);
            g_assert_true(state_of(fx).evaluating);
        } else {
            g_assert_cmpuint(state_of(fx).byte_rate, ==, byte_rate);
            g_assert_false(state_of(fx).evaluating);
        }
    }
}

/* In warm-up a decrease changes no rate; it only cancels a running
 * evaluation. */
static void test_warmup_cancels_evaluation(Fixture *fx, gconstpointer data)
{
    settle_high(fx);
    uint64_t byte_rate = state_of(fx).byte_rate;
    for (int i = 0; i < 3; i++) {
        fx->encoder->notify_server_frame_drop(fx->encoder);
    }
    for (int i = 0; i < 24; i++) {
        offer_frame(fx, 50 * MS);
    }
    fx->encoder->notify_server_frame_drop(fx->encoder);
    SvMjpegRateState st = state_of(fx);
    g_assert_true(st.warming_up);
    g_assert_cmpuint(st.byte_rate, ==, byte_rate);
    g_assert_false(st.evaluating);
    g_assert_cmpint(st.quality, ==, 80); /* no evaluation was running */

    /* An UPGRADE evaluation running in warm-up, hit by a late report: the
     * evaluation is cancelled back to its lower bound (quality 50, 7 fps)
     * but the raised rate stays (spice does the same). */
    fx->encoder->destroy(fx->encoder);
    fx->encoder = make_encoder(fx, 7 * fx->size_at[3] * 8, 0, FALSE);
    offer_frame(fx, 140 * MS);
    offer_frame(fx, 140 * MS);
    uint32_t change_mm = mm_time(fx) - 140;
    for (int i = 0; i < 14; i++) {
        offer_frame(fx, 140 * MS);
    }
    positive_report(fx, change_mm + 2000, mm_time(fx));
    st = state_of(fx);
    g_assert_true(st.evaluating);
    g_assert_cmpuint(st.byte_rate, ==, 8 * fx->size_at[3]);
    late_report(fx, change_mm, mm_time(fx));
    st = state_of(fx);
    g_assert_true(st.warming_up);
    g_assert_false(st.evaluating);
    g_assert_cmpint(st.quality, ==, 50);
    g_assert_cmpuint(st.fps, ==, 7);
    g_assert_cmpuint(st.byte_rate, ==, 8 * fx->size_at[3]);

    /* The creation-time SET evaluation, cancelled (a 1 fps source makes one
     * encoded frame enough for the server-drop check): quality 50, 12 fps. */
    fx->encoder->destroy(fx->encoder);
    fx->source_fps = 1;
    fx->encoder = make_encoder(fx, 7 * fx->size_at[3] * 8, 0, FALSE);
    offer_frame(fx, 140 * MS);
    g_assert_true(state_of(fx).evaluating);
    fx->encoder->notify_server_frame_drop(fx->encoder);
    st = state_of(fx);
    g_assert_false(st.evaluating);
    g_assert_cmpint(st.quality, ==, 50);
    g_assert_cmpuint(st.fps, ==, 12);
    g_assert_cmpuint(st.byte_rate, ==, 7 * fx->size_at[3]);
}

/* Fixed quality: no pacing, no drops, reports ignored. */
static void test_fixed_quality(Fixture *fx, gconstpointer data)
{
    VideoEncoderStats stats;

    fx->encoder = make_encoder(fx, 1000, 70, FALSE);
    for (int i = 0; i < 20; i++) {
        g_assert_cmpint(offer_frame(fx, 1 * MS), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    }
    late_report(fx, 0, mm_time(fx));
    fx->encoder->notify_server_frame_drop(fx->encoder);
    g_assert_cmpuint(fx->encoder->get_bit_rate(fx->encoder), ==, 1000);
    fx->encoder->get_stats(fx->encoder, &stats);
    g_assert_cmpfloat_with_epsilon(stats.avg_quality, 70.0, 1e-9);
    g_assert_cmpuint(fx->done_bytes, ==, 20 * fx->size_at[5]);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) \
    g_test_add("/mjpeg-rate/" path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
    ADD("creation", test_creation);
    ADD("refuses-other-codecs", test_refuses_other_codecs);
    ADD("set-evaluation/climbs", test_set_evaluation_climbs);
    ADD("set-evaluation/median", test_set_evaluation_median);
    ADD("set-evaluation/descends", test_set_evaluation_descends);
    ADD("pacing-and-compensation", test_pacing_and_compensation);
    ADD("report/positive-increase", test_positive_report_increase);
    ADD("report/positive-strict", test_positive_report_strict);
    ADD("report/negative-decrease", test_negative_report_decrease);
    ADD("report/negative-stale", test_negative_report_stale);
    ADD("report/negative-delay-fix", test_negative_delay_raises_playback_delay);
    ADD("report/video-vs-audio", test_video_vs_audio);
    ADD("report/positive-before-change", test_positive_report_before_change);
    ADD("server-drops", test_server_drops);
    ADD("warmup", test_warmup_cancels_evaluation);
    ADD("fixed-quality", test_fixed_quality);
#undef ADD
    return g_test_run();
}
