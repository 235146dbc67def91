/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * `spice-bench matrix`: replay every combination of traces, codecs, networks,
 * encoder options and repeats, each in a child `spice-bench TRACE …` process,
 * into a result set (one JSON per run and index.json, docs/ci.md);
 * `spice-bench merge`: join the result sets of several shards.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <spice-video/spice-video.h>

#include "bench-commands.h"
#include "bench-results.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

#define MATRIX_SCHEMA "spice-bench-matrix/1"
#define INDEX_NAME "index.json"

/* The network profiles of `spice-bench TRACE --net` (docs/network.md); any
 * other net must be a key=value spec. */
static const char *const net_presets[] = {"lan", "wifi", "wan", "dsl", "mobile", "satellite"};

/* What to run: the cross product, in this order of nesting. */
typedef struct {
    GPtrArray *traces; /* paths as given to the replay */
    GPtrArray *codecs;
    GPtrArray *nets;
    GPtrArray *options; /* encoder option sets, "" = none */
    guint repeat;
    gboolean deterministic;
    gboolean isolate;     /* pass --isolate (not part of the matrix's identity) */
    double duration_s;    /* 0 = the whole trace */
    JsonNode *thresholds; /* from a matrix file, passed through into the index */
    JsonNode *rd;
} Matrix;

/* One run: its place in the matrix and, once finished, its outcome. */
typedef struct {
    guint id;
    char *trace;
    char *codec;
    char *net;
    char *options;
    guint repeat;
    char *file;    /* name in the output directory */
    gboolean ok;   /* status "ok" (a valid result exists), else "failed" */
    int exit_code; /* of the child; -1 = none (not run, killed) */
    char *error;   /* one line, NULL if ok */
    gboolean skipped;
    /* while it runs */
    GPid pid;
    char *stderr_path;
    gint64 start_us;
} Run;

static void run_free(gpointer data)
{
    Run *run = data;
    g_free(run->trace);
    g_free(run->codec);
    g_free(run->net);
    g_free(run->options);
    g_free(run->file);
    g_free(run->error);
    g_free(run->stderr_path);
    g_free(run);
}

static void matrix_clear(Matrix *m)
{
    g_clear_pointer(&m->traces, g_ptr_array_unref);
    g_clear_pointer(&m->codecs, g_ptr_array_unref);
    g_clear_pointer(&m->nets, g_ptr_array_unref);
    g_clear_pointer(&m->options, g_ptr_array_unref);
    g_clear_pointer(&m->thresholds, json_node_unref);
    g_clear_pointer(&m->rd, json_node_unref);
}

static void print_matrix_usage(FILE *out)
{
    fputs("Usage: spice-bench matrix --traces DIR|FILE[,...] --codecs C[,...] --nets N[,...]\n"
          "                          -o DIR [OPTION...]\n"
          "       spice-bench matrix MATRIX.json -o DIR [--jobs N] [--shard I/N]\n"
          "\n"
          "Replays every combination trace x codec x net x encoder options x repeat, each\n"
          "as a child 'spice-bench TRACE --codec C --net N --json FILE -q', and writes\n"
          "one result JSON per run (schema spice-bench-replay/1) and DIR/index.json\n"
          "(schema spice-bench-matrix/1: every run with its id, labels, file, status,\n"
          "exit code and error; docs/ci.md).\n"
          "\n"
          "  --traces LIST           trace files, or directories whose *.spice, *.svr\n"
          "                          (also .zst, .gz) files are taken in name order;\n"
          "                          comma-separated, may be repeated\n"
          "  --codecs LIST           mjpeg, h264, vp8, vp9, h265 (comma-separated)\n"
          "  --nets LIST             network profiles or specs as for --net; an item with\n"
          "                          '=' belongs to the item before it, so\n"
          "                          'lan,wan,jitter=5ms' is lan and wan,jitter=5ms\n"
          "  --encoder-options S     one set of encoder options (name=value,...); repeat\n"
          "                          the option for several sets (default: none)\n"
          "  --repeat N              run every combination N times (default 1)\n"
          "  --deterministic         pass --deterministic (cost model, identical JSON)\n"
          "  --duration S            replay only the first S seconds of each trace\n"
          "  --isolate               pass --isolate: each run's encoders in a worker\n"
          "                          process (a run already is a process of its own)\n"
          "  -o, --output DIR        the result set (created if needed)\n"
          "  -j, --jobs N            runs at the same time (default: number of CPUs)\n"
          "  --shard I/N             only runs whose id mod N is I-1 (1 <= I <= N)\n"
          "  --dry-run               print each run's id and command line on stdout;\n"
          "                          run nothing, write nothing\n"
          "  -h, --help              show this help\n"
          "\n"
          "MATRIX.json holds the same settings (docs/ci.md): traces (relative to the\n"
          "file), codecs, nets, encoder_options, repeat, deterministic, duration, and\n"
          "thresholds and rd for compare and rd.\n"
          "\n"
          "Resumable: a run whose result file already holds a valid result for the same\n"
          "trace is skipped (and reported as such). A failed run is recorded in the\n"
          "index as failed and the others go on. Progress: one line per finished run on\n"
          "stderr. Exit status: 0 if every run succeeded, 1 if one failed, 2 for bad\n"
          "input.\n",
          out);
}

static void print_merge_usage(FILE *out)
{
    fputs("Usage: spice-bench merge -o DIR SHARD_DIR...\n"
          "\n"
          "Joins result sets written by 'spice-bench matrix --shard' (or any matrix runs\n"
          "of the same matrix): copies their result files into DIR and writes\n"
          "DIR/index.json with all their runs in id order, as one unsharded matrix run\n"
          "would have.\n"
          "A run found twice must be the same run with the same result; a run that\n"
          "failed in one set and succeeded in another is taken as succeeded. Sets of\n"
          "different matrices, or conflicting runs, are an error.\n"
          "\n"
          "  -o, --output DIR        the merged result set (created if needed)\n"
          "  -h, --help              show this help\n"
          "\n"
          "Exit status: 0 on success, 2 for bad input or conflicts, 1 if writing failed.\n",
          out);
}

/* ---- small helpers -------------------------------------------------------------------------- */

static void json_string(GString *out, const char *s)
{
    if (s == NULL) {
        g_string_append(out, "null");
        return;
    }
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            g_string_append_c(out, '\\');
            g_string_append_c(out, (char)*p);
        } else if (*p == '\n') {
            g_string_append(out, "\\n");
        } else if (*p == '\t') {
            g_string_append(out, "\\t");
        } else if (*p < 0x20) {
            g_string_append_printf(out, "\\u%04x", *p);
        } else {
            g_string_append_c(out, (char)*p);
        }
    }
    g_string_append_c(out, '"');
}

