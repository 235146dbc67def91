/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The example module sv-openh264.so, loaded as a SPICE server would load it
 * (sv_module_load, then the registry): it exports only the two module
 * symbols, registers openh264:h264, encodes a natural sequence with an odd
 * size and a mid-stream size change into a stream avdec_h264 (spice-gtk's
 * decoder) decodes frame for frame, honours its options, and takes part in
 * negotiation like a built-in encoder.
 *
 * The module's path comes from $SV_OPENH264_MODULE (set by meson).
 */
#include "config.h"

#include <dlfcn.h>
#include <math.h>
#include <string.h>

#include <glib.h>

#if SV_HAVE_GSTREAMER
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#endif

#include <spice-video/module.h>
#include <spice-video/registry.h>

#include "streaming-checks.h"

#define FPS SV_TEST_SOURCE_FPS /* streaming-checks.h: source_fps() */
#define STARTING_BIT_RATE (8u * 1000u * 1000u)
#define MIN_PSNR_DB 30.0
#define ENCODE_TIMEOUT_NS (20 * G_GINT64_CONSTANT(1000000000))

static const char *module_path;

/* ---- source frames ------------------------------------------------------------ */

typedef struct {
    guint width, height;
    guint8 *bgrx; /* top-down, stride width * 4 */
    double *luma; /* BT.601 limited range, what the encoder's conversion gives */
} Frame;

static guint8 to_u8(double v)
{
    return (guint8)CLAMP(lround(v), 0, 255);
}

/* Natural-looking content: drifting gradients, a moving soft blob, a fixed
 * fine texture (deterministic). */
static Frame *frame_new(guint width, guint height, guint index)
{
    Frame *f = g_new0(Frame, 1);
    double bx = width * (0.3 + 0.4 * sin(index * 0.2));
    double by = height * (0.5 + 0.3 * cos(index * 0.15));
    double sigma = 0.15 * MAX(width, height);

    f->width = width;
    f->height = height;
    f->bgrx = g_malloc((gsize)width * height * 4);
    f->luma = g_new(double, (gsize)width *height);
    for (guint y = 0; y < height; y++) {
        for (guint x = 0; x < width; x++) {
            double u = fmod((x + index * 2.5) / width, 1.0), v = (double)y / height;
            double d2 = ((x - bx) * (x - bx) + (y - by) * (y - by)) / (2 * sigma * sigma);
            double blob = 90.0 * exp(-d2);
            double texture = ((x * 7 + y * 13) % 11) - 5.0;
            guint8 r = to_u8(40 + 150 * u + blob + texture);
            guint8 g = to_u8(50 + 140 * v + 0.5 * blob + texture);
            guint8 b = to_u8(200 - 120 * (0.5 * u + 0.5 * v) + texture);
            guint8 *px = f->bgrx + ((gsize)y * width + x) * 4;

            px[0] = b;
            px[1] = g;
            px[2] = r;
            px[3] = 0xff;
            f->luma[(gsize)y * width + x] = 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0;
        }
    }
    return f;
}

static void frame_free(Frame *f)
{
    g_free(f->bgrx);
    g_free(f->luma);
    g_free(f);
}

/* ---- encoding ----------------------------------------------------------------- */

static VideoEncoderRateControlCbs cbs = {.get_source_fps = source_fps};

static VideoEncoder *encoder_new(const SvEncoderDesc *desc, const char *options)
{
    SvEncoderConfig config = {
        .clock = {.now_ns = virtual_clock},
        .options = options,
        .no_rate_control = TRUE,
        .encode_timeout_ns = ENCODE_TIMEOUT_NS,
        .max_threads = 1,
    };

    virtual_now_ns = 1000 * G_GINT64_CONSTANT(1000000000);
    return desc->create_full(desc->codec_type, STARTING_BIT_RATE, &cbs, bitmap_ref, bitmap_unref,
                             &config);
}

