/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The INTERACTIVE latency policy (docs/latency.md): lowering and raising
 * the mm_time latency from the clients' reports, latest-frame-wins, the
 * queueing-delay back-off and the audio fallback, next to the SPICE
 * policy's behaviour, with a fake encoder that counts what reaches it.
 */
#include "config.h"

#include <string.h>

#include <spice/qxl_dev.h>
#include <spice-video/server.h>

#include "server-private.h"
#include "server-test-utils.h"

#define MS INT64_C(1000000)
#define CAPS_GTK                                                                        \
    (SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT) | SV_CAP(SPICE_DISPLAY_CAP_SIZED_STREAM) | \
     SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG))
#define SW 320
#define SH 240

/* ---- a display with one client ------------------------------------------------------ */

typedef struct {
    SvDisplay *display;
    SvDisplayClient *client;
    TestImage frames[2];
    guint stream_id;
    int64_t now;
    guint n_frames;
    /* the stamps of the stream frames taken, and the messages kept */
    uint32_t stamps[256];
    guint n_stamps;
    GPtrArray *kept; /* SvMessage, STREAM_DATA taken by take_kept() */
    guint mm_time_msgs;
    guint playback_msgs;
    uint32_t last_mm_latency;
    uint32_t last_mm_time;
    uint32_t last_playback_latency;
    guint server_drop_events;
    guint latency_events;
} T;

static void on_event(void *opaque, const SvDisplayEvent *event)
{
    T *t = opaque;
    if (event->type == SV_DISPLAY_EVENT_SERVER_DROP) {
        t->server_drop_events++;
    } else if (event->type == SV_DISPLAY_EVENT_LATENCY_CHANGED) {
        t->latency_events++;
    }
}

static SvDrawCommand copy_cmd(const TestImage *img, int32_t x, int32_t y)
{
    SvDrawCommand cmd = {
        .type = QXL_DRAW_COPY,
        .bbox = {x, y, x + (int32_t)img->image.width, y + (int32_t)img->image.height},
        .effect = QXL_EFFECT_OPAQUE,
        .surfaces_dest = {-1, -1, -1},
        .src = &img->image,
        .src_area = {0, 0, (int32_t)img->image.width, (int32_t)img->image.height},
        .rop_descriptor = SPICE_ROPD_OP_PUT};
    return cmd;
}

static void note_message(T *t, SvMessage *m)
{
    if (m->type == SV_MSG_STREAM_DATA && t->n_stamps < G_N_ELEMENTS(t->stamps)) {
        t->stamps[t->n_stamps++] = m->mm_time;
    } else if (m->type == SV_MSG_MULTI_MEDIA_TIME) {
        t->mm_time_msgs++;
        t->last_mm_latency = m->latency_ms;
        t->last_mm_time = m->mm_time;
    } else if (m->type == SV_MSG_PLAYBACK_LATENCY) {
        t->playback_msgs++;
        t->last_playback_latency = m->latency_ms;
    }
}

/* Takes every message now; the link sends each at once. */
static void take_all(T *t)
{
    SvMessage *m;
    while ((m = sv_display_client_pop(t->display, t->client, t->now)) != NULL) {
        note_message(t, m);
        sv_display_client_sent(t->display, t->client, m, t->now);
        sv_display_message_free(m);
    }
}

/* Takes every message now, keeping them (not sent yet). */
static void take_kept(T *t)
{
    SvMessage *m;
    while ((m = sv_display_client_pop(t->display, t->client, t->now)) != NULL) {
        note_message(t, m);
        g_ptr_array_add(t->kept, m);
    }
}

/* Reports every kept message sent now. */
static void send_kept(T *t)
{
    for (guint k = 0; k < t->kept->len; k++) {
        sv_display_client_sent(t->display, t->client, t->kept->pdata[k], t->now);
    }
    g_ptr_array_set_size(t->kept, 0);
}

static void draw_frame(T *t, gboolean new_pass)
{
    SvDrawCommand c = copy_cmd(&t->frames[t->n_frames++ % 2], 32, 32);
    if (new_pass) {
        sv_display_begin_pass(t->display);
    }
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_display_draw(t->display, t->now, &c, NULL, &error));
    g_assert_no_error(error);
}

