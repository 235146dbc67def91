/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The libvpx backend: VP8 and VP9 straight from libvpx, no GStreamer.
 * Settings follow spice-server's vp8enc/vp9enc options (reference 4.2):
 * CBR, quantizer floor 10, error resilience, no lag, real-time deadline, so
 * that one input gives one frame at once. docs/streaming-encoders.md
 * ("libvpx") explains each choice.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "frame-encoder.h"
#include "native-encoders.h"

#if SV_HAVE_VPX
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

static const char *const tune_names[] = {"default", "screen", NULL};

/* The VP8 table is the start of the VP9 one (native-encoders.h). */
const SvEncoderOption sv_vpx_vp8_options[] = {
    [SV_VPX_OPTION_CPU_USED] = {"cpu-used", SV_OPTION_INT, -16, 16, 16, NULL,
                                "speed/quality trade-off, higher is faster"},
    [SV_VPX_OPTION_KEYINT] = {"keyint", SV_OPTION_INT, 0, 10000, 0, NULL,
                              "frames between key frames (0: only the first and forced ones)"},
    [SV_VPX_OPTION_THREADS] = {"threads", SV_OPTION_INT, 0, 64, 0, NULL,
                               "encoding threads (0: one; VP8's threads spin-wait for each other)"},
    [SV_VPX_OPTION_TUNE] = {"tune", SV_OPTION_ENUM, 0, 0, 0, tune_names,
                            "content: default or screen (screen-content tools)"},
    [SV_VPX_OPTION_YUV444] = {"yuv444", SV_OPTION_BOOL, 0, 1, 0, NULL,
                              "4:4:4 (not available in VP8: the encoder refuses it)"},
    [SV_VPX_N_VP8_OPTIONS] = {NULL},
};

const SvEncoderOption sv_vpx_vp9_options[] = {
    [SV_VPX_OPTION_CPU_USED] = {"cpu-used", SV_OPTION_INT, -9, 9, 9, NULL,
                                "speed/quality trade-off, higher is faster"},
    [SV_VPX_OPTION_KEYINT] = {"keyint", SV_OPTION_INT, 0, 10000, 0, NULL,
                              "frames between key frames (0: only the first and forced ones)"},
    [SV_VPX_OPTION_THREADS] = {"threads", SV_OPTION_INT, 0, 64, 0, NULL,
                               "encoding threads (0: one per processor, at most 8)"},
    [SV_VPX_OPTION_TUNE] = {"tune", SV_OPTION_ENUM, 0, 0, 0, tune_names,
                            "content: default or screen (screen-content tools)"},
    [SV_VPX_OPTION_YUV444] = {"yuv444", SV_OPTION_BOOL, 0, 1, 0, NULL,
                              "4:4:4 input, VP9 profile 1"},
    [SV_VPX_OPTION_ROW_MT] = {"row-mt", SV_OPTION_BOOL, 0, 1, 1, NULL, "row-based multithreading"},
    [SV_VPX_OPTION_TILE_COLUMNS] = {"tile-columns", SV_OPTION_INT, -1, 6, -1, NULL,
                                    "log2 of the tile columns (-1: from the thread count)"},
    [SV_VPX_N_VP9_OPTIONS] = {NULL},
};

/* "Only when needed" as a key-frame distance: far beyond any stream. */
#define KF_MAX_DIST_NONE 100000
/* spice-server's min-quantizer=10: quiet scenes do not waste bits. */
#define MIN_QUANTIZER 10
/* Decoder buffer model, ms: short, for a low-latency stream (libvpx's
 * defaults of 4-6 s suit file encoding). */
#define RC_BUF_INITIAL_MS 500
#define RC_BUF_OPTIMAL_MS 600
#define RC_BUF_MS 1000
/* VP9's automatic thread count; its row-mt threads block on condition
 * variables. VP8's threads busy-wait on each other row by row: with other
 * processes on the cores, 2 threads were measured 15 to 70 times slower
 * than 1 (libvpx 1.12, 2 loaded cores), so VP8 uses one unless told. */
