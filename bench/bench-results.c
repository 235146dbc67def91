/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Reading replay results (schema spice-bench-replay/1, docs/metrics.md) and
 * the index of a matrix run (schema spice-bench-matrix/1, docs/ci.md) for
 * `matrix`, `merge`, `compare`, `rd` and `report`.
 *
 * Errors are one line, "FILE: what was wrong" (domain G_FILE_ERROR); the
 * commands print them as "spice-bench: MESSAGE".
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "bench-results.h"

#define REPLAY_SCHEMA "spice-bench-replay/1"
#define MATRIX_SCHEMA "spice-bench-matrix/1"
#define INDEX_NAME "index.json"

/*
 * The metrics. A NULL json_path marks a derived metric: sv_bench_run_get()
 * computes it from counts (see derived[] below). Percentages of frames are
 * of frames.stream_frames (the frames of video streams), as in the summary.
 */
static const SvBenchMetric metrics[] = {
    {"psnr_mean", "quality.psnr_y_db.mean", "dB", +1, FALSE,
     "mean PSNR-Y of the shown stream frames (100 dB cap)"},
    {"ssim_mean", "quality.ssim_y.mean", "", +1, FALSE, "mean SSIM-Y of the shown stream frames"},
    {"final_psnr", "quality.final_psnr_y_db", "dB", +1, FALSE,
     "PSNR-Y of the client's screen vs the guest's at the end"},
    {"final_ssim", "quality.final_ssim_y", "", +1, FALSE,
     "SSIM-Y of the client's screen vs the guest's at the end"},
    {"bitrate_mean_bps", "bitrate.mean_bps", "bit/s", -1, FALSE,
     "mean bit rate of everything sent"},
    {"bitrate_p95_bps", "bitrate.p95_bps", "bit/s", -1, FALSE,
     "95th percentile of the per-second bit rate"},
    {"video_bitrate_bps", "bitrate.video_mean_bps", "bit/s", -1, FALSE,
     "mean bit rate of the stream data"},
    {"frames_shown_pct", NULL, "%", +1, FALSE,
     "stream frames shown, % of frames.stream_frames (frames.shown)"},
    {"drops_encoder_pct", NULL, "%", -1, FALSE,
     "stream frames dropped by rate control, % of frames.stream_frames (frames.dropped_encoder)"},
    {"drops_pipe_pct", NULL, "%", -1, FALSE,
     "stream frames dropped from the pipe, % of frames.stream_frames (frames.dropped_pipe)"},
    {"late_pct", NULL, "%", -1, FALSE,
     "stream frames late at the client, % of frames.stream_frames (frames.late)"},
    {"delivered_fps", "frames.delivered_fps", "fps", +1, FALSE, "frames shown per second of trace"},
    {"latency_mean_ms", "latency_ms.end_to_end.mean", "ms", -1, FALSE,
     "mean end-to-end latency (guest draw to displayed)"},
    {"latency_p50_ms", "latency_ms.end_to_end.p50", "ms", -1, FALSE,
     "median end-to-end latency (guest draw to displayed)"},
    {"latency_p95_ms", "latency_ms.end_to_end.p95", "ms", -1, FALSE,
     "95th percentile of the end-to-end latency"},
    {"latency_p99_ms", "latency_ms.end_to_end.p99", "ms", -1, FALSE,
     "99th percentile of the end-to-end latency"},
    {"encode_cpu_p50_ms", "encoder.encode_cpu_ms_per_frame.p50", "ms", -1, FALSE,
     "median encode CPU time per frame (cost model with --deterministic)"},
    {"encode_cpu_p95_ms", "encoder.encode_cpu_ms_per_frame.p95", "ms", -1, FALSE,
     "95th percentile of the encode CPU time per frame (cost model with --deterministic)"},
    {"encode_cpu_ms", "cpu.encode_ms", "ms", -1, FALSE,
     "CPU time of all encoding (cost model with --deterministic)"},
    {"streams", "detection.streams_created", "", 0, FALSE, "video streams created"},
    {"time_to_detect_ms", "detection.time_to_detect_ms.mean", "ms", -1, FALSE,
     "mean time from a stream's first candidate frame to its creation (null: no stream)"},
    {"replay_wall_ms", "run.replay_wall_ms", "ms", -1, TRUE,
     "wall time of the replay (null with --deterministic)"},
    {"cpu_total_ms", "cpu.total_ms", "ms", -1, TRUE,
     "process CPU time (null with --deterministic)"},
    {NULL, NULL, NULL, 0, FALSE, NULL},
};

