/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The shared frame encoder (encoders/frame-encoder.c) around a fake codec
 * backend with scripted output sizes and results, driven by a fake clock.
 * Expected values are derived in each test from the formulas of reference
 * sections 4.4 and 4.7-4.10, from the state observed just before.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "frame-encoder.h"

#if SV_HAVE_LIBYUV /* without it the factory refuses to create encoders */

#define WIDTH 320
#define HEIGHT 240
#define FPS 30
#define MS INT64_C(1000000)
#define SEC (1000 * MS)
#define NO_AUDIO UINT32_MAX
#define MIN_RATE (128 * 1024)
#define MAX_STEP (1024 * 1024)
#define PERIOD_NS (SEC / FPS) /* as the encoder computes it: 1e9 / fps */

/* ------------------------------------------------------------------------ */
/* The fake backend                                                         */

typedef struct {
    /* Script. */
    uint32_t size;       /* bytes of each output */
    GQueue results;      /* SvBackendResult + 1, consumed before OK */
    gboolean live;       /* set_bit_rate applies live */
    gboolean fail_start; /* start() fails */
    gboolean fail_create;
    int64_t encode_ns; /* the fake clock advances this much per encode */
    gboolean keep_planes;

    /* What the frame encoder did. */
    gboolean created;
    gboolean destroyed;
    int options[SV_MAX_ENCODER_OPTIONS];
    GArray *starts;    /* uint64_t bit rates of successful start() calls */
    GArray *set_rates; /* uint64_t, every set_bit_rate() call */
    SvBackendFormat format;
    guint encodes;
    int64_t last_timeout_ns;
    gboolean last_force_key;
    int64_t last_pts_ns;
    uint8_t *planes[3];
    int strides[3];
    uint32_t plane_width[3], plane_height[3];
} FakeBackend;

static FakeBackend *fake; /* the backend of the test running */
static int64_t *fake_clock_ns;

static void *fake_create(SpiceVideoCodecType codec, const int *options, GError **error)
{
    if (fake->fail_create) {
        g_set_error_literal(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                            "scripted failure");
        return NULL;
    }
    memcpy(fake->options, options, sizeof(fake->options));
    fake->created = TRUE;
    return fake;
}

static gboolean fake_start(void *backend, const SvBackendFormat *format, uint64_t bit_rate,
                           GError **error)
{
    FakeBackend *fb = backend;
    if (fb->fail_start) {
        g_set_error_literal(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                            "scripted start failure");
        return FALSE;
    }
    fb->format = *format;
    g_array_append_val(fb->starts, bit_rate);
    return TRUE;
}

static gboolean fake_set_bit_rate(void *backend, uint64_t bit_rate)
{
    FakeBackend *fb = backend;
    g_array_append_val(fb->set_rates, bit_rate);
    return fb->live;
}

typedef struct {
    VideoBuffer base;
} FakeBuffer;

static void fake_buffer_free(VideoBuffer *buffer)
{
    g_free(buffer->data);
    g_free(buffer);
}

static SvBackendResult fake_encode(void *backend, const SvYuvFrame *frame, int64_t timeout_ns,
                                   VideoBuffer **out)
{
    FakeBackend *fb = backend;
    fb->encodes++;
    fb->last_timeout_ns = timeout_ns;
    fb->last_force_key = frame->force_key_frame;
    fb->last_pts_ns = frame->pts_ns;
    *fake_clock_ns += fb->encode_ns;
    if (fb->keep_planes) {
        for (int i = 0; i < 3; i++) {
            gboolean chroma = i > 0 && !frame->yuv444;
            fb->plane_width[i] = chroma ? (frame->width + 1) / 2 : frame->width;
            fb->plane_height[i] = chroma ? (frame->height + 1) / 2 : frame->height;
            fb->strides[i] = frame->strides[i];
            g_free(fb->planes[i]);
            fb->planes[i] =
                g_memdup2(frame->planes[i], (gsize)frame->strides[i] * fb->plane_height[i]);
        }
    }
    if (!g_queue_is_empty(&fb->results)) {
        SvBackendResult r = GPOINTER_TO_INT(g_queue_pop_head(&fb->results)) - 1;
        if (r != SV_BACKEND_OK) {
            return r;
        }
    }
    FakeBuffer *buffer = g_new0(FakeBuffer, 1);
    buffer->base.data = g_malloc0(MAX(fb->size, 1));
    buffer->base.size = fb->size;
    buffer->base.free = fake_buffer_free;
    *out = &buffer->base;
    return SV_BACKEND_OK;
}

static void fake_destroy(void *backend)
{
    ((FakeBackend *)backend)->destroyed = TRUE;
}

static const SvCodecBackendClass fake_class = {
    .name = "fake",
    .create = fake_create,
    .start = fake_start,
    .set_bit_rate = fake_set_bit_rate,
    .encode = fake_encode,
    .destroy = fake_destroy,
};

static const SvEncoderOption fake_options[] = {
    {"keyint", SV_OPTION_INT, 0, 1000, 60, NULL, "key-frame interval"},
    {"yuv444", SV_OPTION_BOOL, 0, 1, 0, NULL, "I444 instead of I420"},
    {"cpu-used", SV_OPTION_INT, -16, 16, 4, NULL, "libvpx speed"},
    {NULL},
};

/* ------------------------------------------------------------------------ */
/* Fixture                                                                  */

