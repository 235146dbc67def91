/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Stream agents (reference 6.1-6.7): one per stream and client. An agent
 * owns the client's encoder for the stream, the regions where the client
 * shows it, the report id, and answers the encoder's rate-control
 * callbacks (round trip, source fps, playback delay).
 */
#include "config.h"

#include <string.h>

#include "server-private.h"

/* SV_ENCODE_TIMEOUT_MS's upper bound. */
#define ENCODE_TIMEOUT_MAX_MS (24 * 3600 * 1000) /* 1 day */

static SvDisplayEvent event_init(SvDisplayEventType type, SvDisplayClient *client, int stream_id)
{
    return (SvDisplayEvent){.type = type, .client = client, .stream_id = stream_id};
}

/* The encoders' output timeout when the display's configuration leaves it at
 * 0 (the library's 1 s): SV_ENCODE_TIMEOUT_MS, read once, for runs that are
 * slow on purpose (the tests under valgrind, tests/valgrind-run.sh), where a
 * GStreamer encoder's first frame takes longer than 1 s. */
static int64_t default_encode_timeout_ns(void)
{
    static gsize once = 0;
    static int64_t timeout_ns = 0;
    if (g_once_init_enter(&once)) {
        const char *env = g_getenv("SV_ENCODE_TIMEOUT_MS");
        guint64 ms = 0;
        if (env != NULL &&
            g_ascii_string_to_unsigned(env, 10, 1, ENCODE_TIMEOUT_MAX_MS, &ms, NULL)) {
            timeout_ns = (int64_t)ms * 1000000;
        } else if (env != NULL) {
            g_message("SV_ENCODE_TIMEOUT_MS='%s' is not a number of milliseconds from 1 to %d; "
                      "ignoring it",
                      env, ENCODE_TIMEOUT_MAX_MS);
        }
        g_once_init_leave(&once, 1);
    }
    return timeout_ns;
}

/* ---- rate-control callbacks ------------------------------------------------------ */

static int64_t display_clock_now(void *opaque)
{
    return ((SvDisplay *)opaque)->now_ns;
}

static uint32_t agent_get_roundtrip_ms(void *opaque)
{
    SvAgent *agent = opaque;
    /* 6.4: the display channel's round trip is the minimum ping ever seen. */
    return agent->client && agent->client->have_rtt ? agent->client->min_rtt_ms : 0;
}

static uint32_t agent_get_source_fps(void *opaque)
{
    SvAgent *agent = opaque;
    SvStreamInfo info;
    if (agent->client && !agent->stopped &&
        sv_stream_detector_get_stream(agent->client->display->detector, agent->stream_id, &info)) {
        agent->last_source_fps = info.input_fps;
    }
    return agent->last_source_fps;
}

/* The client's required latency: the largest delay of its agents with an encoder. */
static uint32_t client_max_delay(SvDisplayClient *client, SvAgent **max_agent, SvAgent *skip)
{
    uint32_t max = 0;
    *max_agent = NULL;
    for (guint id = 0; id < client->display->max_streams; id++) {
        SvAgent *a = client->agents[id];
        if (a && a != skip && a->encoder && a->playback_delay_ms > max) {
            max = a->playback_delay_ms;
            *max_agent = a;
        }
    }
    return max;
}

static void queue_mm_time(SvDisplay *display, SvDisplayClient *client)
{
    SvPipeItem *item = sv_pipe_item_new(ITEM_MULTI_MEDIA_TIME, display->now_ns);
    item->value = display->mm_time_latency_ms;
    item->mm_time = sv_display_mm_time(display, display->now_ns) - display->mm_time_latency_ms;
    sv_pipe_push(client, item);
}

/* 6.5: the main thread's side of a playback-delay update. */
static void client_set_latency(SvDisplay *display, SvDisplayClient *client, uint32_t latency_ms)
{
    if (display->config.audio_active) {
        if (client->config.playback_latency_cap) {
            SvPipeItem *item = sv_pipe_item_new(ITEM_PLAYBACK_LATENCY, display->now_ns);
            item->value = latency_ms;
            sv_pipe_push(client, item);
        }
        return;
    }
    if (sv_latency_is_interactive(display)) {
        /* INTERACTIVE: latency.c sets the latency from the reports and
         * the path; the encoders' estimates are not used. */
        return;
    }
    /* SPICE policy: the latency only grows. */
    if (latency_ms <= display->mm_time_latency_ms) {
        return;
    }
    display->mm_time_latency_ms = latency_ms;
    SvDisplayEvent ev = event_init(SV_DISPLAY_EVENT_LATENCY_CHANGED, NULL, -1);
    ev.value = latency_ms;
    sv_display_emit(display, &ev);
    for (guint i = 0; i < display->clients->len; i++) {
        queue_mm_time(display, display->clients->pdata[i]);
    }
}

