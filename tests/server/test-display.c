/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The display model (reference 5.7-5.13, 6): real corpus traces driven
 * through the display with their own timestamps, clients that pop their
 * pipes (or do not), fake encoders that count what reaches them, and
 * synthetic commands for the tree rules.
 */
#include "config.h"

#include <string.h>

#include <spice/qxl_dev.h>
#include <spice-video/server.h>
#include <spice-video/trace.h>

#include "server-private.h"
#include "server-test-utils.h"
#include "trace-commands.h"

#define MS INT64_C(1000000)
#define VIDEO_TRACE SV_CORPORA_DIR "/video-photos-640-cut.spice.zst"
#define TEXT_TRACE SV_CORPORA_DIR "/text-scroll.spice.zst"

#define CAPS_REPORT \
    (SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT) | SV_CAP(SPICE_DISPLAY_CAP_SIZED_STREAM))
#define CAPS_GTK                                                                                   \
    (CAPS_REPORT | SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG) | \
     SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP8) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_H264))

static void use_fake_encoder(SvDisplay *display)
{
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    sv_video_codecs_append(codecs, &fake_mjpeg);
    sv_display_set_codecs_for_testing(display, codecs);
}

/* The fake encoder of @client's agent for @stream_id. */
static Fake *fake_of(SvDisplayClient *client, guint stream_id)
{
    return (Fake *)sv_display_client_get_encoder_for_testing(client, stream_id);
}

/* ---- recording a run -------------------------------------------------------------- */

typedef struct {
    SvDisplayEventType type;
    SvDisplayClient *client;
    int stream_id;
    uint64_t drawable_seq;
    SvStreamReason reason;
    uint64_t value;
    SpiceVideoCodecType codec_type;
    char text[64];
} RecEvent;

typedef struct {
    SvMessageType type;
    int stream_id;
    uint64_t wire_bytes;
    uint32_t data_size;
    gboolean sized;
    guint n_clip_rects;
    uint32_t clip_type;
    uint32_t unique_id;
    uint64_t drawable_seq;
    SvFrameDisposition disposition;
    uint64_t image_lz4_bytes;
    SpiceVideoCodecType codec_type;
} RecMessage;

#define MAX_CLIENTS 3

typedef struct Run {
    SvDisplay *display;
    GArray *events;
    SvDisplayClient *clients[MAX_CLIENTS];
    gboolean pops[MAX_CLIENTS];
    GArray *messages[MAX_CLIENTS];
    guint n_clients;
    gboolean pass_per_event; /* a new command-processing pass for each event */
    int64_t last_ns;
    guint draws;
} Run;

static void on_event(void *opaque, const SvDisplayEvent *event)
{
    Run *run = opaque;
    RecEvent r = {.type = event->type,
                  .client = event->client,
                  .stream_id = event->stream_id,
                  .drawable_seq = event->drawable_seq,
                  .reason = event->reason,
                  .value = event->value,
                  .codec_type = event->codec_type};
    if (event->text) {
        g_strlcpy(r.text, event->text, sizeof(r.text));
    }
    g_array_append_val(run->events, r);
}

static Run *run_new(const SvDisplayConfig *config)
{
    Run *run = g_new0(Run, 1);
    g_autoptr(GError) error = NULL;
    run->display = sv_display_new(config, &error);
    g_assert_no_error(error);
    run->events = g_array_new(FALSE, TRUE, sizeof(RecEvent));
    run->pass_per_event = TRUE;
    sv_display_set_event_func(run->display, on_event, run);
    return run;
}

static SvDisplayClient *run_add_client(Run *run, const char *name, uint32_t caps, gboolean pops)
{
    g_assert_cmpuint(run->n_clients, <, MAX_CLIENTS);
    SvClientConfig cc = {.name = name, .display_caps = caps};
    g_autoptr(GError) error = NULL;
    SvDisplayClient *client = sv_display_add_client(run->display, run->last_ns, &cc, &error);
    g_assert_no_error(error);
    run->clients[run->n_clients] = client;
    run->pops[run->n_clients] = pops;
    run->messages[run->n_clients] = g_array_new(FALSE, TRUE, sizeof(RecMessage));
    run->n_clients++;
    return client;
}

/* Takes every message of @client now. */
static void run_pop_client(Run *run, guint i, int64_t now_ns)
{
    SvMessage *m;
    while ((m = sv_display_client_pop(run->display, run->clients[i], now_ns)) != NULL) {
        RecMessage r = {.type = m->type,
                        .stream_id = m->stream_id,
                        .wire_bytes = m->wire_bytes,
                        .data_size = m->data_size,
                        .sized = m->sized,
                        .n_clip_rects = m->n_clip_rects,
                        .clip_type = m->clip_type,
                        .unique_id = m->unique_id,
                        .drawable_seq = m->drawable_seq,
                        .disposition = m->disposition,
                        .image_lz4_bytes = m->image_lz4_bytes,
                        .codec_type = m->codec_type};
        g_assert_cmpuint(m->wire_bytes, >=, 6);
        if (m->type == SV_MSG_STREAM_DATA) {
            g_assert_nonnull(m->data);
            g_assert_nonnull(m->source);
        }
        g_array_append_val(run->messages[i], r);
        sv_display_message_free(m);
    }
}

static void run_pop_all(Run *run, int64_t now_ns)
{
    for (guint i = 0; i < run->n_clients; i++) {
        if (run->pops[i]) {
            run_pop_client(run, i, now_ns);
        }
    }
}

typedef void (*EventHook)(Run *run, const SvTraceEvent *ev, SvApplied applied, uint64_t seq,
                          void *opaque);

/* Feeds a whole trace, each event at its own timestamp; clients that pop
 * take everything after each event. */
static void run_trace(Run *run, const char *path, EventHook hook, void *opaque)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new(path, &error);
    g_assert_no_error(error);
    SvCommandConverter *conv = sv_command_converter_new();
    const SvTraceEvent *ev;
    while ((ev = sv_trace_reader_next(reader, &error)) != NULL) {
        int64_t now = (int64_t)ev->timestamp_ns;
        run->last_ns = now;
        if (sv_display_next_timeout_ns(run->display) <= now) {
            sv_display_tick(run->display, now);
        }
        if (run->pass_per_event) {
            sv_display_begin_pass(run->display);
        }
        SvApplied applied = SV_APPLIED_NOTHING;
        uint64_t seq = 0;
        gboolean ok = sv_trace_apply_event(run->display, conv, ev, now, &applied, &seq, &error);
        g_assert_no_error(error);
        g_assert_true(ok);
        if (applied == SV_APPLIED_DRAW) {
            run->draws++;
        }
        if (hook) {
            hook(run, ev, applied, seq, opaque);
        }
        run_pop_all(run, now);
    }
    g_assert_no_error(error);
    sv_command_converter_free(conv);
}

static void run_free(Run *run)
{
    sv_display_free(run->display);
    g_array_free(run->events, TRUE);
    for (guint i = 0; i < run->n_clients; i++) {
        g_array_free(run->messages[i], TRUE);
    }
    g_free(run);
}

static guint count_events(Run *run, SvDisplayEventType type, SvDisplayClient *client)
{
    guint n = 0;
    for (guint i = 0; i < run->events->len; i++) {
        RecEvent *e = &g_array_index(run->events, RecEvent, i);
        if (e->type == type && (client == NULL || e->client == client)) {
            n++;
        }
    }
    return n;
}

static const RecEvent *find_event(Run *run, SvDisplayEventType type, SvDisplayClient *client)
{
    for (guint i = 0; i < run->events->len; i++) {
        RecEvent *e = &g_array_index(run->events, RecEvent, i);
        if (e->type == type && (client == NULL || e->client == client)) {
            return e;
        }
    }
    return NULL;
}

static guint count_messages(Run *run, guint client, SvMessageType type)
{
    guint n = 0;
    for (guint i = 0; i < run->messages[client]->len; i++) {
        if (g_array_index(run->messages[client], RecMessage, i).type == type) {
            n++;
        }
    }
    return n;
}

/* ---- the detector's expectation, computed from the trace itself -------------- */

typedef struct {
    SvCommandConverter *conv;
    gboolean have_prev;
    SpiceRect prev_bbox;
    uint32_t prev_w, prev_h;
    int64_t prev_ns;
    uint32_t frames, gradual;
    gboolean predicted;
    uint64_t predicted_seq;
    uint32_t predicted_count;
} Predictor;

/* Spice's rule (5.3-5.8) on consecutive candidates: same place and source
 * size, at most 200 ms apart; a stream starts when at least 20 frames are
 * counted and 20% of them are not LOW. */
