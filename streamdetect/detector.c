/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Stream detection and lifetime (reference 5.3, 5.5-5.9, 5.13): candidates,
 * chain counters, the "next frame" tests, the item trace, stream slots and
 * the input-fps estimates. Everything here is O(1) per drawable apart from
 * the graduality test (graduality.c), which runs at most once per drawable.
 */
#include "config.h"

#include <spice/qxl_dev.h>

#include "streamdetect-private.h"

#define NSEC_PER_SEC INT64_C(1000000000)
#define NSEC_PER_MSEC INT64_C(1000000)

#define DETECTION_MAX_DELTA_NS (NSEC_PER_SEC / 5) /* 200 ms between frames while detecting */
#define CONTINUOUS_MAX_DELTA_NS NSEC_PER_SEC      /* 1 s between frames of a stream */
#define STREAM_TIMEOUT_NS NSEC_PER_SEC            /* 1 s without a frame ends a stream */
#define INPUT_FPS_TIMEOUT_NS (5 * NSEC_PER_SEC)   /* 5 s input-fps window */
#define FRAMES_START_CONDITION 20                 /* counted frames */
#define GRADUAL_FRAMES_START_RATIO 0.2            /* share of counted frames that are gradual */
#define FRAMES_RESET_CONDITION 100                /* frames since the last gradual one */
#define MIN_SOURCE_AREA (96 * 96)                 /* pixels, FILTER mode */
#define MAX_FPS 30                                /* initial-fps cap upstream (60 in the fork) */
#define NUM_STREAMS 50                            /* stream slots per display */
#define NUM_TRACE_ITEMS 8                         /* item trace entries */

#define MAX_STREAMS_LIMIT 1024
#define MAX_TRACE_ITEMS_LIMIT 64

G_DEFINE_QUARK(sv - stream - detector - error - quark, sv_stream_detector_error)

void sv_stream_detector_config_init(SvStreamDetectorConfig *config)
{
    g_return_if_fail(config != NULL);
    *config = (SvStreamDetectorConfig){
        .mode = SV_STREAMING_MODE_FILTER,
        .detection_max_delta_ns = DETECTION_MAX_DELTA_NS,
        .continuous_max_delta_ns = CONTINUOUS_MAX_DELTA_NS,
        .stream_timeout_ns = STREAM_TIMEOUT_NS,
        .input_fps_timeout_ns = INPUT_FPS_TIMEOUT_NS,
        .frames_start_condition = FRAMES_START_CONDITION,
        .gradual_frames_start_ratio = GRADUAL_FRAMES_START_RATIO,
        .frames_reset_condition = FRAMES_RESET_CONDITION,
        .min_source_area = MIN_SOURCE_AREA,
        .max_fps = MAX_FPS,
        .max_streams = NUM_STREAMS,
        .trace_items = NUM_TRACE_ITEMS,
    };
}

static gboolean mode_is_valid(SvStreamingMode mode)
{
    return mode == SV_STREAMING_MODE_OFF || mode == SV_STREAMING_MODE_ALL ||
           mode == SV_STREAMING_MODE_FILTER;
}

static gboolean config_check(const SvStreamDetectorConfig *c, GError **error)
{
    const char *bad = NULL;
    if (!mode_is_valid(c->mode)) {
        bad = "mode must be OFF (1), ALL (2) or FILTER (3)";
    } else if (c->detection_max_delta_ns < 0 || c->continuous_max_delta_ns < 0) {
        bad = "frame gap limits must be >= 0";
    } else if (c->stream_timeout_ns <= 0 || c->input_fps_timeout_ns <= 0) {
        bad = "stream_timeout_ns and input_fps_timeout_ns must be > 0";
    } else if (c->frames_start_condition < 1) {
        bad = "frames_start_condition must be >= 1";
    } else if (!(c->gradual_frames_start_ratio >= 0.0 && c->gradual_frames_start_ratio <= 1.0)) {
        bad = "gradual_frames_start_ratio must be in 0..1";
    } else if (c->max_fps < 1) {
        bad = "max_fps must be >= 1";
    } else if (c->max_streams < 1 || c->max_streams > MAX_STREAMS_LIMIT) {
        bad = "max_streams must be in 1..1024";
    } else if (c->trace_items < 1 || c->trace_items > MAX_TRACE_ITEMS_LIMIT) {
        bad = "trace_items must be in 1..64";
    }
    if (bad) {
        g_set_error(error, SV_STREAM_DETECTOR_ERROR, 0, "stream detector configuration: %s", bad);
        return FALSE;
    }
    return TRUE;
}

