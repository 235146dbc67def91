/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */
/* TEMPORARY STUB: the shared frame encoder is being written. */
#include "config.h"

#include "frame-encoder.h"

VideoEncoder *sv_frame_encoder_new(const SvCodecBackendClass *klass,
                                   const SvEncoderOption *options_table,
                                   SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                   VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                   bitmap_unref_t bitmap_unref, const SvEncoderConfig *config)
{
    return NULL;
}