static void predict_hook(Run *run, const SvTraceEvent *ev, SvApplied applied, uint64_t seq,
                         void *opaque)
{
    Predictor *p = opaque;
    if (applied != SV_APPLIED_DRAW || p->predicted) {
        return;
    }
    const SvDrawCommand *cmd = sv_command_converter_draw(p->conv, &ev->draw, NULL);
    g_assert_nonnull(cmd);
    uint32_t w = (uint32_t)(cmd->src_area.right - cmd->src_area.left);
    uint32_t h = (uint32_t)(cmd->src_area.bottom - cmd->src_area.top);
    gboolean candidate = cmd->type == QXL_DRAW_COPY && cmd->surface_id == 0 &&
                         cmd->effect == QXL_EFFECT_OPAQUE &&
                         cmd->rop_descriptor == SPICE_ROPD_OP_PUT && cmd->src &&
                         cmd->src->type == SV_SOURCE_BITMAP && (uint64_t)w * h >= 96 * 96;
    if (!candidate) {
        return;
    }
    int64_t now = (int64_t)ev->timestamp_ns;
    if (p->have_prev && memcmp(&p->prev_bbox, &cmd->bbox, sizeof(SpiceRect)) == 0 &&
        p->prev_w == w && p->prev_h == h && now - p->prev_ns <= 200 * MS) {
        p->frames++;
        if (sv_bitmap_graduality(&cmd->src->bitmap, FALSE, NULL) != SV_GRADUALITY_LOW) {
            p->gradual++;
        }
        if (p->frames >= 20 && p->gradual * 5 >= p->frames) {
            p->predicted = TRUE;
            p->predicted_seq = seq;
            p->predicted_count = p->frames;
        }
    } else {
        p->frames = 0;
        p->gradual = 0;
    }
    p->have_prev = TRUE;
    p->prev_bbox = cmd->bbox;
    p->prev_w = w;
    p->prev_h = h;
    p->prev_ns = now;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_video_stream(void)
{
    SvDisplayConfig config;
    sv_display_config_init(&config);
    config.video_codecs = "spice:mjpeg";
    Run *run = run_new(&config);
    run_add_client(run, "gtk", CAPS_GTK, TRUE);

    Predictor p = {.conv = sv_command_converter_new()};
    run_trace(run, VIDEO_TRACE, predict_hook, &p);
    sv_command_converter_free(p.conv);

    g_assert_true(p.predicted);
    g_test_message("predicted: drawable %" G_GUINT64_FORMAT " (%u counted frames)", p.predicted_seq,
                   p.predicted_count);
    g_assert_cmpuint(p.predicted_count, ==, 20); /* the 21st chained frame */
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_STREAM_CREATED, NULL), ==, 1);
    /* A copy: the event array grows. */
    RecEvent created_copy = *find_event(run, SV_DISPLAY_EVENT_STREAM_CREATED, NULL);
    const RecEvent *created = &created_copy;
    g_assert_cmpuint(created->drawable_seq, ==, p.predicted_seq);
    g_assert_cmpuint(run->draws, ==, 48);

    /* The client got a stream: create, report activation, data. */
    g_assert_cmpuint(count_messages(run, 0, SV_MSG_STREAM_CREATE), ==, 1);
    g_assert_cmpuint(count_messages(run, 0, SV_MSG_STREAM_ACTIVATE_REPORT), ==, 1);
    guint data = count_messages(run, 0, SV_MSG_STREAM_DATA);
    guint drops = count_events(run, SV_DISPLAY_EVENT_ENCODER_DROP, NULL);
    g_test_message("stream data %u, encoder drops %u", data, drops);
    g_assert_cmpuint(data, >, 0);
    /* Every frame from the 21st on is either sent or dropped by the encoder. */
    g_assert_cmpuint(data + drops, ==, 45 - 20);

    /* Wire sizes (Appendix A): 6-byte header + fixed fields + payload. */
    for (guint i = 0; i < run->messages[0]->len; i++) {
        RecMessage *m = &g_array_index(run->messages[0], RecMessage, i);
        switch (m->type) {
        case SV_MSG_STREAM_DATA:
            g_assert_false(m->sized);
            g_assert_cmpuint(m->wire_bytes, ==, 6 + 12 + (uint64_t)m->data_size);
            g_assert_cmpuint(m->stream_id, ==, created->stream_id);
            break;
        case SV_MSG_STREAM_ACTIVATE_REPORT:
            g_assert_cmpuint(m->wire_bytes, ==, 6 + 16);
            break;
        case SV_MSG_STREAM_CREATE:
            g_assert_cmpuint(m->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_MJPEG);
            g_assert_cmpuint(m->wire_bytes, ==,
                             6 + 50 +
                                 (m->clip_type == SV_CLIP_RECTS ? 5 + 16 * m->n_clip_rects : 1));
            break;
        case SV_MSG_DRAW:
            if (m->drawable_seq < created->drawable_seq &&
                m->disposition == SV_FRAME_NOT_STREAMED) {
                /* images are sized by LZ4 */
                g_assert_cmpuint(m->wire_bytes, >, m->image_lz4_bytes);
            }
            break;
        default:
            break;
        }
    }

    /* The video stops: one second later the stream times out with an empty
     * clip, a lossless upgrade and its destruction, in that order. */
    guint before = run->messages[0]->len;
    int64_t timeout = sv_display_next_timeout_ns(run->display);
    g_assert_cmpint(timeout, <, INT64_MAX);
    g_assert_cmpint(timeout, >, run->last_ns);
    sv_display_tick(run->display, timeout - 1);
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_STREAM_STOPPED, NULL), ==, 0);
    sv_display_tick(run->display, timeout);
    run_pop_all(run, timeout);
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_STREAM_STOPPED, NULL), ==, 1);
    g_assert_cmpuint(run->messages[0]->len, ==, before + 3);
    RecMessage *clip = &g_array_index(run->messages[0], RecMessage, before);
    RecMessage *upgrade = &g_array_index(run->messages[0], RecMessage, before + 1);
    RecMessage *destroy = &g_array_index(run->messages[0], RecMessage, before + 2);
    g_assert_cmpint(clip->type, ==, SV_MSG_STREAM_CLIP);
    g_assert_cmpuint(clip->n_clip_rects, ==, 0);
    g_assert_true(upgrade->type == SV_MSG_UPGRADE || upgrade->type == SV_MSG_IMAGE);
    g_assert_cmpint(destroy->type, ==, SV_MSG_STREAM_DESTROY);
    g_assert_cmpint(destroy->stream_id, ==, created->stream_id);
    g_assert_cmpint(sv_display_next_timeout_ns(run->display), ==, INT64_MAX);

    SvDisplayStats stats;
    sv_display_get_stats(run->display, &stats);
    g_assert_cmpuint(stats.streams_created, ==, 1);
    g_assert_cmpuint(stats.streams_stopped, ==, 1);
    g_assert_cmpuint(stats.upgrades + stats.screenshots, ==, 1);
    run_free(run);
}

static void test_text_no_stream(void)
{
    SvDisplayConfig config;
    sv_display_config_init(&config);
    config.video_codecs = "spice:mjpeg";
    config.max_tree_drawables = 200;
    Run *run = run_new(&config);
    run_add_client(run, "gtk", CAPS_GTK, TRUE);
    run_trace(run, TEXT_TRACE, NULL, NULL);
    g_assert_cmpuint(run->draws, ==, 2311);
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_STREAM_CREATED, NULL), ==, 0);
    g_assert_cmpuint(count_messages(run, 0, SV_MSG_STREAM_CREATE), ==, 0);
    g_assert_cmpuint(count_messages(run, 0, SV_MSG_STREAM_DATA), ==, 0);
    g_assert_cmpuint(count_messages(run, 0, SV_MSG_DRAW), >, 0);
    SvDisplayStats stats;
    sv_display_get_stats(run->display, &stats);
    g_assert_cmpuint(stats.draws, ==, 2311);
    g_assert_cmpuint(stats.tree_drawables, <=, 200 * 10);
    run_free(run);
}

static const SvEncoderDesc *find_available(const char *const *names)
{
    for (guint i = 0; names[i]; i += 2) {
        const SvEncoderDesc *desc = sv_registry_find(names[i], names[i + 1]);
        if (desc && sv_encoder_desc_is_available(desc, NULL)) {
            return desc;
        }
    }
    return NULL;
}

