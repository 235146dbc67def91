/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * streamdetect.h: spice-server's video stream detection (reference section
 * 5), as pure logic over drawable descriptions. The caller (a display
 * server model) owns the drawables and their pixels; the detector keeps the
 * chain counters inside each SvStreamDetectorDrawable, an 8-entry item
 * trace and the stream slots, and answers every event with decisions.
 *
 * Events, at the points reference 5.7 names:
 *  - sv_stream_detector_add(): an opaque drawable is added to the tree, with
 *    the predecessors the caller's tree met (replaced / covered /
 *    overlapped);
 *  - sv_stream_detector_remove(): a drawable leaves the tree (item trace);
 *  - sv_stream_detector_release(): a drawable is about to be freed;
 *  - sv_stream_detector_tick(): time advances (stream timeouts);
 *  - sv_stream_detector_detach(), _stop_all(), _primary_destroyed().
 *
 * Every call returns the number of decisions it took and points at them;
 * the array belongs to the detector and stays valid until the next call.
 * Nothing is allocated per drawable.
 *
 * Thread: a detector and its drawables are used from one thread at a time
 * (the display worker).
 */
#ifndef SPICE_VIDEO_STREAMDETECT_H
#define SPICE_VIDEO_STREAMDETECT_H

#include <stdint.h>

#include <glib.h>

#include <spice-video/spice-draw.h>
#include <spice-video/sv-export.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Streaming modes, with spice_server_set_streaming_video()'s values. */
typedef enum {
    SV_STREAMING_MODE_OFF = 1,    /**< no detection */
    SV_STREAMING_MODE_ALL = 2,    /**< no size or graduality filter */
    SV_STREAMING_MODE_FILTER = 3, /**< spice's default: both filters */
} SvStreamingMode;

/** Graduality levels (reference 5.4), with spice's values. */
typedef enum {
    SV_GRADUALITY_INVALID = 0,   /**< not computed */
    SV_GRADUALITY_NOT_AVAIL = 1, /**< format, stride or unstable data: not measurable */
    SV_GRADUALITY_LOW = 2,       /**< sharp edges / flat areas: text, UI */
    SV_GRADUALITY_MEDIUM = 3,
    SV_GRADUALITY_HIGH = 4, /**< smooth gradients: photos, video */
} SvGraduality;

/** The kind of source image a drawable copies from. */
typedef enum {
    SV_SOURCE_NONE = 0,    /**< no source image (fills, …) */
    SV_SOURCE_BITMAP = 1,  /**< an uncompressed bitmap (SPICE_IMAGE_TYPE_BITMAP) */
    SV_SOURCE_SURFACE = 2, /**< another surface */
    SV_SOURCE_OTHER = 3,   /**< QUIC, LZ, JPEG, … */
} SvSourceType;

/**
 * Every reason a decision was taken or a drawable did not stream. The
 * numbers are stable; sv_stream_reason_to_string() gives a short text.
 */