static void agent_update_playback_delay(void *opaque, uint32_t delay_ms)
{
    SvAgent *agent = opaque;
    SvDisplayClient *client = agent->client;
    if (client == NULL) {
        return;
    }
    SvDisplay *display = client->display;
    SvDisplayEvent ev = event_init(SV_DISPLAY_EVENT_PLAYBACK_DELAY, client, (int)agent->stream_id);
    ev.value = delay_ms;
    sv_display_emit(display, &ev);

    uint32_t max = client->max_playback_delay_ms;
    if (client->max_delay_agent == agent) {
        SvAgent *other = NULL;
        max = client_max_delay(client, &other, agent);
        client->max_delay_agent = other;
    }
    agent->playback_delay_ms = delay_ms;
    if (delay_ms > max) {
        max = delay_ms;
        client->max_delay_agent = agent;
    }
    client->max_playback_delay_ms = max;
    client_set_latency(display, client, max);
}

static void bitmap_ref(gpointer data)
{
    sv_drawable_ref(data);
}

static void bitmap_unref(gpointer data)
{
    sv_drawable_unref(data);
}

/* ---- agents ------------------------------------------------------------------------ */

/* 6.4: the starting bit rate, bit/s. */
static uint64_t starting_bit_rate(SvDisplay *display, SvDisplayClient *client, uint64_t stream_area,
                                  uint64_t streams_area)
{
    double rate;
    if (display->config.spice_bit_rate_mbps > 0) {
        rate = display->config.spice_bit_rate_mbps * 1024 * 1024;
    } else {
        rate = (double)MAX(client->max_stream_bit_rate, client->config.network_test_bps);
        if (rate == 0) {
            rate = client->config.low_bandwidth ? LOW_START_BIT_RATE : HIGH_START_BIT_RATE;
        }
    }
    if (streams_area == 0 || stream_area == 0) {
        streams_area = stream_area = 1;
    }
    return (uint64_t)(CHANNEL_CAPACITY * rate * (double)stream_area / (double)streams_area);
}

