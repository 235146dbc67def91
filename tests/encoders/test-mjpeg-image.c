/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Image correctness of the MJPEG encoder, through the public VideoEncoder API
 * only: every input format x orientation x chunk layout x source rectangle is
 * encoded, decoded again with TurboJPEG (and, when available, GStreamer's
 * jpegdec) and compared with the picture that was fed in.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib.h>
#include <turbojpeg.h>

#if SV_HAVE_GSTREAMER
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#endif

#include <spice-video/encoders.h>

/* The first frame is encoded at quality 50; natural content at that quality
 * stays well above this, while a wrong channel order, a wrong line order or a
 * misplaced source rectangle falls far below it. */
#define MIN_PSNR_DB 30.0
/* Below this two pictures are "clearly different" (used for sanity checks
 * that the comparison itself can fail). */
#define MAX_PSNR_DIFFERENT_DB 22.0

#define MATRIX_WIDTH 320
#define MATRIX_HEIGHT 240

/* A starting rate large enough that rate control never lowers the quality of
 * the frames these tests look at. */
#define STARTING_BIT_RATE (100u * 1000u * 1000u)
/* The virtual clock starts far from 0 and moves 1 s per frame, so pacing
 * never drops a frame. */
#define CLOCK_START_NS (1000 * G_GINT64_CONSTANT(1000000000))
#define CLOCK_STEP_NS G_GINT64_CONSTANT(1000000000)

/* ---- pictures ------------------------------------------------------------ */

/* A picture in visual order (first line = top), 8-bit R,G,B per pixel. */
typedef struct {
    int width;
    int height;
    guint8 *rgb;
} Picture;

static guint8 clamp_u8(double v)
{
    if (v <= 0.0) {
        return 0;
    }
    if (v >= 255.0) {
        return 255;
    }
    return (guint8)lround(v);
}

