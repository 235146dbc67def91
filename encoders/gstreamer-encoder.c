/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The GStreamer codec backend: `<encoder> [! caps filter] ! appsink`, fed
 * from a source pad of our own with I420/I444 frames the frame encoder
 * converted with libyuv (so no videoconvert), and the gstreamer:* factories
 * around it (reference 4.1, 4.2, 4.11; docs/streaming-encoders.md,
 * "GStreamer").
 *
 * Differences from spice-server's pipelines, on purpose:
 *  - the input is already I420 (I444 with yuv444=true): streams are 4:2:0
 *    unless asked otherwise, where spice's videoconvert picked 4:4:4 for
 *    H.264 and VP9, which many clients cannot decode;
 *  - the output of every frame is waited for with a bound (spice waits
 *    forever, reference 4.3);
 *  - the frame is pushed into the encoder on the caller's thread, as the
 *    native encoders call their library: no appsrc streaming thread, so no
 *    thread hand-off and no cross-core cache misses per frame;
 *  - the bit-rate unit of each element is known instead of guessed from the
 *    property's description (which divided kbit/s values by 1024);
 *  - x265enc runs with zero-latency settings, so it emits one output per
 *    input (with spice's fork it emits nothing for 28 frames).
 */
#include "config.h"

#include <string.h>

#if SV_HAVE_GST_ENCODERS
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#endif

#include "fault.h"
#include "frame-encoder.h"
#include "gstreamer-encoder.h"

#if SV_HAVE_GST_ENCODERS

/* ---- options ----------------------------------------------------------------- */

static const char *const speed_presets[] = {
    "ultrafast", "superfast", "veryfast", "faster",   "fast",
    "medium",    "slow",      "slower",   "veryslow", NULL,
};

/* x264enc's psy-tune; zerolatency is always set on top (one output per input). */
static const char *const psy_tunes[] = {"none", "film", "animation", "grain", "psnr", "ssim", NULL};

static const char keyint_help[] =
    "frames between key frames (0 = the element's default; key frames are also sent on request)";
static const char threads_help[] = "encoder threads (0 = the element's default)";
static const char yuv444_help[] =
    "encode 4:4:4 instead of 4:2:0 (not every client decodes 4:4:4 profiles)";
static const char cpu_used_help[] =
    "libvpx speed/quality trade-off (higher is faster; spice-server uses 4)";

const SvEncoderOption sv_gstreamer_mjpeg_options[] = {
    {"yuv444", SV_OPTION_BOOL, 0, 1, 0, NULL, yuv444_help},
    {NULL},
};

const SvEncoderOption sv_gstreamer_vp8_options[] = {
    {"cpu-used", SV_OPTION_INT, -16, 16, 4, NULL, cpu_used_help},
    {"keyint", SV_OPTION_INT, 0, 10000, 0, NULL, keyint_help},
    {"threads", SV_OPTION_INT, 0, 64, 0, NULL, threads_help},
    {NULL},
};

const SvEncoderOption sv_gstreamer_vp9_options[] = {
    {"cpu-used", SV_OPTION_INT, -16, 16, 4, NULL, cpu_used_help},
    {"keyint", SV_OPTION_INT, 0, 10000, 0, NULL, keyint_help},
    {"threads", SV_OPTION_INT, 0, 64, 0, NULL, threads_help},
    {"yuv444", SV_OPTION_BOOL, 0, 1, 0, NULL, yuv444_help}, /* profile 1 */
    {NULL},
};

const SvEncoderOption sv_gstreamer_h264_options[] = {
    {"preset", SV_OPTION_ENUM, 0, 0, 0, speed_presets,
     "x264 speed preset (spice-server uses ultrafast)"},
    {"tune", SV_OPTION_ENUM, 0, 0, 0, psy_tunes,
     "x264 psycho-visual tuning, on top of the zero-latency tuning that is always set"},
    {"keyint", SV_OPTION_INT, 0, 10000, 0, NULL, keyint_help},
    {"threads", SV_OPTION_INT, 0, 64, 0, NULL, threads_help},
    {"intra-refresh", SV_OPTION_BOOL, 0, 1, 1, NULL,
     "periodic intra refresh instead of key frames, for even frame sizes (spice-server's "
     "setting); a requested key frame then restarts the pipeline"},
    {"yuv444", SV_OPTION_BOOL, 0, 1, 0, NULL, yuv444_help}, /* High 4:4:4 Predictive */
    {NULL},
};

const SvEncoderOption sv_gstreamer_h265_options[] = {
    {"preset", SV_OPTION_ENUM, 0, 0, 0, speed_presets, "x265 speed preset"},
    {"keyint", SV_OPTION_INT, 0, 10000, 0, NULL, keyint_help},
    {"threads", SV_OPTION_INT, 0, 64, 0, NULL, threads_help},
    {"yuv444", SV_OPTION_BOOL, 0, 1, 0, NULL, yuv444_help}, /* Main 4:4:4 */
    {NULL},
};

/* @return the value of option @name, or @fallback if @table has no such option. */
static int option_value(const SvEncoderOption *table, const int *values, const char *name,
                        int fallback)
{
    for (guint i = 0; table[i].name != NULL; i++) {
        if (strcmp(table[i].name, name) == 0) {
            return values[i];
        }
    }
    return fallback;
}

/* ---- codecs ------------------------------------------------------------------- */

typedef struct {
    SpiceVideoCodecType codec;
    const char *element;
    /* Between the encoder and appsink, or NULL: pins H.264/H.265 to Annex-B
     * with one access unit per buffer, what spice-gtk's parsers expect. */
    const char *output_caps;
    /* bit/s per unit of the bit-rate property. Known per element rather than
     * guessed from the property's description (spice divided "kbit" values by
     * 1024, but x264 and x265 mean 1000 bit/s). */
    guint bit_rate_unit_bps;
    /* Run without a clock: avenc_mjpeg otherwise stalls (GNOME bug 753257,
     * reference 4.2). */
    gboolean clockless;
    /* 4:2:0 needs even sizes: x264 and x265 refuse odd ones, and the
     * bitstream cannot crop by one pixel (crop units are 2 in 4:2:0). */
    gboolean even_420;
    const SvEncoderOption *options;
} CodecInfo;

static const CodecInfo codecs[] = {
    /* avenc_mjpeg "bitrate": bit/s. */
    {SPICE_VIDEO_CODEC_TYPE_MJPEG, "avenc_mjpeg", NULL, 1, TRUE, FALSE, sv_gstreamer_mjpeg_options},
    /* vp8enc "target-bitrate": bit/s. */
    {SPICE_VIDEO_CODEC_TYPE_VP8, "vp8enc", NULL, 1, FALSE, FALSE, sv_gstreamer_vp8_options},
    /* x264enc "bitrate": kbit/s of 1000 bit. */
    {SPICE_VIDEO_CODEC_TYPE_H264, "x264enc", "video/x-h264,stream-format=byte-stream,alignment=au",
     1000, FALSE, TRUE, sv_gstreamer_h264_options},
    /* vp9enc "target-bitrate": bit/s. */
    {SPICE_VIDEO_CODEC_TYPE_VP9, "vp9enc", NULL, 1, FALSE, FALSE, sv_gstreamer_vp9_options},
    /* x265enc "bitrate": kbit/s of 1000 bit. */
    {SPICE_VIDEO_CODEC_TYPE_H265, "x265enc", "video/x-h265,stream-format=byte-stream,alignment=au",
     1000, FALSE, TRUE, sv_gstreamer_h265_options},
};

static const CodecInfo *codec_info(SpiceVideoCodecType codec)
{
    for (guint i = 0; i < G_N_ELEMENTS(codecs); i++) {
        if (codecs[i].codec == codec) {
            return &codecs[i];
        }
    }
    return NULL;
}

const SvEncoderOption *sv_gstreamer_options_for_codec(SpiceVideoCodecType codec)
{
    const CodecInfo *info = codec_info(codec);
    return info != NULL ? info->options : NULL;
}

const char *sv_gstreamer_element_for_codec(SpiceVideoCodecType codec)
{
    const CodecInfo *info = codec_info(codec);
    return info != NULL ? info->element : NULL;
}

/* ---- GStreamer set-up and probe ------------------------------------------------ */

static gboolean ensure_gst(GError **error)
{
    static gsize once;
    static char *init_error; /* NULL when GStreamer initialised */

    if (g_once_init_enter(&once)) {
        GError *init = NULL;
        if (!gst_init_check(NULL, NULL, &init)) {
            init_error = g_strdup(init != NULL ? init->message : "unknown error");
        }
        g_clear_error(&init);
        g_once_init_leave(&once, 1);
    }
    if (init_error != NULL) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "GStreamer cannot initialise: %s", init_error);
        return FALSE;
    }
    return TRUE;
}

