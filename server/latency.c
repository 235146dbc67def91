/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The INTERACTIVE latency policy (docs/latency.md): the mm_time latency
 * follows what the path needs, lowered as well as raised, using only
 * messages a stock spice-gtk understands (MULTI_MEDIA_TIME, stream
 * reports); queueing delay measured through sv_display_client_sent() makes
 * the encoders back off before frames are late. Latest-frame-wins lives in
 * display.c (frame_supersedes), the busy-link skip in pipe.c; both ask here.
 * Under the SPICE policy every entry point returns at once.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "server-private.h"

/* A latency change smaller than this sends no MULTI_MEDIA_TIME. */
#define HYSTERESIS_MS 5
/* spice-gtk resets its clock on a forward jump above 500 ms
 * (MM_TIME_DIFF_RESET_THRESH); lowering the latency is a forward jump. */
#define MAX_LOWER_STEP_MS 400
/* Lowering looks at the delays the reports of this window show… */
#define LOWER_WINDOW_MS 1000
/* …and needs at least this many reports in it: one, so that a stream
 * lowers the latency after its first 5 frames (short clips benefit too). */
#define LOWER_MIN_REPORTS 1
/* At most one lowering step per this (after any change). */
#define LOWER_INTERVAL_MS 500
/* No lowering for this long after a raise for a late frame. */
#define LATE_HOLD_MS 2000
/* The latency never goes above this (spice's min_delay bound, 3.10). */
#define MAX_LATENCY_MS 5000
/* Queueing-delay back-off: the target is max(one frame interval, this)… */
#define BACKOFF_MIN_TARGET_MS 10
/* …and an agent's encoder hears of it at most once per this. */
#define BACKOFF_INTERVAL_MS 200
/* Link share: at most one back-off per this (each one also costs a frame)… */
#define LINK_SHARE_INTERVAL_MS 1000
/* …while the budget held a message this recently (the link is the
 * bottleneck)… */
#define LINK_BUSY_MS 1000
/* …to encoders whose frames, averaged over about FRAME_SIZE_FRAMES, are
 * sized for at most FRAME_SIZE_SLACK × their aim at the source frame rate… */
#define FRAME_SIZE_FRAMES 8
#define FRAME_SIZE_SLACK 2
/* A frame not reported sent after this long no longer blocks the next one. */
#define LINK_SKIP_MAX_MS 1000
/* Link budget: a delivery-rate sample covers at least this many bytes (the
 * times of tiny messages say little)… */
#define RATE_SAMPLE_MIN_BYTES 1000
/* …and a message not reported sent after max(this, STALE_DRAIN_FACTOR ×
 * its expected time on the link) means the caller does not report every
 * message: the budget is then off for that client. */
#define STALE_MIN_MS 2000
#define STALE_DRAIN_FACTOR 8
/* The encode time that the floor covers: this percentile of the last
 * SV_LATENCY_ENCODES frames. */
#define ENCODE_PERCENTILE 95

#define MS SV_NS_PER_MS

gboolean sv_latency_is_interactive(const SvDisplay *display)
{
    return display->config.latency_policy == SV_LATENCY_POLICY_INTERACTIVE;
}

gboolean sv_latency_owns_clock(const SvDisplay *display)
{
    return sv_latency_is_interactive(display) && !display->config.audio_active;
}

void sv_latency_init(SvDisplay *display)
{
    display->lat = (SvLatencyState){
        .last_change_ns = INT64_MIN,
        .last_late_ns = INT64_MIN,
    };
}

static void clock_add(SvDisplay *display, SvDisplayClient *client, uint32_t latency_ms,
                      uint32_t mm_time, int64_t value_ns)
{
    client->clock_last = (client->clock_last + 1) % SV_LATENCY_CLOCKS;
    client->clocks[client->clock_last] = (SvLatencyClock){
        .id = ++client->clock_next_id,
        .latency_ms = latency_ms,
        .mm_time = mm_time,
        .value_ns = value_ns,
        .link_ns = MAX(display->now_ns - value_ns, 0),
        .known = !display->config.audio_active,
    };
}

void sv_latency_client_added(SvDisplay *display, SvDisplayClient *client)
{
    client->last_hold_ns = INT64_MIN;
    /* The caller's MAIN_INIT gives the client the current latency. */
    clock_add(display, client, display->mm_time_latency_ms,
              sv_display_mm_time(display, display->now_ns) - display->mm_time_latency_ms,
              display->now_ns);
}

