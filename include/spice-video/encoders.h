/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * encoders.h: the encoder factories libspice-video provides, and the
 * extended creation settings (a clock) they accept beyond spice's signature.
 */
#ifndef SPICE_VIDEO_ENCODERS_H
#define SPICE_VIDEO_ENCODERS_H

#include <spice-video/video-encoder.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A source of monotonic time. Encoders read it for every rate-control
 * decision, so a replay can drive them with a virtual clock.
 */
typedef struct SvClock {
    /** @return monotonic time, ns. NULL means CLOCK_MONOTONIC. */
    int64_t (*now_ns)(void *opaque);
    /** The argument of now_ns. */
    void *opaque;
} SvClock;

/** The kind of value an encoder option takes. */
typedef enum {
    SV_OPTION_INT,  /**< an integer in [min, max] */
    SV_OPTION_BOOL, /**< 0 or 1; accepts true/false/yes/no/on/off/1/0 */
    SV_OPTION_ENUM, /**< one of choices[]; the value is the index */
} SvOptionType;

/**
 * One option an encoder accepts (preset, key-frame interval, threads,
 * 4:4:4, tuning…). Each encoder descriptor lists its options in one table,
 * shown by `spice-bench list-encoders -v`.
 */
typedef struct SvEncoderOption {
    const char *name; /**< as written in option strings; NULL ends a table */
    SvOptionType type;
    int min, max;               /**< SV_OPTION_INT: the accepted range */
    int default_value;          /**< value when the option is not given */
    const char *const *choices; /**< SV_OPTION_ENUM: NULL-terminated names */
    const char *help;           /**< one line */
} SvEncoderOption;

/** At most this many options per encoder. */
#define SV_MAX_ENCODER_OPTIONS 16

/**
 * Parses an option string `name=value,name=value` against @table
 * (NULL-terminated by name), filling @values (SV_MAX_ENCODER_OPTIONS
 * entries, index = position in @table) with defaults first.
 *
 * @param string may be NULL or empty (all defaults).
 * @return FALSE with @error naming the option and what was expected
 *         ("unknown option 'foo' (expected: preset, keyint)", "keyint: 100000
 *         is out of range 0..10000") for bad input.
 */
SV_API gboolean sv_encoder_options_parse(const SvEncoderOption *table, const char *string,
                                         int *values, GError **error);

/**
 * @return "name=value,…" with every option of @table, for logs and reports.
 * Ownership: caller, g_free().
 */
SV_API char *sv_encoder_options_to_string(const SvEncoderOption *table, const int *values);

/** Creation settings beyond spice's factory signature. */
typedef struct SvEncoderConfig {
    /** Time source; a zeroed SvClock means the system monotonic clock. */
    SvClock clock;
    /** 0: rate control as spice-server does it. 1..100: encode every frame
     *  at this fixed quality, never drop, ignore reports (benchmarks,
     *  quality sweeps). Encoders without a quality scale ignore it. */
    int fixed_quality;
    /** TRUE: reproduce spice-server 0.15's known defects bit for bit where
     *  this library fixes them (see docs/mjpeg-encoder.md, "Differences
     *  from spice-server"). FALSE (the default): the fixed behaviour. */
    gboolean spice_quirks;
    /** Encoder options, `name=value,…` (see SvEncoderOption), or NULL. A
     *  factory given an option string it cannot parse returns NULL; check it
     *  first with sv_encoder_options_parse() to get the reason. */
    const char *options;
    /** TRUE: streaming encoders encode every frame at starting_bit_rate,
     *  never drop and ignore reports and server drops (benchmarks). The
     *  MJPEG encoder uses fixed_quality for the same purpose. */
    gboolean no_rate_control;
    /** Longest time encode_frame() may wait for an encoder's output, ns;
     *  0 means 1 s. spice-server waits forever (reference 4.3). */
    int64_t encode_timeout_ns;
    /** > 0: encoders with a `threads` option use at most this many threads
     *  (their `auto` default included). 1 makes multi-threaded encoders
     *  (x264) produce the same bytes on every run, as deterministic replays
     *  need. 0: no limit. */
    int max_threads;
    /** TRUE: libvpx VP8's real-time mode, which picks its speed from the
     *  time each encode takes when `cpu-used` is N > 0, runs at the fixed
     *  speed N instead (cpu-used −N), so its bytes do not depend on the
     *  machine's load: deterministic replays need it (docs/replay.md). */
    gboolean fixed_speed;
    /** TRUE: a streaming encoder lowering its bit rate lowers its backend's
     *  target with it (to the rate × 4/3 an increase sets), when the backend
     *  takes the change live: frames get smaller rather than fewer. spice
     *  keeps the backend's target and drops frames until they are 1/3 s
     *  apart, so each frame keeps its size and its time on the link. The
     *  INTERACTIVE latency policy sets it (docs/latency.md). */
    gboolean low_delay;
} SvEncoderConfig;