static gboolean element_installed(const char *element, GError **error)
{
    if (!ensure_gst(error)) {
        return FALSE;
    }
    GstElementFactory *factory = gst_element_factory_find(element);
    if (factory == NULL) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE, "%s not installed",
                    element);
        return FALSE;
    }
    gst_object_unref(factory);
    return TRUE;
}

gboolean sv_gstreamer_probe(const SvEncoderDesc *desc, GError **error)
{
    g_return_val_if_fail(desc != NULL, FALSE);

    const CodecInfo *info = codec_info(desc->codec_type);
    if (info == NULL) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "no GStreamer encoder for %s", sv_video_codec_type_to_string(desc->codec_type));
        return FALSE;
    }
    return element_installed(info->element, error);
}

/* ---- the backend ---------------------------------------------------------------- */

typedef struct {
    const CodecInfo *info;
    int options[SV_MAX_ENCODER_OPTIONS];

    /* The running pipeline, NULL before start() and after a failure. */
    GstElement *pipeline;
    /* Ours, linked to the encoder's sink pad: gst_pad_push() runs the
     * encoder's chain function on the caller's thread. */
    GstPad *srcpad;
    GstElement *encoder;
    GstAppSink *appsink;
    GstBus *bus;
    /* Copied input frames: reused buffers, so a copy costs no page faults
     * (a fresh 720p buffer faults in 1.4 MB every frame). */
    GstBufferPool *pool;
    /* TRUE once a copied frame was seen released by the element when the
     * push returned: from then on frames in the frame encoder's layout are
     * wrapped instead of copied (see wrap_frame()). */
    gboolean inputs_released;
    /* An element that kept a wrapped frame: copy for good. */
    gboolean never_wrap;
    guint64 wrapped_frames; /* for tests */
    GstVideoInfo video_info;
    SvBackendFormat format;
    int64_t frame_duration_ns;
    int64_t last_pts_ns;

    /* The encoder's bit-rate property (owned by its class), or NULL. */
    GParamSpec *bit_rate_pspec;
    uint64_t bit_rate_bps;

    /* Set by the bus sync handler, from any streaming thread. */
    GMutex lock;
    gboolean failed;
    char *failure;
} GstBackend;