/* Derived metrics: 100 × numerator / frames.stream_frames; absent when there
 * are no stream frames. Looked up by name, so the table above stays the only
 * list of metrics. */
static const struct {
    const char *name;
    const char *numerator;
} derived[] = {
    {"frames_shown_pct", "frames.shown"},
    {"drops_encoder_pct", "frames.dropped_encoder"},
    {"drops_pipe_pct", "frames.dropped_pipe"},
    {"late_pct", "frames.late"},
};

const SvBenchMetric *sv_bench_metrics(void)
{
    return metrics;
}

const SvBenchMetric *sv_bench_metric_find(const char *name)
{
    g_return_val_if_fail(name != NULL, NULL);
    for (const SvBenchMetric *m = metrics; m->name != NULL; m++) {
        if (strcmp(m->name, name) == 0) {
            return m;
        }
    }
    return NULL;
}

/* Walks a dotted path; a component of digits indexes an array. */
static JsonNode *json_lookup(JsonNode *root, const char *json_path)
{
    g_auto(GStrv) parts = g_strsplit(json_path, ".", -1);
    JsonNode *node = root;
    for (guint i = 0; parts[i] != NULL && node != NULL; i++) {
        if (JSON_NODE_HOLDS_OBJECT(node)) {
            JsonObject *obj = json_node_get_object(node);
            node = json_object_has_member(obj, parts[i]) ? json_object_get_member(obj, parts[i])
                                                         : NULL;
        } else if (JSON_NODE_HOLDS_ARRAY(node) && parts[i][0] != '\0' &&
                   strspn(parts[i], "0123456789") == strlen(parts[i])) {
            JsonArray *arr = json_node_get_array(node);
            guint64 k = g_ascii_strtoull(parts[i], NULL, 10);
            node = k < json_array_get_length(arr) ? json_array_get_element(arr, (guint)k) : NULL;
        } else {
            node = NULL;
        }
    }
    return node;
}

gboolean sv_bench_json_get_double(JsonNode *root, const char *json_path, double *value)
{
    g_return_val_if_fail(json_path != NULL, FALSE);
    if (root == NULL) {
        return FALSE;
    }
    JsonNode *node = json_lookup(root, json_path);
    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node)) {
        return FALSE;
    }
    GType type = json_node_get_value_type(node);
    double v;
    if (type == G_TYPE_INT64) {
        v = (double)json_node_get_int(node);
    } else if (type == G_TYPE_DOUBLE) {
        v = json_node_get_double(node);
    } else {
        return FALSE;
    }
    if (!isfinite(v)) {
        return FALSE;
    }
    if (value != NULL) {
        *value = v;
    }
    return TRUE;
}

gboolean sv_bench_run_get(const SvBenchRun *run, const SvBenchMetric *metric, double *value)
{
    g_return_val_if_fail(run != NULL && metric != NULL, FALSE);
    if (metric->json_path != NULL) {
        return sv_bench_json_get_double(run->root, metric->json_path, value);
    }
    for (guint i = 0; i < G_N_ELEMENTS(derived); i++) {
        if (metric->name != NULL && strcmp(metric->name, derived[i].name) == 0) {
            double num, den;
            if (!sv_bench_json_get_double(run->root, derived[i].numerator, &num) ||
                !sv_bench_json_get_double(run->root, "frames.stream_frames", &den) || den <= 0) {
                return FALSE;
            }
            if (value != NULL) {
                *value = 100.0 * num / den;
            }
            return TRUE;
        }
    }
    return FALSE;
}

/* ---- loading -------------------------------------------------------------------------------- */

static void run_free(gpointer data)
{
    SvBenchRun *run = data;
    g_free(run->path);
    g_free(run->trace);
    g_free(run->codec);
    g_free(run->net);
    g_free(run->options);
    g_free(run->key);
    if (run->root != NULL) {
        json_node_unref(run->root);
    }
    g_free(run);
}

/* Parses @path as JSON; @return the root, or NULL with a one-line @error. */
static JsonNode *read_json(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;
    if (!g_file_get_contents(path, &data, &len, &local)) {
        int code = local->domain == G_FILE_ERROR ? local->code : G_FILE_ERROR_FAILED;
        const char *why = code == G_FILE_ERROR_NOENT ? "no such file" : "cannot be read";
        if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
            why = "is a directory, expected a JSON file";
        }
        g_set_error(error, G_FILE_ERROR, code, "%s: %s", path, why);
        return NULL;
    }
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json_parser_load_from_data(parser, data, (gssize)len, &local)) {
        const char *msg = local->message;
        if (g_str_has_prefix(msg, "<data>:")) {
            msg += strlen("<data>:");
        }
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not valid JSON (%s)", path, msg);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: expected a JSON object", path);
        return NULL;
    }
    return json_node_copy(root);
}