static void free_slot(SvStreamDetector *det, SvStream *stream)
{
    stream->next_free = det->free_list;
    det->free_list = stream;
    det->n_free++;
}

SvStreamDetector *sv_stream_detector_new(const SvStreamDetectorConfig *config, GError **error)
{
    SvStreamDetectorConfig defaults;
    if (config == NULL) {
        sv_stream_detector_config_init(&defaults);
        config = &defaults;
    }
    if (!config_check(config, error)) {
        return NULL;
    }
    SvStreamDetector *det = g_new0(SvStreamDetector, 1);
    det->config = *config;
    det->streams = g_new0(SvStream, config->max_streams);
    det->trace = g_new0(SvTraceItem, config->trace_items);
    det->decisions_capacity = 2 * config->max_streams + 4;
    det->decisions = g_new0(SvStreamDecision, det->decisions_capacity);
    /* A LIFO free list filled in id order, so the first stream gets the
     * highest id, as spice-server hands them out. */
    for (guint i = 0; i < config->max_streams; i++) {
        det->streams[i].id = i;
        free_slot(det, &det->streams[i]);
    }
    return det;
}

void sv_stream_detector_free(SvStreamDetector *det)
{
    if (det == NULL) {
        return;
    }
    g_free(det->streams);
    g_free(det->trace);
    g_free(det->decisions);
    g_free(det);
}

const SvStreamDetectorConfig *sv_stream_detector_get_config(const SvStreamDetector *det)
{
    g_return_val_if_fail(det != NULL, NULL);
    return &det->config;
}

void sv_stream_detector_set_mode(SvStreamDetector *det, SvStreamingMode mode)
{
    g_return_if_fail(det != NULL);
    g_return_if_fail(mode_is_valid(mode));
    det->config.mode = mode;
}

/* ---- helpers ------------------------------------------------------------ */

static void begin(SvStreamDetector *det)
{
    det->n_decisions = 0;
}

static guint finish(SvStreamDetector *det, const SvStreamDecision **decisions)
{
    if (decisions) {
        *decisions = det->decisions;
    }
    return det->n_decisions;
}

static SvStreamDecision *emit(SvStreamDetector *det, SvStreamDecisionKind kind,
                              SvStreamReason reason, const SvStream *stream)
{
    /* The capacity covers the worst case of every call (two per stream). */
    g_assert(det->n_decisions < det->decisions_capacity);
    SvStreamDecision *d = &det->decisions[det->n_decisions++];
    *d = (SvStreamDecision){.kind = kind, .reason = reason, .stream_id = stream->id};
    return d;
}

static inline uint32_t rect_dim(int32_t lo, int32_t hi)
{
    return hi > lo ? (uint32_t)((int64_t)hi - lo) : 0;
}

static inline uint32_t src_width(const SvStreamDetectorDrawable *d)
{
    return rect_dim(d->src_area.left, d->src_area.right);
}

static inline uint32_t src_height(const SvStreamDetectorDrawable *d)
{
    return rect_dim(d->src_area.top, d->src_area.bottom);
}

static inline uint64_t rect_area(const SpiceRect *r)
{
    return (uint64_t)rect_dim(r->left, r->right) * rect_dim(r->top, r->bottom);
}

static inline gboolean rect_equal(const SpiceRect *a, const SpiceRect *b)
{
    return a->left == b->left && a->top == b->top && a->right == b->right && a->bottom == b->bottom;
}

static inline gboolean rect_contains(const SpiceRect *outer, const SpiceRect *inner)
{
    return outer->left <= inner->left && outer->top <= inner->top && outer->right >= inner->right &&
           outer->bottom >= inner->bottom;
}