/* Writes @contents to @path.tmp and renames it to @path. */
static gboolean write_file_atomic(const char *path, const char *contents, gsize len, GError **error)
{
    g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        int e = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: cannot write: %s", tmp,
                    g_strerror(e));
        return FALSE;
    }
    gboolean ok = fwrite(contents, 1, len, f) == len;
    int e = errno;
    if (fclose(f) != 0 && ok) {
        ok = FALSE;
        e = errno;
    }
    if (ok && g_rename(tmp, path) != 0) {
        ok = FALSE;
        e = errno;
    }
    if (!ok) {
        g_unlink(tmp);
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: cannot write: %s", path,
                    g_strerror(e));
    }
    return ok;
}

/* @return a strictly positive integer from @value, or 0 if it is none. */
static guint parse_count(const char *value, guint max)
{
    char *end = NULL;
    errno = 0;
    guint64 v = g_ascii_strtoull(value, &end, 10);
    if (errno != 0 || end == value || *end != '\0' || value[0] == '-' || v == 0 || v > max) {
        return 0;
    }
    return (guint)v;
}

static gboolean parse_duration(const char *value, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod(value, &end);
    if (errno != 0 || end == value || *end != '\0' || !(v >= 0.001) || v > 1e6) {
        return FALSE;
    }
    *out = v;
    return TRUE;
}

static gboolean parse_shard(const char *value, guint *index, guint *count)
{
    const char *slash = strchr(value, '/');
    if (slash == NULL) {
        return FALSE;
    }
    g_autofree char *first = g_strndup(value, (gsize)(slash - value));
    guint i = parse_count(first, 1000000);
    guint n = parse_count(slash + 1, 1000000);
    if (i == 0 || n == 0 || i > n) {
        return FALSE;
    }
    *index = i;
    *count = n;
    return TRUE;
}

static gboolean str_in(GPtrArray *list, const char *s)
{
    for (guint i = 0; i < list->len; i++) {
        if (strcmp(g_ptr_array_index(list, i), s) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

/* ---- what to run ---------------------------------------------------------------------------- */

static int compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static gboolean is_trace_name(const char *name)
{
    static const char *const suffixes[] = {".spice", ".svr"};
    static const char *const compressions[] = {"", ".zst", ".gz"};
    for (guint i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        for (guint k = 0; k < G_N_ELEMENTS(compressions); k++) {
            g_autofree char *ending = g_strconcat(suffixes[i], compressions[k], NULL);
            if (g_str_has_suffix(name, ending)) {
                return TRUE;
            }
        }
    }
    return FALSE;
}

/* "bench/../corpora/x" → "corpora/x", when that names the same file (no
 * symbolic link in the way): the index and the progress stay readable. */
static char *tidy_path(const char *path)
{
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    g_autoptr(GPtrArray) keep = g_ptr_array_new();
    gboolean absolute = path[0] == '/';
    for (guint i = 0; parts[i] != NULL; i++) {
        const char *p = parts[i];
        if (p[0] == '\0' || strcmp(p, ".") == 0) {
            continue;
        }
        if (strcmp(p, "..") == 0 && keep->len > 0 &&
            strcmp(g_ptr_array_index(keep, keep->len - 1), "..") != 0) {
            g_ptr_array_remove_index(keep, keep->len - 1);
            continue;
        }
        g_ptr_array_add(keep, (char *)p);
    }
    g_ptr_array_add(keep, NULL);
    g_autofree char *joined = g_strjoinv("/", (char **)keep->pdata);
    char *tidy = absolute ? g_strconcat("/", joined, NULL) : g_strdup(joined);
    GStatBuf a, b;
    if (tidy[0] == '\0' || g_stat(path, &a) != 0 || g_stat(tidy, &b) != 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino) {
        g_free(tidy);
        return g_strdup(path);
    }
    return tidy;
}

/* The child sees its trace as its first argument: a bare name could be
 * taken for a command ("matrix") or an option, so it gets a "./". */
static char *trace_arg(const char *path)
{
    g_autofree char *tidy = tidy_path(path);
    if (strchr(tidy, '/') == NULL) {
        return g_strconcat("./", tidy, NULL);
    }
    return g_steal_pointer(&tidy);
}

/* Adds the trace @path, or the traces in the directory @path, to @traces.
 * @where prefixes the error ("--traces", or the matrix file). */
static gboolean add_traces(GPtrArray *traces, const char *path, const char *where, GError **error)
{
    if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
        g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        const char *name;
        while (dir != NULL && (name = g_dir_read_name(dir)) != NULL) {
            g_autofree char *full = g_build_filename(path, name, NULL);
            if (is_trace_name(name) && g_file_test(full, G_FILE_TEST_IS_REGULAR)) {
                g_ptr_array_add(names, g_strdup(name));
            }
        }
        if (names->len == 0) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                        "%s: %s: no trace (*.spice, *.svr, also .zst or .gz) in this directory",
                        where, path);
            return FALSE;
        }
        g_ptr_array_sort(names, compare_strings);
        for (guint i = 0; i < names->len; i++) {
            g_autofree char *full = g_build_filename(path, g_ptr_array_index(names, i), NULL);
            g_ptr_array_add(traces, trace_arg(full));
        }
        return TRUE;
    }
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                    "%s: %s: no such trace file or directory", where, path);
        return FALSE;
    }
    g_ptr_array_add(traces, trace_arg(path));
    return TRUE;
}

static char *known_codecs(void)
{
    size_t n = 0;
    const SvEncoderDesc *const *descs = sv_registry_list(&n);
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    for (size_t i = 0; i < n; i++) {
        if (!str_in(names, descs[i]->codec_name)) {
            g_ptr_array_add(names, (char *)descs[i]->codec_name);
        }
    }
    g_ptr_array_add(names, NULL);
    return g_strjoinv(", ", (char **)names->pdata);
}

static gboolean check_codec(const char *codec, const char *where, GError **error)
{
    size_t n = 0;
    const SvEncoderDesc *const *descs = sv_registry_list(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(descs[i]->codec_name, codec) == 0) {
            return TRUE;
        }
    }
    g_autofree char *known = known_codecs();
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: unknown codec '%s' (expected: %s)",
                where, codec, known);
    return FALSE;
}

/* A net is a profile name, optionally followed by ",key=value" overrides, or
 * a key=value spec; the replay checks the values. */
static gboolean check_net(const char *net, const char *where, GError **error)
{
    g_autofree char *head = g_strndup(net, strcspn(net, ","));
    if (strchr(head, '=') != NULL) {
        return TRUE;
    }
    for (guint i = 0; i < G_N_ELEMENTS(net_presets); i++) {
        if (strcmp(head, net_presets[i]) == 0) {
            return TRUE;
        }
    }
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                "%s: unknown net '%s' (expected: lan, wifi, wan, dsl, mobile, satellite, or "
                "key=value,... as for --net)",
                where, net);
    return FALSE;
}

