/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The libx264 backend: H.264 straight from libx264, no GStreamer. Settings
 * follow what spice-server asks of x264enc (reference 4.2) for real-time
 * streaming: one output per input, no B-frames, no look-ahead, Annex-B with
 * the headers repeated before every IDR, bit rate applied live.
 * docs/streaming-encoders.md ("libx264") explains each choice.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "frame-encoder.h"
#include "native-encoders.h"

#if SV_HAVE_X264
#include <stdint.h>
#include <x264.h>

static const char *const tune_names[] = {
    "none", "film", "animation", "grain", "stillimage", "psnr", "ssim", "fastdecode", NULL,
};

const SvEncoderOption sv_x264_options[] = {
    [SV_X264_OPTION_PRESET] = {"preset", SV_OPTION_ENUM, 0, 0, 0, x264_preset_names,
                               "x264 speed preset"},
    [SV_X264_OPTION_TUNE] = {"tune", SV_OPTION_ENUM, 0, 0, 0, tune_names,
                             "x264 tuning, combined with zerolatency"},
    [SV_X264_OPTION_KEYINT] = {"keyint", SV_OPTION_INT, 0, 10000, 0, NULL,
                               "frames between key frames (0: only the first and forced ones)"},
    [SV_X264_OPTION_THREADS] = {"threads", SV_OPTION_INT, 0, 64, 0, NULL,
                                "encoding threads, sliced (0: automatic)"},
    [SV_X264_OPTION_INTRA_REFRESH] = {"intra-refresh", SV_OPTION_BOOL, 0, 1, 0, NULL,
                                      "periodic intra refresh instead of key frames"},
    [SV_X264_OPTION_YUV444] = {"yuv444", SV_OPTION_BOOL, 0, 1, 0, NULL,
                               "4:4:4 input, High 4:4:4 Predictive profile"},
    [SV_X264_N_OPTIONS] = {NULL},
};

/* With intra refresh on and no keyint given, a refresh wave sweeps the
 * picture once per this many seconds. */
#define INTRA_REFRESH_DEFAULT_PERIOD_S 2
/* The picture side of the encoder opened once by create() as a check. */
#define CHECK_SIDE_PIXELS 64

typedef struct X264Backend {
    int options[SV_X264_N_OPTIONS];
    x264_param_t param;
    x264_t *x264;
    SvBackendFormat format;
    /* 4:2:0 needs even sizes: odd frames are copied here with their last
     * column/row repeated. */
    x264_picture_t padded;
    gboolean padded_allocated;
    int64_t frame_number;
} X264Backend;

/* x264 logs to stderr by default; its warnings (VBV adjustments and the
 * like) are expected here, so they go to the debug log. */
static void x264_log(void *opaque, int level, const char *format, va_list args)
{
    (void)opaque;
    if (level <= X264_LOG_WARNING) {
        g_autofree char *message = g_strdup_vprintf(format, args);
        g_strchomp(message);
        g_debug("x264: %s", message);
    }
}

static gboolean x264_backend_check(X264Backend *self, GError **error);

static void *x264_backend_create(SpiceVideoCodecType codec, const int *options, GError **error)
{
    if (codec != SPICE_VIDEO_CODEC_TYPE_H264) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "x264 only encodes H.264, not %s", sv_video_codec_type_to_string(codec));
        return NULL;
    }
    X264Backend *self = g_new0(X264Backend, 1);
    for (int i = 0; i < SV_X264_N_OPTIONS; i++) {
        self->options[i] = options != NULL ? options[i] : sv_x264_options[i].default_value;
    }
    if (!x264_backend_check(self, error)) {
        g_free(self);
        return NULL;
    }
    return self;
}

static void x264_backend_stop(X264Backend *self)
{
    if (self->x264 != NULL) {
        x264_encoder_close(self->x264);
        self->x264 = NULL;
    }
    if (self->padded_allocated) {
        x264_picture_clean(&self->padded);
        self->padded_allocated = FALSE;
    }
}

/* Rate settings in kbit/s. The VBV holds about one frame: spice sends each
 * frame as it comes and the frame encoder's own virtual buffer does the
 * long-term smoothing, so the codec must keep every frame near its share. */