static const SvLatencyClock *clock_find(const SvDisplayClient *client, uint32_t id)
{
    for (guint k = 0; k < SV_LATENCY_CLOCKS; k++) {
        const SvLatencyClock *c = &client->clocks[k];
        if (c->id == id && id != 0) {
            return c;
        }
    }
    return NULL;
}

static int64_t half_rtt_ms(const SvDisplayClient *client)
{
    return client->have_rtt ? client->min_rtt_ms / 2 : 0;
}

/* How far @clock lags the server clock, ms: its latency, its wait before
 * leaving, and the one-way delay (half the round trip). */
static int64_t clock_lag_ms(const SvDisplayClient *client, const SvLatencyClock *clock)
{
    return (int64_t)clock->latency_ms + clock->link_ns / SV_NS_PER_MS + half_rtt_ms(client);
}

/* ---- the latency --------------------------------------------------------------------- */

static int cmp_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static uint32_t encode_p95_ms(const SvDisplay *display)
{
    const SvLatencyState *lat = &display->lat;
    if (lat->n_encodes == 0) {
        return 0;
    }
    int64_t sorted[SV_LATENCY_ENCODES];
    memcpy(sorted, lat->encode_ns, sizeof(int64_t) * lat->n_encodes);
    qsort(sorted, lat->n_encodes, sizeof(int64_t), cmp_int64);
    guint index = (lat->n_encodes * ENCODE_PERCENTILE + 99) / 100;
    int64_t ns = sorted[MAX(index, 1) - 1];
    return (uint32_t)((ns + MS - 1) / MS);
}

/* What the path needs at least, as a lag of the client clock behind the
 * server's: round trip / 2 (the largest over the clients) + encode time
 * p95 + the jitter margin, and the configured floor. */
static int64_t path_floor_ms(const SvDisplay *display)
{
    int64_t half_rtt = 0;
    for (guint i = 0; i < display->clients->len; i++) {
        half_rtt = MAX(half_rtt, half_rtt_ms(display->clients->pdata[i]));
    }
    int64_t floor = half_rtt + encode_p95_ms(display) + display->config.jitter_margin_ms;
    return MIN(MAX(floor, (int64_t)display->config.interactive_floor_ms), MAX_LATENCY_MS);
}

/* The largest lag of the clients' clocks now, and the largest one-way delay. */
static int64_t current_lag_ms(const SvDisplay *display, int64_t *half_rtt_out)
{
    int64_t lag = 0, half_rtt = 0;
    for (guint i = 0; i < display->clients->len; i++) {
        const SvDisplayClient *client = display->clients->pdata[i];
        const SvLatencyClock *c = &client->clocks[client->clock_last];
        if (c->known) {
            lag = MAX(lag, clock_lag_ms(client, c));
        }
        half_rtt = MAX(half_rtt, half_rtt_ms(client));
    }
    *half_rtt_out = half_rtt;
    return lag;
}

/* Queues MULTI_MEDIA_TIME at the head of @client's pipe, replacing one
 * still waiting there: in spice it travels on the main channel, which does
 * not wait behind the display channel's frames, and a clock message that
 * waited would add its wait to the client's latency. */
static void queue_mm_time_first(SvDisplay *display, SvDisplayClient *client, uint32_t latency_ms)
{
    GList *next;
    for (GList *l = client->pipe.head; l != NULL; l = next) {
        next = l->next;
        SvPipeItem *old = l->data;
        if (old->type == ITEM_MULTI_MEDIA_TIME) {
            sv_pipe_remove(client, old);
        }
    }
    SvPipeItem *item = sv_pipe_item_new(ITEM_MULTI_MEDIA_TIME, display->now_ns);
    item->value = latency_ms;
    item->mm_time = sv_display_mm_time(display, display->now_ns) - latency_ms;
    g_queue_push_head_link(&client->pipe, &item->link);
}

/* Adopts @latency_ms and tells every client (MULTI_MEDIA_TIME, time =
 * server mm_time − latency, as spice's reds_set_mm_time_latency()). */