/* Encodes @f (whole) as frame @index; asserts it is encoded. */
static VideoBuffer *encode(VideoEncoder *encoder, const Frame *f, guint index)
{
    guint32 stride = f->width * 4;
    SpiceChunks *chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    SpiceBitmap bitmap = {
        .format = SPICE_BITMAP_FMT_32BIT,
        .flags = SPICE_BITMAP_FLAGS_TOP_DOWN,
        .x = f->width,
        .y = f->height,
        .stride = stride,
        .data = chunks,
    };
    SpiceRect src = {0, 0, (int32_t)f->width, (int32_t)f->height};
    VideoBuffer *buf = NULL;

    chunks->num_chunks = 1;
    chunks->data_size = stride * f->height;
    chunks->chunk[0].data = f->bgrx;
    chunks->chunk[0].len = stride * f->height;
    virtual_now_ns += G_GINT64_CONSTANT(1000000000) / FPS;
    int result = encoder->encode_frame(encoder, 10000 + index * (1000 / FPS), &bitmap, &src, TRUE,
                                       NULL, &buf);
    g_free(chunks);
    g_assert_cmpint(result, ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
    g_assert_nonnull(buf);
    g_assert_cmpuint(buf->size, >, 0);
    return buf;
}

static const SvEncoderDesc *openh264_desc(void)
{
    const SvEncoderDesc *desc = sv_registry_find("openh264", "h264");
    g_assert_nonnull(desc);
    return desc;
}

/* ---- loading ------------------------------------------------------------------ */

static void test_load(void)
{
    g_autoptr(GError) error = NULL;
    const SvEncoderDesc *desc = openh264_desc();
    const char *expected_options[] = {"usage", "complexity", "keyint", "threads", NULL};

    /* Loading the same file again is a no-op that succeeds. */
    g_assert_true(sv_module_load(module_path, &error));
    g_assert_no_error(error);
    g_assert_true(openh264_desc() == desc);

    g_assert_cmpstr(desc->encoder_name, ==, "openh264");
    g_assert_cmpstr(desc->codec_name, ==, "h264");
    g_assert_cmpint(desc->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_H264);
    g_assert_cmpuint(desc->cap, ==, SPICE_DISPLAY_CAP_CODEC_H264);
    g_assert_cmpint(desc->rank, ==, 0);
    g_assert_nonnull(desc->create);
    g_assert_nonnull(desc->create_full);
    g_assert_nonnull(sv_encoder_desc_get_module(desc));
    g_assert_true(sv_encoder_desc_is_available(desc, &error));
    g_assert_no_error(error);
    for (guint i = 0; expected_options[i] != NULL; i++) {
        g_assert_nonnull(desc->options);
        g_assert_cmpstr(desc->options[i].name, ==, expected_options[i]);
    }
    g_assert_null(desc->options[4].name);

    /* Rank 0: not in the default list. */
    g_autoptr(SvVideoCodecs) defaults = sv_video_codecs_new_default();
    for (guint i = 0; i < sv_video_codecs_get_length(defaults); i++) {
        g_assert_true(sv_video_codecs_get(defaults, i) != desc);
    }
}

/* The module exports its two symbols and nothing else: the frame encoder
 * it links statically stays private. */
static void test_exports(void)
{
    void *handle = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);

    g_assert_nonnull(handle);
    const uint32_t *abi = dlsym(handle, SV_MODULE_ABI_SYMBOL);
    g_assert_nonnull(abi);
    g_assert_cmpuint(*abi, ==, SV_MODULE_ABI_VERSION);
    SvModuleInfoFunc info_func = (SvModuleInfoFunc)dlsym(handle, SV_MODULE_INFO_SYMBOL);
    g_assert_nonnull(info_func);
    const SvModuleInfo *info = info_func();
    g_assert_cmpuint(info->abi_version, ==, SV_MODULE_ABI_VERSION);
    g_assert_cmpstr(info->name, ==, "openh264");
    g_assert_cmpuint(info->n_encoders, ==, 1);
    g_assert_null(dlsym(handle, "sv_frame_encoder_new"));
    g_assert_null(dlsym(handle, "sv_encoder_options_parse"));
    g_assert_null(dlsym(handle, "sv_backend_buffer_new"));
    dlclose(handle);
}

/* ---- options ------------------------------------------------------------------ */

/* keyint=N: an IDR, with its SPS/PPS, every N frames and only then; every
 * option combination encodes. */
static void test_options(void)
{
    const SvEncoderDesc *desc = openh264_desc();
    static const char *const option_strings[] = {
        "keyint=5",
        "keyint=5,usage=screen",
        "keyint=5,complexity=high",
        "keyint=5,complexity=medium,threads=2",
    };
    g_autoptr(GError) error = NULL;
    int values[SV_MAX_ENCODER_OPTIONS];

    for (guint k = 0; k < G_N_ELEMENTS(option_strings); k++) {
        VideoEncoder *encoder = encoder_new(desc, option_strings[k]);
        g_assert_nonnull(encoder);
        for (guint i = 0; i < 12; i++) {
            Frame *f = frame_new(160, 96, i);
            VideoBuffer *buf = encode(encoder, f, i);
            AnnexBInfo info = annexb_scan(buf->data, buf->size, FALSE);

            g_assert_true(info.starts_with_start_code);
            g_assert_cmpint(annexb_has(&info, H264_NAL_IDR), ==, i % 5 == 0);
            g_assert_cmpint(annexb_has(&info, H264_NAL_SPS), ==, i % 5 == 0);
            g_assert_cmpint(annexb_has(&info, H264_NAL_PPS), ==, i % 5 == 0);
            buf->free(buf);
            frame_free(f);
        }
        encoder->destroy(encoder);
    }
    /* Bad values are refused by the option parser and the factory. */
    g_assert_false(sv_encoder_options_parse(desc->options, "usage=film", values, &error));
    g_assert_nonnull(error);
    g_assert_null(encoder_new(desc, "usage=film"));
    g_assert_null(encoder_new(desc, "threads=99"));
}

