/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The replay harness's measurements: metrics.c (percentiles, stages, windows,
 * fates, JSON, CSV, labels), quality.c (PSNR and SSIM against ffmpeg's
 * filters, bitmap conversion) and framedump.c (Y4M and PNG output).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <zlib.h>

#include "framedump.h"
#include "metrics.h"
#include "quality.h"

#define MS INT64_C(1000000)
#define S INT64_C(1000000000)
/* The histogram's documented bound: relative error ≤ 1/256 (docs/metrics.md),
 * plus the 0.0005 ms of printing with %.3f. */
#define HIST_REL_ERROR (1.0 / 256.0)

/* ---------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------- */

static char *make_tmpdir(void)
{
    GError *error = NULL;
    char *dir = g_dir_make_tmp("sv-test-metrics-XXXXXX", &error);
    g_assert_no_error(error);
    return dir;
}

static void rm_rf(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    if (dir != NULL) {
        const char *name;
        while ((name = g_dir_read_name(dir)) != NULL) {
            g_autofree char *child = g_build_filename(path, name, NULL);
            rm_rf(child);
        }
        g_dir_close(dir);
        g_rmdir(path);
    } else {
        g_unlink(path);
    }
}

static guint count_files(const char *path)
{
    GDir *dir = g_dir_open(path, 0, NULL);
    guint n = 0;
    g_assert_nonnull(dir);
    while (g_dir_read_name(dir) != NULL) {
        n++;
    }
    g_dir_close(dir);
    return n;
}

/* A frame that went through every stage: @d[i] ns between stage i and i+1. */
static SvFrameRecord make_frame(uint64_t seq, int stream_id, int64_t guest_ns, const int64_t d[6])
{
    SvFrameRecord f = {0};
    f.drawable_seq = seq;
    f.stream_id = stream_id;
    f.fate = SV_FRAME_FATE_SHOWN;
    f.width = 320;
    f.height = 240;
    f.guest_ns = guest_ns;
    f.encode_start_ns = f.guest_ns + d[0];
    f.encode_end_ns = f.encode_start_ns + d[1];
    f.sent_ns = f.encode_end_ns + d[2];
    f.arrived_ns = f.sent_ns + d[3];
    f.decoded_ns = f.arrived_ns + d[4];
    f.displayed_ns = f.decoded_ns + d[5];
    f.margin_ms = 20;
    f.bytes = 10000;
    f.encode_cpu_ns = d[1];
    f.decode_cpu_ns = d[4];
    f.psnr_y = 40.0;
    f.ssim_y = 0.98;
    f.bit_rate = 4000000;
    return f;
}

static SvStreamRecord make_stream(int id, int64_t created_ns, SpiceRect dest)
{
    SvStreamRecord s = {0};
    s.stream_id = id;
    s.created_seq = 100 + (uint64_t)id;
    s.created_ns = created_ns;
    s.first_candidate_ns = created_ns - 150 * MS;
    s.stopped_ns = -1;
    s.width = (uint32_t)(dest.right - dest.left);
    s.height = (uint32_t)(dest.bottom - dest.top);
    s.dest = dest;
    s.input_fps = 25;
    g_strlcpy(s.codec, "VP8", sizeof(s.codec));
    g_strlcpy(s.encoder, "gstreamer:vp8", sizeof(s.encoder));
    s.starting_bit_rate = 10000000;
    s.negotiation = g_strdup("client prefers vp8;\n\"gstreamer:vp8\" chosen");
    return s;
}

static SvRunInfo make_info(void)
{
    SvRunInfo info = {0};
    info.trace = "synthetic.svr";
    info.video_codecs = "gstreamer:vp8";
    info.client = "spice-gtk";
    info.net = "lan";
    info.streaming = "filter";
    info.latency_policy = "spice";
    info.deterministic = TRUE;
    info.seed = 7;
    info.trace_duration_ns = 20 * S;
    info.replay_wall_ns = 1234 * MS;
    info.cpu_total_ns = 999 * MS;
    info.cpu_encode_ns = 500 * MS;
    info.cpu_decode_ns = 200 * MS;
    info.cpu_lz4_ns = 10 * MS;
    info.guest_draws = 100;
    info.guest_draw_bytes = 1000000;
    info.final_psnr_y = INFINITY;
    info.final_ssim_y = 1.0;
    info.start_bit_rate_test_bps = 50000000;
    info.roundtrip_ns = 2 * MS;
    info.mm_time_latency_ms = 400;
    return info;
}

static JsonNode *parse_json_file(const char *path)
{
    GError *error = NULL;
    g_autoptr(JsonParser) parser = json_parser_new();
    json_parser_load_from_file(parser, path, &error);
    g_assert_no_error(error);
    return json_node_copy(json_parser_get_root(parser));
}

/* The member at a path of keys (NULL-terminated); numbers index arrays ("#3"). */
static JsonNode *jget(JsonNode *root, ...)
{
    va_list ap;
    JsonNode *node = root;
    va_start(ap, root);
    for (const char *key = va_arg(ap, const char *); key != NULL; key = va_arg(ap, const char *)) {
        if (key[0] == '#') {
            g_assert_true(JSON_NODE_HOLDS_ARRAY(node));
            JsonArray *a = json_node_get_array(node);
            guint index = (guint)atoi(key + 1);
            g_assert_cmpuint(index, <, json_array_get_length(a));
            node = json_array_get_element(a, index);
        } else {
            g_assert_true(JSON_NODE_HOLDS_OBJECT(node));
            JsonObject *o = json_node_get_object(node);
            if (!json_object_has_member(o, key)) {
                g_error("missing JSON member \"%s\"", key);
            }
            node = json_object_get_member(o, key);
        }
    }
    va_end(ap);
    return node;
}

#define JDOUBLE(root, ...) json_node_get_double(jget(root, __VA_ARGS__, NULL))
#define JINT(root, ...) json_node_get_int(jget(root, __VA_ARGS__, NULL))
#define JSTR(root, ...) json_node_get_string(jget(root, __VA_ARGS__, NULL))
#define JNULL(root, ...) JSON_NODE_HOLDS_NULL(jget(root, __VA_ARGS__, NULL))

