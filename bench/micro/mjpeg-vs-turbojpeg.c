/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Our MJPEG encoder, through the public VideoEncoder API with its quality
 * pinned, against a bare TurboJPEG tjCompress2() call with the same settings
 * (quality 70, 4:2:0, fast integer DCT, BGRx input, pre-allocated output), on
 * the same frames. The two are interleaved round by round so that frequency
 * scaling and cache state hit both alike; the median per-frame thread CPU
 * time of each is reported. docs/benchmarks.md explains the figures.
 *
 * Usage: mjpeg-vs-turbojpeg [ROUNDS]   (default 300; each round encodes one
 * frame with each encoder at each resolution)
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <turbojpeg.h>

#include <spice-video/encoders.h>

#define QUALITY 70
#define NUM_FRAMES 4 /* different frames, cycled */
#define WARMUP_ROUNDS 4
#define DEFAULT_ROUNDS 300
#define TARGET_SPEED_RATIO 0.95

typedef struct {
    int width;
    int height;
} Resolution;

static const Resolution resolutions[] = {
    {1280, 720},
    {1920, 1080},
};

/* Per-frame results of one encoder at one resolution. */
typedef struct {
    gint64 *ns;
    guint count;
    guint64 bytes;
} Samples;

static gint64 thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (gint64)ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
}

static guint8 clamp_u8(double v)
{
    return v <= 0.0 ? 0 : v >= 255.0 ? 255 : (guint8)(v + 0.5);
}

