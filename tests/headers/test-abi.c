/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The binary contract with spice-server 0.15 and spice-common: a server that
 * was compiled against its own video-encoder.h and draw.h calls into this
 * library with those layouts, so sizes and offsets are pinned here as
 * literal numbers (x86-64, LP64), worked out by hand from the member types.
 * A changed number is an ABI break, never a test to update.
 */
#include <stddef.h>

#include <spice-video/spice-video.h>

/* Checked when this file is compiled: every factory keeps spice's
 * new_video_encoder_t signature, so it fits spice-server's codec table
 * unchanged (no cast). */
static const new_video_encoder_t mjpeg_factory = sv_mjpeg_encoder_new;

/*
 * Functions with spice-server 0.15's method signatures. Assigning them to the
 * VideoEncoder / VideoEncoderRateControlCbs members below fails to compile
 * (-Werror=incompatible-pointer-types) if a member's type drifts.
 */
static void fake_destroy(VideoEncoder *encoder)
{
}

static VideoEncodeResults fake_encode_frame(VideoEncoder *encoder, uint32_t frame_mm_time,
                                            const SpiceBitmap *bitmap, const SpiceRect *src,
                                            int top_down, gpointer bitmap_opaque,
                                            VideoBuffer **outbuf)
{
    return VIDEO_ENCODER_FRAME_UNSUPPORTED;
}

static void fake_client_stream_report(VideoEncoder *encoder, uint32_t num_frames,
                                      uint32_t num_drops, uint32_t start_frame_mm_time,
                                      uint32_t end_frame_mm_time, int32_t end_frame_delay,
                                      uint32_t audio_delay)
{
}

static void fake_notify_server_frame_drop(VideoEncoder *encoder)
{
}

static uint64_t fake_get_bit_rate(VideoEncoder *encoder)
{
    return 0;
}

static void fake_get_stats(VideoEncoder *encoder, VideoEncoderStats *stats)
{
}

static uint32_t fake_get_roundtrip_ms(void *opaque)
{
    return 0;
}

static uint32_t fake_get_source_fps(void *opaque)
{
    return 0;
}

static void fake_update_client_playback_delay(void *opaque, uint32_t delay_ms)
{
}

static void fake_buffer_free(VideoBuffer *buffer)
{
}

static void fake_bitmap_ref(gpointer data)
{
}

static const VideoEncoder fake_encoder = {
    .destroy = fake_destroy,
    .encode_frame = fake_encode_frame,
    .client_stream_report = fake_client_stream_report,
    .notify_server_frame_drop = fake_notify_server_frame_drop,
    .get_bit_rate = fake_get_bit_rate,
    .get_stats = fake_get_stats,
    .codec_type = SPICE_VIDEO_CODEC_TYPE_MJPEG,
};

static const VideoEncoderRateControlCbs fake_cbs = {
    .opaque = NULL,
    .get_roundtrip_ms = fake_get_roundtrip_ms,
    .get_source_fps = fake_get_source_fps,
    .update_client_playback_delay = fake_update_client_playback_delay,
};

static const VideoBuffer fake_buffer = {
    .data = NULL,
    .size = 0,
    .free = fake_buffer_free,
};

static const bitmap_ref_t fake_ref = fake_bitmap_ref;
static const bitmap_unref_t fake_unref = fake_bitmap_ref;

#define MEMBER_SIZE(type, member) sizeof(((type *)NULL)->member)

/* One member: its offset and its size, both in bytes. */
#define CHECK_MEMBER(type, member, offset, size)                                              \
    do {                                                                                      \
        g_test_message("%s.%s: offset %zu, size %zu", #type, #member, offsetof(type, member), \
                       MEMBER_SIZE(type, member));                                            \
        g_assert_cmpuint(offsetof(type, member), ==, (offset));                               \
        g_assert_cmpuint(MEMBER_SIZE(type, member), ==, (size));                              \
    } while (0)

/* The whole struct: size and alignment, in bytes. */
#define CHECK_TYPE(type, size, align)                  \
    do {                                               \
        g_assert_cmpuint(sizeof(type), ==, (size));    \
        g_assert_cmpuint(_Alignof(type), ==, (align)); \
    } while (0)

/* The numbers below hold for x86-64 with the LP64 model (not x32). */
static gboolean skip_unless_x86_64_lp64(void)
{
#if defined(__x86_64__) && defined(__LP64__)
    return FALSE;
#else
    g_test_skip("layouts are pinned for x86-64 LP64 only");
    return TRUE;
#endif
}

