/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The graduality test (reference 5.4) against scores computed by hand on
 * small synthetic bitmaps, and against crops of recorded frames
 * (tests/streamdetect/data, see its README): video must grade gradual,
 * xterm text strips must not.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <spice-video/streamdetect.h>

/* A bitmap whose pixels live in one or more chunks, all freed together. */
typedef struct {
    SpiceBitmap bitmap;
    SpiceChunks *chunks;
    uint8_t *pixels;
} TestBitmap;

static TestBitmap *test_bitmap_new(uint8_t format, uint32_t width, uint32_t height, uint32_t stride,
                                   guint n_chunks)
{
    TestBitmap *tb = g_new0(TestBitmap, 1);
    tb->pixels = g_malloc0((size_t)stride * height);
    tb->chunks = g_malloc0(sizeof(SpiceChunks) + n_chunks * sizeof(SpiceChunk));
    tb->chunks->num_chunks = n_chunks;
    tb->chunks->data_size = stride * height;
    /* Equal numbers of lines per chunk, the rest in the last one. */
    uint32_t lines_per = height / n_chunks;
    for (guint i = 0; i < n_chunks; i++) {
        uint32_t first = i * lines_per;
        uint32_t lines = i + 1 == n_chunks ? height - first : lines_per;
        tb->chunks->chunk[i].data = tb->pixels + (size_t)first * stride;
        tb->chunks->chunk[i].len = lines * stride;
    }
    tb->bitmap = (SpiceBitmap){.format = format,
                               .flags = SPICE_BITMAP_FLAGS_TOP_DOWN,
                               .x = width,
                               .y = height,
                               .stride = stride,
                               .data = tb->chunks};
    return tb;
}

static void test_bitmap_free(TestBitmap *tb)
{
    g_free(tb->pixels);
    g_free(tb->chunks);
    g_free(tb);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TestBitmap, test_bitmap_free)

static void set32(TestBitmap *tb, uint32_t x, uint32_t y, uint8_t b, uint8_t g, uint8_t r)
{
    uint8_t *p = tb->pixels + (size_t)y * tb->bitmap.stride + x * 4;
    p[0] = b;
    p[1] = g;
    p[2] = r;
    p[3] = 0;
}

static void set_grey(TestBitmap *tb, uint32_t x, uint32_t y, uint8_t v)
{
    set32(tb, x, y, v, v, v);
}

/* 16BIT x555: five bits per channel. */
static void set16(TestBitmap *tb, uint32_t x, uint32_t y, unsigned r5, unsigned g5, unsigned b5)
{
    uint16_t v = (uint16_t)((r5 << 10) | (g5 << 5) | b5);
    uint8_t *p = tb->pixels + (size_t)y * tb->bitmap.stride + x * 2;
    p[0] = v & 0xff;
    p[1] = v >> 8;
}

static void check(const SpiceBitmap *bitmap, gboolean padded, SvGraduality expected_level,
                  double expected_score)
{
    double score = 99;
    SvGraduality level = sv_bitmap_graduality(bitmap, padded, &score);
    g_test_message("level %s, score %.6f", sv_graduality_to_string(level), score);
    g_assert_cmpstr(sv_graduality_to_string(level), ==, sv_graduality_to_string(expected_level));
    g_assert_cmpfloat_with_epsilon(score, expected_score, 1e-12);
}

/* 4x4, one colour: one sample at (2,0), three identical pairs score 0. */
static void test_flat(void)
{
    g_autoptr(TestBitmap) tb = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 4, 4, 16, 1);
    for (uint32_t y = 0; y < 4; y++) {
        for (uint32_t x = 0; x < 4; x++) {
            set32(tb, x, y, 10, 200, 30);
        }
    }
    check(&tb->bitmap, FALSE, SV_GRADUALITY_MEDIUM, 0.0);
}

/* 4x4 one-pixel black/white columns (text-like): the sample at (2,0)
 * scores contrast + identical + contrast = 2.5 over 3 pairs. */