static void assert_within_hist_error(double reported, double exact)
{
    double bound = exact * HIST_REL_ERROR + 0.0005 + 1e-9;
    if (fabs(reported - exact) > bound) {
        g_error("percentile %.6f vs exact %.6f: error above %.6f", reported, exact, bound);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t exact_rank(const int64_t *sorted, size_t n, unsigned permille)
{
    size_t rank = ((size_t)permille * n + 999) / 1000;
    return sorted[MAX(rank, 1) - 1];
}

/* ---------------------------------------------------------------------------
 * Percentiles
 * ------------------------------------------------------------------------- */

/* End-to-end latencies from a distribution; checks p50/p95/p99/max against the
 * exact nearest-rank values. */
static void check_distribution(int64_t *values, size_t n)
{
    GError *error = NULL;
    SvMetrics *m = sv_metrics_new(NULL, &error);
    g_assert_no_error(error);
    for (size_t i = 0; i < n; i++) {
        const int64_t d[6] = {0, 0, 0, values[i], 0, 0};
        SvFrameRecord f = make_frame(i, 0, (int64_t)i * 1000, d);
        sv_metrics_add_frame(m, &f);
    }
    SvMetricsSummary sum;
    sv_metrics_get_summary(m, &sum);
    qsort(values, n, sizeof(int64_t), cmp_i64);
    assert_within_hist_error(sum.latency_p50_ms, exact_rank(values, n, 500) / 1e6);
    assert_within_hist_error(sum.latency_p95_ms, exact_rank(values, n, 950) / 1e6);
    assert_within_hist_error(sum.latency_p99_ms, exact_rank(values, n, 990) / 1e6);
    g_assert_cmpfloat(sum.latency_max_ms, ==, values[n - 1] / 1e6); /* max is exact */
    g_assert_cmpuint(sum.frames, ==, n);
    sv_metrics_free(m);
}

static void test_percentiles(void)
{
    size_t n = 10000;
    g_autofree int64_t *v = g_new(int64_t, n);

    /* Uniform 1 µs … 10 ms. */
    for (size_t i = 0; i < n; i++) {
        v[i] = (int64_t)(i + 1) * 1000;
    }
    check_distribution(v, n);

    /* Exponential, mean 30 ms (fixed LCG, so the test is reproducible). */
    GRand *rand = g_rand_new_with_seed(42);
    for (size_t i = 0; i < n; i++) {
        v[i] = (int64_t)(-log(1.0 - g_rand_double(rand)) * 30e6);
    }
    check_distribution(v, n);

    /* Log-normal-ish with a heavy tail: spans 5 decades. */
    for (size_t i = 0; i < n; i++) {
        v[i] = (int64_t)exp(g_rand_double_range(rand, log(1e3), log(1e8)));
    }
    check_distribution(v, n);

    /* Small counts and small values: exact below 256 ns. */
    int64_t few[3] = {5, 200, 100};
    check_distribution(few, 3);
    int64_t one[1] = {123456789};
    check_distribution(one, 1);
    g_rand_free(rand);
}

/* ---------------------------------------------------------------------------
 * Stages, fates, windows: through the JSON
 * ------------------------------------------------------------------------- */

/* A fixed scripted run; @csv may be NULL. */
static SvMetrics *scripted_run(const char *csv, const char *labels)
{
    GError *error = NULL;
    SvMetrics *m = sv_metrics_new(csv, &error);
    g_assert_no_error(error);
    sv_metrics_set_origin(m, 1 * S);
    if (labels != NULL) {
        sv_metrics_load_labels(m, labels, &error);
        g_assert_no_error(error);
    }
    SvStreamRecord st = make_stream(0, 1 * S + 500 * MS, (SpiceRect){80, 30, 400, 270});
    sv_metrics_add_stream(m, &st);
    SvStreamRecord fs = make_stream(1, 1 * S + 700 * MS, (SpiceRect){0, 500, 100, 600});
    sv_metrics_add_stream(m, &fs);
    sv_metrics_stream_stopped(m, 1, 3 * S);

    /* Capacity 10 Mb/s for the first 10 s, then 20 Mb/s. */
    sv_metrics_add_capacity(m, 1 * S, 10000000);
    sv_metrics_add_capacity(m, 11 * S, 20000000);
    for (int k = 0; k < 20; k++) {
        /* Window k carries (k + 1) × 1000 bytes: 3/4 video. */
        sv_metrics_add_bytes(m, 1 * S + k * S + 100 * MS, (uint64_t)(k + 1) * 750, TRUE);
        sv_metrics_add_bytes(m, 1 * S + k * S + 900 * MS, (uint64_t)(k + 1) * 250, FALSE);
        sv_metrics_add_rate_sample(m, 1 * S + k * S + 200 * MS, 0, 1000000 + (uint64_t)k, 0.5);
        sv_metrics_add_rate_sample(m, 1 * S + k * S + 800 * MS, 0, 2000000 + (uint64_t)k, 0.75);
    }
    /* 10 frames: stages 1, 2, 3, 4, 5, 6 ms (+ i µs for the network). */
    static const SvFrameFate fates[10] = {
        SV_FRAME_FATE_SHOWN,        SV_FRAME_FATE_SHOWN,           SV_FRAME_FATE_SHOWN,
        SV_FRAME_FATE_SHOWN,        SV_FRAME_FATE_DROPPED_ENCODER, SV_FRAME_FATE_DROPPED_PIPE,
        SV_FRAME_FATE_DROPPED_PIPE, SV_FRAME_FATE_AS_IMAGE,        SV_FRAME_FATE_NOT_DECODED,
        SV_FRAME_FATE_UNDELIVERED,
    };
    for (int i = 0; i < 10; i++) {
        sv_metrics_add_guest_draw(m, 1 * S + 600 * MS + i * 40 * MS, TRUE);
        const int64_t d[6] = {1 * MS, 2 * MS, 3 * MS, 4 * MS + i * 1000, 5 * MS, 6 * MS};
        SvFrameRecord f = make_frame((uint64_t)i, 0, 1 * S + 600 * MS + i * 40 * MS, d);
        f.fate = fates[i];
        f.late = i == 3;
        f.psnr_y = i == 1 ? INFINITY : 30.0 + i;
        f.ssim_y = 0.9;
        if (f.fate == SV_FRAME_FATE_DROPPED_ENCODER) {
            f.encode_end_ns = f.sent_ns = f.arrived_ns = f.decoded_ns = f.displayed_ns = -1;
            f.bytes = 0;
        } else if (f.fate != SV_FRAME_FATE_SHOWN) {
            f.displayed_ns = f.decoded_ns = -1;
            if (f.fate != SV_FRAME_FATE_NOT_DECODED) {
                f.arrived_ns = -1;
            }
            if (f.fate == SV_FRAME_FATE_DROPPED_PIPE || f.fate == SV_FRAME_FATE_AS_IMAGE) {
                f.sent_ns = -1;
            }
            f.psnr_y = f.ssim_y = NAN;
        }
        sv_metrics_add_frame(m, &f);
    }
    sv_metrics_add_guest_draw(m, 5 * S, FALSE);
    SvRunInfo info = make_info();
    sv_metrics_finish(m, &info, &error);
    g_assert_no_error(error);
    return m;
}

static void test_summary_and_fates(void)
{
    SvMetrics *m = scripted_run(NULL, NULL);
    SvMetricsSummary sum;
    sv_metrics_get_summary(m, &sum);

    g_assert_cmpuint(sum.frames, ==, 10);
    g_assert_cmpuint(sum.shown, ==, 4);
    g_assert_cmpuint(sum.dropped_encoder, ==, 1);
    g_assert_cmpuint(sum.dropped_pipe, ==, 2);
    g_assert_cmpuint(sum.as_image, ==, 1);
    g_assert_cmpuint(sum.not_decoded, ==, 1);
    g_assert_cmpuint(sum.undelivered, ==, 1);
    g_assert_cmpuint(sum.late, ==, 1);
    g_assert_cmpuint(sum.streams, ==, 2);
    g_assert_cmpuint(sum.total_bytes, ==, 210000); /* Σ (k+1)·1000, k < 20 */
    g_assert_cmpuint(sum.video_bytes, ==, 157500);
    g_assert_cmpfloat_with_epsilon(sum.mean_bps, 210000 * 8 / 20.0, 1e-6);
    /* Nearest rank 19 of 20 windows: 19000 bytes. */
    g_assert_cmpfloat_with_epsilon(sum.p95_bps, 19000 * 8, 1e-6);
    /* Shown frames: e2e 21 ms + i µs, i = 0…3. */
    assert_within_hist_error(sum.latency_p50_ms, 21.001);
    assert_within_hist_error(sum.latency_max_ms, 21.003);
    /* PSNR of shown frames 30, inf→100, 32, 33. */
    g_assert_cmpfloat_with_epsilon(sum.psnr_mean, (30 + 100 + 32 + 33) / 4.0, 1e-9);
    g_assert_cmpfloat_with_epsilon(sum.ssim_mean, 0.9, 1e-9);
    g_assert_cmpfloat_with_epsilon(sum.delivered_fps, 4 / 20.0, 1e-9);

    /* The summary mentions the essentials and fits one screen. */
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    sv_metrics_print_summary(m, out);
    fclose(out);
    g_test_message("%s", text);
    g_assert_nonnull(strstr(text, "VP8 via gstreamer:vp8"));
    g_assert_nonnull(strstr(text, "p95"));
    g_assert_nonnull(strstr(text, "PSNR-Y 48.75 dB"));
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), <=, 24);
    for (guint i = 0; lines[i] != NULL; i++) {
        g_assert_cmpuint(strlen(lines[i]), <=, 160);
    }
    free(text);
    sv_metrics_free(m);
}

