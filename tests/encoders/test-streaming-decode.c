/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Every streaming encoder of the registry (gstreamer:*, x264:h264, vpx:*),
 * through its public factory, decoded with the GStreamer decoders spice-gtk
 * uses (avdec_h264, vp8dec, vp9dec, avdec_h265, jpegdec): nothing is lost,
 * the decoded size is the source size, the picture matches (luma PSNR) and
 * the bitstream starts the way the client needs it to.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib.h>

#if SV_HAVE_GSTREAMER
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#endif

#include <spice-video/registry.h>

#include "../test-timeout.h"
#include "streaming-checks.h"

#if SV_HAVE_GSTREAMER

/* Frames per case; sanitizers make every frame several times slower. */
#if defined(__SANITIZE_ADDRESS__)
#define N_FRAMES 12
#else
#define N_FRAMES 20
#endif
#define FPS SV_TEST_SOURCE_FPS /* streaming-checks.h: source_fps() */
/* Plenty for 320x240 at 30 fps: the tests check correctness, not rate. */
#define STARTING_BIT_RATE (8u * 1000u * 1000u)
#define MIN_PSNR_DB 30.0
/* Generous: a sanitizer build encodes far slower than a production one. */
#define ENCODE_TIMEOUT_NS (20 * G_GINT64_CONSTANT(1000000000))
#define DECODE_TIMEOUT (20 * GST_SECOND)

/* ---- source pictures ---------------------------------------------------------- */

/* R, G, B per pixel, visual order. */
typedef struct {
    guint width, height;
    guint8 *rgb;
} Picture;

static void picture_free(Picture *pic)
{
    g_free(pic->rgb);
    g_free(pic);
}

static guint8 to_u8(double v)
{
    return (guint8)CLAMP(lround(v), 0, 255);
}

/* Natural-ish content: gradients drifting with @index, a moving soft blob
 * and a fixed fine texture (deterministic). */
static Picture *picture_new(guint width, guint height, guint index)
{
    Picture *pic = g_new0(Picture, 1);
    double shift = index * 2.5;
    double bx = width * (0.3 + 0.4 * sin(index * 0.2));
    double by = height * (0.5 + 0.3 * cos(index * 0.15));
    double sigma = 0.15 * MAX(width, height);

    pic->width = width;
    pic->height = height;
    pic->rgb = g_malloc((gsize)width * height * 3);
    for (guint y = 0; y < height; y++) {
        for (guint x = 0; x < width; x++) {
            double u = (x + shift) / width;
            double v = (double)y / height;
            double d2 = ((x - bx) * (x - bx) + (y - by) * (y - by)) / (2 * sigma * sigma);
            double blob = 90.0 * exp(-d2);
            double texture = ((x * 7 + y * 13) % 11) - 5.0;
            guint8 *px = pic->rgb + ((gsize)y * width + x) * 3;

            px[0] = to_u8(40 + 150 * fmod(u, 1.0) + blob + texture);
            px[1] = to_u8(50 + 140 * v + 0.5 * blob + texture);
            px[2] = to_u8(200 - 120 * (0.5 * fmod(u, 1.0) + 0.5 * v) + texture);
        }
    }
    return pic;
}

/* The pictures every case shares, made once: (width, height, index). */
static GHashTable *picture_cache;

static const Picture *picture_get(guint width, guint height, guint index)
{
    g_autofree char *key = g_strdup_printf("%ux%u/%u", width, height, index);
    Picture *pic = g_hash_table_lookup(picture_cache, key);

    if (pic == NULL) {
        pic = picture_new(width, height, index);
        g_hash_table_insert(picture_cache, g_steal_pointer(&key), pic);
    }
    return pic;
}

/* BT.601 limited-range luma, what the encoders' conversion produces. */
static double luma_601(const guint8 *rgb)
{
    return 16.0 + (65.481 * rgb[0] + 128.553 * rgb[1] + 24.966 * rgb[2]) / 255.0;
}

/* ---- bitmaps ------------------------------------------------------------------ */

typedef struct {
    SpiceBitmap bitmap;
} TestBitmap;

static void test_bitmap_free(TestBitmap *tb)
{
    for (guint32 i = 0; i < tb->bitmap.data->num_chunks; i++) {
        g_free(tb->bitmap.data->chunk[i].data);
    }
    g_free(tb->bitmap.data);
    g_free(tb);
}