/* The encoder and link share of the displays t_new_full() makes. */
static const SvEncoderDesc *t_encoder = &fake_mjpeg;
static uint32_t t_link_share_pct = 75;

static T *t_new_full(SvLatencyPolicy policy, gboolean audio, uint32_t start_latency_ms,
                     uint32_t floor_ms, gboolean pops, gboolean skip_busy_link,
                     uint32_t link_budget_ms)
{
    T *t = g_new0(T, 1);
    SvDisplayConfig config;
    sv_display_config_init(&config);
    config.detector.mode = SV_STREAMING_MODE_ALL;
    config.latency_policy = policy;
    config.audio_active = audio;
    config.mm_time_latency_ms = start_latency_ms;
    config.interactive_floor_ms = floor_ms;
    config.interactive_skip_busy_link = skip_busy_link;
    config.interactive_link_budget_ms = link_budget_ms;
    config.interactive_link_share_pct = t_link_share_pct;
    config.spice_bit_rate_mbps = 0;
    g_autoptr(GError) error = NULL;
    t->display = sv_display_new(&config, &error);
    g_assert_no_error(error);
    sv_display_set_event_func(t->display, on_event, t);
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    sv_video_codecs_append(codecs, t_encoder);
    sv_display_set_codecs_for_testing(t->display, codecs);
    t->now = 10000 * MS;
    g_assert_true(sv_display_create_surface(t->display, t->now, 0, SW, SH,
                                            SPICE_SURFACE_FMT_32_xRGB, TRUE, NULL, 0, &error));
    SvClientConfig cc = {.name = "gtk", .display_caps = CAPS_GTK, .playback_latency_cap = TRUE};
    t->client = sv_display_add_client(t->display, t->now, &cc, &error);
    g_assert_no_error(error);
    t->kept = g_ptr_array_new_with_free_func((GDestroyNotify)sv_display_message_free);
    test_image_init(&t->frames[0], 128, 96, 1);
    test_image_init(&t->frames[1], 128, 96, 9);
    /* 21 frames at 25 fps start a stream (5.8). */
    for (int i = 0; i < 21; i++) {
        t->now += 40 * MS;
        draw_frame(t, TRUE);
        if (pops) {
            take_all(t);
        }
    }
    SvStreamDetector *sd = sv_display_get_detector(t->display);
    gboolean found = FALSE;
    for (guint id = 0; id < sv_stream_detector_get_config(sd)->max_streams && !found; id++) {
        SvStreamInfo info;
        if (sv_stream_detector_get_stream(sd, id, &info)) {
            t->stream_id = id;
            found = TRUE;
        }
    }
    g_assert_true(found);
    return t;
}

static T *t_new(SvLatencyPolicy policy, gboolean audio, uint32_t start_latency_ms,
                uint32_t floor_ms, gboolean pops)
{
    return t_new_full(policy, audio, start_latency_ms, floor_ms, pops, FALSE, 10);
}

static void t_free(T *t)
{
    g_ptr_array_free(t->kept, TRUE);
    sv_display_free(t->display);
    test_image_clear(&t->frames[0]);
    test_image_clear(&t->frames[1]);
    g_free(t);
}

static Fake *t_fake(T *t)
{
    return (Fake *)sv_display_client_get_encoder_for_testing(t->client, t->stream_id);
}

/* A report whose last frame is the latest one taken, with @margin_ms. */
static void report(T *t, int32_t margin_ms, uint32_t drops)
{
    SvAgentInfo info;
    g_assert_true(sv_display_client_get_agent(t->display, t->client, t->stream_id, &info));
    g_assert_cmpuint(t->n_stamps, >, 0);
    SvStreamReport r = {.stream_id = t->stream_id,
                        .unique_id = info.report_id,
                        .start_frame_mm_time = t->stamps[t->n_stamps - 1],
                        .end_frame_mm_time = t->stamps[t->n_stamps - 1],
                        .num_frames = 5,
                        .num_drops = drops,
                        .last_frame_delay = margin_ms,
                        .audio_delay = UINT32_MAX};
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_display_client_stream_report(t->display, t->client, t->now, &r, &error));
    g_assert_no_error(error);
}

