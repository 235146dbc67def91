/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

#include "config.h"

#include <string.h>

#include <turbojpeg.h>

#if SV_HAVE_GSTREAMER
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#endif

#include <spice-video/registry.h>

#include "sim-decoder.h"

/* spice-gtk waits as long as it takes; a simulation must not hang on a
 * decoder that never answers. SV_DECODE_TIMEOUT_MS overrides it for runs
 * that are slow on purpose (tests under valgrind: tests/valgrind-run.sh). */
#define DECODE_TIMEOUT_US G_USEC_PER_SEC         /* 1 s */
#define DECODE_TIMEOUT_MAX_MS (24 * 3600 * 1000) /* 1 day */
/* How long one wait for the picture lasts before the bus is looked at. */
#define PULL_SLICE_NS (2 * GST_MSECOND)
/* Timestamps given to the frames (decoders only need them increasing). */
#define FRAME_DURATION_NS (GST_SECOND / 30)
/* sv_canvas_new's limit: no surface, hence no frame, is larger. */
#define MAX_PICTURE_SIZE 16384

G_DEFINE_QUARK(sv - sim - decoder - error - quark, sv_sim_decoder_error)

struct SvSimDecoder {
    SpiceVideoCodecType codec_type;
    /* The last picture, tightly packed (stride = width * 4). */
    uint8_t *pixels;
    size_t pixels_size;
    uint32_t width;
    uint32_t height;

    tjhandle tj; /* MJPEG */
#if SV_HAVE_GSTREAMER
    GstElement *pipeline;
    GstElement *appsrc;
    GstElement *appsink;
    GstBus *bus;
    uint64_t n_frames;
#endif
};

static gboolean ensure_pixels(SvSimDecoder *decoder, uint32_t width, uint32_t height)
{
    size_t needed = (size_t)width * height * 4;

    if (needed > decoder->pixels_size) {
        g_free(decoder->pixels);
        decoder->pixels = g_try_malloc(needed);
        decoder->pixels_size = decoder->pixels != NULL ? needed : 0;
    }
    decoder->width = width;
    decoder->height = height;
    return decoder->pixels != NULL;
}

/* ---- MJPEG: libjpeg-turbo, as spice-gtk's builtin decoder ------------------------------ */

static gboolean mjpeg_decode(SvSimDecoder *decoder, const uint8_t *data, size_t size,
                             GError **error)
{
    int width = 0, height = 0, subsamp = 0, colorspace = 0;

    if (size > G_MAXULONG || tjDecompressHeader3(decoder->tj, data, (unsigned long)size, &width,
                                                 &height, &subsamp, &colorspace) != 0) {
        g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_REFUSED,
                    "not a JPEG picture: %s", tjGetErrorStr2(decoder->tj));
        return FALSE;
    }
    if (width <= 0 || height <= 0 || width > MAX_PICTURE_SIZE || height > MAX_PICTURE_SIZE) {
        g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_REFUSED,
                    "JPEG picture of absurd size %dx%d", width, height);
        return FALSE;
    }
    if (!ensure_pixels(decoder, (uint32_t)width, (uint32_t)height)) {
        g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_REFUSED,
                    "no memory for a %dx%d picture", width, height);
        return FALSE;
    }
    /* spice-gtk: JDCT_IFAST, no fancy upsampling, output straight to BGRX. */
    if (tjDecompress2(decoder->tj, data, (unsigned long)size, decoder->pixels, width, width * 4,
                      height, TJPF_BGRX, TJFLAG_FASTDCT | TJFLAG_FASTUPSAMPLE) != 0 &&
        tjGetErrorCode(decoder->tj) != TJERR_WARNING) {
        g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_REFUSED,
                    "JPEG decoding failed: %s", tjGetErrorStr2(decoder->tj));
        return FALSE;
    }
    return TRUE;
}

/* ---- GStreamer: the elements spice-gtk's pipelines use ---------------------------------- */

#if SV_HAVE_GSTREAMER

typedef struct {
    const char *caps;
    const char *parser; /* NULL: none */
    const char *decoder;
} GstDecoderDesc;