/* A link still draining after the trace's end: rates over the time it sent. */
static void test_drain(void)
{
    GError *error = NULL;
    SvMetrics *m = sv_metrics_new(NULL, &error);
    g_assert_no_error(error);
    sv_metrics_add_capacity(m, 0, 10000);
    sv_metrics_add_bytes(m, 500 * MS, 1000, TRUE);
    sv_metrics_add_bytes(m, 3 * S + 500 * MS, 1000, TRUE);
    const int64_t d[6] = {0, MS, MS, MS, MS, MS};
    SvFrameRecord f = make_frame(0, 0, 100 * MS, d);
    sv_metrics_add_frame(m, &f);
    SvRunInfo info = make_info();
    info.trace_duration_ns = 2 * S;
    g_assert_true(sv_metrics_finish(m, &info, &error));
    SvMetricsSummary sum;
    sv_metrics_get_summary(m, &sum);
    g_assert_cmpfloat_with_epsilon(sum.mean_bps, 16000 / 3.5, 1e-9);
    g_assert_cmpfloat_with_epsilon(sum.delivered_fps, 1 / 2.0, 1e-9); /* per trace second */
    g_assert_cmpfloat_with_epsilon(sum.p95_bps, 8000, 1e-9);
    sv_metrics_free(m);
}

static void test_json(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "run.json", NULL);
    GError *error = NULL;
    SvMetrics *m = scripted_run(NULL, NULL);

    sv_metrics_write_json(m, path, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(count_files(dir), ==, 1); /* no run.json.tmp */

    /* "schema" is the first key. */
    g_autofree char *text = NULL;
    g_file_get_contents(path, &text, NULL, &error);
    g_assert_no_error(error);
    g_assert_true(g_str_has_prefix(text, "{\n  \"schema\": \"spice-bench-replay/1\",\n"));
    g_assert_false(g_regex_match_simple("[:\\[,] *-?(nan|inf)", text, G_REGEX_CASELESS, 0));

    JsonNode *root = parse_json_file(path);
    g_assert_cmpstr(JSTR(root, "schema"), ==, SV_METRICS_SCHEMA);
    static const char *const top[] = {"schema",  "run",       "network", "encoder",
                                      "cpu",     "bitrate",   "frames",  "latency_ms",
                                      "quality", "detection", "streams", "windows"};
    g_autoptr(GList) members = json_object_get_members(json_node_get_object(root));
    guint k = 0;
    for (GList *l = members; l != NULL; l = l->next, k++) {
        g_assert_cmpuint(k, <, G_N_ELEMENTS(top));
        g_assert_cmpstr(l->data, ==, top[k]);
    }
    g_assert_cmpuint(k, ==, G_N_ELEMENTS(top));

    /* run */
    g_assert_cmpstr(JSTR(root, "run", "trace"), ==, "synthetic.svr");
    g_assert_true(JNULL(root, "run", "replay_wall_ms")); /* deterministic */
    g_assert_cmpint(JINT(root, "run", "origin_ns"), ==, 1 * S);
    g_assert_cmpfloat(JDOUBLE(root, "run", "trace_duration_ms"), ==, 20000.0);
    g_assert_cmpfloat(JDOUBLE(root, "network", "roundtrip_ms"), ==, 2.0);
    g_assert_cmpstr(JSTR(root, "encoder", "negotiated", "#0", "encoder"), ==, "gstreamer:vp8");
    g_assert_cmpfloat(JDOUBLE(root, "encoder", "encode_cpu_ms_per_frame", "p50"), ==, 2.0);
    g_assert_true(JNULL(root, "cpu", "total_ms"));
    g_assert_cmpfloat(JDOUBLE(root, "cpu", "encode_ms"), ==, 500.0);

    /* bitrate and windows */
    g_assert_cmpint(JINT(root, "bitrate", "total_bytes"), ==, 210000);
    g_assert_cmpint(JINT(root, "bitrate", "other_bytes"), ==, 52500);
    g_assert_cmpfloat(JDOUBLE(root, "bitrate", "duration_ms"), ==, 20000.0);
    g_assert_cmpfloat(JDOUBLE(root, "bitrate", "p95_bps"), ==, 152000);
    g_assert_cmpfloat(JDOUBLE(root, "bitrate", "max_bps"), ==, 160000);
    /* 10 s at 10 Mb/s and 10 s at 20 Mb/s. */
    g_assert_cmpfloat(JDOUBLE(root, "bitrate", "capacity_mean_bps"), ==, 15000000);
    g_assert_cmpfloat_with_epsilon(JDOUBLE(root, "bitrate", "utilisation_mean"), 210000 * 8 / 300e6,
                                   0.00005);
    JsonArray *windows = json_node_get_array(jget(root, "windows", NULL));
    g_assert_cmpuint(json_array_get_length(windows), ==, 20);
    for (guint w = 0; w < 20; w++) {
        g_autofree char *index = g_strdup_printf("#%u", w);
        g_assert_cmpint(JINT(root, "windows", index, "t_s"), ==, w);
        g_assert_cmpint(JINT(root, "windows", index, "bytes"), ==, (w + 1) * 1000);
        g_assert_cmpint(JINT(root, "windows", index, "video_bytes"), ==, (w + 1) * 750);
        g_assert_cmpint(JINT(root, "windows", index, "bps"), ==, (w + 1) * 8000);
        double cap = w < 10 ? 10e6 : 20e6;
        g_assert_cmpfloat(JDOUBLE(root, "windows", index, "capacity_bps"), ==, cap);
        g_assert_cmpfloat_with_epsilon(JDOUBLE(root, "windows", index, "utilisation"),
                                       (w + 1) * 8000 / cap, 0.00005);
        /* The last rate sample of each second is kept. */
        g_assert_cmpint(JINT(root, "windows", index, "bit_rate"), ==, 2000000 + w);
        g_assert_cmpfloat(JDOUBLE(root, "windows", index, "quality"), ==, 0.75);
        g_assert_cmpint(JINT(root, "streams", "#0", "rate_control", index, "bit_rate"), ==,
                        2000000 + w);
    }
    g_assert_cmpint(JINT(root, "windows", "#0", "stream_frames"), ==, 10);
    g_assert_cmpint(JINT(root, "windows", "#0", "guest_draws"), ==, 10);
    g_assert_cmpint(JINT(root, "windows", "#4", "guest_draws"), ==, 1);

    /* frames */
    g_assert_cmpint(JINT(root, "frames", "stream_frames"), ==, 10);
    g_assert_cmpint(JINT(root, "frames", "shown"), ==, 4);
    g_assert_cmpint(JINT(root, "frames", "dropped_encoder"), ==, 1);
    g_assert_cmpint(JINT(root, "frames", "dropped_pipe"), ==, 2);
    g_assert_cmpint(JINT(root, "frames", "late"), ==, 1);
    g_assert_cmpint(JINT(root, "frames", "encoded"), ==, 9);
    g_assert_cmpint(JINT(root, "frames", "guest_draws"), ==, 11);
    g_assert_cmpint(JINT(root, "frames", "guest_stream_draws"), ==, 10);
    g_assert_cmpfloat(JDOUBLE(root, "frames", "delivered_fps"), ==, 0.2);

    /* Stage latencies: each stage counts the frames that reached both ends. */
    static const struct {
        const char *stage;
        gint64 count;
        double p50;
    } stages[] = {{"queue", 10, 1.0},       {"encode", 9, 2.0}, {"send", 6, 3.0},
                  {"network", 5, 4.003},    {"decode", 4, 5.0}, {"display", 4, 6.0},
                  {"end_to_end", 4, 21.001}};
    for (guint i = 0; i < G_N_ELEMENTS(stages); i++) {
        g_assert_cmpint(JINT(root, "latency_ms", stages[i].stage, "count"), ==, stages[i].count);
        assert_within_hist_error(JDOUBLE(root, "latency_ms", stages[i].stage, "p50"),
                                 stages[i].p50);
        g_assert_true(JDOUBLE(root, "latency_ms", stages[i].stage, "p99") <=
                      JDOUBLE(root, "latency_ms", stages[i].stage, "max"));
        /* The CDF: 21 points p0 … p100, non-decreasing, through p50, p95 and max. */
        JsonArray *cdf =
            json_node_get_array(jget(root, "latency_ms", stages[i].stage, "cdf_ms", NULL));
        g_assert_cmpuint(json_array_get_length(cdf), ==, 21);
        for (guint c = 1; c < 21; c++) {
            g_assert_cmpfloat(json_array_get_double_element(cdf, c - 1), <=,
                              json_array_get_double_element(cdf, c));
        }
        g_assert_cmpfloat(json_array_get_double_element(cdf, 10), ==,
                          JDOUBLE(root, "latency_ms", stages[i].stage, "p50"));
        g_assert_cmpfloat(json_array_get_double_element(cdf, 19), ==,
                          JDOUBLE(root, "latency_ms", stages[i].stage, "p95"));
        g_assert_cmpfloat(json_array_get_double_element(cdf, 20), ==,
                          JDOUBLE(root, "latency_ms", stages[i].stage, "max"));
    }
    /* Only the run's stages have a CDF. */
    g_assert_false(json_object_has_member(json_node_get_object(jget(root, "encoder",
                                                                    "encode_cpu_ms_per_frame",
                                                                    NULL)),
                                          "cdf_ms"));
    g_assert_false(json_object_has_member(json_node_get_object(jget(root, "streams", "#0",
                                                                    "end_to_end_ms", NULL)),
                                          "cdf_ms"));
    g_assert_cmpstr(JSTR(root, "latency_ms", "dominant_stage"), ==, "display");

    /* quality */
    g_assert_cmpfloat(JDOUBLE(root, "quality", "psnr_y_db", "mean"), ==, 48.75);
    g_assert_cmpfloat(JDOUBLE(root, "quality", "psnr_y_db", "max"), ==, 100.0);
    g_assert_cmpfloat(JDOUBLE(root, "quality", "ssim_y", "mean"), ==, 0.9);
    g_assert_cmpfloat(JDOUBLE(root, "quality", "final_psnr_y_db"), ==, 100.0);

    /* streams */
    g_assert_cmpint(JINT(root, "detection", "streams_created"), ==, 2);
    g_assert_true(JNULL(root, "detection", "labels"));
    g_assert_cmpfloat(JDOUBLE(root, "detection", "time_to_detect_ms", "p50"), ==, 150.0);
    g_assert_cmpfloat(JDOUBLE(root, "streams", "#0", "created_ms"), ==, 500.0);
    g_assert_cmpfloat(JDOUBLE(root, "streams", "#0", "time_to_detect_ms"), ==, 150.0);
    g_assert_true(JNULL(root, "streams", "#0", "stopped_ms"));
    g_assert_cmpfloat(JDOUBLE(root, "streams", "#0", "lifetime_ms"), ==, 19500.0);
    g_assert_cmpfloat(JDOUBLE(root, "streams", "#1", "lifetime_ms"), ==, 1300.0);
    g_assert_cmpstr(JSTR(root, "streams", "#0", "codec"), ==, "VP8");
    g_assert_cmpstr(JSTR(root, "streams", "#0", "negotiation"), ==,
                    "client prefers vp8;\n\"gstreamer:vp8\" chosen");
    g_assert_cmpint(JINT(root, "streams", "#0", "frames", "shown"), ==, 4);
    g_assert_cmpint(JINT(root, "streams", "#1", "frames", "stream_frames"), ==, 0);
    g_assert_cmpint(JINT(root, "streams", "#0", "bytes"), ==, 90000);

    json_node_unref(root);
    sv_metrics_free(m);
    rm_rf(dir);
}