/* Splits a comma-separated --nets value; items with '=' join the one before. */
static void split_nets(GPtrArray *nets, const char *value)
{
    g_auto(GStrv) items = g_strsplit(value, ",", -1);
    GString *cur = NULL;
    for (guint i = 0; items[i] != NULL; i++) {
        if (cur != NULL && strchr(items[i], '=') != NULL) {
            g_string_append_printf(cur, ",%s", items[i]);
            continue;
        }
        if (cur != NULL) {
            g_ptr_array_add(nets, g_string_free(cur, FALSE));
        }
        cur = g_string_new(items[i]);
    }
    if (cur != NULL) {
        g_ptr_array_add(nets, g_string_free(cur, FALSE));
    }
}

static void split_list(GPtrArray *list, const char *value)
{
    g_auto(GStrv) items = g_strsplit(value, ",", -1);
    for (guint i = 0; items[i] != NULL; i++) {
        g_ptr_array_add(list, g_strdup(items[i]));
    }
}

/* @return a list of the strings of the array member @key, or NULL with @error
 * if it is not a non-empty array of strings (empty strings only if @empty_ok). */
static GPtrArray *file_strings(JsonObject *obj, const char *key, const char *path,
                               gboolean empty_ok, GError **error)
{
    JsonNode *node = json_object_get_member(obj, key);
    gboolean good = node != NULL && JSON_NODE_HOLDS_ARRAY(node) &&
                    json_array_get_length(json_node_get_array(node)) > 0;
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; good && i < json_array_get_length(json_node_get_array(node)); i++) {
        JsonNode *e = json_array_get_element(json_node_get_array(node), i);
        good = JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING &&
               (empty_ok || json_node_get_string(e)[0] != '\0');
        if (good) {
            g_ptr_array_add(out, g_strdup(json_node_get_string(e)));
        }
    }
    if (!good) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: \"%s\" must be a non-empty array of %sstrings", path, key,
                    empty_ok ? "" : "non-empty ");
        return NULL;
    }
    return g_steal_pointer(&out);
}

/* Reads a matrix file (docs/ci.md, "Matrix runs"). Traces are relative to
 * the file's directory. */
