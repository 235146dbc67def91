/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Fuzz target for what clients send the display: a display with a 320x240
 * primary surface, one to three clients (capabilities, network test result
 * and low-bandwidth flag from the input) and a real stream, started by a
 * short video-like run of 128x96 copies 40 ms apart; the encoder is the
 * built-in MJPEG or the counting fake of tests/server/server-test-utils.h.
 * The rest of the input is a sequence of client messages and events:
 * stream reports with known or arbitrary stream and unique ids and values
 * (cannot-decode included), PREFERRED_VIDEO_CODEC_TYPE lists, pings,
 * clients connecting (with network test results) and leaving, audio
 * starting and stopping, more video frames (here or at a second place),
 * pops of the pipes with their sent notifications, and clock ticks.
 *
 * Checks after every step: a report is refused (disconnect) exactly when
 * its stream id is out of range; every client has an agent exactly for
 * each live stream; a starting bit rate is 0.8 x what the client is known
 * to sustain (network test, 10 or 2.5 Mibit/s, the highest rate one of its
 * encoders reached), split by stream area; an MJPEG agent's rate stays
 * above zero and at most its starting rate plus 8 x the bytes it produced;
 * MJPEG playback delays are at most 5 s. ASan/UBSan and the fake's live
 * count catch the rest. Linked with fuzz-main.c it replays
 * tests/fuzz/client-reports/ as a test.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <spice/qxl_dev.h>
#include <spice-video/spice-video.h>

#include "fuzz-common.h"
#include "server-private.h"
#include "server-test-utils.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MS INT64_C(1000000)
#define SW 320
#define SH 240
#define MAX_CLIENTS 3
#define MAX_STREAMS 64
#define MAX_OPS 64
#define MAX_PLAYBACK_DELAY_MS 5000
/* spice's starting bit rates (reference 6.4), bit/s. */
#define HIGH_START_BPS (10.0 * 1024 * 1024)
#define LOW_START_BPS (2.5 * 1024 * 1024)

typedef struct Client {
    SvDisplayClient *client;
    SvClientConfig config;
    char name[8];
    /* The highest bit rate one of its encoders was seen at. */
    uint64_t max_bit_rate;
    uint32_t unique_id[MAX_STREAMS];
    uint64_t bytes[MAX_STREAMS];
} Client;

typedef struct State {
    SvDisplay *display;
    gboolean mjpeg;
    guint max_streams;
    int64_t now;
    Client clients[MAX_CLIENTS];
    guint n_clients;
    guint n_named;
    TestImage frames[2];
    guint frame_no;
    double spice_bit_rate_mbps;
} State;

static Client *find_client(State *st, SvDisplayClient *client)
{
    for (guint i = 0; i < st->n_clients; i++) {
        if (st->clients[i].client == client) {
            return &st->clients[i];
        }
    }
    return NULL;
}

static void on_event(void *opaque, const SvDisplayEvent *event)
{
    State *st = opaque;
    Client *c = event->client ? find_client(st, event->client) : NULL;
    switch (event->type) {
    case SV_DISPLAY_EVENT_AGENT_CREATED:
        FUZZ_CHECK(event->stream_id >= 0 && (guint)event->stream_id < st->max_streams);
        if (c != NULL) {
            c->bytes[event->stream_id] = 0;
            c->unique_id[event->stream_id] = 0;
        }
        break;
    case SV_DISPLAY_EVENT_PLAYBACK_DELAY:
        if (st->mjpeg) {
            FUZZ_CHECK(event->value <= MAX_PLAYBACK_DELAY_MS);
        }
        break;
    default:
        break;
    }
}

/* Takes up to @max messages of client @c (all with 0), telling the display
 * they were sent when @sent says so. */
static void pop_client(State *st, Client *c, guint max, gboolean sent)
{
    SvMessage *m;
    for (guint n = 0; (max == 0 || n < max) &&
                      (m = sv_display_client_pop(st->display, c->client, st->now)) != NULL;
         n++) {
        FUZZ_CHECK(m->wire_bytes >= 6);
        if (m->type == SV_MSG_STREAM_ACTIVATE_REPORT) {
            FUZZ_CHECK(m->stream_id >= 0 && (guint)m->stream_id < st->max_streams);
            c->unique_id[m->stream_id] = m->unique_id;
        } else if (m->type == SV_MSG_STREAM_DATA) {
            FUZZ_CHECK(m->data != NULL && m->data_size > 0);
            FUZZ_CHECK(m->stream_id >= 0 && (guint)m->stream_id < st->max_streams);
            c->bytes[m->stream_id] += m->data_size;
        }
        if (sent) {
            sv_display_client_sent(st->display, c->client, m, st->now);
        }
        sv_display_message_free(m);
    }
}

