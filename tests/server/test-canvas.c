/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The surface renderer (server/canvas.c): synthetic draws of every kind the
 * canvas renders exactly, the guards against absurd input, and a replay of
 * the real corpora where every plain COPY must leave exactly the bitmap's
 * pixels (decoded here independently from the trace) and every COPY_BITS
 * exactly the shifted old picture.
 */
#include "config.h"

#include <string.h>

#include <glib.h>
#include <pixman.h>
#include <spice/enums.h>
#include <spice/qxl_dev.h>

#include <spice-video/server.h>
#include <spice-video/trace.h>

#include "trace-commands.h"

#ifndef SV_CORPORA_DIR
#error "SV_CORPORA_DIR must name the corpora folder"
#endif

#define RGB_MASK 0x00ffffffu

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

static SvCanvas *canvas_new(uint32_t w, uint32_t h)
{
    g_autoptr(GError) error = NULL;
    SvCanvas *canvas = sv_canvas_new(w, h, SPICE_SURFACE_FMT_32_xRGB, &error);
    g_assert_no_error(error);
    g_assert_nonnull(canvas);
    return canvas;
}

static uint32_t px(SvCanvas *canvas, int x, int y)
{
    const uint8_t *p = sv_canvas_get_const_data(canvas) + (size_t)y * sv_canvas_get_stride(canvas);
    uint32_t v;
    memcpy(&v, p + 4 * x, 4);
    return v & RGB_MASK;
}

static void set_px(SvCanvas *canvas, int x, int y, uint32_t v)
{
    uint8_t *p = sv_canvas_get_data(canvas) + (size_t)y * sv_canvas_get_stride(canvas);
    memcpy(p + 4 * x, &v, 4);
}

/* Every pixel = a function of its position, so moves are visible. */
static void fill_gradient(SvCanvas *canvas)
{
    for (uint32_t y = 0; y < sv_canvas_get_height(canvas); y++) {
        for (uint32_t x = 0; x < sv_canvas_get_width(canvas); x++) {
            set_px(canvas, (int)x, (int)y, (x * 3) << 16 | (y * 5) << 8 | ((x ^ y) & 0xff));
        }
    }
}

static uint8_t *snapshot(SvCanvas *canvas)
{
    size_t size = (size_t)sv_canvas_get_stride(canvas) * sv_canvas_get_height(canvas);
    return g_memdup2(sv_canvas_get_const_data(canvas), size);
}

static uint32_t snap_px(SvCanvas *canvas, const uint8_t *snap, int x, int y)
{
    uint32_t v;
    memcpy(&v, snap + (size_t)y * sv_canvas_get_stride(canvas) + 4 * x, 4);
    return v & RGB_MASK;
}

/* A bitmap image whose data is split into chunks at the given byte offsets. */
typedef struct {
    SvImage image;
    SpiceChunks *chunks;
    SpicePalette *palette;
    uint8_t *data;
} TestBitmap;

static TestBitmap *test_bitmap_new(uint8_t format, uint32_t w, uint32_t h, uint32_t stride,
                                   gboolean top_down, const uint8_t *data, size_t size,
                                   const size_t *splits, guint n_splits)
{
    TestBitmap *b = g_new0(TestBitmap, 1);
    b->data = g_memdup2(data, size);
    b->chunks = g_malloc0(sizeof(SpiceChunks) + (n_splits + 1) * sizeof(SpiceChunk));
    size_t start = 0;
    for (guint i = 0; i <= n_splits; i++) {
        size_t end = i < n_splits ? splits[i] : size;
        /* each chunk in its own allocation so that ASan sees reads past it */
        b->chunks->chunk[i].data = g_memdup2(data + start, end - start);
        b->chunks->chunk[i].len = (uint32_t)(end - start);
        start = end;
    }
    b->chunks->num_chunks = n_splits + 1;
    b->chunks->data_size = (uint32_t)size;
    b->image.type = SV_SOURCE_BITMAP;
    b->image.width = w;
    b->image.height = h;
    b->image.bitmap.format = format;
    b->image.bitmap.flags = top_down ? SPICE_BITMAP_FLAGS_TOP_DOWN : 0;
    b->image.bitmap.x = w;
    b->image.bitmap.y = h;
    b->image.bitmap.stride = stride;
    b->image.bitmap.data = b->chunks;
    return b;
}

static void test_bitmap_set_palette(TestBitmap *b, const uint32_t *ents, guint n)
{
    b->palette = g_malloc0(sizeof(SpicePalette) + n * sizeof(uint32_t));
    b->palette->num_ents = (uint16_t)n;
    memcpy(b->palette->ents, ents, n * sizeof(uint32_t));
    b->image.bitmap.palette = b->palette;
}

static void test_bitmap_free(TestBitmap *b)
{
    for (guint i = 0; i < b->chunks->num_chunks; i++) {
        g_free(b->chunks->chunk[i].data);
    }
    g_free(b->chunks);
    g_free(b->palette);
    g_free(b->data);
    g_free(b);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestBitmap, test_bitmap_free)

static SvDrawCommand copy_cmd(const SvImage *src, SpiceRect src_area, SpiceRect bbox)
{
    SvDrawCommand cmd = {0};
    cmd.type = QXL_DRAW_COPY;
    cmd.bbox = bbox;
    cmd.effect = QXL_EFFECT_OPAQUE;
    cmd.src = src;
    cmd.src_area = src_area;
    cmd.rop_descriptor = SPICE_ROPD_OP_PUT;
    cmd.scale_mode = SPICE_IMAGE_SCALE_MODE_NEAREST;
    return cmd;
}

/* ---------------------------------------------------------------------------
 * Construction and load
 * ------------------------------------------------------------------------- */

static void test_absurd_sizes(void)
{
    static const uint32_t bad[][2] = {{0, 10}, {10, 0}, {16385, 1}, {1, 16385}, {UINT32_MAX, 1}};
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        SvCanvas *canvas = sv_canvas_new(bad[i][0], bad[i][1], SPICE_SURFACE_FMT_32_xRGB, &error);
        g_assert_null(canvas);
        g_assert_nonnull(error);
        g_assert_cmpstr(g_quark_to_string(error->domain), ==, "sv-canvas-error-quark");
    }
    g_autoptr(SvCanvas) ok = canvas_new(16384, 1);
    g_assert_cmpuint(sv_canvas_get_width(ok), ==, 16384);
    g_assert_cmpuint(px(ok, 16383, 0), ==, 0); /* black */
}

static void test_load_16bit_bottom_up(void)
{
    /* 3x2, bottom-up: the first memory line is the bottom row. Stride padded. */
    uint16_t mem565[2][4] = {{0xf800, 0x07e0, 0x001f, 0}, {0xffff, 0x0000, 0x8410, 0}};
    g_autoptr(SvCanvas) canvas = canvas_new(3, 2);
    sv_canvas_load(canvas, (const uint8_t *)mem565, -8, SPICE_SURFACE_FMT_16_565);
    /* data is guest memory from its lowest address; the last memory line is the top row */
    g_assert_cmphex(px(canvas, 0, 0), ==, 0xffffff);
    g_assert_cmphex(px(canvas, 1, 0), ==, 0x000000);
    g_assert_cmphex(px(canvas, 2, 0), ==, 0x848284);
    g_assert_cmphex(px(canvas, 0, 1), ==, 0xff0000);
    g_assert_cmphex(px(canvas, 1, 1), ==, 0x00ff00);
    g_assert_cmphex(px(canvas, 2, 1), ==, 0x0000ff);

    uint16_t mem555[2][2] = {{0x7c00, 0x03e0}, {0x001f, 0x4210}};
    g_autoptr(SvCanvas) c555 = canvas_new(2, 2);
    sv_canvas_load(c555, (const uint8_t *)mem555, 4, SPICE_SURFACE_FMT_16_555);
    g_assert_cmphex(px(c555, 0, 0), ==, 0xff0000);
    g_assert_cmphex(px(c555, 1, 0), ==, 0x00ff00);
    g_assert_cmphex(px(c555, 0, 1), ==, 0x0000ff);
    g_assert_cmphex(px(c555, 1, 1), ==, 0x848484);

    uint32_t mem32[2][2] = {{1, 2}, {3, 4}};
    g_autoptr(SvCanvas) c32 = canvas_new(2, 2);
    sv_canvas_load(c32, (const uint8_t *)mem32, -8, SPICE_SURFACE_FMT_32_xRGB);
    g_assert_cmphex(px(c32, 0, 0), ==, 3);
    g_assert_cmphex(px(c32, 1, 1), ==, 2);

    uint8_t out[2][2][4];
    SpiceRect area = {0, 0, 2, 2};
    sv_canvas_read(c32, &area, (uint8_t *)out, 8);
    g_assert_cmpuint(out[0][0][0], ==, 3);
    g_assert_cmpuint(out[1][1][0], ==, 2);
}