static void test_codec_per_client(void)
{
    static const char *const vp8[] = {"vpx", "vp8", "gstreamer", "vp8", NULL};
    const SvEncoderDesc *desc = find_available(vp8);
    if (desc == NULL) {
        g_test_skip("no VP8 encoder available (vpx:vp8, gstreamer:vp8)");
        return;
    }
    g_autofree char *codecs = g_strdup_printf("spice:mjpeg;%s:vp8", desc->encoder_name);
    SvDisplayConfig config;
    sv_display_config_init(&config);
    config.video_codecs = codecs;
    Run *run = run_new(&config);
    /* Without MULTI_CODEC: MJPEG only. */
    SvDisplayClient *old = run_add_client(run, "old", CAPS_REPORT, TRUE);
    SvDisplayClient *gtk = run_add_client(run, "gtk", CAPS_GTK, TRUE);
    static const uint8_t prefer_vp8[] = {SPICE_VIDEO_CODEC_TYPE_VP8};
    sv_display_client_preferred_codecs(run->display, gtk, 0, prefer_vp8, 1);

    run_trace(run, VIDEO_TRACE, NULL, NULL);
    const RecEvent *created = find_event(run, SV_DISPLAY_EVENT_STREAM_CREATED, NULL);
    g_assert_nonnull(created);
    guint id = (guint)created->stream_id;
    SvAgentInfo a, b;
    g_assert_true(sv_display_client_get_agent(run->display, old, id, &a));
    g_assert_true(sv_display_client_get_agent(run->display, gtk, id, &b));
    g_assert_cmpuint(a.codec_type, ==, SPICE_VIDEO_CODEC_TYPE_MJPEG);
    g_assert_cmpstr(a.encoder_name, ==, "spice:mjpeg");
    g_assert_cmpuint(b.codec_type, ==, SPICE_VIDEO_CODEC_TYPE_VP8);
    g_assert_true(g_str_has_suffix(b.encoder_name, ":vp8"));
    g_assert_cmpuint(a.frames_encoded, >, 0);
    g_assert_cmpuint(b.frames_encoded, >, 0);
    const SvNegotiation *neg = sv_display_client_get_negotiation(run->display, old, id);
    g_assert_nonnull(neg);
    g_assert_true(neg->chosen == sv_registry_builtin_mjpeg() ||
                  g_str_equal(neg->chosen->codec_name, "mjpeg"));
    /* The messages say so too. */
    gboolean seen_mjpeg = FALSE, seen_vp8 = FALSE;
    for (guint c = 0; c < 2; c++) {
        for (guint i = 0; i < run->messages[c]->len; i++) {
            RecMessage *m = &g_array_index(run->messages[c], RecMessage, i);
            if (m->type == SV_MSG_STREAM_DATA) {
                seen_mjpeg |= c == 0 && m->codec_type == SPICE_VIDEO_CODEC_TYPE_MJPEG;
                seen_vp8 |= c == 1 && m->codec_type == SPICE_VIDEO_CODEC_TYPE_VP8;
            }
        }
    }
    g_assert_true(seen_mjpeg);
    g_assert_true(seen_vp8);
    run_free(run);
}

static void run_congested(gboolean pass_per_event, guint *drops_congested, guint *drops_fast,
                          guint *fake_drops, guint *frames_congested, guint *pipe_len)
{
    fakes_reset();
    SvDisplayConfig config;
    sv_display_config_init(&config);
    Run *run = run_new(&config);
    use_fake_encoder(run->display);
    run->pass_per_event = pass_per_event;
    SvDisplayClient *congested = run_add_client(run, "congested", CAPS_GTK, FALSE);
    SvDisplayClient *fast = run_add_client(run, "fast", CAPS_GTK, TRUE);
    run_trace(run, VIDEO_TRACE, NULL, NULL);
    const RecEvent *created = find_event(run, SV_DISPLAY_EVENT_STREAM_CREATED, NULL);
    g_assert_nonnull(created);
    SvAgentInfo a, b;
    g_assert_true(sv_display_client_get_agent(run->display, congested, created->stream_id, &a));
    g_assert_true(sv_display_client_get_agent(run->display, fast, created->stream_id, &b));
    *drops_congested = (guint)a.server_drops;
    *drops_fast = (guint)b.server_drops;
    *fake_drops = fake_of(congested, created->stream_id)->server_drops;
    g_assert_cmpuint(fake_of(fast, created->stream_id)->server_drops, ==, 0);
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_SERVER_DROP, congested), ==,
                     *drops_congested);
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_SERVER_DROP, fast), ==, 0);
    *pipe_len = sv_display_client_pipe_length(congested);
    /* Only the newest frame waits: the congested client now gets one. */
    run_pop_client(run, 0, run->last_ns);
    *frames_congested = count_messages(run, 0, SV_MSG_STREAM_DATA);
    run_free(run);
    g_assert_cmpuint(fake_live, ==, 0);
}

static void test_server_drops(void)
{
    guint congested, fast, fake, frames, pipe_len;
    run_congested(TRUE, &congested, &fast, &fake, &frames, &pipe_len);
    g_test_message("pass per frame: %u server drops, pipe %u", congested, pipe_len);
    /* Frames 22..45 each superseded an unsent frame of the stream. */
    g_assert_cmpuint(congested, ==, 45 - 21);
    g_assert_cmpuint(fake, ==, congested);
    g_assert_cmpuint(fast, ==, 0);
    g_assert_cmpuint(frames, ==, 1);
    g_assert_cmpuint(pipe_len, <, 20);

    /* All frames fetched in one pass: never a drop (6.6 exception), but the
     * superseded frames still leave the pipe. */
    run_congested(FALSE, &congested, &fast, &fake, &frames, &pipe_len);
    g_assert_cmpuint(congested, ==, 0);
    g_assert_cmpuint(fake, ==, 0);
    g_assert_cmpuint(frames, ==, 1);
}

static void test_reports(void)
{
    fakes_reset();
    SvDisplayConfig config;
    sv_display_config_init(&config);
    config.random_seed = 7;
    Run *run = run_new(&config);
    use_fake_encoder(run->display);
    SvDisplayClient *a = run_add_client(run, "a", CAPS_GTK, TRUE);
    SvDisplayClient *b = run_add_client(run, "b", CAPS_GTK, TRUE);
    run_trace(run, VIDEO_TRACE, NULL, NULL);
    const RecEvent *created = find_event(run, SV_DISPLAY_EVENT_STREAM_CREATED, NULL);
    g_assert_nonnull(created);
    guint id = (guint)created->stream_id;

    uint32_t unique[2] = {0, 0};
    for (guint c = 0; c < 2; c++) {
        for (guint i = 0; i < run->messages[c]->len; i++) {
            RecMessage *m = &g_array_index(run->messages[c], RecMessage, i);
            if (m->type == SV_MSG_STREAM_ACTIVATE_REPORT) {
                unique[c] = m->unique_id;
            }
        }
    }
    SvAgentInfo ia, ib;
    g_assert_true(sv_display_client_get_agent(run->display, a, id, &ia));
    g_assert_true(sv_display_client_get_agent(run->display, b, id, &ib));
    g_assert_cmpuint(unique[0], ==, ia.report_id);
    g_assert_cmpuint(unique[1], ==, ib.report_id);
    g_assert_cmpuint(unique[0], !=, unique[1]);

    Fake *fa = fake_of(a, id), *fb = fake_of(b, id);
    g_autoptr(GError) error = NULL;
    SvStreamReport r = {.stream_id = id,
                        .unique_id = unique[0],
                        .num_frames = 5,
                        .last_frame_delay = 100,
                        .audio_delay = UINT32_MAX};
    g_assert_true(sv_display_client_stream_report(run->display, a, run->last_ns, &r, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(fa->reports, ==, 1);
    g_assert_cmpuint(fb->reports, ==, 0);

    /* B's id on A: stale, ignored. */
    r.unique_id = unique[1];
    g_assert_true(sv_display_client_stream_report(run->display, a, run->last_ns, &r, &error));
    g_assert_cmpuint(fa->reports, ==, 1);
    g_assert_cmpstr(g_array_index(run->events, RecEvent, run->events->len - 1).text, ==,
                    "ignored: stale unique id");
    r.num_frames = 3;
    g_assert_true(sv_display_client_stream_report(run->display, b, run->last_ns, &r, &error));
    g_assert_cmpuint(fb->reports, ==, 1);
    g_assert_cmpuint(fb->last_report_frames, ==, 3);
    g_assert_true(sv_display_client_get_agent(run->display, b, id, &ib));
    g_assert_cmpuint(ib.reports_forwarded, ==, 1);

    /* Cannot decode, from B: only B's encoder goes; the id is not checked. */
    SvStreamReport cannot = {.stream_id = id, .unique_id = 12345, .num_drops = UINT32_MAX};
    guint live = fake_live;
    g_assert_true(sv_display_client_stream_report(run->display, b, run->last_ns, &cannot, &error));
    g_assert_cmpuint(fake_live, ==, live - 1);
    g_assert_true(sv_display_client_get_agent(run->display, b, id, &ib));
    g_assert_false(ib.has_encoder);
    g_assert_true(sv_display_client_get_agent(run->display, a, id, &ia));
    g_assert_true(ia.has_encoder);
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_ENCODER_DESTROYED, b), ==, 1);
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_ENCODER_DESTROYED, a), ==, 0);
    /* Later reports to B are ignored (no encoder). */
    g_assert_true(sv_display_client_stream_report(run->display, b, run->last_ns, &r, &error));

    /* A stream id out of range disconnects. */
    SvStreamReport bad = {.stream_id = 50, .unique_id = unique[0], .num_frames = 1};
    g_assert_false(sv_display_client_stream_report(run->display, a, run->last_ns, &bad, &error));
    g_assert_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_DISCONNECT);
    g_clear_error(&error);
    sv_display_remove_client(run->display, b);
    run->n_clients = 1;
    g_array_free(run->messages[1], TRUE);
    run_free(run);
    g_assert_cmpuint(fake_live, ==, 0);
}

