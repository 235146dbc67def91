/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The replay engine (docs/replay.md): one virtual timeline on which the
 * trace's commands (at their recorded times), the display worker, the
 * network links and the simulated client act in time order.
 *
 * Actors and their clocks:
 *  - the worker processes a command when its time comes and the worker is
 *    free, and marshals the client's next message when the link can take
 *    it; the CPU it spends (measured, or the cost model) keeps it busy, so a
 *    slow encoder really delays later frames;
 *  - the links deliver bytes (netsim.h);
 *  - the client handles each message when it arrives and decodes frames
 *    one after another (its decoder is busy for the decode time).
 *
 * Display time = replay time + DISPLAY_EPOCH_NS, so mm_time stamps are never
 * 0 (spice-gtk treats a zero stamp as missing).
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <spice/enums.h>
#include <spice/protocol.h>

#include <spice-video/registry.h>
#include <spice-video/replay.h>
#include <spice-video/server.h>
#include <spice-video/trace.h>

#include "framedump.h"
#include "isolate.h"
#include "metrics.h"
#include "netsim.h"
#include "sim-client.h"
#include "server-private.h"
#include "trace-commands.h"

#define DISPLAY_EPOCH_NS (INT64_C(10) * 1000000000)
#define MS (INT64_C(1000000))
#define SEC (INT64_C(1000000000))
/* The encoders' output timeout of --deterministic replays (docs/replay.md). */
#define DETERMINISTIC_ENCODE_TIMEOUT_NS (60 * SEC)
/* The client connects this long after the first trace event. */
#define CONNECT_DELAY_NS (5 * MS)
/* Display-channel pings, to measure the round trip (reference 6.4). */
#define PING_INTERVAL_NS (1 * SEC)
/* spice's main-channel network test: two empty pings, one of 256000 bytes. */
#define NET_TEST_BYTES 256000
/* Mini header (type u16 + size u32) and a ping's body (id u32 + time u64). */
#define MINI_HEADER_BYTES 6
#define PING_BYTES (MINI_HEADER_BYTES + 12)
#define PONG_BYTES (MINI_HEADER_BYTES + 12)
#define REPORT_BYTES (MINI_HEADER_BYTES + 32)
/* A command-processing pass ends after this much worker time (6.6). */
#define PASS_MAX_NS (10 * MS)
/* After the trace ends, keep running until idle, at most this long. */
#define DRAIN_LIMIT_NS (30 * SEC)

G_DEFINE_QUARK(sv - replay - error - quark, sv_replay_error)

/* ---- cost model of --deterministic runs (docs/replay.md) ---------------- */

typedef struct {
    SpiceVideoCodecType codec;
    double encode_ns_per_pixel;
} EncodeCost;

static const EncodeCost encode_costs[] = {
    {SPICE_VIDEO_CODEC_TYPE_MJPEG, 6.0}, {SPICE_VIDEO_CODEC_TYPE_VP8, 12.0},
    {SPICE_VIDEO_CODEC_TYPE_H264, 10.0}, {SPICE_VIDEO_CODEC_TYPE_VP9, 20.0},
    {SPICE_VIDEO_CODEC_TYPE_H265, 30.0},
};
#define DECODE_NS_PER_PIXEL 3.0
#define DRAW_FIXED_NS (20 * 1000)
#define DRAW_NS_PER_PIXEL 0.5
#define LZ4_NS_PER_BYTE 0.4
#define MESSAGE_FIXED_NS (5 * 1000)

static double model_encode_ns_per_pixel(SpiceVideoCodecType codec)
{
    for (guint i = 0; i < G_N_ELEMENTS(encode_costs); i++) {
        if (encode_costs[i].codec == codec) {
            return encode_costs[i].encode_ns_per_pixel;
        }
    }
    return 20.0;
}

/* SvDisplayConfig.encode_cost_ns of --deterministic replays. */
static int64_t model_encode_cost_ns(void *data, SpiceVideoCodecType codec, uint64_t pixels)
{
    (void)data;
    return (int64_t)(model_encode_ns_per_pixel(codec) * (double)pixels);
}

static int64_t cpu_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static int64_t wall_now_ns(void)
{
    return g_get_monotonic_time() * 1000;
}

/* ---- state ---------------------------------------------------------------- */

typedef enum {
    PKT_DISPLAY,  /* an SvMessage */
    PKT_PING,     /* display-channel ping (down) */
    PKT_PONG,     /* its answer (up) */
    PKT_NET_TEST, /* main-channel network test ping (down); its pong (up) */
    PKT_NET_TEST_PONG,
    PKT_REPORT, /* a stream report (up) */
} PacketKind;

typedef struct {
    PacketKind kind;
    SvMessage *message;
    SvStreamReport report;
    int64_t ping_sent_ns;
    guint index;
} Packet;

typedef struct {
    SvFrameRecord rec;
    gboolean in_pipe; /* not yet marshalled */
} FrameState;

/* A display message whose last byte goes on the wire at sent_ns: the
 * display hears of it then (sv_display_client_sent()). The message stays
 * valid until then: the client frees it on arrival, which is never before
 * its wire time, and notifications due at a time are delivered before that
 * time's arrivals. */
typedef struct {
    int64_t sent_ns;
    const SvMessage *message;
} SentNote;

typedef struct {
    SvDisplay *display;
    gboolean active;
    int64_t created_ns;
    SvStreamRecord rec;
    gboolean have_rec;
    const SvStreamDetectorDrawable *current;
} StreamState;

typedef enum {
    PHASE_WAITING,   /* before the client connects */
    PHASE_NET_TEST,  /* main channel: network test under way */
    PHASE_CONNECTED, /* display channel up */
    PHASE_GONE,      /* disconnected */
} Phase;

typedef struct {
    const SvReplayConfig *cfg;
    GError *error; /* first fatal error */

    SvTraceReader *reader;
    SvCommandConverter *converter;
    const SvTraceEvent *pending;
    int64_t pending_ns;
    gboolean trace_done;
    int64_t trace_first_ns;
    gboolean have_first;
    int64_t trace_end_ns;

    SvDisplay *display;
    SvDisplayClient *dclient;
    SvSimClient *client;
    SvLink *down;
    SvLink *up;
    SvNetProfile profile;
    SvMetrics *metrics;
    SvFrameDump *dump;
    SvStreamDetector *detector;
    guint max_streams;

    Phase phase;
    int64_t now;
    int64_t worker_free_ns;
    int64_t client_free_ns;
    int64_t pass_start_ns;
    int64_t last_command_ns;
    SvMessage *ready; /* marshalled, waiting for the worker to finish it */
    int64_t ready_ns;
    GQueue sent_notes; /* SentNote *, in order of sent_ns */
    int64_t next_ping_ns;
    guint pings_sent;
    int64_t net_test_rtt_ns[3];
    guint net_test_answers;
    uint64_t net_test_bps;
    int64_t min_rtt_ns;
    int64_t next_dump_ns;
    int64_t next_capacity_ns;

    GHashTable *frames; /* drawable_seq → FrameState* */
    StreamState *streams;

    /* Counters for the run info. */
    uint64_t guest_draws;
    uint64_t guest_draw_bytes;
    int64_t cpu_encode_ns;
    int64_t cpu_decode_ns;
    int64_t cpu_lz4_ns;
    /* What the run charged on the timeline (the cost model, or measured). */
    int64_t charged_encode_ns;
    int64_t charged_decode_ns;
    int64_t charged_lz4_ns;
    int64_t charged_total_ns;
    uint64_t events_done;
    int64_t wall_start_ns;
    int64_t next_progress_ns;
    gboolean disconnected;
    char *disconnect_reason;
    char codec_name[48];
    /* --isolate: the encoders' workers, and the CPU time they reported. */
    SvIsolate *isolate;
    int64_t worker_cpu_ns;
} Replay;