/* cdf_ms: p0 … p100 by 5 %, within the histogram's error of the exact
 * nearest-rank values, exact at both ends; null for a stage without frames. */
static void test_json_cdf(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *path = g_build_filename(dir, "run.json", NULL);
    GError *error = NULL;
    SvMetrics *m = sv_metrics_new(NULL, &error);
    g_assert_no_error(error);
    /* 1000 network delays 0.1, 0.2, … 100 ms, added out of order. */
    enum {
        N = 1000
    };
    g_autofree int64_t *values = g_new(int64_t, N);
    for (int i = 0; i < N; i++) {
        values[i] = (int64_t)((i * 7919) % N + 1) * 100 * 1000;
        const int64_t d[6] = {0, 0, 0, values[i], 0, 0};
        SvFrameRecord f = make_frame((uint32_t)i, 0, (int64_t)i * 1000, d);
        sv_metrics_add_frame(m, &f);
    }
    sv_metrics_write_json(m, path, &error);
    g_assert_no_error(error);
    sv_metrics_free(m);
    qsort(values, N, sizeof(int64_t), cmp_i64);

    JsonNode *root = parse_json_file(path);
    static const char *const stages[] = {"network", "end_to_end"};
    for (guint s = 0; s < G_N_ELEMENTS(stages); s++) {
        JsonArray *cdf = json_node_get_array(jget(root, "latency_ms", stages[s], "cdf_ms", NULL));
        g_assert_cmpuint(json_array_get_length(cdf), ==, 21);
        for (guint k = 0; k <= 20; k++) {
            double exact = exact_rank(values, N, k * 50) / 1e6;
            double got = json_array_get_double_element(cdf, k);
            if (k == 0 || k == 20) {
                g_assert_cmpfloat(got, ==, exact);
            } else {
                assert_within_hist_error(got, exact);
            }
        }
    }
    json_node_unref(root);

    /* No frame at all: every stage's cdf_ms is null. */
    m = sv_metrics_new(NULL, &error);
    g_assert_no_error(error);
    sv_metrics_write_json(m, path, &error);
    g_assert_no_error(error);
    sv_metrics_free(m);
    root = parse_json_file(path);
    g_assert_true(JNULL(root, "latency_ms", "queue", "cdf_ms"));
    g_assert_true(JNULL(root, "latency_ms", "end_to_end", "cdf_ms"));
    json_node_unref(root);
    rm_rf(dir);
}

static void test_json_deterministic(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *a = g_build_filename(dir, "a.json", NULL);
    g_autofree char *b = g_build_filename(dir, "b.json", NULL);
    GError *error = NULL;

    for (int run = 0; run < 2; run++) {
        SvMetrics *m = scripted_run(NULL, NULL);
        sv_metrics_write_json(m, run == 0 ? a : b, &error);
        g_assert_no_error(error);
        sv_metrics_free(m);
    }
    g_autofree char *ta = NULL, *tb = NULL;
    gsize la, lb;
    g_assert_true(g_file_get_contents(a, &ta, &la, NULL));
    g_assert_true(g_file_get_contents(b, &tb, &lb, NULL));
    g_assert_cmpmem(ta, la, tb, lb);

    /* A different input changes the output (the comparison can fail). */
    SvMetrics *m = scripted_run(NULL, NULL);
    sv_metrics_add_bytes(m, 2 * S, 1, FALSE);
    sv_metrics_write_json(m, b, &error);
    g_assert_no_error(error);
    sv_metrics_free(m);
    g_clear_pointer(&tb, g_free);
    g_assert_true(g_file_get_contents(b, &tb, &lb, NULL));
    g_assert_false(la == lb && memcmp(ta, tb, la) == 0);
    rm_rf(dir);
}