static void test_video_buffer(void)
{
    if (skip_unless_x86_64_lp64()) {
        return;
    }
    CHECK_MEMBER(VideoBuffer, data, 0, 8);
    CHECK_MEMBER(VideoBuffer, size, 8, 4);
    CHECK_MEMBER(VideoBuffer, free, 16, 8);
    CHECK_TYPE(VideoBuffer, 24, 8);
    g_assert_true(fake_buffer.free == fake_buffer_free);
}

static void test_video_encoder_stats(void)
{
    if (skip_unless_x86_64_lp64()) {
        return;
    }
    CHECK_MEMBER(VideoEncoderStats, starting_bit_rate, 0, 8);
    CHECK_MEMBER(VideoEncoderStats, cur_bit_rate, 8, 8);
    CHECK_MEMBER(VideoEncoderStats, avg_quality, 16, 8);
    CHECK_TYPE(VideoEncoderStats, 24, 8);
}

static void test_video_encoder(void)
{
    if (skip_unless_x86_64_lp64()) {
        return;
    }
    CHECK_MEMBER(VideoEncoder, destroy, 0, 8);
    CHECK_MEMBER(VideoEncoder, encode_frame, 8, 8);
    CHECK_MEMBER(VideoEncoder, client_stream_report, 16, 8);
    CHECK_MEMBER(VideoEncoder, notify_server_frame_drop, 24, 8);
    CHECK_MEMBER(VideoEncoder, get_bit_rate, 32, 8);
    CHECK_MEMBER(VideoEncoder, get_stats, 40, 8);
    CHECK_MEMBER(VideoEncoder, codec_type, 48, 4);
    /* 52 rounded up to the 8-byte alignment of the pointers */
    CHECK_TYPE(VideoEncoder, 56, 8);
    g_assert_cmpint(fake_encoder.codec_type, ==, SPICE_VIDEO_CODEC_TYPE_MJPEG);
}

static void test_rate_control_cbs(void)
{
    if (skip_unless_x86_64_lp64()) {
        return;
    }
    CHECK_MEMBER(VideoEncoderRateControlCbs, opaque, 0, 8);
    CHECK_MEMBER(VideoEncoderRateControlCbs, get_roundtrip_ms, 8, 8);
    CHECK_MEMBER(VideoEncoderRateControlCbs, get_source_fps, 16, 8);
    CHECK_MEMBER(VideoEncoderRateControlCbs, update_client_playback_delay, 24, 8);
    CHECK_TYPE(VideoEncoderRateControlCbs, 32, 8);
    g_assert_true(fake_cbs.get_source_fps == fake_get_source_fps);
}

static void test_spice_rect(void)
{
    if (skip_unless_x86_64_lp64()) {
        return;
    }
    CHECK_MEMBER(SpiceRect, left, 0, 4);
    CHECK_MEMBER(SpiceRect, top, 4, 4);
    CHECK_MEMBER(SpiceRect, right, 8, 4);
    CHECK_MEMBER(SpiceRect, bottom, 12, 4);
    CHECK_TYPE(SpiceRect, 16, 4);
}

static void test_spice_palette(void)
{
    if (skip_unless_x86_64_lp64()) {
        return;
    }
    CHECK_MEMBER(SpicePalette, unique, 0, 8);
    CHECK_MEMBER(SpicePalette, num_ents, 8, 2);
    /* 10 rounded up to the 4-byte alignment of uint32_t */
    g_assert_cmpuint(offsetof(SpicePalette, ents), ==, 12);
    g_assert_cmpuint(sizeof(((SpicePalette *)NULL)->ents[0]), ==, 4);
    /* the flexible array adds nothing; 12 rounded up to 8 */
    CHECK_TYPE(SpicePalette, 16, 8);
}

static void test_spice_chunk(void)
{
    if (skip_unless_x86_64_lp64()) {
        return;
    }
    CHECK_MEMBER(SpiceChunk, data, 0, 8);
    CHECK_MEMBER(SpiceChunk, len, 8, 4);
    CHECK_TYPE(SpiceChunk, 16, 8);
}

static void test_spice_chunks(void)
{
    if (skip_unless_x86_64_lp64()) {
        return;
    }
    CHECK_MEMBER(SpiceChunks, data_size, 0, 4);
    CHECK_MEMBER(SpiceChunks, num_chunks, 4, 4);
    CHECK_MEMBER(SpiceChunks, flags, 8, 4);
    /* 12 rounded up to the 8-byte alignment of SpiceChunk */
    g_assert_cmpuint(offsetof(SpiceChunks, chunk), ==, 16);
    g_assert_cmpuint(sizeof(((SpiceChunks *)NULL)->chunk[0]), ==, 16);
    CHECK_TYPE(SpiceChunks, 16, 8);
    /* spice-common's flag values */
    g_assert_cmpint(SPICE_CHUNKS_FLAGS_UNSTABLE, ==, 1);
    g_assert_cmpint(SPICE_CHUNKS_FLAGS_FREE, ==, 2);
}

