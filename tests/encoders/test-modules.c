/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Encoder modules: loading, what the loader refuses and why, module
 * encoders in preference strings, the default list and negotiation, and
 * checked results (encoders/module.c, encoders/checked-encoder.c). The test
 * modules are in tests/encoders/modules/; meson passes their paths in the
 * environment (SV_TEST_*), and SPICE_VIDEO_MODULE_PATH is empty here
 * (test-module-path.c covers it).
 */
#include "config.h"

#include <dlfcn.h>
#include <string.h>

#include <spice-video/module.h>
#include <spice-video/registry.h>

#include "checked-encoder.h"

#define WIDTH 64
#define HEIGHT 48

static const char *env_path(const char *name)
{
    const char *path = g_getenv(name);
    if (path == NULL) {
        g_error("%s is not set (meson.build sets it)", name);
    }
    return path;
}

static size_t registry_length(void)
{
    size_t n = 0;
    sv_registry_list(&n);
    return n;
}

/* A test frame: a gradient, 32-bit, top-down. */
typedef struct {
    uint8_t *pixels;
    SpiceChunks *chunks;
    SpiceBitmap bitmap;
    SpiceRect src;
} Frame;

static void frame_init(Frame *frame)
{
    frame->pixels = g_malloc(WIDTH * HEIGHT * 4);
    for (int i = 0; i < WIDTH * HEIGHT * 4; i++) {
        frame->pixels[i] = (uint8_t)(i * 7);
    }
    frame->chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    frame->chunks->num_chunks = 1;
    frame->chunks->data_size = WIDTH * HEIGHT * 4;
    frame->chunks->chunk[0].data = frame->pixels;
    frame->chunks->chunk[0].len = WIDTH * HEIGHT * 4;
    frame->bitmap = (SpiceBitmap){
        .format = SPICE_BITMAP_FMT_32BIT,
        .flags = SPICE_BITMAP_FLAGS_TOP_DOWN,
        .x = WIDTH,
        .y = HEIGHT,
        .stride = WIDTH * 4,
        .data = frame->chunks,
    };
    frame->src = (SpiceRect){0, 0, WIDTH, HEIGHT};
}

static void frame_clear(Frame *frame)
{
    g_free(frame->pixels);
    g_free(frame->chunks);
}

/* ---- refusals ---------------------------------------------------------------------- */

typedef struct {
    const char *file;    /* in SV_TEST_BAD_DIR */
    const char *reason;  /* expected in the message */
    int code;            /* SvModuleError */
    const char *reason2; /* also expected, or NULL */
} Refusal;

static const Refusal refusals[] = {
    {"badabi.so", "module ABI version 2, this library supports 1", SV_MODULE_ERROR_ABI},
    {"nosymbols.so", "not a module (no sv_video_module_abi symbol)", SV_MODULE_ERROR_ABI},
    {"builtinname.so", "encoder name 'x264' is already registered", SV_MODULE_ERROR_CONFLICT},
    {"badcap.so", "badmod:h264: cap 10 does not match codec 'h264' (expected 11",
     SV_MODULE_ERROR_INVALID, "SPICE_DISPLAY_CAP_CODEC_H264)"},
};

static void test_refused(gconstpointer data)
{
    const Refusal *refusal = data;
    g_autofree char *path = g_build_filename(env_path("SV_TEST_BAD_DIR"), refusal->file, NULL);
    size_t before = registry_length();
    g_autoptr(GError) error = NULL;

    g_assert_false(sv_module_load(path, &error));
    g_assert_error(error, SV_MODULE_ERROR, refusal->code);
    g_test_message("%s", error->message);
    g_autofree char *prefix = g_strdup_printf("%s: ", path);
    g_assert_true(g_str_has_prefix(error->message, prefix));
    g_assert_nonnull(strstr(error->message, refusal->reason));
    if (refusal->reason2 != NULL) {
        g_assert_nonnull(strstr(error->message, refusal->reason2));
    }

    /* Nothing of it registered, not even the entry before the bad one. */
    g_assert_cmpuint(registry_length(), ==, before);
    g_assert_null(sv_registry_find("badmod_ok", "mjpeg"));
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_test_expect_message("sv-encoders", G_LOG_LEVEL_MESSAGE, "unknown video encoder badmod_ok");
    g_assert_cmpint(sv_video_codecs_parse(codecs, "badmod_ok:mjpeg", NULL, NULL), ==, -1);
    g_test_assert_expected_messages();

    /* Refused again the second time: a failure is not remembered as loaded. */
    g_clear_error(&error);
    g_assert_false(sv_module_load(path, &error));
    g_assert_error(error, SV_MODULE_ERROR, refusal->code);
}