/* Reports a broken or hostile client may send, with the real encoders
 * (vpx:vp8 for one client, spice:mjpeg for the other, without VP8): for stream
 * ids that were never created or are gone, and with absurd values. Ignored
 * (with a debug log) or absorbed by the rate control: never a crash nor a
 * disconnect, and the stream keeps flowing (docs/hardening.md). */
static void test_bad_reports(void)
{
    fakes_reset();
    SvDisplayConfig config;
    sv_display_config_init(&config);
    Run *run = run_new(&config);
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_assert_cmpint(sv_video_codecs_parse(codecs, "vpx:vp8;spice:mjpeg", NULL, NULL), >=, 0);
    sv_display_set_codecs_for_testing(run->display, codecs);
    SvDisplayClient *clients[2] = {
        run_add_client(run, "a", CAPS_GTK, TRUE),
        run_add_client(run, "b", CAPS_GTK & ~SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP8), TRUE)};
    const guint limit = MIN(50u, config.detector.max_streams);

    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new(VIDEO_TRACE, &error);
    g_assert_no_error(error);
    SvCommandConverter *conv = sv_command_converter_new();
    const SvTraceEvent *ev;
    guint sent = 0, forwarded = 0, ignored = 0;
    guint data_before[2] = {0, 0};
    while ((ev = sv_trace_reader_next(reader, &error)) != NULL) {
        int64_t now = (int64_t)ev->timestamp_ns;
        run->last_ns = now;
        sv_display_begin_pass(run->display);
        g_assert_true(sv_trace_apply_event(run->display, conv, ev, now, NULL, NULL, &error));
        run_pop_all(run, now);
        const RecEvent *created = find_event(run, SV_DISPLAY_EVENT_STREAM_CREATED, NULL);
        if (created == NULL) {
            continue;
        }
        uint32_t id = (uint32_t)created->stream_id;
        for (guint c = 0; c < 2; c++) {
            SvAgentInfo info;
            uint32_t unique = sv_display_client_get_agent(run->display, clients[c], id, &info)
                                  ? info.report_id
                                  : 0;
            if (sent == 0) {
                data_before[c] = count_messages(run, c, SV_MSG_STREAM_DATA);
            }
            /* One of each per event, in turn. */
            SvStreamReport bad[] = {
                /* Slots next to the live one, with its unique id and without. */
                {.stream_id = (id + 1) % limit, .unique_id = unique, .num_frames = 5},
                {.stream_id = (id + limit - 1) % limit, .unique_id = 0, .num_frames = 1},
                /* Absurd values for the live stream. */
                {.stream_id = id,
                 .unique_id = unique,
                 .num_frames = UINT32_MAX,
                 .num_drops = UINT32_MAX - 1,
                 .start_frame_mm_time = UINT32_MAX,
                 .end_frame_mm_time = 0,
                 .last_frame_delay = INT32_MIN,
                 .audio_delay = 0},
                {.stream_id = id,
                 .unique_id = unique,
                 .num_frames = 0,
                 .num_drops = 0,
                 .start_frame_mm_time = 0,
                 .end_frame_mm_time = UINT32_MAX,
                 .last_frame_delay = INT32_MAX,
                 .audio_delay = UINT32_MAX - 1},
                {.stream_id = id,
                 .unique_id = unique,
                 .num_frames = 3,
                 .num_drops = 7, /* more drops than frames */
                 .start_frame_mm_time = 1000,
                 .end_frame_mm_time = 1000,
                 .last_frame_delay = -1,
                 .audio_delay = UINT32_MAX},
            };
            const SvStreamReport *r = &bad[sent % G_N_ELEMENTS(bad)];
            g_assert_true(sv_display_client_stream_report(run->display, clients[c], now, r,
                                                          &error));
            g_assert_no_error(error);
            const char *text = g_array_index(run->events, RecEvent, run->events->len - 1).text;
            if (g_str_equal(text, "forwarded to the encoder")) {
                forwarded++;
            } else {
                /* Another slot: empty, or another stream's (wrong unique id). */
                g_assert_true(g_str_equal(text, "ignored: no encoder") ||
                              g_str_equal(text, "ignored: stale unique id"));
                g_assert_cmpuint(r->stream_id, !=, id);
                ignored++;
            }
        }
        sent++;
    }
    g_assert_no_error(error);
    sv_command_converter_free(conv);
    g_assert_cmpuint(sent, >, 10);
    g_assert_cmpuint(forwarded, >, 0);
    g_assert_cmpuint(ignored, >, 0);

    /* Both clients kept their encoder and kept getting frames. */
    const RecEvent *created = find_event(run, SV_DISPLAY_EVENT_STREAM_CREATED, NULL);
    gboolean have_vpx = sv_registry_find("vpx", "vp8")->create != NULL;
    const char *const encoders[] = {have_vpx ? "vpx:vp8" : "spice:mjpeg", "spice:mjpeg"};
    for (guint c = 0; c < 2; c++) {
        SvAgentInfo agent;
        if (sv_display_client_get_agent(run->display, clients[c], (guint)created->stream_id,
                                        &agent)) {
            g_assert_cmpstr(agent.encoder_name, ==, encoders[c]);
        }
        g_assert_cmpuint(count_messages(run, c, SV_MSG_STREAM_DATA), >, data_before[c] + 5);
        g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_ENCODER_DESTROYED, clients[c]), ==, 0);
    }

    /* Reports for the stream once it is gone: ignored. */
    sv_display_remove_client(run->display, clients[1]);
    run->n_clients = 1;
    g_array_free(run->messages[1], TRUE);
    SvAgentInfo info;
    if (!sv_display_client_get_agent(run->display, clients[0], (guint)created->stream_id, &info)) {
        SvStreamReport late = {.stream_id = (uint32_t)created->stream_id, .num_frames = 1};
        g_assert_true(sv_display_client_stream_report(run->display, clients[0], run->last_ns, &late,
                                                      &error));
        g_assert_cmpstr(g_array_index(run->events, RecEvent, run->events->len - 1).text, ==,
                        "ignored: no encoder");
    }
    run_free(run);
}

/* After a cannot-decode report, the client's frames go out as images. */
static void test_frames_as_images(void)
{
    fakes_reset();
    SvDisplayConfig config;
    sv_display_config_init(&config);
    Run *run = run_new(&config);
    use_fake_encoder(run->display);
    SvDisplayClient *a = run_add_client(run, "a", CAPS_GTK, TRUE);
    SvDisplayClient *b = run_add_client(run, "b", CAPS_GTK, TRUE);

    /* The hook answers the first STREAM_CREATE of B with cannot-decode. */
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new(VIDEO_TRACE, &error);
    g_assert_no_error(error);
    SvCommandConverter *conv = sv_command_converter_new();
    const SvTraceEvent *ev;
    gboolean sent = FALSE;
    while ((ev = sv_trace_reader_next(reader, &error)) != NULL) {
        int64_t now = (int64_t)ev->timestamp_ns;
        run->last_ns = now;
        sv_display_begin_pass(run->display);
        g_assert_true(sv_trace_apply_event(run->display, conv, ev, now, NULL, NULL, &error));
        run_pop_all(run, now);
        const RecEvent *created = find_event(run, SV_DISPLAY_EVENT_STREAM_CREATED, NULL);
        if (created && !sent) {
            SvStreamReport cannot = {.stream_id = (uint32_t)created->stream_id,
                                     .num_drops = UINT32_MAX};
            g_assert_true(sv_display_client_stream_report(run->display, b, now, &cannot, &error));
            sent = TRUE;
        }
    }
    g_assert_no_error(error);
    sv_command_converter_free(conv);
    g_assert_true(sent);
    guint as_image = 0;
    for (guint i = 0; i < run->messages[1]->len; i++) {
        RecMessage *m = &g_array_index(run->messages[1], RecMessage, i);
        if (m->type == SV_MSG_DRAW && m->disposition == SV_FRAME_NO_ENCODER) {
            as_image++;
        }
    }
    g_assert_cmpuint(as_image, >=, 45 - 21);
    g_assert_cmpuint(count_messages(run, 1, SV_MSG_STREAM_DATA), <=, 1);
    g_assert_cmpuint(count_messages(run, 0, SV_MSG_STREAM_DATA), >=, 45 - 21);
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_FRAME_AS_IMAGE, b), ==, as_image);
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_FRAME_AS_IMAGE, a), ==, 0);
    run_free(run);
}

