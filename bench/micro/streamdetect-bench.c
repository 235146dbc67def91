/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Stream detector throughput: a long synthetic sequence (a 25 fps video
 * chain replacing itself, 512x13 text strips drawn and rendered, solid
 * fills) through the detector without graduality, in drawables/s; and the
 * graduality test on 1080p frames, in tests/s and ms per test.
 * Targets (issue 4): >= 5 M drawables/s, < 0.2 ms per 1080p test.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <spice/qxl_dev.h>
#include <spice-video/streamdetect.h>

#define MS INT64_C(1000000)
#define POOL 64
#define FHD_W 1920
#define FHD_H 1080
#define COLD_FRAMES 8 /* 8 x 8 MB: more than the L3 cache */

static double now_s(void)
{
    return (double)g_get_monotonic_time() / 1e6;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static SpiceRect rect(int x, int y, int w, int h)
{
    return (SpiceRect){x, y, x + w, y + h};
}

typedef struct {
    guint created, attached, detached, stopped;
} Counts;

static void count(Counts *c, const SvStreamDecision *dec, guint n)
{
    for (guint i = 0; i < n; i++) {
        switch (dec[i].kind) {
        case SV_STREAM_DECISION_CREATED:
            c->created++;
            break;
        case SV_STREAM_DECISION_ATTACHED:
            c->attached++;
            break;
        case SV_STREAM_DECISION_DETACHED:
            c->detached++;
            break;
        case SV_STREAM_DECISION_STOPPED:
            c->stopped++;
            break;
        }
    }
}

/*
 * One drawable every 10 ms: each 4th a 640x360 video frame (REPLACED by
 * the next), the others alternately a 512x13 text strip (added, rendered
 * and released at once) and a fill. With @bitmap NULL the video frames
 * carry no pixels, so FILTER mode grades them NOT_AVAIL without sampling.
 */
static void run_sequence(SvStreamingMode mode, const SpiceBitmap *bitmap, guint n)
{
    SvStreamDetectorConfig config;
    sv_stream_detector_config_init(&config);
    config.mode = mode;
    g_autoptr(GError) error = NULL;
    g_autoptr(SvStreamDetector) det = sv_stream_detector_new(&config, &error);
    g_assert_no_error(error);
    SvStreamDetectorDrawable *pool = g_new0(SvStreamDetectorDrawable, POOL);
    SvStreamDetectorDrawable *video_prev = NULL;
    Counts counts = {0};
    const SvStreamDecision *dec = NULL;
    int64_t t = 0;
    guint slot = 0;

    double start = now_s();
    for (guint i = 0; i < n; i++, t += 10 * MS) {
        SvStreamDetectorDrawable *d = &pool[slot];
        slot = (slot + 1) % POOL;
        if (d == video_prev) {
            d = &pool[slot];
            slot = (slot + 1) % POOL;
        }
        count(&counts, dec, sv_stream_detector_release(det, d, &dec));
        switch (i % 4) {
        case 0: {
            *d = (SvStreamDetectorDrawable){
                .creation_time_ns = t,
                .bbox = rect(192, 204, 640, 360),
                .type = QXL_DRAW_COPY,
                .effect = QXL_EFFECT_OPAQUE,
                .rop_descriptor = SPICE_ROPD_OP_PUT,
                .source_type = SV_SOURCE_BITMAP,
                .src_area = rect(0, 0, 640, 360),
                .bitmap = bitmap,
            };
            SvStreamPredecessor p = {video_prev, SV_PREDECESSOR_REPLACED};
            count(&counts, dec, sv_stream_detector_add(det, d, &p, video_prev ? 1 : 0, &dec));
            if (video_prev) {
                count(&counts, dec, sv_stream_detector_release(det, video_prev, &dec));
            }
            video_prev = d;
            break;
        }
        case 1:
        case 3:
            *d = (SvStreamDetectorDrawable){
                .creation_time_ns = t,
                .bbox = rect(0, (int)(i % 59) * 13, 512, 13),
                .type = QXL_DRAW_COPY,
                .effect = QXL_EFFECT_OPAQUE,
                .rop_descriptor = SPICE_ROPD_OP_PUT,
                .source_type = SV_SOURCE_BITMAP,
                .src_area = rect(0, 0, 512, 13),
            };
            count(&counts, dec, sv_stream_detector_add(det, d, NULL, 0, &dec));
            sv_stream_detector_remove(det, d);
            break;
        case 2:
            *d = (SvStreamDetectorDrawable){
                .creation_time_ns = t,
                .bbox = rect(900, (int)(i % 50) * 10, 100, 10),
                .type = QXL_DRAW_FILL,
                .effect = QXL_EFFECT_OPAQUE,
                .rop_descriptor = SPICE_ROPD_OP_PUT,
                .source_type = SV_SOURCE_NONE,
            };
            count(&counts, dec, sv_stream_detector_add(det, d, NULL, 0, &dec));
            break;
        }
        if (i % 64 == 0) {
            count(&counts, dec, sv_stream_detector_tick(det, t, &dec));
        }
    }
    double elapsed = now_s() - start;
    printf("detector, %s mode%s: %u drawables in %.3f s = %.2f M drawables/s "
           "(streams created %u, frames attached %u, detached %u, stopped %u)\n",
           mode == SV_STREAMING_MODE_ALL ? "all" : "filter",
           bitmap ? "" : ", video frames without pixels (graduality not sampled)", n, elapsed,
           n / elapsed / 1e6, counts.created, counts.attached, counts.detached, counts.stopped);
    for (guint i = 0; i < POOL; i++) {
        sv_stream_detector_release(det, &pool[i], NULL);
    }
    g_free(pool);
}

/* A photo-like 1080p BGRX frame: gradients, soft waves, a little noise. */
static uint8_t *make_frame(guint seed)
{
    uint8_t *pixels = g_malloc((size_t)FHD_W * FHD_H * 4);
    GRand *rand = g_rand_new_with_seed(seed);
    for (int y = 0; y < FHD_H; y++) {
        for (int x = 0; x < FHD_W; x++) {
            uint8_t *p = pixels + ((size_t)y * FHD_W + x) * 4;
            int noise = g_rand_int_range(rand, 0, 3);
            p[0] = (uint8_t)((x / 8 + seed) & 0xff);
            p[1] = (uint8_t)((y / 5 + noise) & 0xff);
            p[2] = (uint8_t)(((x + y) / 9) & 0xff);
            p[3] = 0;
        }
    }
    g_rand_free(rand);
    return pixels;
}

static SpiceChunks *make_chunks(uint8_t *pixels, guint n_chunks)
{
    SpiceChunks *chunks = g_malloc0(sizeof(SpiceChunks) + n_chunks * sizeof(SpiceChunk));
    uint32_t line = FHD_W * 4, lines_per = FHD_H / n_chunks;
    chunks->num_chunks = n_chunks;
    chunks->data_size = line * FHD_H;
    for (guint i = 0; i < n_chunks; i++) {
        uint32_t lines = i + 1 == n_chunks ? FHD_H - i * lines_per : lines_per;
        chunks->chunk[i] = (SpiceChunk){pixels + (size_t)i * lines_per * line, lines * line};
    }
    return chunks;
}

static void bench_graduality(void)
{
    uint8_t *frames[COLD_FRAMES];
    SpiceChunks *chunks[COLD_FRAMES];
    SpiceBitmap bitmaps[COLD_FRAMES];
    for (guint i = 0; i < COLD_FRAMES; i++) {
        frames[i] = make_frame(i);
        chunks[i] = make_chunks(frames[i], i % 2 ? 4 : 1);
        bitmaps[i] = (SpiceBitmap){.format = SPICE_BITMAP_FMT_32BIT,
                                   .flags = SPICE_BITMAP_FLAGS_TOP_DOWN,
                                   .x = FHD_W,
                                   .y = FHD_H,
                                   .stride = FHD_W * 4,
                                   .data = chunks[i]};
    }
    double score = 0;
    SvGraduality level = sv_bitmap_graduality(&bitmaps[0], FALSE, &score);
    printf("graduality of the synthetic 1080p frame: %s (score %.4f)\n",
           sv_graduality_to_string(level), score);

    /* Wall time over all runs, and the best single run in thread CPU time
     * (the least disturbed by other processes on a shared machine). */
    const guint runs = 2000;
    for (int cold = 0; cold <= 1; cold++) {
        guint high = 0;
        double best = G_MAXDOUBLE;
        double start = now_s();
        for (guint r = 0; r < runs; r++) {
            const SpiceBitmap *b = &bitmaps[cold ? r % COLD_FRAMES : 0];
            double t0 = thread_cpu_s();
            high += sv_bitmap_graduality(b, FALSE, NULL) == SV_GRADUALITY_HIGH;
            best = MIN(best, thread_cpu_s() - t0);
        }
        double elapsed = now_s() - start;
        printf("graduality, 1080p 32-bit, %s: %u tests in %.3f s = %.0f tests/s, %.4f ms per "
               "test, best %.4f ms (%u HIGH)\n",
               cold ? "8 frames in turn (64 MB, beyond L3)" : "same frame (cache-warm)", runs,
               elapsed, runs / elapsed, elapsed / runs * 1e3, best * 1e3, high);
    }
    /* The floor: samples 14-15 pixels (56-60 bytes) apart touch every
     * 64-byte cache line of the frame, so a test cannot be faster than
     * reading the whole frame once. */
    for (int cold = 0; cold <= 1; cold++) {
        volatile uint8_t sink = 0;
        double best = G_MAXDOUBLE;
        double start = now_s();
        for (guint r = 0; r < runs; r++) {
            const uint8_t *f = frames[cold ? r % COLD_FRAMES : 0];
            double t0 = thread_cpu_s();
            uint8_t acc = 0;
            for (size_t o = 0; o < (size_t)FHD_W * FHD_H * 4; o += 64) {
                acc ^= f[o];
            }
            sink ^= acc;
            best = MIN(best, thread_cpu_s() - t0);
        }
        double elapsed = now_s() - start;
        printf("memory floor, one byte per 64-byte line of a 1080p frame, %s: %.4f ms per frame, "
               "best %.4f ms\n",
               cold ? "8 frames in turn" : "same frame", elapsed / runs * 1e3, best * 1e3);
    }
    for (guint i = 0; i < COLD_FRAMES; i++) {
        g_free(chunks[i]);
        g_free(frames[i]);
    }
}

int main(int argc, char **argv)
{
    guint n = argc > 1 ? (guint)strtoul(argv[1], NULL, 10) : 20000000;
    if (n == 0) {
        fprintf(stderr, "usage: %s [drawables]\n", argv[0]);
        return 2;
    }
    run_sequence(SV_STREAMING_MODE_ALL, NULL, n);
    run_sequence(SV_STREAMING_MODE_FILTER, NULL, n);
    bench_graduality();
    return 0;
}