SvAgent *sv_agent_new(SvDisplay *display, SvDisplayClient *client, guint stream_id,
                      SvDrawable *current, uint64_t streams_area)
{
    SvStreamInfo info;
    gboolean active = sv_stream_detector_get_stream(display->detector, stream_id, &info);
    g_assert(active);
    SvAgent *agent = g_new0(SvAgent, 1);
    agent->refs = 1;
    agent->client = client;
    agent->stream_id = stream_id;
    agent->last_source_fps = info.input_fps;
    agent->lat_last_qdelay_ns = -1;
    agent->lat_last_backoff_ns = INT64_MIN;
    pixman_region32_init(&agent->vis_region);
    pixman_region32_init(&agent->clip);
    if (current) {
        pixman_region32_copy(&agent->vis_region, &current->region);
        pixman_region32_copy(&agent->clip, &current->region);
    }
    agent->starting_bit_rate =
        starting_bit_rate(display, client, (uint64_t)info.width * info.height, streams_area);

    VideoEncoderRateControlCbs cbs = {
        .opaque = agent,
        .get_roundtrip_ms = agent_get_roundtrip_ms,
        .get_source_fps = agent_get_source_fps,
        .update_client_playback_delay = agent_update_playback_delay,
    };
    SvEncoderConfig config = display->config.encoder;
    /* Under INTERACTIVE a frame's time on the link is latency: smaller
     * frames rather than fewer. */
    config.low_delay = config.low_delay || sv_latency_is_interactive(display);
    config.clock = (SvClock){.now_ns = display_clock_now, .opaque = display};
    if (config.encode_timeout_ns == 0) {
        config.encode_timeout_ns = default_encode_timeout_ns();
    }
    const SvVideoCodecs *codecs = client->codecs ? client->codecs : display->codecs;
    agent->encoder = sv_video_codecs_create_encoder(codecs, client->config.display_caps,
                                                    agent->starting_bit_rate, &cbs, bitmap_ref,
                                                    bitmap_unref, &config, &agent->negotiation);
    if (agent->encoder) {
        agent->codec_type = agent->encoder->codec_type;
        const SvEncoderDesc *desc = agent->negotiation ? agent->negotiation->chosen : NULL;
        agent->encoder_name = desc ? g_strdup_printf("%s:%s", desc->encoder_name, desc->codec_name)
                                   : g_strdup(sv_video_codec_type_to_string(agent->codec_type));
    }

    g_autofree char *text = agent->negotiation ? sv_negotiation_describe(agent->negotiation) : NULL;
    SvDisplayEvent ev = event_init(SV_DISPLAY_EVENT_AGENT_CREATED, client, (int)stream_id);
    ev.codec_type = agent->codec_type;
    ev.encoder_name = agent->encoder_name;
    ev.bit_rate = agent->starting_bit_rate;
    ev.width = info.width;
    ev.height = info.height;
    ev.dest = info.dest;
    ev.text = text;
    sv_display_emit(display, &ev);
    g_debug("%s: stream %u agent: %s at %" G_GUINT64_FORMAT " bit/s", client->name, stream_id,
            agent->encoder_name ? agent->encoder_name : "no encoder", agent->starting_bit_rate);

    /* 6.1 step 3: STREAM_CREATE with the guest's clip of the current frame. */
    SvPipeItem *item = sv_pipe_item_new(ITEM_STREAM_CREATE, display->now_ns);
    item->stream_id = (int)stream_id;
    sv_agent_ref(agent);
    item->agent = agent;
    item->codec_type = agent->codec_type;
    item->width = info.width;
    item->height = info.height;
    item->dest = info.dest;
    item->top_down = info.top_down;
    item->clip_type = SV_CLIP_RECTS;
    if (current && current->cmd.clip_type == SV_CLIP_RECTS) {
        item->n_rects = current->cmd.n_clip_rects;
        item->rects = g_memdup2(current->clip_rects, sizeof(SpiceRect) * item->n_rects);
    } else if (current) {
        item->clip_type = SV_CLIP_NONE;
    }
    sv_pipe_push(client, item);

    /* 6.1 step 4: reports are activated even without an encoder. */
    if (client->config.display_caps & SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT)) {
        agent->report_id = g_rand_int(display->rand);
        item = sv_pipe_item_new(ITEM_ACTIVATE_REPORT, display->now_ns);
        item->stream_id = (int)stream_id;
        item->unique_id = agent->report_id;
        sv_pipe_push(client, item);
    }
    return agent;
}

void sv_agent_ref(SvAgent *agent)
{
    agent->refs++;
}

void sv_agent_destroy_encoder(SvAgent *agent)
{
    if (agent->encoder) {
        VideoEncoder *encoder = agent->encoder;
        agent->encoder = NULL;
        encoder->destroy(encoder);
    }
}

void sv_agent_unref(SvAgent *agent)
{
    g_assert(agent->refs > 0);
    if (--agent->refs > 0) {
        return;
    }
    sv_agent_destroy_encoder(agent);
    sv_negotiation_free(agent->negotiation);
    pixman_region32_fini(&agent->vis_region);
    pixman_region32_fini(&agent->clip);
    g_free(agent->encoder_name);
    g_free(agent);
}

/* 5.13 Stop, for one client. The caller drops the client's reference. */
void sv_agent_stop(SvDisplay *display, SvAgent *agent)
{
    SvDisplayClient *client = agent->client;
    agent_get_source_fps(agent);
    agent->stopped = TRUE;
    pixman_region32_clear(&agent->vis_region);
    pixman_region32_clear(&agent->clip);
    if (agent->encoder) {
        uint64_t rate = agent->encoder->get_bit_rate(agent->encoder);
        /* 8 item 17: a high-water mark. */
        if (rate > client->max_stream_bit_rate) {
            client->max_stream_bit_rate = rate;
        }
    }
    if (client->max_delay_agent == agent) {
        SvAgent *other = NULL;
        client->max_playback_delay_ms = client_max_delay(client, &other, agent);
        client->max_delay_agent = other;
    }
    if (display->resetting) {
        sv_agent_destroy_encoder(agent);
        return;
    }
    /* The encoder goes when STREAM_DESTROY is marshalled. */
    SvPipeItem *item = sv_pipe_item_new(ITEM_STREAM_DESTROY, display->now_ns);
    item->stream_id = (int)agent->stream_id;
    sv_agent_ref(agent);
    item->agent = agent;
    sv_pipe_push(client, item);
}