static void set_error(Replay *r, GError *error)
{
    if (r->error == NULL) {
        r->error = error;
    } else {
        g_error_free(error);
    }
}

static int64_t display_ns(int64_t t)
{
    return t + DISPLAY_EPOCH_NS;
}

static int64_t replay_ns(int64_t display_t)
{
    return display_t - DISPLAY_EPOCH_NS;
}

/* ---- frames ----------------------------------------------------------------- */

static FrameState *frame_get(Replay *r, uint64_t seq)
{
    return g_hash_table_lookup(r->frames, &seq);
}

static FrameState *frame_new(Replay *r, uint64_t seq, int stream_id, int64_t guest_ns)
{
    FrameState *f = frame_get(r, seq);
    if (f != NULL) {
        f->rec.stream_id = stream_id;
        return f;
    }
    f = g_new0(FrameState, 1);
    f->rec.drawable_seq = seq;
    f->rec.stream_id = stream_id;
    f->rec.guest_ns = guest_ns;
    f->rec.encode_start_ns = f->rec.encode_end_ns = f->rec.sent_ns = -1;
    f->rec.arrived_ns = f->rec.decoded_ns = f->rec.displayed_ns = -1;
    f->rec.psnr_y = f->rec.ssim_y = NAN;
    f->in_pipe = TRUE;
    uint64_t *key = g_new(uint64_t, 1);
    *key = seq;
    g_hash_table_insert(r->frames, key, f);
    return f;
}

static void frame_finish(Replay *r, FrameState *f, SvFrameFate fate)
{
    f->rec.fate = fate;
    sv_metrics_add_frame(r->metrics, &f->rec);
    uint64_t seq = f->rec.drawable_seq;
    g_hash_table_remove(r->frames, &seq);
}

/* Frames of @stream_id older than @seq that never left the pipe were
 * replaced without a report (same-pass replacement, reference 6.6). */
static void frames_superseded(Replay *r, int stream_id, uint64_t seq)
{
    GHashTableIter it;
    gpointer value;
    GPtrArray *gone = g_ptr_array_new();
    g_hash_table_iter_init(&it, r->frames);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        FrameState *f = value;
        if (f->rec.stream_id == stream_id && f->in_pipe && f->rec.drawable_seq < seq) {
            g_ptr_array_add(gone, f);
        }
    }
    for (guint i = 0; i < gone->len; i++) {
        frame_finish(r, g_ptr_array_index(gone, i), SV_FRAME_FATE_DROPPED_PIPE);
    }
    g_ptr_array_free(gone, TRUE);
}

/* ---- display events ----------------------------------------------------------- */

static void on_display_event(void *opaque, const SvDisplayEvent *ev)
{
    Replay *r = opaque;
    int64_t t = replay_ns(ev->time_ns);

    switch (ev->type) {
    case SV_DISPLAY_EVENT_STREAM_CREATED: {
        if (ev->stream_id < 0 || (guint)ev->stream_id >= r->max_streams) {
            break;
        }
        StreamState *s = &r->streams[ev->stream_id];
        s->active = TRUE;
        s->created_ns = t;
        memset(&s->rec, 0, sizeof(s->rec));
        s->rec.stream_id = ev->stream_id;
        s->rec.created_seq = ev->drawable_seq;
        s->rec.created_ns = t;
        s->rec.first_candidate_ns = t;
        s->rec.stopped_ns = -1;
        s->rec.width = ev->width;
        s->rec.height = ev->height;
        s->rec.dest = ev->dest;
        s->rec.input_fps = ev->input_fps;
        SvStreamInfo info;
        if (sv_stream_detector_get_stream(r->detector, (guint)ev->stream_id, &info) &&
            info.current != NULL) {
            s->rec.first_candidate_ns = replay_ns(info.current->state.first_frame_time_ns);
            s->current = info.current;
        }
        s->have_rec = TRUE;
        sv_metrics_add_stream(r->metrics, &s->rec);
        FrameState *f = frame_new(r, ev->drawable_seq, ev->stream_id, r->now);
        f->rec.width = ev->width;
        f->rec.height = ev->height;
        break;
    }
    case SV_DISPLAY_EVENT_AGENT_CREATED: {
        if (ev->stream_id < 0 || (guint)ev->stream_id >= r->max_streams) {
            break;
        }
        StreamState *s = &r->streams[ev->stream_id];
        if (!s->have_rec) {
            break;
        }
        if (ev->encoder_name != NULL) {
            g_strlcpy(s->rec.codec, sv_video_codec_type_to_string(ev->codec_type),
                      sizeof(s->rec.codec));
            g_strlcpy(s->rec.encoder, ev->encoder_name, sizeof(s->rec.encoder));
            g_strlcpy(r->codec_name, ev->encoder_name, sizeof(r->codec_name));
        }
        s->rec.starting_bit_rate = ev->bit_rate;
        s->rec.negotiation = g_strdup(ev->text);
        sv_metrics_add_stream(r->metrics, &s->rec);
        s->rec.negotiation = NULL;
        break;
    }
    case SV_DISPLAY_EVENT_STREAM_STOPPED:
        if (ev->stream_id >= 0 && (guint)ev->stream_id < r->max_streams) {
            r->streams[ev->stream_id].active = FALSE;
            r->streams[ev->stream_id].current = NULL;
            r->streams[ev->stream_id].have_rec = FALSE;
            sv_metrics_stream_stopped(r->metrics, ev->stream_id, t);
        }
        break;
    case SV_DISPLAY_EVENT_SERVER_DROP: {
        FrameState *f = frame_get(r, ev->drawable_seq);
        if (f != NULL) {
            frame_finish(r, f, SV_FRAME_FATE_DROPPED_PIPE);
        }
        break;
    }
    case SV_DISPLAY_EVENT_ENCODER_DROP: {
        FrameState *f = frame_get(r, ev->drawable_seq);
        if (f != NULL) {
            f->in_pipe = FALSE;
            f->rec.encode_start_ns = f->rec.encode_end_ns = r->now;
            frame_finish(r, f, SV_FRAME_FATE_DROPPED_ENCODER);
        }
        break;
    }
    default:
        break;
    }
}