/* xorshift32: cheap deterministic noise. */
static guint32 next_random(guint32 *state)
{
    guint32 x = *state;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

/*
 * A BGRx frame that compresses like camera or desktop video: gradients, soft
 * coloured blobs, a band of fine detail (something for the entropy coder to
 * do) and sensor-like noise. Deterministic for a given seed.
 */
static guint8 *frame_new(int width, int height, guint32 seed)
{
    guint8 *frame = g_malloc((gsize)width * height * 4);
    GRand *rand = g_rand_new_with_seed(seed);
    double bx[5], by[5], bs[5], bc[5][3];
    double phase = g_rand_double_range(rand, 0.0, 2.0 * G_PI);
    guint32 noise = seed * 2654435761u + 1;

    for (int i = 0; i < 5; i++) {
        bx[i] = g_rand_double_range(rand, 0.0, width);
        by[i] = g_rand_double_range(rand, 0.0, height);
        bs[i] = g_rand_double_range(rand, 0.04, 0.12) * width;
        for (int c = 0; c < 3; c++) {
            bc[i][c] = g_rand_double_range(rand, 0.0, 255.0);
        }
    }
    g_rand_free(rand);

    for (int y = 0; y < height; y++) {
        double v = (double)y / height;

        for (int x = 0; x < width; x++) {
            double u = (double)x / width;
            double rgb[3] = {
                40.0 + 170.0 * u + 20.0 * sin(6.0 * v + phase),
                50.0 + 150.0 * v,
                200.0 - 140.0 * (0.5 * u + 0.5 * v),
            };
            guint8 *px = frame + ((gsize)y * width + x) * 4;

            for (int i = 0; i < 5; i++) {
                double dx = x - bx[i], dy = y - by[i];
                double a = 0.7 * exp(-(dx * dx + dy * dy) / (2.0 * bs[i] * bs[i]));

                for (int c = 0; c < 3; c++) {
                    rgb[c] = rgb[c] * (1.0 - a) + bc[i][c] * a;
                }
            }
            /* Fine detail in the middle third, like text or foliage. */
            if (v > 0.33 && v < 0.66) {
                double detail = 25.0 * sin(0.9 * x + phase) * sin(0.7 * y);

                for (int c = 0; c < 3; c++) {
                    rgb[c] += detail;
                }
            }
            for (int c = 0; c < 3; c++) {
                rgb[c] += (double)(next_random(&noise) % 9) - 4.0;
            }
            px[0] = clamp_u8(rgb[2]);
            px[1] = clamp_u8(rgb[1]);
            px[2] = clamp_u8(rgb[0]);
            px[3] = 0xff;
        }
    }
    return frame;
}

static int compare_i64(const void *a, const void *b)
{
    gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;

    return (x > y) - (x < y);
}

static double median_ns(Samples *s)
{
    qsort(s->ns, s->count, sizeof(gint64), compare_i64);
    if (s->count % 2) {
        return (double)s->ns[s->count / 2];
    }
    return ((double)s->ns[s->count / 2 - 1] + (double)s->ns[s->count / 2]) / 2.0;
}

/* Our encoder never drops with a fixed quality; the clock is virtual anyway
 * so that nothing depends on the machine's pace. */
static gint64 virtual_now(void *opaque)
{
    gint64 *now = opaque;

    *now += G_GINT64_CONSTANT(1000000000);
    return *now;
}

typedef struct {
    VideoEncoder *encoder;
    SpiceBitmap bitmap;
    SpiceChunks *chunks;
} Ours;

static gboolean ours_encode(Ours *ours, const guint8 *frame, const Resolution *res,
                            Samples *samples, VideoBuffer **keep)
{
    const SpiceRect src = {0, 0, res->width, res->height};
    VideoBuffer *buf = NULL;
    VideoEncodeResults result;
    gint64 start, end;

    ours->chunks->chunk[0].data = (uint8_t *)frame;
    start = thread_cpu_ns();
    result = ours->encoder->encode_frame(ours->encoder, 0, &ours->bitmap, &src, 1, NULL, &buf);
    end = thread_cpu_ns();
    if (result != VIDEO_ENCODER_FRAME_ENCODE_DONE) {
        fprintf(stderr, "mjpeg-vs-turbojpeg: our encoder returned %d\n", result);
        return FALSE;
    }
    if (samples != NULL) {
        samples->ns[samples->count++] = end - start;
        samples->bytes += buf->size;
    }
    /* Freeing happens later in a server (after the send): not timed. */
    if (keep != NULL && *keep == NULL) {
        *keep = buf;
    } else {
        buf->free(buf);
    }
    return TRUE;
}

static gboolean turbo_encode(tjhandle tj, const guint8 *frame, const Resolution *res, guint8 *out,
                             unsigned long out_capacity, Samples *samples, unsigned long *size)
{
    unsigned char *dst = out;
    unsigned long dst_size = out_capacity;
    gint64 start, end;
    int rc;

    start = thread_cpu_ns();
    rc = tjCompress2(tj, frame, res->width, res->width * 4, res->height, TJPF_BGRX, &dst, &dst_size,
                     TJSAMP_420, QUALITY, TJFLAG_FASTDCT | TJFLAG_NOREALLOC);
    end = thread_cpu_ns();
    if (rc != 0) {
        fprintf(stderr, "mjpeg-vs-turbojpeg: tjCompress2: %s\n", tjGetErrorStr2(tj));
        return FALSE;
    }
    if (samples != NULL) {
        samples->ns[samples->count++] = end - start;
        samples->bytes += dst_size;
    }
    if (size != NULL) {
        *size = dst_size;
    }
    return TRUE;
}

/* Our frame must be a 4:2:0 JPEG of the right size, or the timing means
 * nothing. */
static gboolean check_ours(const VideoBuffer *buf, const Resolution *res)
{
    tjhandle tj = tjInitDecompress();
    int w = 0, h = 0, subsamp = -1, colorspace = -1;
    gboolean ok =
        tj != NULL &&
        tjDecompressHeader3(tj, buf->data, buf->size, &w, &h, &subsamp, &colorspace) == 0 &&
        w == res->width && h == res->height && subsamp == TJSAMP_420;

    if (tj != NULL) {
        tjDestroy(tj);
    }
    if (!ok) {
        fprintf(stderr, "mjpeg-vs-turbojpeg: our output is not a %dx%d 4:2:0 JPEG\n", res->width,
                res->height);
    }
    return ok;
}

static void print_line(const char *name, double med_ns, const Resolution *res, const Samples *s)
{
    double pixels = (double)res->width * res->height;

    printf("  %-10s %8.1f fps %8.1f Mpixel/s   median %6.3f ms   mean size %8.0f bytes\n", name,
           1e9 / med_ns, pixels / med_ns * 1e3, med_ns / 1e6, (double)s->bytes / s->count);
}

static gboolean run_resolution(const Resolution *res, guint rounds)
{
    VideoEncoderRateControlCbs cbs = {0};
    gint64 now = 0;
    SvEncoderConfig config = {
        .clock = {.now_ns = virtual_now, .opaque = &now},
        .fixed_quality = QUALITY,
    };
    guint8 *frames[NUM_FRAMES];
    Ours ours = {0};
    tjhandle tj = tjInitCompress();
    unsigned long capacity = tjBufSize(res->width, res->height, TJSAMP_420);
    guint8 *out = tjAlloc((int)capacity);
    Samples s_ours = {g_new(gint64, rounds), 0, 0};
    Samples s_turbo = {g_new(gint64, rounds), 0, 0};
    VideoBuffer *first = NULL;
    unsigned long turbo_size = 0;
    gboolean identical, ok = FALSE;
    double med_ours, med_turbo;

    for (guint i = 0; i < NUM_FRAMES; i++) {
        frames[i] = frame_new(res->width, res->height, 1 + i);
    }
    ours.encoder =
        sv_mjpeg_encoder_new_full(SPICE_VIDEO_CODEC_TYPE_MJPEG, G_GUINT64_CONSTANT(100000000), &cbs,
                                  NULL, NULL, &config);
    if (ours.encoder == NULL || tj == NULL || out == NULL) {
        fprintf(stderr, "mjpeg-vs-turbojpeg: cannot create the encoders\n");
        goto out;
    }
    ours.chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    ours.chunks->num_chunks = 1;
    ours.chunks->data_size = (uint32_t)res->width * res->height * 4;
    ours.chunks->chunk[0].len = ours.chunks->data_size;
    ours.bitmap.format = SPICE_BITMAP_FMT_32BIT;
    ours.bitmap.flags = SPICE_BITMAP_FLAGS_TOP_DOWN;
    ours.bitmap.x = (uint32_t)res->width;
    ours.bitmap.y = (uint32_t)res->height;
    ours.bitmap.stride = (uint32_t)res->width * 4;
    ours.bitmap.data = ours.chunks;

    /* Warm-up (caches, lazily built tables, our buffer-size guess), and one
     * frame of each kept for the checks. */
    if (!ours_encode(&ours, frames[0], res, NULL, &first) ||
        !turbo_encode(tj, frames[0], res, out, capacity, NULL, &turbo_size) ||
        !check_ours(first, res)) {
        goto out;
    }
    identical = first->size == turbo_size && memcmp(first->data, out, turbo_size) == 0;
    for (guint r = 0; r < WARMUP_ROUNDS; r++) {
        if (!ours_encode(&ours, frames[r % NUM_FRAMES], res, NULL, NULL) ||
            !turbo_encode(tj, frames[r % NUM_FRAMES], res, out, capacity, NULL, NULL)) {
            goto out;
        }
    }

    /* Alternate which one goes first so neither always inherits the
     * other's cache state. */
    for (guint r = 0; r < rounds; r++) {
        const guint8 *frame = frames[r % NUM_FRAMES];
        gboolean round_ok;

        if (r % 2 == 0) {
            round_ok = ours_encode(&ours, frame, res, &s_ours, NULL) &&
                       turbo_encode(tj, frame, res, out, capacity, &s_turbo, NULL);
        } else {
            round_ok = turbo_encode(tj, frame, res, out, capacity, &s_turbo, NULL) &&
                       ours_encode(&ours, frame, res, &s_ours, NULL);
        }
        if (!round_ok) {
            goto out;
        }
    }

    med_ours = median_ns(&s_ours);
    med_turbo = median_ns(&s_turbo);
    printf("%dx%d (%u rounds, %d frames cycled):\n", res->width, res->height, rounds, NUM_FRAMES);
    print_line("ours", med_ours, res, &s_ours);
    print_line("turbojpeg", med_turbo, res, &s_turbo);
    printf("  speed ratio ours/turbojpeg %.3f (target >= %.2f: %s)\n", med_turbo / med_ours,
           TARGET_SPEED_RATIO, med_turbo / med_ours >= TARGET_SPEED_RATIO ? "met" : "NOT met");
    printf("  size ratio ours/turbojpeg  %.4f (first frame byte-identical: %s)\n",
           (double)s_ours.bytes / (double)s_turbo.bytes, identical ? "yes" : "no");
    ok = TRUE;

out:
    if (first != NULL) {
        first->free(first);
    }
    if (ours.encoder != NULL) {
        ours.encoder->destroy(ours.encoder);
    }
    g_free(ours.chunks);
    if (tj != NULL) {
        tjDestroy(tj);
    }
    tjFree(out);
    g_free(s_ours.ns);
    g_free(s_turbo.ns);
    for (guint i = 0; i < NUM_FRAMES; i++) {
        g_free(frames[i]);
    }
    return ok;
}

int main(int argc, char **argv)
{
    guint64 rounds = DEFAULT_ROUNDS;

    if (argc > 1 && (!g_ascii_string_to_unsigned(argv[1], 10, 1, 100000, &rounds, NULL))) {
        fprintf(stderr, "usage: %s [ROUNDS]  (1..100000, default %d)\n", argv[0], DEFAULT_ROUNDS);
        return 2;
    }
    printf("mjpeg-vs-turbojpeg: quality %d, 4:2:0, fast integer DCT, BGRx top-down, "
           "median thread CPU time per frame\n",
           QUALITY);
    for (guint i = 0; i < G_N_ELEMENTS(resolutions); i++) {
        if (!run_resolution(&resolutions[i], (guint)rounds)) {
            return 1;
        }
    }
    return 0;
}
