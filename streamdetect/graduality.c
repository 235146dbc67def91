/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The graduality ("natural image") test of reference 5.4: a sparse sample
 * of pixels is compared with its right, lower and lower-right neighbours.
 * Smooth gradients give small differences (negative scores), flat areas and
 * sharp edges give identical or contrasting pairs (positive scores).
 */
#include "config.h"

#include <spice-video/streamdetect.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define SAMPLE_STEP 15 /* pixels between samples; 14 when the width is a multiple of 15 */
#define PAIR_SCORE_IDENTICAL 0.5
#define PAIR_SCORE_CONTRAST 1.0
#define PAIR_SCORE_SMOOTH (-0.25)
#define CONTRAST_8BIT 60 /* channel difference that makes a pair contrasting */
#define CONTRAST_5BIT 8  /* the same for the 5-bit channels of 16BIT */
#define HIGH_THRESHOLD_16BIT 0.0
#define HIGH_THRESHOLD (-0.03)
#define MEDIUM_THRESHOLD 0.002

/*
 * Pair kinds: 0 identical, 1 different but smooth, 2 contrasting. Computed
 * without branches: in photos the outcome is random, and mispredicted
 * branches would cost more than the arithmetic.
 */
static inline unsigned pair_kind(int b1, int g1, int r1, int b2, int g2, int r2, int contrast)
{
    int db = ABS(b1 - b2), dg = ABS(g1 - g2), dr = ABS(r1 - r2);
    unsigned differs = (db | dg | dr) != 0;
    unsigned contrasting = (db >= contrast) | (dg >= contrast) | (dr >= contrast);
    return differs + contrasting;
}

/* 32BIT and RGBA: B, G, R, X/A; the fourth byte is ignored. */
static inline unsigned kind_32(const uint8_t *a, const uint8_t *b)
{
    return pair_kind(a[0], a[1], a[2], b[0], b[1], b[2], CONTRAST_8BIT);
}

static inline unsigned kind_24(const uint8_t *a, const uint8_t *b)
{
    return pair_kind(a[0], a[1], a[2], b[0], b[1], b[2], CONTRAST_8BIT);
}

/* 16BIT: x555, little-endian. */
static inline unsigned kind_16(const uint8_t *a, const uint8_t *b)
{
    unsigned pa = a[0] | (unsigned)a[1] << 8;
    unsigned pb = b[0] | (unsigned)b[1] << 8;
    return pair_kind(pa & 0x1f, (pa >> 5) & 0x1f, (pa >> 10) & 0x1f, pb & 0x1f, (pb >> 5) & 0x1f,
                     (pb >> 10) & 0x1f, CONTRAST_5BIT);
}

/*
 * Score of one sample in quarter points, indexed by the kinds of its
 * three pairs (k1 * 9 + k2 * 3 + k3): identical +2, smooth -1, contrasting
 * +4, and 0 when all three are identical. Quarter points are exact, so
 * the sum equals spice's floating-point one.
 */
static const int8_t square_quarters[27] = {
    /* k1 = identical */
    0,
    3,
    8,
    3,
    0,
    5,
    8,
    5,
    10,
    /* k1 = smooth */
    3,
    0,
    5,
    0,
    -3,
    2,
    5,
    2,
    7,
    /* k1 = contrasting */
    8,
    5,
    10,
    5,
    2,
    7,
    10,
    7,
    12,
};

/*
 * Each chunk is seen as @lines lines of @width pixels, @stride bytes
 * apart. Sampling starts at the middle of the first line and steps through
 * the pixels in memory order while the position is above the last line; a
 * position on the last pixel of a line moves one to the left (and the walk
 * continues from there). The chunk_score_* functions add quarter points to
 * @quarters and pairs to @samples.
 */
#define SAMPLE_QUARTERS(kind, p, bpp, stride)                                \
    square_quarters[kind(p, (p) + (bpp)) * 9 + kind(p, (p) + (stride)) * 3 + \
                    kind(p, (p) + (stride) + (bpp))]

/*
 * The walk over one chunk, calling VISIT(p) for each sampled pixel @p.
 * Written once as a macro so each format's loop is compiled with its own
 * inlined comparison.
 */
#define WALK_SAMPLES(data, width, lines, stride, bpp, VISIT)                         \
    do {                                                                             \
        uint32_t step_ = (width) % SAMPLE_STEP == 0 ? SAMPLE_STEP - 1 : SAMPLE_STEP; \
        uint32_t x_ = (width) / 2;                                                   \
        for (uint32_t y_ = 0; y_ < (lines)-1;) {                                     \
            const uint8_t *line_ = (data) + y_ * (stride);                           \
            for (; x_ < (width); x_ += step_) {                                      \
                if (x_ == (width)-1) {                                               \
                    x_--;                                                            \
                }                                                                    \
                VISIT(line_ + (size_t)x_ * (bpp));                                   \
            }                                                                        \
            /* A step may skip whole lines when the width is below 15. */            \
            while (x_ >= (width)) {                                                  \
                x_ -= (width);                                                       \
                y_++;                                                                \
            }                                                                        \
        }                                                                            \
    } while (0)