static inline gboolean drawable_top_down(const SvStreamDetectorDrawable *d)
{
    return d->bitmap != NULL && (d->bitmap->flags & SPICE_BITMAP_FLAGS_TOP_DOWN) != 0;
}

static SvStream *stream_by_id(const SvStreamDetector *det, int id)
{
    if (id < 0 || (guint)id >= det->config.max_streams || !det->streams[id].active) {
        return NULL;
    }
    return &det->streams[id];
}

/* ---- candidates (5.3) --------------------------------------------------- */

static SvStreamReason candidate_check(const SvStreamDetector *det, SvStreamDetectorDrawable *d)
{
    if (det->config.mode == SV_STREAMING_MODE_OFF) {
        return SV_STREAM_REASON_MODE_OFF;
    }
    if (d->surface_id != 0) {
        return SV_STREAM_REASON_NOT_PRIMARY;
    }
    if (d->effect != QXL_EFFECT_OPAQUE) {
        return SV_STREAM_REASON_NOT_OPAQUE;
    }
    if (d->type != QXL_DRAW_COPY) {
        return SV_STREAM_REASON_NOT_COPY;
    }
    if (d->rop_descriptor != SPICE_ROPD_OP_PUT) {
        return SV_STREAM_REASON_ROP_NOT_PUT;
    }
    if (d->source_type != SV_SOURCE_BITMAP) {
        return SV_STREAM_REASON_SOURCE_NOT_BITMAP;
    }
    if (det->config.mode == SV_STREAMING_MODE_FILTER) {
        uint64_t area = (uint64_t)src_width(d) * src_height(d);
        d->state.area = (uint32_t)MIN(area, G_MAXUINT32);
        if (area < det->config.min_source_area) {
            return SV_STREAM_REASON_TOO_SMALL;
        }
    }
    return SV_STREAM_REASON_NONE;
}

/* ---- "is the next frame" (5.6) ------------------------------------------ */

typedef enum {
    NEXT_NONE,     /* geometry differs */
    NEXT_GAP,      /* geometry matches, the gap is too long */
    NEXT_TOP_DOWN, /* a stream's geometry and time match, top-down differs */
    NEXT_OK,
} NextResult;

static NextResult is_next(const SvStreamDetector *det, const SvStreamDetectorDrawable *c,
                          uint32_t other_w, uint32_t other_h, const SpiceRect *other_dest,
                          int64_t other_time_ns, const SvStream *stream, gboolean container,
                          int64_t *gap_ns)
{
    if (!c->state.streamable) {
        return NEXT_NONE;
    }
    if (!container) {
        if (!rect_equal(&c->bbox, other_dest) || src_width(c) != other_w ||
            src_height(c) != other_h) {
            return NEXT_NONE;
        }
    } else {
        if (!rect_contains(&c->bbox, other_dest) ||
            rect_area(&c->bbox) > 2 * rect_area(other_dest)) {
            return NEXT_NONE;
        }
    }
    int64_t gap = c->creation_time_ns - other_time_ns;
    int64_t limit =
        stream ? det->config.continuous_max_delta_ns : det->config.detection_max_delta_ns;
    if (gap > limit) {
        *gap_ns = gap;
        return NEXT_GAP;
    }
    if (stream && drawable_top_down(c) != stream->top_down) {
        return NEXT_TOP_DOWN;
    }
    return NEXT_OK;
}

/* Records a near miss for the explanation of a drawable still unchained. */
static void note_miss(SvStreamDetectorDrawable *c, NextResult r, int64_t gap_ns)
{
    if (c->state.frames_count != 0 || c->state.stream_id >= 0) {
        return;
    }
    /* A stream refused for its top-down flag says more than a gap. */
    if (r == NEXT_GAP && c->state.reason != SV_STREAM_REASON_TOP_DOWN_MISMATCH) {
        if (c->state.reason != SV_STREAM_REASON_CHAIN_GAP || gap_ns < c->state.gap_ns) {
            c->state.gap_ns = gap_ns;
        }
        c->state.reason = SV_STREAM_REASON_CHAIN_GAP;
    } else if (r == NEXT_TOP_DOWN) {
        c->state.reason = SV_STREAM_REASON_TOP_DOWN_MISMATCH;
    }
}