static void set_rate(x264_param_t *param, uint64_t bit_rate_bps, uint32_t fps)
{
    int kbps = (int)MIN(MAX(bit_rate_bps / 1000, 1), (uint64_t)INT_MAX / 2);

    param->rc.i_rc_method = X264_RC_ABR;
    param->rc.i_bitrate = kbps;
    param->rc.i_vbv_max_bitrate = kbps;
    param->rc.i_vbv_buffer_size = MAX(kbps / (int)MAX(fps, 1), 1);
}

/* The encoded size of @format: H.264 crops 4:2:0 pictures by whole chroma
 * samples only, so an odd size is encoded one pixel larger, the extra line
 * repeating the last one. */
static void coded_size(const SvBackendFormat *format, uint32_t *width, uint32_t *height)
{
    *width = format->yuv444 ? format->width : (format->width + 1) & ~1u;
    *height = format->yuv444 ? format->height : (format->height + 1) & ~1u;
}

/* The parameters of an encoder for @format with our options. */
static gboolean fill_param(const X264Backend *self, x264_param_t *param,
                           const SvBackendFormat *format, uint64_t bit_rate_bps, GError **error)
{
    const int *opt = self->options;
    int tune = opt[SV_X264_OPTION_TUNE];
    g_autofree char *tune_string = NULL;
    uint32_t width, height;

    coded_size(format, &width, &height);

    tune_string =
        g_strdup_printf("%s%szerolatency", tune > 0 ? tune_names[tune] : "", tune > 0 ? "," : "");
    if (x264_param_default_preset(param, x264_preset_names[opt[SV_X264_OPTION_PRESET]],
                                  tune_string) < 0) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "x264: bad preset or tune %s", tune_string);
        return FALSE;
    }
    param->pf_log = x264_log;
    param->i_log_level = X264_LOG_WARNING;
    param->i_csp = format->yuv444 ? X264_CSP_I444 : X264_CSP_I420;
    param->i_width = (int)width;
    param->i_height = (int)height;
    param->i_fps_num = MAX(format->fps, 1);
    param->i_fps_den = 1;
    param->i_timebase_num = 1;
    param->i_timebase_den = param->i_fps_num;
    /* Rate control by frame count at the announced rate: spice's mm_times
     * are too coarse and irregular to drive x264's VFR rate control. */
    param->b_vfr_input = 0;
    /* Each frame leaves as soon as it is encoded: nothing reordered or
     * held back. Slices, not frames, share the threads (zero latency). */
    param->i_bframe = 0;
    param->rc.i_lookahead = 0;
    param->i_sync_lookahead = 0;
    param->b_sliced_threads = 1;
    param->i_threads =
        opt[SV_X264_OPTION_THREADS] > 0 ? opt[SV_X264_OPTION_THREADS] : X264_THREADS_AUTO;
    /* A client may join or lose a frame at any IDR: every IDR carries its
     * SPS/PPS, as x264enc's byte-stream output does. */
    param->b_repeat_headers = 1;
    param->b_annexb = 1;
    param->b_aud = 0;
    /* Key frames only where asked: a scene-cut IDR in the middle of a
     * desktop stream costs several frames' worth of bits at once. */
    param->i_scenecut_threshold = 0;
    param->b_intra_refresh = opt[SV_X264_OPTION_INTRA_REFRESH] != 0;
    if (opt[SV_X264_OPTION_KEYINT] > 0) {
        param->i_keyint_max = opt[SV_X264_OPTION_KEYINT];
    } else if (param->b_intra_refresh) {
        param->i_keyint_max = (int)MAX(format->fps, 1) * INTRA_REFRESH_DEFAULT_PERIOD_S;
    } else {
        param->i_keyint_max = X264_KEYINT_MAX_INFINITE;
    }
    set_rate(param, bit_rate_bps, format->fps);

    /* High allows what slower presets turn on (CABAC, 8x8 transforms) and
     * every H.264 decoder a SPICE client uses takes it; ultrafast output
     * is still signalled as Constrained Baseline. */
    if (x264_param_apply_profile(param, format->yuv444 ? "high444" : "high") < 0) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "x264: the settings do not fit the profile");
        return FALSE;
    }
    return TRUE;
}

static x264_t *open_encoder(x264_param_t *param)
{
    return sv_fault_hit("x264.open") ? NULL : x264_encoder_open(param);
}