/**
 * The built-in MJPEG encoder (libjpeg-turbo), with spice-server's rate
 * control. Has the new_video_encoder_t signature.
 *
 * @return a new encoder, or NULL if @codec_type is not
 *         SPICE_VIDEO_CODEC_TYPE_MJPEG.
 * Thread: any; the encoder is then used from one thread at a time.
 */
SV_API VideoEncoder *sv_mjpeg_encoder_new(SpiceVideoCodecType codec_type,
                                          uint64_t starting_bit_rate,
                                          VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                          bitmap_unref_t bitmap_unref);

/**
 * sv_mjpeg_encoder_new() with creation settings.
 * @param config may be NULL (defaults); copied.
 */
SV_API VideoEncoder *sv_mjpeg_encoder_new_full(SpiceVideoCodecType codec_type,
                                               uint64_t starting_bit_rate,
                                               VideoEncoderRateControlCbs *cbs,
                                               bitmap_ref_t bitmap_ref, bitmap_unref_t bitmap_unref,
                                               const SvEncoderConfig *config);

/**
 * Where the MJPEG encoder's rate control stands; for tests, logs and the
 * benchmark reports. Not part of spice's contract.
 */
typedef struct SvMjpegRateState {
    int quality_index;   /**< 0..6 on the ladder 20..80 */
    int quality;         /**< JPEG quality of that index */
    uint32_t fps;        /**< chosen frame rate, 1..25 */
    double adjusted_fps; /**< pacing rate after compensation */
    uint64_t byte_rate;  /**< target, bytes/s */
    gboolean evaluating; /**< a quality evaluation is running */
    gboolean warming_up; /**< decreases are still ignored */
} SvMjpegRateState;

/**
 * Reads the rate-control state of an encoder made by sv_mjpeg_encoder_new*.
 * @return FALSE (and leaves @state alone) if @encoder is not one.
 */
SV_API gboolean sv_mjpeg_encoder_get_rate_state(VideoEncoder *encoder, SvMjpegRateState *state);

/*
 * The streaming encoders. Each has the new_video_encoder_t signature (plus a
 * _full variant taking an SvEncoderConfig) and spice-server's GStreamer rate
 * control; each exists in every build and returns NULL where its library
 * was not built in or cannot serve @codec_type (see `spice-bench
 * list-encoders`). Input is converted to I420 (I444 with the yuv444 option)
 * with libyuv. Thread: as sv_mjpeg_encoder_new.
 */

/** GStreamer pipelines: MJPEG (avenc_mjpeg), VP8 (vp8enc), H.264 (x264enc),
 *  VP9 (vp9enc), H.265 (x265enc). */
SV_API VideoEncoder *sv_gstreamer_encoder_new(SpiceVideoCodecType codec_type,
                                              uint64_t starting_bit_rate,
                                              VideoEncoderRateControlCbs *cbs,
                                              bitmap_ref_t bitmap_ref, bitmap_unref_t bitmap_unref);
SV_API VideoEncoder *sv_gstreamer_encoder_new_full(SpiceVideoCodecType codec_type,
                                                   uint64_t starting_bit_rate,
                                                   VideoEncoderRateControlCbs *cbs,
                                                   bitmap_ref_t bitmap_ref,
                                                   bitmap_unref_t bitmap_unref,
                                                   const SvEncoderConfig *config);

/** libx264 directly: H.264 only. */
SV_API VideoEncoder *sv_x264_encoder_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                         VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                         bitmap_unref_t bitmap_unref);
SV_API VideoEncoder *sv_x264_encoder_new_full(SpiceVideoCodecType codec_type,
                                              uint64_t starting_bit_rate,
                                              VideoEncoderRateControlCbs *cbs,
                                              bitmap_ref_t bitmap_ref, bitmap_unref_t bitmap_unref,
                                              const SvEncoderConfig *config);

/** libvpx directly: VP8 and VP9. */
SV_API VideoEncoder *sv_vpx_encoder_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                        VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                        bitmap_unref_t bitmap_unref);
SV_API VideoEncoder *sv_vpx_encoder_new_full(SpiceVideoCodecType codec_type,
                                             uint64_t starting_bit_rate,
                                             VideoEncoderRateControlCbs *cbs,
                                             bitmap_ref_t bitmap_ref, bitmap_unref_t bitmap_unref,
                                             const SvEncoderConfig *config);

#ifdef __cplusplus
}
#endif

#endif /* SPICE_VIDEO_ENCODERS_H */
