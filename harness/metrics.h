/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * metrics.h: what a replay measured (docs/metrics.md): per run, per stream
 * and per 1-second window. The replay engine pushes finished records; this
 * module aggregates them with bounded memory (percentiles from log-bucketed
 * histograms with 1 % relative precision, one small record per second of
 * trace) and writes the human summary, the versioned JSON and the per-frame
 * CSV (streamed while the run goes, never kept in memory).
 *
 * JSON output is byte-identical for identical inputs: numbers are printed
 * with fixed precision, keys in a fixed order.
 */
#ifndef SV_HARNESS_METRICS_H
#define SV_HARNESS_METRICS_H

#include <stdint.h>
#include <stdio.h>

#include <glib.h>

#include <spice-video/server.h>

G_BEGIN_DECLS

/** The JSON schema version written as "schema": "spice-bench-replay/1". */
#define SV_METRICS_SCHEMA "spice-bench-replay/1"

/** What finally happened to one frame of a stream. */
typedef enum {
    SV_FRAME_FATE_SHOWN,           /**< decoded and displayed */
    SV_FRAME_FATE_DROPPED_ENCODER, /**< rate control dropped it (encode_frame DROP) */
    SV_FRAME_FATE_DROPPED_PIPE,    /**< superseded while unsent (server drop) */
    SV_FRAME_FATE_AS_IMAGE,        /**< sent as an ordinary image instead */
    SV_FRAME_FATE_NOT_DECODED,     /**< arrived but the decoder produced nothing */
    SV_FRAME_FATE_UNDELIVERED,     /**< still in flight when the run ended */
} SvFrameFate;

const char *sv_frame_fate_to_string(SvFrameFate fate);

/**
 * One guest frame of a stream (a drawable attached to a stream), with its
 * stage times on the replay timeline (ns; -1 = the stage was not reached).
 */
typedef struct SvFrameRecord {
    uint64_t drawable_seq;
    int stream_id;
    SvFrameFate fate;
    uint32_t width, height; /**< source size */
    int64_t guest_ns;       /**< guest draw (trace time) */
    int64_t encode_start_ns;
    int64_t encode_end_ns;
    int64_t sent_ns; /**< last byte on the wire */
    int64_t arrived_ns;
    int64_t decoded_ns;
    int64_t displayed_ns; /**< max(decoded, due) */
    gboolean late;        /**< margin < 0 at arrival (client counted a drop) */
    int32_t margin_ms;
    uint32_t bytes; /**< encoded bytes (0 if not encoded) */
    int64_t encode_cpu_ns;
    int64_t decode_cpu_ns;
    double psnr_y; /**< NAN when not measured */
    double ssim_y;
    uint64_t bit_rate; /**< encoder's get_bit_rate() after this frame */
} SvFrameRecord;

/** One stream as the display created it. */
typedef struct SvStreamRecord {
    int stream_id;
    uint64_t created_seq; /**< drawable that started it */
    int64_t created_ns;
    int64_t first_candidate_ns; /**< first frame of its chain (time to detect = created − this) */
    int64_t stopped_ns;         /**< -1 if still active at the end */
    uint32_t width, height;
    SpiceRect dest;
    uint32_t input_fps;
    char codec[16];   /**< "VP8"…, "" if the client got no encoder */
    char encoder[48]; /**< "gstreamer:vp8"… */
    uint64_t starting_bit_rate;
    char *negotiation; /**< sv_negotiation_describe(); owned by the metrics once added */
} SvStreamRecord;

/** Facts about the run, set once. Strings are copied. */
typedef struct SvRunInfo {
    const char *trace;
    const char *video_codecs;
    const char *client;
    const char *net;       /**< the profile description */
    const char *streaming; /**< "off", "all", "filter" */
    const char *latency_policy;
    gboolean deterministic;
    uint64_t seed;
    int64_t trace_duration_ns;
    int64_t replay_wall_ns;
    int64_t cpu_total_ns; /**< process CPU time of the run */
    int64_t cpu_encode_ns;
    int64_t cpu_decode_ns;
    int64_t cpu_lz4_ns;
    uint64_t guest_draws;
    uint64_t guest_draw_bytes; /**< bytes of bitmaps the guest sent */
    double final_psnr_y;       /**< client screen vs guest screen at the end, NAN if none */
    double final_ssim_y;
    uint64_t start_bit_rate_test_bps; /**< network test result (0 = none) */
    int64_t roundtrip_ns;             /**< minimum ping */
    uint32_t mm_time_latency_ms;      /**< at the end */
    const char *labels;               /**< labels file, NULL if none */
} SvRunInfo;