static void test_missing_file(void)
{
    g_autoptr(GError) error = NULL;

    g_assert_false(sv_module_load("/nonexistent/dir/nomod.so", &error));
    g_assert_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_OPEN);
    g_assert_true(g_str_has_prefix(error->message, "/nonexistent/dir/nomod.so: "));
    g_assert_nonnull(strstr(error->message, "No such file"));
}

static void test_load_path_collects(void)
{
    g_autoptr(GPtrArray) diagnostics = g_ptr_array_new_with_free_func(g_free);
    const char *dir = env_path("SV_TEST_BAD_DIR");
    g_autofree char *path = g_strdup_printf("/nonexistent-module-dir::%s", dir);

    /* A missing directory is skipped without a word; each bad module gives
     * one message naming it. */
    g_assert_cmpuint(sv_module_load_path(path, diagnostics), ==, 0);
    g_assert_cmpuint(diagnostics->len, ==, G_N_ELEMENTS(refusals));
    for (guint i = 0; i < diagnostics->len; i++) {
        g_assert_true(g_str_has_prefix(g_ptr_array_index(diagnostics, i), dir));
    }
    /* Name order: badabi, badcap, builtinname, nosymbols. */
    g_assert_nonnull(strstr(g_ptr_array_index(diagnostics, 0), "badabi.so: "));
    g_assert_nonnull(strstr(g_ptr_array_index(diagnostics, 3), "nosymbols.so: "));
}

/* ---- a good module --------------------------------------------------------------- */

static void test_no_default_modules(void)
{
    /* SPICE_VIDEO_MODULE_PATH is empty and nothing is installed in the
     * build's prefix for these tests. */
    g_assert_cmpuint(sv_module_get_errors()->len, ==, 0);
    g_assert_nonnull(sv_module_get_default_dir());
    g_assert_true(g_str_has_suffix(sv_module_get_default_dir(), "/spice-video/modules"));
    g_assert_null(sv_encoder_desc_get_module(sv_registry_builtin_mjpeg()));
    g_assert_null(sv_encoder_desc_get_module_info(sv_registry_builtin_mjpeg()));
}

static void load_fakemod(void)
{
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_module_load(env_path("SV_TEST_FAKEMOD"), &error));
    g_assert_no_error(error);
}