typedef struct {
    VideoBuffer base;
    GstBuffer *buffer;
    GstMapInfo map;
} GstVideoBuffer;

static void gst_video_buffer_free(VideoBuffer *video_buffer)
{
    GstVideoBuffer *buf = (GstVideoBuffer *)video_buffer;

    /* Holds only its own buffer reference: fine after the backend is gone. */
    gst_buffer_unmap(buf->buffer, &buf->map);
    gst_buffer_unref(buf->buffer);
    g_free(buf);
}

static GstBusSyncReply bus_sync_handler(GstBus *bus, GstMessage *message, gpointer user_data)
{
    GstBackend *backend = user_data;

    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR ||
        GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS) {
        g_autoptr(GError) error = NULL;
        g_autofree char *debug = NULL;
        char *text;

        if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
            gst_message_parse_error(message, &error, &debug);
            text = g_strdup_printf("%s: %s (%s)", GST_OBJECT_NAME(GST_MESSAGE_SRC(message)),
                                   error->message, debug != NULL ? debug : "no details");
        } else {
            text = g_strdup("unexpected end of stream");
        }
        g_mutex_lock(&backend->lock);
        if (!backend->failed) {
            backend->failed = TRUE;
            backend->failure = text;
        } else {
            g_free(text);
        }
        g_mutex_unlock(&backend->lock);
    }
    /* Nobody reads the bus: drop everything so it never grows. A sync
     * handler that drops a message owns it and must unref it. */
    gst_message_unref(message);
    return GST_BUS_DROP;
}

/* @return TRUE (and logs why) if the pipeline reported an error or EOS. */
static gboolean pipeline_failed(GstBackend *backend)
{
    gboolean failed;

    g_mutex_lock(&backend->lock);
    failed = backend->failed;
    if (failed && backend->failure != NULL) {
        g_debug("gstreamer %s pipeline failed: %s", backend->info->element, backend->failure);
        g_clear_pointer(&backend->failure, g_free);
    }
    g_mutex_unlock(&backend->lock);
    return failed;
}

static void stop_pipeline(GstBackend *backend)
{
    if (backend->pipeline == NULL) {
        return;
    }
    gst_element_set_state(backend->pipeline, GST_STATE_NULL);
    if (backend->srcpad != NULL) {
        gst_pad_set_active(backend->srcpad, FALSE);
        g_clear_pointer(&backend->srcpad, gst_object_unref);
    }
    if (backend->pool != NULL) {
        gst_buffer_pool_set_active(backend->pool, FALSE);
        g_clear_pointer(&backend->pool, gst_object_unref);
    }
    gst_bus_set_sync_handler(backend->bus, NULL, NULL, NULL);
    g_clear_pointer(&backend->bus, gst_object_unref);
    g_clear_pointer(&backend->appsink, gst_object_unref);
    g_clear_pointer(&backend->encoder, gst_object_unref);
    g_clear_pointer(&backend->pipeline, gst_object_unref);
    backend->bit_rate_pspec = NULL;

    g_mutex_lock(&backend->lock);
    backend->failed = FALSE;
    g_clear_pointer(&backend->failure, g_free);
    g_mutex_unlock(&backend->lock);
}

static void set_arg(GstElement *element, const char *name, const char *value)
{
    gst_util_set_object_arg(G_OBJECT(element), name, value);
}

static void set_int_arg(GstElement *element, const char *name, int value)
{
    char text[16];
    g_snprintf(text, sizeof(text), "%d", value);
    gst_util_set_object_arg(G_OBJECT(element), name, text);
}

