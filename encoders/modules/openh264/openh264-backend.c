/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The OpenH264 backend: Cisco's H.264 encoder (Constrained Baseline, CAVLC)
 * behind the shared frame encoder. Real-time settings: one output per
 * input, no B-frames, one spatial and one temporal layer, bit-rate rate
 * control with OpenH264's own frame skipping off (spice's rate control
 * decides which frames to drop), Annex-B with SPS/PPS before every IDR, bit
 * rate changed live. docs/openh264-module.md explains the choices.
 */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <wels/codec_api.h>

#include "openh264-backend.h"

static const char *const usage_names[] = {"camera", "screen", NULL};
static const char *const complexity_names[] = {"low", "medium", "high", NULL};

const SvEncoderOption sv_openh264_options[] = {
    [SV_OPENH264_OPTION_USAGE] = {"usage", SV_OPTION_ENUM, 0, 0, 0, usage_names,
                                  "tuning: camera video or screen content"},
    [SV_OPENH264_OPTION_COMPLEXITY] = {"complexity", SV_OPTION_ENUM, 0, 0, 0, complexity_names,
                                       "encoder effort: speed against quality"},
    [SV_OPENH264_OPTION_KEYINT] = {"keyint", SV_OPTION_INT, 0, 10000, 0, NULL,
                                   "frames between key frames (0: only the first and forced ones)"},
    [SV_OPENH264_OPTION_THREADS] = {"threads", SV_OPTION_INT, 0, 16, 0, NULL,
                                    "encoding threads, one slice each (0: automatic)"},
    [SV_OPENH264_N_OPTIONS] = {NULL},
};

/* OpenH264 accepts input frame rates in this range (wels_const.h). */
#define MIN_FPS 1
#define MAX_FPS 60
/* threads=0: one per processor, at most this many. */
#define AUTO_MAX_THREADS 4
/* OpenH264 refuses pictures narrower or lower than 16 pixels; sides above
 * 4096 are refused here too (beyond H.264's levels for most decoders).
 * start() fails for them, and the frames go out as images. */
#define MIN_DIMENSION 16
#define MAX_DIMENSION 4096

/* The backend has no error domain of its own in the public API; the frame
 * encoder only logs these messages. */
#define OPENH264_ERROR (openh264_error_quark())
static GQuark openh264_error_quark(void);
G_DEFINE_QUARK(sv - openh264 - error - quark, openh264_error)

typedef struct OpenH264Backend {
    int options[SV_OPENH264_N_OPTIONS];
    ISVCEncoder *encoder;
    SvBackendFormat format;
    int coded_width, coded_height;
    /* 4:2:0 needs even sizes: an odd luma plane is copied here with its
     * last column/row repeated (the chroma planes already have the
     * rounded-up size). */
    uint8_t *padded_luma;
    int64_t frame_number;
} OpenH264Backend;

/* OpenH264 logs to stderr by default; its warnings go to the debug log. */
static void openh264_log(void *opaque, int level, const char *message)
{
    (void)opaque;
    g_autofree char *line = g_strdup(message);
    g_debug("openh264 (level %d): %s", level, g_strchomp(line));
}

static void *openh264_backend_create(SpiceVideoCodecType codec, const int *options, GError **error)
{
    if (codec != SPICE_VIDEO_CODEC_TYPE_H264) {
        g_set_error(error, OPENH264_ERROR, 0, "openh264 only encodes H.264");
        return NULL;
    }
    OpenH264Backend *self = g_new0(OpenH264Backend, 1);
    for (int i = 0; i < SV_OPENH264_N_OPTIONS; i++) {
        self->options[i] = options != NULL ? options[i] : sv_openh264_options[i].default_value;
    }
    return self;
}

static void openh264_backend_stop(OpenH264Backend *self)
{
    if (self->encoder != NULL) {
        (*self->encoder)->Uninitialize(self->encoder);
        WelsDestroySVCEncoder(self->encoder);
        self->encoder = NULL;
    }
    g_clear_pointer(&self->padded_luma, g_free);
}