/* @pic as a 32BIT (B, G, R, x) bitmap, top-down or bottom-up, split into
 * chunks of @chunk_bytes (0: one chunk); every chunk is its own allocation
 * so that the sanitizers catch reads past one. */
static TestBitmap *test_bitmap_new(const Picture *pic, gboolean top_down, gsize chunk_bytes)
{
    TestBitmap *tb = g_new0(TestBitmap, 1);
    guint32 stride = pic->width * 4 + 8; /* with padding */
    gsize size = (gsize)stride * pic->height;
    g_autofree guint8 *mem = g_malloc0(size);

    for (guint line = 0; line < pic->height; line++) {
        guint visual = top_down ? line : pic->height - 1 - line;
        for (guint x = 0; x < pic->width; x++) {
            const guint8 *rgb = pic->rgb + ((gsize)visual * pic->width + x) * 3;
            guint8 *dst = mem + (gsize)line * stride + x * 4;
            dst[0] = rgb[2];
            dst[1] = rgb[1];
            dst[2] = rgb[0];
            dst[3] = 0x5a;
        }
    }
    if (chunk_bytes == 0) {
        chunk_bytes = size;
    }
    guint n_chunks = (guint)((size + chunk_bytes - 1) / chunk_bytes);
    SpiceChunks *chunks = g_malloc0(sizeof(SpiceChunks) + n_chunks * sizeof(SpiceChunk));
    chunks->num_chunks = n_chunks;
    chunks->data_size = (guint32)size;
    for (guint i = 0; i < n_chunks; i++) {
        gsize len = MIN(chunk_bytes, size - i * chunk_bytes);
        chunks->chunk[i].data = g_memdup2(mem + i * chunk_bytes, len);
        chunks->chunk[i].len = (guint32)len;
    }
    tb->bitmap.format = SPICE_BITMAP_FMT_32BIT;
    tb->bitmap.flags = top_down ? SPICE_BITMAP_FLAGS_TOP_DOWN : 0;
    tb->bitmap.x = pic->width;
    tb->bitmap.y = pic->height;
    tb->bitmap.stride = stride;
    tb->bitmap.data = chunks;
    return tb;
}

/* ---- cases -------------------------------------------------------------------- */

typedef struct {
    const char *name;
    gboolean top_down;
    gsize chunk_bytes;
    /* the bitmap, and the source rectangle within it (visual coordinates) */
    guint width, height;
    SpiceRect src;
    /* from this frame on, the bitmap and rectangle below (0: never) */
    guint change_at;
    guint width2, height2;
    SpiceRect src2;
    const char *options;
} Case;

/* The size-change case switches size half-way. */
#define HALF (N_FRAMES / 2)

static const Case cases[] = {
    {"top-down", TRUE, 0, 320, 240, {0, 0, 320, 240}, 0, 0, 0, {0}, NULL},
    /* 997-byte chunks: lines straddle chunks. */
    {"bottom-up-chunked", FALSE, 997, 320, 240, {0, 0, 320, 240}, 0, 0, 0, {0}, NULL},
    /* An odd-sized area away from the edges. */
    {"clipped-odd-size", TRUE, 997, 320, 240, {37, 23, 37 + 161, 23 + 97}, 0, 0, 0, {0}, NULL},
    {"clipped-odd-bottom-up", FALSE, 0, 320, 240, {37, 23, 198, 120}, 0, 0, 0, {0}, NULL},
    {"size-change", TRUE, 0, 320, 240, {0, 0, 320, 240}, HALF, 256, 144, {0, 0, 256, 144}, NULL},
};

static const Case yuv444_case = {
    "yuv444", TRUE, 0, 320, 240, {0, 0, 320, 240}, 0, 0, 0, {0}, "yuv444=true",
};

typedef struct {
    const SvEncoderDesc *desc;
    const Case *c;
} TestData;

/* What the decoded frame must look like: lines in memory order (a bottom-up
 * bitmap gives an upside-down frame, which the client flips). */