typedef enum {
    SV_STREAM_REASON_NONE = 0,           /**< not examined yet */
    SV_STREAM_REASON_MODE_OFF,           /**< streaming mode is off */
    SV_STREAM_REASON_NOT_PRIMARY,        /**< destination is not surface 0 */
    SV_STREAM_REASON_NOT_OPAQUE,         /**< tree effect is not OPAQUE */
    SV_STREAM_REASON_NOT_COPY,           /**< drawable type is not DRAW_COPY */
    SV_STREAM_REASON_ROP_NOT_PUT,        /**< ROP descriptor is not exactly OP_PUT */
    SV_STREAM_REASON_SOURCE_NOT_BITMAP,  /**< no source, or not an uncompressed bitmap */
    SV_STREAM_REASON_TOO_SMALL,          /**< FILTER mode, source area below the minimum */
    SV_STREAM_REASON_NO_PREDECESSOR,     /**< first of a chain: nothing matched */
    SV_STREAM_REASON_CHAIN_GAP,          /**< same place and size, but gap too long */
    SV_STREAM_REASON_TOP_DOWN_MISMATCH,  /**< a stream matched but its top-down flag differs */
    SV_STREAM_REASON_CHAIN_TOO_SHORT,    /**< chained, fewer than the start count */
    SV_STREAM_REASON_GRADUALITY_LOW,     /**< enough frames, too few gradual ones */
    SV_STREAM_REASON_NO_FREE_SLOT,       /**< the start condition held, all slots in use */
    SV_STREAM_REASON_STREAM_CREATED,     /**< a stream started with this frame */
    SV_STREAM_REASON_JOINED_PREDECESSOR, /**< attached: next frame of its predecessor's stream */
    SV_STREAM_REASON_JOINED_FROM_TRACE,  /**< attached: matched a stream's last frame (1 s) */
    SV_STREAM_REASON_REJOINED_DETACHED,  /**< attached (fix_rejoin_detached) */
    SV_STREAM_REASON_SUPERSEDED,         /**< detached: the next frame replaced it */
    SV_STREAM_REASON_DRAWABLE_RELEASED,  /**< detached: the drawable was freed */
    SV_STREAM_REASON_OVERDRAWN,          /**< detached by the caller (overdraw, copy-bits, read) */
    SV_STREAM_REASON_TIMEOUT,            /**< detached and stopped: no frame for 1 s */
    SV_STREAM_REASON_STOP_ALL,           /**< detached and stopped by the caller */
    SV_STREAM_REASON_PRIMARY_DESTROYED,  /**< stopped: primary surface destroyed */
} SvStreamReason;

/** What a decision is. */
typedef enum {
    SV_STREAM_DECISION_CREATED,  /**< a stream was created with .drawable as first frame */
    SV_STREAM_DECISION_ATTACHED, /**< .drawable is the stream's new current frame */
    SV_STREAM_DECISION_DETACHED, /**< the stream lost its current drawable; see .upgrade */
    SV_STREAM_DECISION_STOPPED,  /**< the stream ended; its id is free once unreferenced */
} SvStreamDecisionKind;

/** What a detach asks of each client's agent (reference 5.13). */
typedef enum {
    /** Nothing: the frame was superseded or freed. */
    SV_STREAM_UPGRADE_NONE,
    /** Clear the client clip, then upgrade the visible area losslessly
     *  (upgrade item or screenshot, per client, reference 5.13 steps 1-5). */
    SV_STREAM_UPGRADE_LOSSLESS,
} SvStreamUpgrade;

typedef struct SvStreamDetectorDrawable SvStreamDetectorDrawable;

/** One decision. */
typedef struct SvStreamDecision {
    SvStreamDecisionKind kind;
    SvStreamReason reason;
    guint stream_id; /**< 0 .. max_streams-1 */
    /** CREATED / ATTACHED: the new frame; DETACHED: the drawable detached
     *  (NULL if the stream had none); STOPPED: NULL. Not owned. */
    SvStreamDetectorDrawable *drawable;
    /** ATTACHED: the stream's previous current drawable it replaced (now
     *  non-streamable), or NULL. Not owned. */
    SvStreamDetectorDrawable *previous;
    /** ATTACHED: a previous frame was superseded, the server should count
     *  a possible drop if it is still unsent (reference 6.6). */
    gboolean possible_server_drop;
    /** CREATED: stream size = the first frame's source size, fixed. */
    uint32_t width, height;
    /** CREATED: destination = the first frame's bbox. */
    SpiceRect dest;
    /** CREATED: the first frame's bitmap is top-down. */
    gboolean top_down;
    /** CREATED: initial estimate; ATTACHED: current estimate (frames/s). */
    uint32_t input_fps;
    /** CREATED: width × height summed over the active streams, this one
     *  included: the divisor of the starting bit rate (reference 6.4). */
    uint64_t streams_area;
    /** DETACHED: what the agents must do. */
    SvStreamUpgrade upgrade;
} SvStreamDecision;

/**
 * The detector's bookkeeping inside a drawable. Read-only for the caller
 * (tests and logs read it); zero-initialise it with the drawable.
 */