static int clamp_bit_rate(uint64_t bit_rate_bps)
{
    return (int)MIN(MAX(bit_rate_bps, 1), (uint64_t)INT_MAX);
}

static void set_params(const OpenH264Backend *self, SEncParamExt *param, uint64_t bit_rate_bps)
{
    const int *opt = self->options;
    /* OpenH264's own "automatic" asks for more slices than it then allows. */
    int threads = opt[SV_OPENH264_OPTION_THREADS] > 0
                      ? opt[SV_OPENH264_OPTION_THREADS]
                      : (int)MIN(g_get_num_processors(), AUTO_MAX_THREADS);
    float fps = (float)CLAMP(self->format.fps, MIN_FPS, MAX_FPS);
    SSpatialLayerConfig *layer = &param->sSpatialLayers[0];

    param->iUsageType =
        opt[SV_OPENH264_OPTION_USAGE] == 1 ? SCREEN_CONTENT_REAL_TIME : CAMERA_VIDEO_REAL_TIME;
    param->iComplexityMode = (ECOMPLEXITY_MODE)opt[SV_OPENH264_OPTION_COMPLEXITY];
    param->iPicWidth = self->coded_width;
    param->iPicHeight = self->coded_height;
    param->fMaxFrameRate = fps;
    /* Bit-rate mode at the frame encoder's target, no separate ceiling, no
     * frame skipping: spice's virtual buffer decides which frames to drop,
     * so OpenH264 must encode every frame it is given. */
    param->iRCMode = RC_BITRATE_MODE;
    param->iTargetBitrate = clamp_bit_rate(bit_rate_bps);
    param->iMaxBitrate = UNSPECIFIED_BIT_RATE;
    param->bEnableFrameSkip = false;
    /* One layer, no temporal scalability: no SVC syntax, nothing held back. */
    param->iSpatialLayerNum = 1;
    param->iTemporalLayerNum = 1;
    param->bSimulcastAVC = false;
    param->bPrefixNalAddingCtrl = false;
    param->bEnableSSEI = false;
    param->bEnableLongTermReference = false;
    /* Key frames only where asked (keyint, forced): a scene-change IDR in
     * the middle of a desktop stream costs several frames' worth of bits. */
    param->uiIntraPeriod = (unsigned int)opt[SV_OPENH264_OPTION_KEYINT];
    param->bEnableSceneChangeDetect = false;
    /* Every IDR carries the same SPS/PPS ids, so a restarted encoder's
     * stream continues the previous one for the client's decoder. */
    param->eSpsPpsIdStrategy = CONSTANT_ID;
    param->bEnableFrameCroppingFlag = true;
    param->iEntropyCodingModeFlag = 0;
    /* Slices, one per thread; without load balancing the slicing, hence the
     * output, is the same on every run. */
    param->iMultipleThreadIdc = (unsigned short)threads;
    param->bUseLoadBalancing = false;

    layer->iVideoWidth = self->coded_width;
    layer->iVideoHeight = self->coded_height;
    layer->fFrameRate = fps;
    layer->iSpatialBitrate = param->iTargetBitrate;
    layer->iMaxSpatialBitrate = UNSPECIFIED_BIT_RATE;
    layer->uiProfileIdc = PRO_BASELINE;
    layer->sSliceArgument.uiSliceMode = threads == 1 ? SM_SINGLE_SLICE : SM_FIXEDSLCNUM_SLICE;
    layer->sSliceArgument.uiSliceNum = (unsigned int)threads;
}