/* One frame 40 ms later, taken and sent at once, then a report on it. */
static void frame_and_report(T *t, int32_t margin_ms)
{
    t->now += 40 * MS;
    draw_frame(t, TRUE);
    take_all(t);
    report(t, margin_ms, 0);
    take_all(t); /* a MULTI_MEDIA_TIME goes at once */
}

/* ---- tests ------------------------------------------------------------------------ */

/* Large margins lower the latency, once per 500 ms, never below the floor,
 * with MULTI_MEDIA_TIME queued first; a late frame raises it at once. */
static void test_lower_and_raise(void)
{
    T *t = t_new(SV_LATENCY_POLICY_INTERACTIVE, FALSE, 400, 50, TRUE);
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 400);
    /* The encoders' own estimates do not move it. */
    Fake *f = t_fake(t);
    f->cbs.update_client_playback_delay(f->cbs.opaque, 650);
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 400);

    /* Frames need 10 ms (margin 390 at 400); the first report lowers the
     * latency at once. It comes while a newer frame waits in the pipe. */
    t->now += 40 * MS;
    draw_frame(t, TRUE);
    take_all(t);
    t->now += 40 * MS;
    draw_frame(t, TRUE);
    report(t, 390, 0);
    /* max(10 + 20 jitter, floor 50) = 50 */
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 50);
    g_assert_cmpuint(t->latency_events, ==, 1);
    /* MULTI_MEDIA_TIME goes first, with the new value. */
    SvMessage *m = sv_display_client_pop(t->display, t->client, t->now);
    g_assert_nonnull(m);
    g_assert_cmpint(m->type, ==, SV_MSG_MULTI_MEDIA_TIME);
    g_assert_cmpuint(m->latency_ms, ==, 50);
    g_assert_cmpuint(m->mm_time, ==, sv_display_mm_time(t->display, t->now) - 50);
    note_message(t, m);
    sv_display_client_sent(t->display, t->client, m, t->now);
    sv_display_message_free(m);
    guint frames = t->n_stamps;
    take_all(t);
    g_assert_cmpuint(t->n_stamps, ==, frames + 1);
    g_assert_cmpuint(t->mm_time_msgs, ==, 1);

    /* Margins still large, but not half a second after the change: nothing. */
    frame_and_report(t, 40);
    frame_and_report(t, 40);
    frame_and_report(t, 40);
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 50);
    /* Later the floor (50) holds it. */
    for (int i = 0; i < 30; i++) {
        frame_and_report(t, 40);
    }
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 50);
    g_assert_cmpuint(t->latency_events, ==, 1);

    /* A late frame (30 ms) raises it at once: 50 + 30 + 20. */
    frame_and_report(t, -30);
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 100);
    g_assert_cmpuint(t->latency_events, ==, 2);
    /* A window with drops but a positive last margin: + the jitter margin. */
    take_all(t);
    frame_and_report(t, 5);
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 100);
    t->now += 40 * MS;
    draw_frame(t, TRUE);
    take_all(t);
    report(t, 5, 2);
    take_all(t);
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 120);

    /* The encoder sees the margin it would have had at 400 ms. */
    frame_and_report(t, 60);
    g_assert_cmpint(f->last_delay, ==, 60 + 400 - 120);
    t_free(t);
}

/* A report's drops reach the encoder unless every frame of its window
 * left the link early enough to arrive, with the jitter margin, within the
 * starting latency: those frames were late only because the clock lags
 * less, which the clock rules answer with a raise. */