typedef struct {
    int64_t now_ns;
    int64_t frame_ns; /* time of the next frame offered */
    uint32_t source_fps;
    uint32_t roundtrip_ms;
    GArray *delays; /* uint32_t, every update_client_playback_delay */
    FakeBackend fb;

    uint8_t *pixels;
    SpiceChunks *chunks;
    SpiceBitmap bitmap;
    SpiceRect src;
    VideoEncoder *encoder;
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

static void set_picture(Fixture *fx, uint32_t width, uint32_t height)
{
    g_free(fx->pixels);
    g_free(fx->chunks);
    fx->pixels = g_malloc0((gsize)width * height * 4);
    fx->chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    fx->chunks->num_chunks = 1;
    fx->chunks->data_size = width * height * 4;
    fx->chunks->chunk[0].data = fx->pixels;
    fx->chunks->chunk[0].len = width * height * 4;
    fx->bitmap = (SpiceBitmap){
        .format = SPICE_BITMAP_FMT_32BIT,
        .flags = SPICE_BITMAP_FLAGS_TOP_DOWN,
        .x = width,
        .y = height,
        .stride = width * 4,
        .data = fx->chunks,
    };
    fx->src = (SpiceRect){0, 0, (int32_t)width, (int32_t)height};
}

static void fixture_set_up(Fixture *fx, gconstpointer data)
{
    fx->now_ns = fx->frame_ns = 1000 * MS;
    fx->source_fps = FPS;
    fx->roundtrip_ms = 60;
    fx->delays = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    fx->fb.starts = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    fx->fb.set_rates = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    fx->fb.size = 1000;
    g_queue_init(&fx->fb.results);
    fake = &fx->fb;
    fake_clock_ns = &fx->now_ns;
    set_picture(fx, WIDTH, HEIGHT);
}

static void fixture_tear_down(Fixture *fx, gconstpointer data)
{
    if (fx->encoder != NULL) {
        fx->encoder->destroy(fx->encoder);
        g_assert_true(fx->fb.destroyed);
    }
    g_array_unref(fx->delays);
    g_array_unref(fx->fb.starts);
    g_array_unref(fx->fb.set_rates);
    g_queue_clear(&fx->fb.results);
    for (int i = 0; i < 3; i++) {
        g_free(fx->fb.planes[i]);
    }
    g_free(fx->chunks);
    g_free(fx->pixels);
    fake = NULL;
    fake_clock_ns = NULL;
}

static VideoEncoder *make_encoder_full(Fixture *fx, uint64_t bit_rate, const SvEncoderConfig *cfg)
{
    VideoEncoderRateControlCbs cbs = {
        .opaque = fx,
        .get_roundtrip_ms = cb_roundtrip,
        .get_source_fps = cb_source_fps,
        .update_client_playback_delay = cb_delay,
    };
    SvEncoderConfig config = {0};
    if (cfg != NULL) {
        config = *cfg;
    }
    config.clock = (SvClock){fake_now, fx};
    return sv_frame_encoder_new(&fake_class, fake_options, SPICE_VIDEO_CODEC_TYPE_VP8, bit_rate,
                                &cbs, NULL, NULL, &config);
}

static void make_encoder(Fixture *fx, uint64_t bit_rate)
{
    fx->encoder = make_encoder_full(fx, bit_rate, NULL);
    g_assert_nonnull(fx->encoder);
}

static SvFrameRateState state_of(const Fixture *fx)
{
    SvFrameRateState st;
    g_assert_true(sv_frame_encoder_get_rate_state(fx->encoder, &st));
    return st;
}

static uint32_t next_mm(const Fixture *fx)
{
    return (uint32_t)(fx->frame_ns / MS);
}

/* Offers one frame at frame_ns (the clock is set there), then moves
 * frame_ns one source period on. */
static VideoEncodeResults offer(Fixture *fx)
{
    VideoBuffer *buf = NULL;
    fx->now_ns = fx->frame_ns;
    VideoEncodeResults r = fx->encoder->encode_frame(fx->encoder, next_mm(fx), &fx->bitmap,
                                                     &fx->src, TRUE, NULL, &buf);
    if (r == VIDEO_ENCODER_FRAME_ENCODE_DONE) {
        g_assert_nonnull(buf);
        g_assert_cmpuint(buf->size, ==, fx->fb.size);
        buf->free(buf);
    } else {
        g_assert_null(buf);
    }
    fx->frame_ns += SEC / fx->source_fps;
    return r;
}

/* Offers frames for @ms, each @ratio times the per-frame budget of the
 * current bit rate. @return the number encoded. */
static guint run(Fixture *fx, int64_t ms, double ratio)
{
    int64_t end = fx->frame_ns + ms * MS;
    guint done = 0;
    while (fx->frame_ns < end) {
        SvFrameRateState st = state_of(fx);
        fx->fb.size = (uint32_t)(ratio * (double)st.bit_rate / 8 / fx->source_fps);
        done += offer(fx) == VIDEO_ENCODER_FRAME_ENCODE_DONE;
    }
    return done;
}

static uint64_t cap_of(uint64_t w, uint64_t h, uint64_t bpp, uint64_t fps)
{
    return w * h * bpp * fps / 10;
}

static uint64_t step_for(uint64_t max, uint64_t min)
{
    return CLAMP((max - min) / 10, (uint64_t)MIN_RATE, (uint64_t)MAX_STEP);
}

static uint64_t times_margin(uint64_t rate)
{
    return (uint64_t)((double)rate * (4.0 / 3.0));
}

static void report(Fixture *fx, uint32_t drops, int32_t video, uint32_t audio)
{
    uint32_t newest = state_of(fx).last_change_mm_time;
    /* A period that does not predate the last change. */
    fx->encoder->client_stream_report(fx->encoder, 10, drops, newest, newest, video, audio);
}

/* ------------------------------------------------------------------------ */
/* First frame, virtual buffer, playback delay (4.4, 4.7)                   */

static void test_first_frame(Fixture *fx, gconstpointer data)
{
    const uint64_t rate = 2000000;
    const uint32_t key_size = 40000, p_size = 2000;
    const int64_t encode_ns = 5 * MS;

    make_encoder(fx, rate);
    fx->fb.encode_ns = encode_ns;
    fx->fb.size = key_size;
    uint32_t t0 = next_mm(fx);
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);

    /* The backend was started once, at bit_rate x 4/3, for this frame. */
    g_assert_cmpuint(fx->fb.starts->len, ==, 1);
    g_assert_cmpuint(g_array_index(fx->fb.starts, uint64_t, 0), ==, times_margin(rate));
    g_assert_cmpuint(fx->fb.format.width, ==, WIDTH);
    g_assert_cmpuint(fx->fb.format.height, ==, HEIGHT);
    g_assert_cmpuint(fx->fb.format.fps, ==, FPS);
    g_assert_false(fx->fb.format.yuv444);
    g_assert_cmpint(fx->fb.format.codec, ==, SPICE_VIDEO_CODEC_TYPE_VP8);
    g_assert_true(fx->fb.last_force_key);
    g_assert_cmpint(fx->fb.last_pts_ns, ==, 0);
    g_assert_cmpint(fx->fb.last_timeout_ns, ==, SEC); /* 0 means 1 s */

    SvFrameRateState st = state_of(fx);
    uint64_t cap = cap_of(WIDTH, HEIGHT, 32, FPS);
    g_assert_cmpuint(st.bit_rate, ==, rate);
    g_assert_cmpuint(st.video_bit_rate, ==, times_margin(rate));
    g_assert_cmpuint(st.min_bit_rate, ==, 0); /* spice's "turned around" on the first call */
    g_assert_cmpuint(st.max_bit_rate, ==, cap);
    g_assert_cmpuint(st.bit_rate_step, ==, step_for(cap, 0));
    g_assert_cmpint(st.status, ==, SV_FRAME_RATE_INCREASING);
    g_assert_cmpuint(st.increase_interval_ms, ==, 2000);
    g_assert_cmpuint(st.last_change_mm_time, ==, t0);
    int64_t vbuffer_size = (int64_t)(rate * 300 / 1000 / 8);
    g_assert_cmpint(st.vbuffer_size_bytes, ==, vbuffer_size);
    /* Slow start: the buffer starts empty, so the key frame is a deficit. */
    g_assert_cmpint(st.vbuffer_free_bytes, ==, -(int64_t)key_size);

    /* Window: the set-up entry (size 0, no duration) and the key frame. */
    int64_t avg_encode_ns = encode_ns / 2;
    int64_t deficit_ns = (int64_t)key_size * 8 * SEC / (int64_t)rate;
    int64_t drops = (deficit_ns + PERIOD_NS - 1) / PERIOD_NS;
    int64_t delay_ns = drops * PERIOD_NS + PERIOD_NS / 2;
    g_assert_cmpint(delay_ns, <, SEC / 3); /* this scenario stays under MAX_PERIOD */
    uint32_t expect_next = t0 + (uint32_t)(MAX(delay_ns, avg_encode_ns) / MS);
    g_assert_cmpuint(st.next_frame_mm_time, ==, expect_next);

    /* The playback delay: (largest + average frame) at bit_rate, latency x 1.1, encoding. */
    uint64_t size = key_size + key_size / 2;
    uint32_t expect_delay = (uint32_t)(size * 8000 / rate) +
                            (uint32_t)(fx->roundtrip_ms / 2 * 1.1) + (uint32_t)(avg_encode_ns / MS);
    g_assert_cmpuint(fx->delays->len, ==, 1);
    g_assert_cmpuint(g_array_index(fx->delays, uint32_t, 0), ==, expect_delay);

    /* The frames before next_frame_mm_time are dropped, the first after it encoded. */
    fx->fb.size = p_size;
    guint dropped = 0;
    while (next_mm(fx) < expect_next) {
        g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_DROP);
        dropped++;
    }
    g_assert_cmpuint(dropped, ==, (guint)((expect_next - t0 - 1) * MS / PERIOD_NS));
    g_assert_cmpuint(fx->fb.encodes, ==, 1);
    uint32_t t1 = next_mm(fx);
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    g_assert_false(fx->fb.last_force_key);
    g_assert_cmpint(fx->fb.last_pts_ns, ==, (int64_t)(t1 - t0) * MS);

    /* Paid back: refill = bit_rate x elapsed, capped at the buffer size. */
    st = state_of(fx);
    int64_t refill = (int64_t)(rate * (t1 - t0) / 1000 / 8);
    int64_t expect_free = MIN(-(int64_t)key_size + refill, vbuffer_size) - p_size;
    g_assert_cmpint(st.vbuffer_free_bytes, ==, expect_free);
    g_assert_cmpint(expect_free, >=, 0);
    /* Not in deficit: next = newest + average encode time (3 frames: 0, 5, 5 ms). */
    g_assert_cmpuint(st.next_frame_mm_time, ==, t1 + (uint32_t)(2 * encode_ns / 3 / MS));
    g_assert_cmpuint(fx->delays->len, ==, 1); /* only the deficit branch reports */
    g_assert_cmpuint(fx->fb.starts->len, ==, 1);
}

/* A large deficit: drops capped at 1/3 s and the backend aims lower. */
static void test_deficit_lowers_video_rate(Fixture *fx, gconstpointer data)
{
    const uint64_t rate = 1000000;
    make_encoder(fx, rate);
    fx->fb.live = TRUE;
    fx->fb.size = 200000; /* 1.6 s at 1 Mbit/s */
    uint32_t t0 = next_mm(fx);
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    SvFrameRateState st = state_of(fx);
    /* video_bit_rate was bit_rate x 4/3, not above it: set to bit_rate itself. */
    g_assert_cmpuint(st.video_bit_rate, ==, rate);
    g_assert_cmpuint(st.next_frame_mm_time, ==, t0 + 333);
}

/* ------------------------------------------------------------------------ */
/* Server-side increase (4.9)                                               */

static void test_server_increase(Fixture *fx, gconstpointer data)
{
    const uint64_t rate = 2000000;
    make_encoder(fx, rate);
    fx->fb.live = TRUE;
    fx->fb.size = 10000;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    SvFrameRateState first = state_of(fx);

    /* Small frames: the backend does not use its budget, so no increase. */
    run(fx, 3000, 0.5);
    SvFrameRateState st = state_of(fx);
    g_assert_cmpuint(st.bit_rate, ==, rate);
    g_assert_cmpuint(fx->encoder->get_bit_rate(fx->encoder), <, rate);

    /* Budget-sized frames: the 2 s since the last change have passed, so the
     * rate steps up by `step` as soon as the window's rate reaches it, then
     * every 2 s. */
    guint increases = 0;
    uint64_t prev = rate, prev_video = st.video_bit_rate;
    uint32_t prev_change = st.last_change_mm_time;
    int64_t end = fx->frame_ns + 7000 * MS;
    while (fx->frame_ns < end) {
        uint64_t effective = fx->encoder->get_bit_rate(fx->encoder);
        run(fx, 1, 1.0);
        st = state_of(fx);
        if (st.bit_rate != prev) {
            increases++;
            g_assert_cmpuint(effective, >=, prev / 2); /* sanity: frames were large */
            g_assert_cmpuint(st.bit_rate, ==, MIN(prev + first.bit_rate_step, first.max_bit_rate));
            g_assert_cmpuint(st.last_change_mm_time - prev_change, >=, 2000);
            if (increases > 1) {
                g_assert_cmpuint(st.last_change_mm_time - prev_change, <, 2000 + 100);
            }
            g_assert_cmpint(st.status, ==, SV_FRAME_RATE_INCREASING);
            /* The backend's target follows only when the rate passes it. */
            g_assert_cmpuint(st.video_bit_rate, ==,
                             st.bit_rate > prev_video ? times_margin(st.bit_rate) : prev_video);
            prev_video = st.video_bit_rate;
            prev = st.bit_rate;
            prev_change = st.last_change_mm_time;
        }
    }
    g_assert_cmpuint(increases, >=, 3);
    /* Applied live, never restarted. */
    g_assert_cmpuint(fx->fb.starts->len, ==, 1);
    g_assert_cmpuint(g_array_index(fx->fb.set_rates, uint64_t, fx->fb.set_rates->len - 1), ==,
                     prev_video);
}

/* ------------------------------------------------------------------------ */
/* Server drops (4.9)                                                       */

/* Low delay (SvEncoderConfig.low_delay): a lower rate lowers a live
 * backend's target with it, to the rate × 4/3 an increase sets, so that
 * frames get smaller rather than fewer; spice keeps the target; a backend
 * that would need a restart is left alone. */