static double smoothstep(double edge0, double edge1, double x)
{
    double t = (x - edge0) / (edge1 - edge0);

    t = CLAMP(t, 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}

typedef struct {
    double cx, cy, sigma, strength;
    double r, g, b;
} Blob;

/*
 * Something that compresses like a desktop photo or video: colour gradients
 * in both directions (so that swapped channels or flipped lines are obvious),
 * a few soft coloured blobs, one soft-edged disc and a little noise.
 * Deterministic for a given seed.
 */
static Picture *picture_new(int width, int height, guint32 seed)
{
    Picture *pic = g_new0(Picture, 1);
    GRand *rand = g_rand_new_with_seed(seed);
    Blob blobs[4];
    double phase = g_rand_double_range(rand, 0.0, 2.0 * G_PI);
    double disc_x = g_rand_double_range(rand, 0.2, 0.8) * width;
    double disc_y = g_rand_double_range(rand, 0.2, 0.8) * height;
    double disc_radius = g_rand_double_range(rand, 0.08, 0.2) * MIN(width, height);

    pic->width = width;
    pic->height = height;
    pic->rgb = g_malloc((gsize)width * height * 3);

    for (guint i = 0; i < G_N_ELEMENTS(blobs); i++) {
        blobs[i].cx = g_rand_double_range(rand, 0.0, 1.0) * width;
        blobs[i].cy = g_rand_double_range(rand, 0.0, 1.0) * height;
        blobs[i].sigma = g_rand_double_range(rand, 0.05, 0.15) * MAX(width, height);
        blobs[i].strength = g_rand_double_range(rand, 0.4, 0.8);
        blobs[i].r = g_rand_double_range(rand, 0.0, 255.0);
        blobs[i].g = g_rand_double_range(rand, 0.0, 255.0);
        blobs[i].b = g_rand_double_range(rand, 0.0, 255.0);
    }

    for (int y = 0; y < height; y++) {
        double v = (y + 0.5) / height;

        for (int x = 0; x < width; x++) {
            double u = (x + 0.5) / width;
            double r = 30.0 + 190.0 * u + 15.0 * sin(2.0 * G_PI * 1.5 * v + phase);
            double g = 40.0 + 170.0 * v;
            double b = 220.0 - 160.0 * (0.6 * u + 0.4 * v);
            double d, a;
            guint8 *px = pic->rgb + ((gsize)y * width + x) * 3;

            for (guint i = 0; i < G_N_ELEMENTS(blobs); i++) {
                double dx = x - blobs[i].cx, dy = y - blobs[i].cy;

                a = blobs[i].strength *
                    exp(-(dx * dx + dy * dy) / (2.0 * blobs[i].sigma * blobs[i].sigma));
                r = r * (1.0 - a) + blobs[i].r * a;
                g = g * (1.0 - a) + blobs[i].g * a;
                b = b * (1.0 - a) + blobs[i].b * a;
            }

            d = hypot(x - disc_x, y - disc_y) - disc_radius;
            a = 0.6 * (1.0 - smoothstep(-1.5, 1.5, d));
            r = r * (1.0 - a) + 250.0 * a;
            g = g * (1.0 - a) + 235.0 * a;
            b = b * (1.0 - a) + 40.0 * a;

            px[0] = clamp_u8(r + g_rand_double_range(rand, -2.5, 2.5));
            px[1] = clamp_u8(g + g_rand_double_range(rand, -2.5, 2.5));
            px[2] = clamp_u8(b + g_rand_double_range(rand, -2.5, 2.5));
        }
    }

    g_rand_free(rand);
    return pic;
}

static void picture_free(Picture *pic)
{
    if (pic != NULL) {
        g_free(pic->rgb);
        g_free(pic);
    }
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Picture, picture_free)

/* ---- formats --------------------------------------------------------------- */

typedef struct {
    SpiceBitmapFmt fmt;
    const char *name;
    int bytes_per_pixel;
} FormatInfo;

static const FormatInfo formats[] = {
    {SPICE_BITMAP_FMT_16BIT, "16bit", 2},
    {SPICE_BITMAP_FMT_24BIT, "24bit", 3},
    {SPICE_BITMAP_FMT_32BIT, "32bit", 4},
    {SPICE_BITMAP_FMT_RGBA, "rgba", 4},
};

/* 5-bit channel expanded to 8 bits by bit replication, as the encoder does. */
static guint8 expand5(guint8 v8)
{
    guint8 v5 = v8 >> 3;

    return (guint8)((v5 << 3) | (v5 >> 2));
}

/* What the encoder is expected to see for @pic in format @fmt: identical for
 * 8-bit formats, 5 bits per channel for 16BIT. */
static Picture *picture_expected(const Picture *pic, SpiceBitmapFmt fmt)
{
    Picture *exp = g_new0(Picture, 1);
    gsize n = (gsize)pic->width * pic->height * 3;

    exp->width = pic->width;
    exp->height = pic->height;
    exp->rgb = g_memdup2(pic->rgb, n);
    if (fmt == SPICE_BITMAP_FMT_16BIT) {
        for (gsize i = 0; i < n; i++) {
            exp->rgb[i] = expand5(exp->rgb[i]);
        }
    }
    return exp;
}

/* Writes one pixel; the bits the encoder must ignore (16BIT's top bit, the X
 * byte of 32BIT, the alpha of RGBA) get random values. */
static void pack_pixel(SpiceBitmapFmt fmt, const guint8 *rgb, GRand *rand, guint8 *dst)
{
    switch (fmt) {
    case SPICE_BITMAP_FMT_16BIT: {
        guint16 v =
            (guint16)(((guint)(rgb[0] >> 3) << 10) | ((guint)(rgb[1] >> 3) << 5) | (rgb[2] >> 3));

        if (g_rand_boolean(rand)) {
            v |= 0x8000;
        }
        dst[0] = v & 0xff;
        dst[1] = v >> 8;
        break;
    }
    case SPICE_BITMAP_FMT_24BIT:
        dst[0] = rgb[2];
        dst[1] = rgb[1];
        dst[2] = rgb[0];
        break;
    case SPICE_BITMAP_FMT_32BIT:
    case SPICE_BITMAP_FMT_RGBA:
        dst[0] = rgb[2];
        dst[1] = rgb[1];
        dst[2] = rgb[0];
        dst[3] = (guint8)g_rand_int_range(rand, 0, 256);
        break;
    default:
        g_assert_not_reached();
    }
}

/* ---- bitmaps --------------------------------------------------------------- */

typedef enum {
    CHUNKS_ONE,   /* a single chunk */
    CHUNKS_LINES, /* chunks of 1, 7 or 3 whole lines */
    CHUNKS_ODD,   /* 997-byte chunks: lines straddle chunks */
    CHUNKS_TINY,  /* 1..34-byte chunks: pixels straddle chunks */
    CHUNKS_EMPTY, /* 997-byte chunks with {NULL, 0} chunks in between */
} ChunkLayout;

static const char *const chunk_layout_names[] = {
    "one-chunk", "line-chunks", "997-byte-chunks", "tiny-chunks", "with-empty-chunks",
};

/* A SpiceBitmap whose every chunk is its own allocation of exactly its
 * length, so that AddressSanitizer catches a read past any chunk. */
typedef struct {
    SpiceBitmap bitmap;
    SpicePalette *palette;
} TestBitmap;

static void test_bitmap_free(TestBitmap *tb)
{
    if (tb == NULL) {
        return;
    }
    if (tb->bitmap.data != NULL) {
        for (guint32 i = 0; i < tb->bitmap.data->num_chunks; i++) {
            g_free(tb->bitmap.data->chunk[i].data);
        }
        g_free(tb->bitmap.data);
    }
    g_free(tb->palette);
    g_free(tb);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestBitmap, test_bitmap_free)

/* Size of chunk number @index of layout @layout. */
static gsize chunk_size(ChunkLayout layout, guint index, guint32 stride)
{
    static const guint lines[] = {1, 7, 3};
    static const guint tiny[] = {1, 2, 3, 5, 8, 13, 21, 34};

    switch (layout) {
    case CHUNKS_LINES:
        return (gsize)lines[index % G_N_ELEMENTS(lines)] * stride;
    case CHUNKS_ODD:
    case CHUNKS_EMPTY:
        return 997;
    case CHUNKS_TINY:
        return tiny[index % G_N_ELEMENTS(tiny)];
    case CHUNKS_ONE:
    default:
        return G_MAXSIZE;
    }
}

/* Splits @mem (@size bytes, consumed) into a SpiceChunks of layout @layout. */
static SpiceChunks *chunks_new(guint8 *mem, gsize size, ChunkLayout layout, guint32 stride)
{
    GArray *pieces = g_array_new(FALSE, TRUE, sizeof(SpiceChunk));
    SpiceChunks *chunks;
    gsize pos = 0;

    for (guint i = 0; pos < size; i++) {
        SpiceChunk piece;
        gsize len = MIN(chunk_size(layout, i, stride), size - pos);

        if (layout == CHUNKS_EMPTY && i % 3 == 1) {
            piece.data = NULL;
            piece.len = 0;
            g_array_append_val(pieces, piece);
        }
        piece.data = g_memdup2(mem + pos, len);
        piece.len = (guint32)len;
        g_array_append_val(pieces, piece);
        pos += len;
    }
    g_free(mem);

    chunks = g_malloc0(sizeof(SpiceChunks) + pieces->len * sizeof(SpiceChunk));
    chunks->num_chunks = pieces->len;
    chunks->data_size = (guint32)size;
    memcpy(chunks->chunk, pieces->data, pieces->len * sizeof(SpiceChunk));
    g_array_free(pieces, TRUE);
    return chunks;
}

/*
 * Lays @pic out as a bitmap of format @fmt: top-down or bottom-up, each line
 * followed by @padding bytes of garbage, split into chunks per @layout.
 */
static TestBitmap *test_bitmap_new(const Picture *pic, SpiceBitmapFmt fmt, gboolean top_down,
                                   guint padding, ChunkLayout layout)
{
    TestBitmap *tb = g_new0(TestBitmap, 1);
    GRand *rand = g_rand_new_with_seed(0x5eed);
    int bpp = 0;
    guint32 stride;
    gsize size;
    guint8 *mem;

    for (guint i = 0; i < G_N_ELEMENTS(formats); i++) {
        if (formats[i].fmt == fmt) {
            bpp = formats[i].bytes_per_pixel;
        }
    }
    g_assert_cmpint(bpp, >, 0);

    stride = (guint32)(pic->width * bpp + padding);
    size = (gsize)stride * pic->height;
    mem = g_malloc(size);
    for (gsize i = 0; i < size; i++) {
        mem[i] = (guint8)g_rand_int(rand);
    }
    for (int line = 0; line < pic->height; line++) {
        int visual = top_down ? line : pic->height - 1 - line;
        guint8 *dst = mem + (gsize)line * stride;

        for (int x = 0; x < pic->width; x++) {
            pack_pixel(fmt, pic->rgb + ((gsize)visual * pic->width + x) * 3, rand,
                       dst + (gsize)x * bpp);
        }
    }
    g_rand_free(rand);

    tb->bitmap.format = fmt;
    tb->bitmap.flags = top_down ? SPICE_BITMAP_FLAGS_TOP_DOWN : 0;
    tb->bitmap.x = (guint32)pic->width;
    tb->bitmap.y = (guint32)pic->height;
    tb->bitmap.stride = stride;
    tb->bitmap.data = chunks_new(mem, size, layout, stride);
    return tb;
}

/* Removes the last @missing bytes of @tb's data: whole chunks from the end,
 * then the tail of the new last one, which is reallocated to its new length
 * so that AddressSanitizer sees a read past it. */
static void test_bitmap_trim(TestBitmap *tb, gsize missing)
{
    SpiceChunks *chunks = tb->bitmap.data;

    while (missing > 0) {
        SpiceChunk *last = &chunks->chunk[chunks->num_chunks - 1];

        if (last->len <= missing) {
            missing -= last->len;
            chunks->data_size -= last->len;
            g_free(last->data);
            chunks->num_chunks--;
        } else {
            last->len -= (guint32)missing;
            last->data = g_realloc(last->data, last->len);
            chunks->data_size -= (guint32)missing;
            missing = 0;
        }
    }
}

/* A bitmap with arbitrary header values and @size bytes of data in one
 * chunk (no chunk at all if @size is 0). */
static TestBitmap *test_bitmap_new_raw(SpiceBitmapFmt fmt, guint32 width, guint32 height,
                                       guint32 stride, gsize size)
{
    TestBitmap *tb = g_new0(TestBitmap, 1);

    tb->bitmap.format = fmt;
    tb->bitmap.flags = SPICE_BITMAP_FLAGS_TOP_DOWN;
    tb->bitmap.x = width;
    tb->bitmap.y = height;
    tb->bitmap.stride = stride;
    if (size > 0) {
        guint8 *mem = g_malloc(size);

        for (gsize i = 0; i < size; i++) {
            mem[i] = (guint8)(i * 37 + 11);
        }
        tb->bitmap.data = chunks_new(mem, size, CHUNKS_ONE, stride);
    } else {
        tb->bitmap.data = g_malloc0(sizeof(SpiceChunks));
    }
    return tb;
}

/* ---- the encoder ----------------------------------------------------------- */

typedef struct {
    gint64 now_ns;
} TestClock;

static gint64 test_clock_now(void *opaque)
{
    return ((TestClock *)opaque)->now_ns;
}

static VideoEncoder *encoder_new(TestClock *clock)
{
    VideoEncoderRateControlCbs cbs = {0};
    SvEncoderConfig config = {
        .clock = {.now_ns = test_clock_now, .opaque = clock},
    };
    VideoEncoder *encoder;

    clock->now_ns = CLOCK_START_NS;
    encoder = sv_mjpeg_encoder_new_full(SPICE_VIDEO_CODEC_TYPE_MJPEG, STARTING_BIT_RATE, &cbs, NULL,
                                        NULL, &config);
    g_assert_nonnull(encoder);
    g_assert_cmpint(encoder->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_MJPEG);
    return encoder;
}

static VideoEncodeResults encode(VideoEncoder *encoder, TestClock *clock, const TestBitmap *tb,
                                 const SpiceRect *src, VideoBuffer **outbuf)
{
    int top_down = (tb->bitmap.flags & SPICE_BITMAP_FLAGS_TOP_DOWN) != 0;
    VideoEncodeResults res;

    clock->now_ns += CLOCK_STEP_NS;
    *outbuf = NULL;
    res = encoder->encode_frame(encoder, (uint32_t)(clock->now_ns / 1000000), &tb->bitmap, src,
                                top_down, NULL, outbuf);
    g_assert_true(res == VIDEO_ENCODER_FRAME_UNSUPPORTED || res == VIDEO_ENCODER_FRAME_DROP ||
                  res == VIDEO_ENCODER_FRAME_ENCODE_DONE);
    if (res == VIDEO_ENCODER_FRAME_ENCODE_DONE) {
        g_assert_nonnull(*outbuf);
        g_assert_nonnull((*outbuf)->data);
        g_assert_nonnull((*outbuf)->free);
        g_assert_cmpuint((*outbuf)->size, >, 0);
    }
    return res;
}

/* Encodes a frame that must succeed. */
static VideoBuffer *encode_ok(VideoEncoder *encoder, TestClock *clock, const TestBitmap *tb,
                              const SpiceRect *src)
{
    VideoBuffer *buf = NULL;

    g_assert_cmpint(encode(encoder, clock, tb, src, &buf), ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    return buf;
}

/* ---- checking the JPEG ------------------------------------------------------- */

static guint be16(const guint8 *p)
{
    return ((guint)p[0] << 8) | p[1];
}

/*
 * Walks the marker segments up to the scan and checks the frame is one
 * self-contained baseline JPEG: SOI, quantisation and Huffman tables present,
 * a SOF0 (never SOF1/SOF2/...) of @width x @height with Y at 2x2 and Cb, Cr
 * at 1x1 (4:2:0), and EOI at the end.
 */
static void check_jpeg_structure(const guint8 *data, gsize size, int width, int height)
{
    gboolean sof0 = FALSE, dqt = FALSE, dht = FALSE, sos = FALSE;
    gsize pos = 2;

    g_assert_cmpuint(size, >=, 4);
    g_assert_cmphex(data[0], ==, 0xff);
    g_assert_cmphex(data[1], ==, 0xd8);
    g_assert_cmphex(data[size - 2], ==, 0xff);
    g_assert_cmphex(data[size - 1], ==, 0xd9);

    while (!sos) {
        guint marker, len;

        g_assert_cmpuint(pos + 4, <=, size);
        g_assert_cmphex(data[pos], ==, 0xff);
        while (data[pos + 1] == 0xff) {
            pos++;
            g_assert_cmpuint(pos + 4, <=, size);
        }
        marker = data[pos + 1];
        g_assert_cmphex(marker, !=, 0xd9); /* EOI before any scan */
        if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
            pos += 2;
            continue;
        }
        len = be16(data + pos + 2);
        g_assert_cmpuint(len, >=, 2);
        g_assert_cmpuint(pos + 2 + len, <=, size);

        if (marker == 0xc0) {
            const guint8 *seg = data + pos + 4;

            g_assert_false(sof0);
            sof0 = TRUE;
            g_assert_cmpuint(len, ==, 8 + 3 * 3);
            g_assert_cmpuint(seg[0], ==, 8); /* precision */
            g_assert_cmpuint(be16(seg + 1), ==, (guint)height);
            g_assert_cmpuint(be16(seg + 3), ==, (guint)width);
            g_assert_cmpuint(seg[5], ==, 3); /* components */
            g_assert_cmphex(seg[6 + 1], ==, 0x22);
            g_assert_cmphex(seg[9 + 1], ==, 0x11);
            g_assert_cmphex(seg[12 + 1], ==, 0x11);
        } else if (marker >= 0xc1 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 &&
                   marker != 0xcc) {
            g_error("frame uses SOF%u, not baseline SOF0", marker - 0xc0);
        } else if (marker == 0xdb) {
            dqt = TRUE;
        } else if (marker == 0xc4) {
            dht = TRUE;
        } else if (marker == 0xda) {
            sos = TRUE;
        }
        pos += 2 + len;
    }
    g_assert_true(sof0);
    g_assert_true(dqt);
    g_assert_true(dht);
}

/* Decodes with TurboJPEG to packed RGB (stride width * 3) after checking the
 * header: @width x @height, 4:2:0, YCbCr. */
static guint8 *tj_decode(const VideoBuffer *buf, int width, int height)
{
    tjhandle tj = tjInitDecompress();
    int w = 0, h = 0, subsamp = -1, colorspace = -1;
    guint8 *rgb;

    g_assert_nonnull(tj);
    if (tjDecompressHeader3(tj, buf->data, buf->size, &w, &h, &subsamp, &colorspace) != 0) {
        g_error("tjDecompressHeader3: %s", tjGetErrorStr2(tj));
    }
    g_assert_cmpint(w, ==, width);
    g_assert_cmpint(h, ==, height);
    g_assert_cmpint(subsamp, ==, TJSAMP_420);
    g_assert_cmpint(colorspace, ==, TJCS_YCbCr);

    rgb = g_malloc((gsize)width * height * 3);
    if (tjDecompress2(tj, buf->data, buf->size, rgb, width, width * 3, height, TJPF_RGB, 0) != 0) {
        g_error("tjDecompress2: %s", tjGetErrorStr2(tj));
    }
    tjDestroy(tj);
    return rgb;
}

/*
 * PSNR over R, G and B between a decoded frame (@stride bytes per line) and
 * the @src area of @exp. With @flipped the frame's first line is the area's
 * bottom line (a bottom-up source: the encoder keeps memory order).
 */
static double psnr(const guint8 *dec, gsize stride, const Picture *exp, const SpiceRect *src,
                   gboolean flipped)
{
    int width = src->right - src->left, height = src->bottom - src->top;
    double sum = 0.0, mse;

    for (int row = 0; row < height; row++) {
        int visual = flipped ? src->bottom - 1 - row : src->top + row;
        const guint8 *e = exp->rgb + ((gsize)visual * exp->width + src->left) * 3;
        const guint8 *d = dec + (gsize)row * stride;

        for (int i = 0; i < width * 3; i++) {
            double diff = (double)d[i] - e[i];

            sum += diff * diff;
        }
    }
    mse = sum / ((double)width * height * 3);
    if (mse < 1e-3) {
        return 99.0;
    }
    return 10.0 * log10(255.0 * 255.0 / mse);
}

/* Checks @buf is a baseline 4:2:0 JPEG of the @src area and returns the
 * PSNR of its TurboJPEG decoding against @exp. */
static double check_frame(const VideoBuffer *buf, const Picture *exp, const SpiceRect *src,
                          gboolean flipped)
{
    int width = src->right - src->left, height = src->bottom - src->top;
    g_autofree guint8 *rgb = NULL;

    check_jpeg_structure(buf->data, buf->size, width, height);
    rgb = tj_decode(buf, width, height);
    return psnr(rgb, (gsize)width * 3, exp, src, flipped);
}

/* ---- GStreamer jpegdec ------------------------------------------------------- */

#if SV_HAVE_GSTREAMER
/* Decodes one JPEG with appsrc ! jpegdec ! videoconvert ! appsink (RGB).
 * @return the pixels, with *@stride bytes per line, or NULL on failure. */
static guint8 *gst_decode(const VideoBuffer *jpeg, int width, int height, gsize *stride)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GstElement) pipeline = NULL;
    g_autoptr(GstElement) src = NULL;
    g_autoptr(GstElement) sink = NULL;
    g_autoptr(GstCaps) caps = NULL;
    g_autoptr(GstSample) sample = NULL;
    GstBuffer *buffer;
    GstMapInfo map;
    const GstStructure *s;
    int w = 0, h = 0;
    guint8 *rgb;

    pipeline = gst_parse_launch("appsrc name=src format=time ! jpegdec ! videoconvert ! "
                                "video/x-raw,format=RGB ! appsink name=sink sync=false",
                                &error);
    g_assert_no_error(error);
    src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    caps = gst_caps_new_simple("image/jpeg", "parsed", G_TYPE_BOOLEAN, TRUE, "width", G_TYPE_INT,
                               width, "height", G_TYPE_INT, height, "framerate", GST_TYPE_FRACTION,
                               0, 1, NULL);
    gst_app_src_set_caps(GST_APP_SRC(src), caps);
    g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), !=,
                    GST_STATE_CHANGE_FAILURE);

    buffer = gst_buffer_new_memdup(jpeg->data, jpeg->size);
    GST_BUFFER_PTS(buffer) = 0;
    GST_BUFFER_DURATION(buffer) = GST_SECOND / 25;
    g_assert_cmpint(gst_app_src_push_buffer(GST_APP_SRC(src), buffer), ==, GST_FLOW_OK);
    gst_app_src_end_of_stream(GST_APP_SRC(src));

    sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND);
    if (sample == NULL) {
        gst_element_set_state(pipeline, GST_STATE_NULL);
        return NULL;
    }
    s = gst_caps_get_structure(gst_sample_get_caps(sample), 0);
    g_assert_true(gst_structure_get_int(s, "width", &w));
    g_assert_true(gst_structure_get_int(s, "height", &h));
    g_assert_cmpint(w, ==, width);
    g_assert_cmpint(h, ==, height);

    buffer = gst_sample_get_buffer(sample);
    g_assert_true(gst_buffer_map(buffer, &map, GST_MAP_READ));
    /* Packed RGB: GStreamer's default layout pads each line to 4 bytes and
     * adds nothing after the last one. */
    *stride = map.size / (gsize)height;
    g_assert_cmpuint(*stride, >=, (gsize)width * 3);
    rgb = g_memdup2(map.data, map.size);
    gst_buffer_unmap(buffer, &map);

    gst_element_set_state(pipeline, GST_STATE_NULL);
    return rgb;
}
#endif