static gboolean matrix_load_file(Matrix *m, const char *path, GError **error)
{
    static const char *const keys[] = {
        "schema",        "traces",   "codecs",     "nets", "encoder_options", "repeat",
        "deterministic", "duration", "thresholds", "rd",   "comment",
    };
    g_autofree char *data = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &data, &len, NULL)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no such matrix file", path);
        return FALSE;
    }
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) local = NULL;
    if (!json_parser_load_from_data(parser, data, (gssize)len, &local)) {
        const char *msg = local->message;
        if (g_str_has_prefix(msg, "<data>:")) {
            msg += strlen("<data>:");
        }
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not valid JSON (%s)", path, msg);
        return FALSE;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: expected a JSON object", path);
        return FALSE;
    }
    JsonObject *obj = json_node_get_object(root);

    /* Every unknown key is named at once. */
    g_autoptr(GString) unknown = g_string_new(NULL);
    guint n_unknown = 0;
    g_autoptr(GList) members = json_object_get_members(obj);
    for (GList *l = members; l != NULL; l = l->next) {
        gboolean known = FALSE;
        for (guint i = 0; i < G_N_ELEMENTS(keys); i++) {
            known = known || strcmp(l->data, keys[i]) == 0;
        }
        if (!known) {
            g_string_append_printf(unknown, "%s'%s'", n_unknown > 0 ? ", " : "",
                                   (const char *)l->data);
            n_unknown++;
        }
    }
    if (n_unknown > 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: unknown key%s %s (expected: traces, codecs, nets, encoder_options, "
                    "repeat, deterministic, duration, thresholds, rd, comment, schema)",
                    path, n_unknown > 1 ? "s" : "", unknown->str);
        return FALSE;
    }

    JsonNode *n;
    if ((n = json_object_get_member(obj, "schema")) != NULL &&
        (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING ||
         strcmp(json_node_get_string(n), MATRIX_SCHEMA) != 0)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: \"schema\" must be \"" MATRIX_SCHEMA "\"", path);
        return FALSE;
    }
    g_autoptr(GPtrArray) traces = file_strings(obj, "traces", path, FALSE, error);
    if (traces == NULL) {
        return FALSE;
    }
    m->codecs = file_strings(obj, "codecs", path, FALSE, error);
    if (m->codecs == NULL) {
        return FALSE;
    }
    m->nets = file_strings(obj, "nets", path, FALSE, error);
    if (m->nets == NULL) {
        return FALSE;
    }
    if (json_object_has_member(obj, "encoder_options")) {
        m->options = file_strings(obj, "encoder_options", path, TRUE, error);
        if (m->options == NULL) {
            return FALSE;
        }
    }
    if ((n = json_object_get_member(obj, "repeat")) != NULL) {
        if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64 ||
            json_node_get_int(n) < 1 || json_node_get_int(n) > 1000) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: \"repeat\" must be an integer from 1 to 1000", path);
            return FALSE;
        }
        m->repeat = (guint)json_node_get_int(n);
    }
    if ((n = json_object_get_member(obj, "deterministic")) != NULL) {
        if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: \"deterministic\" must be true or false", path);
            return FALSE;
        }
        m->deterministic = json_node_get_boolean(n);
    }
    if ((n = json_object_get_member(obj, "duration")) != NULL) {
        GType t = JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
        double d = t == G_TYPE_INT64    ? (double)json_node_get_int(n)
                   : t == G_TYPE_DOUBLE ? json_node_get_double(n)
                                        : -1;
        if (!(d == 0 || (d >= 0.001 && d <= 1e6))) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: \"duration\" must be a number of seconds (0 = whole trace)", path);
            return FALSE;
        }
        m->duration_s = d;
    }
    static const char *const objects[] = {"thresholds", "rd"};
    for (guint i = 0; i < G_N_ELEMENTS(objects); i++) {
        if ((n = json_object_get_member(obj, objects[i])) != NULL && !JSON_NODE_HOLDS_OBJECT(n)) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: \"%s\" must be an object",
                        path, objects[i]);
            return FALSE;
        }
    }
    if ((n = json_object_get_member(obj, "thresholds")) != NULL) {
        m->thresholds = json_node_copy(n);
    }
    if ((n = json_object_get_member(obj, "rd")) != NULL) {
        m->rd = json_node_copy(n);
    }

    g_autofree char *dir = g_path_get_dirname(path);
    for (guint i = 0; i < traces->len; i++) {
        const char *t = g_ptr_array_index(traces, i);
        g_autofree char *full = g_path_is_absolute(t) || strcmp(dir, ".") == 0
                                    ? g_strdup(t)
                                    : g_build_filename(dir, t, NULL);
        if (!add_traces(m->traces, full, path, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static char *format_seconds(double s)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    return g_strdup(g_ascii_formatd(buf, sizeof(buf), "%.9g", s));
}

/* The file-name-safe form of @s. */
static void append_safe(GString *out, const char *s)
{
    for (const char *p = s; *p != '\0'; p++) {
        gboolean safe = g_ascii_isalnum(*p) || *p == '.' || *p == '-' || *p == '+' || *p == '=';
        g_string_append_c(out, safe ? *p : '-');
    }
}

/*
 * A run's file name says what it is:
 * TRACE_CODEC_NET[_OPTIONS][_dDURATION]_rREPEAT.json, with TRACE the trace's
 * name without .spice/.svr and compression. Names that clash after making
 * them file-name safe get _2, _3, … in matrix order.
 */
static char *run_file_name(const Matrix *m, const Run *run, GHashTable *taken)
{
    g_autofree char *base = g_path_get_basename(run->trace);
    static const char *const strip[] = {".zst", ".gz", ".spice", ".svr"};
    for (guint i = 0; i < G_N_ELEMENTS(strip); i++) {
        if (g_str_has_suffix(base, strip[i]) && strlen(base) > strlen(strip[i])) {
            base[strlen(base) - strlen(strip[i])] = '\0';
        }
    }
    GString *name = g_string_new(NULL);
    append_safe(name, base);
    g_string_append_c(name, '_');
    append_safe(name, run->codec);
    g_string_append_c(name, '_');
    append_safe(name, run->net);
    if (run->options[0] != '\0') {
        g_string_append_c(name, '_');
        append_safe(name, run->options);
    }
    if (m->duration_s > 0) {
        g_autofree char *d = format_seconds(m->duration_s);
        g_string_append(name, "_d");
        append_safe(name, d);
    }
    g_string_append_printf(name, "_r%u", run->repeat);
    g_autofree char *stem = g_string_free(name, FALSE);
    char *file = g_strconcat(stem, ".json", NULL);
    for (guint k = 2; g_hash_table_contains(taken, file); k++) {
        g_free(file);
        file = g_strdup_printf("%s_%u.json", stem, k);
    }
    g_hash_table_add(taken, g_strdup(file));
    return file;
}

/* Every run of the matrix, ids 0…, trace outermost, repeat innermost. */
static GPtrArray *matrix_runs(const Matrix *m)
{
    GPtrArray *runs = g_ptr_array_new_with_free_func(run_free);
    g_autoptr(GHashTable) taken = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint t = 0; t < m->traces->len; t++) {
        for (guint c = 0; c < m->codecs->len; c++) {
            for (guint n = 0; n < m->nets->len; n++) {
                for (guint o = 0; o < m->options->len; o++) {
                    for (guint r = 0; r < m->repeat; r++) {
                        Run *run = g_new0(Run, 1);
                        run->id = runs->len;
                        run->trace = g_strdup(g_ptr_array_index(m->traces, t));
                        run->codec = g_strdup(g_ptr_array_index(m->codecs, c));
                        run->net = g_strdup(g_ptr_array_index(m->nets, n));
                        run->options = g_strdup(g_ptr_array_index(m->options, o));
                        run->repeat = r;
                        run->exit_code = -1;
                        run->file = run_file_name(m, run, taken);
                        g_ptr_array_add(runs, run);
                    }
                }
            }
        }
    }
    return runs;
}

/* The "matrix" member of the index: the settings, on one line. */
static JsonNode *matrix_to_json(const Matrix *m, guint total)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    const struct {
        const char *key;
        GPtrArray *list;
    } lists[] = {
        {"traces", m->traces},
        {"codecs", m->codecs},
        {"nets", m->nets},
        {"encoder_options", m->options},
    };
    for (guint i = 0; i < G_N_ELEMENTS(lists); i++) {
        json_builder_set_member_name(b, lists[i].key);
        json_builder_begin_array(b);
        for (guint k = 0; k < lists[i].list->len; k++) {
            json_builder_add_string_value(b, g_ptr_array_index(lists[i].list, k));
        }
        json_builder_end_array(b);
    }
    json_builder_set_member_name(b, "repeat");
    json_builder_add_int_value(b, m->repeat);
    json_builder_set_member_name(b, "deterministic");
    json_builder_add_boolean_value(b, m->deterministic);
    json_builder_set_member_name(b, "duration");
    json_builder_add_double_value(b, m->duration_s);
    json_builder_set_member_name(b, "runs");
    json_builder_add_int_value(b, total);
    if (m->thresholds != NULL) {
        json_builder_set_member_name(b, "thresholds");
        json_builder_add_value(b, json_node_copy(m->thresholds));
    }
    if (m->rd != NULL) {
        json_builder_set_member_name(b, "rd");
        json_builder_add_value(b, json_node_copy(m->rd));
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/* index.json: the matrix on one line, then one line per run, in id order. */
static gboolean write_index(const char *dir, JsonNode *matrix, const char *shard, GPtrArray *runs,
                            GError **error)
{
    g_autoptr(GString) out = g_string_new("{\n  \"schema\": \"" MATRIX_SCHEMA "\",\n");
    g_autofree char *matrix_text = json_to_string(matrix, FALSE);
    g_string_append_printf(out, "  \"matrix\": %s,\n  \"shard\": ", matrix_text);
    json_string(out, shard);
    g_string_append(out, ",\n  \"runs\": [");
    for (guint i = 0; i < runs->len; i++) {
        const Run *run = g_ptr_array_index(runs, i);
        g_string_append_printf(out, "%s\n    {\"id\": %u, \"trace\": ", i > 0 ? "," : "", run->id);
        json_string(out, run->trace);
        g_string_append(out, ", \"codec\": ");
        json_string(out, run->codec);
        g_string_append(out, ", \"net\": ");
        json_string(out, run->net);
        g_string_append(out, ", \"options\": ");
        json_string(out, run->options);
        g_string_append_printf(out, ", \"repeat\": %u, \"file\": ", run->repeat);
        json_string(out, run->file);
        g_string_append_printf(out,
                               ", \"status\": \"%s\", \"exit_code\": ", run->ok ? "ok" : "failed");
        if (run->exit_code >= 0) {
            g_string_append_printf(out, "%d", run->exit_code);
        } else {
            g_string_append(out, "null");
        }
        g_string_append(out, ", \"error\": ");
        json_string(out, run->ok ? NULL : run->error);
        g_string_append_c(out, '}');
    }
    g_string_append(out, runs->len > 0 ? "\n  ]\n}\n" : "]\n}\n");
    g_autofree char *path = g_build_filename(dir, INDEX_NAME, NULL);
    return write_file_atomic(path, out->str, out->len, error);
}

/* ---- running -------------------------------------------------------------------------------- */

static char *self_exe(void)
{
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    if (exe != NULL && g_file_test(exe, G_FILE_TEST_IS_EXECUTABLE)) {
        return exe;
    }
    g_free(exe);
    return g_find_program_in_path("spice-bench");
}

/* @return TRUE if @path holds a valid result of @run's trace (resume). */
static gboolean result_valid(const Matrix *m, const Run *run, const char *path, GError **error)
{
    if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no result written", path);
        return FALSE;
    }
    const char *paths[] = {path};
    g_autoptr(GPtrArray) loaded = sv_bench_results_load(paths, 1, error);
    if (loaded == NULL) {
        return FALSE;
    }
    const SvBenchRun *r = g_ptr_array_index(loaded, 0);
    g_autofree char *want = g_path_get_basename(run->trace);
    g_autofree char *have = g_path_get_basename(r->trace);
    JsonNode *det =
        json_object_get_member(json_object_get_object_member(json_node_get_object(r->root), "run"),
                               "deterministic");
    gboolean det_ok = det != NULL && JSON_NODE_HOLDS_VALUE(det) &&
                      json_node_get_value_type(det) == G_TYPE_BOOLEAN &&
                      json_node_get_boolean(det) == m->deterministic;
    if (strcmp(want, have) != 0 || !det_ok) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: the result of another run (trace %s%s)", path, have,
                    det_ok ? "" : ", other --deterministic setting");
        return FALSE;
    }
    return TRUE;
}