/* ---------------------------------------------------------------------------
 * FILL
 * ------------------------------------------------------------------------- */

static void test_fill_clip(void)
{
    g_autoptr(SvCanvas) canvas = canvas_new(64, 64);
    SpiceRect clip[] = {{0, 0, 10, 10}, {30, 30, 70, 40}, {50, 5, 40, 9} /* empty */};
    SvDrawCommand cmd = {0};
    cmd.type = QXL_DRAW_FILL;
    cmd.bbox = (SpiceRect){4, 4, 60, 60};
    cmd.clip_type = SV_CLIP_RECTS;
    cmd.n_clip_rects = G_N_ELEMENTS(clip);
    cmd.clip_rects = clip;
    cmd.brush.type = SV_BRUSH_SOLID;
    cmd.brush.color = 0x112233;
    cmd.rop_descriptor = SPICE_ROPD_OP_PUT;
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    for (int y = 0; y < 64; y++) {
        for (int x = 0; x < 64; x++) {
            gboolean in =
                (x >= 4 && y >= 4 && x < 10 && y < 10) || (x >= 30 && y >= 30 && x < 60 && y < 40);
            g_assert_cmphex(px(canvas, x, y), ==, in ? 0x112233 : 0);
        }
    }

    /* XOR with white inverts; INVERS inverts back; OR, AND with inverted brush */
    cmd.clip_type = SV_CLIP_NONE;
    cmd.brush.color = 0xffffff;
    cmd.rop_descriptor = SPICE_ROPD_OP_XOR;
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 5, 5), ==, 0xeeddcc);
    g_assert_cmphex(px(canvas, 20, 20), ==, 0xffffff);
    g_assert_cmphex(px(canvas, 2, 2), ==, 0);
    cmd.type = QXL_DRAW_INVERS;
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 5, 5), ==, 0x112233);
    cmd.type = QXL_DRAW_FILL;
    cmd.brush.color = 0x0f0f0f;
    cmd.rop_descriptor = SPICE_ROPD_OP_AND | SPICE_ROPD_INVERS_BRUSH; /* d & ~brush */
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 5, 5), ==, 0x102030);
    cmd.rop_descriptor = SPICE_ROPD_OP_OR;
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 5, 5), ==, 0x1f2f3f);
    cmd.type = QXL_DRAW_WHITENESS;
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 59, 59), ==, 0xffffff);
    g_assert_cmphex(px(canvas, 60, 60), ==, 0);
    cmd.type = QXL_DRAW_BLACKNESS;
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 59, 59), ==, 0);
}

static void test_fill_pattern_and_mask(void)
{
    g_autoptr(SvCanvas) canvas = canvas_new(16, 16);
    /* 2x2 pattern: A B / C D, origin (1, 0): canvas (1,0) shows A */
    uint32_t pat[4] = {0xa, 0xb, 0xc, 0xd};
    g_autoptr(TestBitmap) pattern = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 2, 2, 8, TRUE,
                                                    (const uint8_t *)pat, sizeof(pat), NULL, 0);
    SvDrawCommand cmd = {0};
    cmd.type = QXL_DRAW_FILL;
    cmd.bbox = (SpiceRect){0, 0, 8, 8};
    cmd.brush.type = SV_BRUSH_PATTERN;
    cmd.brush.pattern = &pattern->image;
    cmd.brush.pattern_origin = (SvPoint){1, 0};
    cmd.rop_descriptor = SPICE_ROPD_OP_PUT;
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 1, 0), ==, 0xa);
    g_assert_cmphex(px(canvas, 2, 0), ==, 0xb);
    g_assert_cmphex(px(canvas, 0, 0), ==, 0xb);
    g_assert_cmphex(px(canvas, 1, 1), ==, 0xc);
    g_assert_cmphex(px(canvas, 4, 3), ==, 0xd);
    g_assert_cmphex(px(canvas, 8, 0), ==, 0);
    /* any origin: (INT32_MIN, INT32_MAX) is (0, 1) modulo 2 */
    cmd.brush.pattern_origin = (SvPoint){INT32_MIN, INT32_MAX};
    cmd.bbox = (SpiceRect){0, 0, 2, 2};
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 0, 0), ==, 0xc);
    g_assert_cmphex(px(canvas, 1, 1), ==, 0xb);

    /* 1-bit mask, big-endian bits, bottom-up, inverted; mask_pos (1, 0) */
    uint8_t mask_bits[2] = {0x0f /* bottom row */, 0xa0 /* top row: 1 0 1 0 0 0 0 0 */};
    g_autoptr(TestBitmap) mask =
        test_bitmap_new(SPICE_BITMAP_FMT_1BIT_BE, 8, 2, 1, FALSE, mask_bits, 2, NULL, 0);
    SvDrawCommand fill = {0};
    fill.type = QXL_DRAW_FILL;
    fill.bbox = (SpiceRect){8, 8, 16, 10};
    fill.brush.type = SV_BRUSH_SOLID;
    fill.brush.color = 0x123456;
    fill.rop_descriptor = SPICE_ROPD_OP_PUT;
    fill.mask = &mask->image;
    fill.mask_pos = (SvPoint){1, 0};
    g_assert_true(sv_canvas_draw(canvas, &fill, NULL, NULL));
    /* top row: mask bits from x=1: 0 1 0 0 0 0 0 (then outside the mask) */
    static const int top[8] = {0, 1, 0, 0, 0, 0, 0, 0};
    static const int bottom[8] = {0, 0, 0, 1, 1, 1, 1, 0};
    for (int x = 0; x < 8; x++) {
        g_assert_cmphex(px(canvas, 8 + x, 8), ==, top[x] ? 0x123456 : 0);
        g_assert_cmphex(px(canvas, 8 + x, 9), ==, bottom[x] ? 0x123456 : 0);
    }
    fill.mask_flags = SPICE_MASK_FLAGS_INVERS;
    fill.brush.color = 0x654321;
    g_assert_true(sv_canvas_draw(canvas, &fill, NULL, NULL));
    g_assert_cmphex(px(canvas, 8, 8), ==, 0x654321);
    g_assert_cmphex(px(canvas, 9, 8), ==, 0x123456);
    g_assert_cmphex(px(canvas, 15, 9), ==, 0); /* outside the mask: not drawn */
}

/* ---------------------------------------------------------------------------
 * COPY from every bitmap format
 * ------------------------------------------------------------------------- */

#define SW 5
#define SH 4

/* Reference colours, representable in 5 bits per channel. */
static uint32_t ref_color(int x, int y)
{
    uint32_t r = (uint32_t)(x * 6 + y) & 0x1f, g = (uint32_t)(x + y * 7) & 0x1f,
             b = (uint32_t)(x * y + 3) & 0x1f;
    return ((r << 3 | r >> 2) << 16) | ((g << 3 | g >> 2) << 8) | (b << 3 | b >> 2);
}

static const uint32_t test_palette[16] = {
    0x000000, 0xff0000, 0x00ff00, 0x0000ff, 0xffff00, 0x00ffff, 0xff00ff, 0xffffff,
    0x808080, 0x400000, 0x004000, 0x000040, 0x123456, 0x654321, 0xabcdef, 0xfedcba};