static void test_text_edges(void)
{
    g_autoptr(TestBitmap) tb = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 4, 4, 16, 1);
    for (uint32_t y = 0; y < 4; y++) {
        for (uint32_t x = 0; x < 4; x++) {
            set_grey(tb, x, y, x % 2 ? 255 : 0);
        }
    }
    check(&tb->bitmap, FALSE, SV_GRADUALITY_LOW, 2.5 / 3);
}

/* grey = x + y: every pair differs a little, -0.25 each. */
static void test_smooth_gradient(void)
{
    g_autoptr(TestBitmap) tb = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 4, 4, 16, 1);
    for (uint32_t y = 0; y < 4; y++) {
        for (uint32_t x = 0; x < 4; x++) {
            set_grey(tb, x, y, (uint8_t)(100 + x + y));
        }
    }
    check(&tb->bitmap, FALSE, SV_GRADUALITY_HIGH, -0.25);
}

/*
 * 16x4 (step 15): samples at (8,0), (7,1), (6,2); (5,3) is on the last line.
 * Sample 1: three smooth pairs (-0.75); sample 2: the same; sample 3:
 * identical right (+0.5), smooth below (-0.25), contrasting below-right
 * (+1): +1.25. Total -0.25 over 9 pairs = -0.02778: MEDIUM for 32-bit (HIGH
 * needs < -0.03), HIGH for 16-bit (HIGH below 0).
 */
static void test_photo_like(void)
{
    g_autoptr(TestBitmap) tb = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 16, 4, 64, 1);
    set_grey(tb, 8, 0, 100);        /* sample 1 */
    set_grey(tb, 9, 0, 110);        /* right: smooth */
    set_grey(tb, 8, 1, 90);         /* below: smooth (and sample 2's right) */
    set32(tb, 9, 1, 100, 100, 159); /* below-right: red +59, smooth */
    set_grey(tb, 7, 1, 95);         /* sample 2; right (8,1): smooth */
    set_grey(tb, 7, 2, 80);         /* below: smooth (and sample 3's right) */
    set_grey(tb, 8, 2, 96);         /* below-right: smooth */
    set_grey(tb, 6, 2, 80);         /* sample 3; right (7,2): identical */
    set_grey(tb, 6, 3, 81);         /* below: smooth */
    set_grey(tb, 7, 3, 140);        /* below-right: +60, contrasting */
    check(&tb->bitmap, FALSE, SV_GRADUALITY_MEDIUM, -0.25 / 9);

    /* The same arrangement in 16 bits (5-bit units, contrast at 8). */
    g_autoptr(TestBitmap) t16 = test_bitmap_new(SPICE_BITMAP_FMT_16BIT, 16, 4, 32, 1);
    set16(t16, 8, 0, 10, 10, 10);
    set16(t16, 9, 0, 11, 10, 10);
    set16(t16, 8, 1, 12, 10, 10);
    set16(t16, 9, 1, 10, 10, 17); /* +7: smooth */
    set16(t16, 7, 1, 13, 10, 10);
    set16(t16, 7, 2, 16, 10, 10);
    set16(t16, 8, 2, 14, 10, 10);
    set16(t16, 6, 2, 16, 10, 10);
    set16(t16, 6, 3, 17, 10, 10);
    set16(t16, 7, 3, 24, 10, 10); /* +8: contrasting */
    check(&t16->bitmap, FALSE, SV_GRADUALITY_HIGH, -0.25 / 9);
}