/* Skips the current test unless GStreamer can decode JPEG; the reason is
 * the one the style guide asks for. */
static gboolean have_gst_jpegdec(void)
{
#if SV_HAVE_GSTREAMER
    GstElementFactory *factory = gst_element_factory_find("jpegdec");

    if (factory == NULL) {
        g_test_skip("GStreamer jpegdec not installed");
        return FALSE;
    }
    gst_object_unref(factory);
    factory = gst_element_factory_find("videoconvert");
    if (factory == NULL) {
        g_test_skip("GStreamer videoconvert not installed");
        return FALSE;
    }
    gst_object_unref(factory);
    return TRUE;
#else
    g_test_skip("built without GStreamer");
    return FALSE;
#endif
}

/* ---- the matrix ---------------------------------------------------------- */

typedef enum {
    CLIP_FULL,
    CLIP_INTERIOR, /* odd offsets and sizes */
    CLIP_1X1,
    CLIP_2X3,
    CLIP_EDGE, /* touches the right and bottom edges */
    CLIP_COUNT,
} Clip;

static const char *const clip_names[] = {"full", "interior", "1x1", "2x3", "right-bottom"};

static SpiceRect clip_rect(Clip clip, int width, int height)
{
    SpiceRect r = {0, 0, width, height};

    switch (clip) {
    case CLIP_INTERIOR:
        r = (SpiceRect){3, 5, 3 + 161, 5 + 97};
        break;
    case CLIP_1X1:
        r = (SpiceRect){7, 9, 8, 10};
        break;
    case CLIP_2X3:
        r = (SpiceRect){101, 33, 103, 36};
        break;
    case CLIP_EDGE:
        r = (SpiceRect){width - 131, height - 77, width, height};
        break;
    case CLIP_FULL:
    default:
        break;
    }
    return r;
}