static void pop_all(State *st, gboolean sent)
{
    for (guint i = 0; i < st->n_clients; i++) {
        pop_client(st, &st->clients[i], 0, sent);
    }
}

static void draw_frame(State *st, int32_t x, int32_t y)
{
    const TestImage *img = &st->frames[st->frame_no++ % 2];
    SvDrawCommand cmd = {
        .type = QXL_DRAW_COPY,
        .bbox = {x, y, x + (int32_t)img->image.width, y + (int32_t)img->image.height},
        .effect = QXL_EFFECT_OPAQUE,
        .surfaces_dest = {-1, -1, -1},
        .src = &img->image,
        .src_area = {0, 0, (int32_t)img->image.width, (int32_t)img->image.height},
        .rop_descriptor = SPICE_ROPD_OP_PUT};
    g_autoptr(GError) error = NULL;
    if (sv_display_next_timeout_ns(st->display) <= st->now) {
        sv_display_tick(st->display, st->now);
    }
    sv_display_begin_pass(st->display);
    FUZZ_CHECK(sv_display_draw(st->display, st->now, &cmd, NULL, &error));
}

static void add_client(State *st, FuzzInput *in)
{
    if (st->n_clients == MAX_CLIENTS) {
        return;
    }
    Client *c = &st->clients[st->n_clients];
    memset(c, 0, sizeof(*c));
    g_snprintf(c->name, sizeof(c->name), "c%u", st->n_named++);
    uint8_t caps = fuzz_u8(in);
    uint8_t net = fuzz_u8(in);
    /* Mostly spice-gtk's capabilities, sometimes fewer. */
    c->config.display_caps =
        SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT) | SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) |
        SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG) | SV_CAP(SPICE_DISPLAY_CAP_SIZED_STREAM);
    if (caps & 0x80) {
        c->config.display_caps ^= (uint32_t)(caps & 0x0f) << SPICE_DISPLAY_CAP_MULTI_CODEC;
        c->config.display_caps ^= (uint32_t)((caps >> 4) & 1) << SPICE_DISPLAY_CAP_STREAM_REPORT;
        c->config.display_caps ^= (uint32_t)((caps >> 5) & 1) << SPICE_DISPLAY_CAP_SIZED_STREAM;
    }
    /* The main channel's network test: none, or 1 kbit/s .. ~1.6 Gbit/s. */
    c->config.network_test_bps = (net & 1) ? (uint64_t)(net >> 1) * (net >> 1) * 100000 + 1000 : 0;
    c->config.low_bandwidth = (net & 2) != 0;
    c->config.playback_latency_cap = (caps & 0x40) != 0;
    c->config.name = c->name;
    g_autoptr(GError) error = NULL;
    c->client = sv_display_add_client(st->display, st->now, &c->config, &error);
    FUZZ_CHECK(c->client != NULL && error == NULL);
    st->n_clients++;
}

static void remove_client(State *st, guint i)
{
    sv_display_remove_client(st->display, st->clients[i].client);
    memmove(&st->clients[i], &st->clients[i + 1], sizeof(Client) * (st->n_clients - i - 1));
    st->n_clients--;
}