/* ---- streams (5.9, 5.10, 5.13) ------------------------------------------ */

static void detach_current(SvStream *stream)
{
    SvStreamDetectorDrawable *d = stream->current;
    if (d == NULL) {
        return;
    }
    d->state.stream_id = -1;
    d->state.last_stream_id = (int)stream->id;
    d->state.last_stream_generation = stream->generation;
    stream->current = NULL;
}

static void update_input_fps(const SvStreamDetector *det, SvStream *stream, int64_t now_ns)
{
    int64_t elapsed = now_ns - stream->input_fps_start_ns;
    if (elapsed >= det->config.input_fps_timeout_ns) {
        uint64_t frames = stream->input_frames + (det->config.fix_input_fps_window ? 1 : 0);
        stream->input_fps =
            (uint32_t)((frames * NSEC_PER_SEC + (uint64_t)elapsed / 2) / (uint64_t)elapsed);
        stream->input_fps_start_ns = now_ns;
        stream->input_frames = 0;
    } else {
        stream->input_frames++;
    }
}

static void attach(SvStreamDetector *det, SvStream *stream, SvStreamDetectorDrawable *c,
                   SvStreamReason reason)
{
    SvStreamDetectorDrawable *previous = stream->current;
    if (previous) {
        /* Superseded: it must not reach the item trace. */
        previous->state.streamable = FALSE;
        previous->state.reason = SV_STREAM_REASON_SUPERSEDED;
        detach_current(stream);
    }
    stream->current = c;
    stream->last_time_ns = c->creation_time_ns;
    c->state.stream_id = (int)stream->id;
    c->state.reason = reason;
    update_input_fps(det, stream, c->creation_time_ns);
    SvStreamDecision *d = emit(det, SV_STREAM_DECISION_ATTACHED, reason, stream);
    d->drawable = c;
    d->previous = previous;
    d->possible_server_drop = previous != NULL;
    d->input_fps = stream->input_fps;
}

static void stream_create(SvStreamDetector *det, SvStreamDetectorDrawable *c)
{
    SvStream *stream = det->free_list;
    if (stream == NULL) {
        c->state.reason = SV_STREAM_REASON_NO_FREE_SLOT;
        return;
    }
    det->free_list = stream->next_free;
    det->n_free--;
    stream->next_free = NULL;
    stream->active = TRUE;
    stream->refs = 1;
    stream->generation++;
    stream->width = src_width(c);
    stream->height = src_height(c);
    stream->dest = c->bbox;
    stream->top_down = drawable_top_down(c);
    stream->current = c;
    stream->last_time_ns = c->creation_time_ns;

    int64_t duration = c->creation_time_ns - c->state.first_frame_time_ns;
    uint64_t frames = c->state.frames_count;
    if (duration > (int64_t)(frames * NSEC_PER_SEC / det->config.max_fps)) {
        stream->input_fps =
            (uint32_t)((frames * NSEC_PER_SEC + (uint64_t)duration / 2) / (uint64_t)duration);
    } else {
        stream->input_fps = det->config.max_fps;
    }
    stream->input_fps_start_ns = c->creation_time_ns;
    stream->input_frames = 0;

    stream->prev = NULL;
    stream->next = det->active;
    if (det->active) {
        det->active->prev = stream;
    }
    det->active = stream;
    det->n_active++;
    det->streams_area += (uint64_t)stream->width * stream->height;

    c->state.stream_id = (int)stream->id;
    c->state.reason = SV_STREAM_REASON_STREAM_CREATED;
    SvStreamDecision *d =
        emit(det, SV_STREAM_DECISION_CREATED, SV_STREAM_REASON_STREAM_CREATED, stream);
    d->drawable = c;
    d->width = stream->width;
    d->height = stream->height;
    d->dest = stream->dest;
    d->top_down = stream->top_down;
    d->input_fps = stream->input_fps;
    d->streams_area = det->streams_area;
}