/* Like spice's throw-away pipeline (reference 4.1): the library is opened
 * once with our options at a small size, so that an x264 that cannot open
 * makes the factory fail and negotiation move on, rather than failing the
 * first frames of every stream. Once per process and option set: it costs
 * some 10 ms. */
static gboolean x264_backend_check(X264Backend *self, GError **error)
{
    SvBackendFormat format = {
        .codec = SPICE_VIDEO_CODEC_TYPE_H264,
        .width = CHECK_SIDE_PIXELS,
        .height = CHECK_SIDE_PIXELS,
        .fps = 30,
        .yuv444 = self->options[SV_X264_OPTION_YUV444] != 0,
    };
    x264_param_t param;

    if (sv_backend_check_known("x264", SPICE_VIDEO_CODEC_TYPE_H264, self->options,
                               SV_X264_N_OPTIONS)) {
        return TRUE;
    }
    if (!fill_param(self, &param, &format, 1000 * 1000, error)) {
        return FALSE;
    }
    param.i_threads = 1;
    x264_t *x264 = open_encoder(&param);
    if (x264 == NULL) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "x264: x264_encoder_open failed (checked at %ux%u%s)", format.width,
                    format.height, format.yuv444 ? " I444" : "");
        return FALSE;
    }
    x264_encoder_close(x264);
    sv_backend_check_passed("x264", SPICE_VIDEO_CODEC_TYPE_H264, self->options, SV_X264_N_OPTIONS);
    return TRUE;
}

static gboolean x264_backend_start(void *backend, const SvBackendFormat *format,
                                   uint64_t bit_rate_bps, GError **error)
{
    X264Backend *self = backend;
    x264_param_t *param = &self->param;
    const int *opt = self->options;
    uint32_t width, height;

    x264_backend_stop(self);
    self->frame_number = 0;
    if (format->width == 0 || format->height == 0 || format->width > 16384 ||
        format->height > 16384) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "x264: unsupported size %ux%u", format->width, format->height);
        return FALSE;
    }
    if (format->yuv444 != (opt[SV_X264_OPTION_YUV444] != 0)) {
        g_debug("x264: format is %s, option yuv444=%d", format->yuv444 ? "I444" : "I420",
                opt[SV_X264_OPTION_YUV444]);
    }
    self->format = *format;
    coded_size(format, &width, &height);
    if (!fill_param(self, param, format, bit_rate_bps, error)) {
        return FALSE;
    }
    if (!format->yuv444 && (width != format->width || height != format->height)) {
        if (sv_fault_hit("x264.picture") ||
            x264_picture_alloc(&self->padded, X264_CSP_I420, (int)width, (int)height) < 0) {
            g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                        "x264: out of memory for a %ux%u picture", width, height);
            return FALSE;
        }
        self->padded_allocated = TRUE;
    }
    self->x264 = open_encoder(param);
    if (self->x264 == NULL) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "x264: cannot open an encoder for %ux%u", format->width, format->height);
        x264_backend_stop(self);
        return FALSE;
    }
    g_debug("x264: started %ux%u%s %u fps at %" G_GUINT64_FORMAT " bit/s, preset %s, tune %s",
            format->width, format->height, format->yuv444 ? " I444" : "", format->fps, bit_rate_bps,
            x264_preset_names[opt[SV_X264_OPTION_PRESET]],
            opt[SV_X264_OPTION_TUNE] > 0 ? tune_names[opt[SV_X264_OPTION_TUNE]] : "none");
    return TRUE;
}

static gboolean x264_backend_set_bit_rate(void *backend, uint64_t bit_rate_bps)
{
    X264Backend *self = backend;

    if (self->x264 == NULL) {
        return FALSE;
    }
    set_rate(&self->param, bit_rate_bps, self->format.fps);
    if (x264_encoder_reconfig(self->x264, &self->param) < 0) {
        g_debug("x264: reconfig to %" G_GUINT64_FORMAT " bit/s refused", bit_rate_bps);
        return FALSE;
    }
    return TRUE;
}

/* Copies a w x h plane into a (w+pad_w) x (h+pad_h) one, repeating the
 * last column and row. */
