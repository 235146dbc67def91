/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Our native encoders (x264:h264, vpx:vp8, vpx:vp9) through the public
 * factories, rate control off, fed 32-bit BGRx SPICE bitmaps, against the
 * bare library on the same frames with the same settings: libyuv
 * ARGBToI420 then x264_encoder_encode() / vpx_codec_encode(), one thread,
 * x264 ultrafast, VP8 cpu-used 16, VP9 cpu-used 9. The two sides are
 * interleaved frame by frame; the figures are wall-clock throughput (the
 * frame encoder may run its backend on a thread of its own) and the median
 * per frame. The frames pan over a natural-looking picture (gradients, soft
 * blobs, texture) while the light changes, so that inter prediction has
 * real motion to find. docs/benchmarks.md explains the figures.
 *
 * Usage: native-vs-bare [FRAMES]   (default 120 per side and resolution)
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include <spice-video/encoders.h>

#if SV_HAVE_X264 || SV_HAVE_VPX
#include <libyuv.h>
#endif
#if SV_HAVE_X264
#include <x264.h>
#endif
#if SV_HAVE_VPX
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>
#endif

#define DEFAULT_FRAMES 120
#define WARMUP_FRAMES 5
#define FPS 30
#define TARGET_SPEED_RATIO 0.95
#define PAN_MARGIN 256 /* pixels the view may pan over the picture */

typedef struct {
    int width;
    int height;
    uint64_t bit_rate_bps;
} Resolution;

static const Resolution resolutions[] = {
    {1280, 720, 4000000},
    {1920, 1080, 8000000},
};

typedef enum {
    CODEC_X264,
    CODEC_VP8,
    CODEC_VP9
} Codec;

typedef struct {
    const char *name;
    Codec codec;
    SpiceVideoCodecType type;
    const char *options; /* ours; the bare side is set up the same way by hand */
    int cpu_used;
} CodecCase;