/* @return the string member @name of @obj, or NULL if absent, null or not a string. */
static const char *obj_string(JsonObject *obj, const char *name)
{
    JsonNode *n = json_object_get_member(obj, name);
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
        return NULL;
    }
    return json_node_get_string(n);
}

static gboolean check_replay_schema(const char *path, JsonNode *root, GError **error)
{
    JsonObject *obj = json_node_get_object(root);
    const char *schema = obj_string(obj, "schema");
    if (schema == NULL || strcmp(schema, REPLAY_SCHEMA) != 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: expected a replay result (\"schema\": \"" REPLAY_SCHEMA
                    "\"), found %s%s%s",
                    path, schema != NULL ? "\"" : "", schema != NULL ? schema : "none",
                    schema != NULL ? "\"" : "");
        return FALSE;
    }
    JsonNode *run = json_object_get_member(obj, "run");
    if (run == NULL || !JSON_NODE_HOLDS_OBJECT(run)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: expected a \"run\" object", path);
        return FALSE;
    }
    return TRUE;
}

static char *make_key(const char *trace, const char *codec, const char *net, const char *options)
{
    g_autofree char *base = g_path_get_basename(trace);
    return g_strdup_printf("%s|%s|%s|%s", base, codec, net, options);
}

/*
 * Loads one result file. The labels come from @entry (a run of a matrix
 * index) when given, else from the file itself: codec = run.video_codecs,
 * net = run.net, options "" (the result does not record them), repeat 0.
 */
static SvBenchRun *load_run(const char *path, JsonObject *entry, GError **error)
{
    JsonNode *root = read_json(path, error);
    if (root == NULL) {
        return NULL;
    }
    if (!check_replay_schema(path, root, error)) {
        json_node_unref(root);
        return NULL;
    }
    JsonObject *run_obj = json_object_get_object_member(json_node_get_object(root), "run");
    SvBenchRun *run = g_new0(SvBenchRun, 1);
    run->path = g_strdup(path);
    run->root = root;
    const char *trace = obj_string(run_obj, "trace");
    run->trace = g_strdup(trace != NULL ? trace : "");
    if (entry != NULL) {
        run->codec = g_strdup(obj_string(entry, "codec"));
        run->net = g_strdup(obj_string(entry, "net"));
        run->options = g_strdup(obj_string(entry, "options"));
        run->repeat = (guint)json_object_get_int_member_with_default(entry, "repeat", 0);
    } else {
        const char *codec = obj_string(run_obj, "video_codecs");
        const char *net = obj_string(run_obj, "net");
        run->codec = g_strdup(codec != NULL ? codec : "");
        run->net = g_strdup(net != NULL ? net : "");
        run->options = g_strdup("");
    }
    run->key = make_key(run->trace, run->codec, run->net, run->options);
    return run;
}

/*
 * Reads DIR/index.json (written by spice-bench matrix or merge) and checks
 * every run entry; @return its root or NULL with @error.
 */
