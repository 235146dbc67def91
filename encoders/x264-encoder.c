/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */
/* TEMPORARY STUB: the x264 backend is being written. */
#include "config.h"

#include "frame-encoder.h"

VideoEncoder *sv_x264_encoder_new_full(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                       VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                       bitmap_unref_t bitmap_unref, const SvEncoderConfig *config)
{
    return NULL;
}

VideoEncoder *sv_x264_encoder_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                  VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                  bitmap_unref_t bitmap_unref)
{
    return sv_x264_encoder_new_full(codec_type, starting_bit_rate, cbs, bitmap_ref, bitmap_unref,
                                    NULL);
}