static void test_forwarded_drops(void)
{
    T *t = t_new(SV_LATENCY_POLICY_INTERACTIVE, FALSE, 400, 50, TRUE);
    Fake *f = t_fake(t);
    frame_and_report(t, 390);
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 50);

    /* Sent at once, two drops: the encoder hears of none, the clock rises. */
    t->now += 40 * MS;
    draw_frame(t, TRUE);
    take_all(t);
    report(t, 5, 2);
    g_assert_cmpuint(f->last_report_drops, ==, 0);
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), >, 50);
    take_all(t);

    /* Not reported sent yet: forwarded. */
    t->now += 40 * MS;
    draw_frame(t, TRUE);
    take_kept(t);
    report(t, 5, 2);
    g_assert_cmpuint(f->last_report_drops, ==, 2);

    /* Left 390 ms after its stamp, more than 400 − 20: forwarded. */
    t->now += 390 * MS;
    send_kept(t);
    report(t, -10, 3);
    g_assert_cmpuint(f->last_report_drops, ==, 3);
    t_free(t);

    /* SPICE forwards them as they are. */
    t = t_new(SV_LATENCY_POLICY_SPICE, FALSE, 400, 0, TRUE);
    f = t_fake(t);
    t->now += 40 * MS;
    draw_frame(t, TRUE);
    take_all(t);
    report(t, 5, 2);
    g_assert_cmpuint(f->last_report_drops, ==, 2);
    t_free(t);
}

/* A lowering moves the client clock forward by at most 400 ms. */
static void test_step_limit(void)
{
    T *t = t_new(SV_LATENCY_POLICY_INTERACTIVE, FALSE, 1000, 0, TRUE);
    for (int i = 0; i < 3; i++) {
        frame_and_report(t, 990);
    }
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 600);
    g_assert_cmpuint(t->last_mm_latency, ==, 600);
    /* Not before half a second, then the next step. */
    for (int i = 0; i < 9; i++) {
        frame_and_report(t, 590);
    }
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 600);
    for (int i = 0; i < 2; i++) {
        frame_and_report(t, 590);
    }
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 200);
    t_free(t);
}

/* Latest frame wins: a frame replacing an unsent one fetched in the same
 * pass is a server drop under INTERACTIVE, not under SPICE. */
static guint same_pass_drops(SvLatencyPolicy policy, guint *events)
{
    T *t = t_new(policy, FALSE, 400, 0, FALSE);
    Fake *f = t_fake(t);
    guint drops = f->server_drops;
    guint ev = t->server_drop_events;
    /* Two frames in one pass: the first supersedes the previous frame
     * (another pass), the second supersedes the first (same pass). */
    t->now += 40 * MS;
    draw_frame(t, TRUE);
    t->now += 1 * MS;
    draw_frame(t, FALSE);
    drops = f->server_drops - drops;
    *events = t->server_drop_events - ev;
    SvAgentInfo info;
    g_assert_true(sv_display_client_get_agent(t->display, t->client, t->stream_id, &info));
    g_assert_cmpuint(info.server_drops, ==, f->server_drops);
    t_free(t);
    return drops;
}

static void test_latest_frame_wins(void)
{
    guint events = 0;
    g_assert_cmpuint(same_pass_drops(SV_LATENCY_POLICY_SPICE, &events), ==, 1);
    g_assert_cmpuint(events, ==, 1);
    g_assert_cmpuint(same_pass_drops(SV_LATENCY_POLICY_INTERACTIVE, &events), ==, 2);
    g_assert_cmpuint(events, ==, 2);
}

/* Growing queueing delay above the target (one frame interval, 40 ms)
 * notifies the encoder, at most once per 200 ms; SPICE ignores it. */
static guint backoffs(SvLatencyPolicy policy, const int64_t *delays_ms, guint n)
{
    T *t = t_new(policy, FALSE, 400, 0, TRUE);
    Fake *f = t_fake(t);
    guint before = f->server_drops;
    for (guint i = 0; i < n; i++) {
        t->now += 40 * MS;
        draw_frame(t, TRUE);
        take_kept(t);
        for (guint k = 0; k < t->kept->len; k++) {
            sv_display_client_sent(t->display, t->client, t->kept->pdata[k],
                                   t->now + delays_ms[i] * MS);
        }
        g_ptr_array_set_size(t->kept, 0);
    }
    guint n_backoffs = f->server_drops - before;
    t_free(t);
    return n_backoffs;
}