static void test_load(void)
{
    const char *path = env_path("SV_TEST_FAKEMOD");
    size_t before = registry_length();

    load_fakemod();
    g_assert_cmpuint(registry_length(), ==, before + 2);

    const SvEncoderDesc *mjpeg = sv_registry_find("fakemod", "mjpeg");
    g_assert_nonnull(mjpeg);
    g_assert_cmpint(mjpeg->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_MJPEG);
    g_assert_cmpuint(mjpeg->cap, ==, SPICE_DISPLAY_CAP_CODEC_MJPEG);
    g_assert_cmpint(mjpeg->rank, ==, 100);
    g_assert_cmpstr(sv_encoder_desc_get_module(mjpeg), ==, path);
    g_assert_cmpstr(mjpeg->module, ==, path);
    g_assert_nonnull(mjpeg->options);
    g_assert_cmpstr(mjpeg->options[0].name, ==, "speed");
    const SvModuleInfo *info = sv_encoder_desc_get_module_info(mjpeg);
    g_assert_nonnull(info);
    g_assert_cmpstr(info->name, ==, "fakemod");
    g_assert_cmpstr(info->version, ==, "1.2.3");
    g_assert_true(sv_encoder_desc_is_available(mjpeg, NULL));

    /* The list names it after the built-in entries. */
    size_t n = 0;
    const SvEncoderDesc *const *list = sv_registry_list(&n);
    g_assert_null(list[n]);
    g_assert_null(list[0]->module);
    g_assert_true(list[n - 2] == mjpeg);

    /* Again, and through another spelling of the path: nothing changes. */
    load_fakemod();
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *other = g_strdup_printf("%s/./%s", dir, base);
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_module_load(other, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(registry_length(), ==, before + 2);
}

static void test_probe_reason(void)
{
    load_fakemod();
    const SvEncoderDesc *vp8 = sv_registry_find("fakemod", "vp8");
    g_assert_nonnull(vp8);

    g_autoptr(GError) error = NULL;
    g_assert_false(sv_encoder_desc_is_available(vp8, &error));
    g_assert_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE);
    g_assert_cmpstr(error->message, ==, "fakemod vp8 needs a hardware encoder, none found");

    /* The reason reaches the negotiation. */
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_assert_cmpint(sv_video_codecs_parse(codecs, "fakemod:vp8;spice:mjpeg", NULL, NULL), ==, 0);
    uint32_t caps = SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP8) |
                    SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG);
    g_autoptr(SvNegotiation) negotiation = NULL;
    VideoEncoder *encoder =
        sv_video_codecs_create_encoder(codecs, caps, 1000000, NULL, NULL, NULL, NULL, &negotiation);
    g_assert_nonnull(encoder);
    encoder->destroy(encoder);
    g_assert_cmpuint(negotiation->n_steps, ==, 2);
    g_assert_cmpint(negotiation->steps[0].verdict, ==, SV_NEGOTIATION_SKIP_UNAVAILABLE);
    g_assert_cmpstr(negotiation->steps[0].message, ==,
                    "fakemod vp8 needs a hardware encoder, none found");
    g_assert_true(negotiation->chosen == sv_registry_builtin_mjpeg());
    g_autofree char *text = sv_negotiation_describe(negotiation);
    g_assert_nonnull(strstr(text, "fakemod:vp8: skipped (unavailable): fakemod vp8 needs"));
}

static void test_preferences_and_negotiation(void)
{
    load_fakemod();
    const SvEncoderDesc *mjpeg = sv_registry_find("fakemod", "mjpeg");

    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_autoptr(GPtrArray) diagnostics = g_ptr_array_new_with_free_func(g_free);
    g_assert_cmpint(sv_video_codecs_parse(codecs, "fakemod:mjpeg;spice:mjpeg", diagnostics, NULL),
                    ==, 0);
    g_assert_cmpuint(diagnostics->len, ==, 0);
    g_autofree char *string = sv_video_codecs_to_string(codecs);
    g_assert_cmpstr(string, ==, "fakemod:mjpeg;spice:mjpeg");
    g_assert_true(sv_video_codecs_get(codecs, 0) == mjpeg);

    /* A codec the module does not provide is "unsupported", as for a
     * built-in pair that does not exist. */
    g_autoptr(SvVideoCodecs) other = sv_video_codecs_new();
    g_test_expect_message("sv-encoders", G_LOG_LEVEL_MESSAGE, "unsupported video encoder fakemod");
    g_assert_cmpint(sv_video_codecs_parse(other, "fakemod:h265;spice:mjpeg", NULL, NULL), ==, 1);
    g_test_assert_expected_messages();

    uint32_t caps = SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG);
    g_autoptr(SvNegotiation) negotiation = NULL;
    VideoEncoder *encoder =
        sv_video_codecs_create_encoder(codecs, caps, 4000000, NULL, NULL, NULL, NULL, &negotiation);
    g_assert_nonnull(encoder);
    g_assert_true(negotiation->chosen == mjpeg);
    g_assert_false(negotiation->fallback);
    g_assert_cmpint(encoder->codec_type, ==, SPICE_VIDEO_CODEC_TYPE_MJPEG);

    /* The module's (checked) encoder produces real JPEG frames. */
    Frame frame;
    frame_init(&frame);
    guint done = 0;
    for (uint32_t i = 0; i < 5; i++) {
        VideoBuffer *buffer = NULL;
        VideoEncodeResults result = encoder->encode_frame(encoder, 1000 + i * 40, &frame.bitmap,
                                                          &frame.src, TRUE, NULL, &buffer);
        g_assert_cmpint(result, !=, VIDEO_ENCODER_FRAME_UNSUPPORTED);
        if (result == VIDEO_ENCODER_FRAME_ENCODE_DONE) {
            g_assert_nonnull(buffer);
            g_assert_cmpuint(buffer->size, >, 2);
            g_assert_cmpuint(buffer->data[0], ==, 0xff);
            g_assert_cmpuint(buffer->data[1], ==, 0xd8);
            buffer->free(buffer);
            done++;
        } else {
            g_assert_null(buffer);
        }
    }
    g_assert_cmpuint(done, >, 0);
    g_assert_cmpuint(encoder->get_bit_rate(encoder), >, 0);
    VideoEncoderStats stats;
    encoder->get_stats(encoder, &stats);
    g_assert_cmpuint(stats.starting_bit_rate, ==, 4000000);
    encoder->client_stream_report(encoder, 10, 0, 1000, 1160, 100, UINT32_MAX);
    encoder->notify_server_frame_drop(encoder);
    encoder->destroy(encoder);
    frame_clear(&frame);
    g_assert_cmpuint(sv_checked_encoder_get_violations(SV_CHECK_EMPTY), ==, 0);
}