#define MAX_AUTO_THREADS 8
/* The picture side of the encoder opened once by create() as a check. */
#define CHECK_SIDE_PIXELS 64

typedef struct VpxBackend {
    SpiceVideoCodecType codec;
    int options[SV_VPX_N_VP9_OPTIONS];
    vpx_codec_ctx_t ctx;
    vpx_codec_enc_cfg_t cfg;
    gboolean ctx_initialized;
    SvBackendFormat format;
    vpx_codec_pts_t pts;
} VpxBackend;

static gboolean vpx_backend_check(VpxBackend *self, GError **error);

static void *vpx_backend_create(SpiceVideoCodecType codec, const int *options, GError **error)
{
    const SvEncoderOption *table;
    int n;

    if (codec == SPICE_VIDEO_CODEC_TYPE_VP8) {
        table = sv_vpx_vp8_options;
        n = SV_VPX_N_VP8_OPTIONS;
    } else if (codec == SPICE_VIDEO_CODEC_TYPE_VP9) {
        table = sv_vpx_vp9_options;
        n = SV_VPX_N_VP9_OPTIONS;
    } else {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "libvpx only encodes VP8 and VP9, not %s",
                    sv_video_codec_type_to_string(codec));
        return NULL;
    }

    VpxBackend *self = g_new0(VpxBackend, 1);
    self->codec = codec;
    /* Options VP8 does not have keep the VP9 defaults (never used). */
    for (int i = 0; i < SV_VPX_N_VP9_OPTIONS; i++) {
        self->options[i] = sv_vpx_vp9_options[i].default_value;
    }
    for (int i = 0; i < n; i++) {
        self->options[i] = options != NULL ? options[i] : table[i].default_value;
    }
    if (codec == SPICE_VIDEO_CODEC_TYPE_VP8 && self->options[SV_VPX_OPTION_YUV444]) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "VP8 has no 4:4:4 profile (yuv444=true is for VP9)");
        g_free(self);
        return NULL;
    }
    if (!vpx_backend_check(self, error)) {
        g_free(self);
        return NULL;
    }
    return self;
}

static vpx_codec_iface_t *backend_iface(const VpxBackend *self)
{
    return self->codec == SPICE_VIDEO_CODEC_TYPE_VP9 ? vpx_codec_vp9_cx() : vpx_codec_vp8_cx();
}

static void vpx_backend_stop(VpxBackend *self)
{
    if (self->ctx_initialized) {
        vpx_codec_destroy(&self->ctx);
        self->ctx_initialized = FALSE;
    }
}

static unsigned int kbit_per_s(uint64_t bit_rate_bps)
{
    return (unsigned int)MIN(MAX(bit_rate_bps / 1000, 1), (uint64_t)UINT32_MAX / 1000);
}

static gboolean control_failed(VpxBackend *self, const char *what, GError **error)
{
    g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE, "libvpx: %s: %s", what,
                vpx_codec_error(&self->ctx));
    vpx_backend_stop(self);
    return FALSE;
}

/* The configuration of an encoder for @format with our options. */
static gboolean fill_config(const VpxBackend *self, const SvBackendFormat *format,
                            uint64_t bit_rate_bps, int threads, vpx_codec_enc_cfg_t *cfg,
                            GError **error)
{
    const int *opt = self->options;
    vpx_codec_err_t err = vpx_codec_enc_config_default(backend_iface(self), cfg, 0);

    if (err != VPX_CODEC_OK) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "libvpx: no default configuration: %s", vpx_codec_err_to_string(err));
        return FALSE;
    }
    cfg->g_w = format->width;
    cfg->g_h = format->height;
    cfg->g_profile = format->yuv444 ? 1 : 0;
    cfg->g_timebase.num = 1;
    cfg->g_timebase.den = (int)MAX(format->fps, 1);
    cfg->g_threads = (unsigned int)threads;
    cfg->g_lag_in_frames = 0;
    cfg->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
    cfg->g_pass = VPX_RC_ONE_PASS;
    cfg->rc_end_usage = VPX_CBR;
    cfg->rc_target_bitrate = kbit_per_s(bit_rate_bps);
    cfg->rc_min_quantizer = MIN_QUANTIZER;
    cfg->rc_max_quantizer = 63;
    /* The frame encoder decides about drops, not the codec. */
    cfg->rc_dropframe_thresh = 0;
    cfg->rc_buf_initial_sz = RC_BUF_INITIAL_MS;
    cfg->rc_buf_optimal_sz = RC_BUF_OPTIMAL_MS;
    cfg->rc_buf_sz = RC_BUF_MS;
    cfg->kf_mode = VPX_KF_AUTO;
    cfg->kf_min_dist = 0;
    cfg->kf_max_dist =
        opt[SV_VPX_OPTION_KEYINT] > 0 ? (unsigned int)opt[SV_VPX_OPTION_KEYINT] : KF_MAX_DIST_NONE;
    return TRUE;
}