static void test_labels(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *labels = g_build_filename(dir, "t.labels.json", NULL);
    g_autofree char *json = g_build_filename(dir, "run.json", NULL);
    GError *error = NULL;
    /* As `spice-bench trace gen` writes it: one video region, from 100 ms. */
    static const char text[] =
        "{\n  \"generator\": \"spice-bench trace gen\",\n  \"workload\": \"video\",\n"
        "  \"width\": 640,\n  \"height\": 480,\n  \"fps\": 25,\n  \"seed\": 1,\n"
        "  \"duration_ns\": 20000000000,\n  \"events\": 600,\n  \"video_regions\": [\n"
        "    {\"x\": 80, \"y\": 30, \"width\": 320, \"height\": 240, \"start_ns\": 100000000, "
        "\"end_ns\": 19900000000, \"frames\": 496},\n"
        "    {\"x\": 600, \"y\": 400, \"width\": 32, \"height\": 32, \"start_ns\": 0, "
        "\"end_ns\": 1000000, \"frames\": 2}\n  ]\n}\n";
    g_assert_true(g_file_set_contents(labels, text, -1, NULL));

    SvMetrics *m = scripted_run(NULL, labels);
    sv_metrics_write_json(m, json, &error);
    g_assert_no_error(error);
    JsonNode *root = parse_json_file(json);
    g_assert_cmpint(JINT(root, "detection", "labels", "regions"), ==, 2);
    g_assert_cmpint(JINT(root, "detection", "labels", "detected"), ==, 1);
    g_assert_cmpint(JINT(root, "detection", "labels", "missed"), ==, 1);
    /* Stream 1 (0,500)-(100,600) matches no region. */
    g_assert_cmpint(JINT(root, "detection", "labels", "false_streams"), ==, 1);
    g_assert_cmpint(JINT(root, "detection", "labels", "video_regions", "#0", "stream_id"), ==, 0);
    /* Created 500 ms after the origin, region starts at 100 ms. */
    g_assert_cmpfloat(JDOUBLE(root, "detection", "labels", "video_regions", "#0",
                              "time_to_detect_ms"),
                      ==, 400.0);
    g_assert_true(JNULL(root, "detection", "labels", "video_regions", "#1", "stream_id"));
    g_assert_cmpint(JINT(root, "streams", "#0", "label"), ==, 0);
    g_assert_true(JNULL(root, "streams", "#1", "label"));
    g_assert_cmpstr(JSTR(root, "run", "labels"), ==, labels);
    json_node_unref(root);
    sv_metrics_free(m);

    /* Bad labels files are errors with the reason. */
    static const struct {
        const char *text;
        const char *message;
    } bad[] = {
        {"{\"video_regions\": 3}", "no \"video_regions\" array"},
        {"[]", "no \"video_regions\" array"},
        {"{\"video_regions\": [{\"x\": 1}]}", "\"y\" is missing"},
        {"{\"video_regions\": [{\"x\": 0, \"y\": 0, \"width\": 0, \"height\": 5, "
         "\"start_ns\": 0, \"end_ns\": 1, \"frames\": 1}]}",
         "\"width\" is missing or not an integer ≥ 1"},
        {"{\"video_regions\": [{\"x\": 0, \"y\": 0, \"width\": 4, \"height\": 5, "
         "\"start_ns\": 9, \"end_ns\": 1, \"frames\": 1}]}",
         "\"end_ns\""},
        {"{", NULL},
    };
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_true(g_file_set_contents(labels, bad[i].text, -1, NULL));
        m = sv_metrics_new(NULL, &error);
        g_assert_false(sv_metrics_load_labels(m, labels, &error));
        g_assert_nonnull(error);
        if (bad[i].message != NULL) {
            g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
            g_assert_nonnull(strstr(error->message, bad[i].message));
        }
        g_clear_error(&error);
        sv_metrics_free(m);
    }
    rm_rf(dir);
}

/* ---------------------------------------------------------------------------
 * CSV
 * ------------------------------------------------------------------------- */

static void test_csv(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *csv = g_build_filename(dir, "frames.csv", NULL);
    g_autofree char *tmp = g_strconcat(csv, ".tmp", NULL);
    GError *error = NULL;

    SvMetrics *m = scripted_run(csv, NULL);
    g_assert_true(g_file_test(csv, G_FILE_TEST_IS_REGULAR));
    g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(count_files(dir), ==, 1);
    g_autofree char *text = NULL;
    g_file_get_contents(csv, &text, NULL, &error);
    g_assert_no_error(error);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_assert_cmpuint(g_strv_length(lines), ==, 1 + 10 + 1); /* header, rows, "" */
    g_assert_true(g_str_has_prefix(lines[0], "drawable_seq,stream_id,fate,"));
    g_auto(GStrv) header = g_strsplit(lines[0], ",", -1);
    guint columns = g_strv_length(header);
    g_assert_cmpuint(columns, ==, 27);
    for (guint i = 1; i <= 10; i++) {
        g_auto(GStrv) cells = g_strsplit(lines[i], ",", -1);
        g_assert_cmpuint(g_strv_length(cells), ==, columns);
        g_assert_cmpint(atoi(cells[0]), ==, (int)i - 1);
    }
    g_assert_true(g_str_has_prefix(lines[1], "0,0,shown,0,320,240,1600000000,1601000000,"));
    g_assert_nonnull(strstr(lines[1], ",1.000,2.000,3.000,4.000,5.000,6.000,21.000,20,10000,"));
    g_assert_nonnull(strstr(lines[2], ",100.00,0.9000,")); /* the PSNR cap */
    g_assert_true(g_str_has_prefix(lines[5], "4,0,dropped_encoder,0,320,240,1760000000,"
                                             "1761000000,,,,,,1.000,,,,,,,"));
    sv_metrics_free(m);
    g_unlink(csv);

    /* Freed without finishing: nothing left. */
    m = sv_metrics_new(csv, &error);
    g_assert_no_error(error);
    g_assert_true(g_file_test(tmp, G_FILE_TEST_EXISTS));
    const int64_t d[6] = {MS, MS, MS, MS, MS, MS};
    SvFrameRecord f = make_frame(1, 0, S, d);
    sv_metrics_add_frame(m, &f);
    sv_metrics_free(m);
    g_assert_cmpuint(count_files(dir), ==, 0);

    /* finish fails (the name is taken by a directory): no file, no .tmp. */
    g_assert_cmpint(g_mkdir(csv, 0755), ==, 0);
    m = sv_metrics_new(csv, &error);
    g_assert_no_error(error);
    sv_metrics_add_frame(m, &f);
    SvRunInfo info = make_info();
    g_assert_false(sv_metrics_finish(m, &info, &error));
    g_assert_nonnull(error);
    g_test_message("expected: %s", error->message);
    g_clear_error(&error);
    g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
    g_assert_true(g_file_test(csv, G_FILE_TEST_IS_DIR));
    g_assert_cmpuint(count_files(dir), ==, 1);
    /* The report still works. */
    SvMetricsSummary sum;
    sv_metrics_get_summary(m, &sum);
    g_assert_cmpuint(sum.frames, ==, 1);
    sv_metrics_free(m);
    g_rmdir(csv);

    /* A CSV in a missing directory fails at creation. */
    g_autofree char *bad = g_build_filename(dir, "missing", "x.csv", NULL);
    g_assert_null(sv_metrics_new(bad, &error));
    g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_clear_error(&error);
    rm_rf(dir);
}

/* ---------------------------------------------------------------------------
 * Quality
 * ------------------------------------------------------------------------- */

/* A natural-looking luma picture: smooth shapes, texture and a little noise. */
static void natural_y(uint8_t *y, uint32_t w, uint32_t h, double phase, GRand *rand, int noise)
{
    for (uint32_t r = 0; r < h; r++) {
        for (uint32_t c = 0; c < w; c++) {
            double v = 110 + 70 * sin(c / 37.0 + phase) * cos(r / 29.0 - phase / 2) +
                       25 * sin((c + 2.0 * r) / 6.0 + phase) + 40.0 * r / h;
            if ((c / 40 + r / 40) % 5 == 0) {
                v += 35; /* some edges */
            }
            v += noise > 0 ? g_rand_int_range(rand, -noise, noise + 1) : 0;
            y[(size_t)r * w + c] = (uint8_t)CLAMP(lround(v), 0, 255);
        }
    }
}

/* A degraded copy: 3-tap blur, a mild shift in level and noise. */
static void degrade(const uint8_t *src, uint8_t *dst, uint32_t w, uint32_t h, GRand *rand)
{
    for (uint32_t r = 0; r < h; r++) {
        for (uint32_t c = 0; c < w; c++) {
            const uint8_t *p = src + (size_t)r * w;
            int l = p[c > 0 ? c - 1 : c], m = p[c], rr = p[c + 1 < w ? c + 1 : c];
            int v = (l + 2 * m + rr + 2) / 4 + 2 + g_rand_int_range(rand, -4, 5);
            dst[(size_t)r * w + c] = (uint8_t)CLAMP(v, 0, 255);
        }
    }
}

static void write_y4m_gray(const char *path, const uint8_t *y, uint32_t w, uint32_t h)
{
    g_autoptr(GString) s = g_string_new(NULL);
    g_string_append_printf(s, "YUV4MPEG2 W%u H%u F25:1 Ip A1:1 Cmono\nFRAME\n", w, h);
    g_string_append_len(s, (const char *)y, (gssize)((size_t)w * h));
    GError *error = NULL;
    g_file_set_contents(path, s->str, (gssize)s->len, &error);
    g_assert_no_error(error);
}

/* Runs ffmpeg's @filter on the two files and returns its "y:"/"Y:" value;
 * @c_only: -cpuflags 0, ffmpeg's C code instead of its x86 SIMD. */