static int ref_index(int x, int y, int bits)
{
    return (x * 3 + y * 5 + 1) & ((1 << bits) - 1);
}

/* Encodes the SW x SH reference picture in @format, top-down or not. */
static uint8_t *encode_picture(uint8_t format, gboolean top_down, uint32_t *stride_out,
                               size_t *size_out)
{
    uint32_t stride = 0;
    switch (format) {
    case SPICE_BITMAP_FMT_1BIT_LE:
    case SPICE_BITMAP_FMT_1BIT_BE:
    case SPICE_BITMAP_FMT_4BIT_LE:
    case SPICE_BITMAP_FMT_4BIT_BE:
        stride = 3;
        break;
    case SPICE_BITMAP_FMT_8BIT:
        stride = SW + 2;
        break;
    case SPICE_BITMAP_FMT_16BIT:
        stride = SW * 2 + 2;
        break;
    case SPICE_BITMAP_FMT_24BIT:
        stride = SW * 3 + 1; /* not a multiple of 4: converted, not wrapped */
        break;
    default:
        stride = SW * 4;
        break;
    }
    uint8_t *data = g_malloc0((size_t)stride * SH);
    for (int y = 0; y < SH; y++) {
        uint8_t *line = data + (size_t)(top_down ? y : SH - 1 - y) * stride;
        for (int x = 0; x < SW; x++) {
            uint32_t c = ref_color(x, y);
            switch (format) {
            case SPICE_BITMAP_FMT_1BIT_LE:
                line[x / 8] |= (uint8_t)(ref_index(x, y, 1) << (x % 8));
                break;
            case SPICE_BITMAP_FMT_1BIT_BE:
                line[x / 8] |= (uint8_t)(ref_index(x, y, 1) << (7 - x % 8));
                break;
            case SPICE_BITMAP_FMT_4BIT_BE:
                line[x / 2] |= (uint8_t)(ref_index(x, y, 4) << (x % 2 ? 0 : 4));
                break;
            case SPICE_BITMAP_FMT_4BIT_LE:
                line[x / 2] |= (uint8_t)(ref_index(x, y, 4) << (x % 2 ? 4 : 0));
                break;
            case SPICE_BITMAP_FMT_8BIT:
                line[x] = (uint8_t)ref_index(x, y, 4);
                break;
            case SPICE_BITMAP_FMT_16BIT: {
                uint32_t v = ((c >> 19) & 0x1f) << 10 | ((c >> 11) & 0x1f) << 5 | ((c >> 3) & 0x1f);
                line[2 * x] = (uint8_t)v;
                line[2 * x + 1] = (uint8_t)(v >> 8);
                break;
            }
            case SPICE_BITMAP_FMT_24BIT:
                line[3 * x] = (uint8_t)c;
                line[3 * x + 1] = (uint8_t)(c >> 8);
                line[3 * x + 2] = (uint8_t)(c >> 16);
                break;
            default:
                c |= 0x7f000000u; /* alpha must not matter for COPY */
                memcpy(line + 4 * x, &c, 4);
                break;
            }
        }
    }
    *stride_out = stride;
    *size_out = (size_t)stride * SH;
    return data;
}

static uint32_t expected_color(uint8_t format, int x, int y)
{
    switch (format) {
    case SPICE_BITMAP_FMT_1BIT_LE:
    case SPICE_BITMAP_FMT_1BIT_BE:
        return test_palette[ref_index(x, y, 1)];
    case SPICE_BITMAP_FMT_4BIT_LE:
    case SPICE_BITMAP_FMT_4BIT_BE:
    case SPICE_BITMAP_FMT_8BIT:
        return test_palette[ref_index(x, y, 4)];
    default:
        return ref_color(x, y);
    }
}

static void check_copy_format(uint8_t format, gboolean top_down, guint n_splits)
{
    uint32_t stride;
    size_t size;
    g_autofree uint8_t *data = encode_picture(format, top_down, &stride, &size);
    /* chunk boundaries inside lines, and one at a line start */
    size_t splits[3] = {stride / 2 + 1, (size_t)stride * 2, (size_t)stride * 3 - 1};
    g_autoptr(TestBitmap) bitmap =
        test_bitmap_new(format, SW, SH, stride, top_down, data, size, splits, n_splits);
    test_bitmap_set_palette(bitmap, test_palette, G_N_ELEMENTS(test_palette));

    g_autoptr(SvCanvas) canvas = canvas_new(16, 12);
    fill_gradient(canvas);
    g_autofree uint8_t *before = snapshot(canvas);
    /* the whole bitmap, then a sub-area */
    SvDrawCommand cmd =
        copy_cmd(&bitmap->image, (SpiceRect){0, 0, SW, SH}, (SpiceRect){3, 2, 3 + SW, 2 + SH});
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    for (int y = 0; y < 12; y++) {
        for (int x = 0; x < 16; x++) {
            gboolean in = x >= 3 && x < 3 + SW && y >= 2 && y < 2 + SH;
            uint32_t want =
                in ? expected_color(format, x - 3, y - 2) : snap_px(canvas, before, x, y);
            if (px(canvas, x, y) != want) {
                g_error("format %u top_down %d splits %u: pixel (%d,%d) = %06x, expected %06x",
                        format, top_down, n_splits, x, y, px(canvas, x, y), want);
            }
        }
    }
    cmd = copy_cmd(&bitmap->image, (SpiceRect){1, 1, 4, 3}, (SpiceRect){10, 8, 13, 10});
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    for (int y = 0; y < 2; y++) {
        for (int x = 0; x < 3; x++) {
            g_assert_cmphex(px(canvas, 10 + x, 8 + y), ==, expected_color(format, 1 + x, 1 + y));
        }
    }
    g_assert_cmphex(px(canvas, 13, 8), ==, snap_px(canvas, before, 13, 8));
}

static void test_copy_formats(void)
{
    static const uint8_t formats[] = {
        SPICE_BITMAP_FMT_1BIT_LE, SPICE_BITMAP_FMT_1BIT_BE, SPICE_BITMAP_FMT_4BIT_LE,
        SPICE_BITMAP_FMT_4BIT_BE, SPICE_BITMAP_FMT_8BIT,    SPICE_BITMAP_FMT_16BIT,
        SPICE_BITMAP_FMT_24BIT,   SPICE_BITMAP_FMT_32BIT,   SPICE_BITMAP_FMT_RGBA,
    };
    for (guint f = 0; f < G_N_ELEMENTS(formats); f++) {
        for (int top_down = 0; top_down < 2; top_down++) {
            check_copy_format(formats[f], top_down, 0);
            check_copy_format(formats[f], top_down, 3);
        }
    }
}

static void test_copy_clip_mask(void)
{
    /* 8x8 32-bit source in two chunks (split inside a line), clipped and masked */
    uint32_t src[64];
    for (int i = 0; i < 64; i++) {
        src[i] = 0x010203u * (uint32_t)(i + 1);
    }
    size_t split = 4 * 8 * 3 + 6;
    g_autoptr(TestBitmap) bitmap = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 8, 8, 32, TRUE,
                                                   (const uint8_t *)src, sizeof(src), &split, 1);
    SpiceRect clip[] = {{0, 0, 5, 20}, {6, 11, 20, 13}};
    for (int masked = 0; masked < 2; masked++) {
        g_autoptr(SvCanvas) canvas = canvas_new(20, 20);
        fill_gradient(canvas);
        g_autofree uint8_t *before = snapshot(canvas);
        SvDrawCommand cmd =
            copy_cmd(&bitmap->image, (SpiceRect){0, 0, 8, 8}, (SpiceRect){2, 10, 10, 18});
        cmd.clip_type = SV_CLIP_RECTS;
        cmd.n_clip_rects = G_N_ELEMENTS(clip);
        cmd.clip_rects = clip;
        /* mask: 8x8, 1BIT_LE, only even columns */
        uint8_t bits[8];
        memset(bits, 0x55, sizeof(bits));
        g_autoptr(TestBitmap) mask =
            test_bitmap_new(SPICE_BITMAP_FMT_1BIT_LE, 8, 8, 1, TRUE, bits, sizeof(bits), NULL, 0);
        if (masked) {
            cmd.mask = &mask->image;
        }
        g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
        for (int y = 0; y < 20; y++) {
            for (int x = 0; x < 20; x++) {
                gboolean in = x >= 2 && x < 10 && y >= 10 && y < 18 &&
                              (x < 5 || (x >= 6 && y >= 11 && y < 13));
                if (masked) {
                    in = in && (x - 2) % 2 == 0;
                }
                uint32_t want = in ? src[(y - 10) * 8 + (x - 2)] : snap_px(canvas, before, x, y);
                if (px(canvas, x, y) != want) {
                    g_error("clipped copy (mask %d): (%d,%d) = %06x, expected %06x", masked, x, y,
                            px(canvas, x, y), want);
                }
            }
        }
    }
}

