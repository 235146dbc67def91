/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * fakemod: a well-formed test module (tests/encoders/test-modules.c).
 * fakemod:mjpeg is the library's own MJPEG encoder behind a module's
 * factory, as a module wrapping a spice-server encoder would be;
 * fakemod:vp8's probe always fails, with a reason.
 */
#include <stdio.h>

#include <spice-video/module.h>

static VideoEncoder *fakemod_mjpeg_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                       VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                       bitmap_unref_t bitmap_unref)
{
    return sv_mjpeg_encoder_new(codec_type, starting_bit_rate, cbs, bitmap_ref, bitmap_unref);
}

static VideoEncoder *fakemod_vp8_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                     VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                     bitmap_unref_t bitmap_unref)
{
    return NULL;
}

static int fakemod_vp8_probe(char *why, size_t why_size)
{
    snprintf(why, why_size, "fakemod vp8 needs a hardware encoder, none found");
    return 0;
}

static const char *const fakemod_speeds[] = {"slow", "fast", NULL};

static const SvEncoderOption fakemod_options[] = {
    {.name = "speed",
     .type = SV_OPTION_ENUM,
     .choices = fakemod_speeds,
     .default_value = 1,
     .help = "a test option"},
    {.name = NULL},
};

static const SvModuleEncoder fakemod_encoders[] = {
    {
        .encoder_name = "fakemod",
        .codec_name = "mjpeg",
        .codec_type = SPICE_VIDEO_CODEC_TYPE_MJPEG,
        .cap = SPICE_DISPLAY_CAP_CODEC_MJPEG,
        .create = fakemod_mjpeg_new,
        .options = fakemod_options,
        .rank = 100,
        .description = "test module: the built-in MJPEG encoder behind a module factory",
    },
    {
        .encoder_name = "fakemod",
        .codec_name = "vp8",
        .codec_type = SPICE_VIDEO_CODEC_TYPE_VP8,
        .cap = SPICE_DISPLAY_CAP_CODEC_VP8,
        .create = fakemod_vp8_new,
        .probe = fakemod_vp8_probe,
        .rank = 0,
        .description = "test module: a VP8 encoder whose probe always fails",
    },
};

static const SvModuleInfo fakemod_info = {
    .abi_version = SV_MODULE_ABI_VERSION,
    .name = "fakemod",
    .version = "1.2.3",
    .encoders = fakemod_encoders,
    .n_encoders = G_N_ELEMENTS(fakemod_encoders),
};

SV_VIDEO_MODULE_DEFINE(fakemod_info)