/* The element settings of reference 4.2 (spice-server's), plus our options. */
static void configure_encoder(GstBackend *backend, GstElement *encoder)
{
    const SvEncoderOption *table = backend->info->options;
    const int *values = backend->options;
    int keyint = option_value(table, values, "keyint", 0);
    int threads = option_value(table, values, "threads", 0);

    switch (backend->info->codec) {
    case SPICE_VIDEO_CODEC_TYPE_VP8:
    case SPICE_VIDEO_CODEC_TYPE_VP9:
        /* Constant rate, a quantizer floor, error resilience, and no lag with
         * the real-time deadline: one output per input. */
        set_arg(encoder, "end-usage", "cbr");
        set_arg(encoder, "min-quantizer", "10");
        set_arg(encoder, "error-resilient", "default");
        set_arg(encoder, "lag-in-frames", "0");
        set_arg(encoder, "deadline", "1");
        set_int_arg(encoder, "cpu-used", option_value(table, values, "cpu-used", 4));
        if (keyint > 0) {
            set_int_arg(encoder, "keyframe-max-dist", keyint);
        }
        if (threads > 0) {
            set_int_arg(encoder, "threads", threads);
        }
        break;
    case SPICE_VIDEO_CODEC_TYPE_H264:
        /* spice-server's settings: Annex-B with access unit delimiters, a
         * quantizer range, zero latency (no B-frames, no look-ahead) and
         * periodic intra refresh for even frame sizes. */
        set_arg(encoder, "byte-stream", "true");
        set_arg(encoder, "aud", "true");
        set_arg(encoder, "qp-min", "15");
        set_arg(encoder, "qp-max", "35");
        set_arg(encoder, "tune", "zerolatency");
        set_arg(encoder, "sliced-threads", "true");
        set_arg(encoder, "intra-refresh",
                option_value(table, values, "intra-refresh", 1) ? "true" : "false");
        set_arg(encoder, "speed-preset", speed_presets[option_value(table, values, "preset", 0)]);
        set_arg(encoder, "psy-tune", psy_tunes[option_value(table, values, "tune", 0)]);
        if (keyint > 0) {
            set_int_arg(encoder, "key-int-max", keyint);
        }
        if (threads > 0) {
            set_int_arg(encoder, "threads", threads);
        }
        break;
    case SPICE_VIDEO_CODEC_TYPE_H265:
        /* Zero latency: without it x265enc holds back ~28 frames (reference
         * 4.11). Closed GOPs, so that a requested key frame is an IDR (x265
         * makes it a CRA otherwise), with VPS/SPS/PPS in front of every one
         * as x264 does. x265enc has no thread property: pools go through its
         * option string. */
        set_arg(encoder, "tune", "zerolatency");
        set_arg(encoder, "speed-preset", speed_presets[option_value(table, values, "preset", 0)]);
        if (keyint > 0) {
            set_int_arg(encoder, "key-int-max", keyint);
        }
        {
            g_autofree char *x265_options =
                threads > 0 ? g_strdup_printf("open-gop=0:repeat-headers=1:pools=%d", threads)
                            : g_strdup("open-gop=0:repeat-headers=1");
            set_arg(encoder, "option-string", x265_options);
        }
        break;
    case SPICE_VIDEO_CODEC_TYPE_MJPEG:
    default:
        break;
    }
}

/* The element's value for @bit_rate_bps, in its unit, clamped to its range. */
static void set_element_bit_rate(GstBackend *backend, uint64_t bit_rate_bps)
{
    GParamSpec *pspec = backend->bit_rate_pspec;
    guint unit = backend->info->bit_rate_unit_bps;
    /* Round to the nearest unit, but never to 0 (auto for vpx). */
    uint64_t value = MAX((bit_rate_bps + unit / 2) / unit, 1);
    GValue gvalue = G_VALUE_INIT;

    if (pspec == NULL) {
        return;
    }
    g_value_init(&gvalue, pspec->value_type);
    switch (pspec->value_type) {
    case G_TYPE_INT: {
        GParamSpecInt *p = G_PARAM_SPEC_INT(pspec);
        g_value_set_int(&gvalue, (int)CLAMP(value, (uint64_t)MAX(p->minimum, 0),
                                            (uint64_t)MAX(p->maximum, 0)));
        break;
    }
    case G_TYPE_UINT: {
        GParamSpecUInt *p = G_PARAM_SPEC_UINT(pspec);
        g_value_set_uint(&gvalue, (guint)CLAMP(value, p->minimum, p->maximum));
        break;
    }
    case G_TYPE_INT64: {
        GParamSpecInt64 *p = G_PARAM_SPEC_INT64(pspec);
        g_value_set_int64(&gvalue, (gint64)CLAMP(value, (uint64_t)MAX(p->minimum, 0),
                                                 (uint64_t)MAX(p->maximum, 0)));
        break;
    }
    case G_TYPE_UINT64: {
        GParamSpecUInt64 *p = G_PARAM_SPEC_UINT64(pspec);
        g_value_set_uint64(&gvalue, CLAMP(value, p->minimum, p->maximum));
        break;
    }
    default:
        g_debug("gstreamer %s: bit-rate property of unexpected type %s", backend->info->element,
                g_type_name(pspec->value_type));
        g_value_unset(&gvalue);
        return;
    }
    g_object_set_property(G_OBJECT(backend->encoder), pspec->name, &gvalue);
    g_value_unset(&gvalue);
}

static GstElement *make_element(const char *factory_name, const char *name)
{
    return sv_fault_hit("gst.element") ? NULL : gst_element_factory_make(factory_name, name);
}

static void *gst_backend_create(SpiceVideoCodecType codec, const int *options, GError **error)
{
    const CodecInfo *info = codec_info(codec);

    if (info == NULL) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "the GStreamer backend does not produce %s",
                    sv_video_codec_type_to_string(codec));
        return NULL;
    }
    if (!element_installed(info->element, error)) {
        return NULL;
    }
    /* As spice's throw-away pipeline (reference 4.1): an element that is
     * installed but cannot be instantiated (a plugin that fails to load)
     * makes the factory fail, so negotiation moves on. */
    GstElement *check = make_element(info->element, NULL);
    if (check == NULL) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "%s is installed but cannot be created", info->element);
        return NULL;
    }
    gst_object_unref(gst_object_ref_sink(check));

    GstBackend *backend = g_new0(GstBackend, 1);
    backend->info = info;
    g_mutex_init(&backend->lock);
    for (guint i = 0; info->options[i].name != NULL; i++) {
        backend->options[i] = options != NULL ? options[i] : info->options[i].default_value;
    }
    return backend;
}

/* Upstream events and queries reach our source pad (latency queries,
 * reconfigure, QoS); nothing upstream acts on them. */
static gboolean srcpad_event(GstPad *pad, GstObject *parent, GstEvent *event)
{
    (void)pad;
    (void)parent;
    gst_event_unref(event);
    return FALSE;
}