static void test_copy_scaled(void)
{
    uint32_t src[4] = {0x000000, 0x0000c8, 0x00c800, 0xc80000}; /* 2x2 */
    g_autoptr(TestBitmap) bitmap = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 2, 2, 8, TRUE,
                                                   (const uint8_t *)src, sizeof(src), NULL, 0);
    g_autoptr(SvCanvas) canvas = canvas_new(12, 12);
    SvDrawCommand cmd = copy_cmd(&bitmap->image, (SpiceRect){0, 0, 2, 2}, (SpiceRect){0, 0, 4, 4});
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    for (int y = 0; y < 4; y++) {
        for (int x = 0; x < 4; x++) {
            g_assert_cmphex(px(canvas, x, y), ==, src[(y / 2) * 2 + x / 2]);
        }
    }
    /* bilinear: corners exact (edges repeat), (1,0) samples 0.75 → 1/4 of the right pixel */
    cmd.scale_mode = SPICE_IMAGE_SCALE_MODE_INTERPOLATE;
    cmd.bbox = (SpiceRect){6, 6, 10, 10};
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 6, 6), ==, 0);
    g_assert_cmphex(px(canvas, 9, 9), ==, 0xc80000);
    uint32_t blue = px(canvas, 7, 6) & 0xff;
    g_assert_cmpuint(blue, >=, 49);
    g_assert_cmpuint(blue, <=, 51);
    g_assert_cmphex(px(canvas, 10, 6), ==, 0); /* outside bbox */
}

static void test_opaque_blend_stroke(void)
{
    uint32_t src[4] = {0x102030, 0x405060, 0x708090, 0xa0b0c0};
    g_autoptr(TestBitmap) bitmap = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 2, 2, 8, TRUE,
                                                   (const uint8_t *)src, sizeof(src), NULL, 0);
    g_autoptr(SvCanvas) canvas = canvas_new(8, 8);
    fill_gradient(canvas);
    g_autofree uint8_t *before = snapshot(canvas);
    /* OPAQUE: the source, then the brush XORed onto it */
    SvDrawCommand cmd = copy_cmd(&bitmap->image, (SpiceRect){0, 0, 2, 2}, (SpiceRect){0, 0, 2, 2});
    cmd.type = QXL_DRAW_OPAQUE;
    cmd.brush.type = SV_BRUSH_SOLID;
    cmd.brush.color = 0x0000ff;
    cmd.rop_descriptor = SPICE_ROPD_OP_XOR;
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 1, 1), ==, 0xa0b03f);
    /* BLEND: source OR destination; COPY with inverted source */
    cmd = copy_cmd(&bitmap->image, (SpiceRect){0, 0, 2, 2}, (SpiceRect){4, 4, 6, 6});
    cmd.type = QXL_DRAW_BLEND;
    cmd.rop_descriptor = SPICE_ROPD_OP_OR;
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 5, 4), ==, 0x405060 | snap_px(canvas, before, 5, 4));
    cmd.type = QXL_DRAW_COPY;
    cmd.rop_descriptor = SPICE_ROPD_OP_PUT | SPICE_ROPD_INVERS_SRC;
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 4, 5), ==, ~0x708090u & RGB_MASK);
    /* STROKE: a 1-pixel line is its bbox; a large bbox is left alone */
    SvDrawCommand stroke = {0};
    stroke.type = QXL_DRAW_STROKE;
    stroke.bbox = (SpiceRect){0, 7, 8, 8};
    stroke.brush.type = SV_BRUSH_SOLID;
    stroke.brush.color = 0x00ff00;
    g_assert_false(sv_canvas_draw(canvas, &stroke, NULL, NULL));
    g_assert_cmphex(px(canvas, 3, 7), ==, 0x00ff00);
    stroke.bbox = (SpiceRect){0, 0, 8, 7};
    g_assert_false(sv_canvas_draw(canvas, &stroke, NULL, NULL));
    g_assert_cmphex(px(canvas, 7, 0), ==, snap_px(canvas, before, 7, 0));
}

static void test_copy_bits(void)
{
    /* both directions, one rectangle (in place) and several (through a copy) */
    static const SpiceRect clips[] = {{0, 0, 20, 64}, {30, 0, 64, 25}};
    for (int dir = 0; dir < 2; dir++) {
        for (int clipped = 0; clipped < 2; clipped++) {
            g_autoptr(SvCanvas) canvas = canvas_new(64, 64);
            fill_gradient(canvas);
            g_autofree uint8_t *before = snapshot(canvas);
            SvDrawCommand cmd = {0};
            cmd.type = QXL_COPY_BITS;
            cmd.bbox = (SpiceRect){10, 10, 40, 40};
            cmd.src_pos = dir == 0 ? (SvPoint){13, 12} : (SvPoint){7, 6};
            if (clipped) {
                cmd.clip_type = SV_CLIP_RECTS;
                cmd.n_clip_rects = G_N_ELEMENTS(clips);
                cmd.clip_rects = clips;
            }
            g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
            int dx = cmd.bbox.left - cmd.src_pos.x, dy = cmd.bbox.top - cmd.src_pos.y;
            for (int y = 0; y < 64; y++) {
                for (int x = 0; x < 64; x++) {
                    gboolean in = x >= 10 && x < 40 && y >= 10 && y < 40;
                    if (clipped) {
                        in = in && ((x < 20) || (x >= 30 && y < 25));
                    }
                    uint32_t want = in ? snap_px(canvas, before, x - dx, y - dy)
                                       : snap_px(canvas, before, x, y);
                    if (px(canvas, x, y) != want) {
                        g_error("copy_bits dir %d clipped %d: (%d,%d) = %06x, expected %06x", dir,
                                clipped, x, y, px(canvas, x, y), want);
                    }
                }
            }
        }
    }
    /* a source off the surface: clipped, never read out of bounds */
    g_autoptr(SvCanvas) canvas = canvas_new(16, 16);
    SvDrawCommand cmd = {0};
    cmd.type = QXL_COPY_BITS;
    cmd.bbox = (SpiceRect){0, 0, 16, 16};
    cmd.src_pos = (SvPoint){-8, 12};
    g_assert_false(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    cmd.src_pos = (SvPoint){INT32_MIN, INT32_MAX};
    g_assert_false(sv_canvas_draw(canvas, &cmd, NULL, NULL));
}

static void test_transparent(void)
{
    uint32_t src[4] = {0x111111, 0x00ff00, 0x222222, 0x333333};
    g_autoptr(TestBitmap) bitmap = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 2, 2, 8, TRUE,
                                                   (const uint8_t *)src, sizeof(src), NULL, 0);
    g_autoptr(SvCanvas) canvas = canvas_new(4, 4);
    fill_gradient(canvas);
    g_autofree uint8_t *before = snapshot(canvas);
    SvDrawCommand cmd = copy_cmd(&bitmap->image, (SpiceRect){0, 0, 2, 2}, (SpiceRect){1, 1, 3, 3});
    cmd.type = QXL_DRAW_TRANSPARENT;
    cmd.src_color = 0x07e0; /* the guest's own format; the key used is true_color */
    cmd.true_color = 0x00ff00;
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 1, 1), ==, 0x111111);
    g_assert_cmphex(px(canvas, 2, 1), ==, snap_px(canvas, before, 2, 1));
    g_assert_cmphex(px(canvas, 1, 2), ==, 0x222222);
    g_assert_cmphex(px(canvas, 2, 2), ==, 0x333333);
    g_assert_cmphex(px(canvas, 3, 3), ==, snap_px(canvas, before, 3, 3));
}