static gboolean openh264_backend_start(void *backend, const SvBackendFormat *format,
                                       uint64_t bit_rate_bps, GError **error)
{
    OpenH264Backend *self = backend;
    SEncParamExt param;
    WelsTraceCallback log_callback = openh264_log;
    int log_level = WELS_LOG_WARNING;
    int data_format = videoFormatI420;
    int rv;

    openh264_backend_stop(self);
    self->frame_number = 0;
    if (format->width < MIN_DIMENSION || format->height < MIN_DIMENSION ||
        format->width > MAX_DIMENSION || format->height > MAX_DIMENSION || format->yuv444) {
        g_set_error(error, OPENH264_ERROR, 0, "openh264: unsupported format %ux%u%s", format->width,
                    format->height, format->yuv444 ? " I444" : "");
        return FALSE;
    }
    self->format = *format;
    /* H.264 crops 4:2:0 pictures by whole chroma samples only: an odd size
     * is encoded one pixel larger, the extra line repeating the last one. */
    self->coded_width = (int)((format->width + 1) & ~1u);
    self->coded_height = (int)((format->height + 1) & ~1u);
    if (self->coded_width != (int)format->width || self->coded_height != (int)format->height) {
        self->padded_luma = g_malloc((gsize)self->coded_width * self->coded_height);
    }

    if (WelsCreateSVCEncoder(&self->encoder) != 0 || self->encoder == NULL) {
        self->encoder = NULL;
        g_set_error(error, OPENH264_ERROR, 0, "openh264: cannot create an encoder");
        return FALSE;
    }
    (*self->encoder)->SetOption(self->encoder, ENCODER_OPTION_TRACE_CALLBACK, &log_callback);
    (*self->encoder)->SetOption(self->encoder, ENCODER_OPTION_TRACE_LEVEL, &log_level);
    (*self->encoder)->GetDefaultParams(self->encoder, &param);
    set_params(self, &param, bit_rate_bps);
    rv = (*self->encoder)->InitializeExt(self->encoder, &param);
    if (rv == cmResultSuccess) {
        rv = (*self->encoder)->SetOption(self->encoder, ENCODER_OPTION_DATAFORMAT, &data_format);
    }
    if (rv != cmResultSuccess) {
        g_set_error(error, OPENH264_ERROR, 0, "openh264: cannot start %dx%d (error %d)",
                    self->coded_width, self->coded_height, rv);
        openh264_backend_stop(self);
        return FALSE;
    }
    g_debug("openh264: started %ux%u %u fps at %" G_GUINT64_FORMAT " bit/s, usage %s, "
            "complexity %s",
            format->width, format->height, format->fps, bit_rate_bps,
            usage_names[self->options[SV_OPENH264_OPTION_USAGE]],
            complexity_names[self->options[SV_OPENH264_OPTION_COMPLEXITY]]);
    return TRUE;
}

