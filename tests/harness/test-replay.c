/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * End-to-end replays of the corpus traces: trace → display → encoder →
 * network model → simulated client with real decoders → metrics.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <spice-video/spice-video.h>

#define VIDEO SV_CORPORA_DIR "/video-photos-640-cut.spice.zst"
#define TEXT SV_CORPORA_DIR "/text-scroll.spice.zst"

static char *tmpdir;

static gboolean codec_available(const char *encoder, const char *codec)
{
    const SvEncoderDesc *desc = sv_registry_find(encoder, codec);
    return desc != NULL && sv_encoder_desc_is_available(desc, NULL);
}

static JsonNode *load_json(const char *path)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    g_assert_true(json_parser_load_from_file(parser, path, &error));
    g_assert_no_error(error);
    return json_node_copy(json_parser_get_root(parser));
}

static void test_video_lan_mjpeg(void)
{
    SvReplayConfig cfg;
    sv_replay_config_init(&cfg);
    cfg.trace_path = VIDEO;
    cfg.codec = "mjpeg";
    cfg.deterministic = TRUE;
    g_autofree char *json = g_build_filename(tmpdir, "lan-mjpeg.json", NULL);
    cfg.json_path = json;
    SvReplaySummary s;
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_replay_run(&cfg, &s, &error));
    g_assert_no_error(error);

    g_test_message("mjpeg on lan: %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT
                   " shown, %" G_GUINT64_FORMAT " dropped by the encoder, %" G_GUINT64_FORMAT
                   " late, psnr %.2f dB, p50 %.1f ms",
                   s.frames, s.shown, s.dropped_encoder, s.late, s.psnr_mean, s.latency_p50_ms);
    g_assert_cmpuint(s.streams, ==, 1);
    g_assert_cmpuint(s.frames, >, 0);
    g_assert_cmpfloat((double)s.shown, >=, 0.95 * (double)s.frames);
    g_assert_cmpfloat(s.psnr_mean, >=, 30.0);
    g_assert_cmpstr(s.codec, ==, "spice:mjpeg");

    /* The JSON names the schema and agrees with the summary. */
    g_autoptr(JsonNode) root = load_json(json);
    JsonObject *o = json_node_get_object(root);
    g_assert_cmpstr(json_object_get_string_member(o, "schema"), ==, "spice-bench-replay/1");
}

/* Runs @cfg twice (JSON to two files) and asserts byte-identical output. */
static void assert_runs_identical(SvReplayConfig *cfg, const char *name)
{
    g_autofree char *base = g_build_filename(tmpdir, name, NULL);
    g_autofree char *a = g_strconcat(base, "-a.json", NULL);
    g_autofree char *b = g_strconcat(base, "-b.json", NULL);
    const char *paths[2] = {a, b};
    for (guint i = 0; i < 2; i++) {
        cfg->json_path = paths[i];
        g_autoptr(GError) error = NULL;
        g_assert_true(sv_replay_run(cfg, NULL, &error));
        g_assert_no_error(error);
    }
    g_autofree char *ca = NULL, *cb = NULL;
    gsize la, lb;
    g_assert_true(g_file_get_contents(a, &ca, &la, NULL));
    g_assert_true(g_file_get_contents(b, &cb, &lb, NULL));
    g_assert_cmpuint(la, >, 1000);
    g_assert_cmpuint(la, ==, lb);
    g_assert_true(memcmp(ca, cb, la) == 0);
}

/* Two deterministic runs of the corpus video give the same bytes. */
static void assert_deterministic(const char *codec, const char *net, SvLatencyPolicy policy,
                                 const char *name)
{
    SvReplayConfig cfg;
    sv_replay_config_init(&cfg);
    cfg.trace_path = VIDEO;
    cfg.codec = codec;
    cfg.net = net;
    cfg.deterministic = TRUE;
    cfg.latency_policy = policy;
    assert_runs_identical(&cfg, name);
}

static void test_deterministic_twice(void)
{
    assert_deterministic("mjpeg", "wan", SV_LATENCY_POLICY_SPICE, "det");
}