typedef struct SvStreamDetectorDrawableState {
    int64_t first_frame_time_ns;   /**< chain start; initially creation_time_ns */
    uint32_t frames_count;         /**< counted frames in the chain (0: first) */
    uint32_t gradual_frames_count; /**< of those, non-LOW ones */
    uint32_t last_gradual_frame;   /**< frames_count of the last gradual frame */
    int stream_id;                 /**< attached stream, -1 if none */
    gboolean streamable;           /**< a candidate (reference 5.3) */
    gboolean in_tree;              /**< between add and remove */
    SvGraduality graduality;       /**< INVALID until computed (FILTER mode only) */
    /* Why the drawable is where it is: see sv_stream_detector_explain(). */
    SvStreamReason reason;
    int64_t gap_ns;     /**< CHAIN_GAP: the shortest too-long gap seen */
    uint32_t area;      /**< TOO_SMALL: source area in pixels */
    int last_stream_id; /**< stream it was last attached to, -1 if none */
    uint32_t last_stream_generation;
} SvStreamDetectorDrawableState;

/**
 * A drawable as the detector sees it. The caller fills the input members
 * before sv_stream_detector_add() and zero-initialises .state; it usually
 * embeds this struct in its own drawable record. The detector keeps
 * pointers to drawables attached to streams until
 * sv_stream_detector_release().
 */
struct SvStreamDetectorDrawable {
    /* ---- input ---- */
    int64_t creation_time_ns; /**< when the server allocated it (server time, not guest) */
    SpiceRect bbox;           /**< destination rectangle */
    uint32_t surface_id;      /**< destination surface; 0 = primary */
    uint8_t type;             /**< QXL_DRAW_* (QXL_DRAW_COPY = 3) */
    uint8_t effect;           /**< QXL_EFFECT_* (QXL_EFFECT_OPAQUE = 1) */
    uint8_t rop_descriptor;   /**< SPICE_ROPD_* (SPICE_ROPD_OP_PUT = 8) */
    gboolean has_mask;        /**< informative: spice does not check masks */
    SvSourceType source_type;
    SpiceRect src_area; /**< source rectangle in the bitmap; its size is the "source size" */
    /** SV_SOURCE_BITMAP: format, flags (top-down), size, stride and pixel
     *  chunks. Read only during sv_stream_detector_add(); may be NULL in ALL
     *  mode (the graduality test is skipped there) and then counts as
     *  bottom-up. Not owned. */
    const SpiceBitmap *bitmap;
    /* ---- the detector's ---- */
    SvStreamDetectorDrawableState state;
};

/** How a predecessor met the new drawable in the caller's tree (5.7). */
typedef enum {
    /** Same region: the new drawable replaces it (it leaves the tree; the
     *  trace update for the new drawable is not run). */
    SV_PREDECESSOR_REPLACED,
    /** Fully covered: removed from the tree without comparison. */
    SV_PREDECESSOR_COVERED,
    /** Partly or fully overlapped while excluding the new region: compared. */
    SV_PREDECESSOR_OVERLAPPED,
} SvPredecessorKind;

/** One predecessor, in the order the caller's tree met it. */
typedef struct SvStreamPredecessor {
    SvStreamDetectorDrawable *drawable; /**< not owned */
    SvPredecessorKind kind;
} SvStreamPredecessor;

/**
 * All thresholds. sv_stream_detector_config_init() sets spice-server
 * 0.15's values (reference 5.1); the fix_* flags are FALSE there, i.e.
 * spice's quirks (reference section 8) are reproduced.
 */
typedef struct SvStreamDetectorConfig {
    SvStreamingMode mode;              /**< default FILTER */
    int64_t detection_max_delta_ns;    /**< chain gap limit, default 200 ms */
    int64_t continuous_max_delta_ns;   /**< gap limit for a stream, default 1 s */
    int64_t stream_timeout_ns;         /**< stream ends after this, default 1 s */
    int64_t input_fps_timeout_ns;      /**< input-fps window, default 5 s */
    uint32_t frames_start_condition;   /**< counted frames to start, default 20 */
    double gradual_frames_start_ratio; /**< default 0.2 */
    uint32_t frames_reset_condition;   /**< frames since last gradual, default 100 */
    uint32_t min_source_area;          /**< FILTER mode, pixels, default 96 × 96 = 9216 */
    uint32_t max_fps;                  /**< initial-fps cap, default 30 (fork: 60) */
    guint max_streams;                 /**< stream slots, default 50, 1..1024 */
    guint trace_items;                 /**< item trace entries, default 8, 1..64 */
    /** Quirk 3: the 100-frame reset also restarts first_frame_time. */
    gboolean fix_reset_first_frame_time;
    /** Quirk 4: the input-fps window counts the frame that closes it. */
    gboolean fix_input_fps_window;
    /** Quirk 5: padded-stride bitmaps are measured (not NOT_AVAIL). */
    gboolean fix_graduality_stride;
    /** Quirk 10a: a frame whose predecessor is a detached stream's last
     *  drawable rejoins that stream instead of starting a new count. */
    gboolean fix_rejoin_detached;
} SvStreamDetectorConfig;