typedef struct {
    SvCanvas *canvases[8];
} Surfaces;

static SvCanvas *surfaces_lookup(void *opaque, uint32_t id)
{
    Surfaces *s = opaque;
    return id < G_N_ELEMENTS(s->canvases) ? s->canvases[id] : NULL;
}

static void test_alpha_blend(void)
{
    uint32_t white[4] = {0xffffff, 0xffffff, 0xffffff, 0xffffff};
    g_autoptr(TestBitmap) bitmap = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 2, 2, 8, TRUE,
                                                   (const uint8_t *)white, sizeof(white), NULL, 0);
    g_autoptr(SvCanvas) canvas = canvas_new(4, 4);
    SvDrawCommand cmd = copy_cmd(&bitmap->image, (SpiceRect){0, 0, 2, 2}, (SpiceRect){0, 0, 2, 2});
    cmd.type = QXL_DRAW_ALPHA_BLEND;
    cmd.alpha = 128;
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    for (int shift = 0; shift < 24; shift += 8) {
        int v = (int)((px(canvas, 1, 1) >> shift) & 0xff);
        g_assert_cmpint(v, >=, 127);
        g_assert_cmpint(v, <=, 129);
    }
    g_assert_cmphex(px(canvas, 2, 2), ==, 0);

    /* RGBA source: per-pixel (premultiplied) alpha, here 50% grey at alpha 0x80 over red */
    uint32_t rgba[1] = {0x80404040};
    g_autoptr(TestBitmap) argb = test_bitmap_new(SPICE_BITMAP_FMT_RGBA, 1, 1, 4, TRUE,
                                                 (const uint8_t *)rgba, sizeof(rgba), NULL, 0);
    set_px(canvas, 3, 3, 0xc80000);
    cmd = copy_cmd(&argb->image, (SpiceRect){0, 0, 1, 1}, (SpiceRect){3, 3, 4, 4});
    cmd.type = QXL_DRAW_ALPHA_BLEND;
    cmd.alpha = 255;
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    uint32_t got = px(canvas, 3, 3);
    g_assert_cmpint((int)(got >> 16), >=, 0x40 + 99);
    g_assert_cmpint((int)(got >> 16), <=, 0x40 + 101);
    g_assert_cmpint((int)(got & 0xff), ==, 0x40);

    /* a 32_ARGB surface as source: its alpha counts only with SRC_SURFACE_HAS_ALPHA */
    g_autoptr(GError) error = NULL;
    Surfaces s = {{0}};
    s.canvases[2] = sv_canvas_new(1, 1, SPICE_SURFACE_FMT_32_ARGB, &error);
    g_assert_no_error(error);
    sv_canvas_load(s.canvases[2], (const uint8_t *)rgba, 4, SPICE_SURFACE_FMT_32_ARGB);
    SvImage surface = {.type = SV_SOURCE_SURFACE, .surface_id = 2, .width = 1, .height = 1};
    for (int has_alpha = 0; has_alpha < 2; has_alpha++) {
        set_px(canvas, 0, 3, 0xc80000);
        cmd = copy_cmd(&surface, (SpiceRect){0, 0, 1, 1}, (SpiceRect){0, 3, 1, 4});
        cmd.type = QXL_DRAW_ALPHA_BLEND;
        cmd.alpha = 255;
        cmd.alpha_flags = has_alpha ? SPICE_ALPHA_FLAGS_SRC_SURFACE_HAS_ALPHA : 0;
        g_assert_true(sv_canvas_draw(canvas, &cmd, surfaces_lookup, &s));
        got = px(canvas, 0, 3);
        if (has_alpha) {
            g_assert_cmpint((int)(got >> 16), >=, 0x40 + 99);
            g_assert_cmpint((int)(got >> 16), <=, 0x40 + 101);
        } else {
            g_assert_cmphex(got, ==, 0x404040);
        }
    }
    sv_canvas_free(s.canvases[2]);
}

static void test_surface_copy(void)
{
    Surfaces s = {{0}};
    s.canvases[0] = canvas_new(32, 32);
    s.canvases[7] = canvas_new(16, 16);
    fill_gradient(s.canvases[7]);
    fill_gradient(s.canvases[0]);
    g_autofree uint8_t *before = snapshot(s.canvases[0]);
    SvImage image = {.type = SV_SOURCE_SURFACE, .surface_id = 7, .width = 16, .height = 16};
    SvDrawCommand cmd = copy_cmd(&image, (SpiceRect){2, 3, 12, 9}, (SpiceRect){20, 20, 30, 26});
    g_assert_true(sv_canvas_draw(s.canvases[0], &cmd, surfaces_lookup, &s));
    for (int y = 0; y < 6; y++) {
        for (int x = 0; x < 10; x++) {
            g_assert_cmphex(px(s.canvases[0], 20 + x, 20 + y), ==, px(s.canvases[7], 2 + x, 3 + y));
        }
    }
    g_assert_cmphex(px(s.canvases[0], 30, 20), ==, snap_px(s.canvases[0], before, 30, 20));

    /* the destination itself as source, overlapping */
    image.surface_id = 0;
    cmd = copy_cmd(&image, (SpiceRect){0, 0, 20, 20}, (SpiceRect){4, 5, 24, 25});
    g_assert_true(sv_canvas_draw(s.canvases[0], &cmd, surfaces_lookup, &s));
    for (int y = 0; y < 20; y++) {
        for (int x = 0; x < 20; x++) {
            g_assert_cmphex(px(s.canvases[0], 4 + x, 5 + y), ==,
                            snap_px(s.canvases[0], before, x, y));
        }
    }

    /* unknown surface, no lookup: unknown pixels (grey) */
    image.surface_id = 5;
    cmd = copy_cmd(&image, (SpiceRect){0, 0, 2, 2}, (SpiceRect){0, 0, 2, 2});
    g_assert_false(sv_canvas_draw(s.canvases[0], &cmd, surfaces_lookup, &s));
    g_assert_cmphex(px(s.canvases[0], 1, 1), ==, 0x808080);
    g_assert_false(sv_canvas_draw(s.canvases[0], &cmd, NULL, NULL));

    /* ROP3 0xCC (source copy) and 0x5A (pattern xor destination) */
    image.surface_id = 7;
    cmd = copy_cmd(&image, (SpiceRect){0, 0, 4, 4}, (SpiceRect){0, 0, 4, 4});
    cmd.type = QXL_DRAW_ROP3;
    cmd.rop3 = 0xcc;
    cmd.brush.type = SV_BRUSH_SOLID;
    cmd.brush.color = 0x0000ff;
    g_assert_true(sv_canvas_draw(s.canvases[0], &cmd, surfaces_lookup, &s));
    g_assert_cmphex(px(s.canvases[0], 3, 2), ==, px(s.canvases[7], 3, 2));
    cmd.rop3 = 0x5a;
    g_assert_true(sv_canvas_draw(s.canvases[0], &cmd, surfaces_lookup, &s));
    g_assert_cmphex(px(s.canvases[0], 3, 2), ==, px(s.canvases[7], 3, 2) ^ 0x0000ff);

    sv_canvas_free(s.canvases[0]);
    sv_canvas_free(s.canvases[7]);
}