/* Writes TMPDIR/@name with `spice-bench trace gen --workload @workload
 * --duration @seconds`; NULL when SV_SPICE_BENCH is not set.
 * Ownership: caller, g_free(). */
static char *generate_trace(const char *workload, const char *seconds, const char *name)
{
    const char *bench = g_getenv("SV_SPICE_BENCH");
    if (bench == NULL) {
        return NULL;
    }
    char *path = g_build_filename(tmpdir, name, NULL);
    const char *argv[] = {bench,        "trace", "gen", "--workload", workload,
                          "--duration", seconds, "-o",  path,         NULL};
    int status = 0;
    g_autoptr(GError) error = NULL;
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                               NULL, NULL, &status, &error));
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    return path;
}

/* A 10 s synthetic video, made once. */
static const char *generated_video(void)
{
    static char *path;
    if (path == NULL) {
        path = generate_trace("video", "10", "gen-video.spice.zst");
    }
    return path;
}

static void test_slow_link_reacts(void)
{
    const char *trace = generated_video();
    if (trace == NULL) {
        g_test_skip("SV_SPICE_BENCH is not set: cannot generate the 10 s video trace");
        return;
    }
    SvReplayConfig cfg;
    sv_replay_config_init(&cfg);
    cfg.trace_path = trace;
    cfg.codec = "mjpeg";
    cfg.net = "bw=1M,rtt=40ms";
    cfg.deterministic = TRUE;
    SvReplaySummary fast, slow;
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_replay_run(&cfg, &slow, &error));
    cfg.net = "lan";
    g_assert_true(sv_replay_run(&cfg, &fast, &error));
    g_test_message("1 Mbit/s: %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT
                   " shown, enc drops %" G_GUINT64_FORMAT ", pipe drops %" G_GUINT64_FORMAT
                   ", late %" G_GUINT64_FORMAT ", %.0f bit/s, p95 %.0f ms",
                   slow.shown, slow.frames, slow.dropped_encoder, slow.dropped_pipe, slow.late,
                   slow.mean_bps, slow.latency_p95_ms);
    g_assert_cmpuint(slow.streams, ==, 1);
    g_assert_cmpuint(fast.shown, ==, fast.frames);
    /* Rate control and the pipe reacted: frames were dropped and came late. */
    g_assert_cmpuint(slow.dropped_encoder, >, 0);
    g_assert_cmpuint(slow.dropped_encoder + slow.dropped_pipe + slow.late, >, 0);
    g_assert_cmpuint(slow.shown, <, fast.shown / 2);
    g_assert_cmpuint(slow.shown, >, 0);
    /* The link carried what it could, not more. */
    g_assert_cmpfloat(slow.mean_bps, <=, 1.0e6);
    g_assert_cmpfloat(slow.mean_bps, >=, 0.5e6);
    /* No ever-growing queue: sending every frame would take over 30 s; the
     * frames shown are a few seconds late at worst. */
    g_assert_cmpfloat(slow.latency_p95_ms, <, 5000.0);
}

/* On a congested link the client still ends with the guest's screen: text
 * scrolled with COPY_BITS, video upgraded losslessly when it stops. */
static void test_final_screen_congested(void)
{
    g_autofree char *path = generate_trace("mix", "5", "gen-mix.spice.zst");
    if (path == NULL) {
        g_test_skip("SV_SPICE_BENCH is not set: cannot generate the mixed trace");
        return;
    }
    g_autoptr(GError) error = NULL;
    SvReplayConfig cfg;
    sv_replay_config_init(&cfg);
    cfg.trace_path = path;
    cfg.codec = "mjpeg";
    cfg.net = "bw=4M,rtt=150ms,jitter=20ms";
    cfg.deterministic = TRUE;
    SvReplaySummary s;
    g_assert_true(sv_replay_run(&cfg, &s, &error));
    g_assert_no_error(error);
    g_test_message("mix on 4 Mbit/s: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
                   " frames shown, %" G_GUINT64_FORMAT " dropped in the pipe, final %.2f dB",
                   s.shown, s.frames, s.dropped_pipe, s.final_psnr);
    g_assert_cmpuint(s.dropped_pipe + s.dropped_encoder, >, 0);
    g_assert_true(isinf(s.final_psnr));
}