static gboolean region_contains(pixman_region32_t *outer, pixman_region32_t *inner)
{
    pixman_region32_t tmp;
    pixman_region32_init(&tmp);
    pixman_region32_subtract(&tmp, inner, outer);
    gboolean r = !pixman_region32_not_empty(&tmp);
    pixman_region32_fini(&tmp);
    return r;
}

/* 5.13 Detach, steps 1-5, for one client. */
void sv_agent_detach(SvDisplay *display, SvAgent *agent, SvDrawable *current, gboolean upgrade)
{
    SvDisplayClient *client = agent->client;
    pixman_region32_clear(&agent->clip);
    if (!display->resetting) {
        sv_pipe_queue_clip(client, agent->stream_id, &agent->clip, display->now_ns);
    }
    if (!upgrade || !pixman_region32_not_empty(&agent->vis_region)) {
        pixman_region32_clear(&agent->vis_region);
        return;
    }
    if (current && region_contains(&current->region, &agent->vis_region)) {
        if (sv_pipe_find_drawable(client, current) == NULL) {
            /* An upgrade item: the frame again, losslessly, clipped to
             * what is visible of it. */
            SvPipeItem *item = sv_pipe_item_new(ITEM_UPGRADE, display->now_ns);
            item->stream_id = (int)agent->stream_id;
            sv_drawable_ref(current);
            item->drawable = current;
            item->clip_type = SV_CLIP_RECTS;
            int n = 0;
            pixman_box32_t *boxes = pixman_region32_rectangles(&current->region, &n);
            item->n_rects = (guint)n;
            item->rects = g_new(SpiceRect, MAX(n, 1));
            for (int i = 0; i < n; i++) {
                item->rects[i] = (SpiceRect){boxes[i].x1, boxes[i].y1, boxes[i].x2, boxes[i].y2};
            }
            sv_pipe_push(client, item);
            display->stats.upgrades++;
        }
    } else if (display->primary) {
        /* Upgrade by screenshot: the bounding box of what showed video. */
        sv_pipe_queue_image(display, client, display->primary,
                            pixman_region32_extents(&agent->vis_region), display->now_ns);
        display->stats.screenshots++;
    }
    pixman_region32_clear(&agent->vis_region);
}

/* ---- client messages ------------------------------------------------------------ */

gboolean sv_display_client_stream_report(SvDisplay *display, SvDisplayClient *client,
                                         int64_t now_ns, const SvStreamReport *report,
                                         GError **error)
{
    g_return_val_if_fail(display != NULL && client != NULL && report != NULL, FALSE);
    display->now_ns = now_ns;
    /* 6.7 step 1 (8 item 27): the whole channel goes. */
    if (report->stream_id >= MIN((guint)MAX_REPORT_STREAM_ID, display->max_streams)) {
        g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_DISCONNECT,
                    "%s: stream report for stream id %u (limit %u): disconnecting", client->name,
                    report->stream_id, MIN((guint)MAX_REPORT_STREAM_ID, display->max_streams));
        return FALSE;
    }
    SvAgent *agent = client->agents[report->stream_id];
    SvDisplayEvent ev = event_init(SV_DISPLAY_EVENT_REPORT, client, (int)report->stream_id);
    if (agent == NULL || agent->encoder == NULL) {
        ev.text = "ignored: no encoder";
    } else if (report->num_frames == 0 && report->num_drops == UINT32_MAX) {
        /* Step 3 (8 item 26): the unique id is not checked. */
        sv_agent_destroy_encoder(agent);
        SvDisplayEvent destroyed =
            event_init(SV_DISPLAY_EVENT_ENCODER_DESTROYED, client, (int)report->stream_id);
        destroyed.text = "the client cannot decode the stream";
        sv_display_emit(display, &destroyed);
        ev.text = "cannot decode: encoder destroyed, frames go as images";
    } else if (report->unique_id != agent->report_id) {
        ev.text = "ignored: stale unique id";
    } else {
        if (agent->encoder->client_stream_report) {
            agent->encoder->client_stream_report(agent->encoder, report->num_frames,
                                                 sv_latency_forwarded_drops(display, client, agent,
                                                                            report),
                                                 report->start_frame_mm_time,
                                                 report->end_frame_mm_time,
                                                 sv_latency_forwarded_delay(display, agent, report),
                                                 report->audio_delay);
        }
        agent->reports_forwarded++;
        ev.text = "forwarded to the encoder";
        sv_latency_report(display, client, agent, report);
    }
    if (g_str_has_prefix(ev.text, "ignored")) {
        g_debug("%s: stream report for stream %u %s", client->name, report->stream_id, ev.text);
    }
    sv_display_emit(display, &ev);
    return TRUE;
}