static void test_composite(void)
{
    g_autoptr(SvCanvas) canvas = canvas_new(8, 8);
    fill_gradient(canvas);
    g_autofree uint8_t *before = snapshot(canvas);
    uint32_t rgba[1] = {0xff0000ff}; /* opaque blue */
    g_autoptr(TestBitmap) src = test_bitmap_new(SPICE_BITMAP_FMT_RGBA, 1, 1, 4, TRUE,
                                                (const uint8_t *)rgba, sizeof(rgba), NULL, 0);
    SvDrawCommand cmd = {0};
    cmd.type = QXL_DRAW_COMPOSITE;
    cmd.bbox = (SpiceRect){2, 2, 6, 6};
    cmd.src = &src->image;
    /* OVER, source repeats (NORMAL = 1 << 14) */
    cmd.composite_flags = PIXMAN_OP_OVER | (1u << 14);
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 2, 2), ==, 0x0000ff);
    g_assert_cmphex(px(canvas, 5, 5), ==, 0x0000ff);
    g_assert_cmphex(px(canvas, 6, 6), ==, snap_px(canvas, before, 6, 6));
    /* SRC through a 2x scale transform (dest → source 0.5), nearest, with an 8-bit alpha mask */
    uint32_t quad[4] = {0x110000, 0x002200, 0x000033, 0x444444};
    g_autoptr(TestBitmap) q = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 2, 2, 8, TRUE,
                                              (const uint8_t *)quad, sizeof(quad), NULL, 0);
    uint8_t alpha[16];
    memset(alpha, 0xff, sizeof(alpha));
    alpha[15] = 0;
    g_autoptr(TestBitmap) a8 =
        test_bitmap_new(SPICE_BITMAP_FMT_8BIT_A, 4, 4, 4, TRUE, alpha, sizeof(alpha), NULL, 0);
    cmd.src = &q->image;
    cmd.mask = &a8->image;
    cmd.bbox = (SpiceRect){4, 4, 8, 8};
    cmd.composite_flags = PIXMAN_OP_SRC | (uint32_t)PIXMAN_FILTER_NEAREST << 8;
    cmd.has_src_transform = TRUE;
    int32_t half[6] = {0x8000, 0, 0, 0, 0x8000, 0};
    memcpy(cmd.src_transform, half, sizeof(half));
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 4, 4), ==, 0x110000);
    g_assert_cmphex(px(canvas, 7, 4), ==, 0x002200);
    g_assert_cmphex(px(canvas, 5, 6), ==, 0x000033);
    g_assert_cmphex(px(canvas, 6, 6), ==, 0x444444);
    g_assert_cmphex(px(canvas, 7, 7), ==, 0x000000);
    cmd.mask = NULL;
    cmd.has_src_transform = FALSE;
    /* an invalid operator is refused, not passed to pixman */
    cmd.composite_flags = 0xff;
    g_assert_false(sv_canvas_draw(canvas, &cmd, NULL, NULL));
}

/* ---------------------------------------------------------------------------
 * Bad input
 * ------------------------------------------------------------------------- */

static void test_truncated_and_absurd(void)
{
    g_autoptr(SvCanvas) canvas = canvas_new(32, 32);
    uint32_t pixels[16] = {0};
    /* declares 4x4 at stride 16 (64 bytes) but holds 40 */
    g_autoptr(TestBitmap) bitmap = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 4, 4, 16, TRUE,
                                                   (const uint8_t *)pixels, 40, NULL, 0);
    SvDrawCommand cmd = copy_cmd(&bitmap->image, (SpiceRect){0, 0, 4, 4}, (SpiceRect){0, 0, 4, 4});
    g_assert_false(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 0, 0), ==, 0x808080);
    /* the lines that are there are enough for a smaller area */
    cmd = copy_cmd(&bitmap->image, (SpiceRect){0, 0, 4, 2}, (SpiceRect){0, 0, 4, 2});
    g_assert_true(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 0, 0), ==, 0);
    /* bottom-up: the top rows are the missing ones */
    bitmap->image.bitmap.flags = 0;
    g_assert_false(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    /* truncated palette, mask, pattern */
    g_autoptr(TestBitmap) pal =
        test_bitmap_new(SPICE_BITMAP_FMT_8BIT, 4, 4, 4, TRUE, (const uint8_t *)pixels, 15, NULL, 0);
    cmd = copy_cmd(&pal->image, (SpiceRect){0, 0, 4, 4}, (SpiceRect){0, 0, 4, 4});
    g_assert_false(sv_canvas_draw(canvas, &cmd, NULL, NULL)); /* no palette either */
    SvDrawCommand fill = {0};
    fill.type = QXL_DRAW_FILL;
    fill.bbox = (SpiceRect){0, 0, 32, 32};
    fill.brush.type = SV_BRUSH_PATTERN;
    fill.brush.pattern = &pal->image;
    fill.rop_descriptor = SPICE_ROPD_OP_PUT;
    g_assert_false(sv_canvas_draw(canvas, &fill, NULL, NULL));
    g_autoptr(TestBitmap) mask = test_bitmap_new(SPICE_BITMAP_FMT_1BIT_LE, 32, 32, 4, TRUE,
                                                 (const uint8_t *)pixels, 20, NULL, 0);
    fill.brush.type = SV_BRUSH_SOLID;
    fill.mask = &mask->image;
    g_assert_false(sv_canvas_draw(canvas, &fill, NULL, NULL));

    /* absurd rectangles: clipped, never out of bounds */
    static const SpiceRect rects[] = {
        {INT32_MIN, INT32_MIN, INT32_MAX, INT32_MAX},
        {30, 30, -5, -5},
        {100, 100, 200, 200},
        {-50, 10, 5, 20},
    };
    for (guint i = 0; i < G_N_ELEMENTS(rects); i++) {
        cmd = copy_cmd(&bitmap->image, (SpiceRect){0, 0, 4, 2}, rects[i]);
        cmd.scale_mode = SPICE_IMAGE_SCALE_MODE_INTERPOLATE;
        sv_canvas_draw(canvas, &cmd, NULL, NULL);
        cmd.src_area = rects[i];
        gboolean exact = sv_canvas_draw(canvas, &cmd, NULL, NULL);
        if (i == 0 || i == 3) { /* visible, and the area is not in the bitmap */
            g_assert_false(exact);
        }
        fill.mask = NULL;
        fill.bbox = rects[i];
        fill.clip_type = SV_CLIP_RECTS;
        fill.n_clip_rects = G_N_ELEMENTS(rects);
        fill.clip_rects = rects;
        sv_canvas_draw(canvas, &fill, NULL, NULL);
        SvDrawCommand bits = {0};
        bits.type = QXL_COPY_BITS;
        bits.bbox = rects[i];
        bits.src_pos = (SvPoint){rects[i].right, rects[i].top};
        sv_canvas_draw(canvas, &bits, NULL, NULL);
        sv_canvas_put_frame(canvas, (const uint8_t *)pixels, 16, 4, 4, &rects[i], rects,
                            G_N_ELEMENTS(rects));
    }
    /* compressed image: unknown pixels */
    SvImage quic = {.type = SV_SOURCE_OTHER, .width = 4, .height = 4, .payload_bytes = 100};
    cmd = copy_cmd(&quic, (SpiceRect){0, 0, 4, 4}, (SpiceRect){8, 8, 12, 12});
    g_assert_false(sv_canvas_draw(canvas, &cmd, NULL, NULL));
    g_assert_cmphex(px(canvas, 9, 9), ==, 0x808080);
    /* text is approximated: pixels left alone */
    SvDrawCommand text = {0};
    text.type = QXL_DRAW_TEXT;
    text.bbox = (SpiceRect){0, 0, 4, 4};
    text.brush.type = SV_BRUSH_SOLID;
    text.brush.color = 0xffffff;
    g_assert_false(sv_canvas_draw(canvas, &text, NULL, NULL));
}