/* Multi-threaded x264 gives different bytes from run to run; deterministic
 * replays limit encoders to one thread, so a congested H.264 run repeats. */
static void test_deterministic_threads(void)
{
    const char *trace = generated_video();
    if (trace == NULL) {
        g_test_skip("SV_SPICE_BENCH is not set: cannot generate the 10 s video trace");
        return;
    }
    if (!codec_available("x264", "h264")) {
        g_test_skip("x264:h264 is not available here");
        return;
    }
    SvReplayConfig cfg;
    sv_replay_config_init(&cfg);
    cfg.trace_path = trace;
    cfg.video_codecs = "x264:h264";
    cfg.net = "mobile";
    cfg.deterministic = TRUE;
    cfg.max_duration_ns = 5 * INT64_C(1000000000);
    assert_runs_identical(&cfg, "threads");
}

static void run_codec(const char *encoder, const char *codec)
{
    if (!codec_available(encoder, codec)) {
        g_autofree char *why = g_strdup_printf("%s:%s is not available here", encoder, codec);
        g_test_skip(why);
        return;
    }
    g_autofree char *list = g_strdup_printf("%s:%s", encoder, codec);
    SvReplayConfig cfg;
    sv_replay_config_init(&cfg);
    cfg.trace_path = VIDEO;
    cfg.video_codecs = list;
    cfg.deterministic = TRUE;
    SvReplaySummary s;
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_replay_run(&cfg, &s, &error));
    g_assert_no_error(error);
    g_test_message("%s: %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT " shown, psnr %.2f", list,
                   s.frames, s.shown, s.psnr_mean);
    g_assert_cmpuint(s.streams, ==, 1);
    g_assert_cmpstr(s.codec, ==, list);
    g_assert_cmpuint(s.shown, >=, s.frames * 9 / 10);
    /* Every frame that reached the client was decoded and shown. */
    g_assert_cmpuint(s.not_decoded, ==, 0);
    g_assert_cmpuint(s.undelivered, ==, 0);
    g_assert_cmpfloat(s.psnr_mean, >=, 30.0);
}

static void test_vp8(void)
{
    run_codec("gstreamer", "vp8");
}

static void test_h264(void)
{
    run_codec("gstreamer", "h264");
}

static void run_policy(SvLatencyPolicy policy, const char *json, SvReplaySummary *s)
{
    SvReplayConfig cfg;
    sv_replay_config_init(&cfg);
    cfg.trace_path = VIDEO;
    cfg.codec = "mjpeg";
    cfg.net = "lan";
    cfg.deterministic = TRUE;
    cfg.latency_policy = policy;
    cfg.json_path = json;
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_replay_run(&cfg, s, &error));
    g_assert_no_error(error);
    g_test_message("%s policy on lan: p50 %.1f ms, p95 %.1f ms, %" G_GUINT64_FORMAT
                   " of %" G_GUINT64_FORMAT " shown, psnr %.2f dB",
                   sv_latency_policy_to_string(policy), s->latency_p50_ms, s->latency_p95_ms,
                   s->shown, s->frames, s->psnr_mean);

    /* The report names the policy, and each second tells the latency of the
     * frames shown in it. */
    g_autoptr(JsonNode) root = load_json(json);
    JsonObject *o = json_node_get_object(root);
    g_assert_cmpstr(json_object_get_string_member(json_object_get_object_member(o, "run"),
                                                  "latency_policy"),
                    ==, sv_latency_policy_to_string(policy));
    JsonArray *windows = json_object_get_array_member(o, "windows");
    guint64 with_latency = 0;
    for (guint i = 0; i < json_array_get_length(windows); i++) {
        JsonObject *w = json_array_get_object_element(windows, i);
        g_assert_true(json_object_has_member(w, "latency_p50_ms"));
        guint64 n = (guint64)json_object_get_int_member(w, "latency_frames");
        with_latency += n;
        if (n > 0) {
            double p50 = json_object_get_double_member(w, "latency_p50_ms");
            double p95 = json_object_get_double_member(w, "latency_p95_ms");
            g_assert_cmpfloat(p50, <=, p95);
            g_assert_cmpfloat(p50, >, 0.0);
        } else {
            g_assert_true(JSON_NODE_HOLDS_NULL(json_object_get_member(w, "latency_p50_ms")));
        }
    }
    /* Every shown frame is counted in the second it was shown (the windows
     * span the run). */
    g_assert_cmpuint(with_latency, ==, s->shown);
}