/* Contrast thresholds: 60 for 8-bit channels, 8 for 5-bit ones. */
static void test_contrast_thresholds(void)
{
    g_autoptr(TestBitmap) tb = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 4, 2, 16, 1);
    /* sample (2,0): right +59 (smooth), below identical, below-right +60 */
    set_grey(tb, 2, 0, 100);
    set_grey(tb, 3, 0, 159);
    set_grey(tb, 2, 1, 100);
    set_grey(tb, 3, 1, 160);
    check(&tb->bitmap, FALSE, SV_GRADUALITY_LOW, (-0.25 + 0.5 + 1.0) / 3);

    g_autoptr(TestBitmap) t16 = test_bitmap_new(SPICE_BITMAP_FMT_16BIT, 4, 2, 8, 1);
    set16(t16, 2, 0, 1, 1, 1);
    set16(t16, 3, 0, 1, 8, 1); /* +7 */
    set16(t16, 2, 1, 1, 1, 1);
    set16(t16, 3, 1, 1, 1, 9); /* +8 */
    check(&t16->bitmap, FALSE, SV_GRADUALITY_LOW, (-0.25 + 0.5 + 1.0) / 3);

    /* 24-bit: three bytes per pixel. */
    g_autoptr(TestBitmap) t24 = test_bitmap_new(SPICE_BITMAP_FMT_24BIT, 4, 2, 12, 1);
    uint8_t *p = t24->pixels;
    p[2 * 3] = 10;  /* (2,0) blue */
    p[3 * 3] = 11;  /* (3,0): smooth */
    p[12 + 6] = 10; /* (2,1): identical */
    p[12 + 9] = 12; /* (3,1): smooth */
    check(&t24->bitmap, FALSE, SV_GRADUALITY_MEDIUM, 0.0);
}

/* Width a multiple of 15 steps by 14, and a sample on a line's last pixel
 * moves one to the left: 30x2 samples (15,0) then (28,0), not (29,0). */
static void test_sampling_walk(void)
{
    g_autoptr(TestBitmap) tb = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 30, 2, 120, 1);
    for (uint32_t x = 0; x < 30; x++) {
        set_grey(tb, x, 0, 77);
        set_grey(tb, x, 1, 77);
    }
    set_grey(tb, 28, 0, 10);
    set_grey(tb, 29, 0, 11);
    set_grey(tb, 28, 1, 12);
    set_grey(tb, 29, 1, 13);
    /* (15,0): identical (0); (28,0): three smooth pairs. */
    check(&tb->bitmap, FALSE, SV_GRADUALITY_HIGH, -0.75 / 6);
}

/* Each chunk is scored alone; a chunk of one line scores 1 from 1 sample. */
static void test_chunks(void)
{
    g_autoptr(TestBitmap) tb = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 4, 5, 16, 2);
    /* chunk 0: lines 0-1 (2 lines), chunk 1: lines 2-4 */
    for (uint32_t y = 0; y < 5; y++) {
        for (uint32_t x = 0; x < 4; x++) {
            set_grey(tb, x, y, (uint8_t)(x + y));
        }
    }
    /* chunk 0: one sample at (2,0) -0.75; chunk 1: one at (2,2) -0.75 */
    check(&tb->bitmap, FALSE, SV_GRADUALITY_HIGH, -1.5 / 6);

    tb->chunks->chunk[0].len = 16; /* one line: +1 from 1 sample */
    check(&tb->bitmap, FALSE, SV_GRADUALITY_LOW, (1.0 - 0.75) / 4);
}

static void test_not_available(void)
{
    g_autoptr(TestBitmap) tb = test_bitmap_new(SPICE_BITMAP_FMT_32BIT, 4, 4, 16, 1);
    for (uint32_t y = 0; y < 4; y++) {
        for (uint32_t x = 0; x < 4; x++) {
            set_grey(tb, x, y, (uint8_t)(x + y));
        }
    }
    check(&tb->bitmap, FALSE, SV_GRADUALITY_HIGH, -0.25);

    tb->bitmap.format = SPICE_BITMAP_FMT_8BIT;
    check(&tb->bitmap, FALSE, SV_GRADUALITY_NOT_AVAIL, 0.0);
    tb->bitmap.format = SPICE_BITMAP_FMT_RGBA;
    check(&tb->bitmap, FALSE, SV_GRADUALITY_HIGH, -0.25);

    tb->chunks->flags = SPICE_CHUNKS_FLAGS_UNSTABLE;
    check(&tb->bitmap, FALSE, SV_GRADUALITY_NOT_AVAIL, 0.0);
    check(&tb->bitmap, TRUE, SV_GRADUALITY_NOT_AVAIL, 0.0);
    tb->chunks->flags = 0;

    /* Padded stride: 3 pixels used of 4 per line. */
    tb->bitmap.x = 3;
    check(&tb->bitmap, FALSE, SV_GRADUALITY_NOT_AVAIL, 0.0);
    /* fix_graduality_stride: measured, sample (1,0) of a 3-wide gradient. */
    check(&tb->bitmap, TRUE, SV_GRADUALITY_HIGH, -0.25);
}