static gboolean srcpad_query(GstPad *pad, GstObject *parent, GstQuery *query)
{
    (void)pad;
    (void)parent;
    (void)query;
    return FALSE;
}

static gboolean build_pipeline(GstBackend *backend, const SvBackendFormat *format, GError **error)
{
    const CodecInfo *info = backend->info;
    GstElement *pipeline = gst_pipeline_new(NULL);
    GstElement *encoder = make_element(info->element, "encoder");
    GstElement *filter = NULL;
    GstElement *sink = make_element("appsink", "sink");

    if (info->output_caps != NULL) {
        filter = make_element("capsfilter", "output-caps");
    }
    if (encoder == NULL || sink == NULL || (info->output_caps != NULL && filter == NULL)) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "cannot create the %s pipeline: no %s element", info->element,
                    encoder == NULL ? info->element
                    : sink == NULL  ? "appsink"
                                    : "capsfilter");
        if (encoder != NULL) {
            gst_object_unref(gst_object_ref_sink(encoder));
        }
        if (filter != NULL) {
            gst_object_unref(gst_object_ref_sink(filter));
        }
        if (sink != NULL) {
            gst_object_unref(gst_object_ref_sink(sink));
        }
        gst_object_unref(pipeline);
        return FALSE;
    }

    /* Odd 4:2:0 sizes are padded by one line/column, repeating the edge: the
     * client decodes a frame one pixel larger, never a distorted one. */
    gboolean pad = info->even_420 && !format->yuv444;
    gst_video_info_set_format(&backend->video_info,
                              format->yuv444 ? GST_VIDEO_FORMAT_Y444 : GST_VIDEO_FORMAT_I420,
                              pad ? (format->width + 1) & ~1u : format->width,
                              pad ? (format->height + 1) & ~1u : format->height);
    backend->video_info.fps_n = (int)MAX(format->fps, 1);
    backend->video_info.fps_d = 1;

    /* sync=false: output as soon as it is encoded; async=false: the sink
     * does not wait for a first buffer to reach PLAYING. */
    g_object_set(sink, "sync", FALSE, "async", FALSE, "emit-signals", FALSE, "enable-last-sample",
                 FALSE, NULL);
    configure_encoder(backend, encoder);
    if (filter != NULL) {
        g_autoptr(GstCaps) output_caps = gst_caps_from_string(info->output_caps);
        g_object_set(filter, "caps", output_caps, NULL);
    }

    gst_bin_add_many(GST_BIN(pipeline), encoder, sink, NULL);
    gboolean linked;
    if (filter != NULL) {
        gst_bin_add(GST_BIN(pipeline), filter);
        linked = gst_element_link_many(encoder, filter, sink, NULL);
    } else {
        linked = gst_element_link(encoder, sink);
    }
    GstPad *srcpad = gst_pad_new("src", GST_PAD_SRC);
    gst_pad_set_event_function(srcpad, srcpad_event);
    gst_pad_set_query_function(srcpad, srcpad_query);
    if (linked) {
        GstPad *sinkpad = gst_element_get_static_pad(encoder, "sink");
        linked = sinkpad != NULL && GST_PAD_LINK_SUCCESSFUL(gst_pad_link(srcpad, sinkpad));
        g_clear_pointer(&sinkpad, gst_object_unref);
    }
    if (!linked) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "cannot link the %s pipeline", info->element);
        gst_object_unref(gst_object_ref_sink(srcpad));
        gst_object_unref(pipeline);
        return FALSE;
    }
    if (info->clockless) {
        gst_pipeline_use_clock(GST_PIPELINE(pipeline), NULL);
    }

    /* A pool of input buffers; without it (it cannot fail in practice)
     * every frame gets a new allocation. */
    g_autoptr(GstCaps) input_caps = gst_video_info_to_caps(&backend->video_info);
    GstBufferPool *pool = gst_video_buffer_pool_new();
    GstStructure *config = gst_buffer_pool_get_config(pool);
    gst_buffer_pool_config_set_params(config, input_caps,
                                      (guint)GST_VIDEO_INFO_SIZE(&backend->video_info), 2, 0);
    if (gst_buffer_pool_set_config(pool, config) && gst_buffer_pool_set_active(pool, TRUE)) {
        backend->pool = pool;
    } else {
        g_debug("gstreamer %s: no input buffer pool", info->element);
        gst_object_unref(pool);
    }

    backend->pipeline = pipeline;
    backend->srcpad = gst_object_ref_sink(srcpad);
    backend->encoder = gst_object_ref(encoder);
    backend->appsink = GST_APP_SINK(gst_object_ref(sink));
    backend->bus = gst_pipeline_get_bus(GST_PIPELINE(pipeline));
    gst_bus_set_sync_handler(backend->bus, bus_sync_handler, backend, NULL);

    /* Reference 4.2: `bitrate`, else `target-bitrate`. */
    GObjectClass *klass = G_OBJECT_GET_CLASS(encoder);
    backend->bit_rate_pspec = g_object_class_find_property(klass, "bitrate");
    if (backend->bit_rate_pspec == NULL) {
        backend->bit_rate_pspec = g_object_class_find_property(klass, "target-bitrate");
    }
    if (backend->bit_rate_pspec == NULL) {
        g_debug("gstreamer %s: no bit-rate property; the rate is not controlled", info->element);
    }
    return TRUE;
}