static void set_latency(SvDisplay *display, uint32_t latency_ms, const char *why)
{
    g_debug("interactive latency: %u -> %u ms (%s)", display->mm_time_latency_ms, latency_ms, why);
    display->mm_time_latency_ms = latency_ms;
    display->lat.last_change_ns = display->now_ns;
    SvDisplayEvent ev = {.type = SV_DISPLAY_EVENT_LATENCY_CHANGED,
                         .stream_id = -1,
                         .value = latency_ms,
                         .text = why};
    sv_display_emit(display, &ev);
    for (guint i = 0; i < display->clients->len; i++) {
        queue_mm_time_first(display, display->clients->pdata[i], latency_ms);
    }
}

static int64_t link_drain_ns(const SvDisplay *display, const SvDisplayClient *client);

/* How long a clock message queued now waits before it leaves, ms: what is
 * already on the link has to drain first (the message goes ahead of
 * everything in the pipe). The smallest over the clients, so that none of
 * them lags less than asked; 0 while the link budget does not track the
 * link. */
static int64_t clock_wait_ms(const SvDisplay *display)
{
    int64_t wait = INT64_MAX;
    for (guint i = 0; i < display->clients->len; i++) {
        wait = MIN(wait, link_drain_ns(display, display->clients->pdata[i]) / MS);
    }
    return wait == INT64_MAX ? 0 : wait;
}

/* Sets the clients' clocks to lag by @lag_ms: the latency sent is the lag
 * minus the one-way delay (the message's own transit) and minus the time
 * the message waits for the link to drain, since the client's clock starts
 * from the message's value when it arrives. A lowering moves the clocks
 * forward by at most MAX_LOWER_STEP_MS (spice-gtk resets its clock above
 * 500 ms). */
static void set_lag(SvDisplay *display, int64_t lag_ms, gboolean lower, const char *why)
{
    int64_t half_rtt = 0;
    int64_t current = current_lag_ms(display, &half_rtt);
    int64_t wait = clock_wait_ms(display);
    int64_t latency = lag_ms - half_rtt - wait;
    if (lower) {
        latency = MAX(latency, current - MAX_LOWER_STEP_MS - half_rtt - wait);
    }
    latency = CLAMP(latency, 0, MAX_LATENCY_MS);
    set_latency(display, (uint32_t)latency, why);
}

/* Raises the clocks' lag to the path floor if it is below it. */
static gboolean apply_floor(SvDisplay *display)
{
    int64_t half_rtt = 0;
    int64_t floor = path_floor_ms(display);
    int64_t lag = current_lag_ms(display, &half_rtt);
    if (floor > lag + HYSTERESIS_MS && (int64_t)display->mm_time_latency_ms < floor - half_rtt) {
        set_lag(display, floor, FALSE, "raised to the path floor");
        return TRUE;
    }
    return FALSE;
}

static SvLatencyFrame *find_frame_by_stamp(SvAgent *agent, uint32_t stamp)
{
    for (guint k = 0; k < SV_LATENCY_FRAMES; k++) {
        SvLatencyFrame *f =
            &agent->lat_frames[(agent->lat_next + SV_LATENCY_FRAMES - 1 - k) % SV_LATENCY_FRAMES];
        if (f->used && f->stamp == stamp) {
            return f;
        }
    }
    return NULL;
}

static SvLatencyFrame *find_frame_by_seq(SvAgent *agent, uint64_t seq)
{
    for (guint k = 0; k < SV_LATENCY_FRAMES; k++) {
        SvLatencyFrame *f =
            &agent->lat_frames[(agent->lat_next + SV_LATENCY_FRAMES - 1 - k) % SV_LATENCY_FRAMES];
        if (f->used && f->seq == seq) {
            return f;
        }
    }
    return NULL;
}

static void add_sample(SvLatencyState *lat, int64_t now_ns, uint32_t delay_ms)
{
    lat->samples[lat->next_sample] = (SvLatencySample){.time_ns = now_ns, .delay_ms = delay_ms};
    lat->next_sample = (lat->next_sample + 1) % SV_LATENCY_SAMPLES;
    lat->n_samples = MIN(lat->n_samples + 1, SV_LATENCY_SAMPLES);
}