typedef struct {
    const FormatInfo *format;
    gboolean top_down;
    ChunkLayout layout;
    Clip clip;
    guint padding;
} MatrixCase;

static void test_matrix(gconstpointer data)
{
    const MatrixCase *mc = data;
    g_autoptr(Picture) pic = picture_new(MATRIX_WIDTH, MATRIX_HEIGHT, 1);
    g_autoptr(Picture) exp = picture_expected(pic, mc->format->fmt);
    g_autoptr(TestBitmap) tb =
        test_bitmap_new(pic, mc->format->fmt, mc->top_down, mc->padding, mc->layout);
    SpiceRect src = clip_rect(mc->clip, MATRIX_WIDTH, MATRIX_HEIGHT);
    TestClock clock;
    VideoEncoder *encoder = encoder_new(&clock);
    VideoBuffer *buf = encode_ok(encoder, &clock, tb, &src);
    double db = check_frame(buf, exp, &src, !mc->top_down);

    g_test_message("PSNR %.2f dB, %u bytes", db, buf->size);
    g_assert_cmpfloat(db, >=, MIN_PSNR_DB);

    /* The comparison must be able to fail: the same frame read in the other
     * line order is far off (only meaningful for areas with some height). */
    if (src.bottom - src.top > 16) {
        g_autofree guint8 *rgb = tj_decode(buf, src.right - src.left, src.bottom - src.top);

        g_assert_cmpfloat(psnr(rgb, (gsize)(src.right - src.left) * 3, exp, &src, mc->top_down), <,
                          MAX_PSNR_DIFFERENT_DB);
    }

    buf->free(buf);
    encoder->destroy(encoder);
}

