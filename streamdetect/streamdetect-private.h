/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/* streamdetect-private.h: the detector's internals shared by its files and
 * the fuzz target's invariant checks. */
#ifndef SV_STREAMDETECT_PRIVATE_H
#define SV_STREAMDETECT_PRIVATE_H

#include <spice-video/streamdetect.h>

/* One entry of the item trace (reference 5.7). */
typedef struct {
    gboolean valid;
    int64_t time_ns;
    int64_t first_frame_time_ns;
    uint32_t frames_count;
    uint32_t gradual_frames_count;
    uint32_t last_gradual_frame;
    uint32_t src_width, src_height;
    SpiceRect dest;
} SvTraceItem;

typedef struct SvStream SvStream;
struct SvStream {
    guint id;
    gboolean active; /* created and not stopped */
    guint refs;      /* 1 while active, + the caller's references */
    uint32_t generation;
    uint32_t width, height;
    SpiceRect dest;
    gboolean top_down;
    SvStreamDetectorDrawable *current;
    int64_t last_time_ns;
    uint32_t input_fps;
    int64_t input_fps_start_ns;
    uint32_t input_frames;
    SvStream *prev, *next; /* active list, newest first */
    SvStream *next_free;
};

struct SvStreamDetector {
    SvStreamDetectorConfig config;
    SvStream *streams; /* config.max_streams slots */
    SvStream *active;  /* newest first */
    SvStream *free_list;
    guint n_active;
    uint64_t streams_area; /* width x height over the active streams */
    guint n_free;
    SvTraceItem *trace; /* config.trace_items entries */
    guint trace_next;
    SvStreamDecision *decisions; /* per-call output */
    guint n_decisions;
    guint decisions_capacity;
};

/* Checks the detector's internal consistency; FALSE with a message in @why. */
gboolean sv_stream_detector_check_invariants(const SvStreamDetector *detector, GString *why);

#endif /* SV_STREAMDETECT_PRIVATE_H */