static void chunk_score_24(const uint8_t *data, uint32_t width, uint32_t lines, size_t stride,
                           int64_t *quarters, uint64_t *samples)
{
    int64_t total = 0;
    uint64_t n = 0;
#define VISIT_24(p) (total += SAMPLE_QUARTERS(kind_24, p, 3, stride), n++)
    WALK_SAMPLES(data, width, lines, stride, 3, VISIT_24);
#undef VISIT_24
    *quarters += total;
    *samples += 3 * n;
}

static void chunk_score_16(const uint8_t *data, uint32_t width, uint32_t lines, size_t stride,
                           int64_t *quarters, uint64_t *samples)
{
    int64_t total = 0;
    uint64_t n = 0;
#define VISIT_16(p) (total += SAMPLE_QUARTERS(kind_16, p, 2, stride), n++)
    WALK_SAMPLES(data, width, lines, stride, 2, VISIT_16);
#undef VISIT_16
    *quarters += total;
    *samples += 3 * n;
}

#if defined(__SSE2__)
/*
 * 32-bit pixels, four samples at a time: one 8-byte load gives a pixel and
 * its right neighbour, another the two below. Instead of a kind per pair
 * it counts, over all pairs, the identical ones (S), the non-contrasting
 * ones (F) and the samples whose three pairs are identical (Z); a sample
 * scores 6 - 3 D + 5 C quarters (D differing, C contrasting pairs), or 0
 * when all are identical.
 */
typedef struct {
    __m128i same, soft, all_same; /* per-lane counts, negated (masks are -1) */
    uint64_t batches;
} Sse2Counts;

static inline __m128i absdiff_u8(__m128i a, __m128i b)
{
    return _mm_or_si128(_mm_subs_epu8(a, b), _mm_subs_epu8(b, a));
}

static inline __m128i load_two(const uint8_t *p0, const uint8_t *p1)
{
    return _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(const void *)p0),
                              _mm_loadl_epi64((const __m128i *)(const void *)p1));
}

/* Lanes 0 and 2 of @a and of @b (even), or lanes 1 and 3 (odd). */
static inline __m128i even_lanes(__m128i a, __m128i b)
{
    return _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b),
                                           _MM_SHUFFLE(2, 0, 2, 0)));
}

static inline __m128i odd_lanes(__m128i a, __m128i b)
{
    return _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b),
                                           _MM_SHUFFLE(3, 1, 3, 1)));
}

static inline void sse2_four_samples(Sse2Counts *c, const uint8_t *const s[4], size_t stride)
{
    const __m128i colour = _mm_set1_epi32(0x00ffffff);
    const __m128i below_contrast = _mm_set1_epi8(CONTRAST_8BIT - 1);
    const __m128i zero = _mm_setzero_si128();
    __m128i x01 = load_two(s[0], s[1]), x23 = load_two(s[2], s[3]);
    __m128i y01 = load_two(s[0] + stride, s[1] + stride);
    __m128i y23 = load_two(s[2] + stride, s[3] + stride);
    __m128i p = even_lanes(x01, x23), right = odd_lanes(x01, x23);
    __m128i below = even_lanes(y01, y23), below_right = odd_lanes(y01, y23);
    __m128i d1 = _mm_and_si128(absdiff_u8(p, right), colour);
    __m128i d2 = _mm_and_si128(absdiff_u8(p, below), colour);
    __m128i d3 = _mm_and_si128(absdiff_u8(p, below_right), colour);
    __m128i same1 = _mm_cmpeq_epi32(d1, zero);
    __m128i same2 = _mm_cmpeq_epi32(d2, zero);
    __m128i same3 = _mm_cmpeq_epi32(d3, zero);
    __m128i soft1 = _mm_cmpeq_epi32(_mm_subs_epu8(d1, below_contrast), zero);
    __m128i soft2 = _mm_cmpeq_epi32(_mm_subs_epu8(d2, below_contrast), zero);
    __m128i soft3 = _mm_cmpeq_epi32(_mm_subs_epu8(d3, below_contrast), zero);
    c->same = _mm_add_epi32(c->same, _mm_add_epi32(_mm_add_epi32(same1, same2), same3));
    c->soft = _mm_add_epi32(c->soft, _mm_add_epi32(_mm_add_epi32(soft1, soft2), soft3));
    c->all_same = _mm_add_epi32(c->all_same, _mm_and_si128(_mm_and_si128(same1, same2), same3));
    c->batches++;
}

static int64_t sse2_lane_sum(__m128i v)
{
    int32_t lanes[4];
    _mm_storeu_si128((__m128i *)(void *)lanes, v);
    return -((int64_t)lanes[0] + lanes[1] + lanes[2] + lanes[3]);
}
#endif