static double psnr_luma(const Picture *pic, const SpiceRect *src, gboolean top_down,
                        const guint8 *y_plane, int y_stride)
{
    guint w = src->right - src->left;
    guint h = src->bottom - src->top;
    double sse = 0.0;

    for (guint k = 0; k < h; k++) {
        guint visual = top_down ? src->top + k : src->bottom - 1 - k;
        for (guint x = 0; x < w; x++) {
            double expected = luma_601(pic->rgb + ((gsize)visual * pic->width + src->left + x) * 3);
            double d = expected - y_plane[(gsize)k * y_stride + x];
            sse += d * d;
        }
    }
    double mse = sse / ((double)w * h);
    return mse <= 1e-10 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

typedef struct {
    const char *caps;
    const char *parser; /* or NULL */
    const char *decoder;
} Decoder;

/* The decoders spice-gtk uses. */
static const Decoder *decoder_for(SpiceVideoCodecType codec)
{
    static const Decoder decoders[] = {
        [SPICE_VIDEO_CODEC_TYPE_MJPEG] = {"image/jpeg", "jpegparse", "jpegdec"},
        [SPICE_VIDEO_CODEC_TYPE_VP8] = {"video/x-vp8", NULL, "vp8dec"},
        [SPICE_VIDEO_CODEC_TYPE_H264] = {"video/x-h264,stream-format=byte-stream,alignment=au",
                                         "h264parse", "avdec_h264"},
        [SPICE_VIDEO_CODEC_TYPE_VP9] = {"video/x-vp9", NULL, "vp9dec"},
        [SPICE_VIDEO_CODEC_TYPE_H265] = {"video/x-h265,stream-format=byte-stream,alignment=au",
                                         "h265parse", "avdec_h265"},
    };
    g_assert_cmpuint(codec, <, G_N_ELEMENTS(decoders));
    return &decoders[codec];
}

/* @return the first missing element of @names, or NULL. */
static const char *missing_element(const char *const *names)
{
    for (guint i = 0; names[i] != NULL; i++) {
        GstElementFactory *factory = gst_element_factory_find(names[i]);
        if (factory == NULL) {
            return names[i];
        }
        gst_object_unref(factory);
    }
    return NULL;
}

/* ---- encoder plumbing ----------------------------------------------------------- */

static void check_first_frame(SpiceVideoCodecType codec, const VideoBuffer *buf, gboolean yuv444)
{
    switch (codec) {
    case SPICE_VIDEO_CODEC_TYPE_MJPEG:
        g_assert_true(jpeg_has_soi(buf->data, buf->size));
        break;
    case SPICE_VIDEO_CODEC_TYPE_VP8:
        g_assert_true(vp8_is_key_frame(buf->data, buf->size));
        break;
    case SPICE_VIDEO_CODEC_TYPE_VP9:
        g_assert_true(vp9_is_key_frame(buf->data, buf->size));
        g_assert_cmpint(vp9_profile(buf->data, buf->size), ==, yuv444 ? 1 : 0);
        break;
    case SPICE_VIDEO_CODEC_TYPE_H264: {
        AnnexBInfo info = annexb_scan(buf->data, buf->size, FALSE);
        g_assert_true(info.starts_with_start_code);
        g_assert_true(annexb_has(&info, H264_NAL_SPS));
        g_assert_true(annexb_has(&info, H264_NAL_PPS));
        g_assert_true(annexb_has(&info, H264_NAL_IDR));
        if (yuv444) {
            g_assert_cmpint(info.h264_profile_idc, ==, 244); /* High 4:4:4 Predictive */
        } else {
            g_assert_cmpint(info.h264_profile_idc, !=, 244);
        }
        break;
    }
    case SPICE_VIDEO_CODEC_TYPE_H265: {
        AnnexBInfo info = annexb_scan(buf->data, buf->size, TRUE);
        g_assert_true(info.starts_with_start_code);
        g_assert_true(annexb_has(&info, H265_NAL_VPS));
        g_assert_true(annexb_has(&info, H265_NAL_SPS));
        g_assert_true(annexb_has(&info, H265_NAL_PPS));
        g_assert_true(annexb_has(&info, H265_NAL_IDR_W_RADL) ||
                      annexb_has(&info, H265_NAL_IDR_N_LP));
        break;
    }
    default:
        g_assert_not_reached();
    }
}

/* The decoded width or height for a source of @size pixels: the same,
 * except that 4:2:0 H.264 and H.265 cannot code an odd size (their cropping
 * works in steps of 2 in 4:2:0), so encoders pad those by one pixel. */
static int decoded_size(const SvEncoderDesc *desc, const Case *c, int size)
{
    gboolean avc = desc->codec_type == SPICE_VIDEO_CODEC_TYPE_H264 ||
                   desc->codec_type == SPICE_VIDEO_CODEC_TYPE_H265;
    gboolean yuv444 = c->options != NULL && strstr(c->options, "yuv444=true") != NULL;

    return avc && !yuv444 ? (size + 1) & ~1 : size;
}

static void test_stream(gconstpointer user_data)
{
    const TestData *data = user_data;
    const SvEncoderDesc *desc = data->desc;
    const Case *c = data->c;
    g_autoptr(GError) error = NULL;

    if (!sv_encoder_desc_is_available(desc, &error)) {
        g_autofree char *reason =
            g_strdup_printf("%s:%s: %s", desc->encoder_name, desc->codec_name, error->message);
        g_test_skip(reason);
        return;
    }
    const Decoder *dec = decoder_for(desc->codec_type);
    const char *needed[] = {"appsrc",
                            "appsink",
                            "videoconvert",
                            dec->decoder,
                            dec->parser != NULL ? dec->parser : "appsrc",
                            NULL};
    const char *missing = missing_element(needed);
    if (missing != NULL) {
        g_autofree char *reason = g_strdup_printf("decoder element %s not installed", missing);
        g_test_skip(reason);
        return;
    }

    /* ---- encode ---- */
    VideoEncoderRateControlCbs cbs = {.get_source_fps = source_fps};
    SvEncoderConfig config = {
        .clock = {.now_ns = virtual_clock},
        .options = c->options,
        .no_rate_control = TRUE,
        .encode_timeout_ns = sv_test_timeout_ns(ENCODE_TIMEOUT_NS),
    };
    g_assert_nonnull(desc->create_full);
    virtual_now_ns = 1000 * G_GINT64_CONSTANT(1000000000);
    VideoEncoder *encoder = desc->create_full(desc->codec_type, STARTING_BIT_RATE, &cbs, bitmap_ref,
                                              bitmap_unref, &config);
    g_assert_nonnull(encoder);
    g_assert_cmpint(encoder->codec_type, ==, desc->codec_type);

    GPtrArray *outputs = g_ptr_array_new();
    const Picture *pictures[N_FRAMES];
    for (guint i = 0; i < N_FRAMES; i++) {
        gboolean second = c->change_at > 0 && i >= c->change_at;
        pictures[i] =
            picture_get(second ? c->width2 : c->width, second ? c->height2 : c->height, i);
        TestBitmap *tb = test_bitmap_new(pictures[i], c->top_down, c->chunk_bytes);
        const SpiceRect *src = second ? &c->src2 : &c->src;
        VideoBuffer *buf = NULL;

        virtual_now_ns += G_GINT64_CONSTANT(1000000000) / FPS;
        int result = encoder->encode_frame(encoder, 10000 + i * (1000 / FPS), &tb->bitmap, src,
                                           c->top_down, tb, &buf);
        g_assert_cmpint(result, ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
        g_assert_nonnull(buf);
        g_assert_cmpuint(buf->size, >, 0);
        if (i == 0) {
            check_first_frame(desc->codec_type, buf, c->options != NULL);
        }
        g_ptr_array_add(outputs, buf);
        test_bitmap_free(tb);
    }
    encoder->destroy(encoder);
    g_assert_cmpuint(n_bitmap_refs, ==, 0);

    /* ---- decode, with the buffers outliving their encoder ---- */
    g_autofree char *description = g_strdup_printf("appsrc name=src format=time ! %s%s%s ! "
                                                   "videoconvert ! video/x-raw,format=I420 ! "
                                                   "appsink name=sink sync=false",
                                                   dec->parser != NULL ? dec->parser : "",
                                                   dec->parser != NULL ? " ! " : "", dec->decoder);
    GstElement *pipeline = gst_parse_launch(description, &error);
    g_assert_no_error(error);
    GstElement *appsrc = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    GstElement *appsink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    g_autoptr(GstCaps) caps = gst_caps_from_string(dec->caps);
    gst_app_src_set_caps(GST_APP_SRC(appsrc), caps);
    g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), !=,
                    GST_STATE_CHANGE_FAILURE);

    for (guint i = 0; i < outputs->len; i++) {
        VideoBuffer *buf = g_ptr_array_index(outputs, i);
        GstBuffer *gst_buf = gst_buffer_new_memdup(buf->data, buf->size);
        GST_BUFFER_PTS(gst_buf) = i * (GST_SECOND / FPS);
        GST_BUFFER_DURATION(gst_buf) = GST_SECOND / FPS;
        g_assert_cmpint(gst_app_src_push_buffer(GST_APP_SRC(appsrc), gst_buf), ==, GST_FLOW_OK);
        buf->free(buf);
    }
    gst_app_src_end_of_stream(GST_APP_SRC(appsrc));

    guint n_decoded = 0;
    for (;;) {
        g_autoptr(GstSample) sample =
            gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), DECODE_TIMEOUT);
        if (sample == NULL) {
            break;
        }
        g_assert_cmpuint(n_decoded, <, N_FRAMES);
        gboolean second = c->change_at > 0 && n_decoded >= c->change_at;
        const SpiceRect *src = second ? &c->src2 : &c->src;
        GstVideoInfo info;
        g_assert_true(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
        g_assert_cmpint(GST_VIDEO_INFO_WIDTH(&info), ==,
                        decoded_size(desc, c, src->right - src->left));
        g_assert_cmpint(GST_VIDEO_INFO_HEIGHT(&info), ==,
                        decoded_size(desc, c, src->bottom - src->top));

        GstVideoFrame frame;
        g_assert_true(gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample),
                                          GST_MAP_READ));
        double psnr =
            psnr_luma(pictures[n_decoded], src, c->top_down, GST_VIDEO_FRAME_PLANE_DATA(&frame, 0),
                      GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0));
        gst_video_frame_unmap(&frame);
        if (psnr < MIN_PSNR_DB) {
            g_test_message("frame %u: luma PSNR %.2f dB", n_decoded, psnr);
        }
        g_assert_cmpfloat(psnr, >=, MIN_PSNR_DB);
        n_decoded++;
    }
    g_assert_true(gst_app_sink_is_eos(GST_APP_SINK(appsink)));
    g_assert_cmpuint(n_decoded, ==, N_FRAMES);

    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(appsrc);
    gst_object_unref(appsink);
    gst_object_unref(pipeline);
    g_ptr_array_unref(outputs);
}