int32_t sv_latency_forwarded_delay(SvDisplay *display, SvAgent *agent, const SvStreamReport *report)
{
    if (!sv_latency_owns_clock(display)) {
        return report->last_frame_delay;
    }
    SvLatencyFrame *f = find_frame_by_stamp(agent, report->end_frame_mm_time);
    const SvLatencyClock *clock = f ? clock_find(agent->client, f->clock_id) : NULL;
    if (clock == NULL || !clock->known) {
        return report->last_frame_delay;
    }
    /* spice's rate controllers judge a margin against the largest they
     * have seen and against the previous one, assuming a fixed latency:
     * give them the margin the frame would have had under the starting
     * latency (400 ms), so that moving the clock is not taken for
     * congestion. */
    int64_t delay = (int64_t)report->last_frame_delay +
                    (int64_t)display->config.mm_time_latency_ms - (int64_t)f->clock_latency;
    return (int32_t)CLAMP(delay, G_MININT32, G_MAXINT32);
}

uint32_t sv_latency_forwarded_drops(SvDisplay *display, SvDisplayClient *client, SvAgent *agent,
                                    const SvStreamReport *report)
{
    if (!sv_latency_owns_clock(display) || report->num_drops == 0) {
        return report->num_drops;
    }
    /* As for the margin: the encoder judges drops against a fixed
     * latency. When every frame of the window left the link early enough
     * to arrive, with the jitter margin, within the starting latency, the
     * frames the client dropped were late only because the clock lags less
     * than that, which the clock rules answer with a raise: not
     * congestion. */
    int64_t limit = (int64_t)display->config.mm_time_latency_ms - display->config.jitter_margin_ms;
    guint found = 0;
    for (guint k = 0; k < SV_LATENCY_FRAMES; k++) {
        const SvLatencyFrame *f = &agent->lat_frames[k];
        if (!f->used || (int32_t)(f->stamp - report->start_frame_mm_time) < 0 ||
            (int32_t)(report->end_frame_mm_time - f->stamp) < 0) {
            continue;
        }
        if (f->sent_ns == 0) {
            return report->num_drops;
        }
        int32_t waited = (int32_t)(sv_display_mm_time(display, f->sent_ns) - f->stamp);
        if ((int64_t)waited + half_rtt_ms(client) > limit) {
            return report->num_drops;
        }
        found++;
    }
    return found > 0 ? 0 : report->num_drops;
}

void sv_latency_report(SvDisplay *display, SvDisplayClient *client, SvAgent *agent,
                       const SvStreamReport *report)
{
    if (!sv_latency_owns_clock(display)) {
        return;
    }
    SvLatencyState *lat = &display->lat;
    int64_t now = display->now_ns;
    /* The clock the client had when the report's last frame arrived: the
     * one the frame was taken under (the link is in order). */
    SvLatencyFrame *f = find_frame_by_stamp(agent, report->end_frame_mm_time);
    const SvLatencyClock *clock = f ? clock_find(client, f->clock_id) : NULL;
    if (clock == NULL || !clock->known) {
        return;
    }
    /* margin = lag − delay: the frame's delay from its stamp to its
     * arrival. When an earlier frame of the window was late by an unknown
     * amount, the lag then was not enough: count it as the delay. */
    int64_t margin = report->last_frame_delay;
    int64_t lag = clock_lag_ms(client, clock);
    gboolean late = margin < 0 || report->num_drops > 0;
    int64_t delay = CLAMP(lag - (late ? MIN(margin, 0) : margin), 0, MAX_LATENCY_MS);
    add_sample(lat, now, (uint32_t)delay);

    int64_t half_rtt = 0;
    int64_t current = current_lag_ms(display, &half_rtt);
    int64_t floor = path_floor_ms(display);
    int64_t jitter = display->config.jitter_margin_ms;
    if (late) {
        /* Raise at once by the deficit plus the margin (a backward jump of
         * the client clock: spice-gtk resyncs, frames wait longer). */
        int64_t target = MIN(MAX(delay + jitter, floor), MAX_LATENCY_MS);
        if (target > current + HYSTERESIS_MS &&
            target - half_rtt > (int64_t)display->mm_time_latency_ms + HYSTERESIS_MS) {
            lat->raises++;
            lat->last_late_ns = now;
            set_lag(display, target, FALSE, "raised: a frame arrived late");
        }
        return;
    }
    if (apply_floor(display)) {
        return;
    }
    /* Lower toward the largest delay of the last window plus the margin,
     * once per window, not right after lateness, by at most 400 ms. */
    if (lat->last_change_ns != INT64_MIN && now - lat->last_change_ns < LOWER_INTERVAL_MS * MS) {
        return;
    }
    if (lat->last_late_ns != INT64_MIN && now - lat->last_late_ns < LATE_HOLD_MS * MS) {
        return;
    }
    int64_t max_delay = 0;
    guint n = 0;
    for (guint k = 0; k < lat->n_samples; k++) {
        const SvLatencySample *s = &lat->samples[k];
        if (now - s->time_ns <= LOWER_WINDOW_MS * MS) {
            max_delay = MAX(max_delay, s->delay_ms);
            n++;
        }
    }
    if (n < LOWER_MIN_REPORTS) {
        return;
    }
    int64_t target = MIN(MAX(max_delay + jitter, floor), MAX_LATENCY_MS);
    if (target + HYSTERESIS_MS < current) {
        lat->lowerings++;
        set_lag(display, target, TRUE, "lowered: the reports show margin to spare");
    }
}