static void test_queueing_backoff(void)
{
    static const int64_t growing[] = {20, 45, 60, 80, 100, 120, 140};
    static const int64_t shrinking[] = {140, 120, 100, 80, 60, 45, 20};
    static const int64_t low[] = {5, 10, 15, 20, 25, 30, 35};
    /* 45 > 40 and growing at once, then every 200 ms: frames 2 and 7. */
    g_assert_cmpuint(backoffs(SV_LATENCY_POLICY_INTERACTIVE, growing, 7), ==, 2);
    /* Only the jump from 0 (the frames before) to 140; none while it drains. */
    g_assert_cmpuint(backoffs(SV_LATENCY_POLICY_INTERACTIVE, shrinking, 7), ==, 1);
    g_assert_cmpuint(backoffs(SV_LATENCY_POLICY_INTERACTIVE, low, 7), ==, 0);
    g_assert_cmpuint(backoffs(SV_LATENCY_POLICY_SPICE, growing, 7), ==, 0);
}

/* A frame reaching the head of the pipe while the previous one is still on
 * the link is skipped as a server drop, once the caller reports sends. */
static void test_skip_busy_link(void)
{
    T *t = t_new_full(SV_LATENCY_POLICY_INTERACTIVE, FALSE, 400, 0, TRUE, TRUE, 10);
    Fake *f = t_fake(t);
    guint encoded = f->frames, drops = f->server_drops, events = t->server_drop_events;
    t->now += 40 * MS;
    draw_frame(t, TRUE);
    take_kept(t); /* on the link */
    t->now += 40 * MS;
    draw_frame(t, TRUE);
    take_kept(t); /* skipped */
    g_assert_cmpuint(f->frames, ==, encoded + 1);
    g_assert_cmpuint(f->server_drops, ==, drops + 1);
    g_assert_cmpuint(t->server_drop_events, ==, events + 1);
    for (guint k = 0; k < t->kept->len; k++) {
        sv_display_client_sent(t->display, t->client, t->kept->pdata[k], t->now);
    }
    g_ptr_array_set_size(t->kept, 0);
    t->now += 40 * MS;
    draw_frame(t, TRUE);
    take_kept(t); /* the link is free again */
    g_assert_cmpuint(f->frames, ==, encoded + 2);
    t_free(t);

    /* A caller that never calls sv_display_client_sent() loses nothing. */
    t = t_new_full(SV_LATENCY_POLICY_INTERACTIVE, FALSE, 400, 0, FALSE, TRUE, 10);
    f = t_fake(t);
    take_kept(t);
    encoded = f->frames;
    for (int i = 0; i < 3; i++) {
        t->now += 40 * MS;
        draw_frame(t, TRUE);
        take_kept(t);
    }
    g_assert_cmpuint(f->frames, ==, encoded + 3);
    t_free(t);
}

static gboolean may_send(T *t)
{
    return sv_display_client_may_send(t->display, t->client, t->now);
}

/* Draws a frame 40 ms later and takes what the pipe gives, kept unsent. */
static void frame_taken(T *t)
{
    t->now += 40 * MS;
    draw_frame(t, TRUE);
    take_kept(t);
}

/* Ten frames taken, one at a time as the pipe allows before any rate is
 * known; the last is reported sent @window_ms after the first was taken
 * (the link is in order: so did all before it). @return the link's rate,
 * their bytes over that time, bit/s. */
static double measure_rate(T *t, int64_t window_ms)
{
    int64_t first_taken = t->now + 40 * MS;
    for (int i = 0; i < 10; i++) {
        frame_taken(t);
    }
    g_assert_false(may_send(t));
    uint64_t bytes = 0;
    for (guint k = 0; k < t->kept->len; k++) {
        bytes += ((SvMessage *)t->kept->pdata[k])->wire_bytes;
    }
    g_assert_cmpuint(bytes, >=, 1000);
    g_assert_cmpint(first_taken + window_ms * MS, >=, t->now);
    t->now = first_taken + window_ms * MS;
    sv_display_client_sent(t->display, t->client, t->kept->pdata[t->kept->len - 1], t->now);
    g_ptr_array_set_size(t->kept, 0);
    g_assert_true(may_send(t));
    g_assert_cmpuint(t->client->on_link_len, ==, 0);
    return (double)bytes * 8 * 1000 / (double)window_ms;
}