static void test_low_delay(Fixture *fx, gconstpointer data)
{
    for (int mode = 0; mode < 3; mode++) {
        SvEncoderConfig cfg = {.low_delay = mode > 0};
        fx->encoder = make_encoder_full(fx, 4000000, &cfg);
        g_assert_nonnull(fx->encoder);
        fx->fb.live = mode != 2;
        fx->fb.size = 1000;
        g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
        run(fx, 1000, 0.5);
        SvFrameRateState before = state_of(fx);
        guint starts = fx->fb.starts->len;
        fx->encoder->notify_server_frame_drop(fx->encoder);
        g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_DROP);
        SvFrameRateState st = state_of(fx);
        g_assert_cmpuint(st.bit_rate, <, before.bit_rate);
        g_assert_cmpuint(times_margin(st.bit_rate), <, before.video_bit_rate);
        if (mode == 1) {
            g_assert_cmpuint(st.video_bit_rate, ==, times_margin(st.bit_rate));
            g_assert_cmpuint(g_array_index(fx->fb.set_rates, uint64_t, fx->fb.set_rates->len - 1),
                             ==, st.video_bit_rate);
        } else {
            g_assert_cmpuint(st.video_bit_rate, ==, before.video_bit_rate);
        }
        /* Never a restart for it. */
        while (offer(fx) != VIDEO_ENCODER_FRAME_ENCODE_DONE) {
        }
        g_assert_cmpuint(fx->fb.starts->len, ==, starts);
        fx->encoder->destroy(fx->encoder);
        fx->encoder = NULL;
        fx->fb.destroyed = FALSE;
        g_array_set_size(fx->fb.starts, 0);
        g_array_set_size(fx->fb.set_rates, 0);
    }
}

static void test_server_drops(Fixture *fx, gconstpointer data)
{
    const uint64_t rate = 4000000;
    make_encoder(fx, rate);
    fx->fb.live = TRUE;
    fx->fb.size = 1000;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    run(fx, 1000, 0.5);
    SvFrameRateState before = state_of(fx);
    g_assert_cmpint(before.vbuffer_free_bytes, >, 0);

    /* Fewer than a second's worth: reduce by 4/3, and drop this frame. */
    for (int i = 0; i < FPS - 1; i++) {
        fx->encoder->notify_server_frame_drop(fx->encoder);
    }
    uint32_t drop_mm = next_mm(fx);
    guint encodes = fx->fb.encodes;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_DROP);
    g_assert_cmpuint(fx->fb.encodes, ==, encodes);
    SvFrameRateState st = state_of(fx);
    uint64_t reduced = MAX(before.min_bit_rate, (uint64_t)(before.bit_rate / (4.0 / 3.0)));
    g_assert_cmpuint(st.bit_rate, ==, reduced);
    g_assert_cmpint(st.status, ==, SV_FRAME_RATE_DECREASING);
    g_assert_cmpuint(st.max_bit_rate, ==, before.bit_rate - MIN_RATE);
    g_assert_cmpint(st.vbuffer_free_bytes, <=, 0);
    /* The zero-size frame is the newest: the change is dated at it. */
    g_assert_cmpuint(st.last_change_mm_time, ==, drop_mm);

    /* The next frame's refill counts from the dropped frame's time only. */
    fx->fb.size = 100;
    while (next_mm(fx) < st.next_frame_mm_time) {
        g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_DROP);
    }
    uint32_t t = next_mm(fx);
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    SvFrameRateState after = state_of(fx);
    int64_t refill = (int64_t)(st.bit_rate * (t - drop_mm) / 1000 / 8);
    g_assert_cmpint(after.vbuffer_free_bytes, ==,
                    MIN(st.vbuffer_free_bytes + refill, st.vbuffer_size_bytes) - 100);

    /* A full second's worth: cut in half, not below the minimum (0 here). */
    before = state_of(fx);
    for (int i = 0; i < FPS; i++) {
        fx->encoder->notify_server_frame_drop(fx->encoder);
    }
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_DROP);
    st = state_of(fx);
    g_assert_cmpuint(st.bit_rate, ==, MAX(before.min_bit_rate, before.bit_rate / 2));
    /* The count was reset. */
    run(fx, 2000, 0.1);
    g_assert_cmpuint(state_of(fx).bit_rate, ==, st.bit_rate);
}

/* The minimum bounds a cut unless the rate is already at it. */
static void test_cut_bounded_by_min(Fixture *fx, gconstpointer data)
{
    make_encoder(fx, 4000000);
    fx->fb.live = TRUE;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    run(fx, 1000, 0.5);
    /* A cut (not a 4/3 reduction, after which the range would be narrow
     * enough to settle at once): DECREASING, max = old rate - 128 Ki. */
    for (int i = 0; i < FPS; i++) {
        fx->encoder->notify_server_frame_drop(fx->encoder);
    }
    run(fx, 1000, 0.5);
    /* Budget-sized frames until the server increases: turned around, min = rate. */
    SvFrameRateState low = state_of(fx);
    g_assert_cmpint(low.status, ==, SV_FRAME_RATE_DECREASING);
    int64_t end = fx->frame_ns + 6000 * MS;
    while (fx->frame_ns < end && state_of(fx).bit_rate == low.bit_rate) {
        run(fx, 1, 1.0);
    }
    SvFrameRateState st = state_of(fx);
    g_assert_cmpuint(st.min_bit_rate, ==, low.bit_rate);
    g_assert_cmpint(st.status, ==, SV_FRAME_RATE_INCREASING);
    g_assert_cmpuint(st.bit_rate_step, ==, step_for(low.max_bit_rate, low.bit_rate));
    g_assert_cmpuint(st.bit_rate, ==, low.bit_rate + low.bit_rate_step); /* the old step */
    /* A cut stops at the minimum... */
    for (int i = 0; i < FPS; i++) {
        fx->encoder->notify_server_frame_drop(fx->encoder);
    }
    offer(fx);
    SvFrameRateState cut = state_of(fx);
    g_assert_cmpuint(st.bit_rate / 2, <, st.min_bit_rate);
    g_assert_cmpuint(cut.bit_rate, ==, st.min_bit_rate);
    /* ...and goes below it only from it. */
    for (int i = 0; i < FPS; i++) {
        fx->encoder->notify_server_frame_drop(fx->encoder);
    }
    offer(fx);
    g_assert_cmpuint(state_of(fx).bit_rate, ==, MAX(cut.bit_rate / 2, (uint64_t)MIN_RATE));
    g_assert_cmpuint(state_of(fx).min_bit_rate, ==, state_of(fx).bit_rate);
}

/* ------------------------------------------------------------------------ */
/* Client reports (4.9)                                                     */

typedef enum {
    ACT_NONE,
    ACT_CUT,
    ACT_REDUCE,
    ACT_DECREMENT,
} Action;

typedef struct {
    const char *name;
    int32_t video[4]; /* margins of the reports; INT32_MIN ends */
    uint32_t audio[4];
    uint32_t last_drops; /* drops in the last report */
    Action action;       /* what the last report does; the others do nothing */
} ScoreCase;

/* min_margin = 1000/30 + 30 x 0.1 = 36 ms with FPS 30 and a 60 ms round trip. */
static const ScoreCase score_cases[] = {
    {"drops", {500, INT32_MIN}, {NO_AUDIO}, 1, ACT_CUT},
    /* Margins far too low but not falling: score 0. */
    {"improving", {5, 5, 8, INT32_MIN}, {NO_AUDIO, NO_AUDIO, NO_AUDIO}, 0, ACT_NONE},
    /* 9 < 0.3 x 36: score 3; delta -1 > -0.15 x 10: no bump. */
    {"score3-min-margin", {10, 9, INT32_MIN}, {NO_AUDIO, NO_AUDIO}, 0, ACT_REDUCE},
    /* 35 < 36 = min_margin: score 2; delta -5 > -6. */
    {"score2-min-margin", {40, 35, INT32_MIN}, {NO_AUDIO, NO_AUDIO}, 0, ACT_DECREMENT},
    /* 700 < 0.75 x 1000: score 1, delta -90 > -150. */
    {"score1", {1000, 860, 790, 700}, {NO_AUDIO, NO_AUDIO, NO_AUDIO, NO_AUDIO}, 0, ACT_DECREMENT},
    /* 860 >= 750 and delta -140 > -150: score 0. */
    {"score0", {1000, 860, INT32_MIN}, {NO_AUDIO, NO_AUDIO}, 0, ACT_NONE},
    /* delta -180 < -150: score 0 + 1. */
    {"bump1", {1000, 820, INT32_MIN}, {NO_AUDIO, NO_AUDIO}, 0, ACT_DECREMENT},
    /* 740 < 750: score 1; delta -210 < -200: + 2. */
    {"bump2", {1000, 950, 740, INT32_MIN}, {NO_AUDIO, NO_AUDIO, NO_AUDIO}, 0, ACT_REDUCE},
    /* 600 < 0.5 x 1000 is false, 600 < 750: score 1; delta -390 < -200: +2, then a
     * drop makes it 4 anyway. */
    {"drops-and-bump", {1000, 600, INT32_MIN}, {NO_AUDIO, NO_AUDIO}, 2, ACT_CUT},
    /* Audio fell under half its maximum and 150 x 1.25 < 1000. */
    {"audio", {1000, 1000, INT32_MIN}, {400, 150}, 0, ACT_DECREMENT},
    /* 150 x 1.25 >= 180: video is not the one starving audio. */
    {"audio-not-starved", {180, 180, INT32_MIN}, {400, 150}, 0, ACT_NONE},
};

static void test_client_scores(Fixture *fx, gconstpointer data)
{
    for (guint c = 0; c < G_N_ELEMENTS(score_cases); c++) {
        const ScoreCase *sc = &score_cases[c];
        fx->encoder = NULL;
        make_encoder(fx, 4000000);
        fx->fb.live = TRUE;
        fx->fb.size = 5000;
        g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
        guint n = 0;
        while (n < 4 && sc->video[n] != INT32_MIN) {
            n++;
        }
        SvFrameRateState before = state_of(fx);
        for (guint i = 0; i < n; i++) {
            before = state_of(fx);
            report(fx, i + 1 == n ? sc->last_drops : 0, sc->video[i], sc->audio[i]);
            if (i + 1 < n) {
                g_test_message("%s: report %u", sc->name, i);
                g_assert_cmpuint(state_of(fx).bit_rate, ==, before.bit_rate);
            }
        }
        SvFrameRateState st = state_of(fx);
        uint64_t expect = before.bit_rate;
        switch (sc->action) {
        case ACT_CUT:
            expect = MAX(before.min_bit_rate, before.bit_rate / 2);
            break;
        case ACT_REDUCE:
            expect = MAX(before.min_bit_rate, (uint64_t)(before.bit_rate / (4.0 / 3.0)));
            break;
        case ACT_DECREMENT:
            expect = before.bit_rate - before.bit_rate_step;
            break;
        case ACT_NONE:
            break;
        }
        g_test_message("case %s: %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT, sc->name,
                       before.bit_rate, st.bit_rate);
        g_assert_cmpuint(st.bit_rate, ==, expect);
        if (sc->action != ACT_NONE) {
            g_assert_cmpint(st.status, ==, SV_FRAME_RATE_DECREASING);
            g_assert_cmpuint(st.max_bit_rate, ==, before.bit_rate - MIN_RATE);
        }
        fx->encoder->destroy(fx->encoder);
        fx->encoder = NULL;
        fx->frame_ns += 10 * SEC;
    }
}