/* ---- the stream, decoded ------------------------------------------------------ */

#if SV_HAVE_GSTREAMER
/* @return the first missing element of @names, or NULL. */
static const char *missing_element(const char *const *names)
{
    for (guint i = 0; names[i] != NULL; i++) {
        GstElementFactory *factory = gst_element_factory_find(names[i]);
        if (factory == NULL) {
            return names[i];
        }
        gst_object_unref(factory);
    }
    return NULL;
}

/* Luma PSNR of the top-left w x h of a decoded picture against @f. */
static double psnr_luma(const Frame *f, const guint8 *y_plane, int y_stride)
{
    double sse = 0.0;

    for (guint y = 0; y < f->height; y++) {
        for (guint x = 0; x < f->width; x++) {
            double d = f->luma[(gsize)y * f->width + x] - y_plane[(gsize)y * y_stride + x];
            sse += d * d;
        }
    }
    double mse = sse / ((double)f->width * f->height);
    return mse <= 1e-10 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}
#endif

/* 320x240, then an odd 161x97 (the encoder restarts), then 256x144. */
static const struct {
    guint width, height, n_frames;
} segments[] = {{320, 240, 10}, {161, 97, 10}, {256, 144, 10}};

static void test_stream(void)
{
#if SV_HAVE_GSTREAMER
    static const char *const needed[] = {"appsrc",     "appsink",      "h264parse",
                                         "avdec_h264", "videoconvert", NULL};
    const char *missing = missing_element(needed);
    g_autoptr(GError) error = NULL;

    if (missing != NULL) {
        g_autofree char *reason = g_strdup_printf("decoder element %s not installed", missing);
        g_test_skip(reason);
        return;
    }

    /* ---- encode ---- */
    VideoEncoder *encoder = encoder_new(openh264_desc(), NULL);
    g_assert_nonnull(encoder);
    g_assert_cmpint(encoder->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_H264);
    GPtrArray *frames = g_ptr_array_new_with_free_func((GDestroyNotify)frame_free);
    GPtrArray *outputs = g_ptr_array_new();
    for (guint s = 0; s < G_N_ELEMENTS(segments); s++) {
        for (guint i = 0; i < segments[s].n_frames; i++) {
            Frame *f = frame_new(segments[s].width, segments[s].height, frames->len);
            VideoBuffer *buf = encode(encoder, f, frames->len);
            AnnexBInfo info = annexb_scan(buf->data, buf->size, FALSE);

            g_assert_true(info.starts_with_start_code);
            /* Each size starts with an IDR and its SPS/PPS; no other IDR. */
            g_assert_cmpint(annexb_has(&info, H264_NAL_IDR), ==, i == 0);
            if (i == 0) {
                g_assert_true(annexb_has(&info, H264_NAL_SPS));
                g_assert_true(annexb_has(&info, H264_NAL_PPS));
                g_assert_cmpint(info.h264_profile_idc, ==, 66); /* (Constrained) Baseline */
            }
            g_ptr_array_add(frames, f);
            g_ptr_array_add(outputs, buf);
        }
    }
    encoder->destroy(encoder);
    g_assert_cmpuint(n_bitmap_refs, ==, 0);

    /* ---- decode, with the buffers outliving their encoder ---- */
    GstElement *pipeline =
        gst_parse_launch("appsrc name=src format=time "
                         "caps=video/x-h264,stream-format=byte-stream,alignment=au ! h264parse ! "
                         "avdec_h264 ! "
                         "videoconvert ! video/x-raw,format=I420 ! appsink name=sink sync=false",
                         &error);
    g_assert_no_error(error);
    GstElement *appsrc = gst_bin_get_by_name(GST_BIN(pipeline), "src");
    GstElement *appsink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
    g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_PLAYING), !=,
                    GST_STATE_CHANGE_FAILURE);
    for (guint i = 0; i < outputs->len; i++) {
        VideoBuffer *buf = g_ptr_array_index(outputs, i);
        GstBuffer *gst_buf = gst_buffer_new_memdup(buf->data, buf->size);
        GST_BUFFER_PTS(gst_buf) = i * (GST_SECOND / FPS);
        GST_BUFFER_DURATION(gst_buf) = GST_SECOND / FPS;
        g_assert_cmpint(gst_app_src_push_buffer(GST_APP_SRC(appsrc), gst_buf), ==, GST_FLOW_OK);
        buf->free(buf);
    }
    gst_app_src_end_of_stream(GST_APP_SRC(appsrc));

    guint n_decoded = 0;
    double min_psnr = 99.0;
    for (;;) {
        g_autoptr(GstSample) sample =
            gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), 20 * GST_SECOND);
        if (sample == NULL) {
            break;
        }
        g_assert_cmpuint(n_decoded, <, frames->len);
        const Frame *f = g_ptr_array_index(frames, n_decoded);
        GstVideoInfo vinfo;
        GstVideoFrame vframe;

        /* 4:2:0 H.264 codes odd sizes one pixel larger (codec-backend.h). */
        g_assert_true(gst_video_info_from_caps(&vinfo, gst_sample_get_caps(sample)));
        g_assert_cmpint(GST_VIDEO_INFO_WIDTH(&vinfo), ==, (f->width + 1) & ~1u);
        g_assert_cmpint(GST_VIDEO_INFO_HEIGHT(&vinfo), ==, (f->height + 1) & ~1u);
        g_assert_true(gst_video_frame_map(&vframe, &vinfo, gst_sample_get_buffer(sample),
                                          GST_MAP_READ));
        double psnr = psnr_luma(f, GST_VIDEO_FRAME_PLANE_DATA(&vframe, 0),
                                GST_VIDEO_FRAME_PLANE_STRIDE(&vframe, 0));
        gst_video_frame_unmap(&vframe);
        min_psnr = MIN(min_psnr, psnr);
        g_assert_cmpfloat(psnr, >=, MIN_PSNR_DB);
        n_decoded++;
    }
    g_test_message("%u frames decoded, lowest luma PSNR %.2f dB", n_decoded, min_psnr);
    g_assert_true(gst_app_sink_is_eos(GST_APP_SINK(appsink)));
    g_assert_cmpuint(n_decoded, ==, frames->len);

    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(appsrc);
    gst_object_unref(appsink);
    gst_object_unref(pipeline);
    g_ptr_array_unref(outputs);
    g_ptr_array_unref(frames);
