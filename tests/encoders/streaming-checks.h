/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Bitstream checks shared by the streaming encoder tests: what spice-gtk's
 * decoders need to find at the start of a stream (codec-backend.h,
 * "Bitstream contract").
 */
#ifndef SV_TESTS_STREAMING_CHECKS_H
#define SV_TESTS_STREAMING_CHECKS_H

#include <glib.h>
#include <stdint.h>

/* memcheck's client requests (no-ops outside valgrind; absent without the
 * valgrind package's headers). */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#endif
#endif
#ifndef VALGRIND_MAKE_MEM_DEFINED
#define VALGRIND_MAKE_MEM_DEFINED(addr, len) ((void)0)
#endif

/* H.264 NAL unit types. */
#define H264_NAL_IDR 5
#define H264_NAL_SPS 7
#define H264_NAL_PPS 8
/* H.265 NAL unit types. */
#define H265_NAL_IDR_W_RADL 19
#define H265_NAL_IDR_N_LP 20
#define H265_NAL_VPS 32
#define H265_NAL_SPS 33
#define H265_NAL_PPS 34

/* What an Annex-B access unit holds. */
typedef struct {
    gboolean starts_with_start_code;
    guint64 nal_types;    /* bit n: a NAL of type n was seen (H.264: 0..31, H.265: 0..63) */
    int h264_profile_idc; /* from the first SPS, or -1 */
} AnnexBInfo;

/* Scans @data for 00 00 01 start codes. @h265 selects the NAL header layout. */
static inline AnnexBInfo annexb_scan(const uint8_t *data, size_t size, gboolean h265)
{
    AnnexBInfo info = {FALSE, 0, -1};

    /* x265 leaves bytes of its output undefined to memcheck (tests/valgrind.supp,
     * x265enc-output-*: also without spice-video); they are the bytes x265 wrote,
     * so the scan takes them as they are. Nothing outside valgrind. */
    if (h265) {
        VALGRIND_MAKE_MEM_DEFINED(data, size);
    }

    info.starts_with_start_code =
        (size >= 4 && data[0] == 0 && data[1] == 0 && data[2] == 0 && data[3] == 1) ||
        (size >= 3 && data[0] == 0 && data[1] == 0 && data[2] == 1);
    for (size_t i = 0; i + 3 < size; i++) {
        if (data[i] != 0 || data[i + 1] != 0 || data[i + 2] != 1) {
            continue;
        }
        uint8_t header = data[i + 3];
        unsigned type = h265 ? (header >> 1) & 0x3f : header & 0x1f;
        info.nal_types |= G_GUINT64_CONSTANT(1) << type;
        if (!h265 && type == H264_NAL_SPS && info.h264_profile_idc < 0 && i + 4 < size) {
            info.h264_profile_idc = data[i + 4];
        }
        i += 2;
    }
    return info;
}

static inline gboolean annexb_has(const AnnexBInfo *info, unsigned type)
{
    return (info->nal_types & (G_GUINT64_CONSTANT(1) << type)) != 0;
}

/* @return whether an H.264 / H.265 access unit holds an IDR picture. */
static inline gboolean annexb_is_idr(const uint8_t *data, size_t size, gboolean h265)
{
    AnnexBInfo info = annexb_scan(data, size, h265);
    return h265 ? annexb_has(&info, H265_NAL_IDR_W_RADL) || annexb_has(&info, H265_NAL_IDR_N_LP)
                : annexb_has(&info, H264_NAL_IDR);
}

/* VP8 frame tag: bit 0 of the first byte is 0 for a key frame. */
static inline gboolean vp8_is_key_frame(const uint8_t *data, size_t size)
{
    return size >= 3 && (data[0] & 1) == 0;
}

/* VP9 uncompressed header, profiles 0-2: frame_marker (2 bits, = 2),
 * profile_low_bit, profile_high_bit, show_existing_frame, frame_type (0 = key). */
static inline int vp9_profile(const uint8_t *data, size_t size)
{
    if (size < 1 || (data[0] >> 6) != 2) {
        return -1;
    }
    return ((data[0] >> 5) & 1) | (((data[0] >> 4) & 1) << 1);
}

static inline gboolean vp9_is_key_frame(const uint8_t *data, size_t size)
{
    int profile = vp9_profile(data, size);
    if (profile < 0 || profile == 3) {
        return FALSE; /* profile 3 has a reserved bit first; never produced here */
    }
    return ((data[0] >> 3) & 1) == 0 && ((data[0] >> 2) & 1) == 0;
}

static inline gboolean jpeg_has_soi(const uint8_t *data, size_t size)
{
    return size >= 2 && data[0] == 0xff && data[1] == 0xd8;
}

/* ---- encoder plumbing: a virtual clock, a fixed source rate, counted
 * bitmap references (every ref must be unreffed by the end) ---- */

#define SV_TEST_SOURCE_FPS 30

static G_GNUC_UNUSED int64_t virtual_now_ns;
static G_GNUC_UNUSED guint n_bitmap_refs;

static G_GNUC_UNUSED int64_t virtual_clock(void *opaque)
{
    (void)opaque;
    return virtual_now_ns;
}

static G_GNUC_UNUSED uint32_t source_fps(void *opaque)
{
    (void)opaque;
    return SV_TEST_SOURCE_FPS;
}

static G_GNUC_UNUSED void bitmap_ref(gpointer data)
{
    (void)data;
    n_bitmap_refs++;
}

static G_GNUC_UNUSED void bitmap_unref(gpointer data)
{
    (void)data;
    g_assert_cmpuint(n_bitmap_refs, >, 0);
    n_bitmap_refs--;
}

#endif /* SV_TESTS_STREAMING_CHECKS_H */