/* After a draw: which streams took it as their new frame. */
static gboolean note_stream_frames(Replay *r, uint64_t seq, int64_t t)
{
    gboolean found = frame_get(r, seq) != NULL; /* it created a stream */
    for (guint id = 0; id < r->max_streams; id++) {
        StreamState *s = &r->streams[id];
        if (!s->active) {
            continue;
        }
        SvStreamInfo info;
        if (!sv_stream_detector_get_stream(r->detector, id, &info)) {
            continue;
        }
        if (info.current != NULL && info.current != s->current) {
            s->current = info.current;
            FrameState *f = frame_new(r, seq, (int)id, t);
            f->rec.width = info.width;
            f->rec.height = info.height;
            found = TRUE;
        } else if (info.current == NULL) {
            s->current = NULL;
        }
    }
    return found;
}

/* ---- set-up ------------------------------------------------------------------ */

static char *codecs_for(const char *codec, GError **error)
{
    size_t n;
    const SvEncoderDesc *const *list = sv_registry_list(&n);
    GString *s = g_string_new(NULL);
    gboolean known = FALSE;

    /* spice's own encoder first (GStreamer, or the built-in MJPEG), then ours. */
    static const char *const order[] = {"spice", "gstreamer", "x264", "vpx"};
    for (guint o = 0; o < G_N_ELEMENTS(order); o++) {
        for (size_t i = 0; i < n; i++) {
            if (g_strcmp0(list[i]->codec_name, codec) != 0) {
                continue;
            }
            known = TRUE;
            if (strcmp(list[i]->encoder_name, order[o]) != 0 || list[i]->create == NULL) {
                continue;
            }
            if (g_str_equal(list[i]->encoder_name, "spice") &&
                list[i]->codec_type != SPICE_VIDEO_CODEC_TYPE_MJPEG) {
                continue;
            }
            g_string_append_printf(s, "%s%s:%s", s->len ? ";" : "", list[i]->encoder_name,
                                   list[i]->codec_name);
        }
    }
    if (!known) {
        g_set_error(error, SV_REPLAY_ERROR, SV_REPLAY_ERROR_BAD_INPUT,
                    "--codec: unknown codec '%s', expected mjpeg, h264, vp8, vp9 or h265", codec);
        g_string_free(s, TRUE);
        return NULL;
    }
    if (s->len == 0) {
        g_set_error(error, SV_REPLAY_ERROR, SV_REPLAY_ERROR_BAD_INPUT,
                    "--codec %s: no encoder for it was built (see spice-bench list-encoders)",
                    codec);
        g_string_free(s, TRUE);
        return NULL;
    }
    return g_string_free(s, FALSE);
}

static const char *streaming_name(SvStreamingMode mode)
{
    switch (mode) {
    case SV_STREAMING_MODE_OFF:
        return "off";
    case SV_STREAMING_MODE_ALL:
        return "all";
    default:
        return "filter";
    }
}

void sv_replay_config_init(SvReplayConfig *config)
{
    memset(config, 0, sizeof(*config));
    config->streaming = SV_STREAMING_MODE_FILTER;
    config->client = "spice-gtk";
    config->net = "lan";
    config->dump_format = "y4m";
    config->dump_fps = 25.0;
    config->seed = 1;
}

/* ---- the worker --------------------------------------------------------------- */

/* CPU time of isolated encoders since the last call (0 without --isolate). */
static int64_t take_worker_cpu(Replay *r)
{
    if (r->isolate == NULL) {
        return 0;
    }
    int64_t ns = sv_isolate_take_worker_cpu_ns(r->isolate);
    r->worker_cpu_ns += ns;
    return ns;
}

static int64_t charge(Replay *r, int64_t measured_ns, int64_t model_ns)
{
    int64_t ns = r->cfg->deterministic ? model_ns : measured_ns;
    r->charged_total_ns += ns;
    return ns;
}

static void process_event(Replay *r, const SvTraceEvent *ev, int64_t t)
{
    if (t - r->pass_start_ns >= PASS_MAX_NS || t > r->last_command_ns + 0) {
        /* The worker was idle (or its pass is over): a new pass. */
        if (t > r->worker_free_ns || t - r->pass_start_ns >= PASS_MAX_NS) {
            sv_display_begin_pass(r->display);
            r->pass_start_ns = t;
        }
    }
    r->last_command_ns = t;

    SvApplied applied = SV_APPLIED_NOTHING;
    uint64_t seq = 0;
    GError *error = NULL;
    int64_t cpu0 = cpu_now_ns();
    gboolean ok =
        sv_trace_apply_event(r->display, r->converter, ev, display_ns(t), &applied, &seq, &error);
    int64_t cpu = cpu_now_ns() - cpu0 + take_worker_cpu(r);
    if (!ok) {
        g_prefix_error(&error, "%s: ", r->cfg->trace_path);
        GError *e = g_error_new_literal(SV_REPLAY_ERROR, SV_REPLAY_ERROR_BAD_INPUT, error->message);
        g_error_free(error);
        set_error(r, e);
        return;
    }
    int64_t model = 0;
    if (applied == SV_APPLIED_DRAW) {
        r->guest_draws++;
        const SvTraceDrawable *d = &ev->draw;
        int64_t w = MAX(0, d->bbox.right - d->bbox.left);
        int64_t h = MAX(0, d->bbox.bottom - d->bbox.top);
        model = DRAW_FIXED_NS + (int64_t)(DRAW_NS_PER_PIXEL * (double)(w * h));
        if (d->src_image != NULL) {
            r->guest_draw_bytes += d->src_image->data.total_bytes;
        }
        gboolean stream_frame = note_stream_frames(r, seq, t);
        sv_metrics_add_guest_draw(r->metrics, t, stream_frame);
    } else if (applied != SV_APPLIED_NOTHING) {
        model = DRAW_FIXED_NS;
    }
    r->worker_free_ns = MAX(r->worker_free_ns, t) + charge(r, cpu, model);
    r->events_done++;
}

/* Worker time to marshal @m (model): encode or LZ4 sizing. */
static int64_t model_message_ns(const SvMessage *m)
{
    int64_t ns = MESSAGE_FIXED_NS;
    if (m->type == SV_MSG_STREAM_DATA && m->source != NULL) {
        double pixels = (double)(m->source_area.right - m->source_area.left) *
                        (double)(m->source_area.bottom - m->source_area.top);
        ns += (int64_t)(model_encode_ns_per_pixel(m->codec_type) * pixels);
    }
    ns += (int64_t)(LZ4_NS_PER_BYTE * (double)m->image_raw_bytes);
    return ns;
}