/* What a source element sends before its first buffer: stream start, the
 * input caps (the encoder configures its library on them) and a time
 * segment. FALSE if the encoder refuses one. */
static gboolean send_stream_events(GstBackend *backend)
{
    g_autoptr(GstCaps) caps = gst_video_info_to_caps(&backend->video_info);
    GstSegment segment;

    gst_segment_init(&segment, GST_FORMAT_TIME);
    if (!gst_pad_push_event(backend->srcpad, gst_event_new_stream_start("spice-video"))) {
        return FALSE;
    }
    if (!gst_pad_push_event(backend->srcpad, gst_event_new_caps(caps))) {
        return FALSE;
    }
    return gst_pad_push_event(backend->srcpad, gst_event_new_segment(&segment));
}

static gboolean gst_backend_start(void *opaque, const SvBackendFormat *format,
                                  uint64_t bit_rate_bps, GError **error)
{
    GstBackend *backend = opaque;

    g_return_val_if_fail(format != NULL && format->width > 0 && format->height > 0, FALSE);
    g_return_val_if_fail(format->codec == backend->info->codec, FALSE);

    stop_pipeline(backend);
    if (!build_pipeline(backend, format, error)) {
        return FALSE;
    }
    backend->format = *format;
    backend->frame_duration_ns = GST_SECOND / MAX(format->fps, 1);
    backend->last_pts_ns = -1;
    backend->bit_rate_bps = bit_rate_bps;
    set_element_bit_rate(backend, bit_rate_bps);

    GstStateChangeReturn change = sv_fault_hit("gst.playing")
                                      ? GST_STATE_CHANGE_FAILURE
                                      : gst_element_set_state(backend->pipeline, GST_STATE_PLAYING);
    if (change != GST_STATE_CHANGE_FAILURE && !gst_pad_set_active(backend->srcpad, TRUE)) {
        change = GST_STATE_CHANGE_FAILURE;
    }
    if (change == GST_STATE_CHANGE_FAILURE || pipeline_failed(backend) ||
        !send_stream_events(backend)) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                    "the %s pipeline does not start for %ux%u %s", backend->info->element,
                    format->width, format->height, format->yuv444 ? "Y444" : "I420");
        stop_pipeline(backend);
        return FALSE;
    }
    g_debug("gstreamer %s: started %ux%u %s at %u fps, %" G_GUINT64_FORMAT " bit/s",
            backend->info->element, format->width, format->height, format->yuv444 ? "Y444" : "I420",
            format->fps, bit_rate_bps);
    return TRUE;
}

static gboolean gst_backend_set_bit_rate(void *opaque, uint64_t bit_rate_bps)
{
    GstBackend *backend = opaque;

    backend->bit_rate_bps = bit_rate_bps;
    if (backend->pipeline == NULL || backend->bit_rate_pspec == NULL ||
        !(backend->bit_rate_pspec->flags & GST_PARAM_MUTABLE_PLAYING)) {
        /* Takes effect at the next start(). */
        return FALSE;
    }
    set_element_bit_rate(backend, bit_rate_bps);
    return TRUE;
}

/* One copy into the layout GStreamer expects (its own strides and offsets). */
static GstBuffer *copy_frame(GstBackend *backend, const SvYuvFrame *frame)
{
    GstBuffer *buffer = NULL;
    GstVideoFrame video_frame;

    if (backend->pool == NULL ||
        gst_buffer_pool_acquire_buffer(backend->pool, &buffer, NULL) != GST_FLOW_OK) {
        buffer = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&backend->video_info), NULL);
    }
    if (buffer == NULL) {
        return NULL;
    }
    if (!gst_video_frame_map(&video_frame, &backend->video_info, buffer, GST_MAP_WRITE)) {
        gst_buffer_unref(buffer);
        return NULL;
    }
    for (guint plane = 0; plane < 3; plane++) {
        guint8 *dst = GST_VIDEO_FRAME_PLANE_DATA(&video_frame, plane);
        int dst_stride = GST_VIDEO_FRAME_PLANE_STRIDE(&video_frame, plane);
        int dst_rows = GST_VIDEO_FRAME_COMP_HEIGHT(&video_frame, plane);
        int dst_width = GST_VIDEO_FRAME_COMP_WIDTH(&video_frame, plane);
        gboolean full = plane == 0 || frame->yuv444;
        int rows = (int)(full ? frame->height : (frame->height + 1) / 2);
        int row_bytes = (int)(full ? frame->width : (frame->width + 1) / 2);
        const uint8_t *src = frame->planes[plane];

        /* The source plane may be one line/column smaller (odd 4:2:0 sizes
         * padded to even ones): repeat its last column and line. */
        for (int y = 0; y < dst_rows; y++) {
            const uint8_t *src_row = src + (gsize)MIN(y, rows - 1) * frame->strides[plane];
            guint8 *dst_row = dst + (gsize)y * dst_stride;

            memcpy(dst_row, src_row, MIN(row_bytes, dst_width));
            if (dst_width > row_bytes) {
                memset(dst_row + row_bytes, src_row[row_bytes - 1], dst_width - row_bytes);
            }
        }
    }
    gst_video_frame_unmap(&video_frame);
    return buffer;
}

/*
 * The caller's planes as a GstBuffer, without a copy, when they are one
 * block in the frame encoder's layout (Y, then U, then V, each right after
 * the previous one) and need no padding; NULL otherwise. A GstVideoMeta
 * gives the strides and offsets (the elements map frames with
 * gst_video_frame_map(), which follows it). The buffer must be released by
 * the element before encode() returns: the caller reuses the planes.
 */