/* The invariants that hold between any two steps. */
static void check(State *st)
{
    SvStreamDetector *det = sv_display_get_detector(st->display);
    guint live = 0;
    for (guint id = 0; id < st->max_streams; id++) {
        SvStreamInfo info;
        gboolean active = sv_stream_detector_get_stream(det, id, &info);
        live += active;
        for (guint i = 0; i < st->n_clients; i++) {
            Client *c = &st->clients[i];
            SvAgentInfo ai;
            gboolean has = sv_display_client_get_agent(st->display, c->client, id, &ai);
            FUZZ_CHECK(has == active);
            if (!has) {
                continue;
            }
            /* 6.4: 0.8 x the client's rate (its network test, the highest
             * rate one of its stopped encoders reached, else the default),
             * shared by stream area: at most 0.8 x the largest of them. */
            double rate = st->spice_bit_rate_mbps > 0
                              ? st->spice_bit_rate_mbps * 1024 * 1024
                              : MAX((double)MAX(c->max_bit_rate, c->config.network_test_bps),
                                    c->config.low_bandwidth ? LOW_START_BPS : HIGH_START_BPS);
            FUZZ_CHECK((double)ai.starting_bit_rate <= 0.8 * rate + 1);
            if (ai.has_encoder) {
                FUZZ_CHECK(ai.stats.starting_bit_rate == ai.starting_bit_rate || !st->mjpeg);
                if (st->mjpeg) {
                    FUZZ_CHECK(ai.starting_bit_rate < 8 || ai.bit_rate > 0);
                    FUZZ_CHECK(ai.bit_rate <= ai.starting_bit_rate + 8 * c->bytes[id] + 8);
                    FUZZ_CHECK(ai.playback_delay_ms <= MAX_PLAYBACK_DELAY_MS);
                }
                c->max_bit_rate = MAX(c->max_bit_rate, ai.bit_rate);
            }
        }
    }
    FUZZ_CHECK(live == sv_stream_detector_get_n_streams(det));
}