/*
 * The interactive latency policy gets frames on screen sooner than
 * spice's on the corpus video over lan: a relation between two
 * deterministic runs, not a timing threshold.
 */
static void test_latency_policy_lan(void)
{
    g_autofree char *json_spice = g_build_filename(tmpdir, "policy-spice.json", NULL);
    g_autofree char *json_interactive = g_build_filename(tmpdir, "policy-interactive.json", NULL);
    SvReplaySummary spice, interactive;
    run_policy(SV_LATENCY_POLICY_SPICE, json_spice, &spice);
    run_policy(SV_LATENCY_POLICY_INTERACTIVE, json_interactive, &interactive);
    g_assert_cmpuint(spice.shown, >, 0);
    g_assert_cmpuint(interactive.shown, >, 0);
    g_assert_cmpfloat(interactive.latency_p95_ms, <, spice.latency_p95_ms);
}

/* The interactive policy's floor uses encode times: under --deterministic
 * the model's, so that two runs give the same bytes. */
static void test_deterministic_interactive(void)
{
    /* H.264 (one thread under --deterministic): its encode times vary enough
     * to move the floor, and its bytes do not depend on the machine's load,
     * unlike libvpx's real-time VP8, which adapts its speed to the time an
     * encode takes (docs/replay.md). */
    assert_deterministic("h264", "lan", SV_LATENCY_POLICY_INTERACTIVE, "det-interactive");
}

/*
 * On a congested link (mobile: 4 Mbit/s, 384 KiB of buffers on the way)
 * the link budget keeps frames from queueing behind each other: the
 * interactive policy's p95 is below spice's and it shows at least as many
 * frames, with VP8 on the synthetic video. Relations between deterministic
 * runs, not timing thresholds.
 */
static void test_latency_policy_mobile(void)
{
    const char *trace = generated_video();
    if (trace == NULL) {
        g_test_skip("SV_SPICE_BENCH is not set: no generated trace");
        return;
    }
    SvReplaySummary s[2];
    for (int i = 0; i < 2; i++) {
        SvReplayConfig cfg;
        sv_replay_config_init(&cfg);
        cfg.trace_path = trace;
        cfg.codec = "vp8";
        cfg.net = "mobile";
        cfg.deterministic = TRUE;
        cfg.latency_policy = i == 0 ? SV_LATENCY_POLICY_SPICE : SV_LATENCY_POLICY_INTERACTIVE;
        g_autoptr(GError) error = NULL;
        g_assert_true(sv_replay_run(&cfg, &s[i], &error));
        g_test_message("%s policy on mobile: p50 %.1f ms, p95 %.1f ms, %" G_GUINT64_FORMAT
                       " of %" G_GUINT64_FORMAT " shown",
                       sv_latency_policy_to_string(cfg.latency_policy), s[i].latency_p50_ms,
                       s[i].latency_p95_ms, s[i].shown, s[i].frames);
    }
    g_assert_cmpuint(s[0].shown, >, 0);
    g_assert_cmpfloat(s[1].latency_p95_ms, <, s[0].latency_p95_ms);
    g_assert_cmpfloat(s[1].latency_p50_ms, <, s[0].latency_p50_ms);
    g_assert_cmpuint(s[1].shown, >=, s[0].shown);
}

static void test_text_no_stream(void)
{
    SvReplayConfig cfg;
    sv_replay_config_init(&cfg);
    cfg.trace_path = TEXT;
    cfg.codec = "mjpeg";
    cfg.deterministic = TRUE;
    SvReplaySummary s;
    g_autoptr(GError) error = NULL;
    g_assert_true(sv_replay_run(&cfg, &s, &error));
    g_assert_cmpuint(s.streams, ==, 0);
    g_assert_cmpuint(s.frames, ==, 0);
}