static void stream_unref(SvStreamDetector *det, SvStream *stream)
{
    g_assert(stream->refs > 0);
    if (--stream->refs == 0) {
        free_slot(det, stream);
    }
}

static void stream_stop(SvStreamDetector *det, SvStream *stream, SvStreamReason reason)
{
    detach_current(stream);
    if (stream->prev) {
        stream->prev->next = stream->next;
    } else {
        det->active = stream->next;
    }
    if (stream->next) {
        stream->next->prev = stream->prev;
    }
    stream->prev = stream->next = NULL;
    stream->active = FALSE;
    det->n_active--;
    det->streams_area -= (uint64_t)stream->width * stream->height;
    emit(det, SV_STREAM_DECISION_STOPPED, reason, stream);
    stream_unref(det, stream);
}

static void stream_detach_lossless(SvStreamDetector *det, SvStream *stream, SvStreamReason reason)
{
    SvStreamDetectorDrawable *current = stream->current;
    if (current) {
        current->state.reason = reason;
    }
    detach_current(stream);
    SvStreamDecision *d = emit(det, SV_STREAM_DECISION_DETACHED, reason, stream);
    d->drawable = current;
    d->upgrade = SV_STREAM_UPGRADE_LOSSLESS;
}

/* ---- chains (5.5) ------------------------------------------------------- */

static void add_frame(SvStreamDetector *det, SvStreamDetectorDrawable *c, int64_t first_frame_time,
                      uint32_t frames_count, uint32_t gradual_frames_count,
                      uint32_t last_gradual_frame)
{
    const SvStreamDetectorConfig *cfg = &det->config;
    SvStreamDetectorDrawableState *s = &c->state;

    if (s->graduality == SV_GRADUALITY_INVALID && cfg->mode == SV_STREAMING_MODE_FILTER) {
        s->graduality = c->bitmap
                            ? sv_bitmap_graduality(c->bitmap, cfg->fix_graduality_stride, NULL)
                            : SV_GRADUALITY_NOT_AVAIL;
    }
    s->first_frame_time_ns = first_frame_time;
    s->frames_count = frames_count + 1;
    s->gradual_frames_count = gradual_frames_count;
    if (s->graduality != SV_GRADUALITY_LOW) {
        if (s->frames_count - last_gradual_frame > cfg->frames_reset_condition) {
            s->frames_count = 1;
            s->gradual_frames_count = 1;
            if (cfg->fix_reset_first_frame_time) {
                s->first_frame_time_ns = c->creation_time_ns;
            }
        } else {
            s->gradual_frames_count++;
        }
        s->last_gradual_frame = s->frames_count;
    } else {
        s->last_gradual_frame = last_gradual_frame;
    }

    if (s->frames_count < cfg->frames_start_condition) {
        s->reason = SV_STREAM_REASON_CHAIN_TOO_SHORT;
    } else if (s->gradual_frames_count < cfg->gradual_frames_start_ratio * s->frames_count) {
        s->reason = SV_STREAM_REASON_GRADUALITY_LOW;
    } else {
        stream_create(det, c);
    }
}

/* Maintenance(C, P) of reference 5.7. */
static void maintenance(SvStreamDetector *det, SvStreamDetectorDrawable *c,
                        SvStreamDetectorDrawable *p)
{
    if (c->state.stream_id >= 0) {
        return;
    }
    SvStream *stream = stream_by_id(det, p->state.stream_id);
    SvStreamReason join = SV_STREAM_REASON_JOINED_PREDECESSOR;
    if (stream == NULL && det->config.fix_rejoin_detached) {
        SvStream *last = stream_by_id(det, p->state.last_stream_id);
        if (last && last->current == NULL && last->generation == p->state.last_stream_generation) {
            stream = last;
            join = SV_STREAM_REASON_REJOINED_DETACHED;
        }
    }
    int64_t gap = 0;
    if (stream) {
        NextResult r = is_next(det, c, stream->width, stream->height, &stream->dest,
                               stream->last_time_ns, stream, TRUE, &gap);
        if (r == NEXT_OK) {
            attach(det, stream, c, join);
        } else {
            note_miss(c, r, gap);
        }
    } else if (c->state.streamable) {
        NextResult r = is_next(det, c, src_width(p), src_height(p), &p->bbox, p->creation_time_ns,
                               NULL, FALSE, &gap);
        if (r == NEXT_OK) {
            add_frame(det, c, p->state.first_frame_time_ns, p->state.frames_count,
                      p->state.gradual_frames_count, p->state.last_gradual_frame);
        } else {
            note_miss(c, r, gap);
        }
    }
}