static void report(State *st, FuzzInput *in)
{
    if (st->n_clients == 0) {
        return;
    }
    uint8_t how = fuzz_u8(in);
    guint ci = (how & 3) % st->n_clients;
    Client *c = &st->clients[ci];
    SvStreamReport r = {0};
    /* A stream id that exists, a small one, or any. */
    switch ((how >> 2) & 3) {
    case 0:
    case 1:
        r.stream_id = fuzz_u8(in) % MIN(st->max_streams, 4u);
        break;
    case 2:
        r.stream_id = fuzz_u8(in);
        break;
    default:
        r.stream_id = fuzz_u32(in);
        break;
    }
    /* The unique id the client was given, or another. */
    r.unique_id =
        (how & 0x10) || r.stream_id >= MAX_STREAMS ? fuzz_u32(in) : c->unique_id[r.stream_id];
    uint32_t mm = sv_display_mm_time(st->display, st->now);
    r.start_frame_mm_time = mm - fuzz_u16(in);
    r.end_frame_mm_time = mm - fuzz_u16(in);
    r.num_frames = fuzz_u8(in);
    r.num_drops = fuzz_u8(in);
    r.last_frame_delay = (int16_t)fuzz_u16(in) * ((how & 0x20) ? 1000 : 1);
    r.audio_delay = (how & 0x40) ? fuzz_u16(in) : UINT32_MAX;
    if ((how & 0x80) && !(how & 0x40)) {
        r.num_frames = 0;
        r.num_drops = UINT32_MAX; /* cannot decode */
    }

    g_autoptr(GError) error = NULL;
    gboolean ok = sv_display_client_stream_report(st->display, c->client, st->now, &r, &error);
    gboolean in_range = r.stream_id < MIN(50u, st->max_streams);
    FUZZ_CHECK(ok == in_range);
    if (!ok) {
        FUZZ_CHECK(g_error_matches(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_DISCONNECT));
        /* The caller's part of a disconnect. */
        remove_client(st, ci);
    } else {
        FUZZ_CHECK(error == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init_logs();
    FuzzInput in = fuzz_input(data, size);
    State st = {.now = 1000 * MS};

    uint8_t setup = fuzz_u8(&in);
    uint8_t tuning = fuzz_u8(&in);
    SvDisplayConfig config;
    sv_display_config_init(&config);
    config.video_codecs = "spice:mjpeg";
    config.random_seed = fuzz_u8(&in);
    config.detector.mode = (setup & 1) ? SV_STREAMING_MODE_ALL : SV_STREAMING_MODE_FILTER;
    config.detector.frames_start_condition = 2 + tuning % 19;
    config.detector.max_streams = 1 + (tuning >> 5) * 9; /* 1 .. 64 */
    config.latency_policy = (setup & 2) ? SV_LATENCY_POLICY_INTERACTIVE : SV_LATENCY_POLICY_SPICE;
    config.audio_active = (setup & 4) != 0;
    config.report_superseded_drops = (setup & 8) != 0;
    config.interactive_skip_busy_link = (setup & 0x10) != 0;
    config.spice_bit_rate_mbps = (setup & 0x20) ? 1 + (tuning & 7) : 0;
    st.spice_bit_rate_mbps = config.spice_bit_rate_mbps;
    st.mjpeg = (setup & 0x40) == 0;
    st.max_streams = config.detector.max_streams;
    FUZZ_CHECK(st.max_streams <= MAX_STREAMS);

    g_autoptr(GError) error = NULL;
    st.display = sv_display_new(&config, &error);
    FUZZ_CHECK(st.display != NULL);
    sv_display_set_event_func(st.display, on_event, &st);
    if (!st.mjpeg) {
        g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
        sv_video_codecs_append(codecs, &fake_mjpeg);
        sv_display_set_codecs_for_testing(st.display, codecs);
    }
    FUZZ_CHECK(sv_display_create_surface(st.display, st.now, 0, SW, SH, SPICE_SURFACE_FMT_32_xRGB,
                                         TRUE, NULL, 0, &error));
    test_image_init(&st.frames[0], 128, 96, 1);
    test_image_init(&st.frames[1], 128, 96, 9);

    guint n_clients = 1 + fuzz_u8(&in) % MAX_CLIENTS;
    for (guint i = 0; i < n_clients; i++) {
        add_client(&st, &in);
    }
    /* The video that makes the stream. */
    for (guint i = 0; i <= config.detector.frames_start_condition; i++) {
        st.now += 40 * MS;
        draw_frame(&st, 32, 32);
        pop_all(&st, TRUE);
    }
    check(&st);

    for (guint op = 0; op < MAX_OPS && !fuzz_done(&in); op++) {
        uint8_t kind = fuzz_u8(&in);
        Client *c = st.n_clients > 0 ? &st.clients[(kind >> 4) % st.n_clients] : NULL;
        switch (kind % 12) {
        case 0:
        case 1:
        case 2:
            report(&st, &in);
            break;
        case 3:
            if (c != NULL) {
                uint8_t codecs[8];
                guint n = fuzz_u8(&in) % (sizeof(codecs) + 1);
                fuzz_bytes(&in, codecs, n);
                for (guint i = 0; i < n; i++) {
                    codecs[i] = codecs[i] < 0x80 ? codecs[i] % 7 : codecs[i];
                }
                sv_display_client_preferred_codecs(st.display, c->client, st.now,
                                                   n > 0 ? codecs : NULL, n);
            }
            break;
        case 4:
            if (c != NULL) {
                uint16_t v = fuzz_u16(&in);
                int64_t rtt = (v & 1) ? -(int64_t)v : (int64_t)(v >> 1) * MS / 4;
                sv_display_client_ping(st.display, c->client, rtt);
            }
            break;
        case 5:
            st.now += (int64_t)fuzz_u16(&in) * MS / 8;
            if (sv_display_next_timeout_ns(st.display) <= st.now) {
                sv_display_tick(st.display, st.now);
            }
            break;
        case 6:
        case 7: {
            uint8_t n = 1 + fuzz_u8(&in) % 4;
            gboolean second = (kind & 0x10) != 0;
            for (guint i = 0; i < n; i++) {
                st.now += 40 * MS;
                draw_frame(&st, second ? 180 : 32, second ? 130 : 32);
            }
            if (kind & 0x20) {
                pop_all(&st, (kind & 0x40) != 0);
            }
            break;
        }
        case 8:
            if (c != NULL) {
                pop_client(&st, c, 1 + fuzz_u8(&in) % 4, (kind & 0x10) != 0);
            }
            break;
        case 9:
            add_client(&st, &in);
            break;
        case 10:
            if (c != NULL) {
                remove_client(&st, (guint)(c - st.clients));
            }
            break;
        default:
            sv_display_set_audio_active(st.display, st.now, (kind & 0x10) != 0);
            break;
        }
        check(&st);
    }

    sv_display_free(st.display);
    test_image_clear(&st.frames[0]);
    test_image_clear(&st.frames[1]);
    FUZZ_CHECK(fake_live == 0);
    fakes_reset();
    return 0;
}