static gboolean client_can_send(Replay *r)
{
    return r->phase == PHASE_CONNECTED && r->ready == NULL &&
           sv_display_client_pipe_length(r->dclient) > 0 && sv_link_can_send(r->down, r->now) &&
           sv_display_client_may_send(r->display, r->dclient, display_ns(r->now));
}

static void marshal_next(Replay *r)
{
    SvDisplayStats before, after;
    sv_display_get_stats(r->display, &before);
    int64_t cpu0 = cpu_now_ns();
    SvMessage *m = sv_display_client_pop(r->display, r->dclient, display_ns(r->now));
    /* Isolated encoders work in their worker: its CPU time is the encode's. */
    int64_t worker = take_worker_cpu(r);
    int64_t cpu = cpu_now_ns() - cpu0 + worker;
    sv_display_get_stats(r->display, &after);
    r->cpu_encode_ns += (int64_t)(after.encode_ns - before.encode_ns) + worker;
    r->cpu_lz4_ns += (int64_t)(after.lz4_ns - before.lz4_ns);
    if (m == NULL) {
        r->worker_free_ns = MAX(r->worker_free_ns, r->now) + charge(r, cpu, MESSAGE_FIXED_NS);
        return;
    }
    int64_t cost = charge(r, cpu, model_message_ns(m));
    if (r->cfg->deterministic) {
        int64_t lz4 = (int64_t)(LZ4_NS_PER_BYTE * (double)m->image_raw_bytes);
        r->charged_lz4_ns += lz4;
        if (m->type == SV_MSG_STREAM_DATA) {
            r->charged_encode_ns += cost - lz4 - MESSAGE_FIXED_NS;
        }
    }
    r->ready = m;
    r->ready_ns = r->now + cost;
    r->worker_free_ns = r->ready_ns;

    if (m->type == SV_MSG_STREAM_DATA || m->type == SV_MSG_DRAW || m->type == SV_MSG_UPGRADE) {
        FrameState *f = frame_get(r, m->drawable_seq);
        if (f != NULL && f->in_pipe) {
            f->in_pipe = FALSE;
            f->rec.encode_start_ns = r->now;
            f->rec.encode_end_ns = r->ready_ns;
            if (m->type == SV_MSG_STREAM_DATA) {
                f->rec.bytes = m->data_size;
                f->rec.encode_cpu_ns = r->cfg->deterministic ? cost : m->encode_cpu_ns + worker;
                f->rec.width = m->source_area.right - m->source_area.left;
                f->rec.height = m->source_area.bottom - m->source_area.top;
                SvAgentInfo info;
                if (sv_display_client_get_agent(r->display, r->dclient, (guint)m->stream_id,
                                                &info)) {
                    f->rec.bit_rate = info.bit_rate;
                    sv_metrics_add_rate_sample(r->metrics, r->ready_ns, m->stream_id, info.bit_rate,
                                               info.stats.avg_quality);
                }
            }
            if (f->rec.stream_id >= 0) {
                frames_superseded(r, f->rec.stream_id, f->rec.drawable_seq);
            }
        }
    }
}

static void send_ready(Replay *r)
{
    SvMessage *m = r->ready;
    r->ready = NULL;
    Packet *p = g_new0(Packet, 1);
    p->kind = PKT_DISPLAY;
    p->message = m;
    if (m->type == SV_MSG_DRAW || m->type == SV_MSG_UPGRADE) {
        FrameState *f = frame_get(r, m->drawable_seq);
        if (f != NULL && m->type == SV_MSG_DRAW && m->disposition != SV_FRAME_AS_STREAM &&
            m->disposition != SV_FRAME_NOT_STREAMED) {
            f->rec.sent_ns = r->now;
            frame_finish(r, f, SV_FRAME_FATE_AS_IMAGE);
        }
    }
    int64_t sent = sv_link_send_timed(r->down, r->now, m->wire_bytes, p);
    if (r->dclient != NULL) {
        SentNote *note = g_new(SentNote, 1);
        note->sent_ns = sent;
        note->message = m;
        /* The link is FIFO, so wire times only grow: append. */
        g_queue_push_tail(&r->sent_notes, note);
    }
}

static int64_t next_sent_ns(Replay *r)
{
    const SentNote *note = g_queue_peek_head(&r->sent_notes);
    return note != NULL ? note->sent_ns : INT64_MAX;
}

/*
 * Tells the display of the messages whose last byte went on the wire at
 * @t. Outside step(): an extra step at a wire time would move the actors'
 * work (capacity samples, ticks) and change the results of the SPICE
 * policy, which ignores these notifications.
 */
static void deliver_sent(Replay *r, int64_t t)
{
    r->now = MAX(r->now, t);
    SentNote *note;
    while ((note = g_queue_peek_head(&r->sent_notes)) != NULL && note->sent_ns <= t) {
        g_queue_pop_head(&r->sent_notes);
        if (r->dclient != NULL) {
            sv_display_client_sent(r->display, r->dclient, note->message,
                                   display_ns(note->sent_ns));
        }
        g_free(note);
    }
}

/* ---- the client ----------------------------------------------------------------- */

static void send_up(Replay *r, Packet *p, uint64_t bytes)
{
    sv_link_send(r->up, r->now, bytes, p);
}

/*
 * A message of @bytes whose last byte went on the wire at @sent occupied
 * the wire for bytes / capacity before it: spread its bytes over that time
 * so per-second rates never exceed what the link carried.
 */
static void account_bytes(Replay *r, int64_t sent, uint64_t bytes, gboolean video)
{
    uint64_t bps = sv_link_capacity_bps(r->down, sent);
    int64_t duration = bps > 0 ? (int64_t)((double)bytes * 8e9 / (double)bps) : 0;
    int64_t start = MAX(0, sent - duration);
    uint64_t left = bytes;
    int64_t t = start;
    while (left > 0) {
        int64_t window_end = t - t % SEC + SEC;
        if (window_end >= sent || duration <= 0) {
            sv_metrics_add_bytes(r->metrics, sent, left, video);
            break;
        }
        uint64_t part = (uint64_t)((double)bytes * (double)(window_end - t) / (double)duration);
        part = MIN(part, left);
        sv_metrics_add_bytes(r->metrics, window_end - 1, part, video);
        left -= part;
        t = window_end;
    }
}