/* GStreamer's jpegdec, an independent decoder path, must agree. */
static void test_gst_decode(gconstpointer data)
{
    if (!have_gst_jpegdec()) {
        return;
    }
#if SV_HAVE_GSTREAMER
    {
        const MatrixCase *mc = data;
        g_autoptr(Picture) pic = picture_new(MATRIX_WIDTH, MATRIX_HEIGHT, 2);
        g_autoptr(Picture) exp = picture_expected(pic, mc->format->fmt);
        g_autoptr(TestBitmap) tb =
            test_bitmap_new(pic, mc->format->fmt, mc->top_down, mc->padding, mc->layout);
        SpiceRect src = clip_rect(mc->clip, MATRIX_WIDTH, MATRIX_HEIGHT);
        int width = src.right - src.left, height = src.bottom - src.top;
        TestClock clock;
        VideoEncoder *encoder = encoder_new(&clock);
        VideoBuffer *buf = encode_ok(encoder, &clock, tb, &src);
        g_autofree guint8 *rgb = NULL;
        gsize stride = 0;
        double db;

        check_jpeg_structure(buf->data, buf->size, width, height);
        rgb = gst_decode(buf, width, height, &stride);
        g_assert_nonnull(rgb);
        db = psnr(rgb, stride, exp, &src, !mc->top_down);
        g_test_message("jpegdec PSNR %.2f dB", db);
        g_assert_cmpfloat(db, >=, MIN_PSNR_DB);

        buf->free(buf);
        encoder->destroy(encoder);
    }
#endif
}

/* ---- frames, buffers ------------------------------------------------------- */

/* Different input frames give different decoded pictures, each close to its
 * own input and far from the other's: an encoder emitting a constant picture
 * fails. Three buffers are kept at once and freed in reverse order, the last
 * one after the encoder is gone. */
static void test_buffers_and_content(void)
{
    const SpiceRect src = {0, 0, MATRIX_WIDTH, MATRIX_HEIGHT};
    Picture *pics[3];
    VideoBuffer *bufs[3];
    guint8 *rgb[3];
    TestClock clock;
    VideoEncoder *encoder = encoder_new(&clock);

    for (guint i = 0; i < 3; i++) {
        g_autoptr(TestBitmap) tb = NULL;

        pics[i] = picture_new(MATRIX_WIDTH, MATRIX_HEIGHT, 100 + i);
        tb = test_bitmap_new(pics[i], SPICE_BITMAP_FMT_32BIT, TRUE, 0, CHUNKS_ONE);
        bufs[i] = encode_ok(encoder, &clock, tb, &src);
    }
    for (guint i = 0; i < 3; i++) {
        for (guint j = 0; j < i; j++) {
            g_assert_true(bufs[i] != bufs[j]);
            g_assert_true(bufs[i]->data != bufs[j]->data);
        }
    }
    for (guint i = 0; i < 3; i++) {
        double own;

        check_jpeg_structure(bufs[i]->data, bufs[i]->size, MATRIX_WIDTH, MATRIX_HEIGHT);
        rgb[i] = tj_decode(bufs[i], MATRIX_WIDTH, MATRIX_HEIGHT);
        own = psnr(rgb[i], MATRIX_WIDTH * 3, pics[i], &src, FALSE);
        g_test_message("frame %u: PSNR %.2f dB, %u bytes", i, own, bufs[i]->size);
        g_assert_cmpfloat(own, >=, MIN_PSNR_DB);
    }
    for (guint i = 0; i < 3; i++) {
        guint other = (i + 1) % 3;

        g_assert_cmpfloat(psnr(rgb[i], MATRIX_WIDTH * 3, pics[other], &src, FALSE), <,
                          MAX_PSNR_DIFFERENT_DB);
    }

    bufs[2]->free(bufs[2]);
    bufs[1]->free(bufs[1]);
    encoder->destroy(encoder);
    bufs[0]->free(bufs[0]);
    for (guint i = 0; i < 3; i++) {
        g_free(rgb[i]);
        picture_free(pics[i]);
    }
}

/* The decoded picture has the spread of its input, not just its mean: catches
 * an encoder that ignores its input and emits a flat picture. */
static void test_not_constant(void)
{
    const SpiceRect src = {0, 0, 64, 48};
    g_autoptr(Picture) pic = picture_new(64, 48, 7);
    g_autoptr(TestBitmap) tb = test_bitmap_new(pic, SPICE_BITMAP_FMT_24BIT, TRUE, 0, CHUNKS_ONE);
    TestClock clock;
    VideoEncoder *encoder = encoder_new(&clock);
    VideoBuffer *buf = encode_ok(encoder, &clock, tb, &src);
    g_autofree guint8 *rgb = tj_decode(buf, 64, 48);
    double mean = 0.0, var = 0.0;
    gsize n = 64 * 48 * 3;

    for (gsize i = 0; i < n; i++) {
        mean += rgb[i];
    }
    mean /= n;
    for (gsize i = 0; i < n; i++) {
        var += (rgb[i] - mean) * (rgb[i] - mean);
    }
    var /= n;
    g_test_message("decoded mean %.1f, std %.1f", mean, sqrt(var));
    g_assert_cmpfloat(sqrt(var), >, 20.0);

    buf->free(buf);
    encoder->destroy(encoder);
}

/* Flat colours come back within a few levels, per channel: catches small
 * conversion errors that PSNR on busy content hides (16-bit expansion by a
 * plain shift, an unmasked top bit, a slightly wrong channel mix). */