/* The link budget: the pipe gives nothing while what was taken would take
 * longer to leave, at the measured rate, than the client's clock leaves
 * room for; frames wait in the pipe and the newest replaces them, the
 * encoder hearing of one drop per 200 ms. */
static void test_link_budget(void)
{
    T *t = t_new_full(SV_LATENCY_POLICY_INTERACTIVE, FALSE, 400, 0, TRUE, FALSE, 10);
    Fake *f = t_fake(t);
    g_assert_true(may_send(t));

    /* Before any rate is known: one message at a time; then the rate of a
     * report covering ten messages. */
    double rate_bps = measure_rate(t, 1000);

    /* Frames are taken until what is on the link needs more than the
     * clock's room: 400 ms − encode time − the 20 ms margin (no RTT yet). */
    guint taken = 0;
    uint64_t before = 0;
    while (may_send(t)) {
        before = t->client->on_link_bytes;
        frame_taken(t);
        g_assert_cmpuint(++taken, <, 20);
    }
    g_assert_cmpuint(taken, >=, 2);
    g_assert_cmpfloat((double)before * 8 * 1000 / rate_bps, <=, 380 + 1);
    g_assert_cmpfloat((double)t->client->on_link_bytes * 8 * 1000 / rate_bps, >, 380 - 2);

    /* Held: three frames replace each other in the pipe, none is encoded,
     * each is a server drop, the encoder hears of one. */
    guint encoded = f->frames, drops = f->server_drops, events = t->server_drop_events;
    for (int i = 0; i < 3; i++) {
        t->now += 40 * MS;
        draw_frame(t, TRUE);
        g_assert_false(may_send(t));
    }
    g_assert_cmpuint(f->frames, ==, encoded);
    g_assert_cmpuint(t->server_drop_events, ==, events + 2);
    g_assert_cmpuint(f->server_drops, ==, drops + 1);
    /* 200 ms later the encoder hears again. */
    t->now += 200 * MS;
    draw_frame(t, TRUE);
    g_assert_cmpuint(f->server_drops, ==, drops + 2);

    /* Everything left: the newest frame goes, and only it. */
    sv_display_client_sent(t->display, t->client, t->kept->pdata[t->kept->len - 1], t->now);
    g_ptr_array_set_size(t->kept, 0);
    g_assert_true(may_send(t));
    guint stamps = t->n_stamps;
    take_kept(t);
    g_assert_cmpuint(f->frames, ==, encoded + 1);
    g_assert_cmpuint(t->n_stamps, ==, stamps + 1);

    /* A caller that stops reporting: after max(2 s, 8 × the expected
     * drain, here ~3.2 s) the budget is off for good. */
    while (may_send(t)) {
        frame_taken(t);
    }
    t->now += 3000 * MS;
    g_assert_false(may_send(t));
    t->now += 1000 * MS;
    g_assert_true(may_send(t));
    for (int i = 0; i < 12; i++) {
        frame_taken(t);
        g_assert_true(may_send(t));
    }
    t_free(t);

    /* Under SPICE, or with the budget at 0, the pipe always gives. */
    for (int i = 0; i < 2; i++) {
        t = t_new_full(i == 0 ? SV_LATENCY_POLICY_SPICE : SV_LATENCY_POLICY_INTERACTIVE, FALSE, 400,
                       0, TRUE, FALSE, i == 0 ? 10 : 0);
        for (int k = 0; k < 5; k++) {
            frame_taken(t);
            g_assert_true(may_send(t));
        }
        t_free(t);
    }
}

/* The latency sent leaves out the time the clock message waits for what
 * is on the link: the client's clock, set from the message's value when it
 * arrives, then lags by what was asked. */