static void client_receive(Replay *r, Packet *p, int64_t arrival, int64_t sent)
{
    switch (p->kind) {
    case PKT_PING:
        p->kind = PKT_PONG;
        send_up(r, p, PONG_BYTES);
        return;
    case PKT_NET_TEST:
        p->kind = PKT_NET_TEST_PONG;
        send_up(r, p, PONG_BYTES);
        return;
    case PKT_DISPLAY:
        break;
    default:
        g_free(p);
        return;
    }
    SvMessage *m = p->message;
    g_free(p);
    account_bytes(r, sent, m->wire_bytes, m->type == SV_MSG_STREAM_DATA);

    if (r->phase == PHASE_GONE) {
        sv_display_message_free(m);
        return;
    }
    SvSimResult res;
    GError *error = NULL;
    int64_t cpu0 = cpu_now_ns();
    gboolean ok = sv_sim_client_receive(r->client, display_ns(arrival), m, &res, &error);
    r->cpu_decode_ns += cpu_now_ns() - cpu0;
    if (!ok) {
        set_error(r, g_error_new(SV_REPLAY_ERROR, SV_REPLAY_ERROR_FAILED, "simulated client: %s",
                                 error->message));
        g_error_free(error);
        sv_display_message_free(m);
        return;
    }
    if (res.is_frame) {
        FrameState *f = frame_get(r, res.drawable_seq);
        int64_t start = MAX(arrival, r->client_free_ns);
        int64_t decoded = start + res.decode_ns;
        r->charged_decode_ns += res.decode_ns;
        r->charged_total_ns += res.decode_ns;
        r->client_free_ns = decoded;
        if (f != NULL) {
            f->rec.sent_ns = sent;
            f->rec.arrived_ns = arrival;
            f->rec.late = res.late;
            f->rec.margin_ms = res.margin_ms;
            f->rec.decode_cpu_ns = res.decode_ns;
            if (res.decoded) {
                f->rec.decoded_ns = decoded;
                f->rec.displayed_ns = MAX(decoded, replay_ns(res.due_ns));
                f->rec.psnr_y = res.psnr_y;
                f->rec.ssim_y = res.ssim_y;
                frame_finish(r, f, SV_FRAME_FATE_SHOWN);
            } else {
                frame_finish(r, f, SV_FRAME_FATE_NOT_DECODED);
            }
        }
    }
    SvStreamReport report;
    while (sv_sim_client_pop_report(r->client, &report)) {
        Packet *rp = g_new0(Packet, 1);
        rp->kind = PKT_REPORT;
        rp->report = report;
        send_up(r, rp, REPORT_BYTES);
    }
    sv_display_message_free(m);
}

static void connect_display_channel(Replay *r)
{
    SvClientConfig cc = {
        .name = r->cfg->client,
        .display_caps = sv_sim_client_get_caps(r->client),
        .network_test_bps = r->net_test_bps,
        .low_bandwidth = r->net_test_bps > 0 && r->net_test_bps < 10 * 1024 * 1024,
    };
    GError *error = NULL;
    r->dclient = sv_display_add_client(r->display, display_ns(r->now), &cc, &error);
    if (r->dclient == NULL) {
        set_error(r, error);
        return;
    }
    r->phase = PHASE_CONNECTED;
    /* MAIN_INIT: the client clock starts at server mm_time − latency; the
     * message takes the one-way delay to arrive. */
    uint32_t mm = sv_display_mm_time(r->display, display_ns(r->now)) -
                  sv_display_get_mm_time_latency(r->display);
    sv_sim_client_set_mm_time(r->client, display_ns(r->now + r->profile.one_way_delay_ns), mm);
    r->next_ping_ns = r->now;
}

static void server_receive(Replay *r, Packet *p, int64_t arrival)
{
    switch (p->kind) {
    case PKT_PONG: {
        int64_t rtt = arrival - p->ping_sent_ns;
        if (r->min_rtt_ns == 0 || rtt < r->min_rtt_ns) {
            r->min_rtt_ns = rtt;
        }
        if (r->phase == PHASE_CONNECTED) {
            sv_display_client_ping(r->display, r->dclient, rtt);
        }
        break;
    }
    case PKT_NET_TEST_PONG:
        if (p->index < 3) {
            r->net_test_rtt_ns[p->index] = arrival - p->ping_sent_ns;
        }
        if (++r->net_test_answers == 3) {
            /* reference 6.4: latency = the smaller of the two empty pings. */
            int64_t latency = MIN(r->net_test_rtt_ns[0], r->net_test_rtt_ns[1]);
            int64_t diff = r->net_test_rtt_ns[2] - latency;
            r->net_test_bps =
                diff > 0 ? (uint64_t)((double)NET_TEST_BYTES * 8.0 * 1e9 / (double)diff) : 0;
            connect_display_channel(r);
        }
        break;
    case PKT_REPORT:
        if (r->phase == PHASE_CONNECTED) {
            GError *error = NULL;
            if (!sv_display_client_stream_report(r->display, r->dclient, display_ns(arrival),
                                                 &p->report, &error)) {
                r->disconnect_reason = g_strdup(error->message);
                g_error_free(error);
                sv_display_remove_client(r->display, r->dclient);
                r->dclient = NULL;
                r->phase = PHASE_GONE;
                r->disconnected = TRUE;
            }
        }
        break;
    default:
        break;
    }
    g_free(p);
}

static void start_net_test(Replay *r)
{
    r->phase = PHASE_NET_TEST;
    for (guint i = 0; i < 3; i++) {
        Packet *p = g_new0(Packet, 1);
        p->kind = PKT_NET_TEST;
        p->index = i;
        p->ping_sent_ns = r->now;
        sv_link_send(r->down, r->now, i < 2 ? PING_BYTES : PING_BYTES + NET_TEST_BYTES, p);
    }
}

/* ---- progress, dumps --------------------------------------------------------- */

static void progress(Replay *r, gboolean last)
{
    FILE *out = r->cfg->progress;
    if (out == NULL) {
        return;
    }
    int64_t wall = wall_now_ns();
    if (!last && wall < r->next_progress_ns) {
        return;
    }
    r->next_progress_ns = wall + 200 * MS;
    SvTraceReaderStats st;
    sv_trace_reader_get_stats(r->reader, &st);
    double elapsed = (double)(wall - r->wall_start_ns) / 1e9;
    double frac = st.input_size > 0 ? (double)st.input_bytes / (double)st.input_size : 0.0;
    char eta[32] = "?";
    if (frac > 0.01 && !last) {
        g_snprintf(eta, sizeof(eta), "%.0f s", elapsed * (1.0 - frac) / frac);
    }
    fprintf(out,
            "\rreplay: %" G_GUINT64_FORMAT
            " events, %.1f s of trace, %3.0f%%, elapsed %.1f s, ETA %s   %s",
            (guint64)r->events_done, (double)r->now / 1e9, last ? 100.0 : frac * 100.0, elapsed,
            last ? "0 s" : eta, last ? "\n" : "");
    fflush(out);
}

static void pace(Replay *r)
{
    if (r->cfg->speed <= 0) {
        return;
    }
    int64_t due_wall = r->wall_start_ns + (int64_t)((double)r->now / r->cfg->speed);
    int64_t wall = wall_now_ns();
    if (due_wall > wall + MS) {
        g_usleep((gulong)((due_wall - wall) / 1000));
    }
}

