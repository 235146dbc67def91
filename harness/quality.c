/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/* Luma PSNR and SSIM as ffmpeg's psnr and ssim filters compute them (quality.h). */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#if SV_HAVE_LIBYUV
#include <libyuv.h>
#endif

#include "bitmap.h"
#include "quality.h"

/* BT.601 limited range, libyuv's RGBToY coefficients. */
static inline uint8_t rgb_to_y(uint32_t r, uint32_t g, uint32_t b)
{
    return (uint8_t)(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
}

void sv_quality_bgrx_to_y(const uint8_t *bgrx, int32_t stride, uint32_t width, uint32_t height,
                          uint8_t *y, int32_t y_stride)
{
    g_return_if_fail(bgrx != NULL && y != NULL);

#if SV_HAVE_LIBYUV
    /* libyuv's ARGBToI400 computes the same formula, bit for bit, with SIMD. */
    if (width <= INT_MAX && height <= INT_MAX &&
        ARGBToI400(bgrx, stride, y, y_stride, (int)width, (int)height) == 0) {
        return;
    }
#endif
    for (uint32_t row = 0; row < height; row++) {
        const uint8_t *src = bgrx + (ptrdiff_t)row * stride;
        uint8_t *dst = y + (ptrdiff_t)row * y_stride;
        for (uint32_t x = 0; x < width; x++) {
            dst[x] = rgb_to_y(src[4 * x + 2], src[4 * x + 1], src[4 * x]);
        }
    }
}

/* Bytes per pixel of the formats the encoders accept; 0 for the others. */
static uint32_t bitmap_bpp(uint8_t format)
{
    switch (format) {
    case SPICE_BITMAP_FMT_32BIT:
    case SPICE_BITMAP_FMT_RGBA:
        return 4;
    case SPICE_BITMAP_FMT_24BIT:
        return 3;
    case SPICE_BITMAP_FMT_16BIT:
        return 2;
    default:
        return 0;
    }
}

static void line_to_y(const uint8_t *src, uint32_t bpp, uint32_t width, uint8_t *dst)
{
    if (bpp == 2) {
        for (uint32_t x = 0; x < width; x++) {
            uint32_t v = (uint32_t)src[2 * x] | ((uint32_t)src[2 * x + 1] << 8);
            uint32_t r = (v >> 10) & 0x1f, g = (v >> 5) & 0x1f, b = v & 0x1f;
            /* x1r5g5b5 widened by bit replication, as pixman expands it. */
            dst[x] = rgb_to_y((r << 3) | (r >> 2), (g << 3) | (g >> 2), (b << 3) | (b >> 2));
        }
        return;
    }
#if SV_HAVE_LIBYUV
    if (bpp == 4 && width <= INT_MAX &&
        ARGBToI400(src, (int)width * 4, dst, (int)width, (int)width, 1) == 0) {
        return;
    }
#endif
    for (uint32_t x = 0; x < width; x++) {
        const uint8_t *p = src + (size_t)x * bpp;
        dst[x] = rgb_to_y(p[2], p[1], p[0]);
    }
}

gboolean sv_quality_bitmap_to_y(const SpiceBitmap *bitmap, const SpiceRect *area, uint8_t *y,
                                int32_t y_stride)
{
    g_return_val_if_fail(bitmap != NULL && area != NULL && y != NULL, FALSE);

    uint32_t bpp = bitmap_bpp(bitmap->format);
    if (bpp == 0 || !sv_bitmap_src_is_valid(bitmap, area, INT32_MAX)) {
        return FALSE;
    }
    int top_down = (bitmap->flags & SPICE_BITMAP_FLAGS_TOP_DOWN) != 0;
    uint64_t first = sv_bitmap_first_line(bitmap, area, top_down);
    if (!sv_bitmap_has_src_data(bitmap, area, bpp, first)) {
        return FALSE;
    }

    uint32_t width = (uint32_t)(area->right - area->left);
    uint32_t height = (uint32_t)(area->bottom - area->top);
    size_t line_bytes = (size_t)width * bpp;
    g_autofree uint8_t *scratch = g_malloc(line_bytes);
    SvChunkCursor cursor;
    sv_chunk_cursor_init(&cursor, bitmap->data);

    /* Memory order keeps the cursor moving forward; a bottom-up bitmap fills
     * the output from its last row up. */
    for (uint32_t i = 0; i < height; i++) {
        uint64_t offset = (first + i) * bitmap->stride + (uint64_t)area->left * bpp;
        const uint8_t *src = sv_chunk_cursor_read(&cursor, offset, line_bytes, scratch);
        if (src == NULL) {
            return FALSE;
        }
        uint32_t row = top_down ? i : height - 1 - i;
        line_to_y(src, bpp, width, y + (ptrdiff_t)row * y_stride);
    }
    return TRUE;
}

double sv_quality_psnr(const uint8_t *a, int32_t a_stride, const uint8_t *b, int32_t b_stride,
                       uint32_t width, uint32_t height)
{
    g_return_val_if_fail(a != NULL && b != NULL, NAN);

    if (width == 0 || height == 0) {
        return NAN;
    }
    uint64_t sse = 0;
    for (uint32_t row = 0; row < height; row++) {
        const uint8_t *pa = a + (ptrdiff_t)row * a_stride;
        const uint8_t *pb = b + (ptrdiff_t)row * b_stride;
        /* Runs of 16384 pixels: 255² × 16384 fits in 32 bits, and a loop
         * without a branch inside vectorizes. */
        for (uint32_t x0 = 0; x0 < width; x0 += 16384) {
            uint32_t end = MIN(width, x0 + 16384);
            uint32_t line = 0;
            for (uint32_t x = x0; x < end; x++) {
                int d = (int)pa[x] - (int)pb[x];
                line += (uint32_t)(d * d);
            }
            sse += line;
        }
    }
    if (sse == 0) {
        return INFINITY;
    }
    double mse = (double)sse / ((double)width * (double)height);
    return 10.0 * log10(255.0 * 255.0 / mse);
}

typedef int64_t BlockSums[4];

/* Sums over one 4×4 block: Σa, Σb, Σa²+Σb², Σab (ffmpeg's layout). */
static void block_sums(const uint8_t *a, int32_t a_stride, const uint8_t *b, int32_t b_stride,
                       int64_t sums[4])
{
    /* 16 pixels: every sum fits in 32 bits (ss ≤ 16 × 2 × 255²). */
    int32_t s1 = 0, s2 = 0, ss = 0, s12 = 0;
    for (int y = 0; y < 4; y++) {
        const uint8_t *ra = a + (ptrdiff_t)y * a_stride;
        const uint8_t *rb = b + (ptrdiff_t)y * b_stride;
        for (int x = 0; x < 4; x++) {
            int32_t pa = ra[x];
            int32_t pb = rb[x];
            s1 += pa;
            s2 += pb;
            ss += pa * pa + pb * pb;
            s12 += pa * pb;
        }
    }
    sums[0] = s1;
    sums[1] = s2;
    sums[2] = ss;
    sums[3] = s12;
}

/*
 * One 8×8 window from four block sums, in the integer form of libvpx/x264/
 * ffmpeg: sums are 64 × the means, hence the scaled constants
 * c1 = (0.01·255)²·64 and c2 = (0.03·255)²·64·63.
 */
static double window_ssim(int64_t s1, int64_t s2, int64_t ss, int64_t s12)
{
    const int64_t c1 = (int64_t)(.01 * .01 * 255 * 255 * 64 + .5);
    const int64_t c2 = (int64_t)(.03 * .03 * 255 * 255 * 64 * 63 + .5);
    int64_t vars = ss * 64 - s1 * s1 - s2 * s2;
    int64_t covar = s12 * 64 - s1 * s2;

    return (double)(2 * s1 * s2 + c1) * (double)(2 * covar + c2) /
           ((double)(s1 * s1 + s2 * s2 + c1) * (double)(vars + c2));
}

double sv_quality_ssim(const uint8_t *a, int32_t a_stride, const uint8_t *b, int32_t b_stride,
                       uint32_t width, uint32_t height)
{
    g_return_val_if_fail(a != NULL && b != NULL, NAN);

    uint32_t bw = width / 4;
    uint32_t bh = height / 4;
    if (bw < 2 || bh < 2) {
        return NAN; /* no whole 8×8 window */
    }
    /* Two rows of block sums: the previous and the current block row. */
    g_autofree BlockSums *prev = g_new(BlockSums, bw);
    g_autofree BlockSums *cur = g_new(BlockSums, bw);
    double total = 0.0;

    for (uint32_t by = 0; by < bh; by++) {
        BlockSums *swap = prev;
        prev = cur;
        cur = swap;
        for (uint32_t bx = 0; bx < bw; bx++) {
            block_sums(a + (ptrdiff_t)by * 4 * a_stride + bx * 4, a_stride,
                       b + (ptrdiff_t)by * 4 * b_stride + bx * 4, b_stride, cur[bx]);
        }
        if (by == 0) {
            continue;
        }
        double line = 0.0;
        for (uint32_t bx = 0; bx + 1 < bw; bx++) {
            int64_t s[4];
            for (int k = 0; k < 4; k++) {
                s[k] = prev[bx][k] + prev[bx + 1][k] + cur[bx][k] + cur[bx + 1][k];
            }
            line += window_ssim(s[0], s[1], s[2], s[3]);
        }
        total += line;
    }
    return total / ((double)(bh - 1) * (double)(bw - 1));
}
