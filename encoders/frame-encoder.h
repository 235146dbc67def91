/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * frame-encoder.h: the VideoEncoder shared by the GStreamer and native
 * encoders: spice-server's GStreamer rate control (reference 4.4, 4.7-4.10)
 * around a codec backend, fed I420/I444 converted once per frame with
 * libyuv. Internal: not installed.
 */
#ifndef SV_ENCODERS_FRAME_ENCODER_H
#define SV_ENCODERS_FRAME_ENCODER_H

#include "codec-backend.h"

/*
 * Creates a frame encoder around @klass. Has the semantics of a
 * new_video_encoder_t: NULL when the backend cannot serve @codec_type here
 * (its create() failed) or when @config's options do not parse against
 * @options_table (the reason is logged with g_debug).
 *
 * @options_table: the descriptor's option table (may be NULL).
 * @config: may be NULL (defaults, system clock, 1 s encode timeout).
 */
VideoEncoder *sv_frame_encoder_new(const SvCodecBackendClass *klass,
                                   const SvEncoderOption *options_table,
                                   SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                   VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                   bitmap_unref_t bitmap_unref, const SvEncoderConfig *config);

/* Where the rate control of a frame encoder stands (reference 4.7); for
 * tests, logs and benchmark reports. Not part of spice's contract. */
typedef enum {
    SV_FRAME_RATE_DECREASING,
    SV_FRAME_RATE_INCREASING,
    SV_FRAME_RATE_STABLE,
} SvFrameRateStatus;

typedef struct SvFrameRateState {
    uint64_t bit_rate;       /* network target enforced by the virtual buffer, bit/s */
    uint64_t video_bit_rate; /* target given to the backend, bit/s */
    uint64_t min_bit_rate;   /* probed range, bit/s */
    uint64_t max_bit_rate;
    uint64_t bit_rate_step; /* additive step, bit/s */
    SvFrameRateStatus status;
    uint32_t increase_interval_ms;
    uint32_t last_change_mm_time;
    int64_t vbuffer_size_bytes;
    int64_t vbuffer_free_bytes; /* negative: in deficit, frames are being dropped */
    uint32_t next_frame_mm_time;
    uint32_t errors;         /* failures since the last size/format change */
    uint32_t backend_starts; /* start() calls that succeeded */
} SvFrameRateState;

/*
 * Reads the rate-control state of an encoder made by sv_frame_encoder_new().
 * @return FALSE (and leaves @state alone) if @encoder is not one.
 */
gboolean sv_frame_encoder_get_rate_state(VideoEncoder *encoder, SvFrameRateState *state);

/*
 * The bit rate, bit/s, of the encoded frames from @start_mm_time to
 * @end_mm_time as the client-report logic computes it (reference 4.8); 0
 * if either is not in the frame history. For tests.
 */
uint64_t sv_frame_encoder_get_period_bit_rate(VideoEncoder *encoder, uint32_t start_mm_time,
                                              uint32_t end_mm_time);

#endif /* SV_ENCODERS_FRAME_ENCODER_H */