/* The child's command line (its strings belong to @run, @m and @exe, except
 * the ones added to @owned). */
static GPtrArray *run_argv(const char *exe, const Matrix *m, const Run *run, const char *outdir,
                           GPtrArray *owned)
{
    char *json = g_build_filename(outdir, run->file, NULL);
    char *duration = format_seconds(m->duration_s);
    g_ptr_array_add(owned, json);
    g_ptr_array_add(owned, duration);
    GPtrArray *argv = g_ptr_array_new();
    g_ptr_array_add(argv, (char *)exe);
    g_ptr_array_add(argv, run->trace);
    g_ptr_array_add(argv, "--codec");
    g_ptr_array_add(argv, run->codec);
    g_ptr_array_add(argv, "--net");
    g_ptr_array_add(argv, run->net);
    g_ptr_array_add(argv, "--json");
    g_ptr_array_add(argv, json);
    g_ptr_array_add(argv, "-q");
    g_ptr_array_add(argv, "--no-progress");
    if (m->deterministic) {
        g_ptr_array_add(argv, "--deterministic");
    }
    if (m->isolate) {
        g_ptr_array_add(argv, "--isolate");
    }
    if (m->duration_s > 0) {
        g_ptr_array_add(argv, "--duration");
        g_ptr_array_add(argv, duration);
    }
    if (run->options[0] != '\0') {
        g_ptr_array_add(argv, "--encoder-options");
        g_ptr_array_add(argv, run->options);
    }
    g_ptr_array_add(argv, NULL);
    return argv;
}

static gboolean spawn_run(const char *exe, const Matrix *m, Run *run, const char *outdir,
                          GError **error)
{
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) argv = run_argv(exe, m, run, outdir, owned);
    int err_fd = g_file_open_tmp("spice-bench-matrix-XXXXXX.stderr", &run->stderr_path, error);
    if (err_fd < 0) {
        return FALSE;
    }
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    gboolean ok =
        null_fd >= 0 &&
        g_spawn_async_with_fds(NULL, (char **)argv->pdata, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                               NULL, &run->pid, null_fd, null_fd, err_fd, error);
    if (null_fd < 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "/dev/null: %s", g_strerror(errno));
    } else {
        close(null_fd);
    }
    close(err_fd);
    run->start_us = g_get_monotonic_time();
    return ok;
}

/* The line of the child's stderr that says what went wrong: its
 * "spice-bench: …" line if any (without that prefix), else the last one. */
static char *child_error(const char *stderr_path)
{
    g_autofree char *text = NULL;
    if (stderr_path == NULL || !g_file_get_contents(stderr_path, &text, NULL, NULL)) {
        return NULL;
    }
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    const char *best = NULL;
    for (guint i = 0; lines[i] != NULL; i++) {
        g_strstrip(lines[i]);
        if (g_str_has_prefix(lines[i], "spice-bench: ")) {
            best = lines[i] + strlen("spice-bench: ");
            break;
        }
        if (lines[i][0] != '\0') {
            best = lines[i];
        }
    }
    return best != NULL ? g_strdup(best) : NULL;
}

static void finish_run(const Matrix *m, Run *run, int status, const char *outdir)
{
    g_autofree char *err = child_error(run->stderr_path);
    if (run->stderr_path != NULL) {
        g_unlink(run->stderr_path);
        g_clear_pointer(&run->stderr_path, g_free);
    }
    g_autofree char *json = g_build_filename(outdir, run->file, NULL);
    if (WIFEXITED(status)) {
        run->exit_code = WEXITSTATUS(status);
        if (run->exit_code == 0) {
            g_autoptr(GError) error = NULL;
            run->ok = result_valid(m, run, json, &error);
            if (!run->ok) {
                run->error =
                    g_strdup_printf("exit status 0 but no valid result: %s", error->message);
            }
        } else {
            run->error =
                err != NULL ? g_strdup(err) : g_strdup_printf("exit status %d", run->exit_code);
        }
    } else if (WIFSIGNALED(status)) {
        run->exit_code = -1;
        run->error = g_strdup_printf("killed by signal %d (%s)%s%s", WTERMSIG(status),
                                     g_strsignal(WTERMSIG(status)), err != NULL ? ": " : "",
                                     err != NULL ? err : "");
    } else {
        run->error = g_strdup("ended in an unknown way");
    }
}

static void report_progress(const Run *run, guint done, guint total)
{
    g_autofree char *trace = g_path_get_basename(run->trace);
    g_autofree char *label =
        g_strdup_printf("%s %s %s%s%s #%u", trace, run->codec, run->net,
                        run->options[0] != '\0' ? " " : "", run->options, run->repeat);
    if (run->skipped) {
        fprintf(stderr, "matrix [%u/%u] skipped %s: result exists (%s)\n", done, total, label,
                run->file);
    } else if (run->ok) {
        double s = (double)(g_get_monotonic_time() - run->start_us) / 1e6;
        fprintf(stderr, "matrix [%u/%u] ok      %s: %.2f s (%s)\n", done, total, label, s,
                run->file);
    } else {
        fprintf(stderr, "matrix [%u/%u] FAILED  %s: %s\n", done, total, label,
                run->error != NULL ? run->error : "failed");
    }
    fflush(stderr);
}

