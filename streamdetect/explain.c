/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The human-readable side of the detector: why a drawable did or did not
 * start or join a stream, and one line per decision. Only called on
 * request (logs, the harness), never on the hot path.
 */
#include "config.h"

#include <math.h>

#include <spice/qxl_dev.h>

#include "streamdetect-private.h"

#define NSEC_PER_MSEC INT64_C(1000000)

const char *sv_stream_reason_to_string(SvStreamReason reason)
{
    switch (reason) {
    case SV_STREAM_REASON_NONE:
        return "not examined";
    case SV_STREAM_REASON_MODE_OFF:
        return "streaming mode is off";
    case SV_STREAM_REASON_NOT_PRIMARY:
        return "not drawn on the primary surface";
    case SV_STREAM_REASON_NOT_OPAQUE:
        return "not opaque";
    case SV_STREAM_REASON_NOT_COPY:
        return "not a DRAW_COPY";
    case SV_STREAM_REASON_ROP_NOT_PUT:
        return "ROP descriptor is not OP_PUT";
    case SV_STREAM_REASON_SOURCE_NOT_BITMAP:
        return "source is not an uncompressed bitmap";
    case SV_STREAM_REASON_TOO_SMALL:
        return "source smaller than the minimum area";
    case SV_STREAM_REASON_NO_PREDECESSOR:
        return "no previous frame at the same place and size";
    case SV_STREAM_REASON_CHAIN_GAP:
        return "chain broken by a gap";
    case SV_STREAM_REASON_TOP_DOWN_MISMATCH:
        return "top-down flag differs from the stream's";
    case SV_STREAM_REASON_CHAIN_TOO_SHORT:
        return "chain too short";
    case SV_STREAM_REASON_GRADUALITY_LOW:
        return "too few gradual frames";
    case SV_STREAM_REASON_NO_FREE_SLOT:
        return "no free stream slot";
    case SV_STREAM_REASON_STREAM_CREATED:
        return "stream created";
    case SV_STREAM_REASON_JOINED_PREDECESSOR:
        return "next frame of its predecessor's stream";
    case SV_STREAM_REASON_JOINED_FROM_TRACE:
        return "next frame of a stream's last frame";
    case SV_STREAM_REASON_REJOINED_DETACHED:
        return "rejoined a detached stream";
    case SV_STREAM_REASON_SUPERSEDED:
        return "superseded by the stream's next frame";
    case SV_STREAM_REASON_DRAWABLE_RELEASED:
        return "drawable released";
    case SV_STREAM_REASON_OVERDRAWN:
        return "detached (overdrawn or read)";
    case SV_STREAM_REASON_TIMEOUT:
        return "stream timed out";
    case SV_STREAM_REASON_STOP_ALL:
        return "all streams stopped";
    case SV_STREAM_REASON_PRIMARY_DESTROYED:
        return "primary surface destroyed";
    }
    return "unknown reason";
}

static double ms(int64_t ns)
{
    return (double)ns / (double)NSEC_PER_MSEC;
}