/* Score 1 only decrements while INCREASING and if the period was not above the rate. */
static void test_score1_needs_increasing(Fixture *fx, gconstpointer data)
{
    make_encoder(fx, 4000000);
    fx->fb.live = TRUE;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    report(fx, 1, 500, NO_AUDIO); /* cut: DECREASING */
    SvFrameRateState st = state_of(fx);
    g_assert_cmpint(st.status, ==, SV_FRAME_RATE_DECREASING);
    static const int32_t margins[] = {1000, 860, 790, 700};
    for (guint i = 0; i < G_N_ELEMENTS(margins); i++) {
        report(fx, 0, margins[i], NO_AUDIO);
    }
    g_assert_cmpuint(state_of(fx).bit_rate, ==, st.bit_rate);
}

/* Once a client report arrived, only reports raise the rate. */
static void test_reports_stop_server_increase(Fixture *fx, gconstpointer data)
{
    make_encoder(fx, 2000000);
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    run(fx, 1000, 0.5);
    report(fx, 0, 400, NO_AUDIO); /* score 0, too early to increase */
    SvFrameRateState st = state_of(fx);
    run(fx, 6000, 1.0);
    g_assert_cmpuint(state_of(fx).bit_rate, ==, st.bit_rate);
    g_assert_cmpuint(fx->encoder->get_bit_rate(fx->encoder), >=, st.bit_rate);
}

/* A report whose period starts before the last change is ignored while DECREASING. */
static void test_stale_report(Fixture *fx, gconstpointer data)
{
    make_encoder(fx, 4000000);
    fx->fb.live = TRUE;
    uint32_t t0 = next_mm(fx);
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    run(fx, 1000, 0.5);
    uint32_t t1 = next_mm(fx) - 1;
    /* INCREASING: a period before the last change (t0) still counts. */
    g_assert_cmpint(state_of(fx).status, ==, SV_FRAME_RATE_INCREASING);
    fx->encoder->client_stream_report(fx->encoder, 10, 3, t0 - 10, t1, -50, NO_AUDIO);
    SvFrameRateState st = state_of(fx);
    g_assert_cmpint(st.status, ==, SV_FRAME_RATE_DECREASING);
    g_assert_cmpuint(st.bit_rate, ==, 2000000);
    run(fx, 500, 0.5);
    /* Starts before the cut: obsolete. */
    fx->encoder->client_stream_report(fx->encoder, 10, 3, st.last_change_mm_time - 1,
                                      next_mm(fx) - 1, -50, NO_AUDIO);
    g_assert_cmpuint(state_of(fx).bit_rate, ==, st.bit_rate);
    /* Starts at it: taken. */
    fx->encoder->client_stream_report(fx->encoder, 10, 3, st.last_change_mm_time, next_mm(fx) - 1,
                                      -50, NO_AUDIO);
    g_assert_cmpuint(state_of(fx).bit_rate, ==, MAX(st.min_bit_rate, st.bit_rate / 2));
}

/* ------------------------------------------------------------------------ */
/* AIMD narrowing, stable intervals, the 30 s re-probe (4.7)                */

/* Sends a score-0 report (steady margin) every 500 ms while running
 * budget-sized frames for @ms. */
static void run_with_good_reports(Fixture *fx, int64_t ms)
{
    int64_t end = fx->frame_ns + ms * MS;
    while (fx->frame_ns < end) {
        run(fx, 500, 1.0);
        SvFrameRateState st = state_of(fx);
        uint32_t newest = next_mm(fx) - 1;
        fx->encoder->client_stream_report(fx->encoder, 10, 0, MAX(st.last_change_mm_time, newest),
                                          newest, 400, NO_AUDIO);
    }
}

static void test_aimd_client(Fixture *fx, gconstpointer data)
{
    make_encoder(fx, 2000000);
    fx->fb.live = TRUE;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    run(fx, 1000, 0.5);
    /* Score 4 while INCREASING: the maximum becomes rate - 128 Ki. */
    SvFrameRateState b = state_of(fx);
    report(fx, 1, 400, NO_AUDIO);
    SvFrameRateState st = state_of(fx);
    g_assert_cmpuint(st.bit_rate, ==, b.bit_rate / 2);
    g_assert_cmpuint(st.max_bit_rate, ==, b.bit_rate - MIN_RATE);
    g_assert_cmpuint(st.bit_rate_step, ==, step_for(st.max_bit_rate, st.min_bit_rate));
    g_assert_cmpint(st.status, ==, SV_FRAME_RATE_DECREASING);
    /* The virtual buffer shrinks with the rate without gaining free space. */
    int64_t new_size = (int64_t)(st.bit_rate * 300 / 1000 / 8);
    g_assert_cmpint(b.vbuffer_free_bytes, >, 0);
    g_assert_cmpint(st.vbuffer_size_bytes, ==, new_size);
    g_assert_cmpint(st.vbuffer_free_bytes, ==,
                    MAX(0, b.vbuffer_free_bytes + new_size - b.vbuffer_size_bytes));
    /* The statistics window restarted at the newest frame, and next_frame_mm_time
     * is that frame's time (no deficit, no encode time): no elapsed time yet. */
    g_assert_cmpuint(st.next_frame_mm_time, ==, st.last_change_mm_time);
    g_assert_cmpuint(fx->encoder->get_bit_rate(fx->encoder), ==, 0);

    /* Good reports: first increase after 2 s turns around: min = rate. */
    run(fx, 1000, 0.5);
    SvFrameRateState low = state_of(fx);
    int64_t end = fx->frame_ns + 4000 * MS;
    while (fx->frame_ns < end && state_of(fx).bit_rate == low.bit_rate) {
        run_with_good_reports(fx, 500);
    }
    st = state_of(fx);
    g_assert_cmpuint(st.min_bit_rate, ==, low.bit_rate);
    g_assert_cmpuint(st.last_change_mm_time - low.last_change_mm_time, >=, 2000);
    g_assert_cmpint(st.status, ==, SV_FRAME_RATE_INCREASING);
    /* The step in force before the change; the new one is recomputed. */
    g_assert_cmpuint(st.bit_rate, ==, MIN(low.bit_rate + low.bit_rate_step, low.max_bit_rate));
    g_assert_cmpuint(st.bit_rate_step, ==, step_for(low.max_bit_rate, low.bit_rate));

    /* A reduction from INCREASING narrows max to rate - 128 Ki; once max / (4/3)
     * is below min the rate settles at min, STABLE, 2 min between increases. */
    b = state_of(fx);
    report(fx, 1, 400, NO_AUDIO); /* score 4: a cut, bounded by min */
    st = state_of(fx);
    uint64_t new_max = b.bit_rate - MIN_RATE;
    g_assert_cmpuint(st.max_bit_rate, ==, new_max);
    g_assert_true(new_max / (4.0 / 3.0) < b.min_bit_rate);
    g_assert_cmpint(st.status, ==, SV_FRAME_RATE_STABLE);
    g_assert_cmpuint(st.bit_rate, ==, b.min_bit_rate);
    g_assert_cmpuint(st.video_bit_rate, ==, b.min_bit_rate);
    g_assert_cmpuint(st.increase_interval_ms, ==, 2 * 60 * 1000);

    /* No increase for 2 min, then one step (interval back to 2 s). */
    run(fx, 1000, 0.5);
    SvFrameRateState stable = state_of(fx);
    end = fx->frame_ns + 130 * SEC;
    while (fx->frame_ns < end && state_of(fx).bit_rate == stable.bit_rate) {
        run_with_good_reports(fx, 500);
    }
    st = state_of(fx);
    g_assert_cmpuint(st.last_change_mm_time - stable.last_change_mm_time, >=, 120000);
    g_assert_cmpuint(st.bit_rate, ==,
                     MIN(stable.bit_rate + stable.bit_rate_step, stable.max_bit_rate));
    g_assert_cmpuint(st.increase_interval_ms, ==, 2000);

    /* Up to the maximum, where it stays until 30 s passed, then the maximum
     * is re-probed from the cap. */
    end = fx->frame_ns + 30 * SEC;
    while (fx->frame_ns < end && state_of(fx).bit_rate != state_of(fx).max_bit_rate) {
        run_with_good_reports(fx, 500);
    }
    SvFrameRateState at_max = state_of(fx);
    g_assert_cmpuint(at_max.bit_rate, ==, at_max.max_bit_rate);
    end = fx->frame_ns + 40 * SEC;
    while (fx->frame_ns < end && state_of(fx).max_bit_rate == at_max.max_bit_rate) {
        run_with_good_reports(fx, 500);
        if (state_of(fx).max_bit_rate == at_max.max_bit_rate) {
            g_assert_cmpuint(state_of(fx).bit_rate, ==, at_max.bit_rate);
        }
    }
    st = state_of(fx);
    g_assert_cmpuint(st.max_bit_rate, ==, cap_of(WIDTH, HEIGHT, 32, FPS));
    g_assert_cmpint(st.status, ==, SV_FRAME_RATE_INCREASING);
    g_assert_cmpuint(st.bit_rate, ==, at_max.bit_rate + at_max.bit_rate_step);
    g_assert_cmpuint(st.last_change_mm_time - at_max.last_change_mm_time, >, 30000);
    g_assert_cmpuint(st.last_change_mm_time - at_max.last_change_mm_time, <=, 30000 + 600);
}

