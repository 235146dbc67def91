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

#ifdef __cplusplus
}
#endif

#endif /* SPICE_VIDEO_ENCODERS_H */
