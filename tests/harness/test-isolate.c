/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Isolated encoders (SvReplayConfig.isolate, harness/isolate.c): the same
 * deterministic JSON as in-process encoders, and a crash, a hang or an exit
 * of the worker ends the run with one error naming the encoder, without
 * zombies. The workers are spice-bench ($SV_SPICE_BENCH); the failures come
 * from the worker's test hooks ($SV_ISOLATE_TEST_*).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <spice-video/spice-video.h>

#define VIDEO SV_CORPORA_DIR "/video-photos-640-cut.spice.zst"

static char *tmpdir;

/* @return FALSE (test skipped) when there is no worker program. */
static gboolean config_isolated(SvReplayConfig *cfg, const char *video_codecs)
{
    static const char *argv[2];
    argv[0] = g_getenv("SV_SPICE_BENCH");
    argv[1] = NULL;
    if (argv[0] == NULL) {
        g_test_skip("SV_SPICE_BENCH is not set: no worker program");
        return FALSE;
    }
    sv_replay_config_init(cfg);
    cfg->trace_path = VIDEO;
    cfg->video_codecs = video_codecs;
    cfg->net = "wan";
    cfg->deterministic = TRUE;
    cfg->isolate_worker_argv = argv;
    return TRUE;
}

static void assert_no_children(void)
{
    int status;
    g_assert_cmpint(waitpid(-1, &status, WNOHANG), ==, -1);
    g_assert_cmpint(errno, ==, ECHILD);
}

static char *run_json(SvReplayConfig *cfg, const char *name, SvReplaySummary *s)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    cfg->json_path = path;
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_replay_run(cfg, s, &error));
    g_assert_no_error(error);
    char *contents = NULL;
    g_assert_true(g_file_get_contents(path, &contents, NULL, NULL));
    g_free(path);
    cfg->json_path = NULL;
    return contents;
}

static void check_same_json_policy(const char *video_codecs, SvLatencyPolicy policy)
{
    SvReplayConfig cfg;
    if (!config_isolated(&cfg, video_codecs)) {
        return;
    }
    cfg.latency_policy = policy;
    SvReplaySummary in_process, isolated;
    g_autofree char *a = run_json(&cfg, "in-process.json", &in_process);
    cfg.isolate = TRUE;
    g_autofree char *b = run_json(&cfg, "isolated.json", &isolated);
    g_assert_cmpuint(isolated.frames, >, 10);
    g_assert_cmpuint(isolated.shown, ==, in_process.shown);
    g_assert_cmpstr(isolated.codec, ==, in_process.codec);
    g_assert_cmpstr(a, ==, b);
    assert_no_children();
}

static void check_same_json(const char *video_codecs)
{
    check_same_json_policy(video_codecs, SV_LATENCY_POLICY_SPICE);
}

static void test_same_json_mjpeg(void)
{
    check_same_json("spice:mjpeg");
}

/* libvpx directly: gstreamer:vp8 varies from run to run even in process
 * (vp8enc's real-time deadline follows the wall clock). */
static void test_same_json_vp8(void)
{
    const SvEncoderDesc *vpx = sv_registry_find("vpx", "vp8");
    if (vpx == NULL || !sv_encoder_desc_is_available(vpx, NULL)) {
        g_test_skip("vpx:vp8 is not built");
        return;
    }
    check_same_json("vpx:vp8");
}

/* Runs with the worker hook @hook=@frame set; @return the error. */
static GError *run_failing(const char *hook, const char *frame, int64_t timeout_ns)
{
    SvReplayConfig cfg;
    if (!config_isolated(&cfg, "spice:mjpeg")) {
        return NULL;
    }
    cfg.isolate = TRUE;
    cfg.isolate_timeout_ns = timeout_ns;
    g_autofree char *json = g_build_filename(tmpdir, "failed.json", NULL);
    cfg.json_path = json;
    g_setenv(hook, frame, TRUE);
    GError *error = NULL;
    gboolean ok = sv_replay_run(&cfg, NULL, &error);
    g_unsetenv(hook);
    g_assert_false(ok);
    g_assert_error(error, SV_REPLAY_ERROR, SV_REPLAY_ERROR_FAILED);
    g_test_message("%s", error->message);
    /* One line, naming the trace and the encoder; no partial output. */
    g_assert_null(strchr(error->message, '\n'));
    g_assert_true(g_str_has_prefix(error->message, VIDEO ": encoder spice:mjpeg "));
    g_assert_false(g_file_test(json, G_FILE_TEST_EXISTS));
    assert_no_children();
    return error;
}