static void test_clock_wait(void)
{
    T *t = t_new_full(SV_LATENCY_POLICY_INTERACTIVE, FALSE, 400, 200, TRUE, FALSE, 10);
    double rate_bps = measure_rate(t, 1000);
    frame_taken(t); /* on the link */
    g_assert_cmpuint(t->kept->len, ==, 1);
    int64_t drain_ms = (int64_t)((double)t->client->on_link_bytes * 8e9 / rate_bps) / MS;
    g_assert_cmpint(drain_ms, >, 20);
    /* Margin 390 at 400: the target lag is the floor, 200 ms. */
    report(t, 390, 0);
    g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 200 - drain_ms);
    /* The clock message goes next, behind the frame on the link, and
     * leaves when the frame has… */
    guint msgs = t->mm_time_msgs;
    g_assert_true(may_send(t));
    take_kept(t);
    g_assert_cmpuint(t->mm_time_msgs, ==, msgs + 1);
    g_assert_cmpuint(t->kept->len, ==, 2);
    t->now += drain_ms * MS;
    send_kept(t);
    /* …so the client's clock lags by 200 ms. */
    const SvLatencyClock *c = &t->client->clocks[t->client->clock_last];
    g_assert_true(c->known);
    g_assert_cmpuint(c->latency_ms, ==, 200 - drain_ms);
    int64_t lag_ms = (int64_t)c->latency_ms + c->link_ns / MS;
    g_assert_cmpint(lag_ms, >=, 199);
    g_assert_cmpint(lag_ms, <=, 201);
    t_free(t);
}

/* Back-offs for the link share: a stream whose encoder aims at @aim_share
 * × the link's rate (measured over @window_ms), within 1.6 s of the budget
 * holding a frame (never held when @hold is FALSE). */
static guint share_backoffs(int64_t window_ms, double aim_share, gboolean hold)
{
    T *t = t_new_full(SV_LATENCY_POLICY_INTERACTIVE, FALSE, 40, 0, TRUE, FALSE, 10);
    Fake *f = t_fake(t);
    g_assert_true(f->low_delay);
    double rate_bps = measure_rate(t, window_ms);
    f->bit_rate = (uint64_t)(aim_share * rate_bps);
    frame_taken(t); /* on the link, for longer than the 19 ms of room */
    t->now += 40 * MS;
    draw_frame(t, TRUE);
    if (hold) {
        g_assert_false(may_send(t));
    }
    send_kept(t);
    take_all(t);
    guint before = f->server_drops;
    for (int i = 0; i < 40; i++) {
        t->now += 40 * MS;
        draw_frame(t, TRUE);
        take_all(t); /* left at once: no queueing delay */
    }
    guint n = f->server_drops - before;
    t_free(t);
    return n;
}

/* The link share: above 75 % of a busy link's rate the encoder hears of a
 * server drop, once per second; not below it, not on a link the budget
 * never held, not for frames sized far above the aim, not for spice's
 * MJPEG, not with a share of 0. */
static void test_link_share(void)
{
    /* ~130-byte frames at 25 fps: 26 kbit/s at the full frame rate. Over
     * 400 ms the link measures ~26 kbit/s, over 2 s ~5 kbit/s. */
    g_assert_cmpuint(share_backoffs(400, 0.8, TRUE), ==, 1);
    g_assert_cmpuint(share_backoffs(400, 0.7, TRUE), ==, 0);
    g_assert_cmpuint(share_backoffs(400, 0.8, FALSE), ==, 0);
    /* 0.8 × 5 kbit/s: frames sized for five times the aim. */
    g_assert_cmpuint(share_backoffs(2000, 0.8, TRUE), ==, 0);
    t_link_share_pct = 0;
    g_assert_cmpuint(share_backoffs(400, 0.8, TRUE), ==, 0);
    t_link_share_pct = 75;
    /* The fake, under the built-in MJPEG encoder's name. */
    SvEncoderDesc spice_mjpeg = fake_mjpeg;
    spice_mjpeg.encoder_name = "spice";
    t_encoder = &spice_mjpeg;
    g_assert_cmpuint(share_backoffs(400, 0.8, TRUE), ==, 0);
    t_encoder = &fake_mjpeg;

    /* Only INTERACTIVE creates its encoders for low delay. */
    T *t = t_new(SV_LATENCY_POLICY_SPICE, FALSE, 400, 0, TRUE);
    g_assert_false(t_fake(t)->low_delay);
    t_free(t);
}