static void test_put_frame(void)
{
    g_autoptr(SvCanvas) canvas = canvas_new(16, 16);
    fill_gradient(canvas);
    g_autofree uint8_t *before = snapshot(canvas);
    /* 2x2 frame, columns of one colour, scaled to 4x4 at (2,2), clipped to its left half */
    uint32_t frame[2][2] = {{0x0000c8, 0xc80000}, {0x0000c8, 0xc80000}};
    SpiceRect dest = {2, 2, 6, 6};
    SpiceRect clip[] = {{0, 2, 4, 6}, {2, 5, 6, 6}};
    sv_canvas_put_frame(canvas, (const uint8_t *)frame, 8, 2, 2, &dest, clip, G_N_ELEMENTS(clip));
    for (int y = 2; y < 6; y++) {
        g_assert_cmphex(px(canvas, 2, y), ==, 0x0000c8);
        uint32_t mid = px(canvas, 3, y);
        g_assert_cmpuint(mid & 0xff, >=, 0x96 - 1);
        g_assert_cmpuint(mid & 0xff, <=, 0x96 + 1);
        g_assert_cmpuint(mid >> 16, >=, 0x32 - 1);
        g_assert_cmpuint(mid >> 16, <=, 0x32 + 1);
    }
    g_assert_cmphex(px(canvas, 4, 2), ==, snap_px(canvas, before, 4, 2));
    g_assert_cmphex(px(canvas, 5, 5), ==, 0xc80000);
    g_assert_cmphex(px(canvas, 6, 5), ==, snap_px(canvas, before, 6, 5));
    g_assert_cmphex(px(canvas, 1, 3), ==, snap_px(canvas, before, 1, 3));
    /* no clip: the whole destination, same size: exact */
    dest = (SpiceRect){10, 10, 12, 12};
    sv_canvas_put_frame(canvas, (const uint8_t *)frame, 8, 2, 2, &dest, NULL, 0);
    g_assert_cmphex(px(canvas, 10, 11), ==, 0x0000c8);
    g_assert_cmphex(px(canvas, 11, 10), ==, 0xc80000);
}

/* ---------------------------------------------------------------------------
 * Corpora
 * ------------------------------------------------------------------------- */

typedef struct {
    GHashTable *surfaces; /* id → SvCanvas */
    guint copies_checked;
    guint copy_bits_checked;
    guint64 pixels_checked;
    guint draws;
    guint approximated;
    gint64 copy_us; /* wall time in sv_canvas_draw() for the checked copies */
    guint copy_timed;
    guint64 copy_timed_pixels;
    gint64 copy_warm_us; /* the same copies drawn a second time */
} Replay;

static SvCanvas *replay_lookup(void *opaque, uint32_t id)
{
    Replay *r = opaque;
    return g_hash_table_lookup(r->surfaces, GUINT_TO_POINTER(id));
}

static void replay_create(Replay *r, uint32_t id, uint32_t w, uint32_t h, uint32_t format,
                          const uint8_t *data, size_t size, int32_t stride)
{
    g_autoptr(GError) error = NULL;
    SvCanvas *canvas = sv_canvas_new(w, h, format, &error);
    g_assert_no_error(error);
    uint64_t abs_stride = stride < 0 ? (uint64_t)(-(int64_t)stride) : (uint64_t)stride;
    if (data != NULL && size >= abs_stride * h && abs_stride > 0) {
        sv_canvas_load(canvas, data, stride, format);
    }
    g_hash_table_replace(r->surfaces, GUINT_TO_POINTER(id), canvas);
}

/* A pixel of a trace bitmap, decoded from the recorded bytes (linearised). */
static gboolean trace_pixel(const SvTraceImage *im, const uint8_t *bytes, uint32_t x, uint32_t y,
                            uint32_t *out)
{
    uint64_t line = (im->bitmap_flags & SV_TRACE_BITMAP_TOP_DOWN) ? y : im->bitmap_y - 1 - y;
    const uint8_t *p = bytes + line * (uint64_t)im->bitmap_stride;
    switch (im->bitmap_format) {
    case SPICE_BITMAP_FMT_32BIT:
    case SPICE_BITMAP_FMT_RGBA:
        *out = ((uint32_t)p[4 * x] | (uint32_t)p[4 * x + 1] << 8 | (uint32_t)p[4 * x + 2] << 16);
        return TRUE;
    case SPICE_BITMAP_FMT_24BIT:
        *out = ((uint32_t)p[3 * x] | (uint32_t)p[3 * x + 1] << 8 | (uint32_t)p[3 * x + 2] << 16);
        return TRUE;
    case SPICE_BITMAP_FMT_8BIT:
        if (p[x] >= im->palette_n) {
            return FALSE;
        }
        *out = im->palette[p[x]] & RGB_MASK;
        return TRUE;
    default:
        return FALSE;
    }
}

/* Pixels outside @box are those of @before. */
static void check_outside(SvCanvas *canvas, const uint8_t *before, const pixman_box32_t *box)
{
    int32_t stride = sv_canvas_get_stride(canvas);
    const uint8_t *now = sv_canvas_get_const_data(canvas);
    for (int32_t y = 0; y < (int32_t)sv_canvas_get_height(canvas); y++) {
        const uint8_t *a = now + (size_t)y * stride, *b = before + (size_t)y * stride;
        if (y < box->y1 || y >= box->y2) {
            g_assert_true(memcmp(a, b, sv_canvas_get_width(canvas) * 4) == 0);
        } else {
            g_assert_true(memcmp(a, b, (size_t)box->x1 * 4) == 0);
            g_assert_true(memcmp(a + box->x2 * 4, b + box->x2 * 4,
                                 (sv_canvas_get_width(canvas) - box->x2) * 4) == 0);
        }
    }
}

static void check_copy(Replay *r, SvCanvas *canvas, const SvDrawCommand *cmd,
                       const SvTraceDrawable *d, const uint8_t *before)
{
    const SvTraceImage *im = d->src_image;
    g_autofree uint8_t *bytes = g_malloc(MAX(im->data.total_bytes, 1));
    size_t off = 0;
    for (uint32_t i = 0; i < im->data.n_chunks; i++) {
        memcpy(bytes + off, im->data.chunks[i].data, im->data.chunks[i].size);
        off += im->data.chunks[i].size;
    }
    pixman_box32_t box = {MAX(cmd->bbox.left, 0), MAX(cmd->bbox.top, 0),
                          MIN(cmd->bbox.right, (int32_t)sv_canvas_get_width(canvas)),
                          MIN(cmd->bbox.bottom, (int32_t)sv_canvas_get_height(canvas))};
    gboolean decodable = TRUE;
    for (int32_t y = box.y1; y < box.y2 && decodable; y++) {
        for (int32_t x = box.x1; x < box.x2; x++) {
            uint32_t want;
            if (!trace_pixel(im, bytes, (uint32_t)(x - cmd->bbox.left + cmd->src_area.left),
                             (uint32_t)(y - cmd->bbox.top + cmd->src_area.top), &want)) {
                decodable = FALSE;
                break;
            }
            if (px(canvas, x, y) != want) {
                g_error("copy at (%d,%d) on surface %u: %06x, bitmap says %06x", x, y,
                        cmd->surface_id, px(canvas, x, y), want);
            }
            r->pixels_checked++;
        }
    }
    if (decodable) {
        r->copies_checked++;
    }
    check_outside(canvas, before, &box);
}

static void check_copy_bits(Replay *r, SvCanvas *canvas, const SvDrawCommand *cmd,
                            const uint8_t *before)
{
    pixman_box32_t box = {MAX(cmd->bbox.left, 0), MAX(cmd->bbox.top, 0),
                          MIN(cmd->bbox.right, (int32_t)sv_canvas_get_width(canvas)),
                          MIN(cmd->bbox.bottom, (int32_t)sv_canvas_get_height(canvas))};
    int32_t dx = cmd->bbox.left - cmd->src_pos.x, dy = cmd->bbox.top - cmd->src_pos.y;
    for (int32_t y = box.y1; y < box.y2; y++) {
        for (int32_t x = box.x1; x < box.x2; x++) {
            uint32_t want = snap_px(canvas, before, x - dx, y - dy);
            if (px(canvas, x, y) != want) {
                g_error("copy_bits at (%d,%d): %06x, expected %06x", x, y, px(canvas, x, y), want);
            }
            r->pixels_checked++;
        }
    }
    check_outside(canvas, before, &box);
    r->copy_bits_checked++;
}