/* ---- against a plain reference ----------------------------------------- */

/* Reference 5.4 written as plainly as possible, one pixel at a time. */
static void reference_channels(const SpiceBitmap *bm, const uint8_t *p, int *c)
{
    if (bm->format == SPICE_BITMAP_FMT_16BIT) {
        unsigned v = p[0] | (unsigned)p[1] << 8;
        c[0] = v & 0x1f;
        c[1] = (v >> 5) & 0x1f;
        c[2] = (v >> 10) & 0x1f;
    } else {
        c[0] = p[0];
        c[1] = p[1];
        c[2] = p[2];
    }
}

static double reference_pair(const SpiceBitmap *bm, const uint8_t *a, const uint8_t *b,
                             gboolean *identical)
{
    int ca[3], cb[3];
    reference_channels(bm, a, ca);
    reference_channels(bm, b, cb);
    int contrast = bm->format == SPICE_BITMAP_FMT_16BIT ? 8 : 60;
    if (ca[0] == cb[0] && ca[1] == cb[1] && ca[2] == cb[2]) {
        return 0.5;
    }
    *identical = FALSE;
    for (int i = 0; i < 3; i++) {
        if (ABS(ca[i] - cb[i]) >= contrast) {
            return 1.0;
        }
    }
    return -0.25;
}

static double reference_score(const SpiceBitmap *bm)
{
    size_t bpp = bm->format == SPICE_BITMAP_FMT_16BIT   ? 2
                 : bm->format == SPICE_BITMAP_FMT_24BIT ? 3
                                                        : 4;
    double score = 0;
    double count = 0;
    for (uint32_t i = 0; i < bm->data->num_chunks; i++) {
        const SpiceChunk *ch = &bm->data->chunk[i];
        size_t width = bm->x, lines = ch->len / (width * bpp);
        if (width <= 1 || lines <= 1) {
            score += 1;
            count += 1;
            continue;
        }
        size_t step = width % 15 == 0 ? 14 : 15;
        for (size_t pos = width / 2; pos < (lines - 1) * width; pos += step) {
            if (pos % width == width - 1) {
                pos--;
            }
            const uint8_t *p = ch->data + pos * bpp;
            gboolean identical = TRUE;
            double s = reference_pair(bm, p, p + bpp, &identical) +
                       reference_pair(bm, p, p + width * bpp, &identical) +
                       reference_pair(bm, p, p + (width + 1) * bpp, &identical);
            score += identical ? 0 : s;
            count += 3;
        }
    }
    return score / count;
}

/* Random bitmaps of every format and many shapes: the optimised test must
 * give exactly the reference's score. */
static void test_reference(void)
{
    static const uint8_t formats[] = {SPICE_BITMAP_FMT_16BIT, SPICE_BITMAP_FMT_24BIT,
                                      SPICE_BITMAP_FMT_32BIT, SPICE_BITMAP_FMT_RGBA};
    GRand *rand = g_rand_new_with_seed(42);
    for (guint iter = 0; iter < 3000; iter++) {
        uint8_t format = formats[iter % G_N_ELEMENTS(formats)];
        uint32_t bpp = format == SPICE_BITMAP_FMT_16BIT   ? 2
                       : format == SPICE_BITMAP_FMT_24BIT ? 3
                                                          : 4;
        uint32_t width = (uint32_t)g_rand_int_range(rand, 1, 200);
        uint32_t height = (uint32_t)g_rand_int_range(rand, 1, 40);
        guint n_chunks = (guint)g_rand_int_range(rand, 1, 4);
        g_autoptr(TestBitmap) tb =
            test_bitmap_new(format, width, height, width * bpp, MIN(n_chunks, height));
        /* Few distinct values, so identical, smooth and contrasting pairs all occur. */
        int spread = g_rand_int_range(rand, 1, 100);
        for (size_t i = 0; i < (size_t)width * height * bpp; i++) {
            tb->pixels[i] = (uint8_t)(100 + g_rand_int_range(rand, 0, spread) / 10 * 10);
        }
        double score = 0;
        sv_bitmap_graduality(&tb->bitmap, FALSE, &score);
        double expected = reference_score(&tb->bitmap);
        if (score != expected) {
            g_error("format %u %ux%u in %u chunks: score %.17g, reference %.17g", format, width,
                    height, tb->chunks->num_chunks, score, expected);
        }
    }
    g_rand_free(rand);
}