/* Runs @todo, @jobs at a time; @return the number of failed runs. */
static guint run_all(const char *exe, const Matrix *m, GPtrArray *todo, guint jobs,
                     const char *outdir)
{
    g_autoptr(GHashTable) running = g_hash_table_new(g_direct_hash, g_direct_equal);
    guint next = 0, done = 0, failed = 0;
    while (next < todo->len || g_hash_table_size(running) > 0) {
        while (g_hash_table_size(running) < jobs && next < todo->len) {
            Run *run = g_ptr_array_index(todo, next++);
            g_autofree char *json = g_build_filename(outdir, run->file, NULL);
            if (result_valid(m, run, json, NULL)) {
                run->ok = TRUE;
                run->skipped = TRUE;
                run->exit_code = 0;
                report_progress(run, ++done, todo->len);
                continue;
            }
            g_autoptr(GError) error = NULL;
            if (!spawn_run(exe, m, run, outdir, &error)) {
                run->error = g_strdup_printf("cannot start %s: %s", exe, error->message);
                if (run->stderr_path != NULL) {
                    g_unlink(run->stderr_path);
                }
                failed++;
                report_progress(run, ++done, todo->len);
                continue;
            }
            g_hash_table_insert(running, GINT_TO_POINTER(run->pid), run);
        }
        if (g_hash_table_size(running) == 0) {
            continue;
        }
        int status = 0;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) {
                continue;
            }
            /* No child left although some are recorded as running: give up on them. */
            GHashTableIter iter;
            gpointer value;
            g_hash_table_iter_init(&iter, running);
            while (g_hash_table_iter_next(&iter, NULL, &value)) {
                Run *run = value;
                run->error = g_strdup_printf("lost track of the child: %s", g_strerror(errno));
                failed++;
                report_progress(run, ++done, todo->len);
            }
            g_hash_table_remove_all(running);
            continue;
        }
        Run *run = g_hash_table_lookup(running, GINT_TO_POINTER(pid));
        if (run == NULL) {
            continue;
        }
        g_hash_table_remove(running, GINT_TO_POINTER(pid));
        finish_run(m, run, status, outdir);
        failed += run->ok ? 0 : 1;
        report_progress(run, ++done, todo->len);
    }
    return failed;
}

/* ---- matrix --------------------------------------------------------------------------------- */

static int usage_error(const char *command, const char *message)
{
    fprintf(stderr, "spice-bench: %s: %s (see spice-bench %s --help)\n", command, message, command);
    return EXIT_USAGE;
}

/* Runs this shard's part of @m into @outdir and writes the index. */
static int matrix_execute(const Matrix *m, const char *outdir, guint jobs, guint shard_index,
                          guint shard_count, gboolean dry_run)
{
    int status = EXIT_USAGE;
    g_autoptr(GError) error = NULL;
    g_autofree char *exe = self_exe();
    if (dry_run) {
        g_autoptr(GPtrArray) all = matrix_runs(m);
        for (guint i = 0; i < all->len; i++) {
            if (i % shard_count != shard_index - 1) {
                continue;
            }
            g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
            g_autoptr(GPtrArray) argv =
                run_argv("spice-bench", m, g_ptr_array_index(all, i), outdir, owned);
            printf("%u", i);
            for (guint k = 0; k + 1 < argv->len; k++) {
                g_autofree char *q = g_shell_quote(g_ptr_array_index(argv, k));
                printf(" %s", q);
            }
            printf("\n");
        }
        return 0;
    }
    if (exe == NULL) {
        fprintf(stderr, "spice-bench: matrix: cannot find the spice-bench executable to run\n");
        status = EXIT_FAILED;
        return status;
    }
    if (g_mkdir_with_parents(outdir, 0755) != 0 || !g_file_test(outdir, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "spice-bench: %s: cannot create the output directory: %s\n", outdir,
                g_strerror(errno));
        return status;
    }

    g_autoptr(GPtrArray) runs = matrix_runs(m);
    g_autoptr(GPtrArray) mine = g_ptr_array_new();
    for (guint i = 0; i < runs->len; i++) {
        if (i % shard_count == shard_index - 1) {
            g_ptr_array_add(mine, g_ptr_array_index(runs, i));
        }
    }
    if (jobs == 0) {
        jobs = MAX(1, g_get_num_processors());
    }
    guint failed = run_all(exe, m, mine, jobs, outdir);

    g_autoptr(JsonNode) matrix_json = matrix_to_json(m, runs->len);
    g_autofree char *shard =
        shard_count > 1 ? g_strdup_printf("%u/%u", shard_index, shard_count) : NULL;
    if (!write_index(outdir, matrix_json, shard, mine, &error)) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        status = EXIT_FAILED;
        return status;
    }
    guint skipped = 0;
    for (guint i = 0; i < mine->len; i++) {
        skipped += ((Run *)g_ptr_array_index(mine, i))->skipped ? 1 : 0;
    }
    g_autofree char *index_path = g_build_filename(outdir, INDEX_NAME, NULL);
    fprintf(stderr, "matrix: %u run%s%s%s: %u ok (%u skipped: result existed), %u failed; %s\n",
            mine->len, mine->len == 1 ? "" : "s", shard != NULL ? " of shard " : "",
            shard != NULL ? shard : "", mine->len - failed, skipped, failed, index_path);
    status = failed > 0 ? EXIT_FAILED : 0;

    return status;
}