/* ---- synthetic commands -------------------------------------------------------------- */

#define SW 320
#define SH 240

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

static SvDrawCommand fill_cmd(int32_t l, int32_t t, int32_t r, int32_t b, uint32_t effect)
{
    SvDrawCommand cmd = {.type = QXL_DRAW_FILL,
                         .bbox = {l, t, r, b},
                         .effect = effect,
                         .surfaces_dest = {-1, -1, -1},
                         .brush = {.type = SV_BRUSH_SOLID, .color = 0x00ff0000},
                         .rop_descriptor = SPICE_ROPD_OP_PUT};
    return cmd;
}

static Run *synthetic_run_full(SvStreamingMode mode, gboolean report_superseded_drops)
{
    SvDisplayConfig config;
    sv_display_config_init(&config);
    config.detector.mode = mode;
    config.report_superseded_drops = report_superseded_drops;
    config.spice_bit_rate_mbps = 0; /* whatever SPICE_BIT_RATE says */
    Run *run = run_new(&config);
    use_fake_encoder(run->display);
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_display_create_surface(run->display, 0, 0, SW, SH, SPICE_SURFACE_FMT_32_xRGB,
                                            TRUE, NULL, 0, &error));
    g_assert_no_error(error);
    return run;
}

static Run *synthetic_run(SvStreamingMode mode)
{
    return synthetic_run_full(mode, FALSE);
}

static void draw(Run *run, int64_t now, const SvDrawCommand *cmd)
{
    g_autoptr(GError) error = NULL;
    run->last_ns = now;
    sv_display_begin_pass(run->display);
    g_assert_true(sv_display_draw(run->display, now, cmd, NULL, &error));
    g_assert_no_error(error);
}

static uint64_t tree_size(Run *run)
{
    SvDisplayStats stats;
    sv_display_get_stats(run->display, &stats);
    return stats.tree_drawables;
}

static void test_tree_rules(void)
{
    fakes_reset();
    Run *run = synthetic_run(SV_STREAMING_MODE_ALL);
    SvDisplayClient *idle = run_add_client(run, "idle", CAPS_GTK, FALSE);
    guint base = sv_display_client_pipe_length(idle); /* surface + image */
    TestImage a, b;
    test_image_init(&a, 64, 64, 1);
    test_image_init(&b, 64, 64, 2);

    /* Exact replacement: the second copy takes the first one's place in
     * the tree and in the pipe. */
    SvDrawCommand ca = copy_cmd(&a, 10, 10), cb = copy_cmd(&b, 10, 10);
    draw(run, 0, &ca);
    g_assert_cmpuint(tree_size(run), ==, 1);
    g_assert_cmpuint(sv_display_client_pipe_length(idle), ==, base + 1);
    draw(run, 10 * MS, &cb);
    g_assert_cmpuint(tree_size(run), ==, 1);
    g_assert_cmpuint(sv_display_client_pipe_length(idle), ==, base + 1);

    /* Overlap: a partly covered fill stays; covering its rest removes it
     * from the tree and the pipe. */
    SvDrawCommand f1 = fill_cmd(100, 100, 200, 200, QXL_EFFECT_OPAQUE);
    draw(run, 20 * MS, &f1);
    g_assert_cmpuint(tree_size(run), ==, 2);
    SvDrawCommand f2 = fill_cmd(150, 100, 250, 200, QXL_EFFECT_OPAQUE);
    draw(run, 30 * MS, &f2);
    g_assert_cmpuint(tree_size(run), ==, 3);
    g_assert_cmpuint(sv_display_client_pipe_length(idle), ==, base + 3);
    SvDrawCommand f3 = fill_cmd(90, 90, 160, 210, QXL_EFFECT_OPAQUE);
    draw(run, 40 * MS, &f3);
    g_assert_cmpuint(tree_size(run), ==, 3); /* f1 gone, f3 in */
    g_assert_cmpuint(sv_display_client_pipe_length(idle), ==, base + 3);
    /* A non-opaque drawing hides nothing. */
    SvDrawCommand blend = fill_cmd(0, 0, SW, SH, QXL_EFFECT_BLEND);
    draw(run, 50 * MS, &blend);
    g_assert_cmpuint(tree_size(run), ==, 4);
    /* A guest read of the whole screen retires the tree. */
    SpiceRect all = {0, 0, SW, SH};
    g_assert_true(sv_display_update_area(run->display, 60 * MS, 0, &all, NULL));
    g_assert_cmpuint(tree_size(run), ==, 0);
    g_assert_cmpuint(sv_display_client_pipe_length(idle), ==, base + 4);

    /* The canvas is the screen: the last fill (opaque, red) is there. */
    SvCanvas *screen = sv_display_get_primary(run->display);
    const uint8_t *px =
        sv_canvas_get_const_data(screen) + 150 * sv_canvas_get_stride(screen) + 200 * 4;
    g_assert_cmpuint(px[2], ==, 0xff);

    /* Command pull stops above max_pipe_size items. */
    g_assert_true(sv_display_can_pull_commands(run->display));
    for (int i = 0; i < 60; i++) {
        SvDrawCommand f = fill_cmd(i * 5, 0, i * 5 + 4, 4, QXL_EFFECT_OPAQUE);
        draw(run, (70 + i) * MS, &f);
    }
    g_assert_false(sv_display_can_pull_commands(run->display));
    run_pop_client(run, 0, 200 * MS);
    g_assert_true(sv_display_can_pull_commands(run->display));
    g_assert_cmpuint(sv_display_client_pipe_length(idle), ==, 0);

    run_free(run);
    test_image_clear(&a);
    test_image_clear(&b);
}

/* Streams a synthetic 128x96 video at (32,32) until it exists. */
static guint start_stream(Run *run, TestImage *frames, int64_t *now)
{
    for (int i = 0; i < 21; i++) {
        SvDrawCommand c = copy_cmd(&frames[i % 2], 32, 32);
        *now += 40 * MS;
        draw(run, *now, &c);
        run_pop_all(run, *now);
    }
    const RecEvent *created = find_event(run, SV_DISPLAY_EVENT_STREAM_CREATED, NULL);
    g_assert_nonnull(created);
    return (guint)created->stream_id;
}

static gboolean last_messages_are_detach(Run *run, guint from)
{
    GArray *msgs = run->messages[0];
    if (msgs->len < from + 2) {
        return FALSE;
    }
    RecMessage *clip = &g_array_index(msgs, RecMessage, from);
    RecMessage *up = &g_array_index(msgs, RecMessage, from + 1);
    return clip->type == SV_MSG_STREAM_CLIP && clip->n_clip_rects == 0 &&
           (up->type == SV_MSG_UPGRADE || up->type == SV_MSG_IMAGE);
}