static void test_default_list(void)
{
    load_fakemod();

    /* Rank 100, as spice:mjpeg: after it (built-in first), before the rest. */
    g_autoptr(SvVideoCodecs) defaults = sv_video_codecs_new_default();
    g_autofree char *string = sv_video_codecs_to_string(defaults);
    g_test_message("default list: %s", string);
    g_assert_true(g_str_has_prefix(string, "spice:mjpeg;fakemod:mjpeg"));
    /* Rank 0 and unavailable: not in it. */
    g_assert_null(strstr(string, "fakemod:vp8"));
    g_assert_null(strstr(string, "garbage"));

    g_autoptr(SvVideoCodecs) parsed = sv_video_codecs_new();
    g_assert_cmpint(sv_video_codecs_parse(parsed, "auto", NULL, NULL), ==, 0);
    g_autofree char *parsed_string = sv_video_codecs_to_string(parsed);
    g_assert_cmpstr(parsed_string, ==, string);
}

/* ---- checked results ------------------------------------------------------------------ */

static int *module_counter(void *handle, const char *name)
{
    int *counter = dlsym(handle, name);
    g_assert_nonnull(counter);
    return counter;
}

static void test_checked_results(void)
{
    const char *path = env_path("SV_TEST_GARBAGE");
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_module_load(path, &error));
    g_assert_no_error(error);

    /* The loader's handle and this one are the same object. */
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
    g_assert_nonnull(handle);
    int *made = module_counter(handle, "garbage_buffers_made");
    int *freed = module_counter(handle, "garbage_buffers_freed");
    int *destroyed = module_counter(handle, "garbage_encoders_destroyed");

    sv_checked_encoder_reset_violations();
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_assert_cmpint(sv_video_codecs_parse(codecs, "garbage:mjpeg", NULL, NULL), ==, 0);
    VideoEncoder *encoder =
        sv_video_codecs_create_encoder(codecs, SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG), 1000000, NULL,
                                       NULL, NULL, NULL, NULL);
    g_assert_nonnull(encoder);

    static const SvCheckViolation expected[] = {
        SV_CHECK_EMPTY,     SV_CHECK_NULL_DATA,    SV_CHECK_BAD_RESULT,
        SV_CHECK_NO_BUFFER, SV_CHECK_STRAY_BUFFER, SV_CHECK_OVERSIZE,
    };
    Frame frame;
    frame_init(&frame);
    for (guint i = 0; i < G_N_ELEMENTS(expected) + 2; i++) {
        VideoBuffer *buffer = NULL;
        VideoEncodeResults result = encoder->encode_frame(encoder, 1000 + i * 40, &frame.bitmap,
                                                          &frame.src, TRUE, NULL, &buffer);
        if (i < G_N_ELEMENTS(expected)) {
            g_test_message("frame %u: %s", i, sv_check_violation_to_string(expected[i]));
            g_assert_cmpint(result, ==, VIDEO_ENCODER_FRAME_UNSUPPORTED);
            g_assert_null(buffer);
            g_assert_cmpuint(sv_checked_encoder_get_violations(expected[i]), ==, 1);
        } else {
            /* Valid frames pass untouched. */
            g_assert_cmpint(result, ==, VIDEO_ENCODER_FRAME_ENCODE_DONE);
            g_assert_nonnull(buffer);
            g_assert_cmpuint(buffer->size, ==, 16);
            buffer->free(buffer);
        }
    }
    for (guint kind = 0; kind < SV_CHECK_N_KINDS; kind++) {
        guint n = sv_checked_encoder_get_violations(kind);
        gboolean caught = kind != SV_CHECK_NULL_FREE && kind != SV_CHECK_WRONG_CODEC &&
                          kind != SV_CHECK_MISSING_METHOD;
        g_assert_cmpuint(n, ==, caught ? 1 : 0);
    }
    /* Every buffer the module made was freed, the refused ones by the check. */
    g_assert_cmpint(*made, ==, *freed);
    g_assert_cmpint(*made, ==, 6);
    g_assert_cmpuint(encoder->get_bit_rate(encoder), ==, 1234);
    int destroyed_before = *destroyed;
    encoder->destroy(encoder);
    g_assert_cmpint(*destroyed, ==, destroyed_before + 1);
    frame_clear(&frame);

    /* An encoder of another codec than asked for is refused like a failed
     * factory, and destroyed. */
    g_autoptr(SvVideoCodecs) vp8 = sv_video_codecs_new();
    g_assert_cmpint(sv_video_codecs_parse(vp8, "garbage:vp8", NULL, NULL), ==, 0);
    uint32_t caps = SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP8);
    g_autoptr(SvNegotiation) negotiation = NULL;
    g_assert_null(sv_video_codecs_create_encoder(vp8, caps, 1000000, NULL, NULL, NULL, NULL,
                                                 &negotiation));
    g_assert_cmpint(negotiation->steps[0].verdict, ==, SV_NEGOTIATION_SKIP_FACTORY_FAILED);
    g_assert_cmpuint(sv_checked_encoder_get_violations(SV_CHECK_WRONG_CODEC), ==, 1);
    g_assert_cmpint(*destroyed, ==, destroyed_before + 2);

    dlclose(handle);
}

static void test_size_bound(void)
{
    /* 64-bit: the largest frame spice allows does not overflow. */
    g_assert_cmpuint(sv_checked_encoder_max_frame_bytes(65535, 65535), ==,
                     UINT64_C(4) * 65535 * 65535 + 1048576);
    g_assert_cmpuint(sv_checked_encoder_max_frame_bytes(0, 0), ==, 1048576);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/modules/no-default-modules", test_no_default_modules);
    g_test_add_func("/modules/refused/missing-file", test_missing_file);
    for (guint i = 0; i < G_N_ELEMENTS(refusals); i++) {
        g_autofree char *name = g_strdup_printf("/modules/refused/%s", refusals[i].file);
        g_test_add_data_func(name, &refusals[i], test_refused);
    }
    g_test_add_func("/modules/load-path-collects", test_load_path_collects);
    g_test_add_func("/modules/load", test_load);
    g_test_add_func("/modules/probe-reason", test_probe_reason);
    g_test_add_func("/modules/preferences-and-negotiation", test_preferences_and_negotiation);
    g_test_add_func("/modules/default-list", test_default_list);
    g_test_add_func("/modules/checked-results", test_checked_results);
    g_test_add_func("/modules/size-bound", test_size_bound);
    return g_test_run();
}