void sv_latency_ping(SvDisplay *display, SvDisplayClient *client)
{
    if (sv_latency_owns_clock(display)) {
        apply_floor(display);
    }
}

void sv_latency_audio_changed(SvDisplay *display, gboolean active)
{
    if (!sv_latency_is_interactive(display)) {
        return;
    }
    SvLatencyState *lat = &display->lat;
    /* The clients' clocks follow audio while it plays: what was measured
     * against them says nothing about the mm_time latency. */
    lat->n_samples = lat->next_sample = 0;
    lat->last_late_ns = INT64_MIN;
    for (guint i = 0; i < display->clients->len; i++) {
        SvDisplayClient *client = display->clients->pdata[i];
        for (guint k = 0; k < SV_LATENCY_CLOCKS; k++) {
            client->clocks[k].known = FALSE;
        }
    }
    if (!active) {
        /* As spice: mm_time comes back with the starting latency; the
         * reports lower it again. */
        set_latency(display, display->config.mm_time_latency_ms, "audio stopped");
    }
}

/* ---- link budget ------------------------------------------------------------------- */

static gboolean link_budget_on(const SvDisplay *display, const SvDisplayClient *client)
{
    return sv_latency_is_interactive(display) && display->config.interactive_link_budget_ms > 0 &&
           client->lat_sent_seen && !client->link_budget_off;
}

static void on_link_drop_head(SvDisplayClient *client)
{
    SvLatencyOnLink *head = &client->on_link[client->on_link_head];
    client->on_link_bytes -= MIN(head->bytes, client->on_link_bytes);
    client->on_link_head = (client->on_link_head + 1) % SV_LATENCY_ON_LINK;
    client->on_link_len--;
}

static void on_link_add(SvDisplayClient *client, const SvMessage *message, int64_t now_ns)
{
    if (client->on_link_len == SV_LATENCY_ON_LINK) {
        on_link_drop_head(client); /* counted as gone: never blocks for good */
    }
    guint tail = (client->on_link_head + client->on_link_len) % SV_LATENCY_ON_LINK;
    client->on_link[tail] = (SvLatencyOnLink){message, message->wire_bytes, now_ns};
    client->on_link_len++;
    client->on_link_bytes += message->wire_bytes;
}

/* How long @bytes take to leave at @rate_bps (> 0), ns, at most @cap_ns:
 * in double, as a rate measured over a long idle gap can be tiny. */
static int64_t time_on_link_ns(uint64_t bytes, double rate_bps, int64_t cap_ns)
{
    double ns = (double)bytes * 8e9 / rate_bps;
    return ns < (double)cap_ns ? (int64_t)ns : cap_ns;
}

/* The link's delivery rate: the largest recent sample (a queue or an idle
 * moment only ever makes a sample smaller), bit/s; 0 before any. */
static double link_rate_bps(const SvDisplayClient *client)
{
    double rate = 0;
    for (guint i = 0; i < client->n_rate_samples; i++) {
        rate = MAX(rate, client->rate_samples[i]);
    }
    return rate;
}

