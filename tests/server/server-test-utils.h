/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * server-test-utils.h: what the display-model tests share: a fake encoder
 * that counts what reaches it (registered as "fake:mjpeg") and a synthetic
 * 32-bit test image. Included by one test file each; everything is static.
 */
#ifndef SV_SERVER_TEST_UTILS_H
#define SV_SERVER_TEST_UTILS_H

#include <string.h>

#include <glib.h>

#include <spice-video/spice-video.h>

/* ---- a fake encoder that counts what reaches it ------------------------------------ */

typedef struct Fake {
    VideoEncoder base;
    guint frames;
    guint server_drops;
    guint reports;
    uint32_t last_report_frames;
    uint32_t last_report_drops;
    int32_t last_delay;
    uint64_t bit_rate;  /* what get_bit_rate() says; 0: 1 Mbit/s */
    gboolean low_delay; /* SvEncoderConfig.low_delay at creation */
    VideoEncoderRateControlCbs cbs;
} Fake;

static G_GNUC_UNUSED guint fake_live;
static G_GNUC_UNUSED guint fake_created;
static G_GNUC_UNUSED Fake *fakes[16];

static G_GNUC_UNUSED void fake_buffer_free(VideoBuffer *buffer)
{
    g_free(buffer->data);
    g_free(buffer);
}

static G_GNUC_UNUSED VideoEncodeResults fake_encode(VideoEncoder *encoder, uint32_t frame_mm_time,
                                                    const SpiceBitmap *bitmap, const SpiceRect *src,
                                                    int top_down, gpointer bitmap_opaque,
                                                    VideoBuffer **outbuf)
{
    Fake *f = (Fake *)encoder;
    f->frames++;
    VideoBuffer *buffer = g_new0(VideoBuffer, 1);
    buffer->size = 100 + f->frames;
    buffer->data = g_malloc0(buffer->size);
    buffer->free = fake_buffer_free;
    *outbuf = buffer;
    return VIDEO_ENCODER_FRAME_ENCODE_DONE;
}

static G_GNUC_UNUSED void fake_report(VideoEncoder *encoder, uint32_t num_frames,
                                      uint32_t num_drops, uint32_t start, uint32_t end,
                                      int32_t delay, uint32_t audio_delay)
{
    Fake *f = (Fake *)encoder;
    f->reports++;
    f->last_report_frames = num_frames;
    f->last_report_drops = num_drops;
    f->last_delay = delay;
}

static G_GNUC_UNUSED void fake_drop(VideoEncoder *encoder)
{
    ((Fake *)encoder)->server_drops++;
}

static G_GNUC_UNUSED uint64_t fake_bit_rate(VideoEncoder *encoder)
{
    Fake *f = (Fake *)encoder;
    return f->bit_rate != 0 ? f->bit_rate : 1000000;
}

static G_GNUC_UNUSED void fake_stats(VideoEncoder *encoder, VideoEncoderStats *stats)
{
    *stats = (VideoEncoderStats){.starting_bit_rate = 1000000, .cur_bit_rate = 1000000};
}

static G_GNUC_UNUSED void fake_destroy(VideoEncoder *encoder)
{
    Fake *f = (Fake *)encoder;
    for (guint i = 0; i < G_N_ELEMENTS(fakes); i++) {
        if (fakes[i] == f) {
            fakes[i] = NULL;
        }
    }
    g_assert_cmpuint(fake_live, >, 0);
    fake_live--;
    g_free(f);
}

static G_GNUC_UNUSED VideoEncoder *fake_new(SpiceVideoCodecType codec_type,
                                            uint64_t starting_bit_rate,
                                            VideoEncoderRateControlCbs *cbs,
                                            bitmap_ref_t bitmap_ref, bitmap_unref_t bitmap_unref)
{
    Fake *f = g_new0(Fake, 1);
    f->base.destroy = fake_destroy;
    f->base.encode_frame = fake_encode;
    f->base.client_stream_report = fake_report;
    f->base.notify_server_frame_drop = fake_drop;
    f->base.get_bit_rate = fake_bit_rate;
    f->base.get_stats = fake_stats;
    f->base.codec_type = codec_type;
    f->cbs = *cbs;
    fake_live++;
    if (fake_created < G_N_ELEMENTS(fakes)) {
        fakes[fake_created] = f;
    }
    fake_created++;
    return &f->base;
}

static G_GNUC_UNUSED VideoEncoder *fake_new_full(SpiceVideoCodecType codec_type,
                                                 uint64_t starting_bit_rate,
                                                 VideoEncoderRateControlCbs *cbs,
                                                 bitmap_ref_t bitmap_ref,
                                                 bitmap_unref_t bitmap_unref,
                                                 const SvEncoderConfig *config)
{
    Fake *f = (Fake *)fake_new(codec_type, starting_bit_rate, cbs, bitmap_ref, bitmap_unref);
    f->low_delay = config != NULL && config->low_delay;
    return &f->base;
}

static G_GNUC_UNUSED const SvEncoderDesc fake_mjpeg = {
    .encoder_name = "fake",
    .codec_name = "mjpeg",
    .codec_type = SPICE_VIDEO_CODEC_TYPE_MJPEG,
    .cap = SPICE_DISPLAY_CAP_CODEC_MJPEG,
    .create = fake_new,
    .create_full = fake_new_full,
    .description = "fake fake:mjpeg",
};

static G_GNUC_UNUSED void fakes_reset(void)
{
    fake_created = 0;
    memset(fakes, 0, sizeof(fakes));
}

/* ---- a synthetic test image ----------------------------------------------------------- */

typedef struct {
    SvImage image;
    SpiceChunks *chunks;
    uint8_t *pixels;
} TestImage;

static G_GNUC_UNUSED void test_image_init(TestImage *t, uint32_t w, uint32_t h, uint8_t seed)
{
    t->pixels = g_malloc((size_t)w * h * 4);
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = t->pixels + ((size_t)y * w + x) * 4;
            p[0] = (uint8_t)(x + seed);
            p[1] = (uint8_t)(y + seed);
            p[2] = (uint8_t)(x + y);
            p[3] = 0;
        }
    }
    t->chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    t->chunks->num_chunks = 1;
    t->chunks->data_size = w * h * 4;
    t->chunks->chunk[0] = (SpiceChunk){t->pixels, w * h * 4};
    t->image = (SvImage){.type = SV_SOURCE_BITMAP, .width = w, .height = h};
    t->image.bitmap = (SpiceBitmap){.format = SPICE_BITMAP_FMT_32BIT,
                                    .flags = SPICE_BITMAP_FLAGS_TOP_DOWN,
                                    .x = w,
                                    .y = h,
                                    .stride = w * 4,
                                    .data = t->chunks};
}

static G_GNUC_UNUSED void test_image_clear(TestImage *t)
{
    g_free(t->pixels);
    g_free(t->chunks);
}

#endif /* SV_SERVER_TEST_UTILS_H */