int sv_bench_matrix_main(int argc, char **argv)
{
    Matrix m = {0};
    m.traces = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) trace_args = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) codecs = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) nets = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GPtrArray) options = g_ptr_array_new_with_free_func(g_free);
    const char *file = NULL;
    const char *outdir = NULL;
    guint jobs = 0, shard_index = 1, shard_count = 1;
    guint repeat = 0;
    gboolean deterministic = FALSE;
    gboolean dry_run = FALSE;
    gboolean isolate = FALSE;
    double duration = 0;
    gboolean list_options = FALSE; /* any of the options a matrix file replaces */
    int status = EXIT_USAGE;
    g_autoptr(GError) error = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_matrix_usage(stdout);
            status = 0;
            goto out;
        }
        if (strcmp(a, "--deterministic") == 0) {
            deterministic = TRUE;
            list_options = TRUE;
            continue;
        }
        if (strcmp(a, "--dry-run") == 0) {
            dry_run = TRUE;
            continue;
        }
        if (strcmp(a, "--isolate") == 0) {
            isolate = TRUE;
            continue;
        }
        if (a[0] != '-') {
            if (file != NULL) {
                g_autofree char *msg =
                    g_strdup_printf("one matrix file at most ('%s' and '%s' given)", file, a);
                status = usage_error("matrix", msg);
                goto out;
            }
            file = a;
            continue;
        }
        static const char *const with_value[] = {
            "--traces", "--codecs", "--nets", "--encoder-options", "--repeat", "--duration", "-o",
            "--output", "-j",       "--jobs", "--shard",
        };
        gboolean known = FALSE;
        for (guint k = 0; k < G_N_ELEMENTS(with_value); k++) {
            known = known || strcmp(a, with_value[k]) == 0;
        }
        if (!known) {
            g_autofree char *msg = g_strdup_printf("unknown option '%s'", a);
            status = usage_error("matrix", msg);
            goto out;
        }
        if (i + 1 >= argc) {
            g_autofree char *msg = g_strdup_printf("%s needs a value", a);
            status = usage_error("matrix", msg);
            goto out;
        }
        const char *v = argv[++i];
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            outdir = v;
        } else if (strcmp(a, "-j") == 0 || strcmp(a, "--jobs") == 0) {
            jobs = parse_count(v, 1024);
            if (jobs == 0) {
                fprintf(stderr,
                        "spice-bench: matrix: %s: '%s', expected an integer from 1 to 1024\n", a,
                        v);
                goto out;
            }
        } else if (strcmp(a, "--shard") == 0) {
            if (!parse_shard(v, &shard_index, &shard_count)) {
                fprintf(stderr,
                        "spice-bench: matrix: --shard: '%s', expected I/N with 1 <= I <= N\n", v);
                goto out;
            }
        } else {
            list_options = TRUE;
            if (strcmp(a, "--traces") == 0) {
                split_list(trace_args, v);
            } else if (strcmp(a, "--codecs") == 0) {
                split_list(codecs, v);
            } else if (strcmp(a, "--nets") == 0) {
                split_nets(nets, v);
            } else if (strcmp(a, "--encoder-options") == 0) {
                g_ptr_array_add(options, g_strdup(v));
            } else if (strcmp(a, "--repeat") == 0) {
                repeat = parse_count(v, 1000);
                if (repeat == 0) {
                    fprintf(stderr,
                            "spice-bench: matrix: --repeat: '%s', expected an integer from 1 to "
                            "1000\n",
                            v);
                    goto out;
                }
            } else if (strcmp(a, "--duration") == 0) {
                if (!parse_duration(v, &duration)) {
                    fprintf(stderr,
                            "spice-bench: matrix: --duration: '%s', expected a number of seconds "
                            ">= 0.001\n",
                            v);
                    goto out;
                }
            }
        }
    }
    if (outdir == NULL) {
        status = usage_error("matrix", "no output directory (-o DIR)");
        goto out;
    }

    if (file != NULL) {
        if (list_options) {
            status = usage_error("matrix", "a matrix file replaces --traces, --codecs, --nets, "
                                           "--encoder-options, --repeat, --deterministic and "
                                           "--duration");
            goto out;
        }
        m.repeat = 1;
        if (!matrix_load_file(&m, file, &error)) {
            fprintf(stderr, "spice-bench: %s\n", error->message);
            goto out;
        }
        if (m.options == NULL) {
            m.options = g_ptr_array_new_with_free_func(g_free);
            g_ptr_array_add(m.options, g_strdup(""));
        }
    } else {
        if (trace_args->len == 0 || codecs->len == 0 || nets->len == 0) {
            status = usage_error("matrix", "--traces, --codecs and --nets are needed (or a "
                                           "matrix file)");
            goto out;
        }
        for (guint i = 0; i < trace_args->len; i++) {
            if (!add_traces(m.traces, g_ptr_array_index(trace_args, i), "--traces", &error)) {
                fprintf(stderr, "spice-bench: %s\n", error->message);
                goto out;
            }
        }
        m.codecs = g_steal_pointer(&codecs);
        m.nets = g_steal_pointer(&nets);
        m.options = g_steal_pointer(&options);
        if (m.options->len == 0) {
            g_ptr_array_add(m.options, g_strdup(""));
        }
        m.repeat = repeat > 0 ? repeat : 1;
        m.deterministic = deterministic;
        m.duration_s = duration;
    }
    {
        const char *where_codecs = file != NULL ? file : "--codecs";
        const char *where_nets = file != NULL ? file : "--nets";
        for (guint i = 0; i < m.codecs->len; i++) {
            if (!check_codec(g_ptr_array_index(m.codecs, i), where_codecs, &error)) {
                fprintf(stderr, "spice-bench: %s\n", error->message);
                goto out;
            }
        }
        for (guint i = 0; i < m.nets->len; i++) {
            if (!check_net(g_ptr_array_index(m.nets, i), where_nets, &error)) {
                fprintf(stderr, "spice-bench: %s\n", error->message);
                goto out;
            }
        }
    }

    m.isolate = isolate;
    status = matrix_execute(&m, outdir, jobs, shard_index, shard_count, dry_run);

out:
    matrix_clear(&m);
    return status;
}

/* ---- merge ---------------------------------------------------------------------------------- */

static char *obj_str(JsonObject *o, const char *key)
{
    JsonNode *n = json_object_get_member(o, key);
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
        return NULL;
    }
    return g_strdup(json_node_get_string(n));
}

static Run *run_from_entry(JsonObject *e)
{
    Run *run = g_new0(Run, 1);
    run->id = (guint)json_object_get_int_member(e, "id");
    run->trace = obj_str(e, "trace");
    run->codec = obj_str(e, "codec");
    run->net = obj_str(e, "net");
    run->options = obj_str(e, "options");
    run->repeat = (guint)json_object_get_int_member(e, "repeat");
    run->file = obj_str(e, "file");
    run->ok = strcmp(json_object_get_string_member(e, "status"), "ok") == 0;
    JsonNode *code = json_object_get_member(e, "exit_code");
    run->exit_code = code != NULL && JSON_NODE_HOLDS_VALUE(code) &&
                             json_node_get_value_type(code) == G_TYPE_INT64
                         ? (int)json_node_get_int(code)
                         : -1;
    run->error = obj_str(e, "error");
    return run;
}

static int compare_ids(gconstpointer a, gconstpointer b)
{
    const Run *ra = *(Run *const *)a;
    const Run *rb = *(Run *const *)b;
    return ra->id < rb->id ? -1 : ra->id > rb->id;
}

static gboolean same_run(const Run *a, const Run *b)
{
    return strcmp(a->trace, b->trace) == 0 && strcmp(a->codec, b->codec) == 0 &&
           strcmp(a->net, b->net) == 0 && strcmp(a->options, b->options) == 0 &&
           a->repeat == b->repeat && strcmp(a->file, b->file) == 0;
}

static gboolean same_contents(const char *a, const char *b)
{
    g_autofree char *da = NULL, *db = NULL;
    gsize la = 0, lb = 0;
    return g_file_get_contents(a, &da, &la, NULL) && g_file_get_contents(b, &db, &lb, NULL) &&
           la == lb && memcmp(da, db, la) == 0;
}