/* ---- the main loop -------------------------------------------------------------- */

static gboolean read_next_event(Replay *r)
{
    GError *error = NULL;
    const SvTraceEvent *ev = sv_trace_reader_next(r->reader, &error);
    if (ev == NULL) {
        if (error != NULL) {
            set_error(r, error);
        }
        r->trace_done = TRUE;
        r->pending = NULL;
        return FALSE;
    }
    if (!r->have_first) {
        r->trace_first_ns = (int64_t)ev->timestamp_ns;
        r->have_first = TRUE;
    }
    int64_t t = (int64_t)ev->timestamp_ns - r->trace_first_ns;
    /* Timestamps must not run backwards on the timeline. */
    r->pending_ns = MAX(t, r->pending_ns);
    r->pending = ev;
    if (r->cfg->max_duration_ns > 0 && r->pending_ns > r->cfg->max_duration_ns) {
        r->trace_done = TRUE;
        r->pending = NULL;
        return FALSE;
    }
    r->trace_end_ns = r->pending_ns;
    return TRUE;
}

static int64_t next_time(Replay *r)
{
    int64_t t = INT64_MAX;
    if (r->pending != NULL && sv_display_can_pull_commands(r->display)) {
        t = MIN(t, MAX(r->pending_ns, r->worker_free_ns));
    }
    if (r->phase == PHASE_WAITING) {
        t = MIN(t, CONNECT_DELAY_NS);
    }
    t = MIN(t, sv_link_next_event_ns(r->down, r->now));
    t = MIN(t, sv_link_next_event_ns(r->up, r->now));
    int64_t timeout = sv_display_next_timeout_ns(r->display);
    if (timeout != INT64_MAX) {
        t = MIN(t, MAX(replay_ns(timeout), r->worker_free_ns));
    }
    if (r->ready != NULL) {
        t = MIN(t, r->ready_ns);
    } else if (r->phase == PHASE_CONNECTED && sv_display_client_pipe_length(r->dclient) > 0 &&
               sv_link_can_send(r->down, MAX(r->now, r->worker_free_ns)) &&
               sv_display_client_may_send(r->display, r->dclient,
                                          display_ns(MAX(r->now, r->worker_free_ns)))) {
        t = MIN(t, MAX(r->now, r->worker_free_ns));
    }
    gboolean running = !r->trace_done;
    if (r->phase == PHASE_CONNECTED && running) {
        t = MIN(t, r->next_ping_ns);
    }
    if (r->dump != NULL && running) {
        t = MIN(t, r->next_dump_ns);
    }
    return t;
}

static void step(Replay *r, int64_t t)
{
    r->now = MAX(r->now, t);

    /* Arrivals first: they happened at or before now. */
    int64_t arrival, sent;
    Packet *p;
    while ((p = sv_link_receive(r->up, r->now, &arrival, &sent)) != NULL) {
        server_receive(r, p, arrival);
    }
    while ((p = sv_link_receive(r->down, r->now, &arrival, &sent)) != NULL) {
        client_receive(r, p, arrival, sent);
    }
    if (r->error != NULL) {
        return;
    }

    if (r->now >= r->next_capacity_ns) {
        sv_metrics_add_capacity(r->metrics, r->now, sv_link_capacity_bps(r->down, r->now));
        r->next_capacity_ns = r->now - r->now % (100 * MS) + 100 * MS;
    }

    if (r->phase == PHASE_WAITING && r->now >= CONNECT_DELAY_NS) {
        start_net_test(r);
    }

    if (r->now >= r->worker_free_ns) {
        int64_t timeout = sv_display_next_timeout_ns(r->display);
        if (timeout != INT64_MAX && display_ns(r->now) >= timeout) {
            sv_display_tick(r->display, display_ns(r->now));
        }
    }

    if (r->ready != NULL && r->now >= r->ready_ns) {
        send_ready(r);
    }

    if (r->pending != NULL && r->now >= r->pending_ns && r->now >= r->worker_free_ns &&
        sv_display_can_pull_commands(r->display)) {
        process_event(r, r->pending, r->now);
        if (r->error == NULL) {
            read_next_event(r);
        }
    }

    if (r->now >= r->worker_free_ns && client_can_send(r)) {
        marshal_next(r);
        if (r->ready != NULL && r->ready_ns <= r->now) {
            send_ready(r);
        }
    }

    if (r->phase == PHASE_CONNECTED && !r->trace_done && r->now >= r->next_ping_ns) {
        Packet *pp = g_new0(Packet, 1);
        pp->kind = PKT_PING;
        pp->ping_sent_ns = r->now;
        sv_link_send(r->down, r->now, PING_BYTES, pp);
        r->next_ping_ns = r->now + PING_INTERVAL_NS;
    }

    if (r->dump != NULL && !r->trace_done && r->now >= r->next_dump_ns) {
        GError *error = NULL;
        if (!sv_frame_dump_add(r->dump, sv_display_get_primary(r->display),
                               sv_sim_client_get_screen(r->client), &error)) {
            set_error(r, error);
        }
        r->next_dump_ns += (int64_t)(1e9 / r->cfg->dump_fps);
    }
    progress(r, FALSE);
    pace(r);
}

static void free_packet(gpointer data)
{
    Packet *p = data;
    if (p->kind == PKT_DISPLAY) {
        sv_display_message_free(p->message);
    }
    g_free(p);
}

/* ---- run ------------------------------------------------------------------------ */

/* --isolate: the display's codec list, each entry replaced by a proxy that
 * creates the encoder in a worker process (isolate.h). */
static gboolean isolate_encoders(Replay *r, GError **error)
{
    const SvReplayConfig *cfg = r->cfg;
    if (cfg->isolate_worker_argv == NULL || cfg->isolate_worker_argv[0] == NULL) {
        g_set_error_literal(error, SV_REPLAY_ERROR, SV_REPLAY_ERROR_BAD_INPUT,
                            "isolated encoders need a worker program (isolate_worker_argv)");
        return FALSE;
    }
    const char *string = sv_display_get_config(r->display)->video_codecs;
    g_autoptr(SvVideoCodecs) codecs = NULL;
    if (string != NULL) {
        codecs = sv_video_codecs_new();
        /* sv_display_new() accepted this string already. */
        if (sv_video_codecs_parse(codecs, string, NULL, error) < 0) {
            return FALSE;
        }
    } else {
        codecs = sv_video_codecs_new_default();
    }
    r->isolate = sv_isolate_new(cfg->isolate_worker_argv, cfg->isolate_timeout_ns);
    g_autoptr(SvVideoCodecs) wrapped = sv_isolate_wrap_codecs(r->isolate, codecs);
    sv_display_set_codecs_for_testing(r->display, wrapped);
    return TRUE;
}