static GstBuffer *wrap_frame(GstBackend *backend, const SvYuvFrame *frame)
{
    const GstVideoInfo *info = &backend->video_info;
    guint rows[3], chroma_rows = frame->yuv444 ? frame->height : (frame->height + 1) / 2;
    guint chroma_width = frame->yuv444 ? frame->width : (frame->width + 1) / 2;
    gsize offsets[GST_VIDEO_MAX_PLANES] = {0};
    gint strides[GST_VIDEO_MAX_PLANES] = {0};

    if (GST_VIDEO_INFO_WIDTH(info) != (gint)frame->width ||
        GST_VIDEO_INFO_HEIGHT(info) != (gint)frame->height) {
        return NULL; /* padded: copy_frame() repeats the edge */
    }
    rows[0] = frame->height;
    rows[1] = rows[2] = chroma_rows;
    for (guint plane = 0; plane < 3; plane++) {
        guint width = plane == 0 ? frame->width : chroma_width;
        if (frame->planes[plane] == NULL || frame->strides[plane] < (int)width) {
            return NULL;
        }
        strides[plane] = frame->strides[plane];
        if (plane > 0) {
            /* Exactly contiguous, so the block holds nothing but the planes. */
            gsize previous = (gsize)strides[plane - 1] * rows[plane - 1];
            if (frame->planes[plane] != frame->planes[plane - 1] + previous) {
                return NULL;
            }
            offsets[plane] = offsets[plane - 1] + previous;
        }
    }
    gsize size = offsets[2] + (gsize)strides[2] * rows[2];
    GstBuffer *buffer =
        gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, (gpointer)frame->planes[0], size, 0,
                                    size, NULL, NULL);
    gst_buffer_add_video_meta_full(buffer, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(info),
                                   frame->width, frame->height, 3, offsets, strides);
    return buffer;
}

static void request_key_frame(GstBackend *backend)
{
    GstPad *pad = gst_element_get_static_pad(backend->encoder, "src");
    GstEvent *event = gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0);

    /* The encoder applies it to the next frame it receives. */
    if (pad == NULL || !gst_pad_send_event(pad, event)) {
        g_debug("gstreamer %s: the key-frame request was not handled", backend->info->element);
    }
    if (pad == NULL) {
        gst_event_unref(event);
    } else {
        gst_object_unref(pad);
    }
}

/* Long enough to notice an error promptly without spinning. */
#define PULL_SLICE_NS (20 * GST_MSECOND)