/* Trace update(C) of reference 5.7. */
static void trace_update(SvStreamDetector *det, SvStreamDetectorDrawable *c)
{
    if (c->state.stream_id >= 0 || !c->state.streamable || c->state.frames_count != 0) {
        return;
    }
    int64_t gap = 0;
    for (SvStream *stream = det->active; stream; stream = stream->next) {
        NextResult r = is_next(det, c, stream->width, stream->height, &stream->dest,
                               stream->last_time_ns, stream, TRUE, &gap);
        if (r == NEXT_OK) {
            attach(det, stream, c, SV_STREAM_REASON_JOINED_FROM_TRACE);
            return;
        }
        note_miss(c, r, gap);
    }
    for (guint i = 0; i < det->config.trace_items; i++) {
        const SvTraceItem *t = &det->trace[i];
        if (!t->valid) {
            continue;
        }
        NextResult r =
            is_next(det, c, t->src_width, t->src_height, &t->dest, t->time_ns, NULL, FALSE, &gap);
        if (r == NEXT_OK) {
            add_frame(det, c, t->first_frame_time_ns, t->frames_count, t->gradual_frames_count,
                      t->last_gradual_frame);
            if (c->state.stream_id >= 0) {
                return;
            }
        } else {
            note_miss(c, r, gap);
        }
    }
}

static void trace_add(SvStreamDetector *det, const SvStreamDetectorDrawable *d)
{
    SvTraceItem *t = &det->trace[det->trace_next];
    det->trace_next = (det->trace_next + 1) % det->config.trace_items;
    *t = (SvTraceItem){
        .valid = TRUE,
        .time_ns = d->creation_time_ns,
        .first_frame_time_ns = d->state.first_frame_time_ns,
        .frames_count = d->state.frames_count,
        .gradual_frames_count = d->state.gradual_frames_count,
        .last_gradual_frame = d->state.last_gradual_frame,
        .src_width = src_width(d),
        .src_height = src_height(d),
        .dest = d->bbox,
    };
}

static void leave_tree(SvStreamDetector *det, SvStreamDetectorDrawable *d)
{
    if (!d->state.in_tree) {
        return;
    }
    d->state.in_tree = FALSE;
    if (d->state.streamable && d->state.stream_id < 0) {
        trace_add(det, d);
    }
}

/* ---- events ------------------------------------------------------------- */

guint sv_stream_detector_add(SvStreamDetector *det, SvStreamDetectorDrawable *c,
                             const SvStreamPredecessor *preds, guint n_preds,
                             const SvStreamDecision **decisions)
{
    g_return_val_if_fail(det != NULL && c != NULL, 0);
    begin(det);
    g_return_val_if_fail(preds != NULL || n_preds == 0, finish(det, decisions));

    SvStreamDetectorDrawableState *s = &c->state;
    *s = (SvStreamDetectorDrawableState){
        .first_frame_time_ns = c->creation_time_ns,
        .stream_id = -1,
        .last_stream_id = -1,
        .in_tree = TRUE,
        .graduality = SV_GRADUALITY_INVALID,
    };
    SvStreamReason not_candidate = candidate_check(det, c);
    s->streamable = not_candidate == SV_STREAM_REASON_NONE;
    s->reason = s->streamable ? SV_STREAM_REASON_NO_PREDECESSOR : not_candidate;

    gboolean replaced = FALSE;
    for (guint i = 0; i < n_preds; i++) {
        SvStreamDetectorDrawable *p = preds[i].drawable;
        if (p == NULL || p == c) {
            continue;
        }
        switch (preds[i].kind) {
        case SV_PREDECESSOR_REPLACED:
            maintenance(det, c, p);
            leave_tree(det, p);
            replaced = TRUE;
            break;
        case SV_PREDECESSOR_COVERED:
            leave_tree(det, p);
            break;
        case SV_PREDECESSOR_OVERLAPPED:
            maintenance(det, c, p);
            break;
        }
    }
    if (!replaced) {
        trace_update(det, c);
    }
    return finish(det, decisions);
}