/** Fills @config with spice-server 0.15's constants and behaviour. */
SV_API void sv_stream_detector_config_init(SvStreamDetectorConfig *config);

/** The stream detector (opaque). */
typedef struct SvStreamDetector SvStreamDetector;

/**
 * @param config NULL for the defaults; copied.
 * @return a detector, or NULL with @error (SV_STREAM_DETECTOR_ERROR) if a
 *         value of @config is out of range.
 * Ownership: caller, sv_stream_detector_free().
 */
SV_API SvStreamDetector *sv_stream_detector_new(const SvStreamDetectorConfig *config,
                                                GError **error);

/** Frees @detector (NULL is fine); drawables are not touched. */
SV_API void sv_stream_detector_free(SvStreamDetector *detector);

/** The error domain of sv_stream_detector_new(). */
#define SV_STREAM_DETECTOR_ERROR (sv_stream_detector_error_quark())
SV_API GQuark sv_stream_detector_error_quark(void);

/** @return the detector's configuration (read-only). */
SV_API const SvStreamDetectorConfig *sv_stream_detector_get_config(const SvStreamDetector
                                                                       *detector);

/**
 * Changes the mode; like spice, only drawables added afterwards see it
 * (with OFF, existing streams time out).
 */
SV_API void sv_stream_detector_set_mode(SvStreamDetector *detector, SvStreamingMode mode);

/**
 * An opaque drawable @drawable is added to the tree (reference 5.7).
 * Decides whether it is a candidate, runs the comparison against each
 * predecessor in order (COVERED ones leave the tree first, as with
 * sv_stream_detector_remove()), then, unless one was REPLACED, the trace
 * update. Non-opaque drawables may be passed too: they are simply not
 * candidates.
 *
 * @param drawable input members filled, .state zeroed; the caller keeps it.
 * @param preds may be NULL when @n_preds is 0.
 * @param decisions set to the decisions taken (valid until the next call
 *        on @detector); may be NULL.
 * @return the number of decisions.
 */
SV_API guint sv_stream_detector_add(SvStreamDetector *detector, SvStreamDetectorDrawable *drawable,
                                    const SvStreamPredecessor *preds, guint n_preds,
                                    const SvStreamDecision **decisions);

/**
 * @drawable leaves the tree (covered, replaced, rendered, evicted): a
 * streamable drawable without a stream is written to the item trace. An
 * attached drawable stays attached until released. No decisions.
 */
SV_API void sv_stream_detector_remove(SvStreamDetector *detector,
                                      SvStreamDetectorDrawable *drawable);

/**
 * @drawable is about to be freed (it must have left the tree or leaves it
 * now): if attached, its stream loses it without upgrade. Call it for
 * every drawable passed to sv_stream_detector_add() before freeing it.
 * @return the number of decisions (0 or 1: DETACHED, DRAWABLE_RELEASED).
 */
SV_API guint sv_stream_detector_release(SvStreamDetector *detector,
                                        SvStreamDetectorDrawable *drawable,
                                        const SvStreamDecision **decisions);

/**
 * Time advances to @now_ns: every stream with now ≥ last frame + timeout is
 * detached (LOSSLESS upgrade) and stopped (reason TIMEOUT).
 * @return the number of decisions.
 */
SV_API guint sv_stream_detector_tick(SvStreamDetector *detector, int64_t now_ns,
                                     const SvStreamDecision **decisions);