static void copy_plane_padded(uint8_t *dst, int dst_stride, const uint8_t *src, int src_stride,
                              int w, int h, int pad_w, int pad_h)
{
    for (int y = 0; y < h + pad_h; y++) {
        const uint8_t *s = src + (size_t)MIN(y, h - 1) * src_stride;
        uint8_t *d = dst + (size_t)y * dst_stride;
        memcpy(d, s, (size_t)w);
        for (int x = 0; x < pad_w; x++) {
            d[w + x] = s[w - 1];
        }
    }
}

static SvBackendResult x264_backend_encode(void *backend, const SvYuvFrame *frame,
                                           int64_t timeout_ns, VideoBuffer **out)
{
    X264Backend *self = backend;
    x264_picture_t in, pic_out;
    x264_nal_t *nals = NULL;
    int n_nals = 0, size;
    VideoBuffer *buffer;
    size_t total = 0;

    (void)timeout_ns; /* x264 encodes synchronously */
    if (self->x264 == NULL || frame->width != self->format.width ||
        frame->height != self->format.height || frame->yuv444 != self->format.yuv444) {
        return SV_BACKEND_ERROR;
    }
    x264_picture_init(&in);
    if (self->padded_allocated) {
        int w = (int)frame->width, h = (int)frame->height;
        int cw = (w + 1) / 2, ch = (h + 1) / 2;

        copy_plane_padded(self->padded.img.plane[0], self->padded.img.i_stride[0], frame->planes[0],
                          frame->strides[0], w, h, w & 1, h & 1);
        for (int p = 1; p < 3; p++) {
            copy_plane_padded(self->padded.img.plane[p], self->padded.img.i_stride[p],
                              frame->planes[p], frame->strides[p], cw, ch, 0, 0);
        }
        in.img = self->padded.img;
    } else {
        in.img.i_csp = self->param.i_csp;
        in.img.i_plane = 3;
        for (int p = 0; p < 3; p++) {
            in.img.plane[p] = (uint8_t *)frame->planes[p];
            in.img.i_stride[p] = frame->strides[p];
        }
    }
    in.i_pts = self->frame_number++;
    in.i_type = frame->force_key_frame ? X264_TYPE_IDR : X264_TYPE_AUTO;

    size = sv_fault_hit("x264.encode")
               ? -1
               : x264_encoder_encode(self->x264, &nals, &n_nals, &in, &pic_out);
    if (size <= 0 || n_nals <= 0) {
        /* With these settings x264 never holds a frame back: no output is
         * a failure, and the frame encoder restarts us. */
        g_debug("x264: no output for frame %" G_GINT64_FORMAT " (%d)", in.i_pts, size);
        return SV_BACKEND_ERROR;
    }
    for (int i = 0; i < n_nals; i++) {
        total += (size_t)nals[i].i_payload;
    }
    buffer = sv_backend_buffer_new(total);
    if (buffer == NULL) {
        return SV_BACKEND_ERROR;
    }
    total = 0;
    for (int i = 0; i < n_nals; i++) {
        memcpy(buffer->data + total, nals[i].p_payload, (size_t)nals[i].i_payload);
        total += (size_t)nals[i].i_payload;
    }
    *out = buffer;
    return SV_BACKEND_OK;
}

static void x264_backend_destroy(void *backend)
{
    X264Backend *self = backend;

    x264_backend_stop(self);
    g_free(self);
}

const SvCodecBackendClass sv_x264_backend_class = {
    .name = "x264",
    .create = x264_backend_create,
    .start = x264_backend_start,
    .set_bit_rate = x264_backend_set_bit_rate,
    .encode = x264_backend_encode,
    .destroy = x264_backend_destroy,
};
#endif /* SV_HAVE_X264 */

VideoEncoder *sv_x264_encoder_new_full(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                       VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                       bitmap_unref_t bitmap_unref, const SvEncoderConfig *config)
{
#if SV_HAVE_X264
    if (codec_type != SPICE_VIDEO_CODEC_TYPE_H264) {
        return NULL;
    }
    return sv_frame_encoder_new(&sv_x264_backend_class, sv_x264_options, codec_type,
                                starting_bit_rate, cbs, bitmap_ref, bitmap_unref, config);
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

VideoEncoder *sv_x264_encoder_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                  VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                  bitmap_unref_t bitmap_unref)
{
    return sv_x264_encoder_new_full(codec_type, starting_bit_rate, cbs, bitmap_ref, bitmap_unref,
                                    NULL);
}
