/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The GStreamer encoders against the native ones for the same codec, both
 * through the public factories with rate control off and the same settings
 * where the GStreamer encoder's option table lets us say them: H.264
 * (gstreamer:h264 vs x264:h264, 600 kbit/s) and VP8 (gstreamer:vp8 vs
 * vpx:vp8, 4 Mbit/s) at 720p, at rates where both sides code the same bits;
 * BGRx frames panning over a natural-looking picture. Frames go to both
 * alternately; encode_frame() returns once the frame is compressed, so its
 * wall-clock time is the push-to-output latency. Reported: throughput
 * ratio gst/native (target >= 0.90) and the added median latency gst -
 * native (target <= 0.5 ms). docs/benchmarks.md explains the figures.
 *
 * Usage: gst-vs-native [FRAMES]   (default 200 per side and codec)
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include <spice-video/registry.h>

#define DEFAULT_FRAMES 200
#define WARMUP_FRAMES 10
#define FPS 30
#define WIDTH 1280
#define HEIGHT 720
#define TARGET_THROUGHPUT_RATIO 0.90
#define TARGET_ADDED_LATENCY_MS 0.5
#define PAN_MARGIN 128

typedef struct {
    const char *codec_name; /* registry name */
    SpiceVideoCodecType type;
    /* Where both sides do the same work: the compressed sizes agree. */
    uint64_t bit_rate_bps;
    /* What both sides should be told, as name=value; entries the GStreamer
     * encoder's table lacks are left out on both sides. */
    const char *const *wanted;
    VideoEncoder *(*native_new)(SpiceVideoCodecType, uint64_t, VideoEncoderRateControlCbs *,
                                bitmap_ref_t, bitmap_unref_t, const SvEncoderConfig *);
    const SvEncoderOption *(*native_options)(void);
} CodecCase;

static const char *const h264_wanted[] = {"preset=ultrafast", "threads=1", "intra-refresh=false",
                                          NULL};
/* keyint=128: the GStreamer side's keyint=0 means vp8enc's default
 * keyframe-max-dist (128, what spice-server runs with, reference 4.2), the
 * native side's means no periodic key frame; say it on both so that both
 * code the same key frames. */
static const char *const vp8_wanted[] = {"cpu-used=16", "threads=1", "keyint=128", NULL};

static const SvEncoderOption *x264_options(void)
{
    const SvEncoderDesc *desc = sv_registry_find("x264", "h264");
    return desc != NULL ? desc->options : NULL;
}

static const SvEncoderOption *vp8_options(void)
{
    const SvEncoderDesc *desc = sv_registry_find("vpx", "vp8");
    return desc != NULL ? desc->options : NULL;
}

static const CodecCase cases[] = {
    /* 600 kbit/s: at more, spice's qp-min=15 for x264enc binds on this
     * content and the GStreamer side codes a fifth of the native side's
     * bits (2.7 against 14 KB a frame at 4 Mbit/s), i.e. less work. */
    {"h264", SPICE_VIDEO_CODEC_TYPE_H264, 600000, h264_wanted, sv_x264_encoder_new_full,
     x264_options},
    {"vp8", SPICE_VIDEO_CODEC_TYPE_VP8, 4000000, vp8_wanted, sv_vpx_encoder_new_full, vp8_options},
};

static gint64 wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gint64)ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
}

/* CPU time of every thread of the process: the encoders' own threads count,
 * time spent waiting for the CPU on a loaded machine does not. */
static gint64 process_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (gint64)ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
}

/* A picture with gradients and texture, larger than the view, BGRx. */
static guint8 *scene_new(int w, int h)
{
    guint8 *scene = g_malloc((gsize)w * h * 4);
    guint32 noise = 88172645u;

    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            double u = (double)x / w, v = (double)y / h;
            double detail = 14.0 * sin(0.31 * x + 2.0 * sin(0.05 * y)) * sin(0.23 * y) +
                            40.0 * sin(5.0 * u) * cos(4.0 * v);
            guint8 *px = scene + ((gsize)y * w + x) * 4;

            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            double grain = (double)(noise % 7) - 3.0;
            double rgb[3] = {60.0 + 150.0 * u, 50.0 + 140.0 * v, 190.0 - 70.0 * (u + v)};
            for (int c = 0; c < 3; c++) {
                double value = rgb[c] + detail + grain;
                px[2 - c] = value <= 0.0 ? 0 : value >= 255.0 ? 255 : (guint8)value;
            }
            px[3] = 0xff;
        }
    }
    return scene;
}