typedef struct SvMetrics SvMetrics;

/**
 * @param csv_path per-frame CSV (written as frames complete), NULL for none.
 *        Written to PATH.tmp and renamed by sv_metrics_finish().
 */
SvMetrics *sv_metrics_new(const char *csv_path, GError **error);
void sv_metrics_free(SvMetrics *metrics);

/**
 * Sets the timeline time of the trace's first event (labels' times count
 * from it; window N is the Nth second after it). Default 0: the replay
 * timeline starts at the first event (docs/replay.md). Call before any
 * sv_metrics_add_*().
 */
void sv_metrics_set_origin(SvMetrics *metrics, int64_t origin_ns);

void sv_metrics_add_frame(SvMetrics *metrics, const SvFrameRecord *frame);
/** Takes ownership of @stream->negotiation. Replaces an earlier record of the same id and creation.
 */
void sv_metrics_add_stream(SvMetrics *metrics, const SvStreamRecord *stream);
/** Marks the stream created at @created_ns as stopped. */
void sv_metrics_stream_stopped(SvMetrics *metrics, int stream_id, int64_t stopped_ns);
/** Bytes whose last byte left the sender at @t_ns; @video: stream data. */
void sv_metrics_add_bytes(SvMetrics *metrics, int64_t t_ns, uint64_t bytes, gboolean video);
/** Link capacity sample (for utilisation). */
void sv_metrics_add_capacity(SvMetrics *metrics, int64_t t_ns, uint64_t capacity_bps);
/** A guest frame that was a stream candidate in the labels but never streamed, etc. */
void sv_metrics_add_guest_draw(SvMetrics *metrics, int64_t t_ns, gboolean stream_frame);
/** Rate controller sample after an encode: bit rate and quality for stream @stream_id. */
void sv_metrics_add_rate_sample(SvMetrics *metrics, int64_t t_ns, int stream_id, uint64_t bit_rate,
                                double avg_quality);
/**
 * Labels (from `spice-bench trace gen`'s OUT.labels.json): @n video regions
 * that should become streams, for time-to-detect and false streams.
 */
gboolean sv_metrics_load_labels(SvMetrics *metrics, const char *path, GError **error);

/** Sets the run facts and closes the CSV. */
gboolean sv_metrics_finish(SvMetrics *metrics, const SvRunInfo *info, GError **error);

/** Writes the JSON report (schema SV_METRICS_SCHEMA) to @path ("-": stdout), via PATH.tmp. */
gboolean sv_metrics_write_json(const SvMetrics *metrics, const char *path, GError **error);
/** The one-screen human summary. */
void sv_metrics_print_summary(const SvMetrics *metrics, FILE *out);

/** Summary numbers, for tests and callers. */
typedef struct SvMetricsSummary {
    uint64_t frames; /**< stream frames from the guest */
    uint64_t shown;
    uint64_t dropped_encoder;
    uint64_t dropped_pipe;
    uint64_t as_image;
    uint64_t late;
    uint64_t not_decoded;
    uint64_t undelivered;
    guint streams;
    uint64_t total_bytes, video_bytes;
    double mean_bps, p95_bps;
    double latency_p50_ms, latency_p95_ms, latency_p99_ms, latency_max_ms; /**< guest → displayed */
    double psnr_mean, ssim_mean; /**< over shown frames with a measure; NAN if none */
    double delivered_fps;
} SvMetricsSummary;

void sv_metrics_get_summary(const SvMetrics *metrics, SvMetricsSummary *summary);

G_END_DECLS

#endif /* SV_HARNESS_METRICS_H */