/* A range still wider than 4/3 keeps INCREASING after a turn-around. */
static void test_not_yet_narrow(Fixture *fx, gconstpointer data)
{
    make_encoder(fx, 2000000);
    fx->fb.live = TRUE;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    run(fx, 1000, 0.5);
    report(fx, 0, 40, NO_AUDIO);
    report(fx, 0, 35, NO_AUDIO); /* score 2: one step down, DECREASING */
    SvFrameRateState low = state_of(fx);
    g_assert_cmpint(low.status, ==, SV_FRAME_RATE_DECREASING);
    run(fx, 1000, 0.5);
    int64_t end = fx->frame_ns + 4000 * MS;
    while (fx->frame_ns < end && state_of(fx).bit_rate == low.bit_rate) {
        run_with_good_reports(fx, 500);
    }
    SvFrameRateState st = state_of(fx);
    g_assert_cmpuint(st.min_bit_rate, ==, low.bit_rate);
    g_assert_cmpuint(st.max_bit_rate, ==, low.max_bit_rate);
    /* max / (4/3) >= min: not narrow yet (max / 1.5 would be). */
    g_assert_true(st.max_bit_rate / (4.0 / 3.0) >= st.min_bit_rate);
    g_assert_true(st.max_bit_rate / 1.5 < st.min_bit_rate);
    g_assert_cmpint(st.status, ==, SV_FRAME_RATE_INCREASING);
    g_assert_cmpuint(st.bit_rate, ==, low.bit_rate + low.bit_rate_step);
    g_assert_cmpuint(st.increase_interval_ms, ==, 2000);
}

/* Without client reports a STABLE rate waits 4 h. */
static void test_aimd_server(Fixture *fx, gconstpointer data)
{
    make_encoder(fx, 2000000);
    fx->fb.live = TRUE;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    run(fx, 1000, 0.5);
    fx->encoder->notify_server_frame_drop(fx->encoder);
    run(fx, 1000, 0.5);
    SvFrameRateState low = state_of(fx);
    g_assert_cmpint(low.status, ==, SV_FRAME_RATE_DECREASING);
    int64_t end = fx->frame_ns + 6000 * MS;
    while (fx->frame_ns < end && state_of(fx).min_bit_rate != low.bit_rate) {
        run(fx, 1, 1.0);
    }
    /* The first increase sets min = rate; max = previous rate - 128 Ki, and
     * (prev - 128 Ki) x 3/4 < prev x 3/4: stable at once. */
    SvFrameRateState st = state_of(fx);
    g_assert_cmpuint(st.min_bit_rate, ==, low.bit_rate);
    g_assert_true(st.max_bit_rate / (4.0 / 3.0) < st.min_bit_rate);
    g_assert_cmpint(st.status, ==, SV_FRAME_RATE_STABLE);
    g_assert_cmpuint(st.bit_rate, ==, low.bit_rate);
    g_assert_cmpuint(st.increase_interval_ms, ==, 4 * 3600 * 1000);
    run(fx, 5000, 1.0);
    g_assert_cmpuint(state_of(fx).bit_rate, ==, st.bit_rate);
}

/* ------------------------------------------------------------------------ */
/* Effective and period bit rates (4.7, 4.8)                                */

static void test_effective_and_period(Fixture *fx, gconstpointer data)
{
    static const uint32_t sizes[] = {3000, 1000, 1500, 800, 2200, 900};
    uint32_t times[G_N_ELEMENTS(sizes)];
    make_encoder(fx, 8000000);
    fx->fb.size = 100; /* a small first frame: a short deficit (slow start) */
    uint32_t t0 = next_mm(fx);
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
        fx->fb.size = sizes[i];
        times[i] = next_mm(fx);
        while (offer(fx) != VIDEO_ENCODER_FRAME_ENCODE_DONE) {
            g_assert_cmpuint(i, ==, 0);
            times[i] = next_mm(fx);
        }
    }
    SvFrameRateState st = state_of(fx);
    g_assert_cmpint(st.vbuffer_free_bytes, >=, 0);
    /* Window: the set-up entry at t0, the first frame, then sizes[]; from the oldest
     * to next_frame_mm_time (the newest frame: no encode time, no deficit). */
    uint64_t bytes = 100;
    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
        bytes += sizes[i];
    }
    uint32_t newest = times[G_N_ELEMENTS(sizes) - 1];
    g_assert_cmpuint(st.next_frame_mm_time, ==, newest);
    g_assert_cmpuint(fx->encoder->get_bit_rate(fx->encoder), ==, bytes * 8000 / (newest - t0));

    /* Period from times[1] to times[3]: sizes 1..3 over times[1]..times[4]. */
    uint64_t p = sv_frame_encoder_get_period_bit_rate(fx->encoder, times[1], times[3]);
    g_assert_cmpuint(p, ==,
                     (uint64_t)(sizes[1] + sizes[2] + sizes[3]) * 8000 / (times[4] - times[1]));
    /* Ending at the newest frame: its size is excluded, time runs to it. */
    p = sv_frame_encoder_get_period_bit_rate(fx->encoder, times[2], newest);
    g_assert_cmpuint(p, ==,
                     (uint64_t)(sizes[2] + sizes[3] + sizes[4]) * 8000 / (newest - times[2]));
    /* Unknown timestamps. */
    g_assert_cmpuint(sv_frame_encoder_get_period_bit_rate(fx->encoder, times[1] + 1, times[3]), ==,
                     0);
    g_assert_cmpuint(sv_frame_encoder_get_period_bit_rate(fx->encoder, times[1], times[3] + 1), ==,
                     0);

    /* The window holds 21 frames; the history 60. */
    fx->fb.size = 500;
    uint32_t times70[70];
    for (int i = 0; i < 70; i++) {
        times70[i] = next_mm(fx);
        g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    }
    /* The oldest of the 60 entries kept is frame 10 of these. */
    g_assert_cmpuint(sv_frame_encoder_get_period_bit_rate(fx->encoder, times70[10], times70[11]),
                     ==, (uint64_t)2 * 500 * 8000 / (times70[12] - times70[10]));
    g_assert_cmpuint(sv_frame_encoder_get_period_bit_rate(fx->encoder, times70[9], times70[11]), ==,
                     0);
    st = state_of(fx);
    /* The window: the last 21 frames, up to the newest (no deficit). */
    g_assert_cmpuint(st.next_frame_mm_time, ==, times70[69]);
    g_assert_cmpuint(fx->encoder->get_bit_rate(fx->encoder), ==,
                     (uint64_t)21 * 500 * 8000 / (times70[69] - times70[49]));
    /* The first frames left the 60-entry history. */
    g_assert_cmpuint(sv_frame_encoder_get_period_bit_rate(fx->encoder, times[1], times[3]), ==, 0);

    /* Stats: the effective rate and 100 - raw / effective, clamped at 0. */
    VideoEncoderStats stats;
    fx->encoder->get_stats(fx->encoder, &stats);
    g_assert_cmpuint(stats.starting_bit_rate, ==, 8000000);
    g_assert_cmpuint(stats.cur_bit_rate, ==, fx->encoder->get_bit_rate(fx->encoder));
    uint64_t raw = (uint64_t)WIDTH * HEIGHT * 32 * FPS;
    g_assert_cmpfloat(stats.avg_quality, ==, MAX(0.0, 100.0 - (double)(raw / stats.cur_bit_rate)));
}

/* The statistics window's maximum is rescanned when the largest frame leaves. */
static void test_max_frame_rescan(Fixture *fx, gconstpointer data)
{
    const uint64_t rate = 6000000; /* under the cap */
    const uint32_t budget = (uint32_t)(rate / 8 / FPS);
    make_encoder(fx, rate);
    fx->fb.size = 100;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    run(fx, 1000, 0.1); /* pays the slow start back and fills the buffer */
    SvFrameRateState st = state_of(fx);
    g_assert_cmpint(st.vbuffer_free_bytes, >=, st.vbuffer_size_bytes - (int64_t)budget);

    /* A large frame that fits in the buffer, then 25 budget-sized ones: it
     * has left the 21-frame window. */
    fx->fb.size = (uint32_t)(st.vbuffer_size_bytes * 9 / 10);
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    uint32_t large = fx->fb.size;
    uint32_t last_mm = 0;
    fx->fb.size = budget;
    for (int i = 0; i < 25; i++) {
        last_mm = next_mm(fx);
        g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    }
    /* A frame just over what the buffer holds, far smaller than `large`. */
    st = state_of(fx);
    g_assert_cmpint(st.vbuffer_free_bytes, >=, 0);
    int64_t refill = (int64_t)(rate * (next_mm(fx) - last_mm) / 1000 / 8);
    uint32_t x = (uint32_t)(MIN(st.vbuffer_free_bytes + refill, st.vbuffer_size_bytes) + 10000);
    g_assert_cmpuint(x, <, large);
    g_assert_cmpuint(x, >, budget);
    g_array_set_size(fx->delays, 0);
    fx->fb.size = x;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    g_assert_cmpint(state_of(fx).vbuffer_free_bytes, ==, -10000);
    g_assert_cmpuint(fx->delays->len, ==, 1);
    uint64_t avg = ((uint64_t)20 * budget + x) / 21;
    uint32_t expect = (uint32_t)((x + avg) * 8000 / rate) + (uint32_t)(fx->roundtrip_ms / 2 * 1.1);
    g_assert_cmpuint(g_array_index(fx->delays, uint32_t, 0), ==, expect);
}

/* ------------------------------------------------------------------------ */
/* Errors, timeouts, restarts (4.4, 4.10, fixes)                            */

static void test_errors_disable(Fixture *fx, gconstpointer data)
{
    SvEncoderConfig cfg = {.encode_timeout_ns = 250 * MS};
    fx->encoder = make_encoder_full(fx, 8000000, &cfg);
    fx->fb.size = 100;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    g_assert_cmpint(fx->fb.last_timeout_ns, ==, 250 * MS);
    g_assert_cmpuint(fx->fb.starts->len, ==, 1);
    run(fx, 200, 0.01); /* past the slow-start deficit */
    fx->fb.size = 100;

    /* A timeout: UNSUPPORTED, one error, restart (key frame) on the next frame. */
    g_queue_push_tail(&fx->fb.results, GINT_TO_POINTER(SV_BACKEND_TIMEOUT + 1));
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    g_assert_cmpuint(state_of(fx).errors, ==, 1);
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    g_assert_cmpuint(fx->fb.starts->len, ==, 2);
    g_assert_true(fx->fb.last_force_key);

    /* Errors are not reset by a success (spice): two more disable this size. */
    g_queue_push_tail(&fx->fb.results, GINT_TO_POINTER(SV_BACKEND_ERROR + 1));
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    fx->fb.fail_start = TRUE; /* the restart fails too */
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    g_assert_cmpuint(state_of(fx).errors, ==, 3);
    fx->fb.fail_start = FALSE;
    guint encodes = fx->fb.encodes;
    for (int i = 0; i < 5; i++) {
        g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    }
    g_assert_cmpuint(fx->fb.encodes, ==, encodes);

    /* A size change clears it and restarts the backend for the new size. */
    fx->src.right = WIDTH - 2;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    g_assert_cmpuint(state_of(fx).errors, ==, 0);
    g_assert_cmpuint(fx->fb.format.width, ==, WIDTH - 2);
    g_assert_cmpuint(fx->fb.starts->len, ==, 3);
}