/* An isolated encoder that crashed, hung or exited voids the run. */
static void check_isolate(Replay *r)
{
    if (r->isolate != NULL && sv_isolate_get_failure(r->isolate) != NULL) {
        set_error(r, g_error_new(SV_REPLAY_ERROR, SV_REPLAY_ERROR_FAILED, "%s: %s",
                                 r->cfg->trace_path, sv_isolate_get_failure(r->isolate)));
    }
}

static double screen_quality(SvCanvas *a, SvCanvas *b, double *ssim);

gboolean sv_replay_run(const SvReplayConfig *cfg, SvReplaySummary *summary, GError **error)
{
    g_return_val_if_fail(cfg != NULL && cfg->trace_path != NULL, FALSE);
    Replay rr = {.cfg = cfg};
    Replay *r = &rr;
    g_queue_init(&r->sent_notes);
    gboolean ok = FALSE;
    g_autofree char *codecs = NULL;
    g_autofree char *net_desc = NULL;

    r->wall_start_ns = wall_now_ns();
    int64_t cpu_start = cpu_now_ns();

    /* Options first: bad input is reported before any work. */
    if (cfg->video_codecs != NULL) {
        codecs = g_strdup(cfg->video_codecs);
    } else if (cfg->codec != NULL) {
        codecs = codecs_for(cfg->codec, error);
        if (codecs == NULL) {
            return FALSE;
        }
    }
    SvClientPreset preset;
    if (!sv_client_preset_parse(cfg->client != NULL ? cfg->client : "spice-gtk", &preset, error)) {
        return FALSE;
    }
    GError *local = NULL;
    if (!sv_net_profile_parse(cfg->net != NULL ? cfg->net : "lan", &r->profile, &local)) {
        g_set_error(error, SV_REPLAY_ERROR, SV_REPLAY_ERROR_BAD_INPUT, "%s", local->message);
        g_error_free(local);
        return FALSE;
    }
    net_desc = sv_net_profile_describe(&r->profile);

    SvDisplayConfig dc;
    sv_display_config_init(&dc);
    dc.detector.mode = cfg->streaming;
    dc.video_codecs = codecs;
    dc.encoder.options = cfg->encoder_options;
    if (cfg->bit_rate_mbps > 0) {
        dc.spice_bit_rate_mbps = cfg->bit_rate_mbps;
    }
    dc.encoder.no_rate_control = cfg->no_rate_control;
    if (cfg->fixed_quality < 0 || cfg->fixed_quality > 100) {
        g_set_error(error, SV_REPLAY_ERROR, SV_REPLAY_ERROR_BAD_INPUT,
                    "--quality: %d is out of range, expected 1 to 100", cfg->fixed_quality);
        return FALSE;
    }
    dc.encoder.fixed_quality = cfg->fixed_quality;
    if (cfg->deterministic) {
        /* Multi-threaded x264 varies its output from run to run. */
        dc.encoder.max_threads = 1;
        /* libvpx's real-time VP8 adapts its speed to the encode times. */
        dc.encoder.fixed_speed = TRUE;
        /* A frame that takes longer than the usual 1 s on a loaded machine
         * must not turn into a timeout (and, after three, a stream of
         * images) on one run and not on the next. */
        dc.encoder.encode_timeout_ns = DETERMINISTIC_ENCODE_TIMEOUT_NS;
        /* The INTERACTIVE floor uses encode times: the model's. */
        dc.encode_cost_ns = model_encode_cost_ns;
    }
    dc.latency_policy = cfg->latency_policy;
    dc.random_seed = (uint32_t)cfg->seed;
    r->display = sv_display_new(&dc, &local);
    if (r->display == NULL) {
        g_set_error(error, SV_REPLAY_ERROR, SV_REPLAY_ERROR_BAD_INPUT, "%s", local->message);
        g_error_free(local);
        return FALSE;
    }
    if (cfg->isolate && !isolate_encoders(r, error)) {
        sv_display_free(r->display);
        sv_isolate_free(r->isolate);
        return FALSE;
    }
    sv_display_set_event_func(r->display, on_display_event, r);
    r->detector = sv_display_get_detector(r->display);
    r->max_streams = sv_stream_detector_get_config(r->detector)->max_streams;
    r->streams = g_new0(StreamState, r->max_streams);

    SvSimClientConfig scc;
    sv_sim_client_config_init(&scc, preset);
    if (cfg->deterministic) {
        scc.decode_cost_ns_per_pixel = DECODE_NS_PER_PIXEL;
    }
    r->client = sv_sim_client_new(&scc, error);
    r->frames = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    r->converter = sv_command_converter_new();
    if (r->client == NULL) {
        goto out;
    }
    r->down = sv_link_new(&r->profile, SV_LINK_DOWN, cfg->seed, &local);
    if (r->down != NULL) {
        r->up = sv_link_new(&r->profile, SV_LINK_UP, cfg->seed + 1, &local);
    }
    if (r->up == NULL) {
        g_set_error(error, SV_REPLAY_ERROR, SV_REPLAY_ERROR_BAD_INPUT, "%s", local->message);
        g_error_free(local);
        goto out;
    }
    if (cfg->labels_path != NULL || cfg->csv_path != NULL) {
        /* checked below */
    }
    r->metrics = sv_metrics_new(cfg->csv_path, error);
    if (r->metrics == NULL) {
        goto out;
    }
    if (cfg->labels_path != NULL && !sv_metrics_load_labels(r->metrics, cfg->labels_path, &local)) {
        g_set_error(error, SV_REPLAY_ERROR, SV_REPLAY_ERROR_BAD_INPUT, "%s", local->message);
        g_error_free(local);
        goto out;
    }
    r->reader = sv_trace_reader_new(cfg->trace_path, error);
    if (r->reader == NULL) {
        goto out;
    }

    read_next_event(r);
    while (r->error == NULL) {
        if (r->trace_done && r->dump != NULL) {
            /* nothing */
        }
        int64_t t = next_time(r);
        int64_t sent_t = next_sent_ns(r);
        if (sent_t != INT64_MAX && sent_t <= t) {
            /* Before this time's arrivals: the message is still valid. */
            deliver_sent(r, sent_t);
            continue;
        }
        if (t == INT64_MAX) {
            break;
        }
        if (r->trace_done && t > r->trace_end_ns + DRAIN_LIMIT_NS) {
            break;
        }
        if (r->dump == NULL && cfg->dump_frames_dir != NULL &&
            sv_display_get_primary(r->display) != NULL) {
            SvCanvas *primary = sv_display_get_primary(r->display);
            r->dump = sv_frame_dump_new(cfg->dump_frames_dir, cfg->dump_format,
                                        sv_canvas_get_width(primary), sv_canvas_get_height(primary),
                                        cfg->dump_fps, &local);
            if (r->dump == NULL) {
                g_set_error(error, SV_REPLAY_ERROR, SV_REPLAY_ERROR_BAD_INPUT, "%s",
                            local->message);
                g_error_free(local);
                goto out;
            }
            r->next_dump_ns = r->now;
        }
        step(r, t);
        check_isolate(r);
    }
    check_isolate(r);
    if (r->error != NULL) {
        g_propagate_error(error, r->error);
        r->error = NULL;
        goto out;
    }
    progress(r, TRUE);

    /* Frames still in flight at the end. */
    GHashTableIter it;
    gpointer value;
    GPtrArray *left = g_ptr_array_new();
    g_hash_table_iter_init(&it, r->frames);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        g_ptr_array_add(left, value);
    }
    for (guint i = 0; i < left->len; i++) {
        frame_finish(r, g_ptr_array_index(left, i), SV_FRAME_FATE_UNDELIVERED);
    }
    g_ptr_array_free(left, TRUE);

    double final_ssim = NAN;
    double final_psnr = screen_quality(sv_display_get_primary(r->display),
                                       sv_sim_client_get_screen(r->client), &final_ssim);

    SvSimClientStats cs;
    sv_sim_client_get_stats(r->client, &cs);
    int64_t wall = wall_now_ns() - r->wall_start_ns;
    take_worker_cpu(r);
    int64_t cpu_total = cpu_now_ns() - cpu_start + r->worker_cpu_ns;
    SvRunInfo info = {
        .trace = cfg->trace_path,
        .video_codecs = codecs != NULL ? codecs : "(spice default)",
        .client = cfg->client,
        .net = net_desc,
        .streaming = streaming_name(cfg->streaming),
        .latency_policy = sv_latency_policy_to_string(cfg->latency_policy),
        .deterministic = cfg->deterministic,
        .seed = cfg->seed,
        .trace_duration_ns = r->trace_end_ns,
        .replay_wall_ns = cfg->deterministic ? 0 : wall,
        /* Deterministic runs report the cost model's figures. */
        .cpu_total_ns = cfg->deterministic ? r->charged_total_ns : cpu_total,
        .cpu_encode_ns = cfg->deterministic ? r->charged_encode_ns : r->cpu_encode_ns,
        .cpu_decode_ns = cfg->deterministic ? r->charged_decode_ns : cs.decode_cpu_ns,
        .cpu_lz4_ns = cfg->deterministic ? r->charged_lz4_ns : r->cpu_lz4_ns,
        .guest_draws = r->guest_draws,
        .guest_draw_bytes = r->guest_draw_bytes,
        .final_psnr_y = final_psnr,
        .final_ssim_y = final_ssim,
        .start_bit_rate_test_bps = r->net_test_bps,
        .roundtrip_ns = r->min_rtt_ns,
        .mm_time_latency_ms = sv_display_get_mm_time_latency(r->display),
        .labels = cfg->labels_path,
    };
    if (!sv_metrics_finish(r->metrics, &info, error)) {
        goto out;
    }
    if (r->dump != NULL && !sv_frame_dump_close(r->dump, error)) {
        goto out;
    }
    if (cfg->json_path != NULL && !sv_metrics_write_json(r->metrics, cfg->json_path, error)) {
        goto out;
    }
    if (cfg->summary != NULL) {
        sv_metrics_print_summary(r->metrics, cfg->summary);
        if (r->disconnected) {
            fprintf(cfg->summary, "client disconnected: %s\n", r->disconnect_reason);
        }
    }
    if (summary != NULL) {
        SvMetricsSummary ms;
        sv_metrics_get_summary(r->metrics, &ms);
        memset(summary, 0, sizeof(*summary));
        summary->frames = ms.frames;
        summary->shown = ms.shown;
        summary->dropped_encoder = ms.dropped_encoder;
        summary->dropped_pipe = ms.dropped_pipe;
        summary->late = ms.late;
        summary->not_decoded = ms.not_decoded;
        summary->undelivered = ms.undelivered;
        summary->streams = ms.streams;
        summary->mean_bps = ms.mean_bps;
        summary->latency_p50_ms = ms.latency_p50_ms;
        summary->latency_p95_ms = ms.latency_p95_ms;
        summary->psnr_mean = ms.psnr_mean;
        summary->final_psnr = final_psnr;
        g_strlcpy(summary->codec, r->codec_name, sizeof(summary->codec));
    }
    ok = TRUE;