static vpx_codec_err_t init_codec(VpxBackend *self, vpx_codec_ctx_t *ctx,
                                  const vpx_codec_enc_cfg_t *cfg)
{
    if (sv_fault_hit("vpx.init")) {
        /* What vpx_codec_enc_init leaves when its allocations fail. */
        memset(ctx, 0, sizeof(*ctx));
        ctx->err = VPX_CODEC_MEM_ERROR;
        return VPX_CODEC_MEM_ERROR;
    }
    return vpx_codec_enc_init(ctx, backend_iface(self), cfg, 0);
}

/* Like spice's throw-away pipeline (reference 4.1): libvpx is set up once
 * with our options at a small size, so that an encoder that cannot start
 * makes the factory fail and negotiation move on, rather than failing the
 * first frames of every stream. Once per process and option set: VP9's
 * costs some 10 ms. */
static gboolean vpx_backend_check(VpxBackend *self, GError **error)
{
    SvBackendFormat format = {
        .codec = self->codec,
        .width = CHECK_SIDE_PIXELS,
        .height = CHECK_SIDE_PIXELS,
        .fps = 30,
        .yuv444 = self->options[SV_VPX_OPTION_YUV444] != 0,
    };
    vpx_codec_enc_cfg_t cfg;
    vpx_codec_ctx_t ctx;

    if (sv_backend_check_known("vpx", self->codec, self->options, SV_VPX_N_VP9_OPTIONS)) {
        return TRUE;
    }
    if (!fill_config(self, &format, 1000 * 1000, 1, &cfg, error)) {
        return FALSE;
    }
    vpx_codec_err_t err = init_codec(self, &ctx, &cfg);
    if (err != VPX_CODEC_OK) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "libvpx: vpx_codec_enc_init failed (checked at %ux%u%s): %s", format.width,
                    format.height, format.yuv444 ? " I444" : "", vpx_codec_err_to_string(err));
        return FALSE;
    }
    vpx_codec_destroy(&ctx);
    sv_backend_check_passed("vpx", self->codec, self->options, SV_VPX_N_VP9_OPTIONS);
    return TRUE;
}