/* With audio, INTERACTIVE behaves as SPICE: playback delays go out as
 * PLAYBACK_LATENCY, reports lower nothing; when audio stops the latency
 * starts again at 400 ms with a proper MULTI_MEDIA_TIME. */
static void test_audio_fallback(void)
{
    for (int p = 0; p < 2; p++) {
        SvLatencyPolicy policy = p ? SV_LATENCY_POLICY_INTERACTIVE : SV_LATENCY_POLICY_SPICE;
        T *t = t_new(policy, TRUE, 400, 0, TRUE);
        Fake *f = t_fake(t);
        f->cbs.update_client_playback_delay(f->cbs.opaque, 650);
        take_all(t);
        g_assert_cmpuint(t->playback_msgs, ==, 1);
        g_assert_cmpuint(t->last_playback_latency, ==, 650);
        for (int i = 0; i < 30; i++) {
            frame_and_report(t, 390);
        }
        g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 400);
        g_assert_cmpuint(t->mm_time_msgs, ==, 0);
        g_assert_cmpuint(t->latency_events, ==, 0);
        g_assert_cmpint(f->last_delay, ==, 390); /* forwarded as it came */
        sv_display_set_audio_active(t->display, t->now, FALSE);
        take_all(t);
        g_assert_cmpuint(t->mm_time_msgs, ==, 1);
        g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), ==, 400);
        /* Both policies resend the clock as now − 400 ms (6.5), not 0. */
        g_assert_cmpuint(t->last_mm_time, ==, sv_display_mm_time(t->display, t->now) - 400);
        if (policy == SV_LATENCY_POLICY_INTERACTIVE) {
            /* …and the reports lower it again, half a second later. */
            for (int i = 0; i < 30; i++) {
                frame_and_report(t, 390);
            }
            g_assert_cmpuint(sv_display_get_mm_time_latency(t->display), <, 400);
        }
        t_free(t);
    }
}

/* The policy names and the configuration check. */
static void test_names(void)
{
    SvLatencyPolicy policy;
    g_assert_true(sv_latency_policy_from_string("interactive", &policy));
    g_assert_cmpint(policy, ==, SV_LATENCY_POLICY_INTERACTIVE);
    g_assert_cmpstr(sv_latency_policy_to_string(policy), ==, "interactive");
    g_assert_false(sv_latency_policy_from_string("fast", &policy));
    SvDisplayConfig config;
    sv_display_config_init(&config);
    g_assert_cmpint(config.latency_policy, ==, SV_LATENCY_POLICY_SPICE);
    g_assert_cmpuint(config.jitter_margin_ms, ==, 20);
    g_assert_cmpuint(config.interactive_link_budget_ms, ==, 10);
    config.latency_policy = (SvLatencyPolicy)7;
    g_autoptr(GError) error = NULL;
    g_assert_null(sv_display_new(&config, &error));
    g_assert_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_CONFIG);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/server/latency/names", test_names);
    g_test_add_func("/server/latency/lower-and-raise", test_lower_and_raise);
    g_test_add_func("/server/latency/step-limit", test_step_limit);
    g_test_add_func("/server/latency/forwarded-drops", test_forwarded_drops);
    g_test_add_func("/server/latency/latest-frame-wins", test_latest_frame_wins);
    g_test_add_func("/server/latency/queueing-backoff", test_queueing_backoff);
    g_test_add_func("/server/latency/skip-busy-link", test_skip_busy_link);
    g_test_add_func("/server/latency/link-budget", test_link_budget);
    g_test_add_func("/server/latency/clock-wait", test_clock_wait);
    g_test_add_func("/server/latency/link-share", test_link_share);
    g_test_add_func("/server/latency/audio-fallback", test_audio_fallback);
    return g_test_run();
}