static void test_flat_colours(gconstpointer data)
{
    static const guint8 colours[][3] = {
        {0, 0, 0},     {255, 255, 255}, {248, 248, 248}, {128, 64, 192},
        {200, 30, 90}, {20, 180, 240},  {250, 250, 10},  {7, 7, 7},
    };
    const FormatInfo *format = data;
    const SpiceRect src = {0, 0, 32, 16};
    TestClock clock;
    VideoEncoder *encoder = encoder_new(&clock);

    for (guint c = 0; c < G_N_ELEMENTS(colours); c++) {
        g_autoptr(Picture) pic = g_new0(Picture, 1);
        g_autoptr(Picture) exp = NULL;
        g_autoptr(TestBitmap) tb = NULL;
        g_autofree guint8 *rgb = NULL;
        VideoBuffer *buf;
        int max_diff = 0;

        pic->width = 32;
        pic->height = 16;
        pic->rgb = g_malloc(32 * 16 * 3);
        for (guint i = 0; i < 32 * 16; i++) {
            memcpy(pic->rgb + i * 3, colours[c], 3);
        }
        exp = picture_expected(pic, format->fmt);
        tb = test_bitmap_new(pic, format->fmt, TRUE, 0, CHUNKS_ONE);
        buf = encode_ok(encoder, &clock, tb, &src);
        rgb = tj_decode(buf, 32, 16);
        for (guint i = 0; i < 32 * 16 * 3; i++) {
            max_diff = MAX(max_diff, ABS((int)rgb[i] - (int)exp->rgb[i]));
        }
        g_test_message("colour %u,%u,%u: max difference %d", colours[c][0], colours[c][1],
                       colours[c][2], max_diff);
        g_assert_cmpint(max_diff, <=, 3);
        buf->free(buf);
    }
    encoder->destroy(encoder);
}

/* The data may end right after the last pixel the area needs: the padding
 * of the last memory line is not required. */
static void test_last_line_without_padding(gconstpointer data)
{
    gboolean top_down = GPOINTER_TO_INT(data);
    g_autoptr(Picture) pic = picture_new(MATRIX_WIDTH, MATRIX_HEIGHT, 5);
    g_autoptr(TestBitmap) tb =
        test_bitmap_new(pic, SPICE_BITMAP_FMT_24BIT, top_down, 10, CHUNKS_ODD);
    /* Bottom-up: the visual top is the last memory line. */
    SpiceRect src = top_down ? (SpiceRect){0, 0, MATRIX_WIDTH, MATRIX_HEIGHT}
                             : (SpiceRect){17, 0, MATRIX_WIDTH, 33};
    TestClock clock;
    VideoEncoder *encoder = encoder_new(&clock);
    VideoBuffer *buf;
    double db;

    test_bitmap_trim(tb, 10);
    buf = encode_ok(encoder, &clock, tb, &src);
    db = check_frame(buf, pic, &src, !top_down);
    g_test_message("PSNR %.2f dB", db);
    g_assert_cmpfloat(db, >=, MIN_PSNR_DB);
    buf->free(buf);
    encoder->destroy(encoder);
}

/* ---- what must be refused ------------------------------------------------ */

typedef struct {
    const char *name;
    TestBitmap *(*build)(SpiceRect *src);
} NegativeCase;

#define NEG_W 64
#define NEG_H 48

static TestBitmap *palette_bitmap(SpiceBitmapFmt fmt, guint32 stride, guint entries)
{
    TestBitmap *tb = test_bitmap_new_raw(fmt, NEG_W, NEG_H, stride, (gsize)stride * NEG_H);

    tb->palette = g_malloc0(sizeof(SpicePalette) + entries * sizeof(uint32_t));
    tb->palette->unique = 1;
    tb->palette->num_ents = (uint16_t)entries;
    for (guint i = 0; i < entries; i++) {
        tb->palette->ents[i] = i * 0x010101u;
    }
    tb->bitmap.palette = tb->palette;
    return tb;
}

static TestBitmap *neg_8bit(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W, NEG_H};
    return palette_bitmap(SPICE_BITMAP_FMT_8BIT, NEG_W, 256);
}

static TestBitmap *neg_1bit_le(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W, NEG_H};
    return palette_bitmap(SPICE_BITMAP_FMT_1BIT_LE, NEG_W / 8, 2);
}

static TestBitmap *neg_1bit_be(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W, NEG_H};
    return palette_bitmap(SPICE_BITMAP_FMT_1BIT_BE, NEG_W / 8, 2);
}

static TestBitmap *neg_4bit_le(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W, NEG_H};
    return palette_bitmap(SPICE_BITMAP_FMT_4BIT_LE, NEG_W / 2, 16);
}

static TestBitmap *neg_4bit_be(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W, NEG_H};
    return palette_bitmap(SPICE_BITMAP_FMT_4BIT_BE, NEG_W / 2, 16);
}

static TestBitmap *neg_8bit_a(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W, NEG_H};
    return test_bitmap_new_raw(SPICE_BITMAP_FMT_8BIT_A, NEG_W, NEG_H, NEG_W, NEG_W * NEG_H);
}

static TestBitmap *neg_fmt_invalid(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W, NEG_H};
    return test_bitmap_new_raw(SPICE_BITMAP_FMT_INVALID, NEG_W, NEG_H, NEG_W * 4,
                               NEG_W * 4 * NEG_H);
}

static TestBitmap *neg_fmt_out_of_range(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W, NEG_H};
    return test_bitmap_new_raw(200, NEG_W, NEG_H, NEG_W * 4, NEG_W * 4 * NEG_H);
}

/* A valid 32BIT bitmap whose last @missing bytes are gone. */
static TestBitmap *truncated_bitmap(gboolean top_down, ChunkLayout layout, gsize missing)
{
    g_autoptr(Picture) pic = picture_new(NEG_W, NEG_H, 3);
    TestBitmap *tb = test_bitmap_new(pic, SPICE_BITMAP_FMT_32BIT, top_down, 0, layout);

    test_bitmap_trim(tb, missing);
    return tb;
}

static TestBitmap *neg_truncated_last_byte(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W, NEG_H};
    /* the last pixel's R and X bytes */
    return truncated_bitmap(TRUE, CHUNKS_ONE, 2);
}

static TestBitmap *neg_truncated_lines(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W, NEG_H};
    return truncated_bitmap(TRUE, CHUNKS_LINES, 3 * NEG_W * 4);
}

static TestBitmap *neg_truncated_mid_line(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W, NEG_H};
    return truncated_bitmap(TRUE, CHUNKS_ODD, NEG_W * 4 / 2 + 1);
}

static TestBitmap *neg_truncated_tiny(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W, NEG_H};
    return truncated_bitmap(TRUE, CHUNKS_TINY, 5);
}

/* Bottom-up, and the area touches the visual top and the right edge, i.e.
 * the end of the last memory line, which is missing. */
static TestBitmap *neg_truncated_bottom_up(SpiceRect *src)
{
    *src = (SpiceRect){5, 0, NEG_W, 11};
    return truncated_bitmap(FALSE, CHUNKS_ODD, 7);
}

/* data_size claims the whole image but the chunks hold less. */
static TestBitmap *neg_data_size_lies(SpiceRect *src)
{
    TestBitmap *tb = truncated_bitmap(TRUE, CHUNKS_ODD, 100);

    tb->bitmap.data->data_size += 100;
    *src = (SpiceRect){0, 0, NEG_W, NEG_H};
    return tb;
}

static TestBitmap *valid_bitmap(void)
{
    g_autoptr(Picture) pic = picture_new(NEG_W, NEG_H, 4);

    return test_bitmap_new(pic, SPICE_BITMAP_FMT_32BIT, TRUE, 0, CHUNKS_ONE);
}

static TestBitmap *neg_src_right_outside(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W + 1, NEG_H};
    return valid_bitmap();
}