void sv_display_client_update_codecs(SvDisplay *display, SvDisplayClient *client)
{
    sv_video_codecs_free(client->codecs);
    client->codecs = NULL;
    if (client->pref_codecs) {
        client->codecs = sv_video_codecs_sort_for_client(display->codecs, client->pref_codecs,
                                                         client->n_pref_codecs, NULL);
    }
}

void sv_display_client_preferred_codecs(SvDisplay *display, SvDisplayClient *client, int64_t now_ns,
                                        const uint8_t *codecs, guint n_codecs)
{
    g_return_if_fail(display != NULL && client != NULL);
    if (n_codecs == 0 || codecs == NULL) {
        /* spice ignores an empty preference. */
        return;
    }
    g_free(client->pref_codecs);
    client->pref_codecs = g_memdup2(codecs, n_codecs);
    client->n_pref_codecs = n_codecs;
    sv_display_client_update_codecs(display, client);
    sv_display_stop_all_streams(display, now_ns);
}

void sv_display_client_ping(SvDisplay *display, SvDisplayClient *client, int64_t roundtrip_ns)
{
    g_return_if_fail(display != NULL && client != NULL);
    if (roundtrip_ns < 0) {
        return;
    }
    uint32_t ms = (uint32_t)MIN(roundtrip_ns / SV_NS_PER_MS, (int64_t)G_MAXUINT32);
    if (!client->have_rtt || ms < client->min_rtt_ms) {
        client->min_rtt_ms = ms;
        client->have_rtt = TRUE;
    }
    sv_latency_ping(display, client);
}

void sv_agent_notify_server_drop(SvAgent *agent)
{
    if (agent->encoder == NULL) {
        return;
    }
    if (agent->encoder->notify_server_frame_drop) {
        agent->encoder->notify_server_frame_drop(agent->encoder);
    }
    agent->server_drops++;
}

gboolean sv_display_client_get_agent(SvDisplay *display, SvDisplayClient *client, guint stream_id,
                                     SvAgentInfo *info)
{
    g_return_val_if_fail(display != NULL && client != NULL && info != NULL, FALSE);
    if (stream_id >= display->max_streams || client->agents[stream_id] == NULL) {
        *info = (SvAgentInfo){0};
        return FALSE;
    }
    SvAgent *agent = client->agents[stream_id];
    *info = (SvAgentInfo){
        .stream_id = stream_id,
        .has_encoder = agent->encoder != NULL,
        .codec_type = agent->codec_type,
        .encoder_name = agent->encoder ? agent->encoder_name : NULL,
        .starting_bit_rate = agent->starting_bit_rate,
        .report_id = agent->report_id,
        .playback_delay_ms = agent->playback_delay_ms,
        .frames_encoded = agent->frames_encoded,
        .frames_dropped_by_encoder = agent->frames_dropped_by_encoder,
        .server_drops = agent->server_drops,
        .frames_as_images = agent->frames_as_images,
        .reports_forwarded = agent->reports_forwarded,
    };
    if (agent->encoder) {
        info->bit_rate = agent->encoder->get_bit_rate(agent->encoder);
        agent->encoder->get_stats(agent->encoder, &info->stats);
    }
    return TRUE;
}

const SvNegotiation *sv_display_client_get_negotiation(SvDisplay *display, SvDisplayClient *client,
                                                       guint stream_id)
{
    g_return_val_if_fail(display != NULL && client != NULL, NULL);
    if (stream_id >= display->max_streams || client->agents[stream_id] == NULL) {
        return NULL;
    }
    return client->agents[stream_id]->negotiation;
}

VideoEncoder *sv_display_client_get_encoder_for_testing(SvDisplayClient *client, guint stream_id)
{
    if (stream_id >= client->display->max_streams || client->agents[stream_id] == NULL) {
        return NULL;
    }
    return client->agents[stream_id]->encoder;
}