static void scene_view(const guint8 *scene, int t, guint8 *frame)
{
    int sw = WIDTH + PAN_MARGIN;
    int ox = (int)(PAN_MARGIN / 2 + (PAN_MARGIN / 2 - 1) * sin(t * 0.03));
    int oy = (int)(PAN_MARGIN / 2 + (PAN_MARGIN / 2 - 1) * sin(t * 0.02 + 1.0));

    for (int y = 0; y < HEIGHT; y++) {
        memcpy(frame + (gsize)y * WIDTH * 4, scene + ((gsize)(y + oy) * sw + ox) * 4,
               (gsize)WIDTH * 4);
    }
}

typedef struct {
    gint64 *ns;
    guint count;
    gint64 total_ns;
    gint64 cpu_ns;
    guint64 bytes;
} Samples;

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

typedef struct {
    VideoEncoder *encoder;
    uint32_t mm_time;
} Side;

static gboolean side_encode(Side *side, SpiceBitmap *bitmap, Samples *samples)
{
    const SpiceRect src = {0, 0, WIDTH, HEIGHT};
    VideoBuffer *buf = NULL;
    gint64 start, end, cpu_start;
    VideoEncodeResults result;

    side->mm_time += 1000 / FPS;
    cpu_start = process_cpu_ns();
    start = wall_ns();
    result = side->encoder->encode_frame(side->encoder, side->mm_time, bitmap, &src, 1, NULL, &buf);
    end = wall_ns();
    if (result != VIDEO_ENCODER_FRAME_ENCODE_DONE) {
        fprintf(stderr, "gst-vs-native: encode_frame returned %d\n", result);
        return FALSE;
    }
    if (samples != NULL) {
        samples->ns[samples->count++] = end - start;
        samples->total_ns += end - start;
        samples->cpu_ns += process_cpu_ns() - cpu_start;
        samples->bytes += buf->size;
    }
    buf->free(buf);
    return TRUE;
}

/* The options of @wanted that @table knows, joined with ','. */
static char *common_options(const SvEncoderOption *table, const char *const *wanted)
{
    GString *out = g_string_new(NULL);
    int values[SV_MAX_ENCODER_OPTIONS];

    for (guint i = 0; wanted[i] != NULL; i++) {
        if (table != NULL && sv_encoder_options_parse(table, wanted[i], values, NULL)) {
            g_string_append_printf(out, "%s%s", out->len > 0 ? "," : "", wanted[i]);
        }
    }
    return g_string_free(out, FALSE);
}