static void test_bad_input(void)
{
    SvReplayConfig cfg;
    sv_replay_config_init(&cfg);
    g_autoptr(GError) error = NULL;

    cfg.trace_path = "/nonexistent/trace.spice";
    g_assert_false(sv_replay_run(&cfg, NULL, &error));
    g_assert_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_IO);
    g_clear_error(&error);

    cfg.trace_path = VIDEO;
    cfg.net = "bw=fast";
    g_assert_false(sv_replay_run(&cfg, NULL, &error));
    g_assert_error(error, SV_REPLAY_ERROR, SV_REPLAY_ERROR_BAD_INPUT);
    g_assert_nonnull(strstr(error->message, "bw"));
    g_clear_error(&error);

    cfg.net = "lan";
    cfg.codec = "theora";
    g_assert_false(sv_replay_run(&cfg, NULL, &error));
    g_assert_error(error, SV_REPLAY_ERROR, SV_REPLAY_ERROR_BAD_INPUT);
    g_assert_nonnull(strstr(error->message, "theora"));
    g_clear_error(&error);

    cfg.codec = NULL;
    cfg.client = "netscape";
    g_assert_false(sv_replay_run(&cfg, NULL, &error));
    g_assert_nonnull(error);
    g_clear_error(&error);
}

/* A trace cut in the middle of a bitmap: a clean error, no JSON left. */
static void test_truncated_trace(void)
{
    g_autofree char *data = NULL;
    gsize len;
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new(VIDEO, &error);
    g_assert_nonnull(reader);
    /* Decompress to memory through the writer: a plain copy, then cut it. */
    g_autofree char *plain = g_build_filename(tmpdir, "plain.spice", NULL);
    g_autoptr(SvTraceWriter) w = sv_trace_writer_new(plain, SV_TRACE_COMPRESSION_NONE, 0, &error);
    g_assert_nonnull(w);
    const SvTraceEvent *ev;
    guint n = 0;
    while ((ev = sv_trace_reader_next(reader, &error)) != NULL && n++ < 30) {
        g_assert_true(sv_trace_writer_write(w, ev, &error));
    }
    g_assert_true(sv_trace_writer_close(w, &error));
    g_assert_true(g_file_get_contents(plain, &data, &len, &error));
    g_autofree char *cut = g_build_filename(tmpdir, "cut.spice", NULL);
    g_assert_true(g_file_set_contents(cut, data, (gssize)(len - 1000), &error));

    g_autofree char *json = g_build_filename(tmpdir, "cut.json", NULL);
    SvReplayConfig cfg;
    sv_replay_config_init(&cfg);
    cfg.trace_path = cut;
    cfg.json_path = json;
    cfg.deterministic = TRUE;
    g_assert_false(sv_replay_run(&cfg, NULL, &error));
    g_assert_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_FORMAT);
    g_assert_nonnull(strstr(error->message, "offset"));
    g_assert_false(g_file_test(json, G_FILE_TEST_EXISTS));
    g_autofree char *tmp = g_strconcat(json, ".tmp", NULL);
    g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("sv-replay-XXXXXX", NULL);
    g_test_add_func("/replay/video-lan-mjpeg", test_video_lan_mjpeg);
    g_test_add_func("/replay/deterministic-twice", test_deterministic_twice);
    g_test_add_func("/replay/deterministic-interactive", test_deterministic_interactive);
    g_test_add_func("/replay/latency-policy-mobile", test_latency_policy_mobile);
    g_test_add_func("/replay/slow-link-reacts", test_slow_link_reacts);
    g_test_add_func("/replay/deterministic-threads", test_deterministic_threads);
    g_test_add_func("/replay/final-screen-congested", test_final_screen_congested);
    g_test_add_func("/replay/vp8", test_vp8);
    g_test_add_func("/replay/h264", test_h264);
    g_test_add_func("/replay/latency-policy-lan", test_latency_policy_lan);
    g_test_add_func("/replay/text-no-stream", test_text_no_stream);
    g_test_add_func("/replay/bad-input", test_bad_input);
    g_test_add_func("/replay/truncated-trace", test_truncated_trace);
    int status = g_test_run();
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) {
        g_printerr("could not remove %s\n", tmpdir);
    }
    g_free(tmpdir);
    return status;
}