static gboolean has_option(const SvEncoderDesc *desc, const char *name)
{
    for (const SvEncoderOption *opt = desc->options; opt != NULL && opt->name != NULL; opt++) {
        if (strcmp(opt->name, name) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

#else

static void test_not_built(void)
{
    g_test_skip("built without GStreamer: no decoders to check with");
}

#endif /* SV_HAVE_GSTREAMER */

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

#if SV_HAVE_GSTREAMER
    gst_init(&argc, &argv);

    size_t n = 0;
    const SvEncoderDesc *const *descs = sv_registry_list(&n);
    /* Test data lives as long as the program. */
    GPtrArray *keep = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < n; i++) {
        const SvEncoderDesc *desc = descs[i];
        /* The streaming encoders: everything but the built-in MJPEG one
         * (and the spice:* entries that never create an encoder). */
        if (strcmp(desc->encoder_name, "spice") == 0) {
            continue;
        }
        for (guint k = 0; k <= G_N_ELEMENTS(cases); k++) {
            const Case *c = k < G_N_ELEMENTS(cases) ? &cases[k] : &yuv444_case;
            if (c == &yuv444_case &&
                (desc->codec_type != SPICE_VIDEO_CODEC_TYPE_H264 || !has_option(desc, "yuv444"))) {
                continue;
            }
            TestData *data = g_new0(TestData, 1);
            data->desc = desc;
            data->c = c;
            g_ptr_array_add(keep, data);
            g_autofree char *path = g_strdup_printf("/streaming-decode/%s:%s/%s",
                                                    desc->encoder_name, desc->codec_name, c->name);
            g_test_add_data_func(path, data, test_stream);
        }
    }
    picture_cache =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)picture_free);
    int status = g_test_run();
    g_hash_table_unref(picture_cache);
    g_ptr_array_unref(keep);
    return status;
#else
    g_test_add_func("/streaming-decode/not-built", test_not_built);
    return g_test_run();
#endif
}
