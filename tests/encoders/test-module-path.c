/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * SPICE_VIDEO_MODULE_PATH: meson runs this test with it set to a missing
 * directory, then the build directory of the good test modules (fakemod,
 * garbage). The first use of the registry loads them, with no call to the
 * module API.
 */
#include "config.h"

#include <string.h>

#include <spice-video/module.h>
#include <spice-video/registry.h>

static void test_loaded_from_path(void)
{
    const char *dir = g_getenv("SV_TEST_MODULES_DIR");
    g_assert_nonnull(dir);

    /* The parser knows the module names on first use. */
    g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
    g_assert_cmpint(sv_video_codecs_parse(codecs, "fakemod:mjpeg;garbage:mjpeg", NULL, NULL), ==,
                    0);

    const SvEncoderDesc *desc = sv_registry_find("fakemod", "mjpeg");
    g_assert_nonnull(desc);
    g_assert_true(g_str_has_prefix(sv_encoder_desc_get_module(desc), dir));
    g_assert_true(g_str_has_suffix(sv_encoder_desc_get_module(desc), "/fakemod.so"));
    g_assert_nonnull(sv_registry_find("garbage", "vp8"));

    /* The missing directory was skipped without an error. */
    g_assert_cmpuint(sv_module_get_errors()->len, ==, 0);

    /* Loading it by name again changes nothing. */
    size_t before = 0;
    sv_registry_list(&before);
    g_autofree char *path = g_build_filename(dir, "fakemod.so", NULL);
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_module_load(path, &error));
    g_assert_no_error(error);
    size_t after = 0;
    sv_registry_list(&after);
    g_assert_cmpuint(after, ==, before);

    /* Once per process. */
    sv_module_load_default();
    sv_registry_list(&after);
    g_assert_cmpuint(after, ==, before);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    g_test_add_func("/modules/loaded-from-path", test_loaded_from_path);
    return g_test_run();
}