/* ---- recorded frames ---------------------------------------------------- */

static TestBitmap *load(const char *name)
{
    g_autofree char *path = g_test_build_filename(G_TEST_DIST, "data", name, NULL);
    g_autofree char *contents = NULL;
    gsize length = 0;
    g_autoptr(GError) error = NULL;
    g_assert_true(g_file_get_contents(path, &contents, &length, &error));
    g_assert_no_error(error);
    const char *nl = memchr(contents, '\n', length);
    g_assert_nonnull(nl);
    unsigned width = 0, height = 0, format = 0, flags = 0;
    g_assert_cmpint(sscanf(contents, "SVBM %u %u %u %u", &width, &height, &format, &flags), ==, 4);
    size_t offset = (size_t)(nl + 1 - contents);
    g_assert_cmpuint(length - offset, ==, (size_t)width * height * 4);
    TestBitmap *tb = test_bitmap_new((uint8_t)format, width, height, width * 4, 1);
    tb->bitmap.flags = (uint8_t)flags;
    memcpy(tb->pixels, contents + offset, (size_t)width * height * 4);
    return tb;
}

typedef struct {
    const char *file;
    SvGraduality level;
} RecordedCase;

static const RecordedCase recorded[] = {
    {"video-5-128x96.bgrx", SV_GRADUALITY_HIGH},
    {"video-30-128x96.bgrx", SV_GRADUALITY_HIGH},
    {"video-55-128x96.bgrx", SV_GRADUALITY_HIGH},
    {"text-0-432x13.bgrx", SV_GRADUALITY_LOW},
    {"text-1-408x13.bgrx", SV_GRADUALITY_LOW},
    /* An empty strip scores 0: MEDIUM, which counts as gradual. */
    {"blank-512x13.bgrx", SV_GRADUALITY_MEDIUM},
};

static void test_recorded(gconstpointer data)
{
    const RecordedCase *c = data;
    g_autoptr(TestBitmap) tb = load(c->file);
    double score = 0;
    SvGraduality level = sv_bitmap_graduality(&tb->bitmap, FALSE, &score);
    g_test_message("%s: %s (%.4f)", c->file, sv_graduality_to_string(level), score);
    g_assert_cmpstr(sv_graduality_to_string(level), ==, sv_graduality_to_string(c->level));

    /* The recorder's chunking (several pieces) must not change the verdict
     * for video: split into 4 chunks of whole lines. */
    if (tb->bitmap.y >= 8) {
        g_autoptr(TestBitmap) split = test_bitmap_new((uint8_t)tb->bitmap.format, tb->bitmap.x,
                                                      tb->bitmap.y, tb->bitmap.stride, 4);
        memcpy(split->pixels, tb->pixels, (size_t)tb->bitmap.stride * tb->bitmap.y);
        g_assert_cmpint(sv_bitmap_graduality(&split->bitmap, FALSE, NULL), ==, c->level);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/graduality/flat", test_flat);
    g_test_add_func("/graduality/text-edges", test_text_edges);
    g_test_add_func("/graduality/smooth-gradient", test_smooth_gradient);
    g_test_add_func("/graduality/photo-like-32-and-16bit", test_photo_like);
    g_test_add_func("/graduality/contrast-thresholds", test_contrast_thresholds);
    g_test_add_func("/graduality/sampling-walk", test_sampling_walk);
    g_test_add_func("/graduality/chunks", test_chunks);
    g_test_add_func("/graduality/not-available", test_not_available);
    g_test_add_func("/graduality/reference", test_reference);
    for (guint i = 0; i < G_N_ELEMENTS(recorded); i++) {
        g_autofree char *path = g_strdup_printf("/graduality/recorded/%s", recorded[i].file);
        g_test_add_data_func(path, &recorded[i], test_recorded);
    }
    return g_test_run();
}