static gboolean same_file(const char *a, const char *b)
{
    GStatBuf sa, sb;
    return g_stat(a, &sa) == 0 && g_stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int sv_bench_merge_main(int argc, char **argv)
{
    const char *outdir = NULL;
    g_autoptr(GPtrArray) inputs = g_ptr_array_new();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_merge_usage(stdout);
            return 0;
        }
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (i + 1 >= argc) {
                g_autofree char *msg = g_strdup_printf("%s needs a value", a);
                return usage_error("merge", msg);
            }
            outdir = argv[++i];
            continue;
        }
        if (a[0] == '-') {
            g_autofree char *msg = g_strdup_printf("unknown option '%s'", a);
            return usage_error("merge", msg);
        }
        g_ptr_array_add(inputs, (char *)a);
    }
    if (outdir == NULL) {
        return usage_error("merge", "no output directory (-o DIR)");
    }
    if (inputs->len == 0) {
        return usage_error("merge", "no result set to merge");
    }

    g_autoptr(GError) error = NULL;
    g_autoptr(GHashTable) by_id = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_autoptr(GHashTable) by_file = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GHashTable) source = g_hash_table_new(g_direct_hash, g_direct_equal);
    g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func(run_free);
    g_autoptr(JsonNode) matrix = NULL;
    g_autofree char *matrix_text = NULL;
    const char *matrix_from = NULL;

    for (guint i = 0; i < inputs->len; i++) {
        const char *dir = g_ptr_array_index(inputs, i);
        g_autoptr(JsonNode) index = sv_bench_index_read(dir, &error);
        if (index == NULL) {
            fprintf(stderr, "spice-bench: %s\n", error->message);
            return EXIT_USAGE;
        }
        /* Every result the index calls ok must be there and valid. */
        const char *paths[] = {dir};
        g_autoptr(GPtrArray) check = sv_bench_results_load(paths, 1, &error);
        if (check == NULL) {
            fprintf(stderr, "spice-bench: %s\n", error->message);
            return EXIT_USAGE;
        }
        JsonObject *root = json_node_get_object(index);
        JsonNode *mnode = json_object_get_member(root, "matrix");
        g_autofree char *text = mnode != NULL ? json_to_string(mnode, FALSE) : g_strdup("null");
        if (matrix_text == NULL) {
            matrix_text = g_steal_pointer(&text);
            matrix = mnode != NULL ? json_node_copy(mnode) : json_node_new(JSON_NODE_NULL);
            matrix_from = dir;
        } else if (strcmp(matrix_text, text) != 0) {
            fprintf(stderr,
                    "spice-bench: %s/" INDEX_NAME ": from another matrix than %s (its \"matrix\" "
                    "settings differ)\n",
                    dir, matrix_from);
            return EXIT_USAGE;
        }
        JsonArray *arr = json_object_get_array_member(root, "runs");
        for (guint k = 0; k < json_array_get_length(arr); k++) {
            Run *run = run_from_entry(json_array_get_object_element(arr, k));
            g_ptr_array_add(all, run);
            g_hash_table_insert(source, run, (char *)dir);
            Run *prev = g_hash_table_lookup(by_id, GUINT_TO_POINTER(run->id));
            Run *same_name = g_hash_table_lookup(by_file, run->file);
            if (prev == NULL && same_name != NULL) {
                fprintf(stderr,
                        "spice-bench: %s/" INDEX_NAME ": run %u and run %u (in %s) both use the "
                        "file %s\n",
                        dir, run->id, same_name->id,
                        (const char *)g_hash_table_lookup(source, same_name), run->file);
                return EXIT_USAGE;
            }
            if (prev == NULL) {
                g_hash_table_insert(by_id, GUINT_TO_POINTER(run->id), run);
                g_hash_table_insert(by_file, run->file, run);
                continue;
            }
            const char *prev_dir = g_hash_table_lookup(source, prev);
            if (!same_run(prev, run)) {
                fprintf(stderr,
                        "spice-bench: %s/" INDEX_NAME ": run %u is not the same run as run %u in "
                        "%s (trace, codec, net, options, repeat or file differ)\n",
                        dir, run->id, prev->id, prev_dir);
                return EXIT_USAGE;
            }
            if (prev->ok && run->ok) {
                g_autofree char *pa = g_build_filename(prev_dir, prev->file, NULL);
                g_autofree char *pb = g_build_filename(dir, run->file, NULL);
                if (!same_contents(pa, pb)) {
                    fprintf(stderr,
                            "spice-bench: %s: differs from %s: run %u has two different results\n",
                            pb, pa, run->id);
                    return EXIT_USAGE;
                }
            } else if (run->ok) {
                /* Failed in one set, done in another: the result wins. */
                g_hash_table_insert(by_id, GUINT_TO_POINTER(run->id), run);
                g_hash_table_insert(by_file, run->file, run);
            }
        }
    }

    if (g_mkdir_with_parents(outdir, 0755) != 0 || !g_file_test(outdir, G_FILE_TEST_IS_DIR)) {
        fprintf(stderr, "spice-bench: %s: cannot create the output directory: %s\n", outdir,
                g_strerror(errno));
        return EXIT_USAGE;
    }
    g_autoptr(GPtrArray) merged = g_ptr_array_new();
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, by_id);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        g_ptr_array_add(merged, value);
    }
    g_ptr_array_sort(merged, compare_ids);
    guint failed = 0;
    for (guint i = 0; i < merged->len; i++) {
        Run *run = g_ptr_array_index(merged, i);
        if (!run->ok) {
            failed++;
            continue;
        }
        g_autofree char *from =
            g_build_filename((const char *)g_hash_table_lookup(source, run), run->file, NULL);
        g_autofree char *to = g_build_filename(outdir, run->file, NULL);
        if (same_file(from, to)) {
            continue;
        }
        g_autofree char *data = NULL;
        gsize len = 0;
        if (!g_file_get_contents(from, &data, &len, NULL)) {
            fprintf(stderr, "spice-bench: %s: cannot be read\n", from);
            return EXIT_FAILED;
        }
        if (!write_file_atomic(to, data, len, &error)) {
            fprintf(stderr, "spice-bench: %s\n", error->message);
            return EXIT_FAILED;
        }
    }
    if (!write_index(outdir, matrix, NULL, merged, &error)) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        return EXIT_FAILED;
    }
    JsonNode *total = JSON_NODE_HOLDS_OBJECT(matrix)
                          ? json_object_get_member(json_node_get_object(matrix), "runs")
                          : NULL;
    g_autofree char *of = total != NULL && JSON_NODE_HOLDS_VALUE(total)
                              ? g_strdup_printf(" of %" G_GINT64_FORMAT, json_node_get_int(total))
                              : g_strdup("");
    fprintf(stderr, "merge: %u run%s%s (%u failed) from %u result set%s into %s/" INDEX_NAME "\n",
            merged->len, merged->len == 1 ? "" : "s", of, failed, inputs->len,
            inputs->len == 1 ? "" : "s", outdir);
    return 0;
}