static gboolean run_case(const CodecCase *c, const guint8 *scene, guint n_frames)
{
    const SvEncoderDesc *gst_desc = sv_registry_find("gstreamer", c->codec_name);
    VideoEncoderRateControlCbs cbs = {0};
    g_autofree char *options =
        common_options(gst_desc != NULL ? gst_desc->options : NULL, c->wanted);
    g_autofree char *native_only = NULL;
    SvEncoderConfig config = {.no_rate_control = TRUE, .options = options};
    Side gst = {0}, native = {0};
    Samples s_gst = {g_new(gint64, n_frames), 0, 0, 0, 0};
    Samples s_native = {g_new(gint64, n_frames), 0, 0, 0, 0};
    guint8 *frame = g_malloc((gsize)WIDTH * HEIGHT * 4);
    SpiceChunks *chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    SpiceBitmap bitmap = {0};
    gboolean ok = FALSE;

    gst.encoder =
        sv_gstreamer_encoder_new_full(c->type, c->bit_rate_bps, &cbs, NULL, NULL, &config);
    if (gst.encoder == NULL) {
        printf("skipped: gstreamer:%s not available\n", c->codec_name);
        ok = TRUE;
        goto out;
    }
    /* The native side gets exactly what the GStreamer side was told;
     * where the GStreamer encoder had no such option, the native encoder
     * still runs single-threaded at its real-time defaults. */
    native_only = common_options(c->native_options(), c->wanted);
    config.options = options[0] != '\0' ? options : native_only;
    native.encoder = c->native_new(c->type, c->bit_rate_bps, &cbs, NULL, NULL, &config);
    if (native.encoder == NULL) {
        printf("skipped: native %s encoder not available\n", c->codec_name);
        ok = TRUE;
        goto out;
    }
    printf("%s %dx%d at %d kbit/s, %u frames, options gstreamer '%s', native '%s':\n",
           c->codec_name, WIDTH, HEIGHT, (int)(c->bit_rate_bps / 1000), n_frames, options,
           config.options != NULL ? config.options : "");

    chunks->num_chunks = 1;
    chunks->data_size = (uint32_t)WIDTH * HEIGHT * 4;
    chunks->chunk[0].len = chunks->data_size;
    chunks->chunk[0].data = frame;
    bitmap.format = SPICE_BITMAP_FMT_32BIT;
    bitmap.flags = SPICE_BITMAP_FLAGS_TOP_DOWN;
    bitmap.x = WIDTH;
    bitmap.y = HEIGHT;
    bitmap.stride = WIDTH * 4;
    bitmap.data = chunks;

    for (guint t = 0; t < WARMUP_FRAMES + n_frames; t++) {
        gboolean measure = t >= WARMUP_FRAMES;
        gboolean round_ok;

        scene_view(scene, (int)t, frame);
        if (t % 2 == 0) {
            round_ok = side_encode(&gst, &bitmap, measure ? &s_gst : NULL) &&
                       side_encode(&native, &bitmap, measure ? &s_native : NULL);
        } else {
            round_ok = side_encode(&native, &bitmap, measure ? &s_native : NULL) &&
                       side_encode(&gst, &bitmap, measure ? &s_gst : NULL);
        }
        if (!round_ok) {
            goto out;
        }
    }
    double fps_gst = s_gst.count * 1e9 / (double)s_gst.total_ns;
    double fps_native = s_native.count * 1e9 / (double)s_native.total_ns;
    double cpu_ratio = (double)s_native.cpu_ns / (double)MAX(s_gst.cpu_ns, 1);
    double med_gst = median_ns(&s_gst) / 1e6, med_native = median_ns(&s_native) / 1e6;
    printf("  gstreamer %7.1f fps   median latency %7.3f ms   mean size %8.0f bytes\n", fps_gst,
           med_gst, (double)s_gst.bytes / s_gst.count);
    printf("  native    %7.1f fps   median latency %7.3f ms   mean size %8.0f bytes\n", fps_native,
           med_native, (double)s_native.bytes / s_native.count);
    printf("  throughput ratio gst/native %.3f (target >= %.2f: %s); on CPU time %.3f\n",
           fps_gst / fps_native, TARGET_THROUGHPUT_RATIO,
           fps_gst / fps_native >= TARGET_THROUGHPUT_RATIO ? "met" : "NOT met", cpu_ratio);
    printf("  added median latency gst - native %+.3f ms (target <= %.1f ms: %s)\n",
           med_gst - med_native, TARGET_ADDED_LATENCY_MS,
           med_gst - med_native <= TARGET_ADDED_LATENCY_MS ? "met" : "NOT met");
    ok = TRUE;

out:
    if (gst.encoder != NULL) {
        gst.encoder->destroy(gst.encoder);
    }
    if (native.encoder != NULL) {
        native.encoder->destroy(native.encoder);
    }
    g_free(chunks);
    g_free(frame);
    g_free(s_gst.ns);
    g_free(s_native.ns);
    return ok;
}

int main(int argc, char **argv)
{
    guint64 n_frames = DEFAULT_FRAMES;
    guint8 *scene;
    gboolean ok = TRUE;

    if (argc > 1 && !g_ascii_string_to_unsigned(argv[1], 10, 1, 100000, &n_frames, NULL)) {
        fprintf(stderr, "usage: %s [FRAMES]  (1..100000, default %d)\n", argv[0], DEFAULT_FRAMES);
        return 2;
    }
    printf("gst-vs-native: BGRx top-down, rate control off, %d fps, wall clock per frame\n", FPS);
    scene = scene_new(WIDTH + PAN_MARGIN, HEIGHT + PAN_MARGIN);
    for (guint i = 0; i < G_N_ELEMENTS(cases) && ok; i++) {
        ok = run_case(&cases[i], scene, (guint)n_frames);
    }
    g_free(scene);
    return ok ? 0 : 1;
}