static void replay_draw(Replay *r, SvCommandConverter *converter, const SvTraceDrawable *d)
{
    g_autoptr(GError) error = NULL;
    const SvDrawCommand *cmd = sv_command_converter_draw(converter, d, &error);
    g_assert_no_error(error);
    SvCanvas *canvas = replay_lookup(r, cmd->surface_id);
    g_assert_nonnull(canvas);

    gboolean plain_copy =
        cmd->type == QXL_DRAW_COPY && cmd->src != NULL && cmd->src->type == SV_SOURCE_BITMAP &&
        cmd->rop_descriptor == SPICE_ROPD_OP_PUT && cmd->clip_type == SV_CLIP_NONE &&
        cmd->mask == NULL &&
        cmd->bbox.right - cmd->bbox.left == cmd->src_area.right - cmd->src_area.left &&
        cmd->bbox.bottom - cmd->bbox.top == cmd->src_area.bottom - cmd->src_area.top;
    gboolean plain_bits = cmd->type == QXL_COPY_BITS && cmd->clip_type == SV_CLIP_NONE &&
                          cmd->bbox.left >= 0 && cmd->bbox.top >= 0 &&
                          cmd->bbox.right <= (int32_t)sv_canvas_get_width(canvas) &&
                          cmd->bbox.bottom <= (int32_t)sv_canvas_get_height(canvas);
    g_autofree uint8_t *before = plain_copy || plain_bits ? snapshot(canvas) : NULL;

    gint64 start = g_get_monotonic_time();
    gboolean exact = sv_canvas_draw(canvas, cmd, replay_lookup, r);
    gint64 elapsed = g_get_monotonic_time() - start;
    r->draws++;
    if (!exact) {
        r->approximated++;
    }
    if (plain_copy) {
        g_assert_true(exact);
        if (cmd->bbox.right - cmd->bbox.left >= 320) {
            r->copy_us += elapsed;
            r->copy_timed++;
            r->copy_timed_pixels += (guint64)(cmd->bbox.right - cmd->bbox.left) *
                                    (guint64)(cmd->bbox.bottom - cmd->bbox.top);
            /* the same draw again, with source and destination in cache */
            start = g_get_monotonic_time();
            g_assert_true(sv_canvas_draw(canvas, cmd, replay_lookup, r));
            r->copy_warm_us += g_get_monotonic_time() - start;
        }
        check_copy(r, canvas, cmd, d, before);
    } else if (plain_bits) {
        g_assert_true(exact);
        check_copy_bits(r, canvas, cmd, before);
    }
}

static void replay_trace(const char *path, Replay *r)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new(path, &error);
    g_assert_no_error(error);
    SvCommandConverter *converter = sv_command_converter_new();
    r->surfaces = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)sv_canvas_free);
    const SvTraceEvent *ev;
    while ((ev = sv_trace_reader_next(reader, &error)) != NULL) {
        if (ev->kind == SV_TRACE_KIND_MESSAGE) {
            switch (ev->type) {
            case SV_TRACE_MSG_CREATE_PRIMARY_SURFACE:
            case SV_TRACE_MSG_CREATE_PRIMARY_SURFACE_ASYNC:
                if (ev->primary.present) {
                    replay_create(r, 0, ev->primary.width, ev->primary.height, ev->primary.format,
                                  ev->primary.data.data, ev->primary.data.size, ev->primary.stride);
                }
                break;
            case SV_TRACE_MSG_DESTROY_PRIMARY_SURFACE:
                g_hash_table_remove(r->surfaces, GUINT_TO_POINTER(0));
                break;
            case SV_TRACE_MSG_DESTROY_SURFACES:
                g_hash_table_remove_all(r->surfaces);
                break;
            default:
                break;
            }
            continue;
        }
        if (ev->type == SV_TRACE_CMD_SURFACE) {
            const SvTraceSurfaceCmd *s = &ev->surface;
            if (s->type == SV_TRACE_SURFACE_CREATE) {
                replay_create(r, (uint32_t)s->surface_id, s->width, s->height, s->format,
                              (s->flags & SV_TRACE_SURFACE_KEEP_DATA) ? s->data.data : NULL,
                              s->data.size, s->stride);
            } else {
                g_hash_table_remove(r->surfaces, GUINT_TO_POINTER((uint32_t)s->surface_id));
            }
        } else if (ev->type == SV_TRACE_CMD_DRAW) {
            replay_draw(r, converter, &ev->draw);
        }
    }
    g_assert_no_error(error);
    sv_command_converter_free(converter);
    g_hash_table_destroy(r->surfaces);
}

static void test_corpus_video(void)
{
    Replay r = {0};
    replay_trace(SV_CORPORA_DIR "/video-photos-640-cut.spice.zst", &r);
    /* 46 copies: 44 frames of 640x360 onto the primary and the cursor */
    g_assert_cmpuint(r.copies_checked, >=, 40);
    g_assert_cmpuint(r.copy_timed, >=, 40);
    g_assert_cmpuint(r.pixels_checked, >=, 40 * 640 * 360);
    g_test_message("video: %u draws, %u approximated, %u copies checked; %u copies of >= 320 px "
                   "wide (%.0f px each): %.1f us per draw (%.1f us drawn again, warm)",
                   r.draws, r.approximated, r.copies_checked, r.copy_timed,
                   (double)r.copy_timed_pixels / r.copy_timed, (double)r.copy_us / r.copy_timed,
                   (double)r.copy_warm_us / r.copy_timed);
}

static void test_corpus_text(void)
{
    Replay r = {0};
    replay_trace(SV_CORPORA_DIR "/text-scroll.spice.zst", &r);
    g_assert_cmpuint(r.copies_checked, >=, 1000);
    g_assert_cmpuint(r.copy_bits_checked, >=, 250);
    g_assert_cmpuint(r.approximated, ==, 0);
    g_test_message("text: %u draws, %u approximated, %u copies and %u copy_bits checked, "
                   "%" G_GUINT64_FORMAT " pixels",
                   r.draws, r.approximated, r.copies_checked, r.copy_bits_checked,
                   r.pixels_checked);
}

static void test_corpus_idle(void)
{
    Replay r = {0};
    replay_trace(SV_CORPORA_DIR "/idle-cursor.spice.zst", &r);
    /* 2 fills and the cursor's copy */
    g_assert_cmpuint(r.draws, ==, 3);
    g_assert_cmpuint(r.copies_checked, ==, 1);
    g_assert_cmpuint(r.approximated, ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/canvas/absurd-sizes", test_absurd_sizes);
    g_test_add_func("/canvas/load-16bit-bottom-up", test_load_16bit_bottom_up);
    g_test_add_func("/canvas/fill-clip-rop", test_fill_clip);
    g_test_add_func("/canvas/fill-pattern-mask", test_fill_pattern_and_mask);
    g_test_add_func("/canvas/copy-formats", test_copy_formats);
    g_test_add_func("/canvas/copy-clip-mask", test_copy_clip_mask);
    g_test_add_func("/canvas/copy-scaled", test_copy_scaled);
    g_test_add_func("/canvas/opaque-blend-stroke", test_opaque_blend_stroke);
    g_test_add_func("/canvas/copy-bits", test_copy_bits);
    g_test_add_func("/canvas/transparent", test_transparent);
    g_test_add_func("/canvas/alpha-blend", test_alpha_blend);
    g_test_add_func("/canvas/surface-copy-rop3", test_surface_copy);
    g_test_add_func("/canvas/composite", test_composite);
    g_test_add_func("/canvas/truncated-absurd", test_truncated_and_absurd);
    g_test_add_func("/canvas/put-frame", test_put_frame);
    g_test_add_func("/canvas/corpus-video", test_corpus_video);
    g_test_add_func("/canvas/corpus-text", test_corpus_text);
    g_test_add_func("/canvas/corpus-idle", test_corpus_idle);
    return g_test_run();
}