static const GstDecoderDesc *gst_decoder_desc(SpiceVideoCodecType codec_type)
{
    static const GstDecoderDesc vp8 = {"video/x-vp8", NULL, "vp8dec"};
    static const GstDecoderDesc h264 = {"video/x-h264,stream-format=byte-stream,alignment=au",
                                        "h264parse", "avdec_h264"};
    static const GstDecoderDesc vp9 = {"video/x-vp9", NULL, "vp9dec"};
    static const GstDecoderDesc h265 = {"video/x-h265,stream-format=byte-stream,alignment=au",
                                        "h265parse", "avdec_h265"};

    switch (codec_type) {
    case SPICE_VIDEO_CODEC_TYPE_VP8:
        return &vp8;
    case SPICE_VIDEO_CODEC_TYPE_H264:
        return &h264;
    case SPICE_VIDEO_CODEC_TYPE_VP9:
        return &vp9;
    case SPICE_VIDEO_CODEC_TYPE_H265:
        return &h265;
    default:
        return NULL;
    }
}

static gboolean gst_ready(GError **error)
{
    if (gst_is_initialized()) {
        return TRUE;
    }
    g_autoptr(GError) gst_error = NULL;
    if (!gst_init_check(NULL, NULL, &gst_error)) {
        g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_UNAVAILABLE,
                    "GStreamer cannot start: %s", gst_error->message);
        return FALSE;
    }
    return TRUE;
}

static gboolean element_exists(const char *name)
{
    GstElementFactory *factory = gst_element_factory_find(name);

    if (factory == NULL) {
        return FALSE;
    }
    gst_object_unref(factory);
    return TRUE;
}

static gboolean gst_probe(const GstDecoderDesc *desc, GError **error)
{
    const char *needed[] = {desc->decoder, "appsrc", "appsink", "videoconvert", desc->parser};

    if (!gst_ready(error)) {
        return FALSE;
    }
    for (guint i = 0; i < G_N_ELEMENTS(needed); i++) {
        if (needed[i] != NULL && !element_exists(needed[i])) {
            g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_UNAVAILABLE,
                        "GStreamer element %s is not installed", needed[i]);
            return FALSE;
        }
    }
    return TRUE;
}

static void set_property_if_any(GstElement *element, const char *name, const char *value)
{
    if (element != NULL && g_object_class_find_property(G_OBJECT_GET_CLASS(element), name)) {
        gst_util_set_object_arg(G_OBJECT(element), name, value);
    }
}

static gboolean gst_setup(SvSimDecoder *decoder, const GstDecoderDesc *desc, GError **error)
{
    g_autoptr(GError) parse_error = NULL;
    g_autofree char *description =
        g_strdup_printf("appsrc name=src format=time ! %s%s%s name=dec ! videoconvert ! "
                        "video/x-raw,format=BGRx ! appsink name=sink sync=false",
                        desc->parser != NULL ? desc->parser : "", desc->parser != NULL ? " ! " : "",
                        desc->decoder);

    decoder->pipeline = gst_parse_launch(description, &parse_error);
    if (decoder->pipeline != NULL) {
        gst_object_ref_sink(decoder->pipeline);
    }
    if (decoder->pipeline == NULL || parse_error != NULL) {
        g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_SETUP,
                    "cannot build \"%s\": %s", description,
                    parse_error != NULL ? parse_error->message : "?");
        return FALSE;
    }
    decoder->appsrc = gst_bin_get_by_name(GST_BIN(decoder->pipeline), "src");
    decoder->appsink = gst_bin_get_by_name(GST_BIN(decoder->pipeline), "sink");
    decoder->bus = gst_element_get_bus(decoder->pipeline);

    g_autoptr(GstElement) dec = gst_bin_get_by_name(GST_BIN(decoder->pipeline), "dec");
    /* libav's frame threading holds frames back (one per extra thread);
     * a synchronous decode needs each picture out before the next frame. */
    set_property_if_any(dec, "thread-type", "slice");
    /* GstVideoDecoder tolerates decode errors silently by default (the
     * frame just never comes out); the first one is a refusal here. */
    set_property_if_any(dec, "max-errors", "0");

    g_autoptr(GstCaps) caps = gst_caps_from_string(desc->caps);
    gst_app_src_set_caps(GST_APP_SRC(decoder->appsrc), caps);
    if (gst_element_set_state(decoder->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_SETUP,
                    "\"%s\" would not start", description);
        return FALSE;
    }
    g_debug("decoder pipeline: %s", description);
    return TRUE;
}

static void gst_teardown(SvSimDecoder *decoder)
{
    if (decoder->pipeline != NULL) {
        gst_element_set_state(decoder->pipeline, GST_STATE_NULL);
    }
    g_clear_pointer(&decoder->appsrc, gst_object_unref);
    g_clear_pointer(&decoder->appsink, gst_object_unref);
    g_clear_pointer(&decoder->bus, gst_object_unref);
    g_clear_pointer(&decoder->pipeline, gst_object_unref);
}