/**
 * @return the earliest time a stream times out, or INT64_MAX if there are
 *         no streams (the worker's poll timeout).
 */
SV_API int64_t sv_stream_detector_next_timeout_ns(const SvStreamDetector *detector);

/**
 * Detaches stream @stream_id's current drawable with a LOSSLESS upgrade
 * (a non-opaque drawable drawn over it, a COPY_BITS source or a surface
 * read intersecting it; reason OVERDRAWN). The stream lives on.
 * @return the number of decisions (0 if @stream_id is not in use).
 */
SV_API guint sv_stream_detector_detach(SvStreamDetector *detector, guint stream_id,
                                       const SvStreamDecision **decisions);

/** Detaches (LOSSLESS) and stops every stream (codec change, migration). */
SV_API guint sv_stream_detector_stop_all(SvStreamDetector *detector,
                                         const SvStreamDecision **decisions);

/** The primary surface goes away: streams without a current drawable stop,
 *  the item trace is cleared. */
SV_API guint sv_stream_detector_primary_destroyed(SvStreamDetector *detector,
                                                  const SvStreamDecision **decisions);

/**
 * Stream slots are freed when stopped and unreferenced. A server whose
 * queued messages still name a stopped stream takes a reference so the id
 * is not reused too early. sv_stream_detector_stream_ref() on a stream not
 * in use returns FALSE.
 */
SV_API gboolean sv_stream_detector_stream_ref(SvStreamDetector *detector, guint stream_id);
SV_API void sv_stream_detector_stream_unref(SvStreamDetector *detector, guint stream_id);

/** A stream's state, for servers, tests and logs. */
typedef struct SvStreamInfo {
    gboolean active; /**< created and not stopped */
    uint32_t width, height;
    SpiceRect dest;
    gboolean top_down;
    int64_t last_time_ns; /**< creation time of its last frame */
    uint32_t input_fps;
    SvStreamDetectorDrawable *current; /**< NULL when detached */
} SvStreamInfo;

/** @return FALSE if @stream_id is not an active stream. */
SV_API gboolean sv_stream_detector_get_stream(const SvStreamDetector *detector, guint stream_id,
                                              SvStreamInfo *info);

/** @return the number of active streams. */
SV_API guint sv_stream_detector_get_n_streams(const SvStreamDetector *detector);

/** @return width × height summed over the active streams (reference 5.9, 6.4). */
SV_API uint64_t sv_stream_detector_get_streams_area(const SvStreamDetector *detector);

/**
 * The graduality test of reference 5.4 on @bitmap (its chunks), as spice
 * computes it; with @measure_padded_stride, padded lines are measured
 * instead of being NOT_AVAIL.
 * @param score if not NULL, the average score (0 when not computed).
 */
SV_API SvGraduality sv_bitmap_graduality(const SpiceBitmap *bitmap, gboolean measure_padded_stride,
                                         double *score);

/** @return "invalid", "not-available", "low", "medium" or "high". */
SV_API const char *sv_graduality_to_string(SvGraduality level);

/** @return a short, static description of @reason ("chain broken by a gap"). */
SV_API const char *sv_stream_reason_to_string(SvStreamReason reason);

/**
 * Why @drawable did (or did not) start or join a stream, with its
 * numbers: "not a candidate: ROP descriptor 12 is not OP_PUT (8)", "chain
 * broken by a gap of 250 ms (limit 200 ms)", "graduality LOW in 17 of 20
 * frames (at least 4 gradual needed)", "no free stream slot (50 in use)", …
 * Ownership: caller, g_free().
 */
SV_API char *sv_stream_detector_explain(const SvStreamDetector *detector,
                                        const SvStreamDetectorDrawable *drawable);

/**
 * One line describing @decision: "stream 49 created 640x360 at
 * (192,204)-(832,564) top-down, 25 fps: 20 frames, 20 gradual".
 * Ownership: caller, g_free().
 */
SV_API char *sv_stream_decision_to_string(const SvStreamDecision *decision);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvStreamDetector, sv_stream_detector_free)

#ifdef __cplusplus
}
#endif

#endif /* SPICE_VIDEO_STREAMDETECT_H */