static gboolean openh264_backend_set_bit_rate(void *backend, uint64_t bit_rate_bps)
{
    OpenH264Backend *self = backend;
    SBitrateInfo info = {.iLayer = SPATIAL_LAYER_ALL, .iBitrate = clamp_bit_rate(bit_rate_bps)};

    if (self->encoder == NULL) {
        return FALSE;
    }
    if ((*self->encoder)->SetOption(self->encoder, ENCODER_OPTION_BITRATE, &info) !=
        cmResultSuccess) {
        g_debug("openh264: bit rate %" G_GUINT64_FORMAT " bit/s refused", bit_rate_bps);
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

static gboolean has_start_code(const uint8_t *data, size_t size)
{
    return (size >= 4 && data[0] == 0 && data[1] == 0 && data[2] == 0 && data[3] == 1) ||
           (size >= 3 && data[0] == 0 && data[1] == 0 && data[2] == 1);
}

static SvBackendResult openh264_backend_encode(void *backend, const SvYuvFrame *frame,
                                               int64_t timeout_ns, VideoBuffer **out)
{
    OpenH264Backend *self = backend;
    SSourcePicture pic;
    SFrameBSInfo info;
    VideoBuffer *buffer;
    size_t total = 0, offset = 0;
    int rv;

    (void)timeout_ns; /* OpenH264 encodes synchronously */
    if (self->encoder == NULL || frame->width != self->format.width ||
        frame->height != self->format.height || frame->yuv444) {
        return SV_BACKEND_ERROR;
    }
    memset(&pic, 0, sizeof(pic));
    pic.iColorFormat = videoFormatI420;
    pic.iPicWidth = self->coded_width;
    pic.iPicHeight = self->coded_height;
    for (int p = 0; p < 3; p++) {
        pic.pData[p] = (unsigned char *)frame->planes[p];
        pic.iStride[p] = frame->strides[p];
    }
    if (self->padded_luma != NULL) {
        int w = (int)frame->width, h = (int)frame->height;

        copy_plane_padded(self->padded_luma, self->coded_width, frame->planes[0], frame->strides[0],
                          w, h, self->coded_width - w, self->coded_height - h);
        pic.pData[0] = self->padded_luma;
        pic.iStride[0] = self->coded_width;
    }
    /* Time stamps by frame count at the announced rate, as the rate control
     * was set up for: spice's mm_times are too coarse and irregular. */
    pic.uiTimeStamp = self->frame_number * 1000 / CLAMP(self->format.fps, MIN_FPS, MAX_FPS);
    self->frame_number++;

    if (frame->force_key_frame) {
        (*self->encoder)->ForceIntraFrame(self->encoder, true);
    }
    memset(&info, 0, sizeof(info));
    rv = (*self->encoder)->EncodeFrame(self->encoder, &pic, &info);
    if (rv != cmResultSuccess || info.eFrameType == videoFrameTypeInvalid ||
        info.eFrameType == videoFrameTypeSkip) {
        /* With frame skipping off OpenH264 never skips: no output is a
         * failure, and the frame encoder restarts us. */
        g_debug("openh264: no output for frame %" G_GINT64_FORMAT " (error %d, type %d)",
                self->frame_number - 1, rv, (int)info.eFrameType);
        return SV_BACKEND_ERROR;
    }

    /* One access unit: every layer (SPS/PPS, then the slices) in order, each
     * NAL already with its start code. */
    for (int l = 0; l < info.iLayerNum; l++) {
        const SLayerBSInfo *layer = &info.sLayerInfo[l];
        for (int n = 0; n < layer->iNalCount; n++) {
            total += (size_t)layer->pNalLengthInByte[n];
        }
    }
    buffer = sv_backend_buffer_new(total);
    if (buffer == NULL) {
        return SV_BACKEND_ERROR;
    }
    for (int l = 0; l < info.iLayerNum; l++) {
        const SLayerBSInfo *layer = &info.sLayerInfo[l];
        size_t layer_size = 0;
        for (int n = 0; n < layer->iNalCount; n++) {
            layer_size += (size_t)layer->pNalLengthInByte[n];
        }
        memcpy(buffer->data + offset, layer->pBsBuf, layer_size);
        offset += layer_size;
    }
    if (!has_start_code(buffer->data, buffer->size)) {
        g_debug("openh264: output of frame %" G_GINT64_FORMAT " is not Annex-B",
                self->frame_number - 1);
        buffer->free(buffer);
        return SV_BACKEND_ERROR;
    }
    *out = buffer;
    return SV_BACKEND_OK;
}

static void openh264_backend_destroy(void *backend)
{
    OpenH264Backend *self = backend;

    openh264_backend_stop(self);
    g_free(self);
}

const SvCodecBackendClass sv_openh264_backend_class = {
    .name = "openh264",
    .create = openh264_backend_create,
    .start = openh264_backend_start,
    .set_bit_rate = openh264_backend_set_bit_rate,
    .encode = openh264_backend_encode,
    .destroy = openh264_backend_destroy,
};

gboolean sv_openh264_probe(char *why, size_t why_size)
{
    ISVCEncoder *encoder = NULL;
    OpenH264Version version;

    if (WelsCreateSVCEncoder(&encoder) != 0 || encoder == NULL) {
        WelsGetCodecVersionEx(&version);
        g_snprintf(why, why_size, "OpenH264 %u.%u.%u cannot create an encoder", version.uMajor,
                   version.uMinor, version.uRevision);
        return FALSE;
    }
    WelsDestroySVCEncoder(encoder);
    return TRUE;
}