/* Non-live backends restart only for changes above 5%; live ones get every change. */
static void test_restart_rule(Fixture *fx, gconstpointer data)
{
    make_encoder(fx, 2000000);
    fx->fb.live = FALSE;
    fx->fb.size = 100;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    run(fx, 1000, 0.5);
    g_assert_cmpuint(fx->fb.starts->len, ==, 1);
    /* A cut: the backend's rate is not lowered (only raised with the rate). */
    report(fx, 1, 100, NO_AUDIO);
    SvFrameRateState st = state_of(fx);
    g_assert_cmpuint(st.video_bit_rate, ==, times_margin(2000000));
    /* A deficit of more than 1/3 s lowers the backend's target: to
     * bit_rate x 4/3 if it is above that, else to bit_rate; far more than 5%. */
    uint64_t prev_video = st.video_bit_rate;
    fx->fb.size = 400000;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    st = state_of(fx);
    uint64_t lowered =
        prev_video > times_margin(st.bit_rate) ? times_margin(st.bit_rate) : st.bit_rate;
    g_assert_cmpuint(st.video_bit_rate, ==, lowered);
    g_assert_cmpuint(fx->fb.starts->len, ==, 1);
    guint tried_live = fx->fb.set_rates->len;
    g_assert_cmpuint(tried_live, >=, 1);
    fx->fb.size = 100;
    while (offer(fx) != VIDEO_ENCODER_FRAME_ENCODE_DONE) {
    }
    /* Restarted, at the new rate, with a key frame. */
    g_assert_cmpuint(fx->fb.starts->len, ==, 2);
    g_assert_cmpuint(g_array_index(fx->fb.starts, uint64_t, 1), ==, lowered);
    g_assert_true(fx->fb.last_force_key);

    /* Within 5%: the request is neither applied nor a restart. */
    fx->encoder->destroy(fx->encoder);
    fx->encoder = NULL;
    g_array_set_size(fx->fb.starts, 0);
    g_array_set_size(fx->fb.set_rates, 0);
    make_encoder(fx, 2000000);
    fx->fb.size = 100;
    g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    run(fx, 1000, 0.5);
    /* One server increase by step: bit_rate x 4/3 differs from the previous
     * video rate by step x 4/3; is it within 5%? Compute and check both ways. */
    st = state_of(fx);
    while (state_of(fx).bit_rate == st.bit_rate) {
        run(fx, 1, 1.0);
    }
    SvFrameRateState up = state_of(fx);
    g_assert_cmpuint(up.bit_rate, ==, st.bit_rate + st.bit_rate_step);
    uint64_t wanted = times_margin(up.bit_rate);
    double change = fabs((double)wanted - (double)st.video_bit_rate);
    gboolean restart = change > st.video_bit_rate * 0.05;
    g_assert_true(restart);                         /* 737280 x 4/3 on 2.67 M: 37% */
    g_assert_cmpuint(fx->fb.set_rates->len, >=, 1); /* tried live first */
    while (offer(fx) != VIDEO_ENCODER_FRAME_ENCODE_DONE) {
    }
    g_assert_cmpuint(fx->fb.starts->len, ==, 2);
    g_assert_cmpuint(g_array_index(fx->fb.starts, uint64_t, 1), ==, wanted);
}

static void test_small_change_no_restart(Fixture *fx, gconstpointer data)
{
    const uint64_t rate = 40000000;
    set_picture(fx, 1920, 1080); /* cap ~199 Mbit/s: step 1 Mi */
    for (int live = 0; live <= 1; live++) {
        g_array_set_size(fx->fb.starts, 0);
        g_array_set_size(fx->fb.set_rates, 0);
        make_encoder(fx, rate);
        fx->fb.live = live;
        fx->fb.size = 100;
        g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
        SvFrameRateState st = state_of(fx);
        g_assert_cmpuint(st.bit_rate_step, ==, MAX_STEP);
        /* Score 2: bit_rate - 1 Mi; video_bit_rate (rate x 4/3) is kept. */
        report(fx, 0, 40, NO_AUDIO);
        report(fx, 0, 35, NO_AUDIO);
        SvFrameRateState dec = state_of(fx);
        g_assert_cmpuint(dec.bit_rate, ==, rate - MAX_STEP);
        g_assert_cmpuint(dec.video_bit_rate, ==, st.video_bit_rate);
        /* A deficit over 1/3 s asks for bit_rate x 4/3: 2.6% below. */
        uint64_t wanted = times_margin(dec.bit_rate);
        g_assert_true(st.video_bit_rate - wanted <= st.video_bit_rate * 0.05);
        fx->fb.size = (uint32_t)(dec.bit_rate / 8);
        while (offer(fx) != VIDEO_ENCODER_FRAME_ENCODE_DONE) {
        }
        g_assert_cmpuint(g_array_index(fx->fb.set_rates, uint64_t, fx->fb.set_rates->len - 1), ==,
                         wanted);
        SvFrameRateState after = state_of(fx);
        /* Live: applied. Not live: neither applied nor a restart. */
        g_assert_cmpuint(after.video_bit_rate, ==, live ? wanted : st.video_bit_rate);
        fx->fb.size = 100;
        while (offer(fx) != VIDEO_ENCODER_FRAME_ENCODE_DONE) {
        }
        g_assert_cmpuint(fx->fb.starts->len, ==, 1);
        fx->encoder->destroy(fx->encoder);
        fx->encoder = NULL;
    }
}

static void test_no_rate_control(Fixture *fx, gconstpointer data)
{
    SvEncoderConfig cfg = {.no_rate_control = TRUE};
    fx->encoder = make_encoder_full(fx, 3000000, &cfg);
    g_assert_nonnull(fx->encoder);
    fx->fb.size = 500000; /* far above any budget */
    for (int i = 0; i < 60; i++) {
        if (i == 10) {
            for (int d = 0; d < 100; d++) {
                fx->encoder->notify_server_frame_drop(fx->encoder);
            }
            fx->encoder->client_stream_report(fx->encoder, 10, 5, 0, 1, -500, 10);
        }
        g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    }
    g_assert_cmpuint(fx->fb.starts->len, ==, 1);
    g_assert_cmpuint(g_array_index(fx->fb.starts, uint64_t, 0), ==, 3000000);
    g_assert_cmpuint(fx->fb.set_rates->len, ==, 0);
    g_assert_cmpuint(state_of(fx).bit_rate, ==, 3000000);
    g_assert_cmpuint(fx->delays->len, ==, 0);
}

/* ------------------------------------------------------------------------ */
/* Cap and stats in 64 bits, spice_quirks (fixes b, c)                      */

static void test_cap_4k60(Fixture *fx, gconstpointer data)
{
    fx->source_fps = 60;
    set_picture(fx, 3840, 2160);
    uint64_t exact = cap_of(3840, 2160, 32, 60);
    uint64_t wrapped = (uint32_t)(3840u * 2160u * 32u * 60u) / 10;
    g_assert_cmpuint(exact, !=, wrapped);

    for (int quirks = 0; quirks <= 1; quirks++) {
        SvEncoderConfig cfg = {.spice_quirks = quirks};
        fx->encoder = make_encoder_full(fx, UINT64_C(100000000000), &cfg);
        fx->fb.size = 1000;
        g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
        SvFrameRateState st = state_of(fx);
        uint64_t cap = quirks ? wrapped : exact;
        g_assert_cmpuint(st.max_bit_rate, ==, cap);
        g_assert_cmpuint(st.bit_rate, ==, cap); /* the start rate is capped */
        VideoEncoderStats stats;
        fx->encoder->get_stats(fx->encoder, &stats);
        uint64_t raw = quirks ? (uint32_t)(3840u * 2160u * 32u * 60u) : exact * 10;
        g_assert_cmpfloat(stats.avg_quality, ==,
                          MAX(0.0, 100.0 - (double)(raw / stats.cur_bit_rate)));
        fx->encoder->destroy(fx->encoder);
        fx->encoder = NULL;
    }
}