void sv_stream_detector_remove(SvStreamDetector *det, SvStreamDetectorDrawable *d)
{
    g_return_if_fail(det != NULL && d != NULL);
    leave_tree(det, d);
}

guint sv_stream_detector_release(SvStreamDetector *det, SvStreamDetectorDrawable *d,
                                 const SvStreamDecision **decisions)
{
    g_return_val_if_fail(det != NULL && d != NULL, 0);
    begin(det);
    leave_tree(det, d);
    SvStream *stream = stream_by_id(det, d->state.stream_id);
    if (stream && stream->current == d) {
        detach_current(stream);
        d->state.reason = SV_STREAM_REASON_DRAWABLE_RELEASED;
        SvStreamDecision *dec =
            emit(det, SV_STREAM_DECISION_DETACHED, SV_STREAM_REASON_DRAWABLE_RELEASED, stream);
        dec->drawable = d;
        dec->upgrade = SV_STREAM_UPGRADE_NONE;
    }
    return finish(det, decisions);
}

guint sv_stream_detector_tick(SvStreamDetector *det, int64_t now_ns,
                              const SvStreamDecision **decisions)
{
    g_return_val_if_fail(det != NULL, 0);
    begin(det);
    SvStream *next;
    for (SvStream *stream = det->active; stream; stream = next) {
        next = stream->next;
        if (now_ns >= stream->last_time_ns + det->config.stream_timeout_ns) {
            stream_detach_lossless(det, stream, SV_STREAM_REASON_TIMEOUT);
            stream_stop(det, stream, SV_STREAM_REASON_TIMEOUT);
        }
    }
    return finish(det, decisions);
}

int64_t sv_stream_detector_next_timeout_ns(const SvStreamDetector *det)
{
    g_return_val_if_fail(det != NULL, INT64_MAX);
    int64_t next = INT64_MAX;
    for (const SvStream *stream = det->active; stream; stream = stream->next) {
        next = MIN(next, stream->last_time_ns + det->config.stream_timeout_ns);
    }
    return next;
}

guint sv_stream_detector_detach(SvStreamDetector *det, guint stream_id,
                                const SvStreamDecision **decisions)
{
    g_return_val_if_fail(det != NULL, 0);
    begin(det);
    SvStream *stream = stream_by_id(det, (int)MIN(stream_id, (guint)G_MAXINT));
    if (stream) {
        stream_detach_lossless(det, stream, SV_STREAM_REASON_OVERDRAWN);
    }
    return finish(det, decisions);
}

guint sv_stream_detector_stop_all(SvStreamDetector *det, const SvStreamDecision **decisions)
{
    g_return_val_if_fail(det != NULL, 0);
    begin(det);
    while (det->active) {
        SvStream *stream = det->active;
        stream_detach_lossless(det, stream, SV_STREAM_REASON_STOP_ALL);
        stream_stop(det, stream, SV_STREAM_REASON_STOP_ALL);
    }
    return finish(det, decisions);
}

guint sv_stream_detector_primary_destroyed(SvStreamDetector *det,
                                           const SvStreamDecision **decisions)
{
    g_return_val_if_fail(det != NULL, 0);
    begin(det);
    SvStream *next;
    for (SvStream *stream = det->active; stream; stream = next) {
        next = stream->next;
        if (stream->current == NULL) {
            stream_stop(det, stream, SV_STREAM_REASON_PRIMARY_DESTROYED);
        }
    }
    memset(det->trace, 0, sizeof(det->trace[0]) * det->config.trace_items);
    det->trace_next = 0;
    return finish(det, decisions);
}