/* @return TRUE if the bus says the frame will not come out (error, decode
 * warning, or the decoder's QoS drop message), with @error set. */
static gboolean bus_says_refused(SvSimDecoder *decoder, GError **error)
{
    for (;;) {
        g_autoptr(GstMessage) msg =
            gst_bus_pop_filtered(decoder->bus,
                                 GST_MESSAGE_ERROR | GST_MESSAGE_WARNING | GST_MESSAGE_QOS);
        if (msg == NULL) {
            return FALSE;
        }
        g_autoptr(GError) gst_error = NULL;
        switch (GST_MESSAGE_TYPE(msg)) {
        case GST_MESSAGE_ERROR:
            gst_message_parse_error(msg, &gst_error, NULL);
            break;
        case GST_MESSAGE_WARNING:
            gst_message_parse_warning(msg, &gst_error, NULL);
            break;
        default:
            g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_REFUSED,
                        "%s dropped the frame", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)));
            return TRUE;
        }
        g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_REFUSED, "%s: %s",
                    GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)),
                    gst_error != NULL ? gst_error->message : "error");
        return TRUE;
    }
}

static gboolean copy_sample(SvSimDecoder *decoder, GstSample *sample, GError **error)
{
    GstVideoInfo info;
    GstVideoFrame frame;
    GstCaps *caps = gst_sample_get_caps(sample);
    GstBuffer *buffer = gst_sample_get_buffer(sample);

    if (caps == NULL || buffer == NULL || !gst_video_info_from_caps(&info, caps) ||
        GST_VIDEO_INFO_FORMAT(&info) != GST_VIDEO_FORMAT_BGRx || GST_VIDEO_INFO_WIDTH(&info) <= 0 ||
        GST_VIDEO_INFO_HEIGHT(&info) <= 0 || GST_VIDEO_INFO_WIDTH(&info) > MAX_PICTURE_SIZE ||
        GST_VIDEO_INFO_HEIGHT(&info) > MAX_PICTURE_SIZE) {
        g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_REFUSED,
                    "the decoder produced an unexpected picture");
        return FALSE;
    }
    uint32_t width = (uint32_t)GST_VIDEO_INFO_WIDTH(&info);
    uint32_t height = (uint32_t)GST_VIDEO_INFO_HEIGHT(&info);
    if (!ensure_pixels(decoder, width, height) ||
        !gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ)) {
        g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_REFUSED,
                    "cannot read the decoded %ux%u picture", width, height);
        return FALSE;
    }
    const uint8_t *src = GST_VIDEO_FRAME_PLANE_DATA(&frame, 0);
    int src_stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
    for (uint32_t y = 0; y < height; y++) {
        memcpy(decoder->pixels + (size_t)y * width * 4, src + (gssize)y * src_stride,
               (size_t)width * 4);
    }
    gst_video_frame_unmap(&frame);
    return TRUE;
}

/* The wait for a picture: DECODE_TIMEOUT_US, or SV_DECODE_TIMEOUT_MS (read once). */
static int64_t decode_timeout_us(void)
{
    static gsize once = 0;
    static int64_t timeout_us = DECODE_TIMEOUT_US;
    if (g_once_init_enter(&once)) {
        const char *env = g_getenv("SV_DECODE_TIMEOUT_MS");
        guint64 ms = 0;
        if (env != NULL &&
            g_ascii_string_to_unsigned(env, 10, 1, DECODE_TIMEOUT_MAX_MS, &ms, NULL)) {
            timeout_us = (int64_t)ms * 1000;
        } else if (env != NULL) {
            g_message("SV_DECODE_TIMEOUT_MS='%s' is not a number of milliseconds from 1 to %d; "
                      "using %d ms",
                      env, DECODE_TIMEOUT_MAX_MS, (int)(DECODE_TIMEOUT_US / 1000));
        }
        g_once_init_leave(&once, 1);
    }
    return timeout_us;
}