static void chunk_score_32(const uint8_t *data, uint32_t width, uint32_t lines, size_t stride,
                           int64_t *quarters, uint64_t *samples)
{
    int64_t total = 0;
    uint64_t n = 0;
#if defined(__SSE2__)
    Sse2Counts c = {_mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128(), 0};
    /* WALK_SAMPLES unrolled: four samples at a time while none of them can
     * be a line's last pixel, then one at a time to the end of the line. */
    uint32_t step = width % SAMPLE_STEP == 0 ? SAMPLE_STEP - 1 : SAMPLE_STEP;
    uint32_t x = width / 2;
    for (uint32_t y = 0; y < lines - 1;) {
        const uint8_t *line = data + y * stride;
        for (; (uint64_t)x + 3 * step < width - 1; x += 4 * step) {
            const uint8_t *p = line + (size_t)x * 4;
            const uint8_t *four[4] = {p, p + step * 4, p + step * 8, p + step * 12};
            sse2_four_samples(&c, four, stride);
        }
        for (; x < width; x += step) {
            if (x == width - 1) {
                x--;
            }
            total += SAMPLE_QUARTERS(kind_32, line + (size_t)x * 4, 4, stride);
            n++;
        }
        while (x >= width) {
            x -= width;
            y++;
        }
    }
    /* 12 pairs in 4 samples per batch. */
    int64_t pairs = 12 * (int64_t)c.batches;
    int64_t differing = pairs - sse2_lane_sum(c.same);
    int64_t contrasting = pairs - sse2_lane_sum(c.soft);
    int64_t all_same = sse2_lane_sum(c.all_same);
    total += 6 * 4 * (int64_t)c.batches - 3 * differing + 5 * contrasting - 6 * all_same;
    n += 4 * c.batches;
#else
#define VISIT_32(p) (total += SAMPLE_QUARTERS(kind_32, p, 4, stride), n++)
    WALK_SAMPLES(data, width, lines, stride, 4, VISIT_32);
#undef VISIT_32
#endif
    *quarters += total;
    *samples += 3 * n;
}

SvGraduality sv_bitmap_graduality(const SpiceBitmap *bitmap, gboolean measure_padded_stride,
                                  double *score_out)
{
    if (score_out) {
        *score_out = 0.0;
    }
    g_return_val_if_fail(bitmap != NULL, SV_GRADUALITY_NOT_AVAIL);

    unsigned bpp;
    void (*chunk_score)(const uint8_t *, uint32_t, uint32_t, size_t, int64_t *, uint64_t *);
    switch (bitmap->format) {
    case SPICE_BITMAP_FMT_16BIT:
        bpp = 2;
        chunk_score = chunk_score_16;
        break;
    case SPICE_BITMAP_FMT_24BIT:
        bpp = 3;
        chunk_score = chunk_score_24;
        break;
    case SPICE_BITMAP_FMT_32BIT:
    case SPICE_BITMAP_FMT_RGBA:
        bpp = 4;
        chunk_score = chunk_score_32;
        break;
    default:
        return SV_GRADUALITY_NOT_AVAIL;
    }
    const SpiceChunks *chunks = bitmap->data;
    if (chunks == NULL || (chunks->flags & SPICE_CHUNKS_FLAGS_UNSTABLE)) {
        return SV_GRADUALITY_NOT_AVAIL;
    }
    size_t line_bytes = (size_t)bitmap->x * bpp;
    size_t stride = line_bytes;
    if (line_bytes < bitmap->stride) {
        if (!measure_padded_stride) {
            return SV_GRADUALITY_NOT_AVAIL;
        }
        stride = bitmap->stride;
    }

    int64_t quarters = 0;
    uint64_t samples = 0;
    for (uint32_t i = 0; i < chunks->num_chunks; i++) {
        const SpiceChunk *chunk = &chunks->chunk[i];
        uint32_t lines = stride ? (uint32_t)(chunk->len / stride) : 0;
        /* With padding, the last line need not carry its padding. */
        if (stride != line_bytes && chunk->len % stride >= line_bytes) {
            lines++;
        }
        if (bitmap->x <= 1 || lines <= 1) {
            quarters += 4; /* 1.0 from 1 sample */
            samples += 1;
            continue;
        }
        chunk_score(chunk->data, bitmap->x, lines, stride, &quarters, &samples);
    }
    if (samples == 0) {
        return SV_GRADUALITY_LOW; /* no chunks: nothing smooth seen */
    }
    double average = (double)quarters / 4.0 / (double)samples;
    if (score_out) {
        *score_out = average;
    }
    double high = bitmap->format == SPICE_BITMAP_FMT_16BIT ? HIGH_THRESHOLD_16BIT : HIGH_THRESHOLD;
    if (average < high) {
        return SV_GRADUALITY_HIGH;
    }
    if (average < MEDIUM_THRESHOLD) {
        return SV_GRADUALITY_MEDIUM;
    }
    return SV_GRADUALITY_LOW;
}

const char *sv_graduality_to_string(SvGraduality level)
{
    switch (level) {
    case SV_GRADUALITY_INVALID:
        return "invalid";
    case SV_GRADUALITY_NOT_AVAIL:
        return "not-available";
    case SV_GRADUALITY_LOW:
        return "low";
    case SV_GRADUALITY_MEDIUM:
        return "medium";
    case SV_GRADUALITY_HIGH:
        return "high";
    }
    return "unknown";
}
