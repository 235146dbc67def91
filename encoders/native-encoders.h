/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * native-encoders.h: the codec backends that call libx264 and libvpx
 * directly, and their option tables, for the registry and the backend
 * tests. Each symbol exists only when its library was built in
 * (SV_HAVE_X264, SV_HAVE_VPX in config.h). Internal: not installed.
 */
#ifndef SV_ENCODERS_NATIVE_ENCODERS_H
#define SV_ENCODERS_NATIVE_ENCODERS_H

#include "codec-backend.h"

/* libx264, H.264 only. Options, in this order (the index of a value in the
 * options array handed to create()): */
enum {
    SV_X264_OPTION_PRESET,        /* enum, x264's preset names, default ultrafast */
    SV_X264_OPTION_TUNE,          /* enum, none or an x264 tune; zerolatency is always on */
    SV_X264_OPTION_KEYINT,        /* int, frames between IDRs, 0 = only when needed */
    SV_X264_OPTION_THREADS,       /* int, 0 = x264's choice (sliced threads) */
    SV_X264_OPTION_INTRA_REFRESH, /* bool, periodic intra refresh instead of IDRs */
    SV_X264_OPTION_YUV444,        /* bool, I444 input and High 4:4:4 Predictive */
    SV_X264_N_OPTIONS,
};
extern const SvCodecBackendClass sv_x264_backend_class;
extern const SvEncoderOption sv_x264_options[];

/* libvpx, VP8 and VP9. VP8's table has the first SV_VPX_N_VP8_OPTIONS
 * entries of VP9's, in the same order. */
enum {
    SV_VPX_OPTION_CPU_USED, /* int, VP8 -16..16 (default 16), VP9 -9..9 (default 9) */
    SV_VPX_OPTION_KEYINT,   /* int, frames between key frames, 0 = only when needed */
    SV_VPX_OPTION_THREADS,  /* int, 0 = VP8: one, VP9: one per processor, at most 8 */
    SV_VPX_OPTION_TUNE,     /* enum, default or screen (screen-content tools) */
    SV_VPX_OPTION_YUV444,   /* bool, VP9 profile 1 with I444; VP8 refuses it */
    SV_VPX_N_VP8_OPTIONS,
    SV_VPX_OPTION_ROW_MT = SV_VPX_N_VP8_OPTIONS, /* bool, VP9 row-based multithreading */
    SV_VPX_OPTION_TILE_COLUMNS,                  /* int, log2 of the tile columns, -1 = auto */
    SV_VPX_N_VP9_OPTIONS,
};
extern const SvCodecBackendClass sv_vpx_backend_class;
extern const SvEncoderOption sv_vpx_vp8_options[];
extern const SvEncoderOption sv_vpx_vp9_options[];

#endif /* SV_ENCODERS_NATIVE_ENCODERS_H */