static const CodecCase cases[] = {
    {"x264:h264 (ultrafast)", CODEC_X264, SPICE_VIDEO_CODEC_TYPE_H264, "preset=ultrafast,threads=1",
     0},
    {"vpx:vp8 (cpu-used 16)", CODEC_VP8, SPICE_VIDEO_CODEC_TYPE_VP8, "cpu-used=16,threads=1", 16},
    {"vpx:vp9 (cpu-used 9)", CODEC_VP9, SPICE_VIDEO_CODEC_TYPE_VP9,
     "cpu-used=9,threads=1,tile-columns=0", 9},
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

static guint8 clamp_u8(double v)
{
    return v <= 0.0 ? 0 : v >= 255.0 ? 255 : (guint8)(v + 0.5);
}

/* ---- frames ------------------------------------------------------------------ */

/* The picture the view pans over: RGB, (width + margin) x (height + margin). */
typedef struct {
    guint8 *rgb;
    int width, height;
} Scene;

static Scene *scene_new(int view_w, int view_h)
{
    Scene *s = g_new0(Scene, 1);
    GRand *rand = g_rand_new_with_seed(42);
    double bx[6], by[6], bs[6], bc[6][3];
    guint32 noise = 2463534242u;

    s->width = view_w + PAN_MARGIN;
    s->height = view_h + PAN_MARGIN;
    s->rgb = g_malloc((gsize)s->width * s->height * 3);
    for (int i = 0; i < 6; i++) {
        bx[i] = g_rand_double_range(rand, 0.0, s->width);
        by[i] = g_rand_double_range(rand, 0.0, s->height);
        bs[i] = g_rand_double_range(rand, 0.04, 0.12) * s->width;
        for (int c = 0; c < 3; c++) {
            bc[i][c] = g_rand_double_range(rand, 0.0, 255.0);
        }
    }
    g_rand_free(rand);
    for (int y = 0; y < s->height; y++) {
        double v = (double)y / s->height;
        for (int x = 0; x < s->width; x++) {
            double u = (double)x / s->width;
            double rgb[3] = {40.0 + 170.0 * u, 50.0 + 150.0 * v, 200.0 - 70.0 * (u + v)};
            guint8 *px = s->rgb + ((gsize)y * s->width + x) * 3;

            for (int i = 0; i < 6; i++) {
                double dx = x - bx[i], dy = y - by[i];
                double a = 0.7 * exp(-(dx * dx + dy * dy) / (2.0 * bs[i] * bs[i]));
                for (int c = 0; c < 3; c++) {
                    rgb[c] = rgb[c] * (1.0 - a) + bc[i][c] * a;
                }
            }
            /* Texture: foliage-like detail and a little grain. */
            double detail = 14.0 * sin(0.31 * x + 2.0 * sin(0.05 * y)) * sin(0.23 * y);
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            for (int c = 0; c < 3; c++) {
                px[c] = clamp_u8(rgb[c] + detail + (double)(noise % 7) - 3.0);
            }
        }
    }
    return s;
}

static void scene_free(Scene *s)
{
    g_free(s->rgb);
    g_free(s);
}

/* Frame @t into @bgrx (width x height, stride width * 4): the view pans
 * along a smooth path and a light gradient sweeps across it. */
static void scene_render(const Scene *s, int t, guint8 *bgrx, int width, int height)
{
    int ox = (int)(PAN_MARGIN / 2 + (PAN_MARGIN / 2 - 1) * sin(t * 0.021));
    int oy = (int)(PAN_MARGIN / 2 + (PAN_MARGIN / 2 - 1) * sin(t * 0.013 + 1.0));
    int light_x = (int)((t * 7) % (width * 2)) - width / 2;

    for (int y = 0; y < height; y++) {
        const guint8 *src = s->rgb + ((gsize)(y + oy) * s->width + ox) * 3;
        guint8 *dst = bgrx + (gsize)y * width * 4;
        for (int x = 0; x < width; x++) {
            int d = abs(x - light_x);
            int gain = d < 256 ? 24 - d / 11 : 0;
            dst[4 * x + 0] = (guint8)MIN(src[3 * x + 2] + gain, 255);
            dst[4 * x + 1] = (guint8)MIN(src[3 * x + 1] + gain, 255);
            dst[4 * x + 2] = (guint8)MIN(src[3 * x + 0] + gain, 255);
            dst[4 * x + 3] = 0xff;
        }
    }
}

/* ---- samples ----------------------------------------------------------------- */

typedef struct {
    gint64 *ns;
    guint count;
    gint64 total_ns;
    gint64 cpu_ns;
    guint64 bytes;
} Samples;

static void samples_add(Samples *s, gint64 ns, gint64 cpu_ns, guint64 bytes)
{
    s->ns[s->count++] = ns;
    s->total_ns += ns;
    s->cpu_ns += cpu_ns;
    s->bytes += bytes;
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

/* ---- ours: the public factory ------------------------------------------------ */

typedef struct {
    VideoEncoder *encoder;
    SpiceBitmap bitmap;
    SpiceChunks *chunks;
    uint32_t mm_time;
} Ours;

static gboolean ours_init(Ours *ours, const CodecCase *c, const Resolution *res)
{
    VideoEncoderRateControlCbs cbs = {0};
    SvEncoderConfig config = {
        .no_rate_control = TRUE,
        .options = c->options,
    };

    memset(ours, 0, sizeof(*ours));
    ours->encoder =
        c->codec == CODEC_X264
            ? sv_x264_encoder_new_full(c->type, res->bit_rate_bps, &cbs, NULL, NULL, &config)
            : sv_vpx_encoder_new_full(c->type, res->bit_rate_bps, &cbs, NULL, NULL, &config);
    if (ours->encoder == NULL) {
        return FALSE;
    }
    ours->chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    ours->chunks->num_chunks = 1;
    ours->chunks->data_size = (uint32_t)res->width * res->height * 4;
    ours->chunks->chunk[0].len = ours->chunks->data_size;
    ours->bitmap.format = SPICE_BITMAP_FMT_32BIT;
    ours->bitmap.flags = SPICE_BITMAP_FLAGS_TOP_DOWN;
    ours->bitmap.x = (uint32_t)res->width;
    ours->bitmap.y = (uint32_t)res->height;
    ours->bitmap.stride = (uint32_t)res->width * 4;
    ours->bitmap.data = ours->chunks;
    return TRUE;
}

static void ours_clear(Ours *ours)
{
    if (ours->encoder != NULL) {
        ours->encoder->destroy(ours->encoder);
    }
    g_free(ours->chunks);
    memset(ours, 0, sizeof(*ours));
}

static gboolean ours_encode(Ours *ours, const guint8 *bgrx, const Resolution *res, Samples *samples)
{
    const SpiceRect src = {0, 0, res->width, res->height};
    VideoBuffer *buf = NULL;
    VideoEncodeResults result;
    gint64 start, end, cpu_start;

    ours->chunks->chunk[0].data = (uint8_t *)bgrx;
    ours->mm_time += 1000 / FPS;
    cpu_start = process_cpu_ns();
    start = wall_ns();
    result = ours->encoder->encode_frame(ours->encoder, ours->mm_time, &ours->bitmap, &src, 1, NULL,
                                         &buf);
    end = wall_ns();
    if (result != VIDEO_ENCODER_FRAME_ENCODE_DONE) {
        fprintf(stderr, "native-vs-bare: our encoder returned %d\n", result);
        return FALSE;
    }
    if (samples != NULL) {
        samples_add(samples, end - start, process_cpu_ns() - cpu_start, buf->size);
    }
    /* A server frees after sending: not timed. */
    buf->free(buf);
    return TRUE;
}

/* ---- bare: the library itself ------------------------------------------------ */

typedef struct {
    Codec codec;
    int width, height;
    guint8 *planes[3];
    int strides[3];
    guint8 *out; /* where the frame is assembled, as any user must */
    gsize out_capacity;
#if SV_HAVE_X264
    x264_t *x264;
#endif
#if SV_HAVE_VPX
    vpx_codec_ctx_t vpx;
    gboolean vpx_open;
#endif
    int64_t pts;
} Bare;

static gboolean bare_init(Bare *b, const CodecCase *c, const Resolution *res)
{
    memset(b, 0, sizeof(*b));
    b->codec = c->codec;
    b->width = res->width;
    b->height = res->height;
    b->strides[0] = res->width;
    b->strides[1] = b->strides[2] = (res->width + 1) / 2;
    b->planes[0] = g_malloc((gsize)b->strides[0] * res->height);
    b->planes[1] = g_malloc((gsize)b->strides[1] * ((res->height + 1) / 2));
    b->planes[2] = g_malloc((gsize)b->strides[2] * ((res->height + 1) / 2));
    b->out_capacity = (gsize)res->width * res->height * 3;
    b->out = g_malloc(b->out_capacity);

    if (c->codec == CODEC_X264) {
#if SV_HAVE_X264
        x264_param_t p;
        int kbps = (int)(res->bit_rate_bps / 1000);

        x264_param_default_preset(&p, "ultrafast", "zerolatency");
        p.i_log_level = X264_LOG_NONE;
        p.i_csp = X264_CSP_I420;
        p.i_width = res->width;
        p.i_height = res->height;
        p.i_fps_num = FPS;
        p.i_fps_den = 1;
        p.i_timebase_num = 1;
        p.i_timebase_den = FPS;
        p.b_vfr_input = 0;
        p.i_bframe = 0;
        p.rc.i_lookahead = 0;
        p.i_sync_lookahead = 0;
        p.b_sliced_threads = 1;
        p.i_threads = 1;
        p.b_repeat_headers = 1;
        p.b_annexb = 1;
        p.i_scenecut_threshold = 0;
        p.i_keyint_max = X264_KEYINT_MAX_INFINITE;
        p.rc.i_rc_method = X264_RC_ABR;
        p.rc.i_bitrate = kbps;
        p.rc.i_vbv_max_bitrate = kbps;
        p.rc.i_vbv_buffer_size = kbps / FPS;
        x264_param_apply_profile(&p, "high");
        b->x264 = x264_encoder_open(&p);
        return b->x264 != NULL;
#else
        return FALSE;
#endif
    }
#if SV_HAVE_VPX
    vpx_codec_iface_t *iface = c->codec == CODEC_VP9 ? vpx_codec_vp9_cx() : vpx_codec_vp8_cx();
    vpx_codec_enc_cfg_t cfg;

    if (vpx_codec_enc_config_default(iface, &cfg, 0) != VPX_CODEC_OK) {
        return FALSE;
    }
    cfg.g_w = (unsigned)res->width;
    cfg.g_h = (unsigned)res->height;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = FPS;
    cfg.g_threads = 1;
    cfg.g_lag_in_frames = 0;
    cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
    cfg.rc_end_usage = VPX_CBR;
    cfg.rc_target_bitrate = (unsigned)(res->bit_rate_bps / 1000);
    cfg.rc_min_quantizer = 10;
    cfg.rc_max_quantizer = 63;
    cfg.rc_dropframe_thresh = 0;
    cfg.rc_buf_initial_sz = 500;
    cfg.rc_buf_optimal_sz = 600;
    cfg.rc_buf_sz = 1000;
    cfg.kf_mode = VPX_KF_AUTO;
    cfg.kf_min_dist = 0;
    cfg.kf_max_dist = 100000;
    if (vpx_codec_enc_init(&b->vpx, iface, &cfg, 0) != VPX_CODEC_OK) {
        return FALSE;
    }
    b->vpx_open = TRUE;
    vpx_codec_control(&b->vpx, VP8E_SET_CPUUSED, c->cpu_used);
    if (c->codec == CODEC_VP9) {
        vpx_codec_control(&b->vpx, VP9E_SET_TILE_COLUMNS, 0);
        vpx_codec_control(&b->vpx, VP9E_SET_ROW_MT, 1u);
    } else {
        vpx_codec_control(&b->vpx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
    }
    return TRUE;
#else
    return FALSE;
#endif
}

static void bare_clear(Bare *b)
{
#if SV_HAVE_X264
    if (b->x264 != NULL) {
        x264_encoder_close(b->x264);
    }
#endif
#if SV_HAVE_VPX
    if (b->vpx_open) {
        vpx_codec_destroy(&b->vpx);
    }
#endif
    for (int p = 0; p < 3; p++) {
        g_free(b->planes[p]);
    }
    g_free(b->out);
    memset(b, 0, sizeof(*b));
}

static gboolean bare_encode(Bare *b, const guint8 *bgrx, Samples *samples)
{
    gsize size = 0;
    gint64 cpu_start = process_cpu_ns();
    gint64 start = wall_ns();

#if SV_HAVE_X264 || SV_HAVE_VPX
    /* BGRx in memory is libyuv's "ARGB" (little-endian word order). */
    ARGBToI420(bgrx, b->width * 4, b->planes[0], b->strides[0], b->planes[1], b->strides[1],
               b->planes[2], b->strides[2], b->width, b->height);
#endif
    if (b->codec == CODEC_X264) {
#if SV_HAVE_X264
        x264_picture_t in, out;
        x264_nal_t *nals;
        int n_nals;

        x264_picture_init(&in);
        in.img.i_csp = X264_CSP_I420;
        in.img.i_plane = 3;
        for (int p = 0; p < 3; p++) {
            in.img.plane[p] = b->planes[p];
            in.img.i_stride[p] = b->strides[p];
        }
        in.i_pts = b->pts++;
        if (x264_encoder_encode(b->x264, &nals, &n_nals, &in, &out) <= 0) {
            return FALSE;
        }
        for (int i = 0; i < n_nals; i++) {
            memcpy(b->out + size, nals[i].p_payload, (size_t)nals[i].i_payload);
            size += (size_t)nals[i].i_payload;
        }
#endif
    } else {
#if SV_HAVE_VPX
        vpx_image_t img;
        vpx_codec_iter_t iter = NULL;
        const vpx_codec_cx_pkt_t *pkt;

        vpx_img_wrap(&img, VPX_IMG_FMT_I420, (unsigned)b->width, (unsigned)b->height, 1,
                     b->planes[0]);
        for (int p = 0; p < 3; p++) {
            img.planes[p] = b->planes[p];
            img.stride[p] = b->strides[p];
        }
        if (vpx_codec_encode(&b->vpx, &img, b->pts++, 1, 0, VPX_DL_REALTIME) != VPX_CODEC_OK) {
            return FALSE;
        }
        while ((pkt = vpx_codec_get_cx_data(&b->vpx, &iter)) != NULL) {
            if (pkt->kind == VPX_CODEC_CX_FRAME_PKT &&
                size + pkt->data.frame.sz <= b->out_capacity) {
                memcpy(b->out + size, pkt->data.frame.buf, pkt->data.frame.sz);
                size += pkt->data.frame.sz;
            }
        }
#endif
    }
    if (size == 0) {
        return FALSE;
    }
    if (samples != NULL) {
        gint64 end = wall_ns();
        samples_add(samples, end - start, process_cpu_ns() - cpu_start, size);
    }
    return TRUE;
}

/* ---- one codec at one resolution --------------------------------------------- */

static void print_line(const char *name, Samples *s)
{
    double fps = s->count * 1e9 / (double)s->total_ns;
    double cpu_fps = s->count * 1e9 / (double)MAX(s->cpu_ns, 1);

    printf("    %-5s %7.1f fps (%7.1f on CPU time)   median %7.3f ms   mean size %8.0f bytes\n",
           name, fps, cpu_fps, median_ns(s) / 1e6, (double)s->bytes / s->count);
}

static gboolean run_case(const CodecCase *c, const Resolution *res, const Scene *scene,
                         guint n_frames)
{
    guint8 *bgrx = g_malloc((gsize)res->width * res->height * 4);
    Samples s_ours = {g_new(gint64, n_frames), 0, 0, 0, 0};
    Samples s_bare = {g_new(gint64, n_frames), 0, 0, 0, 0};
    Ours ours;
    Bare bare;
    gboolean have_ours, ok = FALSE;

    have_ours = ours_init(&ours, c, res);
    if (!bare_init(&bare, c, res)) {
        fprintf(stderr, "native-vs-bare: cannot set up bare %s\n", c->name);
        goto out;
    }
    printf("  %s, %dx%d at %" G_GUINT64_FORMAT " kbit/s, %u frames:\n", c->name, res->width,
           res->height, res->bit_rate_bps / 1000, n_frames);
    for (guint t = 0; t < WARMUP_FRAMES + n_frames; t++) {
        gboolean measure = t >= WARMUP_FRAMES;
        gboolean round_ok;

        scene_render(scene, (int)t, bgrx, res->width, res->height);
        /* Alternate which side goes first so neither always inherits the
         * other's cache state. */
        if (t % 2 == 0) {
            round_ok = (!have_ours || ours_encode(&ours, bgrx, res, measure ? &s_ours : NULL)) &&
                       bare_encode(&bare, bgrx, measure ? &s_bare : NULL);
        } else {
            round_ok = bare_encode(&bare, bgrx, measure ? &s_bare : NULL) &&
                       (!have_ours || ours_encode(&ours, bgrx, res, measure ? &s_ours : NULL));
        }
        if (!round_ok) {
            fprintf(stderr, "native-vs-bare: %s: frame %u failed\n", c->name, t);
            goto out;
        }
    }
    if (have_ours) {
        print_line("ours", &s_ours);
    } else {
        printf("    ours  not available (the factory returned NULL)\n");
    }
    print_line("bare", &s_bare);
    if (have_ours) {
        double ratio = (double)s_bare.total_ns / (double)s_ours.total_ns;
        printf("    speed ratio ours/bare %.3f (target >= %.2f: %s); on CPU time %.3f\n", ratio,
               TARGET_SPEED_RATIO, ratio >= TARGET_SPEED_RATIO ? "met" : "NOT met",
               (double)s_bare.cpu_ns / (double)MAX(s_ours.cpu_ns, 1));
        printf("    size ratio ours/bare  %.4f\n", (double)s_ours.bytes / (double)s_bare.bytes);
    }
    ok = TRUE;

out:
    if (have_ours) {
        ours_clear(&ours);
    }
    bare_clear(&bare);
    g_free(s_ours.ns);
    g_free(s_bare.ns);
    g_free(bgrx);
    return ok;
}

int main(int argc, char **argv)
{
    guint64 n_frames = DEFAULT_FRAMES;
    gboolean ok = TRUE;

    if (argc > 1 && !g_ascii_string_to_unsigned(argv[1], 10, 1, 100000, &n_frames, NULL)) {
        fprintf(stderr, "usage: %s [FRAMES]  (1..100000, default %d)\n", argv[0], DEFAULT_FRAMES);
        return 2;
    }
#if !SV_HAVE_X264 && !SV_HAVE_VPX
    printf("skipped: built without libx264 and libvpx\n");
    return 0;
#endif
    printf("native-vs-bare: BGRx top-down, 4:2:0, one thread, rate control off, %d fps, "
           "wall-clock time per frame (conversion included)\n",
           FPS);
    for (guint r = 0; r < G_N_ELEMENTS(resolutions); r++) {
        const Resolution *res = &resolutions[r];
        Scene *scene = scene_new(res->width, res->height);

        printf("%dx%d:\n", res->width, res->height);
        for (guint i = 0; i < G_N_ELEMENTS(cases) && ok; i++) {
#if !SV_HAVE_X264
            if (cases[i].codec == CODEC_X264) {
                printf("  %s: skipped, built without libx264\n", cases[i].name);
                continue;
            }
#endif
#if !SV_HAVE_VPX
            if (cases[i].codec != CODEC_X264) {
                printf("  %s: skipped, built without libvpx\n", cases[i].name);
                continue;
            }
#endif
            ok = run_case(&cases[i], res, scene, (guint)n_frames);
        }
        scene_free(scene);
    }
    return ok ? 0 : 1;
}