static void test_detach(void)
{
    fakes_reset();
    Run *run = synthetic_run(SV_STREAMING_MODE_ALL);
    run_add_client(run, "gtk", CAPS_GTK, TRUE);
    TestImage frames[2];
    test_image_init(&frames[0], 128, 96, 1);
    test_image_init(&frames[1], 128, 96, 9);
    int64_t now = 0;
    guint id = start_stream(run, frames, &now);
    g_assert_cmpuint(count_messages(run, 0, SV_MSG_STREAM_DATA), ==, 1);

    /* An opaque drawing over part of the video clips it (5.12). */
    guint n = run->messages[0]->len;
    SvDrawCommand over = fill_cmd(32, 32, 64, 64, QXL_EFFECT_OPAQUE);
    draw(run, now += MS, &over);
    run_pop_all(run, now);
    g_assert_cmpuint(run->messages[0]->len, ==, n + 2);
    RecMessage *clip = &g_array_index(run->messages[0], RecMessage, n);
    g_assert_cmpint(clip->type, ==, SV_MSG_STREAM_CLIP);
    g_assert_cmpuint(clip->clip_type, ==, SV_CLIP_RECTS);
    g_assert_cmpuint(clip->n_clip_rects, ==, 2);

    /* A COPY_BITS reading the video detaches it with an upgrade. */
    n = run->messages[0]->len;
    SvDrawCommand bits = {.type = QXL_COPY_BITS,
                          .bbox = {200, 150, 240, 190},
                          .effect = QXL_EFFECT_OPAQUE,
                          .surfaces_dest = {-1, -1, -1},
                          .src_pos = {100, 100}};
    draw(run, now += MS, &bits);
    run_pop_all(run, now);
    g_assert_true(last_messages_are_detach(run, n));
    const RecEvent *detached = find_event(run, SV_DISPLAY_EVENT_STREAM_DETACHED, NULL);
    g_assert_nonnull(detached);
    g_assert_cmpint(detached->reason, ==, SV_STREAM_REASON_OVERDRAWN);

    /* The next frame rejoins the stream through the trace check (its
     * detached drawable was partly covered, so not an exact predecessor)... */
    SvDrawCommand c = copy_cmd(&frames[0], 32, 32);
    draw(run, now += 40 * MS, &c);
    run_pop_all(run, now);
    SvStreamInfo info;
    g_assert_true(sv_stream_detector_get_stream(sv_display_get_detector(run->display), id, &info));
    g_assert_nonnull(info.current);
    /* ...and a non-opaque drawing over it detaches it again. */
    n = run->messages[0]->len;
    SvDrawCommand blend = fill_cmd(100, 100, 110, 110, QXL_EFFECT_BLEND);
    draw(run, now += MS, &blend);
    run_pop_all(run, now);
    g_assert_true(last_messages_are_detach(run, n));
    g_assert_true(sv_stream_detector_get_stream(sv_display_get_detector(run->display), id, &info));
    g_assert_null(info.current);
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_STREAM_DETACHED, NULL), ==, 2);

    /* The next frame would replace the detached one exactly and start a
     * new count (8 item 10a); partly covered, it lets the frame rejoin. */
    draw(run, now += MS, &over);
    draw(run, now += 40 * MS, &c);
    run_pop_all(run, now);
    g_assert_true(sv_stream_detector_get_stream(sv_display_get_detector(run->display), id, &info));
    g_assert_nonnull(info.current);
    /* A read of the primary as a dependency detaches too. */
    run_pop_all(run, now);
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_display_create_surface(run->display, now, 1, 64, 64, SPICE_SURFACE_FMT_32_xRGB,
                                            FALSE, NULL, 0, &error));
    SvImage primary_src = {.type = SV_SOURCE_SURFACE, .surface_id = 0, .width = SW, .height = SH};
    SvDrawCommand read = {.type = QXL_DRAW_COPY,
                          .surface_id = 1,
                          .bbox = {0, 0, 64, 64},
                          .effect = QXL_EFFECT_OPAQUE,
                          .surfaces_dest = {0, -1, -1},
                          .surfaces_rects = {{40, 40, 104, 104}},
                          .src = &primary_src,
                          .src_area = {40, 40, 104, 104},
                          .rop_descriptor = SPICE_ROPD_OP_PUT};
    run_pop_all(run, now);
    n = run->messages[0]->len;
    draw(run, now += MS, &read);
    run_pop_all(run, now);
    g_assert_true(last_messages_are_detach(run, n));
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_STREAM_DETACHED, NULL), ==, 3);

    /* Stop all: destroy reaches the client and the encoder goes with it. */
    guint live = fake_live;
    sv_display_stop_all_streams(run->display, now);
    g_assert_cmpuint(fake_live, ==, live);
    run_pop_all(run, now);
    g_assert_cmpuint(fake_live, ==, live - 1);
    g_assert_cmpuint(count_messages(run, 0, SV_MSG_STREAM_DESTROY), ==, 1);
    run_free(run);
    test_image_clear(&frames[0]);
    test_image_clear(&frames[1]);
}

/* A frame replacing an unsent stream frame takes its place in the pipe,
 * ahead of what was queued after it (5.7 step 1). */
static void test_replacement_position(void)
{
    fakes_reset();
    Run *run = synthetic_run(SV_STREAMING_MODE_ALL);
    run_add_client(run, "idle", CAPS_GTK, FALSE);
    TestImage frames[2];
    test_image_init(&frames[0], 128, 96, 1);
    test_image_init(&frames[1], 128, 96, 9);
    int64_t now = 0;
    guint id = start_stream(run, frames, &now);
    SvDrawCommand elsewhere = fill_cmd(250, 200, 260, 210, QXL_EFFECT_OPAQUE);
    draw(run, now += MS, &elsewhere);
    SvDrawCommand c = copy_cmd(&frames[0], 32, 32);
    draw(run, now += 40 * MS, &c);
    run_pop_client(run, 0, now);
    GArray *m = run->messages[0];
    /* ..., stream-create, activate-report, frame 22, fill */
    g_assert_cmpuint(m->len, >=, 4);
    RecMessage *frame = &g_array_index(m, RecMessage, m->len - 2);
    RecMessage *fill = &g_array_index(m, RecMessage, m->len - 1);
    g_assert_cmpint(frame->type, ==, SV_MSG_STREAM_DATA);
    g_assert_cmpint(frame->stream_id, ==, id);
    g_assert_cmpint(fill->type, ==, SV_MSG_DRAW);
    g_assert_cmpint(g_array_index(m, RecMessage, m->len - 3).type, ==,
                    SV_MSG_STREAM_ACTIVATE_REPORT);
    g_assert_cmpuint(count_messages(run, 0, SV_MSG_STREAM_DATA), ==, 1);
    run_free(run);
    test_image_clear(&frames[0]);
    test_image_clear(&frames[1]);
}

/* A larger frame covering an unsent one: no drop in spice (6.6), one with
 * report_superseded_drops (8 item 10b). */
static guint superseded_drops(gboolean fix)
{
    fakes_reset();
    Run *run = synthetic_run_full(SV_STREAMING_MODE_ALL, fix);
    SvDisplayClient *idle = run_add_client(run, "idle", CAPS_GTK, FALSE);
    TestImage frames[2], big;
    test_image_init(&frames[0], 128, 96, 1);
    test_image_init(&frames[1], 128, 96, 9);
    test_image_init(&big, 160, 96, 3);
    int64_t now = 0;
    guint id = start_stream(run, frames, &now);
    SvDrawCommand c = copy_cmd(&big, 32, 32);
    draw(run, now += 40 * MS, &c);
    SvStreamInfo info;
    g_assert_true(sv_stream_detector_get_stream(sv_display_get_detector(run->display), id, &info));
    g_assert_nonnull(info.current);
    g_assert_cmpuint(info.current->bbox.right, ==, 32 + 160);
    SvAgentInfo agent;
    g_assert_true(sv_display_client_get_agent(run->display, idle, id, &agent));
    g_assert_cmpuint(fake_of(idle, id)->server_drops, ==, agent.server_drops);
    run_free(run);
    test_image_clear(&frames[0]);
    test_image_clear(&frames[1]);
    test_image_clear(&big);
    return (guint)agent.server_drops;
}

static void test_superseded_drops(void)
{
    g_assert_cmpuint(superseded_drops(FALSE), ==, 0);
    g_assert_cmpuint(superseded_drops(TRUE), ==, 1);
}

/* Why a frame goes out as an image, per client (5.11, 6.1). */
static void test_dispositions(void)
{
    fakes_reset();
    Run *run = synthetic_run(SV_STREAMING_MODE_ALL);
    uint32_t h264_only = SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) |
                         SV_CAP(SPICE_DISPLAY_CAP_CODEC_H264) |
                         SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT);
    uint32_t no_sized = SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT);
    run_add_client(run, "h264-only", h264_only, TRUE);
    run_add_client(run, "no-sized", no_sized, TRUE);
    run_add_client(run, "gtk", CAPS_GTK, TRUE);
    TestImage frames[2], big;
    test_image_init(&frames[0], 128, 96, 1);
    test_image_init(&frames[1], 128, 96, 9);
    test_image_init(&big, 160, 96, 3);
    int64_t now = 0;
    guint id = start_stream(run, frames, &now);
    SvDrawCommand c = copy_cmd(&big, 32, 32);
    draw(run, now += 40 * MS, &c);
    run_pop_all(run, now);

    /* No encoder: reports activated anyway, no STREAM_CREATE, images. */
    SvAgentInfo info;
    g_assert_true(sv_display_client_get_agent(run->display, run->clients[0], id, &info));
    g_assert_false(info.has_encoder);
    g_assert_cmpuint(count_messages(run, 0, SV_MSG_STREAM_ACTIVATE_REPORT), ==, 1);
    g_assert_cmpuint(count_messages(run, 0, SV_MSG_STREAM_CREATE), ==, 0);
    g_assert_cmpuint(count_messages(run, 0, SV_MSG_STREAM_DATA), ==, 0);
    GArray *m = run->messages[0];
    guint no_encoder = 0;
    for (guint i = 0; i < m->len; i++) {
        RecMessage *r = &g_array_index(m, RecMessage, i);
        no_encoder += r->type == SV_MSG_DRAW && r->disposition == SV_FRAME_NO_ENCODER;
    }
    g_assert_cmpuint(no_encoder, ==, 2); /* the first frame and the larger one */
    g_assert_cmpint(g_array_index(m, RecMessage, m->len - 1).disposition, ==, SV_FRAME_NO_ENCODER);
    g_assert_cmpuint(info.frames_as_images, ==, 2);

    /* Without SIZED_STREAM the larger frame is an image. */
    m = run->messages[1];
    RecMessage *last = &g_array_index(m, RecMessage, m->len - 1);
    g_assert_cmpint(last->type, ==, SV_MSG_DRAW);
    g_assert_cmpint(last->disposition, ==, SV_FRAME_SIZED_NOT_SUPPORTED);
    g_assert_cmpuint(count_messages(run, 1, SV_MSG_STREAM_DATA), ==, 1);

    /* With it, a STREAM_DATA_SIZED: 36 bytes of fields. */
    m = run->messages[2];
    last = &g_array_index(m, RecMessage, m->len - 1);
    g_assert_cmpint(last->type, ==, SV_MSG_STREAM_DATA);
    g_assert_true(last->sized);
    g_assert_cmpuint(last->wire_bytes, ==, 6 + 36 + (uint64_t)last->data_size);
    run_free(run);
    test_image_clear(&frames[0]);
    test_image_clear(&frames[1]);
    test_image_clear(&big);
}