static SvBackendResult gst_backend_encode(void *opaque, const SvYuvFrame *frame, int64_t timeout_ns,
                                          VideoBuffer **out)
{
    GstBackend *backend = opaque;

    g_return_val_if_fail(frame != NULL && out != NULL, SV_BACKEND_ERROR);
    if (backend->pipeline != NULL && sv_fault_hit("gst.encode")) {
        /* What an encoder element does when it fails: an error on the bus,
         * which the sync handler records at once. */
        GST_ELEMENT_ERROR(backend->encoder, STREAM, ENCODE, ("injected fault gst.encode"), (NULL));
    }
    if (backend->pipeline == NULL || pipeline_failed(backend)) {
        return SV_BACKEND_ERROR;
    }
    if (frame->width != backend->format.width || frame->height != backend->format.height ||
        frame->yuv444 != backend->format.yuv444) {
        g_debug("gstreamer %s: frame does not match the started format", backend->info->element);
        return SV_BACKEND_ERROR;
    }

    if (frame->force_key_frame && backend->info->codec == SPICE_VIDEO_CODEC_TYPE_H264 &&
        option_value(backend->info->options, backend->options, "intra-refresh", 0)) {
        /* x264 turns a forced IDR into a new refresh wave when intra refresh
         * is on; only a new encoder starts with an IDR (and its SPS/PPS). */
        g_autoptr(GError) error = NULL;
        SvBackendFormat format = backend->format;
        if (!gst_backend_start(backend, &format, backend->bit_rate_bps, &error)) {
            g_debug("gstreamer %s: restart for a key frame failed: %s", backend->info->element,
                    error->message);
            return SV_BACKEND_ERROR;
        }
    }

    GstBuffer *buffer = NULL;
    gboolean wrapped = FALSE;
    if (backend->inputs_released && !backend->never_wrap) {
        buffer = wrap_frame(backend, frame);
        wrapped = buffer != NULL;
    }
    if (buffer == NULL) {
        buffer = copy_frame(backend, frame);
    }
    if (buffer == NULL) {
        return SV_BACKEND_ERROR;
    }
    /* Encoders want strictly increasing time stamps; mm_time can repeat. */
    int64_t pts = MAX(frame->pts_ns, 0);
    if (pts <= backend->last_pts_ns) {
        pts = backend->last_pts_ns + GST_MSECOND;
    }
    backend->last_pts_ns = pts;
    GST_BUFFER_PTS(buffer) = pts;
    GST_BUFFER_DTS(buffer) = pts;
    GST_BUFFER_DURATION(buffer) = backend->frame_duration_ns;

    if (frame->force_key_frame) {
        request_key_frame(backend);
    }
    /* The encoder's chain function runs here: the software encoders we
     * drive finish the frame before it returns, so the output is normally
     * in appsink already and the wait below is one look. An element that
     * encodes on threads of its own, or holds frames back, is waited for
     * until @timeout_ns after the push began. */
    int64_t deadline_ns = g_get_monotonic_time() * 1000 + MAX(timeout_ns, 0);
    /* Our reference tells afterwards whether the element still holds the
     * frame. */
    gst_buffer_ref(buffer);
    GstFlowReturn flow = gst_pad_push(backend->srcpad, buffer);
    SvBackendResult result = SV_BACKEND_OK;
    GstSample *sample = NULL;
    if (flow != GST_FLOW_OK) {
        g_debug("gstreamer %s: the encoder refused the frame: %s", backend->info->element,
                gst_flow_get_name(flow));
        result = SV_BACKEND_ERROR;
    }
    while (result == SV_BACKEND_OK) {
        int64_t remaining_ns = deadline_ns - g_get_monotonic_time() * 1000;
        sample = gst_app_sink_try_pull_sample(backend->appsink,
                                              (GstClockTime)CLAMP(remaining_ns, 0, PULL_SLICE_NS));
        if (sample != NULL) {
            break;
        }
        if (pipeline_failed(backend) || gst_app_sink_is_eos(backend->appsink)) {
            result = SV_BACKEND_ERROR;
        } else if (remaining_ns <= 0) {
            g_debug("gstreamer %s: no output within %" G_GINT64_FORMAT " ms",
                    backend->info->element, timeout_ns / 1000000);
            result = SV_BACKEND_TIMEOUT;
        }
    }
    gboolean released = GST_MINI_OBJECT_REFCOUNT_VALUE(buffer) == 1;
    gst_buffer_unref(buffer);
    if (!wrapped) {
        backend->inputs_released = released;
    } else if (released) {
        backend->wrapped_frames++;
    } else {
        /* The element kept the caller's planes, which change after we
         * return: stop it now (that drops the frame) and copy from now on.
         * The output already pulled is good; the new pipeline begins with
         * a key frame. */
        g_debug("gstreamer %s: the element keeps its input frames; copying them from now on",
                backend->info->element);
        backend->never_wrap = TRUE;
        SvBackendFormat format = backend->format;
        g_autoptr(GError) error = NULL;
        stop_pipeline(backend);
        if (!gst_backend_start(backend, &format, backend->bit_rate_bps, &error)) {
            g_debug("gstreamer %s: restart failed: %s", backend->info->element, error->message);
        }
    }
    if (result != SV_BACKEND_OK) {
        return result;
    }

    GstVideoBuffer *video_buffer = g_new0(GstVideoBuffer, 1);
    GstBuffer *output = gst_sample_get_buffer(sample);
    if (output == NULL || !gst_buffer_map(output, &video_buffer->map, GST_MAP_READ)) {
        gst_sample_unref(sample);
        g_free(video_buffer);
        return SV_BACKEND_ERROR;
    }
    video_buffer->buffer = gst_buffer_ref(output);
    gst_sample_unref(sample);
    video_buffer->base.data = video_buffer->map.data;
    video_buffer->base.size = (uint32_t)video_buffer->map.size;
    video_buffer->base.free = gst_video_buffer_free;
    *out = &video_buffer->base;
    return SV_BACKEND_OK;
}

static void gst_backend_destroy(void *opaque)
{
    GstBackend *backend = opaque;

    if (backend == NULL) {
        return;
    }
    stop_pipeline(backend);
    g_mutex_clear(&backend->lock);
    g_free(backend);
}

void *sv_gstreamer_backend_get_element(void *opaque)
{
    GstBackend *backend = opaque;
    return backend != NULL ? backend->encoder : NULL;
}

uint64_t sv_gstreamer_backend_get_wrapped_frames(void *opaque)
{
    GstBackend *backend = opaque;
    return backend != NULL ? backend->wrapped_frames : 0;
}

const SvCodecBackendClass sv_gstreamer_backend_class = {
    .name = "gstreamer",
    .create = gst_backend_create,
    .start = gst_backend_start,
    .set_bit_rate = gst_backend_set_bit_rate,
    .encode = gst_backend_encode,
    .destroy = gst_backend_destroy,
};

#endif /* SV_HAVE_GST_ENCODERS */

/* ---- factories ------------------------------------------------------------------- */

VideoEncoder *sv_gstreamer_encoder_new_full(SpiceVideoCodecType codec_type,
                                            uint64_t starting_bit_rate,
                                            VideoEncoderRateControlCbs *cbs,
                                            bitmap_ref_t bitmap_ref, bitmap_unref_t bitmap_unref,
                                            const SvEncoderConfig *config)
{
#if SV_HAVE_GST_ENCODERS
    const SvEncoderOption *table = sv_gstreamer_options_for_codec(codec_type);

    if (table == NULL) {
        g_debug("no GStreamer encoder for codec type %d", codec_type);
        return NULL;
    }
    return sv_frame_encoder_new(&sv_gstreamer_backend_class, table, codec_type, starting_bit_rate,
                                cbs, bitmap_ref, bitmap_unref, config);
#else
    return NULL;
#endif
}

VideoEncoder *sv_gstreamer_encoder_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                       VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                       bitmap_unref_t bitmap_unref)
{
    return sv_gstreamer_encoder_new_full(codec_type, starting_bit_rate, cbs, bitmap_ref,
                                         bitmap_unref, NULL);
}