static void test_spice_bitmap(void)
{
    if (skip_unless_x86_64_lp64()) {
        return;
    }
    CHECK_MEMBER(SpiceBitmap, format, 0, 1);
    CHECK_MEMBER(SpiceBitmap, flags, 1, 1);
    CHECK_MEMBER(SpiceBitmap, x, 4, 4);
    CHECK_MEMBER(SpiceBitmap, y, 8, 4);
    CHECK_MEMBER(SpiceBitmap, stride, 12, 4);
    CHECK_MEMBER(SpiceBitmap, palette, 16, 8);
    CHECK_MEMBER(SpiceBitmap, palette_id, 24, 8);
    CHECK_MEMBER(SpiceBitmap, data, 32, 8);
    CHECK_TYPE(SpiceBitmap, 40, 8);
}

/* Reference 1.1: the caller treats any other value as a programming error. */
static void test_encode_results(void)
{
    g_assert_cmpint(VIDEO_ENCODER_FRAME_UNSUPPORTED, ==, -1);
    g_assert_cmpint(VIDEO_ENCODER_FRAME_DROP, ==, 0);
    g_assert_cmpint(VIDEO_ENCODER_FRAME_ENCODE_DONE, ==, 1);
    g_assert_cmpuint(sizeof(VideoEncodeResults), ==, sizeof(int));
    g_assert_cmpuint(sizeof(SpiceVideoCodecType), ==, sizeof(int));
}

/* Reference 2.1: wire values of video_codec_type. */
static void test_codec_types(void)
{
    g_assert_cmpint(SPICE_VIDEO_CODEC_TYPE_MJPEG, ==, 1);
    g_assert_cmpint(SPICE_VIDEO_CODEC_TYPE_VP8, ==, 2);
    g_assert_cmpint(SPICE_VIDEO_CODEC_TYPE_H264, ==, 3);
    g_assert_cmpint(SPICE_VIDEO_CODEC_TYPE_VP9, ==, 4);
    g_assert_cmpint(SPICE_VIDEO_CODEC_TYPE_H265, ==, 5);
}

/* Reference 2.2: display-channel capability bit numbers. */
static void test_display_caps(void)
{
    g_assert_cmpint(SPICE_DISPLAY_CAP_MULTI_CODEC, ==, 8);
    g_assert_cmpint(SPICE_DISPLAY_CAP_CODEC_MJPEG, ==, 9);
    g_assert_cmpint(SPICE_DISPLAY_CAP_CODEC_VP8, ==, 10);
    g_assert_cmpint(SPICE_DISPLAY_CAP_CODEC_H264, ==, 11);
    g_assert_cmpint(SPICE_DISPLAY_CAP_PREF_VIDEO_CODEC_TYPE, ==, 12);
    g_assert_cmpint(SPICE_DISPLAY_CAP_CODEC_VP9, ==, 13);
    g_assert_cmpint(SPICE_DISPLAY_CAP_CODEC_H265, ==, 14);
    g_assert_cmpuint(SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG), ==, 0x200);
}

static void test_factory_signature(void)
{
    /* The real check is the initialisation of mjpeg_factory at compile time. */
    g_assert_nonnull(mjpeg_factory);
    g_assert_true(fake_ref == fake_unref);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/abi/video-buffer", test_video_buffer);
    g_test_add_func("/abi/video-encoder-stats", test_video_encoder_stats);
    g_test_add_func("/abi/video-encoder", test_video_encoder);
    g_test_add_func("/abi/rate-control-cbs", test_rate_control_cbs);
    g_test_add_func("/abi/spice-rect", test_spice_rect);
    g_test_add_func("/abi/spice-palette", test_spice_palette);
    g_test_add_func("/abi/spice-chunk", test_spice_chunk);
    g_test_add_func("/abi/spice-chunks", test_spice_chunks);
    g_test_add_func("/abi/spice-bitmap", test_spice_bitmap);
    g_test_add_func("/abi/encode-results", test_encode_results);
    g_test_add_func("/abi/codec-types", test_codec_types);
    g_test_add_func("/abi/display-caps", test_display_caps);
    g_test_add_func("/abi/factory-signature", test_factory_signature);

    return g_test_run();
}
