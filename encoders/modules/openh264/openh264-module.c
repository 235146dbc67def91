/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The openh264 module: its glue. A module is a table of encoder
 * descriptors behind SV_VIDEO_MODULE_DEFINE(); each factory has
 * spice-server's new_video_encoder_t signature. This one wraps a codec
 * backend (openh264-backend.c) in the shared frame encoder, which brings
 * spice's rate control and the conversion to I420 (docs/modules.md).
 */
#include "config.h"

#include <spice-video/module.h>

#include "frame-encoder.h"
#include "openh264-backend.h"

static VideoEncoder *openh264_encoder_new_full(SpiceVideoCodecType codec_type,
                                               uint64_t starting_bit_rate,
                                               VideoEncoderRateControlCbs *cbs,
                                               bitmap_ref_t bitmap_ref, bitmap_unref_t bitmap_unref,
                                               const SvEncoderConfig *config)
{
    return sv_frame_encoder_new(&sv_openh264_backend_class, sv_openh264_options, codec_type,
                                starting_bit_rate, cbs, bitmap_ref, bitmap_unref, config);
}

static VideoEncoder *openh264_encoder_new(SpiceVideoCodecType codec_type,
                                          uint64_t starting_bit_rate,
                                          VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                          bitmap_unref_t bitmap_unref)
{
    return openh264_encoder_new_full(codec_type, starting_bit_rate, cbs, bitmap_ref, bitmap_unref,
                                     NULL);
}

static const SvModuleEncoder encoders[] = {
    {
        .encoder_name = "openh264",
        .codec_name = "h264",
        .codec_type = SPICE_VIDEO_CODEC_TYPE_H264,
        .cap = SPICE_DISPLAY_CAP_CODEC_H264,
        .create = openh264_encoder_new,
        .create_full = openh264_encoder_new_full,
        .probe = sv_openh264_probe,
        .options = sv_openh264_options,
        .rank = 0, /* only when named in a preference string */
        .description = "H.264 Constrained Baseline with Cisco's OpenH264 (module)",
    },
};

static const SvModuleInfo info = {
    .abi_version = SV_MODULE_ABI_VERSION,
    .name = "openh264",
    .version = SV_VERSION,
    .encoders = encoders,
    .n_encoders = G_N_ELEMENTS(encoders),
};

SV_VIDEO_MODULE_DEFINE(info)
