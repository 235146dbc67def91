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

#endif /* SV_ENCODERS_FRAME_ENCODER_H */