static TestBitmap *neg_src_bottom_outside(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, NEG_W, NEG_H + 1};
    return valid_bitmap();
}

static TestBitmap *neg_src_bottom_outside_bottom_up(SpiceRect *src)
{
    TestBitmap *tb = valid_bitmap();

    /* bitmap.y - src.bottom would be negative */
    tb->bitmap.flags = 0;
    *src = (SpiceRect){0, 10, NEG_W, NEG_H + 3};
    return tb;
}

static TestBitmap *neg_src_negative_left(SpiceRect *src)
{
    *src = (SpiceRect){-1, 0, 10, 10};
    return valid_bitmap();
}

static TestBitmap *neg_src_negative_top(SpiceRect *src)
{
    *src = (SpiceRect){0, -1, 10, 10};
    return valid_bitmap();
}

static TestBitmap *neg_src_inverted(SpiceRect *src)
{
    *src = (SpiceRect){20, 20, 10, 10};
    return valid_bitmap();
}

static TestBitmap *neg_src_int_max(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, G_MAXINT32, G_MAXINT32};
    return valid_bitmap();
}

static TestBitmap *neg_src_int_min(SpiceRect *src)
{
    *src = (SpiceRect){G_MININT32, G_MININT32, 10, 10};
    return valid_bitmap();
}

static TestBitmap *neg_src_far_outside(SpiceRect *src)
{
    *src = (SpiceRect){1000, 1000, 1010, 1010};
    return valid_bitmap();
}

static TestBitmap *neg_src_empty_width(SpiceRect *src)
{
    *src = (SpiceRect){10, 10, 10, 20};
    return valid_bitmap();
}

static TestBitmap *neg_src_empty_height(SpiceRect *src)
{
    *src = (SpiceRect){10, 10, 20, 10};
    return valid_bitmap();
}

static TestBitmap *neg_src_empty_zero(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, 0, 0};
    return valid_bitmap();
}

static TestBitmap *neg_empty_bitmap(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, 0, 0};
    return test_bitmap_new_raw(SPICE_BITMAP_FMT_32BIT, 0, 0, 0, 0);
}

static TestBitmap *neg_absurd_width(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, 100000, 2};
    return test_bitmap_new_raw(SPICE_BITMAP_FMT_32BIT, 100000, 2, 400000, 256);
}

static TestBitmap *neg_absurd_width_small_stride(SpiceRect *src)
{
    /* The stride is smaller than a line. */
    *src = (SpiceRect){0, 0, 100000, 1};
    return test_bitmap_new_raw(SPICE_BITMAP_FMT_32BIT, 100000, 1, 4, 4);
}

static TestBitmap *neg_absurd_width_sub_rect(SpiceRect *src)
{
    /* Only a few pixels far to the right: the offset is past the data. */
    *src = (SpiceRect){99990, 0, 100000, 1};
    return test_bitmap_new_raw(SPICE_BITMAP_FMT_24BIT, 100000, 1, 300000, 64);
}

static TestBitmap *neg_absurd_height(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, 16, 1000000};
    return test_bitmap_new_raw(SPICE_BITMAP_FMT_32BIT, 16, 1000000, 64, 256);
}

static TestBitmap *neg_huge_everything(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, G_MAXINT32, G_MAXINT32};
    return test_bitmap_new_raw(SPICE_BITMAP_FMT_32BIT, G_MAXUINT32, G_MAXUINT32, G_MAXUINT32, 256);
}

/* The first needed line is 2^28 lines of 16 bytes in: 2^32 bytes, which is
 * 0 in 32-bit arithmetic. */
static TestBitmap *neg_offset_wraps_top_down(SpiceRect *src)
{
    *src = (SpiceRect){0, 1 << 28, 4, (1 << 28) + 1};
    return test_bitmap_new_raw(SPICE_BITMAP_FMT_32BIT, 4, (1u << 28) + 1, 16, 256);
}

static TestBitmap *neg_offset_wraps_bottom_up(SpiceRect *src)
{
    TestBitmap *tb = test_bitmap_new_raw(SPICE_BITMAP_FMT_32BIT, 4, (1u << 28) + 1, 16, 256);

    /* bottom-up: the first memory line is y - bottom = 2^28 */
    tb->bitmap.flags = 0;
    *src = (SpiceRect){0, 0, 4, 1};
    return tb;
}

static TestBitmap *neg_null_chunk(SpiceRect *src)
{
    TestBitmap *tb = test_bitmap_new_raw(SPICE_BITMAP_FMT_32BIT, 16, 16, 64, 0);

    g_free(tb->bitmap.data);
    tb->bitmap.data = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    tb->bitmap.data->num_chunks = 1;
    *src = (SpiceRect){0, 0, 16, 16};
    return tb;
}

static TestBitmap *neg_null_chunks(SpiceRect *src)
{
    TestBitmap *tb = test_bitmap_new_raw(SPICE_BITMAP_FMT_32BIT, 16, 16, 64, 0);

    g_free(tb->bitmap.data);
    tb->bitmap.data = g_malloc0(sizeof(SpiceChunks) + 5 * sizeof(SpiceChunk));
    tb->bitmap.data->num_chunks = 5;
    *src = (SpiceRect){0, 0, 16, 16};
    return tb;
}

static TestBitmap *neg_no_chunks(SpiceRect *src)
{
    *src = (SpiceRect){0, 0, 16, 16};
    return test_bitmap_new_raw(SPICE_BITMAP_FMT_32BIT, 16, 16, 64, 0);
}

static const NegativeCase negative_cases[] = {
    {"format-8bit", neg_8bit},
    {"format-1bit-le", neg_1bit_le},
    {"format-1bit-be", neg_1bit_be},
    {"format-4bit-le", neg_4bit_le},
    {"format-4bit-be", neg_4bit_be},
    {"format-8bit-a", neg_8bit_a},
    {"format-invalid", neg_fmt_invalid},
    {"format-out-of-range", neg_fmt_out_of_range},
    {"truncated-last-byte", neg_truncated_last_byte},
    {"truncated-lines", neg_truncated_lines},
    {"truncated-mid-line", neg_truncated_mid_line},
    {"truncated-tiny-chunks", neg_truncated_tiny},
    {"truncated-bottom-up", neg_truncated_bottom_up},
    {"data-size-larger-than-chunks", neg_data_size_lies},
    {"src-right-outside", neg_src_right_outside},
    {"src-bottom-outside", neg_src_bottom_outside},
    {"src-bottom-outside-bottom-up", neg_src_bottom_outside_bottom_up},
    {"src-negative-left", neg_src_negative_left},
    {"src-negative-top", neg_src_negative_top},
    {"src-inverted", neg_src_inverted},
    {"src-int-max", neg_src_int_max},
    {"src-int-min", neg_src_int_min},
    {"src-far-outside", neg_src_far_outside},
    {"src-empty-width", neg_src_empty_width},
    {"src-empty-height", neg_src_empty_height},
    {"src-empty-zero", neg_src_empty_zero},
    {"empty-bitmap", neg_empty_bitmap},
    {"absurd-width", neg_absurd_width},
    {"absurd-width-small-stride", neg_absurd_width_small_stride},
    {"absurd-width-sub-rect", neg_absurd_width_sub_rect},
    {"absurd-height", neg_absurd_height},
    {"huge-everything", neg_huge_everything},
    {"offset-wraps-32bit-top-down", neg_offset_wraps_top_down},
    {"offset-wraps-32bit-bottom-up", neg_offset_wraps_bottom_up},
    {"null-chunk", neg_null_chunk},
    {"null-chunks", neg_null_chunks},
    {"no-chunks", neg_no_chunks},
};