static double ffmpeg_measure(const char *ffmpeg, const char *a, const char *b, const char *filter,
                             gboolean c_only)
{
    g_autofree char *graph = g_strdup_printf("[0:v][1:v]%s", filter);
    g_autoptr(GPtrArray) args = g_ptr_array_new();
    const char *const head[] = {ffmpeg, "-hide_banner", "-nostdin"};
    const char *const tail[] = {"-i", a, "-i", b, "-lavfi", graph, "-f", "null", "-", NULL};
    for (guint i = 0; i < G_N_ELEMENTS(head); i++) {
        g_ptr_array_add(args, (gpointer)head[i]);
    }
    if (c_only) {
        g_ptr_array_add(args, "-cpuflags");
        g_ptr_array_add(args, "0");
    }
    for (guint i = 0; i < G_N_ELEMENTS(tail); i++) {
        g_ptr_array_add(args, (gpointer)tail[i]);
    }
    g_autofree char *err = NULL;
    int status = 0;
    GError *error = NULL;
    g_spawn_sync(NULL, (char **)args->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                 &err, &status, &error);
    g_assert_no_error(error);
    if (!g_spawn_check_wait_status(status, NULL)) {
        g_error("ffmpeg failed:\n%s", err);
    }
    const char *key = strcmp(filter, "psnr") == 0 ? "PSNR y:" : "SSIM Y:";
    const char *at = strstr(err, key);
    if (at == NULL) {
        g_error("no \"%s\" in ffmpeg's output:\n%s", key, err);
    }
    return g_ascii_strtod(at + strlen(key), NULL);
}

static void compare_with_ffmpeg(const char *ffmpeg, const char *dir, const uint8_t *a,
                                const uint8_t *b, uint32_t w, uint32_t h, const char *what)
{
    g_autofree char *pa = g_build_filename(dir, "a.y4m", NULL);
    g_autofree char *pb = g_build_filename(dir, "b.y4m", NULL);
    write_y4m_gray(pa, a, w, h);
    write_y4m_gray(pb, b, w, h);

    double psnr = sv_quality_psnr(a, (int32_t)w, b, (int32_t)w, w, h);
    double ssim = sv_quality_ssim(a, (int32_t)w, b, (int32_t)w, w, h);
    double ff_psnr = ffmpeg_measure(ffmpeg, pa, pb, "psnr", FALSE);
    double ff_ssim = ffmpeg_measure(ffmpeg, pa, pb, "ssim", FALSE);
    double ff_ssim_c = ffmpeg_measure(ffmpeg, pa, pb, "ssim", TRUE);
    g_test_message("%s %ux%u: PSNR %.6f (ffmpeg %.6f, delta %.2e), SSIM %.6f (ffmpeg %.6f, "
                   "delta %.2e; ffmpeg's C code %.6f, delta %.2e)",
                   what, w, h, psnr, ff_psnr, fabs(psnr - ff_psnr), ssim, ff_ssim,
                   fabs(ssim - ff_ssim), ff_ssim_c, fabs(ssim - ff_ssim_c));
    /* The requirement is 0.05 dB / 0.001; the algorithms are the same, so
     * only ffmpeg's 6 printed decimals and float sums separate the values. */
    g_assert_cmpfloat(fabs(psnr - ff_psnr), <=, 0.05);
    g_assert_cmpfloat(fabs(psnr - ff_psnr), <=, 1e-4);
    g_assert_cmpfloat(fabs(ssim - ff_ssim_c), <=, 0.001);
    g_assert_cmpfloat(fabs(ssim - ff_ssim_c), <=, 1e-5);
    /* ffmpeg 5.1's x86 ssim_end_line (SSE4) miscounts the last windows of a
     * line when (w/4 - 1) % 4 == 1; the C code is the definition
     * (docs/metrics.md). */
    if ((w / 4 - 1) % 4 != 1) {
        g_assert_cmpfloat(fabs(ssim - ff_ssim), <=, 0.001);
    }
    /* The pictures differ enough for the comparison to mean something. */
    g_assert_cmpfloat(psnr, <, 45.0);
    g_assert_cmpfloat(ssim, <, 0.99);
}

static void test_quality_vs_ffmpeg(void)
{
    g_autofree char *ffmpeg = g_find_program_in_path("ffmpeg");
    if (ffmpeg == NULL) {
        g_test_skip("ffmpeg is not in PATH");
        return;
    }
    g_autofree char *dir = make_tmpdir();
    GRand *rand = g_rand_new_with_seed(2026);
    static const uint32_t sizes[][2] = {{320, 240}, {203, 117}, {204, 117}, {64, 64}};

    for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
        uint32_t w = sizes[i][0], h = sizes[i][1];
        g_autofree uint8_t *a = g_malloc((size_t)w * h);
        g_autofree uint8_t *b = g_malloc((size_t)w * h);
        natural_y(a, w, h, 0.3 * i, rand, 3);
        degrade(a, b, w, h, rand);
        compare_with_ffmpeg(ffmpeg, dir, a, b, w, h, "Y planes");
        /* Two consecutive "video frames": the picture moved a little. */
        natural_y(b, w, h, 0.3 * i + 0.08, rand, 3);
        compare_with_ffmpeg(ffmpeg, dir, a, b, w, h, "moved");
    }

    /* BGRx pictures through sv_quality_bgrx_to_y. */
    uint32_t w = 256, h = 144;
    int32_t stride = (int32_t)w * 4 + 16;
    g_autofree uint8_t *ia = g_malloc0((size_t)stride * h);
    g_autofree uint8_t *ib = g_malloc0((size_t)stride * h);
    g_autofree uint8_t *ya = g_malloc((size_t)w * h);
    g_autofree uint8_t *yb = g_malloc((size_t)w * h);
    for (int ch = 0; ch < 3; ch++) {
        natural_y(ya, w, h, ch * 1.1, rand, 2);
        degrade(ya, yb, w, h, rand);
        for (size_t p = 0; p < (size_t)w * h; p++) {
            ia[(p / w) * (size_t)stride + (p % w) * 4 + (size_t)ch] = ya[p];
            ib[(p / w) * (size_t)stride + (p % w) * 4 + (size_t)ch] = yb[p];
        }
    }
    sv_quality_bgrx_to_y(ia, stride, w, h, ya, (int32_t)w);
    sv_quality_bgrx_to_y(ib, stride, w, h, yb, (int32_t)w);
    compare_with_ffmpeg(ffmpeg, dir, ya, yb, w, h, "BGRx");
    g_rand_free(rand);
    rm_rf(dir);
}

static void test_quality_basics(void)
{
    uint8_t a[16 * 16], b[16 * 16];
    for (int i = 0; i < 256; i++) {
        a[i] = (uint8_t)i;
        b[i] = (uint8_t)i;
    }
    g_assert_true(isinf(sv_quality_psnr(a, 16, b, 16, 16, 16)));
    g_assert_cmpfloat_with_epsilon(sv_quality_ssim(a, 16, b, 16, 16, 16), 1.0, 1e-9);
    /* Every pixel off by one: MSE 1 → 48.13 dB. */
    for (int i = 0; i < 256; i++) {
        b[i] = (uint8_t)(a[i] ^ 1);
    }
    g_assert_cmpfloat_with_epsilon(sv_quality_psnr(a, 16, b, 16, 16, 16), 10 * log10(255.0 * 255.0),
                                   1e-9);
    /* Too small for one 8×8 window. */
    g_assert_true(isnan(sv_quality_ssim(a, 16, b, 16, 7, 16)));

    /* The Y formula of quality.h on known colours. */
    static const struct {
        uint8_t b, g, r, y;
    } colours[] = {
        {0, 0, 0, 16}, {255, 255, 255, 235}, {0, 0, 255, 82}, {0, 255, 0, 144}, {255, 0, 0, 41}};
    for (guint i = 0; i < G_N_ELEMENTS(colours); i++) {
        uint8_t px[4] = {colours[i].b, colours[i].g, colours[i].r, 0x55}, y = 0;
        sv_quality_bgrx_to_y(px, 4, 1, 1, &y, 1);
        g_assert_cmpuint(y, ==, colours[i].y);
    }
}