static gboolean gst_decode(SvSimDecoder *decoder, const uint8_t *data, size_t size, GError **error)
{
    /* A pipeline that failed earlier decodes nothing more. */
    if (bus_says_refused(decoder, error)) {
        return FALSE;
    }
    GstBuffer *buffer = gst_buffer_new_memdup(data, size);
    GST_BUFFER_PTS(buffer) = decoder->n_frames * FRAME_DURATION_NS;
    GST_BUFFER_DURATION(buffer) = FRAME_DURATION_NS;
    decoder->n_frames++;
    GstFlowReturn flow = gst_app_src_push_buffer(GST_APP_SRC(decoder->appsrc), buffer);
    if (flow != GST_FLOW_OK) {
        g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_REFUSED,
                    "the decoder pipeline does not take frames (%s)", gst_flow_get_name(flow));
        return FALSE;
    }

    int64_t timeout_us = decode_timeout_us();
    int64_t deadline_us = g_get_monotonic_time() + timeout_us;
    for (;;) {
        g_autoptr(GstSample) sample =
            gst_app_sink_try_pull_sample(GST_APP_SINK(decoder->appsink), PULL_SLICE_NS);
        if (sample != NULL) {
            return copy_sample(decoder, sample, error);
        }
        if (bus_says_refused(decoder, error)) {
            return FALSE;
        }
        if (gst_app_sink_is_eos(GST_APP_SINK(decoder->appsink)) ||
            g_get_monotonic_time() >= deadline_us) {
            g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_TIMEOUT,
                        "no picture from the decoder within %" G_GINT64_FORMAT " ms",
                        timeout_us / 1000);
            return FALSE;
        }
    }
}

#endif /* SV_HAVE_GSTREAMER */

/* ---- public ------------------------------------------------------------------------------ */

gboolean sv_sim_decoder_probe(SpiceVideoCodecType codec_type, GError **error)
{
    if (codec_type == SPICE_VIDEO_CODEC_TYPE_MJPEG) {
        return TRUE;
    }
#if SV_HAVE_GSTREAMER
    const GstDecoderDesc *desc = gst_decoder_desc(codec_type);
    if (desc != NULL) {
        return gst_probe(desc, error);
    }
    g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_UNAVAILABLE,
                "no decoder for codec type %u", (unsigned)codec_type);
#else
    g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_UNAVAILABLE,
                "no decoder for codec type %u (%s): built without GStreamer", (unsigned)codec_type,
                sv_video_codec_type_to_string(codec_type));
#endif
    return FALSE;
}

SvSimDecoder *sv_sim_decoder_new(SpiceVideoCodecType codec_type, GError **error)
{
    if (!sv_sim_decoder_probe(codec_type, error)) {
        return NULL;
    }
    g_autoptr(SvSimDecoder) decoder = g_new0(SvSimDecoder, 1);
    decoder->codec_type = codec_type;
    if (codec_type == SPICE_VIDEO_CODEC_TYPE_MJPEG) {
        decoder->tj = tjInitDecompress();
        if (decoder->tj == NULL) {
            g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_SETUP,
                        "libjpeg-turbo: %s", tjGetErrorStr2(NULL));
            return NULL;
        }
        return g_steal_pointer(&decoder);
    }
#if SV_HAVE_GSTREAMER
    if (!gst_setup(decoder, gst_decoder_desc(codec_type), error)) {
        return NULL;
    }
#endif
    return g_steal_pointer(&decoder);
}

void sv_sim_decoder_free(SvSimDecoder *decoder)
{
    if (decoder == NULL) {
        return;
    }
    if (decoder->tj != NULL) {
        tjDestroy(decoder->tj);
    }
#if SV_HAVE_GSTREAMER
    gst_teardown(decoder);
#endif
    g_free(decoder->pixels);
    g_free(decoder);
}

SpiceVideoCodecType sv_sim_decoder_get_codec_type(const SvSimDecoder *decoder)
{
    g_return_val_if_fail(decoder != NULL, 0);
    return decoder->codec_type;
}

gboolean sv_sim_decoder_decode(SvSimDecoder *decoder, const uint8_t *data, size_t size,
                               SvSimPicture *picture, GError **error)
{
    gboolean ok = FALSE;

    g_return_val_if_fail(decoder != NULL, FALSE);
    g_return_val_if_fail(picture != NULL, FALSE);

    memset(picture, 0, sizeof(*picture));
    if (data == NULL || size == 0) {
        g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_REFUSED, "empty frame");
        return FALSE;
    }
    if (decoder->tj != NULL) {
        ok = mjpeg_decode(decoder, data, size, error);
    } else {
#if SV_HAVE_GSTREAMER
        ok = gst_decode(decoder, data, size, error);
#else
        g_set_error(error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_REFUSED, "no decoder");
#endif
    }
    if (!ok) {
        return FALSE;
    }
    picture->data = decoder->pixels;
    picture->stride = (int32_t)decoder->width * 4;
    picture->width = decoder->width;
    picture->height = decoder->height;
    return TRUE;
}