/* The link is in order: @message and everything taken before it left. */
static void on_link_sent(SvDisplayClient *client, const SvMessage *message, int64_t sent_ns)
{
    guint k;
    for (k = 0; k < client->on_link_len; k++) {
        if (client->on_link[(client->on_link_head + k) % SV_LATENCY_ON_LINK].message == message) {
            break;
        }
    }
    if (k == client->on_link_len) {
        return; /* taken before the reports began, or dropped from a full ring */
    }
    int64_t taken_ns = client->on_link[client->on_link_head].taken_ns;
    uint64_t bytes = 0;
    for (guint i = 0; i <= k; i++) {
        bytes += client->on_link[client->on_link_head].bytes;
        on_link_drop_head(client);
    }
    /* Delivery rate: bytes over the time they took to leave, counted from
     * the previous message's departure when they were taken before it (back
     * to back), else from their take; summed over consecutive messages
     * until a sample has RATE_SAMPLE_MIN_BYTES (small frames too). */
    gboolean back_to_back = client->last_sent_ns >= taken_ns;
    if (!back_to_back || client->rate_acc_bytes == 0) {
        client->rate_acc_bytes = 0;
        client->rate_acc_start_ns = back_to_back ? client->last_sent_ns : taken_ns;
    }
    client->rate_acc_bytes += bytes;
    client->last_sent_ns = MAX(client->last_sent_ns, sent_ns);
    if (client->rate_acc_bytes >= RATE_SAMPLE_MIN_BYTES && sent_ns > client->rate_acc_start_ns) {
        client->rate_samples[client->rate_next] =
            (double)client->rate_acc_bytes * 8e9 / (double)(sent_ns - client->rate_acc_start_ns);
        client->rate_next = (client->rate_next + 1) % SV_LATENCY_RATE_SAMPLES;
        client->n_rate_samples = MIN(client->n_rate_samples + 1, SV_LATENCY_RATE_SAMPLES);
        client->rate_acc_bytes = 0;
    }
}

/*
 * How long what is on the link may take to leave: the configured budget,
 * or more while the client's clock lags enough that a frame taken now
 * still arrives on time behind that much (lag − one-way delay − encode
 * time p95 − jitter margin). Under the starting 400 ms this lets a
 * start-up burst queue as SPICE does; once the latency is lowered, frames
 * wait in the pipe, where newer ones replace them.
 */
static int64_t link_budget_ns(const SvDisplay *display, const SvDisplayClient *client)
{
    int64_t budget = (int64_t)display->config.interactive_link_budget_ms * MS;
    const SvLatencyClock *c = &client->clocks[client->clock_last];
    int64_t lag_ms = c->known ? clock_lag_ms(client, c) : (int64_t)display->mm_time_latency_ms;
    int64_t slack_ms = lag_ms - half_rtt_ms(client) - encode_p95_ms(display) -
                       (int64_t)display->config.jitter_margin_ms;
    return MAX(budget, slack_ms * MS);
}

/* How long what is on @client's link takes to leave at the measured rate;
 * 0 while the budget is off or no rate is known. */
static int64_t link_drain_ns(const SvDisplay *display, const SvDisplayClient *client)
{
    double rate = link_rate_bps(client);
    if (!link_budget_on(display, client) || client->on_link_len == 0 || rate <= 0) {
        return 0;
    }
    return time_on_link_ns(client->on_link_bytes, rate, MAX_LATENCY_MS * MS);
}

gboolean sv_latency_may_send(SvDisplay *display, SvDisplayClient *client, int64_t now_ns)
{
    if (!link_budget_on(display, client) || client->on_link_len == 0) {
        return TRUE;
    }
    double rate = link_rate_bps(client);
    if (rate <= 0) {
        /* Until the first sample: one message at a time. */
        return FALSE;
    }
    int64_t drain_ns =
        time_on_link_ns(client->on_link_bytes, rate, INT64_MAX / (2 * STALE_DRAIN_FACTOR));
    const SvLatencyOnLink *oldest = &client->on_link[client->on_link_head];
    int64_t stale_ns = MAX(STALE_MIN_MS * MS, STALE_DRAIN_FACTOR * drain_ns);
    if (now_ns - oldest->taken_ns > stale_ns) {
        g_debug("%s: no report of a message taken %.0f ms ago: link budget off", client->name,
                (double)(now_ns - oldest->taken_ns) / MS);
        client->link_budget_off = TRUE;
        return TRUE;
    }
    if (drain_ns <= link_budget_ns(display, client)) {
        return TRUE;
    }
    client->last_hold_ns = now_ns;
    return FALSE;
}

