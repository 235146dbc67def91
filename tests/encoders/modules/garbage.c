/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * garbage: a module that loads fine but whose encoder breaks the
 * VideoEncoder contract, one way per frame (tests/encoders/test-modules.c
 * checks each becomes VIDEO_ENCODER_FRAME_UNSUPPORTED). The counters are
 * exported so the test can see that every buffer was freed.
 */
#include <stdlib.h>

#include <spice-video/module.h>

SV_MODULE_EXPORT int garbage_buffers_made;
SV_MODULE_EXPORT int garbage_buffers_freed;
SV_MODULE_EXPORT int garbage_encoders_destroyed;

/* The frames, in order; then every frame is a valid one. */
enum {
    FRAME_SIZE_0,
    FRAME_NULL_DATA,
    FRAME_RESULT_7,
    FRAME_DONE_NO_BUFFER,
    FRAME_DROP_WITH_BUFFER,
    FRAME_HUGE,
    FRAME_VALID,
};

static uint8_t garbage_bytes[16] = {0xff, 0xd8};

static void garbage_buffer_free(VideoBuffer *buffer)
{
    garbage_buffers_freed++;
    free(buffer);
}

static VideoBuffer *garbage_buffer(uint8_t *data, uint32_t size)
{
    VideoBuffer *buffer = calloc(1, sizeof(*buffer));
    buffer->data = data;
    buffer->size = size;
    buffer->free = garbage_buffer_free;
    garbage_buffers_made++;
    return buffer;
}

typedef struct {
    VideoEncoder base;
    int frame;
} GarbageEncoder;

static void garbage_destroy(VideoEncoder *encoder)
{
    garbage_encoders_destroyed++;
    free(encoder);
}

static VideoEncodeResults garbage_encode_frame(VideoEncoder *encoder, uint32_t frame_mm_time,
                                               const SpiceBitmap *bitmap, const SpiceRect *src,
                                               int top_down, gpointer bitmap_opaque,
                                               VideoBuffer **outbuf)
{
    GarbageEncoder *garbage = (GarbageEncoder *)encoder;

    switch (garbage->frame++) {
    case FRAME_SIZE_0:
        *outbuf = garbage_buffer(garbage_bytes, 0);
        return VIDEO_ENCODER_FRAME_ENCODE_DONE;
    case FRAME_NULL_DATA:
        *outbuf = garbage_buffer(NULL, 100);
        return VIDEO_ENCODER_FRAME_ENCODE_DONE;
    case FRAME_RESULT_7:
        return (VideoEncodeResults)7;
    case FRAME_DONE_NO_BUFFER:
        return VIDEO_ENCODER_FRAME_ENCODE_DONE;
    case FRAME_DROP_WITH_BUFFER:
        *outbuf = garbage_buffer(garbage_bytes, sizeof(garbage_bytes));
        return VIDEO_ENCODER_FRAME_DROP;
    case FRAME_HUGE:
        *outbuf = garbage_buffer(garbage_bytes, UINT32_MAX);
        return VIDEO_ENCODER_FRAME_ENCODE_DONE;
    default:
        *outbuf = garbage_buffer(garbage_bytes, sizeof(garbage_bytes));
        return VIDEO_ENCODER_FRAME_ENCODE_DONE;
    }
}

static void garbage_client_stream_report(VideoEncoder *encoder, uint32_t num_frames,
                                         uint32_t num_drops, uint32_t start_frame_mm_time,
                                         uint32_t end_frame_mm_time, int32_t end_frame_delay,
                                         uint32_t audio_delay)
{
}

static void garbage_notify_server_frame_drop(VideoEncoder *encoder)
{
}

static uint64_t garbage_get_bit_rate(VideoEncoder *encoder)
{
    return 1234;
}

static void garbage_get_stats(VideoEncoder *encoder, VideoEncoderStats *stats)
{
    stats->starting_bit_rate = 1;
    stats->cur_bit_rate = 1234;
    stats->avg_quality = 0;
}

static VideoEncoder *garbage_new(SpiceVideoCodecType codec_type)
{
    GarbageEncoder *garbage = calloc(1, sizeof(*garbage));
    garbage->base.destroy = garbage_destroy;
    garbage->base.encode_frame = garbage_encode_frame;
    garbage->base.client_stream_report = garbage_client_stream_report;
    garbage->base.notify_server_frame_drop = garbage_notify_server_frame_drop;
    garbage->base.get_bit_rate = garbage_get_bit_rate;
    garbage->base.get_stats = garbage_get_stats;
    garbage->base.codec_type = codec_type;
    return &garbage->base;
}

static VideoEncoder *garbage_mjpeg_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                       VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                       bitmap_unref_t bitmap_unref)
{
    return garbage_new(codec_type);
}

/* Asked for VP8, makes an MJPEG encoder. */
static VideoEncoder *garbage_vp8_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                     VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                     bitmap_unref_t bitmap_unref)
{
    return garbage_new(SPICE_VIDEO_CODEC_TYPE_MJPEG);
}

static const SvModuleEncoder garbage_encoders[] = {
    {
        .encoder_name = "garbage",
        .codec_name = "mjpeg",
        .codec_type = SPICE_VIDEO_CODEC_TYPE_MJPEG,
        .cap = SPICE_DISPLAY_CAP_CODEC_MJPEG,
        .create = garbage_mjpeg_new,
        .description = "test module: every frame breaks the contract a different way",
    },
    {
        .encoder_name = "garbage",
        .codec_name = "vp8",
        .codec_type = SPICE_VIDEO_CODEC_TYPE_VP8,
        .cap = SPICE_DISPLAY_CAP_CODEC_VP8,
        .create = garbage_vp8_new,
        .description = "test module: makes an encoder of the wrong codec",
    },
};

static const SvModuleInfo garbage_info = {
    .abi_version = SV_MODULE_ABI_VERSION,
    .name = "garbage",
    .version = "0",
    .encoders = garbage_encoders,
    .n_encoders = G_N_ELEMENTS(garbage_encoders),
};

SV_VIDEO_MODULE_DEFINE(garbage_info)