gboolean sv_stream_detector_stream_ref(SvStreamDetector *det, guint stream_id)
{
    g_return_val_if_fail(det != NULL, FALSE);
    SvStream *stream = stream_by_id(det, (int)MIN(stream_id, (guint)G_MAXINT));
    if (stream == NULL) {
        return FALSE;
    }
    stream->refs++;
    return TRUE;
}

void sv_stream_detector_stream_unref(SvStreamDetector *det, guint stream_id)
{
    g_return_if_fail(det != NULL);
    g_return_if_fail(stream_id < det->config.max_streams);
    SvStream *stream = &det->streams[stream_id];
    /* The detector's own reference goes at stop; more unrefs are misuse. */
    g_return_if_fail(stream->refs > (stream->active ? 1u : 0u));
    stream_unref(det, stream);
}

gboolean sv_stream_detector_get_stream(const SvStreamDetector *det, guint stream_id,
                                       SvStreamInfo *info)
{
    g_return_val_if_fail(det != NULL && info != NULL, FALSE);
    const SvStream *stream = stream_by_id(det, (int)MIN(stream_id, (guint)G_MAXINT));
    if (stream == NULL) {
        *info = (SvStreamInfo){0};
        return FALSE;
    }
    *info = (SvStreamInfo){
        .active = TRUE,
        .width = stream->width,
        .height = stream->height,
        .dest = stream->dest,
        .top_down = stream->top_down,
        .last_time_ns = stream->last_time_ns,
        .input_fps = stream->input_fps,
        .current = stream->current,
    };
    return TRUE;
}

guint sv_stream_detector_get_n_streams(const SvStreamDetector *det)
{
    g_return_val_if_fail(det != NULL, 0);
    return det->n_active;
}

uint64_t sv_stream_detector_get_streams_area(const SvStreamDetector *det)
{
    g_return_val_if_fail(det != NULL, 0);
    return det->streams_area;
}

gboolean sv_stream_detector_check_invariants(const SvStreamDetector *det, GString *why)
{
    guint listed = 0, referenced = 0;
    uint64_t area = 0;
    for (const SvStream *s = det->active; s; s = s->next) {
        area += (uint64_t)s->width * s->height;
        if (s->id >= det->config.max_streams || &det->streams[s->id] != s) {
            g_string_append_printf(why, "active stream with bad id %u", s->id);
            return FALSE;
        }
        if (!s->active || s->refs < 1) {
            g_string_append_printf(why, "stream %u listed but inactive/unreferenced", s->id);
            return FALSE;
        }
        if (s->current && s->current->state.stream_id != (int)s->id) {
            g_string_append_printf(why, "stream %u current drawable names stream %d", s->id,
                                   s->current->state.stream_id);
            return FALSE;
        }
        if (++listed > det->config.max_streams) {
            g_string_append(why, "active list loops");
            return FALSE;
        }
    }
    for (guint i = 0; i < det->config.max_streams; i++) {
        const SvStream *s = &det->streams[i];
        if (!s->active && s->refs > 0) {
            referenced++;
        }
        if (!s->active && s->current) {
            g_string_append_printf(why, "stopped stream %u keeps a drawable", i);
            return FALSE;
        }
    }
    guint free_count = 0;
    for (const SvStream *s = det->free_list; s; s = s->next_free) {
        if (s->active || s->refs) {
            g_string_append_printf(why, "stream %u on the free list is in use", s->id);
            return FALSE;
        }
        if (++free_count > det->config.max_streams) {
            g_string_append(why, "free list loops");
            return FALSE;
        }
    }
    if (listed != det->n_active || free_count != det->n_free ||
        listed + free_count + referenced != det->config.max_streams) {
        g_string_append_printf(why, "slot leak: %u active + %u free + %u referenced != %u", listed,
                               free_count, referenced, det->config.max_streams);
        return FALSE;
    }
    if (area != det->streams_area) {
        g_string_append(why, "streams area out of step");
        return FALSE;
    }
    if (det->trace_next >= det->config.trace_items) {
        g_string_append(why, "trace index out of range");
        return FALSE;
    }
    return TRUE;
}