char *sv_stream_detector_explain(const SvStreamDetector *det,
                                 const SvStreamDetectorDrawable *drawable)
{
    g_return_val_if_fail(det != NULL && drawable != NULL, NULL);
    const SvStreamDetectorConfig *cfg = &det->config;
    const SvStreamDetectorDrawableState *s = &drawable->state;
    uint32_t n = s->frames_count, k = s->gradual_frames_count;

    switch (s->reason) {
    case SV_STREAM_REASON_MODE_OFF:
        return g_strdup("not a candidate: streaming mode is off");
    case SV_STREAM_REASON_NOT_PRIMARY:
        return g_strdup_printf("not a candidate: drawn on surface %u, not the primary surface 0",
                               drawable->surface_id);
    case SV_STREAM_REASON_NOT_OPAQUE:
        return g_strdup_printf("not a candidate: effect %u is not OPAQUE (%d)", drawable->effect,
                               QXL_EFFECT_OPAQUE);
    case SV_STREAM_REASON_NOT_COPY:
        return g_strdup_printf("not a candidate: drawable type %u is not DRAW_COPY (%d)",
                               drawable->type, QXL_DRAW_COPY);
    case SV_STREAM_REASON_ROP_NOT_PUT:
        return g_strdup_printf("not a candidate: ROP descriptor %u is not OP_PUT (%d)",
                               drawable->rop_descriptor, SPICE_ROPD_OP_PUT);
    case SV_STREAM_REASON_SOURCE_NOT_BITMAP: {
        static const char *const names[] = {"no source image", "a bitmap", "a surface",
                                            "a compressed image"};
        guint t = drawable->source_type;
        return g_strdup_printf("not a candidate: the source is %s, not an uncompressed bitmap",
                               t < G_N_ELEMENTS(names) ? names[t] : "of an unknown kind");
    }
    case SV_STREAM_REASON_TOO_SMALL:
        return g_strdup_printf("not a candidate: source area %u pixels is below the minimum %u "
                               "(filter mode)",
                               s->area, cfg->min_source_area);
    case SV_STREAM_REASON_NO_PREDECESSOR:
        return g_strdup("candidate, first of a chain: no previous frame with the same "
                        "destination and source size");
    case SV_STREAM_REASON_CHAIN_GAP:
        return g_strdup_printf("candidate, chain broken by a gap of %.0f ms (limit %.0f ms)",
                               ms(s->gap_ns), ms(cfg->detection_max_delta_ns));
    case SV_STREAM_REASON_TOP_DOWN_MISMATCH:
        return g_strdup("candidate, a stream matched but its top-down flag differs");
    case SV_STREAM_REASON_CHAIN_TOO_SHORT:
        return g_strdup_printf("chain of %u counted frames, %u needed to start (%u gradual)", n,
                               cfg->frames_start_condition, k);
    case SV_STREAM_REASON_GRADUALITY_LOW: {
        uint32_t needed = (uint32_t)ceil(cfg->gradual_frames_start_ratio * n - 1e-9);
        return g_strdup_printf("graduality LOW in %u of %u frames (at least %u gradual needed)",
                               n - k, n, needed);
    }
    case SV_STREAM_REASON_NO_FREE_SLOT:
        return g_strdup_printf("start condition met (%u frames, %u gradual) but no free stream "
                               "slot (%u in use)",
                               n, k, cfg->max_streams);
    case SV_STREAM_REASON_STREAM_CREATED:
        return g_strdup_printf("started stream %d after %u frames (%u gradual)", s->stream_id, n,
                               k);
    case SV_STREAM_REASON_JOINED_PREDECESSOR:
    case SV_STREAM_REASON_JOINED_FROM_TRACE:
    case SV_STREAM_REASON_REJOINED_DETACHED:
        return g_strdup_printf("frame of stream %d: %s", s->stream_id,
                               sv_stream_reason_to_string(s->reason));
    case SV_STREAM_REASON_SUPERSEDED:
    case SV_STREAM_REASON_DRAWABLE_RELEASED:
    case SV_STREAM_REASON_OVERDRAWN:
    case SV_STREAM_REASON_TIMEOUT:
    case SV_STREAM_REASON_STOP_ALL:
    case SV_STREAM_REASON_PRIMARY_DESTROYED:
        return g_strdup_printf("was a frame of stream %d: %s", s->last_stream_id,
                               sv_stream_reason_to_string(s->reason));
    case SV_STREAM_REASON_NONE:
        break;
    }
    return g_strdup("not examined by the detector");
}

char *sv_stream_decision_to_string(const SvStreamDecision *d)
{
    g_return_val_if_fail(d != NULL, NULL);
    switch (d->kind) {
    case SV_STREAM_DECISION_CREATED: {
        uint32_t n = d->drawable ? d->drawable->state.frames_count : 0;
        uint32_t k = d->drawable ? d->drawable->state.gradual_frames_count : 0;
        return g_strdup_printf("stream %u created %ux%u at (%d,%d)-(%d,%d)%s, %u fps: %u frames, "
                               "%u gradual",
                               d->stream_id, d->width, d->height, d->dest.left, d->dest.top,
                               d->dest.right, d->dest.bottom, d->top_down ? " top-down" : "",
                               d->input_fps, n, k);
    }
    case SV_STREAM_DECISION_ATTACHED:
        return g_strdup_printf("stream %u: frame attached (%s%s), input %u fps", d->stream_id,
                               sv_stream_reason_to_string(d->reason),
                               d->possible_server_drop ? ", previous frame superseded" : "",
                               d->input_fps);
    case SV_STREAM_DECISION_DETACHED:
        return g_strdup_printf("stream %u: %s detached (%s), %s", d->stream_id,
                               d->drawable ? "current frame" : "no frame",
                               sv_stream_reason_to_string(d->reason),
                               d->upgrade == SV_STREAM_UPGRADE_LOSSLESS ? "lossless upgrade"
                                                                        : "no upgrade");
    case SV_STREAM_DECISION_STOPPED:
        return g_strdup_printf("stream %u stopped: %s", d->stream_id,
                               sv_stream_reason_to_string(d->reason));
    }
    return g_strdup("unknown decision");
}