/* A client that connects while a stream runs gets surfaces, the screen and
 * an agent (6.1); a device reset sends STREAM_DESTROY_ALL. */
static void test_late_client(void)
{
    fakes_reset();
    Run *run = synthetic_run(SV_STREAMING_MODE_ALL);
    run_add_client(run, "first", CAPS_GTK, TRUE);
    TestImage frames[2];
    test_image_init(&frames[0], 128, 96, 1);
    test_image_init(&frames[1], 128, 96, 9);
    int64_t now = 0;
    guint id = start_stream(run, frames, &now);
    SvDisplayClient *late = run_add_client(run, "late", CAPS_REPORT, TRUE);
    run_pop_all(run, now);
    GArray *m = run->messages[1];
    g_assert_cmpuint(m->len, ==, 4);
    g_assert_cmpint(g_array_index(m, RecMessage, 0).type, ==, SV_MSG_SURFACE_CREATE);
    g_assert_cmpint(g_array_index(m, RecMessage, 1).type, ==, SV_MSG_IMAGE);
    g_assert_cmpint(g_array_index(m, RecMessage, 2).type, ==, SV_MSG_STREAM_CREATE);
    g_assert_cmpint(g_array_index(m, RecMessage, 3).type, ==, SV_MSG_STREAM_ACTIVATE_REPORT);
    SvAgentInfo info;
    g_assert_true(sv_display_client_get_agent(run->display, late, id, &info));
    g_assert_true(info.has_encoder);
    /* Two clients: each starts at 0.8 × 10 Mibit/s. */
    g_assert_cmpuint(info.starting_bit_rate, ==, (uint64_t)(0.8 * 10 * 1024 * 1024));

    sv_display_destroy_surfaces(run->display, now + MS);
    run_pop_all(run, now + MS);
    g_assert_cmpuint(count_messages(run, 1, SV_MSG_STREAM_DESTROY_ALL), ==, 1);
    g_assert_cmpuint(count_messages(run, 1, SV_MSG_STREAM_DESTROY), ==, 0);
    g_assert_cmpuint(count_messages(run, 1, SV_MSG_SURFACE_DESTROY), ==, 1);
    g_assert_cmpuint(fake_live, ==, 0);
    g_assert_null(sv_display_get_primary(run->display));
    run_free(run);
    test_image_clear(&frames[0]);
    test_image_clear(&frames[1]);
}

/* The starting bit rate (6.4): client figures, shared by stream area. */
static void test_start_bit_rate(void)
{
    fakes_reset();
    Run *run = synthetic_run(SV_STREAMING_MODE_ALL);
    SvClientConfig low = {.name = "low", .display_caps = CAPS_GTK, .low_bandwidth = TRUE};
    SvClientConfig tested = {
        .name = "tested", .display_caps = CAPS_GTK, .network_test_bps = 20000000};
    SvDisplayClient *c_default = run_add_client(run, "default", CAPS_GTK, TRUE);
    SvDisplayClient *c_low = sv_display_add_client(run->display, 0, &low, NULL);
    SvDisplayClient *c_tested = sv_display_add_client(run->display, 0, &tested, NULL);
    TestImage frames[2];
    test_image_init(&frames[0], 128, 96, 1);
    test_image_init(&frames[1], 128, 96, 9);
    int64_t now = 0;
    guint first = start_stream(run, frames, &now);
    SvAgentInfo info;
    g_assert_true(sv_display_client_get_agent(run->display, c_default, first, &info));
    g_assert_cmpuint(info.starting_bit_rate, ==, (uint64_t)(0.8 * 10 * 1024 * 1024));
    g_assert_true(sv_display_client_get_agent(run->display, c_low, first, &info));
    g_assert_cmpuint(info.starting_bit_rate, ==, (uint64_t)(0.8 * 2.5 * 1024 * 1024));
    g_assert_true(sv_display_client_get_agent(run->display, c_tested, first, &info));
    g_assert_cmpuint(info.starting_bit_rate, ==, (uint64_t)(0.8 * 20000000));

    /* A second stream of the same size gets half: the area is shared. */
    for (int i = 0; i < 21; i++) {
        SvDrawCommand c = copy_cmd(&frames[i % 2], 180, 120);
        draw(run, now += 40 * MS, &c);
    }
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_STREAM_CREATED, NULL), ==, 2);
    guint second = (guint)g_array_index(run->events, RecEvent, 0).stream_id;
    for (guint i = 0; i < run->events->len; i++) {
        RecEvent *e = &g_array_index(run->events, RecEvent, i);
        if (e->type == SV_DISPLAY_EVENT_STREAM_CREATED) {
            second = (guint)e->stream_id;
        }
    }
    g_assert_cmpuint(second, !=, first);
    g_assert_true(sv_display_client_get_agent(run->display, c_default, second, &info));
    g_assert_cmpuint(info.starting_bit_rate, ==, (uint64_t)(0.8 * 10 * 1024 * 1024 / 2));
    run_free(run);
    test_image_clear(&frames[0]);
    test_image_clear(&frames[1]);

    /* SPICE_BIT_RATE wins, in Mibit/s. */
    fakes_reset();
    SvDisplayConfig config;
    sv_display_config_init(&config);
    config.detector.mode = SV_STREAMING_MODE_ALL;
    config.spice_bit_rate_mbps = 4;
    run = run_new(&config);
    use_fake_encoder(run->display);
    g_assert_true(sv_display_create_surface(run->display, 0, 0, SW, SH, SPICE_SURFACE_FMT_32_xRGB,
                                            TRUE, NULL, 0, NULL));
    c_low = sv_display_add_client(run->display, 0, &low, NULL);
    test_image_init(&frames[0], 128, 96, 1);
    test_image_init(&frames[1], 128, 96, 9);
    now = 0;
    first = start_stream(run, frames, &now);
    g_assert_true(sv_display_client_get_agent(run->display, c_low, first, &info));
    g_assert_cmpuint(info.starting_bit_rate, ==, (uint64_t)(0.8 * 4 * 1024 * 1024));
    run_free(run);
    test_image_clear(&frames[0]);
    test_image_clear(&frames[1]);
}

/* Playback delays raise the mm_time latency only (6.5). */
static void test_latency(void)
{
    fakes_reset();
    Run *run = synthetic_run(SV_STREAMING_MODE_ALL);
    SvDisplayClient *c = run_add_client(run, "gtk", CAPS_GTK, TRUE);
    TestImage frames[2];
    test_image_init(&frames[0], 128, 96, 1);
    test_image_init(&frames[1], 128, 96, 9);
    int64_t now = 0;
    guint id = start_stream(run, frames, &now);
    Fake *f = fake_of(c, id);
    g_assert_cmpuint(sv_display_get_mm_time_latency(run->display), ==, 400);
    f->cbs.update_client_playback_delay(f->cbs.opaque, 300);
    g_assert_cmpuint(sv_display_get_mm_time_latency(run->display), ==, 400);
    f->cbs.update_client_playback_delay(f->cbs.opaque, 650);
    g_assert_cmpuint(sv_display_get_mm_time_latency(run->display), ==, 650);
    f->cbs.update_client_playback_delay(f->cbs.opaque, 500);
    g_assert_cmpuint(sv_display_get_mm_time_latency(run->display), ==, 650);
    run_pop_all(run, now);
    g_assert_cmpuint(count_messages(run, 0, SV_MSG_MULTI_MEDIA_TIME), ==, 1);
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_PLAYBACK_DELAY, c), ==, 3);
    g_assert_cmpuint(count_events(run, SV_DISPLAY_EVENT_LATENCY_CHANGED, NULL), ==, 1);
    /* Round trip: the minimum ping; source fps: the detector's estimate. */
    sv_display_client_ping(run->display, c, 30 * MS);
    sv_display_client_ping(run->display, c, 20 * MS);
    sv_display_client_ping(run->display, c, 50 * MS);
    g_assert_cmpuint(f->cbs.get_roundtrip_ms(f->cbs.opaque), ==, 20);
    g_assert_cmpuint(f->cbs.get_source_fps(f->cbs.opaque), ==, 25);
    run_free(run);
    test_image_clear(&frames[0]);
    test_image_clear(&frames[1]);
}