out:
    /* Notifications not delivered: their messages are freed below. */
    g_queue_clear_full(&r->sent_notes, g_free);
    if (r->ready != NULL) {
        sv_display_message_free(r->ready);
    }
    if (r->down != NULL) {
        int64_t a, s;
        gpointer p;
        while ((p = sv_link_receive(r->down, INT64_MAX, &a, &s)) != NULL) {
            free_packet(p);
        }
    }
    if (r->up != NULL) {
        int64_t a, s;
        gpointer p;
        while ((p = sv_link_receive(r->up, INT64_MAX, &a, &s)) != NULL) {
            free_packet(p);
        }
    }
    sv_frame_dump_free(r->dump);
    sv_link_free(r->down);
    sv_link_free(r->up);
    sv_metrics_free(r->metrics);
    if (r->display != NULL) {
        sv_display_free(r->display);
    }
    /* After the display: it destroyed the proxies, and their workers. */
    sv_isolate_free(r->isolate);
    sv_sim_client_free(r->client);
    sv_trace_reader_free(r->reader);
    sv_command_converter_free(r->converter);
    if (r->frames != NULL) {
        g_hash_table_destroy(r->frames);
    }
    g_free(r->streams);
    g_free(r->disconnect_reason);
    if (r->error != NULL) {
        g_error_free(r->error);
    }
    return ok;
}

#include "quality.h"

static double screen_quality(SvCanvas *a, SvCanvas *b, double *ssim)
{
    *ssim = NAN;
    if (a == NULL || b == NULL || sv_canvas_get_width(a) != sv_canvas_get_width(b) ||
        sv_canvas_get_height(a) != sv_canvas_get_height(b)) {
        return NAN;
    }
    uint32_t w = sv_canvas_get_width(a), h = sv_canvas_get_height(a);
    uint8_t *ya = g_malloc((size_t)w * h);
    uint8_t *yb = g_malloc((size_t)w * h);
    sv_quality_bgrx_to_y(sv_canvas_get_const_data(a), sv_canvas_get_stride(a), w, h, ya,
                         (int32_t)w);
    sv_quality_bgrx_to_y(sv_canvas_get_const_data(b), sv_canvas_get_stride(b), w, h, yb,
                         (int32_t)w);
    double psnr = sv_quality_psnr(ya, (int32_t)w, yb, (int32_t)w, w, h);
    *ssim = sv_quality_ssim(ya, (int32_t)w, yb, (int32_t)w, w, h);
    g_free(ya);
    g_free(yb);
    return psnr;
}