#else
    g_test_skip("built without GStreamer: no avdec_h264 to check with");
#endif
}

/* ---- negotiation -------------------------------------------------------------- */

#define CLIENT_CAPS (SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG))

static const SvEncoderDesc *negotiate(const SvVideoCodecs *codecs, uint32_t client_caps)
{
    g_autoptr(SvNegotiation) negotiation = NULL;
    SvEncoderConfig config = {.no_rate_control = TRUE, .encode_timeout_ns = ENCODE_TIMEOUT_NS};
    VideoEncoder *encoder =
        sv_video_codecs_create_encoder(codecs, client_caps, STARTING_BIT_RATE, &cbs, bitmap_ref,
                                       bitmap_unref, &config, &negotiation);
    g_autofree char *account = sv_negotiation_describe(negotiation);

    g_test_message("%s", account);
    g_assert_nonnull(encoder);
    g_assert_nonnull(negotiation->chosen);
    g_assert_false(negotiation->fallback);
    g_assert_cmpint(encoder->codec_type, ==, negotiation->chosen->codec_type);
    encoder->destroy(encoder);
    return negotiation->chosen;
}

static void test_negotiation(void)
{
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(sv_video_codecs_parse(codecs, "openh264:h264;spice:mjpeg", NULL, &error), ==,
                    0);
    g_assert_no_error(error);
    g_autofree char *string = sv_video_codecs_to_string(codecs);
    g_assert_cmpstr(string, ==, "openh264:h264;spice:mjpeg");

    /* A client with H.264 gets the module's encoder... */
    g_assert_true(negotiate(codecs, CLIENT_CAPS | SV_CAP(SPICE_DISPLAY_CAP_CODEC_H264)) ==
                  openh264_desc());
    /* ...one without gets MJPEG, the next entry. */
    g_assert_true(negotiate(codecs, CLIENT_CAPS) == sv_registry_builtin_mjpeg());
}

int main(int argc, char **argv)
{
    g_autoptr(GError) error = NULL;

    g_test_init(&argc, &argv, NULL);
#if SV_HAVE_GSTREAMER
    gst_init(&argc, &argv);
#endif
    module_path = g_getenv("SV_OPENH264_MODULE");
    if (module_path == NULL) {
        g_printerr("SV_OPENH264_MODULE is not set: run this test through meson\n");
        return 1;
    }
    if (!sv_module_load(module_path, &error)) {
        g_printerr("%s\n", error->message);
        return 1;
    }
    g_test_add_func("/openh264-module/load", test_load);
    g_test_add_func("/openh264-module/exports", test_exports);
    g_test_add_func("/openh264-module/options", test_options);
    g_test_add_func("/openh264-module/stream", test_stream);
    g_test_add_func("/openh264-module/negotiation", test_negotiation);
    return g_test_run();
}