gboolean sv_latency_superseded(SvDisplay *display, SvDisplayClient *client, SvAgent *agent)
{
    gboolean budget = link_budget_on(display, client);
    /* Frames held by the budget and replaced come in runs while the link is
     * slower than the stream, and the encoder drops the frame after each
     * drop it hears of: the newest one, ready to go. So it hears of one per
     * back-off interval, and of none before the stream's first frame left
     * (what held those was other traffic, such as the first screen). */
    if (budget && (!agent->lat_frames[0].used ||
                   (agent->lat_last_backoff_ns != INT64_MIN &&
                    display->now_ns - agent->lat_last_backoff_ns < BACKOFF_INTERVAL_MS * MS))) {
        agent->server_drops++;
        return FALSE;
    }
    if (budget) {
        agent->lat_last_backoff_ns = display->now_ns;
    }
    sv_agent_notify_server_drop(agent);
    return TRUE;
}

/* ---- frames ------------------------------------------------------------------------ */

void sv_latency_message_taken(SvDisplay *display, SvDisplayClient *client, const SvMessage *message)
{
    if (!sv_latency_is_interactive(display)) {
        return;
    }
    if (display->config.interactive_link_budget_ms > 0 && !client->link_budget_off) {
        /* From the first message on: the first report must find its own. */
        on_link_add(client, message, display->now_ns);
    }
    if (message->type == SV_MSG_MULTI_MEDIA_TIME) {
        /* The link is in order: frames taken from now on arrive after it. */
        clock_add(display, client, message->latency_ms, message->mm_time, message->queued_ns);
        return;
    }
    if (message->type != SV_MSG_STREAM_DATA || message->stream_id < 0 ||
        (guint)message->stream_id >= display->max_streams) {
        return;
    }
    SvAgent *agent = client->agents[message->stream_id];
    if (agent == NULL) {
        return;
    }
    agent->lat_frames[agent->lat_next] = (SvLatencyFrame){
        .used = TRUE,
        .stamp = message->mm_time,
        .seq = message->drawable_seq,
        .popped_ns = display->now_ns,
        .clock_id = client->clocks[client->clock_last].id,
        .clock_latency = client->clocks[client->clock_last].latency_ms,
    };
    agent->lat_next = (agent->lat_next + 1) % SV_LATENCY_FRAMES;
    agent->lat_in_flight = TRUE;
    agent->lat_in_flight_seq = message->drawable_seq;
    SvLatencyState *lat = &display->lat;
    lat->encode_ns[lat->next_encode] = MAX(message->encode_cpu_ns, 0);
    lat->next_encode = (lat->next_encode + 1) % SV_LATENCY_ENCODES;
    lat->n_encodes = MIN(lat->n_encodes + 1, SV_LATENCY_ENCODES);
}

gboolean sv_latency_skip_frame(SvDisplay *display, SvDisplayClient *client, SvAgent *agent)
{
    /* Only with a caller that reports what leaves the link. */
    if (!sv_latency_is_interactive(display) || !display->config.interactive_skip_busy_link ||
        !client->lat_sent_seen || !agent->lat_in_flight) {
        return FALSE;
    }
    SvLatencyFrame *f = find_frame_by_seq(agent, agent->lat_in_flight_seq);
    if (f == NULL || display->now_ns - f->popped_ns >= LINK_SKIP_MAX_MS * MS) {
        /* A caller that does not report every message must not stall the stream. */
        agent->lat_in_flight = FALSE;
        return FALSE;
    }
    display->lat.link_skips++;
    return TRUE;
}

/* spice's MJPEG encoder keeps its JPEG quality and lowers its frame rate
 * when its rate falls (docs/mjpeg-encoder.md): a lower rate costs it
 * frames, not frame size, and so no latency is won by it. */
static gboolean keeps_frame_size(const SvAgent *agent)
{
    const SvEncoderDesc *desc = agent->negotiation != NULL ? agent->negotiation->chosen : NULL;
    return desc != NULL && desc->codec_type == SPICE_VIDEO_CODEC_TYPE_MJPEG &&
           g_strcmp0(desc->encoder_name, "spice") == 0;
}

/* The encoder of @agent aims above its share of the link's delivery rate
 * @rate_bps, on a link that is the bottleneck: the budget held a message
 * within the last LINK_BUSY_MS. On a link that is seldom busy, the rate
 * measured is below its capacity, and an encoder's aim can be far above
 * what it sends (spice's MJPEG starts from the link's estimate): backing
 * it off would only drop frames. */