static gboolean vpx_backend_start(void *backend, const SvBackendFormat *format,
                                  uint64_t bit_rate_bps, GError **error)
{
    VpxBackend *self = backend;
    const int *opt = self->options;
    gboolean vp9 = self->codec == SPICE_VIDEO_CODEC_TYPE_VP9;
    vpx_codec_enc_cfg_t *cfg = &self->cfg;
    vpx_codec_err_t err;
    int threads = opt[SV_VPX_OPTION_THREADS];

    vpx_backend_stop(self);
    self->pts = 0;
    if (format->yuv444 && !vp9) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "VP8 has no 4:4:4 profile");
        return FALSE;
    }
    /* Both codecs code sizes in 14 bits. */
    if (format->width == 0 || format->height == 0 || format->width > 16383 ||
        format->height > 16383) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "libvpx: unsupported size %ux%u", format->width, format->height);
        return FALSE;
    }
    self->format = *format;
    if (threads <= 0) {
        threads = vp9 ? MIN((int)g_get_num_processors(), MAX_AUTO_THREADS) : 1;
    }
    if (!fill_config(self, format, bit_rate_bps, threads, cfg, error)) {
        return FALSE;
    }

    err = init_codec(self, &self->ctx, cfg);
    if (err != VPX_CODEC_OK) {
        const char *detail = vpx_codec_error_detail(&self->ctx);
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "libvpx: cannot start %s %ux%u: %s (%s)", vp9 ? "VP9" : "VP8", format->width,
                    format->height, vpx_codec_err_to_string(err), detail != NULL ? detail : "");
        /* A failed init has freed what it allocated; the context is clean. */
        memset(&self->ctx, 0, sizeof(self->ctx));
        return FALSE;
    }
    self->ctx_initialized = TRUE;

    if (vpx_codec_control(&self->ctx, VP8E_SET_CPUUSED, opt[SV_VPX_OPTION_CPU_USED]) !=
        VPX_CODEC_OK) {
        return control_failed(self, "cpu-used", error);
    }
    if (vp9) {
        int tile_columns = opt[SV_VPX_OPTION_TILE_COLUMNS];

        if (tile_columns < 0) {
            tile_columns = 0;
            while ((1 << (tile_columns + 1)) <= threads && tile_columns < 6) {
                tile_columns++;
            }
        }
        /* libvpx clamps the tile count to what the width allows. */
        if (vpx_codec_control(&self->ctx, VP9E_SET_TILE_COLUMNS, tile_columns) != VPX_CODEC_OK) {
            return control_failed(self, "tile-columns", error);
        }
        if (vpx_codec_control(&self->ctx, VP9E_SET_ROW_MT,
                              (unsigned int)opt[SV_VPX_OPTION_ROW_MT]) != VPX_CODEC_OK) {
            return control_failed(self, "row-mt", error);
        }
        if (opt[SV_VPX_OPTION_TUNE] == 1 &&
            vpx_codec_control(&self->ctx, VP9E_SET_TUNE_CONTENT, VP9E_CONTENT_SCREEN) !=
                VPX_CODEC_OK) {
            return control_failed(self, "tune", error);
        }
    } else {
        /* VP8 splits the residual into partitions to code them in parallel. */
        int partitions = threads >= 8   ? VP8_EIGHT_TOKENPARTITION
                         : threads >= 4 ? VP8_FOUR_TOKENPARTITION
                         : threads >= 2 ? VP8_TWO_TOKENPARTITION
                                        : VP8_ONE_TOKENPARTITION;

        if (vpx_codec_control(&self->ctx, VP8E_SET_TOKEN_PARTITIONS, partitions) != VPX_CODEC_OK) {
            return control_failed(self, "token partitions", error);
        }
        if (opt[SV_VPX_OPTION_TUNE] == 1 &&
            vpx_codec_control(&self->ctx, VP8E_SET_SCREEN_CONTENT_MODE, 1u) != VPX_CODEC_OK) {
            return control_failed(self, "tune", error);
        }
    }
    g_debug("libvpx: started %s %ux%u%s %u fps at %u kbit/s, cpu-used %d, %d threads",
            vp9 ? "VP9" : "VP8", format->width, format->height, format->yuv444 ? " I444" : "",
            format->fps, cfg->rc_target_bitrate, opt[SV_VPX_OPTION_CPU_USED], threads);
    return TRUE;
}

static gboolean vpx_backend_set_bit_rate(void *backend, uint64_t bit_rate_bps)
{
    VpxBackend *self = backend;

    if (!self->ctx_initialized) {
        return FALSE;
    }
    self->cfg.rc_target_bitrate = kbit_per_s(bit_rate_bps);
    if (vpx_codec_enc_config_set(&self->ctx, &self->cfg) != VPX_CODEC_OK) {
        g_debug("libvpx: bit rate %" G_GUINT64_FORMAT " refused: %s", bit_rate_bps,
                vpx_codec_error(&self->ctx));
        return FALSE;
    }
    return TRUE;
}