JsonNode *sv_bench_index_read(const char *dir, GError **error)
{
    g_autofree char *path = g_build_filename(dir, INDEX_NAME, NULL);
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                    "%s: no " INDEX_NAME ", expected a directory written by spice-bench matrix",
                    dir);
        return NULL;
    }
    JsonNode *root = read_json(path, error);
    if (root == NULL) {
        return NULL;
    }
    JsonObject *obj = json_node_get_object(root);
    const char *schema = obj_string(obj, "schema");
    JsonNode *runs = json_object_get_member(obj, "runs");
    const char *what = NULL;
    if (schema == NULL || strcmp(schema, MATRIX_SCHEMA) != 0) {
        what = "expected \"schema\": \"" MATRIX_SCHEMA "\"";
    } else if (runs == NULL || !JSON_NODE_HOLDS_ARRAY(runs)) {
        what = "expected a \"runs\" array";
    }
    JsonArray *arr = what == NULL ? json_node_get_array(runs) : NULL;
    for (guint i = 0; arr != NULL && i < json_array_get_length(arr) && what == NULL; i++) {
        JsonNode *e = json_array_get_element(arr, i);
        if (!JSON_NODE_HOLDS_OBJECT(e)) {
            what = "expected the runs to be objects";
            break;
        }
        JsonObject *eo = json_node_get_object(e);
        static const char *const strings[] = {"trace", "codec", "net", "options", "file", "status"};
        for (guint k = 0; k < G_N_ELEMENTS(strings) && what == NULL; k++) {
            if (obj_string(eo, strings[k]) == NULL) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                            "%s: run %u: expected a string \"%s\"", path, i, strings[k]);
                json_node_unref(root);
                return NULL;
            }
        }
        const char *status = obj_string(eo, "status");
        if (strcmp(status, "ok") != 0 && strcmp(status, "failed") != 0) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: run %u: \"status\" is '%s', expected ok or failed", path, i, status);
            json_node_unref(root);
            return NULL;
        }
        const char *file = obj_string(eo, "file");
        if (strchr(file, '/') != NULL || file[0] == '.' || file[0] == '\0') {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: run %u: \"file\" must be a plain file name, not '%s'", path, i, file);
            json_node_unref(root);
            return NULL;
        }
        JsonNode *id = json_object_get_member(eo, "id");
        JsonNode *rep = json_object_get_member(eo, "repeat");
        if (id == NULL || !JSON_NODE_HOLDS_VALUE(id) ||
            json_node_get_value_type(id) != G_TYPE_INT64 || json_node_get_int(id) < 0 ||
            rep == NULL || !JSON_NODE_HOLDS_VALUE(rep) ||
            json_node_get_value_type(rep) != G_TYPE_INT64 || json_node_get_int(rep) < 0) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: run %u: expected integers \"id\" and \"repeat\" >= 0", path, i);
            json_node_unref(root);
            return NULL;
        }
    }
    if (what != NULL) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: %s", path, what);
        json_node_unref(root);
        return NULL;
    }
    return root;
}

static gboolean load_dir(const char *dir, GPtrArray *out, GError **error)
{
    g_autoptr(JsonNode) index = sv_bench_index_read(dir, error);
    if (index == NULL) {
        return FALSE;
    }
    JsonArray *arr = json_object_get_array_member(json_node_get_object(index), "runs");
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *e = json_array_get_object_element(arr, i);
        /* A failed run has no result: nothing to compare. */
        if (strcmp(obj_string(e, "status"), "ok") != 0) {
            continue;
        }
        g_autofree char *path = g_build_filename(dir, obj_string(e, "file"), NULL);
        SvBenchRun *run = load_run(path, e, error);
        if (run == NULL) {
            return FALSE;
        }
        g_ptr_array_add(out, run);
    }
    return TRUE;
}

/* @return the entry of the index next to @path that lists it, if any (a
 * result file given alone keeps its matrix labels). */
static JsonObject *sibling_entry(const char *path, JsonNode **index_out)
{
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *base = g_path_get_basename(path);
    g_autofree char *index_path = g_build_filename(dir, INDEX_NAME, NULL);
    *index_out = NULL;
    if (strcmp(base, INDEX_NAME) == 0 || !g_file_test(index_path, G_FILE_TEST_IS_REGULAR)) {
        return NULL;
    }
    JsonNode *index = sv_bench_index_read(dir, NULL);
    if (index == NULL) {
        return NULL;
    }
    JsonArray *arr = json_object_get_array_member(json_node_get_object(index), "runs");
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *e = json_array_get_object_element(arr, i);
        if (strcmp(obj_string(e, "file"), base) == 0) {
            *index_out = index;
            return e;
        }
    }
    json_node_unref(index);
    return NULL;
}

GPtrArray *sv_bench_results_load(const char *const *paths, guint n_paths, GError **error)
{
    g_return_val_if_fail(paths != NULL || n_paths == 0, NULL);
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(run_free);
    for (guint i = 0; i < n_paths; i++) {
        const char *path = paths[i];
        if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
            if (!load_dir(path, out, error)) {
                return NULL;
            }
            continue;
        }
        g_autofree char *base = g_path_get_basename(path);
        if (strcmp(base, INDEX_NAME) == 0) {
            /* dir/index.json stands for the directory. */
            g_autofree char *dir = g_path_get_dirname(path);
            if (!load_dir(dir, out, error)) {
                return NULL;
            }
            continue;
        }
        g_autoptr(JsonNode) index = NULL;
        JsonObject *entry = sibling_entry(path, &index);
        SvBenchRun *run = load_run(path, entry, error);
        if (run == NULL) {
            return NULL;
        }
        g_ptr_array_add(out, run);
    }
    return g_steal_pointer(&out);
}