/* A drawing that a later COPY_BITS reads stays in the pipe even when
 * covered: the client needs it for the copy (spice's shadows). Without the
 * copy, a covered drawing leaves the pipe. */
static void test_copy_bits_keeps_source(void)
{
    for (int with_copy = 0; with_copy <= 1; with_copy++) {
        fakes_reset();
        Run *run = synthetic_run(SV_STREAMING_MODE_OFF);
        SvDisplayClient *idle = run_add_client(run, "idle", CAPS_GTK, FALSE);
        guint base = sv_display_client_pipe_length(idle);
        SvDrawCommand src = fill_cmd(0, 0, 100, 100, QXL_EFFECT_OPAQUE);
        draw(run, 0, &src);
        guint expected = base + 1;
        if (with_copy) {
            SvDrawCommand copy = {.type = QXL_COPY_BITS,
                                  .bbox = {200, 0, 300, 100},
                                  .effect = QXL_EFFECT_OPAQUE,
                                  .surfaces_dest = {-1, -1, -1},
                                  .src_pos = {0, 0}};
            draw(run, 10 * MS, &copy);
            expected++;
        }
        g_assert_cmpuint(sv_display_client_pipe_length(idle), ==, expected);
        /* Cover the source completely. */
        SvDrawCommand cover = fill_cmd(0, 0, 100, 100, QXL_EFFECT_OPAQUE);
        cover.brush.color = 0x0000ff00;
        draw(run, 20 * MS, &cover);
        g_assert_cmpuint(sv_display_client_pipe_length(idle), ==,
                         with_copy ? expected + 1 : expected);
        /* The copy shows the source's colour, not the cover's. */
        if (with_copy) {
            SvCanvas *screen = sv_display_get_primary(run->display);
            const uint32_t *px = (const uint32_t *)(sv_canvas_get_const_data(screen) +
                                                    50 * (size_t)sv_canvas_get_stride(screen));
            g_assert_cmphex(px[250] & 0xffffff, ==, 0xff0000);
            g_assert_cmphex(px[50] & 0xffffff, ==, 0x00ff00);
        }
        run_free(run);
    }
}

/* ---- lazy rendering ------------------------------------------------------------ */

typedef struct {
    SvCommandConverter *conv;
    GHashTable *canvases; /* surface id → SvCanvas (eager mirror) */
    guint draws;
    guint compared;
} Mirror;

static SvCanvas *mirror_lookup(void *opaque, uint32_t id)
{
    return g_hash_table_lookup(((Mirror *)opaque)->canvases, GUINT_TO_POINTER(id));
}

static void mirror_compare(Run *run, Mirror *m)
{
    SvCanvas *lazy = sv_display_get_primary(run->display);
    SvCanvas *eager = mirror_lookup(m, 0);
    g_assert_nonnull(lazy);
    g_assert_nonnull(eager);
    uint32_t w = sv_canvas_get_width(eager), h = sv_canvas_get_height(eager);
    g_assert_cmpuint(sv_canvas_get_width(lazy), ==, w);
    for (uint32_t y = 0; y < h; y++) {
        const uint32_t *a = (const uint32_t *)(sv_canvas_get_const_data(lazy) +
                                               (size_t)y * (size_t)sv_canvas_get_stride(lazy));
        const uint32_t *b = (const uint32_t *)(sv_canvas_get_const_data(eager) +
                                               (size_t)y * (size_t)sv_canvas_get_stride(eager));
        for (uint32_t x = 0; x < w; x++) {
            if ((a[x] & 0xffffff) != (b[x] & 0xffffff)) {
                g_error("after %u draws: pixel (%u,%u) is %06x lazily, %06x eagerly", m->draws, x,
                        y, a[x] & 0xffffff, b[x] & 0xffffff);
            }
        }
    }
    m->compared++;
}

static void mirror_hook(Run *run, const SvTraceEvent *ev, SvApplied applied, uint64_t seq,
                        void *opaque)
{
    Mirror *m = opaque;
    if (ev->kind == SV_TRACE_KIND_MESSAGE &&
        (ev->type == SV_TRACE_MSG_CREATE_PRIMARY_SURFACE ||
         ev->type == SV_TRACE_MSG_CREATE_PRIMARY_SURFACE_ASYNC)) {
        SvCanvas *c =
            sv_canvas_new(ev->primary.width, ev->primary.height, ev->primary.format, NULL);
        sv_canvas_load(c, ev->primary.data.data, ev->primary.stride, ev->primary.format);
        g_hash_table_replace(m->canvases, GUINT_TO_POINTER(0), c);
    } else if (ev->kind == SV_TRACE_KIND_COMMAND && ev->type == SV_TRACE_CMD_SURFACE &&
               ev->surface.type == SV_TRACE_SURFACE_CREATE) {
        SvCanvas *c =
            sv_canvas_new(ev->surface.width, ev->surface.height, ev->surface.format, NULL);
        if (ev->surface.flags & SV_TRACE_SURFACE_KEEP_DATA) {
            sv_canvas_load(c, ev->surface.data.data, ev->surface.stride, ev->surface.format);
        }
        g_hash_table_replace(m->canvases, GUINT_TO_POINTER(ev->surface.surface_id), c);
    } else if (ev->kind == SV_TRACE_KIND_COMMAND && ev->type == SV_TRACE_CMD_SURFACE) {
        g_hash_table_remove(m->canvases, GUINT_TO_POINTER(ev->surface.surface_id));
    } else if (applied == SV_APPLIED_DRAW) {
        const SvDrawCommand *cmd = sv_command_converter_draw(m->conv, &ev->draw, NULL);
        g_assert_nonnull(cmd);
        SvCanvas *dst = mirror_lookup(m, cmd->surface_id);
        g_assert_nonnull(dst);
        sv_canvas_draw(dst, cmd, mirror_lookup, m);
        if (++m->draws % 97 == 0) {
            mirror_compare(run, m);
        }
    }
}

/* The display renders lazily (covered drawables never): the screen it
 * shows must equal rendering every drawable at once, at any point. */
static void test_lazy_rendering(void)
{
    static const char *const traces[] = {"text-scroll.spice.zst", "video-photos-640-cut.spice.zst",
                                         "idle-cursor.spice.zst"};
    for (guint i = 0; i < G_N_ELEMENTS(traces); i++) {
        SvDisplayConfig config;
        sv_display_config_init(&config);
        Run *run = run_new(&config);
        Mirror m = {.conv = sv_command_converter_new(),
                    .canvases =
                        g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)sv_canvas_free)};
        g_autofree char *path = g_build_filename(SV_CORPORA_DIR, traces[i], NULL);
        run_trace(run, path, mirror_hook, &m);
        if (mirror_lookup(&m, 0) != NULL && sv_display_get_primary(run->display) != NULL) {
            mirror_compare(run, &m);
        }
        SvDisplayStats stats;
        sv_display_get_stats(run->display, &stats);
        g_test_message("%s: %u draws, %u comparisons", traces[i], m.draws, m.compared);
        g_assert_cmpuint(m.compared, >=, 1);
        sv_command_converter_free(m.conv);
        g_hash_table_destroy(m.canvases);
        run_free(run);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/server/display/video-stream", test_video_stream);
    g_test_add_func("/server/display/lazy-rendering", test_lazy_rendering);
    g_test_add_func("/server/display/copy-bits-keeps-source", test_copy_bits_keeps_source);
    g_test_add_func("/server/display/text-no-stream", test_text_no_stream);
    g_test_add_func("/server/display/codec-per-client", test_codec_per_client);
    g_test_add_func("/server/display/server-drops", test_server_drops);
    g_test_add_func("/server/display/reports", test_reports);
    g_test_add_func("/server/display/bad-reports", test_bad_reports);
    g_test_add_func("/server/display/frames-as-images", test_frames_as_images);
    g_test_add_func("/server/display/tree-rules", test_tree_rules);
    g_test_add_func("/server/display/detach", test_detach);
    g_test_add_func("/server/display/replacement-position", test_replacement_position);
    g_test_add_func("/server/display/superseded-drops", test_superseded_drops);
    g_test_add_func("/server/display/dispositions", test_dispositions);
    g_test_add_func("/server/display/late-client", test_late_client);
    g_test_add_func("/server/display/start-bit-rate", test_start_bit_rate);
    g_test_add_func("/server/display/latency", test_latency);
    return g_test_run();
}