/* The interactive policy creates its encoders with low_delay: on `wan`
 * x264 lowers its target live after a cut, in the worker as in process
 * (the JSON differs if the worker does not get the flag). */
static void test_same_json_interactive_x264(void)
{
    const SvEncoderDesc *x264 = sv_registry_find("x264", "h264");
    if (x264 == NULL || !sv_encoder_desc_is_available(x264, NULL)) {
        g_test_skip("x264:h264 is not built");
        return;
    }
    check_same_json_policy("x264:h264", SV_LATENCY_POLICY_INTERACTIVE);
}

static void test_crash(void)
{
    g_autoptr(GError) error = run_failing("SV_ISOLATE_TEST_CRASH_AT", "17", 0);
    if (error != NULL) {
        /* SIGSEGV; SIGABRT under AddressSanitizer with abort_on_error. */
        g_assert_true(strstr(error->message, "crashed (signal 11") != NULL ||
                      strstr(error->message, "crashed (signal 6") != NULL);
        g_assert_nonnull(strstr(error->message, "at frame 17"));
    }
}

static void test_hang(void)
{
    g_autoptr(GError) error =
        run_failing("SV_ISOLATE_TEST_HANG_AT", "5", 2 * G_TIME_SPAN_SECOND * 1000);
    if (error != NULL) {
        /* Killed at the 2 s timeout, not after the default 10 s: the message
         * names the timeout that fired. (No wall-clock bound: under valgrind
         * the five frames before the hang alone take longer than 8 s.) */
        g_assert_nonnull(strstr(error->message, "did not answer within 2 s (killed) at frame 5"));
    }
}

static void test_exit_between_frames(void)
{
    g_autoptr(GError) error = run_failing("SV_ISOLATE_TEST_EXIT_AFTER", "3", 0);
    if (error != NULL) {
        /* Noticed at the next call, whichever it is. */
        g_assert_nonnull(strstr(error->message, "exited with status 3"));
        g_assert_true(strstr(error->message, "after frame 3") != NULL ||
                      strstr(error->message, "at frame 4") != NULL);
    }
}

/* A worker program that does not exist: the encoder cannot start. */
static void test_no_worker(void)
{
    SvReplayConfig cfg;
    if (!config_isolated(&cfg, "spice:mjpeg")) {
        return;
    }
    const char *argv[] = {"/nonexistent/spice-bench", NULL};
    cfg.isolate = TRUE;
    cfg.isolate_worker_argv = argv;
    g_autoptr(GError) error = NULL;
    g_assert_false(sv_replay_run(&cfg, NULL, &error));
    g_assert_error(error, SV_REPLAY_ERROR, SV_REPLAY_ERROR_FAILED);
    g_assert_nonnull(strstr(error->message, "could not start"));
    assert_no_children();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("sv-isolate-XXXXXX", NULL);
    g_test_add_func("/isolate/same-json-mjpeg", test_same_json_mjpeg);
    g_test_add_func("/isolate/same-json-vp8", test_same_json_vp8);
    g_test_add_func("/isolate/same-json-interactive-x264", test_same_json_interactive_x264);
    g_test_add_func("/isolate/crash", test_crash);
    g_test_add_func("/isolate/hang", test_hang);
    g_test_add_func("/isolate/exit-between-frames", test_exit_between_frames);
    g_test_add_func("/isolate/no-worker", test_no_worker);
    int status = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) {
        g_printerr("could not remove %s\n", tmpdir);
    }
    return status;
}
