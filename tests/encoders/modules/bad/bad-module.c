/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Modules the loader must refuse (tests/encoders/test-modules.c), one per
 * value of BAD_KIND. Each would register badmod_ok:mjpeg before the
 * faulty entry, so the test can check that nothing of a refused module is
 * registered.
 */
#include <spice-video/module.h>

#define BAD_ABI 1
#define BAD_NO_SYMBOLS 2
#define BAD_BUILTIN_NAME 3
#define BAD_CAP 4

#ifndef BAD_KIND
#error "BAD_KIND is set by meson.build"
#endif

#if BAD_KIND == BAD_NO_SYMBOLS
/* A shared object, but no module. */
SV_MODULE_EXPORT int bad_module_something;
#else

static VideoEncoder *bad_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                             VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                             bitmap_unref_t bitmap_unref)
{
    return NULL;
}

static const SvModuleEncoder bad_encoders[] = {
    {
        .encoder_name = "badmod_ok",
        .codec_name = "mjpeg",
        .codec_type = SPICE_VIDEO_CODEC_TYPE_MJPEG,
        .cap = SPICE_DISPLAY_CAP_CODEC_MJPEG,
        .create = bad_new,
    },
    {
#if BAD_KIND == BAD_BUILTIN_NAME
        .encoder_name = "x264",
#else
        .encoder_name = "badmod",
#endif
        .codec_name = "h264",
        .codec_type = SPICE_VIDEO_CODEC_TYPE_H264,
#if BAD_KIND == BAD_CAP
        .cap = SPICE_DISPLAY_CAP_CODEC_VP8,
#else
        .cap = SPICE_DISPLAY_CAP_CODEC_H264,
#endif
        .create = bad_new,
    },
};

static const SvModuleInfo bad_info = {
    .abi_version = SV_MODULE_ABI_VERSION,
    .name = "badmod",
    .version = "1",
    .encoders = bad_encoders,
    .n_encoders = G_N_ELEMENTS(bad_encoders),
};

#if BAD_KIND == BAD_ABI
/* What a module built against a future module.h would export. */
SV_MODULE_EXPORT const uint32_t sv_video_module_abi = SV_MODULE_ABI_VERSION + 1;
SV_MODULE_EXPORT const SvModuleInfo *sv_video_module_info(void);
const SvModuleInfo *sv_video_module_info(void)
{
    return &bad_info;
}
#else
SV_VIDEO_MODULE_DEFINE(bad_info)
#endif
#endif