/* bit_rate - step below zero: spice wraps, we floor at 128 Ki. */
static void test_decrement_floor(Fixture *fx, gconstpointer data)
{
    for (int quirks = 0; quirks <= 1; quirks++) {
        SvEncoderConfig cfg = {.spice_quirks = quirks};
        fx->encoder = make_encoder_full(fx, 200000, &cfg);
        g_assert_cmpint(offer(fx), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
        SvFrameRateState st = state_of(fx);
        /* Score 2 (35 < min_margin) with step 737280 > bit_rate 200000. */
        g_assert_cmpuint(st.bit_rate_step, >, st.bit_rate);
        report(fx, 0, 40, NO_AUDIO);
        report(fx, 0, 35, NO_AUDIO);
        SvFrameRateState after = state_of(fx);
        if (quirks) {
            /* uint64 wrap: a huge request, capped: an increase to the cap. */
            g_assert_cmpuint(after.bit_rate, ==, st.max_bit_rate);
        } else {
            g_assert_cmpuint(after.bit_rate, ==, MIN_RATE);
        }
        fx->encoder->destroy(fx->encoder);
        fx->encoder = NULL;
    }
}

/* A zero source rate is taken as 1 frame/s; a NULL callback as 30. */
static void test_source_fps_defaults(Fixture *fx, gconstpointer data)
{
    VideoBuffer *buf = NULL;
    fx->source_fps = 0;
    make_encoder(fx, 100000000);
    g_assert_cmpint(fx->encoder->encode_frame(fx->encoder, 5, &fx->bitmap, &fx->src, TRUE, NULL,
                                              &buf),
                    ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    buf->free(buf);
    g_assert_cmpuint(state_of(fx).max_bit_rate, ==, cap_of(WIDTH, HEIGHT, 32, 1));
    g_assert_cmpuint(fx->fb.format.fps, ==, 1);
    fx->encoder->destroy(fx->encoder);

    VideoEncoderRateControlCbs cbs = {0};
    SvEncoderConfig cfg = {.clock = {fake_now, fx}};
    fx->encoder = sv_frame_encoder_new(&fake_class, NULL, SPICE_VIDEO_CODEC_TYPE_H264, 100000000,
                                       &cbs, NULL, NULL, &cfg);
    g_assert_nonnull(fx->encoder);
    g_assert_cmpint(fx->encoder->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_H264);
    g_assert_cmpint(fx->encoder->encode_frame(fx->encoder, 5, &fx->bitmap, &fx->src, TRUE, NULL,
                                              &buf),
                    ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    buf->free(buf);
    g_assert_cmpuint(state_of(fx).max_bit_rate, ==, cap_of(WIDTH, HEIGHT, 32, 30));
}

/* ------------------------------------------------------------------------ */
/* Pixel conversion                                                         */

typedef enum {
    CHUNKS_ONE,
    CHUNKS_PER_LINE,
    CHUNKS_ODD, /* odd sizes, an empty chunk, lines straddling chunks */
} ChunkMode;

static uint32_t bytes_per_pixel(uint8_t format)
{
    switch (format) {
    case SPICE_BITMAP_FMT_24BIT:
        return 3;
    case SPICE_BITMAP_FMT_16BIT:
        return 2;
    default:
        return 4;
    }
}

/* Memory layouts: 32BIT/RGBA B,G,R,X; 24BIT B,G,R; 16BIT x1r5g5b5 LE. */
static void rgb_at(uint8_t format, const uint8_t *p, int *r, int *g, int *b)
{
    if (format == SPICE_BITMAP_FMT_16BIT) {
        unsigned v = p[0] | (unsigned)p[1] << 8;
        unsigned r5 = (v >> 10) & 31, g5 = (v >> 5) & 31, b5 = v & 31;
        *r = (int)(r5 << 3 | r5 >> 2);
        *g = (int)(g5 << 3 | g5 >> 2);
        *b = (int)(b5 << 3 | b5 >> 2);
    } else {
        *b = p[0];
        *g = p[1];
        *r = p[2];
    }
}

/* BT.601 limited range. */
static int ref_y(int r, int g, int b)
{
    return ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16;
}

static int ref_u(int r, int g, int b)
{
    return ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
}

static int ref_v(int r, int g, int b)
{
    return ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
}

typedef struct {
    uint8_t *data; /* contiguous copy, for the reference */
    gsize size;
    SpiceChunks *chunks;
    SpiceBitmap bitmap;
} TestBitmap;

/* The last line has no padding: the data ends exactly where the pixels do. */
static void test_bitmap_init(TestBitmap *tb, uint8_t format, uint32_t w, uint32_t h,
                             uint32_t stride, ChunkMode mode, gboolean top_down, GRand *rand,
                             const uint8_t *color)
{
    uint32_t bpp = bytes_per_pixel(format);
    tb->size = (gsize)stride * (h - 1) + (gsize)w * bpp;
    tb->data = g_malloc(tb->size);
    for (gsize i = 0; i < tb->size; i++) {
        tb->data[i] = color != NULL ? color[i % stride % bpp] : (uint8_t)g_rand_int(rand);
    }
    static const uint32_t odd_sizes[] = {7, 1000, 0, 333, 1, 50, 2049};
    GArray *lens = g_array_new(FALSE, FALSE, sizeof(uint32_t));
    gsize done = 0;
    for (guint i = 0; done < tb->size; i++) {
        uint32_t len = mode == CHUNKS_ONE        ? (uint32_t)tb->size
                       : mode == CHUNKS_PER_LINE ? stride
                                                 : odd_sizes[i % G_N_ELEMENTS(odd_sizes)];
        len = (uint32_t)MIN(len, tb->size - done);
        g_array_append_val(lens, len);
        done += len;
    }
    tb->chunks = g_malloc0(sizeof(SpiceChunks) + lens->len * sizeof(SpiceChunk));
    tb->chunks->num_chunks = lens->len;
    tb->chunks->data_size = (uint32_t)tb->size;
    done = 0;
    for (guint i = 0; i < lens->len; i++) {
        uint32_t len = g_array_index(lens, uint32_t, i);
        /* Separate blocks, so that reading past one is caught by ASan. */
        tb->chunks->chunk[i].data = len > 0 ? g_memdup2(tb->data + done, len) : NULL;
        tb->chunks->chunk[i].len = len;
        done += len;
    }
    g_array_unref(lens);
    tb->bitmap = (SpiceBitmap){
        .format = format,
        .flags = top_down ? SPICE_BITMAP_FLAGS_TOP_DOWN : 0,
        .x = w,
        .y = h,
        .stride = stride,
        .data = tb->chunks,
    };
}

static void test_bitmap_clear(TestBitmap *tb)
{
    for (guint i = 0; i < tb->chunks->num_chunks; i++) {
        g_free(tb->chunks->chunk[i].data);
    }
    g_free(tb->chunks);
    g_free(tb->data);
}

static VideoEncodeResults encode_one(Fixture *fx, const SpiceBitmap *bitmap, const SpiceRect *src,
                                     gboolean top_down)
{
    VideoBuffer *buf = NULL;
    VideoEncodeResults r =
        fx->encoder->encode_frame(fx->encoder, next_mm(fx), bitmap, src, top_down, NULL, &buf);
    if (buf != NULL) {
        g_assert_cmpint(r, ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
        buf->free(buf);
    }
    fx->frame_ns += SEC / FPS;
    return r;
}

/* Checks every plane sample of the last frame against the reference. */
static void check_planes(Fixture *fx, const TestBitmap *tb, const SpiceRect *src, gboolean top_down,
                         gboolean yuv444)
{
    uint32_t w = (uint32_t)(src->right - src->left), h = (uint32_t)(src->bottom - src->top);
    uint32_t bpp = bytes_per_pixel(tb->bitmap.format);
    uint32_t first = top_down ? (uint32_t)src->top : tb->bitmap.y - (uint32_t)src->bottom;
    FakeBackend *fb = &fx->fb;

    g_assert_cmpuint(fb->plane_width[0], ==, w);
    g_assert_cmpuint(fb->plane_height[0], ==, h);
    g_assert_cmpuint(fb->plane_width[1], ==, yuv444 ? w : (w + 1) / 2);
    g_assert_cmpuint(fb->plane_height[1], ==, yuv444 ? h : (h + 1) / 2);
    g_assert_cmpint(fb->strides[0], >=, (int)w);
    g_assert_cmpint(fb->strides[1], >=, (int)fb->plane_width[1]);
    g_assert_cmpint(fb->strides[2], ==, fb->strides[1]);
    for (uint32_t y = 0; y < h; y++) {
        /* Memory order: output row y is memory line first + y. */
        const uint8_t *line = tb->data + (gsize)(first + y) * tb->bitmap.stride;
        for (uint32_t x = 0; x < w; x++) {
            int r, g, b;
            rgb_at(tb->bitmap.format, line + (gsize)(src->left + x) * bpp, &r, &g, &b);
            int got = fb->planes[0][(gsize)y * fb->strides[0] + x];
            if (ABS(got - ref_y(r, g, b)) > 2) {
                g_error("format %u %s Y(%u,%u) = %d, expected %d (rgb %d,%d,%d)", tb->bitmap.format,
                        top_down ? "top-down" : "bottom-up", x, y, got, ref_y(r, g, b), r, g, b);
            }
            if (yuv444) {
                int u = fb->planes[1][(gsize)y * fb->strides[1] + x];
                int v = fb->planes[2][(gsize)y * fb->strides[2] + x];
                g_assert_cmpint(ABS(u - ref_u(r, g, b)), <=, 2);
                g_assert_cmpint(ABS(v - ref_v(r, g, b)), <=, 2);
            }
        }
    }
}

static const uint8_t pixel_formats[] = {SPICE_BITMAP_FMT_32BIT, SPICE_BITMAP_FMT_RGBA,
                                        SPICE_BITMAP_FMT_24BIT, SPICE_BITMAP_FMT_16BIT};

static void conversion_matrix(Fixture *fx, gboolean yuv444)
{
    g_autoptr(GRand) rand = g_rand_new_with_seed(42);
    const uint32_t w = 37, h = 24;
    const SpiceRect src = {3, 2, (int32_t)w - 1, (int32_t)h - 3}; /* 33 x 19: odd */
    SvEncoderConfig cfg = {.options = yuv444 ? "yuv444=true" : NULL};

    fx->fb.keep_planes = TRUE;
    for (guint f = 0; f < G_N_ELEMENTS(pixel_formats); f++) {
        for (int top_down = 0; top_down <= 1; top_down++) {
            for (int mode = CHUNKS_ONE; mode <= CHUNKS_ODD; mode++) {
                uint32_t stride = w * bytes_per_pixel(pixel_formats[f]) + 12;
                TestBitmap tb;
                test_bitmap_init(&tb, pixel_formats[f], w, h, stride, mode, top_down, rand, NULL);
                fx->encoder = make_encoder_full(fx, 8000000, &cfg);
                g_assert_nonnull(fx->encoder);
                g_assert_cmpint(encode_one(fx, &tb.bitmap, &src, top_down), ==,
                                VIDEO_ENCODER_FRAME_ENCODE_DONE);
                g_assert_cmpint(fx->fb.format.yuv444, ==, yuv444);
                check_planes(fx, &tb, &src, top_down, yuv444);
                fx->encoder->destroy(fx->encoder);
                fx->encoder = NULL;
                test_bitmap_clear(&tb);
            }
        }
    }
}

static void test_conversion_i420(Fixture *fx, gconstpointer data)
{
    conversion_matrix(fx, FALSE);
}

static void test_conversion_i444(Fixture *fx, gconstpointer data)
{
    conversion_matrix(fx, TRUE);
}

/* A uniform colour: every chroma sample too, including the odd last ones. */
static void test_conversion_uniform_chroma(Fixture *fx, gconstpointer data)
{
    static const uint8_t bgrx[] = {50, 100, 200, 0};
    static const uint32_t sizes[][2] = {{15, 9}, {16, 10}};

    fx->fb.keep_planes = TRUE;
    for (guint n = 0; n < G_N_ELEMENTS(sizes); n++) {
        const uint32_t w = sizes[n][0], h = sizes[n][1];
        const SpiceRect src = {0, 0, (int32_t)w, (int32_t)h};
        TestBitmap tb;
        test_bitmap_init(&tb, SPICE_BITMAP_FMT_32BIT, w, h, w * 4, CHUNKS_ODD, TRUE, NULL, bgrx);
        make_encoder(fx, 8000000);
        g_assert_cmpint(encode_one(fx, &tb.bitmap, &src, TRUE), ==,
                        VIDEO_ENCODER_FRAME_ENCODE_DONE);
        check_planes(fx, &tb, &src, TRUE, FALSE);
        for (int p = 1; p <= 2; p++) {
            int expect = p == 1 ? ref_u(200, 100, 50) : ref_v(200, 100, 50);
            for (uint32_t y = 0; y < (h + 1) / 2; y++) {
                for (uint32_t x = 0; x < (w + 1) / 2; x++) {
                    int got = fx->fb.planes[p][(gsize)y * fx->fb.strides[p] + x];
                    g_assert_cmpint(ABS(got - expect), <=, 2);
                }
            }
        }
        test_bitmap_clear(&tb);
        fx->encoder->destroy(fx->encoder);
        fx->encoder = NULL;
    }
}

/* The top bit of a 16-bit pixel is ignored. */
static void test_conversion_16bit_top_bit(Fixture *fx, gconstpointer data)
{
    static const uint8_t with_bit[] = {0x35, 0xd6}; /* 1 10101 10001 10101 */
    static const uint8_t without[] = {0x35, 0x56};
    const SpiceRect src = {0, 0, 8, 4};
    uint8_t y_values[2];

    fx->fb.keep_planes = TRUE;
    for (int i = 0; i < 2; i++) {
        TestBitmap tb;
        test_bitmap_init(&tb, SPICE_BITMAP_FMT_16BIT, 8, 4, 16, CHUNKS_ONE, TRUE, NULL,
                         i == 0 ? with_bit : without);
        make_encoder(fx, 8000000);
        g_assert_cmpint(encode_one(fx, &tb.bitmap, &src, TRUE), ==,
                        VIDEO_ENCODER_FRAME_ENCODE_DONE);
        check_planes(fx, &tb, &src, TRUE, FALSE);
        y_values[i] = fx->fb.planes[0][0];
        fx->encoder->destroy(fx->encoder);
        fx->encoder = NULL;
        test_bitmap_clear(&tb);
    }
    g_assert_cmpuint(y_values[0], ==, y_values[1]);
}

/* Bad input is UNSUPPORTED, never a crash, and does not touch the backend. */
static void test_invalid_input(Fixture *fx, gconstpointer data)
{
    make_encoder(fx, 8000000);
    SpiceBitmap bitmap = fx->bitmap;
    SpiceRect src;

    src = (SpiceRect){0, 0, WIDTH + 1, HEIGHT};
    g_assert_cmpint(encode_one(fx, &bitmap, &src, TRUE), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    src = (SpiceRect){-1, 0, 10, 10};
    g_assert_cmpint(encode_one(fx, &bitmap, &src, TRUE), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    src = (SpiceRect){5, 5, 5, 10};
    g_assert_cmpint(encode_one(fx, &bitmap, &src, TRUE), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    src = (SpiceRect){0, 0, WIDTH, HEIGHT};

    bitmap.stride = WIDTH * 4 - 1;
    g_assert_cmpint(encode_one(fx, &bitmap, &src, TRUE), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    bitmap.stride = WIDTH * 4 + 4; /* then the data is too short */
    g_assert_cmpint(encode_one(fx, &bitmap, &src, TRUE), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    bitmap.stride = WIDTH * 4;
    bitmap.data = NULL;
    g_assert_cmpint(encode_one(fx, &bitmap, &src, TRUE), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);

    SpiceBitmap huge = {.format = SPICE_BITMAP_FMT_32BIT, .x = 20000, .y = 10, .stride = 80000};
    src = (SpiceRect){0, 0, 20000, 10};
    g_assert_cmpint(encode_one(fx, &huge, &src, TRUE), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    g_assert_cmpuint(fx->fb.starts->len, ==, 0);
    g_assert_cmpuint(fx->fb.encodes, ==, 0);

    /* A good frame, then an unsupported format: spice sets errors to 4, so the
     * same size stays refused even in a good format until the size changes. */
    src = (SpiceRect){0, 0, WIDTH, HEIGHT};
    g_assert_cmpint(encode_one(fx, &fx->bitmap, &src, TRUE), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    bitmap = fx->bitmap;
    bitmap.format = SPICE_BITMAP_FMT_8BIT;
    g_assert_cmpint(encode_one(fx, &bitmap, &src, TRUE), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    fx->frame_ns += SEC;
    g_assert_cmpint(encode_one(fx, &fx->bitmap, &src, TRUE), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    src.bottom = HEIGHT - 1;
    g_assert_cmpint(encode_one(fx, &fx->bitmap, &src, TRUE), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);

    /* A chunk with no data but a length. */
    SpiceChunks *chunks = g_malloc0(sizeof(SpiceChunks) + 2 * sizeof(SpiceChunk));
    chunks->num_chunks = 2;
    chunks->chunk[0] = (SpiceChunk){fx->pixels, WIDTH * 4};
    chunks->chunk[1] = (SpiceChunk){NULL, WIDTH * 4 * (HEIGHT - 1)};
    bitmap = fx->bitmap;
    bitmap.data = chunks;
    fx->frame_ns += SEC;
    g_assert_cmpint(encode_one(fx, &bitmap, &src, TRUE), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
    g_free(chunks);
}

/* ------------------------------------------------------------------------ */
/* Creation                                                                 */

static void test_creation(Fixture *fx, gconstpointer data)
{
    SvEncoderConfig cfg = {.options = "keyint=7"};
    fx->encoder = make_encoder_full(fx, 1000000, &cfg);
    g_assert_nonnull(fx->encoder);
    g_assert_cmpint(fx->fb.options[0], ==, 7);
    g_assert_cmpint(fx->fb.options[1], ==, 0);
    g_assert_cmpint(fx->encoder->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_VP8);
    fx->encoder->destroy(fx->encoder);
    fx->encoder = NULL;

    static const char *const bad[] = {"foo=1", "yuv444=maybe", "keyint=100000"};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        fx->fb.created = FALSE;
        cfg.options = bad[i];
        g_assert_null(make_encoder_full(fx, 1000000, &cfg));
        g_assert_false(fx->fb.created);
    }
    /* fixed_speed: VP8's cpu-used N > 0 becomes -N (a fixed libvpx speed). */
    static const struct {
        const char *options;
        gboolean fixed_speed;
        SpiceVideoCodecType codec;
        int expected;
    } speeds[] = {
        {NULL, TRUE, SPICE_VIDEO_CODEC_TYPE_VP8, -4},
        {"cpu-used=9", TRUE, SPICE_VIDEO_CODEC_TYPE_VP8, -9},
        {"cpu-used=-3", TRUE, SPICE_VIDEO_CODEC_TYPE_VP8, -3},
        {"cpu-used=0", TRUE, SPICE_VIDEO_CODEC_TYPE_VP8, 0},
        {NULL, FALSE, SPICE_VIDEO_CODEC_TYPE_VP8, 4},
        {NULL, TRUE, SPICE_VIDEO_CODEC_TYPE_VP9, 4},
    };
    for (guint i = 0; i < G_N_ELEMENTS(speeds); i++) {
        SvEncoderConfig speed_cfg = {.options = speeds[i].options,
                                     .fixed_speed = speeds[i].fixed_speed};
        VideoEncoderRateControlCbs cbs = {0};
        VideoEncoder *e = sv_frame_encoder_new(&fake_class, fake_options, speeds[i].codec, 1000000,
                                               &cbs, NULL, NULL, &speed_cfg);
        g_assert_nonnull(e);
        g_assert_cmpint(fx->fb.options[2], ==, speeds[i].expected);
        e->destroy(e);
    }

    fx->fb.fail_create = TRUE;
    g_assert_null(make_encoder_full(fx, 1000000, NULL));

    /* Not a frame encoder. */
    SvFrameRateState st;
    VideoEncoder other = {0};
    g_assert_false(sv_frame_encoder_get_rate_state(&other, &st));
}

#else
static void test_skipped(void)
{
    g_test_skip("built without libyuv: the frame encoder is not available");
}
#endif

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) \
    g_test_add("/frame-encoder/" path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
#if SV_HAVE_LIBYUV
    ADD("first-frame", test_first_frame);
    ADD("deficit-lowers-video-rate", test_deficit_lowers_video_rate);
    ADD("server-increase", test_server_increase);
    ADD("server-drops", test_server_drops);
    ADD("low-delay", test_low_delay);
    ADD("cut-bounded-by-min", test_cut_bounded_by_min);
    ADD("client-scores", test_client_scores);
    ADD("score1-needs-increasing", test_score1_needs_increasing);
    ADD("stale-report", test_stale_report);
    ADD("reports-stop-server-increase", test_reports_stop_server_increase);
    ADD("aimd-client", test_aimd_client);
    ADD("aimd-server", test_aimd_server);
    ADD("not-yet-narrow", test_not_yet_narrow);
    ADD("effective-and-period", test_effective_and_period);
    ADD("max-frame-rescan", test_max_frame_rescan);
    ADD("errors-disable", test_errors_disable);
    ADD("restart-rule", test_restart_rule);
    ADD("small-change-no-restart", test_small_change_no_restart);
    ADD("no-rate-control", test_no_rate_control);
    ADD("cap-4k60", test_cap_4k60);
    ADD("decrement-floor", test_decrement_floor);
    ADD("source-fps-defaults", test_source_fps_defaults);
    ADD("conversion-i420", test_conversion_i420);
    ADD("conversion-i444", test_conversion_i444);
    ADD("conversion-uniform-chroma", test_conversion_uniform_chroma);
    ADD("conversion-16bit-top-bit", test_conversion_16bit_top_bit);
    ADD("invalid-input", test_invalid_input);
    ADD("creation", test_creation);
#else
    g_test_add_func("/frame-encoder/skipped", test_skipped);
#endif
#undef ADD
    return g_test_run();
}