static gboolean over_link_share(const SvDisplay *display, const SvDisplayClient *client,
                                SvAgent *agent, double rate_bps)
{
    uint32_t share = display->config.interactive_link_share_pct;
    if (share == 0 || rate_bps <= 0 || agent->encoder->get_bit_rate == NULL ||
        keeps_frame_size(agent) || client->last_hold_ns == INT64_MIN ||
        display->now_ns - client->last_hold_ns > LINK_BUSY_MS * MS) {
        return FALSE;
    }
    double aim = (double)agent->encoder->get_bit_rate(agent->encoder);
    if (aim * 100 <= rate_bps * share) {
        return FALSE;
    }
    /* Frames sized for more than FRAME_SIZE_SLACK × the aim at the source
     * frame rate: the encoder meets its rate by dropping frames (a backend
     * that cannot change its rate without a restart), and a lower rate
     * would cost more frames, not smaller ones. */
    double full_rate = agent->lat_frame_bytes * 8 * MAX(agent->last_source_fps, 1);
    return full_rate <= aim * FRAME_SIZE_SLACK;
}

void sv_latency_sent(SvDisplay *display, SvDisplayClient *client, const SvMessage *message,
                     int64_t sent_ns)
{
    client->lat_sent_seen = TRUE;
    if (sv_latency_is_interactive(display)) {
        on_link_sent(client, message, sent_ns);
    }
    if (sv_latency_is_interactive(display) && message->type == SV_MSG_MULTI_MEDIA_TIME) {
        /* Now the clock message's wait on the link is known. */
        for (guint k = 0; k < SV_LATENCY_CLOCKS; k++) {
            SvLatencyClock *c = &client->clocks[k];
            if (c->id != 0 && c->mm_time == message->mm_time &&
                c->latency_ms == message->latency_ms) {
                c->link_ns = MAX(sent_ns - c->value_ns, 0);
            }
        }
        return;
    }
    if (!sv_latency_is_interactive(display) || message->type != SV_MSG_STREAM_DATA ||
        message->stream_id < 0 || (guint)message->stream_id >= display->max_streams) {
        return;
    }
    SvAgent *agent = client->agents[message->stream_id];
    if (agent == NULL) {
        return;
    }
    SvLatencyFrame *f = find_frame_by_seq(agent, message->drawable_seq);
    if (f == NULL) {
        return;
    }
    f->sent_ns = sent_ns;
    agent->lat_frame_bytes =
        agent->lat_frame_bytes <= 0
            ? (double)message->wire_bytes
            : agent->lat_frame_bytes +
                  ((double)message->wire_bytes - agent->lat_frame_bytes) / FRAME_SIZE_FRAMES;
    if (agent->lat_in_flight && agent->lat_in_flight_seq == message->drawable_seq) {
        agent->lat_in_flight = FALSE;
    }
    /* Queueing delay: from the encode (when the frame was taken) to its
     * last byte leaving, less the time its own bytes take at the measured
     * rate (a large frame on a free link is not queued); it grows when the
     * link cannot keep up. */
    double rate = link_rate_bps(client);
    int64_t own_ns = rate > 0 ? time_on_link_ns(message->wire_bytes, rate, INT64_MAX / 2) : 0;
    int64_t qdelay = MAX(sent_ns - f->popped_ns - own_ns, 0);
    int64_t previous = agent->lat_last_qdelay_ns;
    agent->lat_last_qdelay_ns = qdelay;
    uint32_t fps = agent->last_source_fps;
    int64_t interval = fps > 0 ? 1000 * MS / fps : 0;
    int64_t target = MAX(interval, BACKOFF_MIN_TARGET_MS * MS);
    gboolean queueing = qdelay > target && previous >= 0 && qdelay >= previous;
    if (agent->encoder == NULL || (!queueing && !over_link_share(display, client, agent, rate))) {
        return;
    }
    int64_t interval_ms = queueing ? BACKOFF_INTERVAL_MS : LINK_SHARE_INTERVAL_MS;
    if (agent->lat_last_backoff_ns != INT64_MIN &&
        sent_ns - agent->lat_last_backoff_ns < interval_ms * MS) {
        return;
    }
    agent->lat_last_backoff_ns = sent_ns;
    display->lat.backoffs++;
    if (queueing) {
        g_debug("%s: stream %d: queueing delay %.1f ms > %.1f ms and growing: back off",
                client->name, message->stream_id, (double)qdelay / MS, (double)target / MS);
    } else {
        g_debug("%s: stream %d: encoder above %u%% of the link's %.0f bit/s: back off",
                client->name, message->stream_id, display->config.interactive_link_share_pct, rate);
    }
    sv_agent_notify_server_drop(agent);
}