/* The frame is refused, nothing leaks, and the encoder still encodes a good
 * frame afterwards. */
static void test_negative(gconstpointer data)
{
    const NegativeCase *nc = data;
    SpiceRect src;
    g_autoptr(TestBitmap) tb = nc->build(&src);
    g_autoptr(TestBitmap) good = valid_bitmap();
    const SpiceRect good_src = {0, 0, NEG_W, NEG_H};
    TestClock clock;
    VideoEncoder *encoder = encoder_new(&clock);
    VideoBuffer *buf = NULL;

    g_assert_cmpint(encode(encoder, &clock, tb, &src, &buf), ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);

    buf = encode_ok(encoder, &clock, good, &good_src);
    check_jpeg_structure(buf->data, buf->size, NEG_W, NEG_H);
    buf->free(buf);
    encoder->destroy(encoder);
}

/* ---- the factory --------------------------------------------------------- */

static void test_factory_other_codecs(void)
{
    static const SpiceVideoCodecType others[] = {
        SPICE_VIDEO_CODEC_TYPE_VP8,  SPICE_VIDEO_CODEC_TYPE_H264,     SPICE_VIDEO_CODEC_TYPE_VP9,
        SPICE_VIDEO_CODEC_TYPE_H265, SPICE_VIDEO_CODEC_TYPE_ENUM_END, 0,
    };
    VideoEncoderRateControlCbs cbs = {0};
    const SvEncoderConfig config = {0};

    for (guint i = 0; i < G_N_ELEMENTS(others); i++) {
        g_assert_null(sv_mjpeg_encoder_new(others[i], STARTING_BIT_RATE, &cbs, NULL, NULL));
        g_assert_null(sv_mjpeg_encoder_new_full(others[i], STARTING_BIT_RATE, &cbs, NULL, NULL,
                                                &config));
        g_assert_null(sv_mjpeg_encoder_new_full(others[i], STARTING_BIT_RATE, &cbs, NULL, NULL,
                                                NULL));
    }
}

/* The plain factory (system clock) encodes too; its first frame is never
 * paced away. */
static void test_factory_plain(void)
{
    VideoEncoderRateControlCbs cbs = {0};
    VideoEncoder *encoder =
        sv_mjpeg_encoder_new(SPICE_VIDEO_CODEC_TYPE_MJPEG, STARTING_BIT_RATE, &cbs, NULL, NULL);
    g_autoptr(TestBitmap) tb = valid_bitmap();
    const SpiceRect src = {0, 0, NEG_W, NEG_H};
    VideoBuffer *buf = NULL;
    VideoEncodeResults res;

    g_assert_nonnull(encoder);
    g_assert_cmpint(encoder->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_MJPEG);
    res = encoder->encode_frame(encoder, 1000, &tb->bitmap, &src, 1, NULL, &buf);
    g_assert_cmpint(res, ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    check_jpeg_structure(buf->data, buf->size, NEG_W, NEG_H);
    buf->free(buf);
    encoder->destroy(encoder);
}

/* ---- registration ---------------------------------------------------------- */

static void add_matrix_case(GPtrArray *keep, const char *prefix, GTestDataFunc func,
                            const FormatInfo *format, gboolean top_down, ChunkLayout layout,
                            Clip clip)
{
    MatrixCase *mc = g_new0(MatrixCase, 1);
    g_autofree char *path = NULL;
    guint fmt_index = (guint)(format - formats);

    mc->format = format;
    mc->top_down = top_down;
    mc->layout = layout;
    mc->clip = clip;
    /* Half of the cases get line padding, of a few different sizes. */
    mc->padding = ((guint)layout + (guint)clip) % 2 ? 4 * (fmt_index + 1) + 2 : 0;
    g_ptr_array_add(keep, mc);

    path = g_strdup_printf("/mjpeg-image/%s/%s/%s/%s/%s%s", prefix, format->name,
                           top_down ? "top-down" : "bottom-up", chunk_layout_names[layout],
                           clip_names[clip], mc->padding ? "/padded" : "");
    g_test_add_data_func(path, mc, func);
}

int main(int argc, char **argv)
{
    g_autoptr(GPtrArray) keep = g_ptr_array_new_with_free_func(g_free);
    int ret;

    g_test_init(&argc, &argv, NULL);
#if SV_HAVE_GSTREAMER
    gst_init(&argc, &argv);
#endif

    for (guint f = 0; f < G_N_ELEMENTS(formats); f++) {
        for (int td = 1; td >= 0; td--) {
            for (ChunkLayout layout = CHUNKS_ONE; layout <= CHUNKS_TINY; layout++) {
                for (Clip clip = CLIP_FULL; clip < CLIP_COUNT; clip++) {
                    add_matrix_case(keep, "matrix", test_matrix, &formats[f], td, layout, clip);
                }
            }
            add_matrix_case(keep, "matrix", test_matrix, &formats[f], td, CHUNKS_EMPTY,
                            CLIP_INTERIOR);
            add_matrix_case(keep, "jpegdec", test_gst_decode, &formats[f], td, CHUNKS_ODD,
                            CLIP_FULL);
            add_matrix_case(keep, "jpegdec", test_gst_decode, &formats[f], td, CHUNKS_LINES,
                            CLIP_INTERIOR);
            add_matrix_case(keep, "jpegdec", test_gst_decode, &formats[f], td, CHUNKS_TINY,
                            CLIP_EDGE);
        }
    }
    for (guint f = 0; f < G_N_ELEMENTS(formats); f++) {
        g_autofree char *path = g_strdup_printf("/mjpeg-image/flat-colours/%s", formats[f].name);

        g_test_add_data_func(path, &formats[f], test_flat_colours);
    }
    g_test_add_data_func("/mjpeg-image/last-line-without-padding/top-down", GINT_TO_POINTER(1),
                         test_last_line_without_padding);
    g_test_add_data_func("/mjpeg-image/last-line-without-padding/bottom-up", GINT_TO_POINTER(0),
                         test_last_line_without_padding);
    g_test_add_func("/mjpeg-image/buffers-and-content", test_buffers_and_content);
    g_test_add_func("/mjpeg-image/not-constant", test_not_constant);
    for (guint i = 0; i < G_N_ELEMENTS(negative_cases); i++) {
        g_autofree char *path =
            g_strdup_printf("/mjpeg-image/unsupported/%s", negative_cases[i].name);

        g_test_add_data_func(path, &negative_cases[i], test_negative);
    }
    g_test_add_func("/mjpeg-image/factory/other-codecs", test_factory_other_codecs);
    g_test_add_func("/mjpeg-image/factory/plain", test_factory_plain);

    ret = g_test_run();
#if SV_HAVE_GSTREAMER
    gst_deinit();
#endif
    return ret;
}