static SvBackendResult vpx_backend_encode(void *backend, const SvYuvFrame *frame,
                                          int64_t timeout_ns, VideoBuffer **out)
{
    VpxBackend *self = backend;
    vpx_image_t img;
    vpx_codec_iter_t iter = NULL;
    const vpx_codec_cx_pkt_t *pkt;
    const vpx_codec_cx_pkt_t *frames[2] = {NULL, NULL};
    int n_frames = 0;
    VideoBuffer *buffer;

    (void)timeout_ns; /* libvpx encodes synchronously */
    if (!self->ctx_initialized || frame->width != self->format.width ||
        frame->height != self->format.height || frame->yuv444 != self->format.yuv444) {
        return SV_BACKEND_ERROR;
    }
    /* Wrap the caller's planes without copying; the layout vpx_img_wrap
     * computes is replaced by the real one. */
    if (sv_fault_hit("vpx.image") ||
        vpx_img_wrap(&img, frame->yuv444 ? VPX_IMG_FMT_I444 : VPX_IMG_FMT_I420, frame->width,
                     frame->height, 1, (unsigned char *)frame->planes[0]) == NULL) {
        return SV_BACKEND_ERROR;
    }
    for (int p = 0; p < 3; p++) {
        img.planes[p] = (unsigned char *)frame->planes[p];
        img.stride[p] = frame->strides[p];
    }
    if (sv_fault_hit("vpx.encode") ||
        vpx_codec_encode(&self->ctx, &img, self->pts++, 1,
                         frame->force_key_frame ? VPX_EFLAG_FORCE_KF : 0,
                         VPX_DL_REALTIME) != VPX_CODEC_OK) {
        g_debug("libvpx: encode failed: %s", vpx_codec_error(&self->ctx));
        return SV_BACKEND_ERROR;
    }
    while ((pkt = vpx_codec_get_cx_data(&self->ctx, &iter)) != NULL) {
        if (pkt->kind == VPX_CODEC_CX_FRAME_PKT) {
            if (n_frames < 2) {
                frames[n_frames] = pkt;
            }
            n_frames++;
        }
    }
    /* Without lag there is exactly one frame per input (VP9 would pack any
     * hidden frame in the same superframe packet); anything else breaks
     * the one-frame-per-buffer contract. */
    if (n_frames != 1) {
        g_debug("libvpx: %d frames for one input", n_frames);
        return SV_BACKEND_ERROR;
    }
    pkt = frames[0];
    buffer = sv_backend_buffer_new(pkt->data.frame.sz);
    if (buffer == NULL) {
        return SV_BACKEND_ERROR;
    }
    memcpy(buffer->data, pkt->data.frame.buf, pkt->data.frame.sz);
    *out = buffer;
    return SV_BACKEND_OK;
}

static void vpx_backend_destroy(void *backend)
{
    VpxBackend *self = backend;

    vpx_backend_stop(self);
    g_free(self);
}

const SvCodecBackendClass sv_vpx_backend_class = {
    .name = "vpx",
    .create = vpx_backend_create,
    .start = vpx_backend_start,
    .set_bit_rate = vpx_backend_set_bit_rate,
    .encode = vpx_backend_encode,
    .destroy = vpx_backend_destroy,
};
#endif /* SV_HAVE_VPX */

VideoEncoder *sv_vpx_encoder_new_full(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                      VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                      bitmap_unref_t bitmap_unref, const SvEncoderConfig *config)
{
#if SV_HAVE_VPX
    const SvEncoderOption *table;

    if (codec_type == SPICE_VIDEO_CODEC_TYPE_VP8) {
        table = sv_vpx_vp8_options;
    } else if (codec_type == SPICE_VIDEO_CODEC_TYPE_VP9) {
        table = sv_vpx_vp9_options;
    } else {
        return NULL;
    }
    return sv_frame_encoder_new(&sv_vpx_backend_class, table, codec_type, starting_bit_rate, cbs,
                                bitmap_ref, bitmap_unref, config);
#else
    (void)codec_type;
    (void)starting_bit_rate;
    (void)cbs;
    (void)bitmap_ref;
    (void)bitmap_unref;
    (void)config;
    return NULL;
#endif
}

VideoEncoder *sv_vpx_encoder_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                 VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                 bitmap_unref_t bitmap_unref)
{
    return sv_vpx_encoder_new_full(codec_type, starting_bit_rate, cbs, bitmap_ref, bitmap_unref,
                                   NULL);
}