/* ---------------------------------------------------------------------------
 * sv_quality_bitmap_to_y
 * ------------------------------------------------------------------------- */

#define BW 37
#define BH 23

static uint8_t ref_y(uint32_t r, uint32_t g, uint32_t b)
{
    return (uint8_t)(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
}

/* Splits @data into chunks of the given sizes (the last takes the rest). */
static SpiceChunks *make_chunks(uint8_t *data, uint32_t size, const uint32_t *pieces,
                                guint n_pieces)
{
    SpiceChunks *c = g_malloc0(sizeof(SpiceChunks) + (n_pieces + 1) * sizeof(SpiceChunk));
    uint32_t at = 0;
    for (guint i = 0; i < n_pieces && at < size; i++) {
        uint32_t len = MIN(pieces[i], size - at);
        c->chunk[c->num_chunks++] = (SpiceChunk){data + at, len};
        at += len;
    }
    if (at < size) {
        c->chunk[c->num_chunks++] = (SpiceChunk){data + at, size - at};
    }
    c->data_size = size;
    return c;
}

/* Encodes the reference picture @rgb (BW×BH, R,G,B) in @format; @top_down. */
static uint8_t *encode_bitmap(const uint8_t *rgb, uint8_t format, gboolean top_down,
                              uint32_t *stride_out, uint32_t *size_out)
{
    uint32_t bpp = format == SPICE_BITMAP_FMT_16BIT ? 2 : format == SPICE_BITMAP_FMT_24BIT ? 3 : 4;
    uint32_t stride = BW * bpp + 5; /* padding */
    uint8_t *data = g_malloc0((size_t)stride * BH);
    for (uint32_t y = 0; y < BH; y++) {
        uint8_t *line = data + (size_t)(top_down ? y : BH - 1 - y) * stride;
        for (uint32_t x = 0; x < BW; x++) {
            const uint8_t *p = rgb + ((size_t)y * BW + x) * 3;
            if (bpp == 2) {
                uint16_t v = (uint16_t)(((p[0] >> 3) << 10) | ((p[1] >> 3) << 5) | (p[2] >> 3));
                line[2 * x] = (uint8_t)v;
                line[2 * x + 1] = (uint8_t)(v >> 8);
            } else {
                line[bpp * x] = p[2];
                line[bpp * x + 1] = p[1];
                line[bpp * x + 2] = p[0];
                if (bpp == 4) {
                    line[bpp * x + 3] = 0xa5;
                }
            }
        }
    }
    *stride_out = stride;
    *size_out = stride * BH;
    return data;
}

static void test_bitmap_to_y(void)
{
    GRand *rand = g_rand_new_with_seed(5);
    uint8_t rgb[BW * BH * 3];
    for (guint i = 0; i < sizeof(rgb); i++) {
        rgb[i] = (uint8_t)g_rand_int_range(rand, 0, 256);
    }
    static const SpiceRect areas[] = {{0, 0, BW, BH}, {3, 5, 30, 21}, {36, 22, 37, 23}};
    static const uint32_t pieces[] = {1, 70, 3, 131, 64, 2}; /* split inside lines */
    static const struct {
        uint8_t format;
        gboolean top_down;
        gboolean chunked;
    } cases[] = {
        {SPICE_BITMAP_FMT_32BIT, TRUE, FALSE}, {SPICE_BITMAP_FMT_32BIT, FALSE, FALSE},
        {SPICE_BITMAP_FMT_32BIT, FALSE, TRUE}, {SPICE_BITMAP_FMT_RGBA, TRUE, TRUE},
        {SPICE_BITMAP_FMT_24BIT, TRUE, FALSE}, {SPICE_BITMAP_FMT_24BIT, FALSE, TRUE},
        {SPICE_BITMAP_FMT_16BIT, TRUE, FALSE}, {SPICE_BITMAP_FMT_16BIT, FALSE, TRUE},
    };
    for (guint c = 0; c < G_N_ELEMENTS(cases); c++) {
        uint32_t stride, size;
        g_autofree uint8_t *data =
            encode_bitmap(rgb, cases[c].format, cases[c].top_down, &stride, &size);
        g_autofree SpiceChunks *chunks = cases[c].chunked
                                             ? make_chunks(data, size, pieces, G_N_ELEMENTS(pieces))
                                             : make_chunks(data, size, NULL, 0);
        SpiceBitmap bitmap = {cases[c].format,
                              cases[c].top_down ? SPICE_BITMAP_FLAGS_TOP_DOWN : 0,
                              BW,
                              BH,
                              stride,
                              NULL,
                              0,
                              chunks};
        for (guint a = 0; a < G_N_ELEMENTS(areas); a++) {
            const SpiceRect *area = &areas[a];
            uint32_t w = (uint32_t)(area->right - area->left);
            uint32_t h = (uint32_t)(area->bottom - area->top);
            int32_t ys = (int32_t)w + 3;
            g_autofree uint8_t *y = g_malloc0((size_t)ys * h);
            g_assert_true(sv_quality_bitmap_to_y(&bitmap, area, y, ys));
            for (uint32_t r = 0; r < h; r++) {
                for (uint32_t x = 0; x < w; x++) {
                    const uint8_t *p =
                        rgb + ((size_t)(area->top + (int32_t)r) * BW + area->left + x) * 3;
                    uint32_t R = p[0], G = p[1], B = p[2];
                    if (cases[c].format == SPICE_BITMAP_FMT_16BIT) {
                        R = ((R >> 3) << 3) | (R >> 5);
                        G = ((G >> 3) << 3) | (G >> 5);
                        B = ((B >> 3) << 3) | (B >> 5);
                    }
                    if (y[(size_t)r * ys + x] != ref_y(R, G, B)) {
                        g_error("case %u area %u: Y(%u,%u) = %u, expected %u", c, a, x, r,
                                y[(size_t)r * ys + x], ref_y(R, G, B));
                    }
                }
            }
        }
        /* Outside the bitmap, or data too short: FALSE. */
        uint8_t y[BW * BH];
        SpiceRect outside = {0, 0, BW + 1, BH};
        g_assert_false(sv_quality_bitmap_to_y(&bitmap, &outside, y, BW + 1));
        chunks->chunk[chunks->num_chunks - 1].len -= 6; /* past the 5 bytes of padding */
        g_assert_false(sv_quality_bitmap_to_y(&bitmap, &areas[0], y, BW));
    }
    /* A palette format is not read. */
    uint8_t pal[BW * BH] = {0};
    g_autofree SpiceChunks *chunks = make_chunks(pal, sizeof(pal), NULL, 0);
    SpiceBitmap bitmap = {
        SPICE_BITMAP_FMT_8BIT, SPICE_BITMAP_FLAGS_TOP_DOWN, BW, BH, BW, NULL, 0, chunks};
    uint8_t y[BW * BH];
    g_assert_false(sv_quality_bitmap_to_y(&bitmap, &(SpiceRect){0, 0, BW, BH}, y, BW));
    g_rand_free(rand);
}

/* ---------------------------------------------------------------------------
 * Frame dumps
 * ------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static SvCanvas *coloured_canvas(uint32_t w, uint32_t h, uint8_t b, uint8_t g, uint8_t r)
{
    GError *error = NULL;
    SvCanvas *canvas = sv_canvas_new(w, h, SPICE_SURFACE_FMT_32_xRGB, &error);
    g_assert_no_error(error);
    uint8_t *data = sv_canvas_get_data(canvas);
    int32_t stride = sv_canvas_get_stride(canvas);
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = data + (ptrdiff_t)y * stride + 4 * x;
            p[0] = b;
            p[1] = g;
            p[2] = r;
            p[3] = 0;
        }
    }
    return canvas;
}

static void test_framedump_y4m(void)
{
    g_autofree char *dir = make_tmpdir();
    g_autofree char *out = g_build_filename(dir, "dump", NULL);
    g_autofree char *y4m = g_build_filename(out, "side-by-side.y4m", NULL);
    GError *error = NULL;
    uint32_t w = 64, h = 37; /* odd height: chroma rounds up */
    g_autoptr(SvCanvas) guest = coloured_canvas(w, h, 0, 0, 255);
    g_autoptr(SvCanvas) small = coloured_canvas(w / 2, h / 2, 255, 255, 255);

    SvFrameDump *dump = sv_frame_dump_new(out, "y4m", w, h, 25, &error);
    g_assert_no_error(error);
    g_assert_true(sv_frame_dump_add(dump, guest, guest, &error));
    g_assert_true(sv_frame_dump_add(dump, guest, NULL, &error));
    g_assert_true(sv_frame_dump_add(dump, guest, small, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(sv_frame_dump_get_n_frames(dump), ==, 3);
    g_assert_false(g_file_test(y4m, G_FILE_TEST_EXISTS)); /* not before close */
    g_assert_true(sv_frame_dump_close(dump, &error));
    g_assert_no_error(error);
    sv_frame_dump_free(dump);
    g_assert_cmpuint(count_files(out), ==, 1);

    g_autofree char *data = NULL;
    gsize len = 0;
    g_assert_true(g_file_get_contents(y4m, &data, &len, NULL));
    const char *header = "YUV4MPEG2 W128 H37 F25:1 Ip A1:1 C420jpeg";
    g_assert_true(g_str_has_prefix(data, header));
    size_t header_len = (size_t)(strchr(data, '\n') - data) + 1;
    size_t frame = 6 + 128 * 37 + 2 * 64 * 19;
    g_assert_cmpuint(len, ==, header_len + 3 * frame);
    for (int i = 0; i < 3; i++) {
        const uint8_t *f = (const uint8_t *)data + header_len + i * frame;
        g_assert_cmpmem(f, 6, "FRAME\n", 6);
        const uint8_t *yp = f + 6;
        g_assert_cmpuint(yp[0], ==, 82); /* guest: red */
        g_assert_cmpuint(yp[128 * 36 + 63], ==, 82);
        uint8_t right = yp[64]; /* client's top-left */
        uint8_t right_bottom = yp[128 * 36 + 127];
        g_assert_cmpuint(right, ==, i == 0 ? 82 : i == 1 ? 16 : 235);
        g_assert_cmpuint(right_bottom, ==, i == 0 ? 82 : 16); /* cropped → black */
        const uint8_t *vp = yp + 128 * 37 + 64 * 19;
        g_assert_cmpuint(vp[0], ==, 240); /* red's V */
    }

    /* Freed without closing: no output, no temporary. */
    g_autofree char *out2 = g_build_filename(dir, "dump2", NULL);
    dump = sv_frame_dump_new(out2, "y4m", w, h, 29.97, &error);
    g_assert_no_error(error);
    g_assert_true(sv_frame_dump_add(dump, NULL, guest, &error));
    sv_frame_dump_free(dump);
    g_assert_cmpuint(count_files(out2), ==, 0);

    g_assert_null(sv_frame_dump_new(out2, "gif", w, h, 25, &error));
    g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
    g_clear_error(&error);
    rm_rf(dir);
}

static void test_framedump_png(void)
{
    g_autofree char *dir = make_tmpdir();
    GError *error = NULL;
    uint32_t w = 300, h = 200; /* > 64 KiB of pixels: several IDAT chunks if incompressible */
    g_autoptr(SvCanvas) guest = coloured_canvas(w, h, 10, 20, 30);
    /* Noise on the client side so that the data does not compress to nothing. */
    g_autoptr(SvCanvas) client = coloured_canvas(w, h, 0, 0, 0);
    GRand *rand = g_rand_new_with_seed(9);
    uint8_t *cd = sv_canvas_get_data(client);
    for (size_t i = 0; i < (size_t)sv_canvas_get_stride(client) * h; i++) {
        cd[i] = (uint8_t)g_rand_int(rand);
    }
    g_rand_free(rand);

    SvFrameDump *dump = sv_frame_dump_new(dir, "png", w, h, 25, &error);
    g_assert_no_error(error);
    for (int i = 0; i < 2; i++) {
        g_assert_true(sv_frame_dump_add(dump, guest, client, &error));
        g_assert_no_error(error);
    }
    g_assert_true(sv_frame_dump_close(dump, &error));
    sv_frame_dump_free(dump);
    g_assert_cmpuint(count_files(dir), ==, 2);

    for (int i = 0; i < 2; i++) {
        g_autofree char *name = g_strdup_printf("frame-%06d.png", i);
        g_autofree char *path = g_build_filename(dir, name, NULL);
        g_autofree uint8_t *png = NULL;
        gsize len = 0;
        g_assert_true(g_file_get_contents(path, (char **)&png, &len, NULL));
        g_assert_cmpmem(png, 8, "\x89PNG\r\n\x1a\n", 8);
        g_assert_cmpmem(png + 12, 4, "IHDR", 4);
        g_assert_cmpuint(be32(png + 16), ==, 2 * w);
        g_assert_cmpuint(be32(png + 20), ==, h);
        g_assert_cmpuint(png[24], ==, 8);
        g_assert_cmpuint(png[25], ==, 2);
        /* Walk the chunks: CRCs, IDAT inflated to (1 + 3 · 2w) · h bytes. */
        size_t expect = (1 + 3 * 2 * (size_t)w) * h;
        g_autofree uint8_t *raw = g_malloc(expect + 1);
        z_stream z = {0};
        g_assert_cmpint(inflateInit(&z), ==, Z_OK);
        z.next_out = raw;
        z.avail_out = (uInt)expect + 1;
        size_t at = 8;
        gboolean end = FALSE, stream_end = FALSE;
        guint idats = 0;
        while (at + 12 <= len && !end) {
            uint32_t clen = be32(png + at);
            const uint8_t *type = png + at + 4;
            g_assert_cmpuint(at + 12 + clen, <=, len);
            uint32_t crc = (uint32_t)crc32(crc32(0, type, 4), type + 4, clen);
            g_assert_cmpuint(crc, ==, be32(type + 4 + clen));
            if (memcmp(type, "IDAT", 4) == 0) {
                idats++;
                z.next_in = (uint8_t *)type + 4;
                z.avail_in = clen;
                int ret = inflate(&z, Z_NO_FLUSH);
                g_assert_true(ret == Z_OK || ret == Z_STREAM_END);
                stream_end = ret == Z_STREAM_END;
            }
            end = memcmp(type, "IEND", 4) == 0;
            at += 12 + clen;
        }
        g_assert_true(end);
        g_assert_cmpuint(at, ==, len);
        g_assert_true(stream_end);
        g_assert_cmpuint(idats, >, 1);
        g_assert_cmpuint(z.total_out, ==, expect);
        inflateEnd(&z);
        /* First pixel: filter byte 0, then the guest's R, G, B. */
        g_assert_cmpuint(raw[0], ==, 0);
        g_assert_cmpuint(raw[1], ==, 30);
        g_assert_cmpuint(raw[2], ==, 20);
        g_assert_cmpuint(raw[3], ==, 10);
    }

    /* Freed without closing: temporaries removed. */
    g_autofree char *dir2 = g_build_filename(dir, "open", NULL);
    dump = sv_frame_dump_new(dir2, "png", 8, 8, 25, &error);
    g_assert_no_error(error);
    g_assert_true(sv_frame_dump_add(dump, guest, NULL, &error));
    g_assert_cmpuint(count_files(dir2), ==, 1);
    sv_frame_dump_free(dump);
    g_assert_cmpuint(count_files(dir2), ==, 0);
    rm_rf(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/metrics/percentiles", test_percentiles);
    g_test_add_func("/metrics/summary-and-fates", test_summary_and_fates);
    g_test_add_func("/metrics/drain", test_drain);
    g_test_add_func("/metrics/json", test_json);
    g_test_add_func("/metrics/json-deterministic", test_json_deterministic);
    g_test_add_func("/metrics/json-cdf", test_json_cdf);
    g_test_add_func("/metrics/labels", test_labels);
    g_test_add_func("/metrics/csv", test_csv);
    g_test_add_func("/quality/basics", test_quality_basics);
    g_test_add_func("/quality/vs-ffmpeg", test_quality_vs_ffmpeg);
    g_test_add_func("/quality/bitmap-to-y", test_bitmap_to_y);
    g_test_add_func("/framedump/y4m", test_framedump_y4m);
    g_test_add_func("/framedump/png", test_framedump_png);
    return g_test_run();
}
