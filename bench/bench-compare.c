/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * `spice-bench compare BASE NEW`: per run and metric, did NEW regress
 * against BASE? `spice-bench rd TRACE`: a rate-distortion sweep per codec.
 * `spice-bench bd-rate A B`: Bjøntegaard delta rate between two RD curves.
 * (docs/ci.md, "Comparing results".)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <spice-video/spice-video.h>

#include "bench-bdrate.h"
#include "bench-commands.h"
#include "bench-results.h"

#define EXIT_USAGE 2

#define COMPARE_SCHEMA "spice-bench-compare/1"
#define RD_SCHEMA "spice-bench-rd/1"

/* Welch's test: a noisy metric changed when p is below this. */
#define NOISY_P_MAX 0.05

/* ------------------------------------------------------------------------ */
/* Small helpers shared by the three commands */

static gboolean parse_number(const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v)) {
        return FALSE;
    }
    *out = v;
    return TRUE;
}

/* Writes @text to @path (via PATH.tmp and a rename), or stdout for NULL or "-". */
static gboolean write_output(const char *path, const GString *text)
{
    if (path == NULL || strcmp(path, "-") == 0) {
        fwrite(text->str, 1, text->len, stdout);
        return TRUE;
    }
    g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
    g_autoptr(GError) error = NULL;
    if (!g_file_set_contents(tmp, text->str, (gssize)text->len, &error)) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        return FALSE;
    }
    if (g_rename(tmp, path) != 0) {
        int e = errno;
        g_unlink(tmp);
        fprintf(stderr, "spice-bench: cannot rename %s to %s: %s\n", tmp, path, g_strerror(e));
        return FALSE;
    }
    return TRUE;
}

static JsonNode *json_at(JsonNode *root, const char *json_path)
{
    g_auto(GStrv) parts = g_strsplit(json_path, ".", -1);
    JsonNode *node = root;
    for (guint i = 0; parts[i] != NULL && node != NULL; i++) {
        if (!JSON_NODE_HOLDS_OBJECT(node)) {
            return NULL;
        }
        JsonObject *obj = json_node_get_object(node);
        node = json_object_has_member(obj, parts[i]) ? json_object_get_member(obj, parts[i]) : NULL;
    }
    return node;
}

/* @return the number at @json_path, NAN if absent, null or not a number. */
static double json_number(JsonNode *root, const char *json_path)
{
    JsonNode *n = json_at(root, json_path);
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n)) {
        return NAN;
    }
    GType t = json_node_get_value_type(n);
    if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE) {
        return NAN;
    }
    return json_node_get_double(n);
}

static JsonNode *read_json_file(const char *path, GError **error)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json_parser_load_from_file(parser, path, error)) {
        g_prefix_error(error, "%s: ", path);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: expected a JSON object", path);
        return NULL;
    }
    return json_node_copy(root);
}

static void builder_number(JsonBuilder *b, const char *name, double v)
{
    json_builder_set_member_name(b, name);
    if (isfinite(v)) {
        json_builder_add_double_value(b, v);
    } else {
        json_builder_add_null_value(b);
    }
}

static void builder_string(JsonBuilder *b, const char *name, const char *v)
{
    json_builder_set_member_name(b, name);
    if (v != NULL) {
        json_builder_add_string_value(b, v);
    } else {
        json_builder_add_null_value(b);
    }
}

static void json_write_string(GString *out, const char *text)
{
    g_autofree char *valid = g_utf8_make_valid(text, -1);
    g_string_append_c(out, '"');
    for (const char *p = valid; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            g_string_append_c(out, '\\');
            g_string_append_c(out, (char)ch);
        } else if (ch == '\n') {
            g_string_append(out, "\\n");
        } else if (ch == '\t') {
            g_string_append(out, "\\t");
        } else if (ch < 0x20) {
            g_string_append_printf(out, "\\u%04x", ch);
        } else {
            g_string_append_c(out, (char)ch);
        }
    }
    g_string_append_c(out, '"');
}

/* Like json-glib's generator, but numbers with at most 12 significant
 * digits: 36.6, not 36.600000000000001. */
static void json_write(GString *out, JsonNode *node, int depth)
{
    if (JSON_NODE_HOLDS_OBJECT(node)) {
        JsonObject *obj = json_node_get_object(node);
        g_autoptr(GList) members = json_object_get_members(obj);
        if (members == NULL) {
            g_string_append(out, "{}");
            return;
        }
        g_string_append(out, "{\n");
        for (GList *l = members; l != NULL; l = l->next) {
            g_string_append_printf(out, "%*s", 2 * (depth + 1), "");
            json_write_string(out, l->data);
            g_string_append(out, ": ");
            json_write(out, json_object_get_member(obj, l->data), depth + 1);
            g_string_append(out, l->next != NULL ? ",\n" : "\n");
        }
        g_string_append_printf(out, "%*s}", 2 * depth, "");
    } else if (JSON_NODE_HOLDS_ARRAY(node)) {
        JsonArray *arr = json_node_get_array(node);
        guint n = json_array_get_length(arr);
        if (n == 0) {
            g_string_append(out, "[]");
            return;
        }
        g_string_append(out, "[\n");
        for (guint i = 0; i < n; i++) {
            g_string_append_printf(out, "%*s", 2 * (depth + 1), "");
            json_write(out, json_array_get_element(arr, i), depth + 1);
            g_string_append(out, i + 1 < n ? ",\n" : "\n");
        }
        g_string_append_printf(out, "%*s]", 2 * depth, "");
    } else if (JSON_NODE_HOLDS_NULL(node)) {
        g_string_append(out, "null");
    } else {
        GType t = json_node_get_value_type(node);
        if (t == G_TYPE_STRING) {
            json_write_string(out, json_node_get_string(node));
        } else if (t == G_TYPE_BOOLEAN) {
            g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
        } else if (t == G_TYPE_INT64) {
            g_string_append_printf(out, "%" G_GINT64_FORMAT, json_node_get_int(node));
        } else {
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            double v = json_node_get_double(node);
            g_string_append(out, g_ascii_formatd(buf, sizeof(buf), "%.12g", v == 0 ? 0 : v));
        }
    }
}

static GString *builder_to_text(JsonBuilder *b)
{
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    GString *out = g_string_new(NULL);
    json_write(out, root, 0);
    g_string_append_c(out, '\n');
    return out;
}

/* ------------------------------------------------------------------------ */
/* Statistics: Welch's two-sided t-test */

/* Continued fraction of the incomplete beta function (modified Lentz). */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    d = fabs(d) < tiny ? tiny : d;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1 + aa / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1 + aa / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-15) {
            break;
        }
    }
    return h;
}

/* Regularised incomplete beta function I_x(a, b). */
static double incomplete_beta(double a, double b, double x)
{
    if (x <= 0) {
        return 0;
    }
    if (x >= 1) {
        return 1;
    }
    double front = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x));
    if (x < (a + 1) / (a + b + 2)) {
        return front * beta_cf(a, b, x) / a;
    }
    return 1 - front * beta_cf(b, a, 1 - x) / b;
}

static void mean_var(const double *v, guint n, double *mean, double *var)
{
    double s = 0;
    for (guint i = 0; i < n; i++) {
        s += v[i];
    }
    *mean = s / n;
    double ss = 0;
    for (guint i = 0; i < n; i++) {
        ss += (v[i] - *mean) * (v[i] - *mean);
    }
    *var = n > 1 ? ss / (n - 1) : 0;
}

/* Welch's unequal-variance t-test, two-sided; both samples need n >= 2.
 * @return the p-value. */
static double welch_p(const double *a, guint na, const double *b, guint nb)
{
    double ma, va, mb, vb;
    mean_var(a, na, &ma, &va);
    mean_var(b, nb, &mb, &vb);
    double sa = va / na, sb = vb / nb;
    if (sa + sb == 0) {
        return ma == mb ? 1 : 0;
    }
    double t = (mb - ma) / sqrt(sa + sb);
    double df = (sa + sb) * (sa + sb) / (sa * sa / (na - 1) + sb * sb / (nb - 1));
    return incomplete_beta(df / 2, 0.5, df / (df + t * t));
}

/* ------------------------------------------------------------------------ */
/* compare */

typedef enum {
    THR_OFF, /* informational: never a verdict */
    THR_ABS, /* in the metric's unit (points for %) */
    THR_REL, /* percent of the base value */
} ThrKind;

typedef struct {
    ThrKind kind;
    double value; /* >= 0 */
} Thr;

typedef enum {
    VERDICT_NONE,
    VERDICT_UNCHANGED,
    VERDICT_IMPROVED,
    VERDICT_REGRESSED,
} Verdict;

static const char *const verdict_names[] = {"-", "unchanged", "improved", "regressed"};

typedef struct {
    const SvBenchMetric *metric;
    double base, new_value; /* means over the repeats; NAN if absent */
    guint n_base, n_new;
    double change;     /* new − base */
    double change_pct; /* 100 × change / |base|; NAN if base is 0 */
    double p_value;    /* Welch's test; NAN if not run */
    Thr thr;
    Verdict verdict;
    char *note;
} Row;

typedef enum {
    RUN_COMPARED,
    RUN_MISSING, /* only in BASE */
    RUN_NEW,     /* only in NEW */
} RunStatus;

typedef struct {
    char *key;
    char *label;
    RunStatus status;
    GPtrArray *base; /* SvBenchRun *, not owned */
    GPtrArray *new_runs;
    GArray *rows; /* Row */
} RunCmp;

static void row_clear(gpointer p)
{
    g_free(((Row *)p)->note);
}

static void run_cmp_free(gpointer p)
{
    RunCmp *r = p;
    g_free(r->key);
    g_free(r->label);
    g_ptr_array_unref(r->base);
    g_ptr_array_unref(r->new_runs);
    g_array_unref(r->rows);
    g_free(r);
}

/* The defaults (docs/ci.md): quality in dB or SSIM units, frame fates in
 * points of frames, times and rates relative. */
static Thr default_threshold(const SvBenchMetric *m)
{
    Thr t = {THR_OFF, 0};
    if (m->better == 0) {
        return t;
    }
    if (strcmp(m->unit, "dB") == 0) {
        t = (Thr){THR_ABS, 0.3};
    } else if (m->json_path != NULL && strstr(m->json_path, "ssim") != NULL) {
        t = (Thr){THR_ABS, 0.005};
    } else if (strcmp(m->unit, "%") == 0) {
        t = (Thr){THR_ABS, 1};
    } else if (m->noisy || strcmp(m->unit, "ms") == 0) {
        t = (Thr){THR_REL, 10};
    } else {
        t = (Thr){THR_REL, 5};
    }
    return t;
}

/* "0.3", "-0.3", "+10%", "off". */
static gboolean parse_threshold(const char *text, Thr *out)
{
    if (strcmp(text, "off") == 0 || strcmp(text, "none") == 0) {
        *out = (Thr){THR_OFF, 0};
        return TRUE;
    }
    g_autofree char *s = g_strstrip(g_strdup(text));
    size_t len = strlen(s);
    ThrKind kind = THR_ABS;
    if (len > 0 && s[len - 1] == '%') {
        kind = THR_REL;
        s[--len] = '\0';
        g_strchomp(s);
    }
    double v = 0;
    if (!parse_number(s, &v)) {
        return FALSE;
    }
    *out = (Thr){kind, fabs(v)};
    return TRUE;
}

static guint metric_count(void)
{
    guint n = 0;
    for (const SvBenchMetric *m = sv_bench_metrics(); m->name != NULL; m++) {
        n++;
    }
    return n;
}

static char *metric_names(void)
{
    GString *s = g_string_new(NULL);
    for (const SvBenchMetric *m = sv_bench_metrics(); m->name != NULL; m++) {
        g_string_append_printf(s, "%s%s", s->len > 0 ? ", " : "", m->name);
    }
    return g_string_free(s, FALSE);
}

static gboolean set_threshold(Thr *thresholds, const char *name, const char *value,
                              const char *where)
{
    const SvBenchMetric *m = sv_bench_metric_find(name);
    if (m == NULL) {
        g_autofree char *names = metric_names();
        fprintf(stderr, "spice-bench: %s: unknown metric '%s' (known: %s)\n", where, name, names);
        return FALSE;
    }
    Thr t;
    if (!parse_threshold(value, &t)) {
        fprintf(stderr,
                "spice-bench: %s: '%s' for %s is not a threshold (a number, a number with %%, "
                "or off)\n",
                where, value, name);
        return FALSE;
    }
    thresholds[m - sv_bench_metrics()] = t;
    return TRUE;
}

/* The "thresholds" object of a matrix file: {"psnr_mean": -0.3, "latency_p95_ms": "+10%"}. */
static gboolean read_matrix_thresholds(const char *path, Thr *thresholds)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) root = read_json_file(path, &error);
    if (root == NULL) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        return FALSE;
    }
    JsonNode *t = json_at(root, "thresholds");
    if (t == NULL || JSON_NODE_HOLDS_NULL(t)) {
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_OBJECT(t)) {
        fprintf(stderr, "spice-bench: %s: \"thresholds\" must be an object\n", path);
        return FALSE;
    }
    JsonObject *obj = json_node_get_object(t);
    g_autoptr(GList) members = json_object_get_members(obj);
    g_autofree char *where = g_strdup_printf("%s: thresholds", path);
    for (GList *l = members; l != NULL; l = l->next) {
        const char *name = l->data;
        JsonNode *v = json_object_get_member(obj, name);
        g_autofree char *text = NULL;
        if (JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_STRING) {
            text = g_strdup(json_node_get_string(v));
        } else if (JSON_NODE_HOLDS_VALUE(v) && (json_node_get_value_type(v) == G_TYPE_INT64 ||
                                                json_node_get_value_type(v) == G_TYPE_DOUBLE)) {
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            text = g_strdup(g_ascii_dtostr(buf, sizeof(buf), json_node_get_double(v)));
        } else {
            text = g_strdup("(not a number or string)");
        }
        if (!set_threshold(thresholds, name, text, where)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A directory without index.json stands for the JSON files in it. */
static gboolean expand_path(const char *path, GPtrArray *paths)
{
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        fprintf(stderr, "spice-bench: %s: no such file or directory\n", path);
        return FALSE;
    }
    g_autofree char *index = g_build_filename(path, "index.json", NULL);
    if (!g_file_test(path, G_FILE_TEST_IS_DIR) || g_file_test(index, G_FILE_TEST_EXISTS)) {
        g_ptr_array_add(paths, g_strdup(path));
        return TRUE;
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(GDir) dir = g_dir_open(path, 0, &error);
    if (dir == NULL) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        return FALSE;
    }
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    while ((name = g_dir_read_name(dir)) != NULL) {
        if (g_str_has_suffix(name, ".json")) {
            g_ptr_array_add(names, g_strdup(name));
        }
    }
    if (names->len == 0) {
        fprintf(stderr, "spice-bench: %s: no index.json and no *.json result files\n", path);
        return FALSE;
    }
    g_ptr_array_sort(names, compare_names);
    for (guint i = 0; i < names->len; i++) {
        g_ptr_array_add(paths, g_build_filename(path, names->pdata[i], NULL));
    }
    return TRUE;
}

static GPtrArray *load_side(const char *path)
{
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    if (!expand_path(path, paths)) {
        return NULL;
    }
    g_autoptr(GError) error = NULL;
    GPtrArray *runs = sv_bench_results_load((const char *const *)paths->pdata, paths->len, &error);
    if (runs == NULL) {
        fprintf(stderr, "spice-bench: %s\n",
                error != NULL ? error->message : "cannot load the results");
        return NULL;
    }
    if (runs->len == 0) {
        fprintf(stderr, "spice-bench: %s: no successful runs to compare\n", path);
        g_ptr_array_unref(runs);
        return NULL;
    }
    return runs;
}

/* A shorter name for people: "trace codec net[ options]", net up to its ':'. */
static char *run_label(const SvBenchRun *run)
{
    g_autofree char *trace = g_path_get_basename(run->trace);
    const char *colon = strchr(run->net, ':');
    g_autofree char *net =
        colon != NULL ? g_strndup(run->net, (gsize)(colon - run->net)) : g_strdup(run->net);
    return g_strdup_printf("%s %s %s%s%s", trace, run->codec, net,
                           run->options[0] != '\0' ? " " : "", run->options);
}

/* Groups runs by key into @cmps (in first-seen order). */
static void group_runs(GPtrArray *runs, gboolean is_base, GPtrArray *cmps, GHashTable *by_key)
{
    for (guint i = 0; i < runs->len; i++) {
        SvBenchRun *run = runs->pdata[i];
        RunCmp *c = g_hash_table_lookup(by_key, run->key);
        if (c == NULL) {
            c = g_new0(RunCmp, 1);
            c->key = g_strdup(run->key);
            c->label = run_label(run);
            c->status = is_base ? RUN_MISSING : RUN_NEW;
            c->base = g_ptr_array_new();
            c->new_runs = g_ptr_array_new();
            c->rows = g_array_new(FALSE, TRUE, sizeof(Row));
            g_array_set_clear_func(c->rows, row_clear);
            g_ptr_array_add(cmps, c);
            g_hash_table_insert(by_key, c->key, c);
        }
        g_ptr_array_add(is_base ? c->base : c->new_runs, run);
        if (!is_base && c->status == RUN_MISSING) {
            c->status = RUN_COMPARED;
        }
    }
}

static GArray *samples(GPtrArray *runs, const SvBenchMetric *m)
{
    GArray *v = g_array_new(FALSE, FALSE, sizeof(double));
    for (guint i = 0; i < runs->len; i++) {
        double x;
        if (sv_bench_run_get(runs->pdata[i], m, &x) && isfinite(x)) {
            g_array_append_val(v, x);
        }
    }
    return v;
}

static double mean_of(GArray *v)
{
    double s = 0;
    for (guint i = 0; i < v->len; i++) {
        s += g_array_index(v, double, i);
    }
    return v->len > 0 ? s / v->len : NAN;
}

/* +1 beyond the threshold for the better, -1 for the worse, 0 within. */
static int beyond(const Row *r)
{
    double gain = r->change * r->metric->better;
    double amount;
    if (r->thr.kind == THR_ABS) {
        amount = gain;
    } else if (r->base != 0) {
        amount = 100 * gain / fabs(r->base);
    } else {
        amount = gain == 0 ? 0 : copysign(INFINITY, gain);
    }
    double limit = r->thr.value + 1e-9 * MAX(1.0, r->thr.value);
    return amount > limit ? 1 : amount < -limit ? -1 : 0;
}

static void compare_metric(RunCmp *c, const SvBenchMetric *m, Thr thr, double psnr_change,
                           double psnr_thr)
{
    g_autoptr(GArray) vb = samples(c->base, m);
    g_autoptr(GArray) vn = samples(c->new_runs, m);
    if (vb->len == 0 && vn->len == 0) {
        return; /* e.g. wall time in deterministic runs */
    }
    Row r = {0};
    r.metric = m;
    r.thr = thr;
    r.n_base = vb->len;
    r.n_new = vn->len;
    r.base = mean_of(vb);
    r.new_value = mean_of(vn);
    r.change = r.new_value - r.base;
    r.change_pct = r.base != 0 ? 100 * r.change / fabs(r.base) : NAN;
    r.p_value = NAN;

    if (vb->len == 0 || vn->len == 0) {
        r.verdict = VERDICT_NONE;
        r.note = g_strdup(vb->len == 0 ? "absent in BASE" : "absent in NEW");
    } else if (thr.kind == THR_OFF) {
        r.verdict = VERDICT_NONE;
    } else if (m->noisy) {
        guint n = MIN(vb->len, vn->len);
        if (n < 2) {
            r.verdict = VERDICT_UNCHANGED;
            r.note = g_strdup_printf("noisy, %u sample%s", n, n == 1 ? "" : "s");
        } else {
            r.p_value = welch_p(&g_array_index(vb, double, 0), vb->len,
                                &g_array_index(vn, double, 0), vn->len);
            int b = beyond(&r);
            r.verdict = r.p_value < NOISY_P_MAX && b != 0
                            ? (b > 0 ? VERDICT_IMPROVED : VERDICT_REGRESSED)
                            : VERDICT_UNCHANGED;
            r.note = g_strdup_printf("Welch p=%.3g, n=%u/%u", r.p_value, vb->len, vn->len);
        }
    } else {
        int b = beyond(&r);
        r.verdict = b > 0 ? VERDICT_IMPROVED : b < 0 ? VERDICT_REGRESSED : VERDICT_UNCHANGED;
        /* Bit rate counts at equal quality: more bits for visibly more PSNR
         * is a trade, not a regression (and fewer bits for less PSNR). */
        if (strcmp(m->unit, "bit/s") == 0 && isfinite(psnr_change) && b != 0) {
            if (b < 0 && psnr_change >= psnr_thr - 1e-9) {
                r.verdict = VERDICT_UNCHANGED;
                r.note = g_strdup_printf("not at equal quality: PSNR %+.2f dB", psnr_change);
            } else if (b > 0 && psnr_change <= -psnr_thr + 1e-9) {
                r.verdict = VERDICT_UNCHANGED;
                r.note = g_strdup_printf("not at equal quality: PSNR %+.2f dB", psnr_change);
            }
        }
    }
    g_array_append_val(c->rows, r);
}

/* Formatting of values, changes and thresholds by unit. */
static char *fmt_value(const SvBenchMetric *m, double v)
{
    if (!isfinite(v)) {
        return g_strdup("-");
    }
    if (strcmp(m->unit, "bit/s") == 0) {
        if (fabs(v) >= 1e6) {
            return g_strdup_printf("%.2f Mb/s", v / 1e6);
        }
        return g_strdup_printf("%.1f kb/s", v / 1e3);
    }
    if (strcmp(m->unit, "dB") == 0) {
        return g_strdup_printf("%.2f dB", v);
    }
    if (strcmp(m->unit, "%") == 0) {
        return g_strdup_printf("%.1f %%", v);
    }
    if (strcmp(m->unit, "ms") == 0) {
        return g_strdup_printf("%.2f ms", v);
    }
    if (m->unit[0] == '\0' && m->json_path != NULL && strstr(m->json_path, "ssim") != NULL) {
        return g_strdup_printf("%.4f", v);
    }
    if (m->unit[0] == '\0') {
        return g_strdup_printf("%.4g", v);
    }
    return g_strdup_printf("%.2f %s", v, m->unit);
}

static char *fmt_change(const Row *r)
{
    const SvBenchMetric *m = r->metric;
    if (!isfinite(r->change)) {
        return g_strdup("-");
    }
    if (strcmp(m->unit, "dB") == 0) {
        return g_strdup_printf("%+.2f dB", r->change);
    }
    if (strcmp(m->unit, "%") == 0) {
        return g_strdup_printf("%+.1f pt", r->change);
    }
    if (m->unit[0] == '\0' && r->thr.kind == THR_ABS) {
        return g_strdup_printf("%+.4f", r->change);
    }
    if (r->thr.kind == THR_ABS || !isfinite(r->change_pct)) {
        return g_strdup_printf("%+.4g%s%s", r->change, m->unit[0] != '\0' ? " " : "", m->unit);
    }
    return g_strdup_printf("%+.1f %%", r->change_pct);
}

static char *fmt_threshold(const SvBenchMetric *m, Thr t)
{
    const char *worse = m->better > 0 ? "-" : "+";
    switch (t.kind) {
    case THR_OFF:
        return g_strdup("-");
    case THR_REL:
        return g_strdup_printf("%s%g %%", worse, t.value);
    case THR_ABS:
    default:
        if (strcmp(m->unit, "%") == 0) {
            return g_strdup_printf("%s%g pt", worse, t.value);
        }
        return g_strdup_printf("%s%g%s%s", worse, t.value, m->unit[0] != '\0' ? " " : "", m->unit);
    }
}

static char *fmt_verdict(const Row *r)
{
    if (r->note != NULL) {
        return g_strdup_printf("%s (%s)", verdict_names[r->verdict], r->note);
    }
    return g_strdup(verdict_names[r->verdict]);
}

typedef struct {
    guint compared, missing, added;
    guint regressed, improved, unchanged;
} Totals;

static Totals count(GPtrArray *cmps)
{
    Totals t = {0};
    for (guint i = 0; i < cmps->len; i++) {
        RunCmp *c = cmps->pdata[i];
        if (c->status == RUN_MISSING) {
            t.missing++;
            continue;
        }
        if (c->status == RUN_NEW) {
            t.added++;
            continue;
        }
        t.compared++;
        for (guint k = 0; k < c->rows->len; k++) {
            Verdict v = g_array_index(c->rows, Row, k).verdict;
            t.regressed += v == VERDICT_REGRESSED;
            t.improved += v == VERDICT_IMPROVED;
            t.unchanged += v == VERDICT_UNCHANGED;
        }
    }
    return t;
}

static char *summary_line(const Totals *t)
{
    return g_strdup_printf("%u run%s compared: %u regressed, %u improved, %u unchanged; "
                           "%u only in BASE (missing), %u only in NEW (new)",
                           t->compared, t->compared == 1 ? "" : "s", t->regressed, t->improved,
                           t->unchanged, t->missing, t->added);
}

/* The cells of one row: metric, base, new, change, threshold, verdict. */
#define N_CELLS 6
static void row_cells(const Row *r, char **cells)
{
    cells[0] = g_strdup(r->metric->name);
    cells[1] = fmt_value(r->metric, r->base);
    cells[2] = fmt_value(r->metric, r->new_value);
    cells[3] = fmt_change(r);
    cells[4] = fmt_threshold(r->metric, r->thr);
    cells[5] = fmt_verdict(r);
}

static void cells_free(char **cells)
{
    for (int i = 0; i < N_CELLS; i++) {
        g_free(cells[i]);
    }
}

static GString *format_table(GPtrArray *cmps, const char *base, const char *new_path)
{
    static const char *const head[N_CELLS] = {"metric", "base",      "new",
                                              "change", "threshold", "verdict"};
    int width[N_CELLS];
    for (int i = 0; i < N_CELLS; i++) {
        width[i] = (int)g_utf8_strlen(head[i], -1);
    }
    for (guint i = 0; i < cmps->len; i++) {
        RunCmp *c = cmps->pdata[i];
        for (guint k = 0; k < c->rows->len; k++) {
            char *cells[N_CELLS];
            row_cells(&g_array_index(c->rows, Row, k), cells);
            for (int j = 0; j < N_CELLS; j++) {
                width[j] = MAX(width[j], (int)g_utf8_strlen(cells[j], -1));
            }
            cells_free(cells);
        }
    }

    GString *out = g_string_new(NULL);
    g_string_append_printf(out, "spice-bench compare: BASE %s, NEW %s\n", base, new_path);
    for (guint i = 0; i < cmps->len; i++) {
        RunCmp *c = cmps->pdata[i];
        if (c->status != RUN_COMPARED) {
            g_string_append_printf(out, "\n%s  %s (only in %s)\n",
                                   c->status == RUN_MISSING ? "missing" : "new", c->label,
                                   c->status == RUN_MISSING ? "BASE" : "NEW");
            continue;
        }
        g_string_append_printf(out, "\nrun %s (%u/%u sample%s)\n", c->label, c->base->len,
                               c->new_runs->len, c->new_runs->len == 1 ? "" : "s");
        g_string_append(out, "    ");
        for (int j = 0; j < N_CELLS; j++) {
            gboolean right = j >= 1 && j <= 4;
            int pad = width[j] - (int)strlen(head[j]);
            g_string_append_printf(out, "%*s%s%*s", right ? pad : 0, "", head[j],
                                   j + 1 < N_CELLS ? (right ? 0 : pad) + 2 : 0, "");
        }
        g_string_append_c(out, '\n');
        for (guint k = 0; k < c->rows->len; k++) {
            const Row *r = &g_array_index(c->rows, Row, k);
            char *cells[N_CELLS];
            row_cells(r, cells);
            g_string_append(out, r->verdict == VERDICT_REGRESSED  ? "!!  "
                                 : r->verdict == VERDICT_IMPROVED ? " +  "
                                                                  : "    ");
            for (int j = 0; j < N_CELLS; j++) {
                /* Numbers right-aligned, names and verdicts left-aligned;
                 * padded by characters, not bytes. */
                gboolean right = j >= 1 && j <= 4;
                int pad = width[j] - (int)g_utf8_strlen(cells[j], -1);
                if (right) {
                    g_string_append_printf(out, "%*s", pad, "");
                }
                g_string_append(out, cells[j]);
                if (j + 1 < N_CELLS) {
                    g_string_append_printf(out, "%*s", (right ? 0 : pad) + 2, "");
                }
            }
            g_string_append_c(out, '\n');
            cells_free(cells);
        }
    }
    Totals t = count(cmps);
    g_autofree char *line = summary_line(&t);
    g_string_append_printf(out, "\n%s%s\n", t.regressed > 0 ? "REGRESSED: " : "", line);
    return out;
}

static void md_cell(GString *out, const char *text)
{
    g_string_append(out, " ");
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '|') {
            g_string_append(out, "\\|");
        } else if (*p == '\n') {
            g_string_append_c(out, ' ');
        } else {
            g_string_append_c(out, *p);
        }
    }
    g_string_append(out, " |");
}

static void md_rows(GString *out, GPtrArray *cmps, gboolean only_changes)
{
    g_string_append(out, "| Run | Metric | Base | New | Change | Threshold | Verdict |\n"
                         "|---|---|---:|---:|---:|---:|---|\n");
    for (guint i = 0; i < cmps->len; i++) {
        RunCmp *c = cmps->pdata[i];
        for (guint k = 0; k < c->rows->len; k++) {
            const Row *r = &g_array_index(c->rows, Row, k);
            if (only_changes && r->verdict != VERDICT_REGRESSED && r->verdict != VERDICT_IMPROVED) {
                continue;
            }
            char *cells[N_CELLS];
            row_cells(r, cells);
            g_string_append(out, "|");
            md_cell(out, c->label);
            for (int j = 0; j < N_CELLS - 1; j++) {
                md_cell(out, cells[j]);
            }
            g_autofree char *verdict = r->verdict == VERDICT_REGRESSED
                                           ? g_strdup_printf("**%s**", cells[5])
                                           : g_strdup(cells[5]);
            md_cell(out, verdict);
            g_string_append_c(out, '\n');
            cells_free(cells);
        }
    }
}

static GString *format_markdown(GPtrArray *cmps)
{
    Totals t = count(cmps);
    GString *out = g_string_new(NULL);
    g_autofree char *line = summary_line(&t);
    g_string_append_printf(out, "### spice-bench compare: %s\n\n%s.\n\n",
                           t.regressed > 0 ? "regressions" : "no regression", line);
    if (t.regressed + t.improved > 0) {
        g_string_append(out, "#### Changes beyond the thresholds\n\n");
        md_rows(out, cmps, TRUE);
        g_string_append(out, "\n");
    }
    for (guint i = 0; i < cmps->len; i++) {
        RunCmp *c = cmps->pdata[i];
        if (c->status != RUN_COMPARED) {
            g_string_append_printf(out, "- %s: `", c->status == RUN_MISSING ? "missing" : "new");
            for (const char *p = c->label; *p != '\0'; p++) {
                g_string_append_c(out, *p == '`' ? '\'' : *p);
            }
            g_string_append_printf(out, "` (only in %s)\n",
                                   c->status == RUN_MISSING ? "BASE" : "NEW");
        }
    }
    if (t.missing + t.added > 0) {
        g_string_append(out, "\n");
    }
    g_string_append(out, "<details><summary>All metrics</summary>\n\n");
    md_rows(out, cmps, FALSE);
    g_string_append(out, "\n</details>\n");
    return out;
}

/* Escapes for XML 1.0 attributes and text; drops the characters XML cannot hold. */
static void xml_text(GString *out, const char *text)
{
    g_autofree char *valid = g_utf8_make_valid(text, -1);
    for (const char *p = valid; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        switch (ch) {
        case '&':
            g_string_append(out, "&amp;");
            break;
        case '<':
            g_string_append(out, "&lt;");
            break;
        case '>':
            g_string_append(out, "&gt;");
            break;
        case '"':
            g_string_append(out, "&quot;");
            break;
        case '\'':
            g_string_append(out, "&apos;");
            break;
        case '\n':
            g_string_append(out, "&#10;");
            break;
        case '\t':
            g_string_append(out, "&#9;");
            break;
        default:
            if (ch >= 0x20) {
                g_string_append_c(out, (char)ch);
            }
        }
    }
}

static GString *format_junit(GPtrArray *cmps)
{
    Totals t = count(cmps);
    guint tests = 0;
    for (guint i = 0; i < cmps->len; i++) {
        RunCmp *c = cmps->pdata[i];
        tests += c->status == RUN_COMPARED ? c->rows->len : 1;
    }
    GString *out = g_string_new("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    g_string_append_printf(out,
                           "<testsuites name=\"spice-bench compare\" tests=\"%u\" failures=\"%u\" "
                           "errors=\"0\" skipped=\"%u\">\n",
                           tests, t.regressed, t.missing + t.added);
    for (guint i = 0; i < cmps->len; i++) {
        RunCmp *c = cmps->pdata[i];
        guint failures = 0;
        for (guint k = 0; k < c->rows->len; k++) {
            failures += g_array_index(c->rows, Row, k).verdict == VERDICT_REGRESSED;
        }
        g_string_append(out, "  <testsuite name=\"");
        xml_text(out, c->label);
        g_string_append_printf(out,
                               "\" tests=\"%u\" failures=\"%u\" errors=\"0\" skipped=\"%u\">\n",
                               c->status == RUN_COMPARED ? c->rows->len : 1, failures,
                               c->status == RUN_COMPARED ? 0 : 1);
        if (c->status != RUN_COMPARED) {
            g_string_append(out, "    <testcase classname=\"");
            xml_text(out, c->label);
            g_string_append_printf(out,
                                   "\" name=\"run\">\n      <skipped message=\"%s\"/>\n"
                                   "    </testcase>\n",
                                   c->status == RUN_MISSING ? "missing: only in BASE"
                                                            : "new: only in NEW");
        }
        for (guint k = 0; c->status == RUN_COMPARED && k < c->rows->len; k++) {
            const Row *r = &g_array_index(c->rows, Row, k);
            g_string_append(out, "    <testcase classname=\"");
            xml_text(out, c->label);
            g_string_append(out, "\" name=\"");
            xml_text(out, r->metric->name);
            char *cells[N_CELLS];
            row_cells(r, cells);
            if (r->verdict != VERDICT_REGRESSED) {
                g_string_append(out, "\">\n      <system-out>");
                g_autofree char *text =
                    g_strdup_printf("%s -> %s (%s), %s", cells[1], cells[2], cells[3], cells[5]);
                xml_text(out, text);
                g_string_append(out, "</system-out>\n    </testcase>\n");
            } else {
                g_string_append(out, "\">\n      <failure type=\"regression\" message=\"");
                g_autofree char *msg =
                    g_strdup_printf("%s regressed: %s -> %s (%s, threshold %s)", r->metric->name,
                                    cells[1], cells[2], cells[3], cells[4]);
                xml_text(out, msg);
                g_string_append(out, "\">");
                g_autofree char *body = g_strdup_printf(
                    "run: %s\nkey: %s\nmetric: %s (%s)\nbase: %s (%u sample%s)\nnew: %s (%u "
                    "sample%s)\nchange: %s\nthreshold: %s\n%s%s",
                    c->label, c->key, r->metric->name,
                    r->metric->help != NULL ? r->metric->help : "", cells[1], r->n_base,
                    r->n_base == 1 ? "" : "s", cells[2], r->n_new, r->n_new == 1 ? "" : "s",
                    cells[3], cells[4], r->note != NULL ? "note: " : "",
                    r->note != NULL ? r->note : "");
                xml_text(out, body);
                g_string_append(out, "</failure>\n    </testcase>\n");
            }
            cells_free(cells);
        }
        g_string_append(out, "  </testsuite>\n");
    }
    g_string_append(out, "</testsuites>\n");
    return out;
}

static GString *format_json(GPtrArray *cmps, const char *base, const char *new_path,
                            const Thr *thresholds)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    Totals t = count(cmps);
    json_builder_begin_object(b);
    builder_string(b, "schema", COMPARE_SCHEMA);
    builder_string(b, "base", base);
    builder_string(b, "new", new_path);
    json_builder_set_member_name(b, "thresholds");
    json_builder_begin_object(b);
    const SvBenchMetric *metrics = sv_bench_metrics();
    for (guint i = 0; metrics[i].name != NULL; i++) {
        g_autofree char *s = fmt_threshold(&metrics[i], thresholds[i]);
        builder_string(b, metrics[i].name, thresholds[i].kind == THR_OFF ? NULL : s);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "summary");
    json_builder_begin_object(b);
    builder_number(b, "compared", t.compared);
    builder_number(b, "regressed", t.regressed);
    builder_number(b, "improved", t.improved);
    builder_number(b, "unchanged", t.unchanged);
    builder_number(b, "missing", t.missing);
    builder_number(b, "new", t.added);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "runs");
    json_builder_begin_array(b);
    for (guint i = 0; i < cmps->len; i++) {
        RunCmp *c = cmps->pdata[i];
        json_builder_begin_object(b);
        builder_string(b, "key", c->key);
        builder_string(b, "label", c->label);
        builder_string(b, "status",
                       c->status == RUN_COMPARED  ? "compared"
                       : c->status == RUN_MISSING ? "missing"
                                                  : "new");
        builder_number(b, "base_samples", c->base->len);
        builder_number(b, "new_samples", c->new_runs->len);
        json_builder_set_member_name(b, "metrics");
        json_builder_begin_array(b);
        for (guint k = 0; k < c->rows->len; k++) {
            const Row *r = &g_array_index(c->rows, Row, k);
            g_autofree char *thr = fmt_threshold(r->metric, r->thr);
            json_builder_begin_object(b);
            builder_string(b, "metric", r->metric->name);
            builder_string(b, "unit", r->metric->unit);
            builder_number(b, "base", r->base);
            builder_number(b, "new", r->new_value);
            builder_number(b, "change", r->change);
            builder_number(b, "change_pct", r->change_pct);
            builder_string(b, "threshold", r->thr.kind == THR_OFF ? NULL : thr);
            builder_number(b, "p_value", r->p_value);
            builder_string(b, "verdict",
                           r->verdict == VERDICT_NONE ? NULL : verdict_names[r->verdict]);
            builder_string(b, "note", r->note);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    return builder_to_text(b);
}

static void compare_usage(FILE *out)
{
    fputs("Usage: spice-bench compare BASE NEW [--threshold METRIC=VALUE]... [--matrix FILE]\n"
          "                           [--format table|markdown|junit|json] [-o FILE]\n"
          "\n"
          "Compares two result sets run by run (matched on trace, codec, net and options)\n"
          "and metric by metric. BASE and NEW are each a directory written by\n"
          "'spice-bench matrix' (index.json), a directory of replay JSON files, or one\n"
          "replay JSON file. Repeats of a run are its samples.\n"
          "\n"
          "Verdicts: improved, unchanged or regressed against a per-metric threshold\n"
          "(defaults: PSNR -0.3 dB, SSIM -0.005, frame fates 1 point of frames, latency and\n"
          "times +10 %, bit rates +5 % at equal quality, other rates 5 %). Noisy metrics\n"
          "(wall and CPU time) need a change beyond the threshold and Welch's t-test\n"
          "p < 0.05 over the repeats; with a single sample they stay unchanged.\n"
          "\n"
          "  --threshold METRIC=VALUE  override a threshold: a number in the metric's unit\n"
          "                            (points for %), a number with % (relative to BASE),\n"
          "                            or off (repeatable)\n"
          "  --matrix FILE             read the \"thresholds\" object of a matrix file\n"
          "                            (--threshold wins)\n"
          "  --format F                table (default), markdown, junit or json\n"
          "  -o, --output FILE         write there (via FILE.tmp) instead of stdout\n"
          "  -h, --help                show this help\n"
          "\n"
          "Exit status: 0 nothing regressed, 1 something regressed, 2 bad input.\n",
          out);
}

int sv_bench_compare_main(int argc, char **argv)
{
    const char *paths[2] = {NULL, NULL};
    guint n_paths = 0;
    const char *format = "table";
    const char *output = NULL;
    const char *matrix = NULL;
    g_autoptr(GPtrArray) overrides = g_ptr_array_new();

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            compare_usage(stdout);
            return 0;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (n_paths == 2) {
                fprintf(stderr,
                        "spice-bench: compare takes two result sets, BASE and NEW ('%s' "
                        "is a third)\n",
                        a);
                return EXIT_USAGE;
            }
            paths[n_paths++] = a;
            continue;
        }
        if (strcmp(a, "--threshold") != 0 && strcmp(a, "--format") != 0 && strcmp(a, "-o") != 0 &&
            strcmp(a, "--output") != 0 && strcmp(a, "--matrix") != 0) {
            fprintf(stderr,
                    "spice-bench: unknown option '%s' for compare (see spice-bench "
                    "compare --help)\n",
                    a);
            return EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "spice-bench: %s needs a value\n", a);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--threshold") == 0) {
            g_ptr_array_add(overrides, (gpointer)v);
        } else if (strcmp(a, "--format") == 0) {
            if (strcmp(v, "table") != 0 && strcmp(v, "markdown") != 0 && strcmp(v, "junit") != 0 &&
                strcmp(v, "json") != 0) {
                fprintf(stderr,
                        "spice-bench: --format: '%s', expected table, markdown, junit or json\n",
                        v);
                return EXIT_USAGE;
            }
            format = v;
        } else if (strcmp(a, "--matrix") == 0) {
            matrix = v;
        } else {
            output = v;
        }
    }
    if (n_paths != 2) {
        fprintf(stderr,
                "spice-bench: compare needs BASE and NEW (see spice-bench compare --help)\n");
        return EXIT_USAGE;
    }

    guint n_metrics = metric_count();
    g_autofree Thr *thresholds = g_new0(Thr, n_metrics);
    for (guint i = 0; i < n_metrics; i++) {
        thresholds[i] = default_threshold(&sv_bench_metrics()[i]);
    }
    if (matrix != NULL && !read_matrix_thresholds(matrix, thresholds)) {
        return EXIT_USAGE;
    }
    for (guint i = 0; i < overrides->len; i++) {
        const char *o = overrides->pdata[i];
        const char *eq = strchr(o, '=');
        if (eq == NULL || eq == o) {
            fprintf(stderr, "spice-bench: --threshold: '%s', expected METRIC=VALUE\n", o);
            return EXIT_USAGE;
        }
        g_autofree char *name = g_strndup(o, (gsize)(eq - o));
        if (!set_threshold(thresholds, name, eq + 1, "--threshold")) {
            return EXIT_USAGE;
        }
    }

    g_autoptr(GPtrArray) base_runs = load_side(paths[0]);
    if (base_runs == NULL) {
        return EXIT_USAGE;
    }
    g_autoptr(GPtrArray) new_runs = load_side(paths[1]);
    if (new_runs == NULL) {
        return EXIT_USAGE;
    }

    g_autoptr(GPtrArray) cmps = g_ptr_array_new_with_free_func(run_cmp_free);
    g_autoptr(GHashTable) by_key = g_hash_table_new(g_str_hash, g_str_equal);
    group_runs(base_runs, TRUE, cmps, by_key);
    group_runs(new_runs, FALSE, cmps, by_key);

    const SvBenchMetric *psnr = sv_bench_metric_find("psnr_mean");
    double psnr_thr = psnr != NULL && thresholds[psnr - sv_bench_metrics()].kind == THR_ABS
                          ? thresholds[psnr - sv_bench_metrics()].value
                          : 0.3;
    for (guint i = 0; i < cmps->len; i++) {
        RunCmp *c = cmps->pdata[i];
        if (c->status != RUN_COMPARED) {
            continue;
        }
        double psnr_change = NAN;
        if (psnr != NULL) {
            g_autoptr(GArray) pb = samples(c->base, psnr);
            g_autoptr(GArray) pn = samples(c->new_runs, psnr);
            psnr_change = mean_of(pn) - mean_of(pb);
        }
        for (guint k = 0; k < n_metrics; k++) {
            compare_metric(c, &sv_bench_metrics()[k], thresholds[k], psnr_change, psnr_thr);
        }
    }

    g_autoptr(GString) text = NULL;
    if (strcmp(format, "markdown") == 0) {
        text = format_markdown(cmps);
    } else if (strcmp(format, "junit") == 0) {
        text = format_junit(cmps);
    } else if (strcmp(format, "json") == 0) {
        text = format_json(cmps, paths[0], paths[1], thresholds);
    } else {
        text = format_table(cmps, paths[0], paths[1]);
    }
    if (!write_output(output, text)) {
        return 1;
    }
    Totals t = count(cmps);
    return t.regressed > 0 ? 1 : 0;
}

/* ------------------------------------------------------------------------ */
/* rd */

typedef struct {
    double setting; /* Mbit/s, or JPEG quality */
    double video_bps;
    double psnr;
    double ssim;
    double shown, frames;
    char *encoder;
} RdPoint;

typedef struct {
    char *codec;
    gboolean by_quality;
    GArray *points; /* RdPoint */
} RdCurve;

static void rd_point_clear(gpointer p)
{
    g_free(((RdPoint *)p)->encoder);
}

static void rd_curve_free(gpointer p)
{
    RdCurve *c = p;
    g_free(c->codec);
    g_array_unref(c->points);
    g_free(c);
}

static RdCurve *rd_curve_new(const char *codec, gboolean by_quality)
{
    RdCurve *c = g_new0(RdCurve, 1);
    c->codec = g_strdup(codec);
    c->by_quality = by_quality;
    c->points = g_array_new(FALSE, TRUE, sizeof(RdPoint));
    g_array_set_clear_func(c->points, rd_point_clear);
    return c;
}

/* The usable points of @c for BD-rate, pruned of dominated ones unless
 * @strict; @dropped gets how many were left out. */
static SvBdPoint *curve_bd_points(const RdCurve *c, gboolean strict, guint *n_out, guint *dropped)
{
    SvBdPoint *p = g_new0(SvBdPoint, MAX(c->points->len, 1));
    guint n = 0;
    for (guint i = 0; i < c->points->len; i++) {
        const RdPoint *r = &g_array_index(c->points, RdPoint, i);
        if (isfinite(r->video_bps) && r->video_bps > 0 && isfinite(r->psnr)) {
            p[n++] = (SvBdPoint){r->video_bps, r->psnr};
        }
    }
    if (!strict) {
        n = sv_bd_prune(p, n);
    }
    *dropped = c->points->len - n;
    *n_out = n;
    return p;
}

typedef struct {
    gboolean ok;
    double rate_pct;
    double psnr_db;
    char *error;
} BdResult;

static BdResult bd_between(const RdCurve *a, const RdCurve *b, gboolean strict)
{
    BdResult r = {FALSE, NAN, NAN, NULL};
    guint na, nb, da, db;
    g_autofree SvBdPoint *pa = curve_bd_points(a, strict, &na, &da);
    g_autofree SvBdPoint *pb = curve_bd_points(b, strict, &nb, &db);
    g_autoptr(GError) error = NULL;
    if (!sv_bd_rate(pa, na, pb, nb, &r.rate_pct, &error)) {
        /* Name the curves instead of A and B. */
        g_autofree char *msg = g_strdup(error->message);
        g_autofree char *named = NULL;
        if (g_str_has_prefix(msg, "curve A")) {
            named = g_strdup_printf("curve %s%s", a->codec, msg + 7);
        } else if (g_str_has_prefix(msg, "curve B")) {
            named = g_strdup_printf("curve %s%s", b->codec, msg + 7);
        } else {
            named = g_strdup(msg);
        }
        if (error->code == SV_BD_ERROR_TOO_FEW && (da > 0 || db > 0)) {
            r.error = g_strdup_printf("%s (after leaving out %u dominated or empty point%s)", named,
                                      da > 0 ? da : db, (da > 0 ? da : db) == 1 ? "" : "s");
        } else {
            r.error = g_steal_pointer(&named);
        }
        return r;
    }
    /* BD-PSNR needs overlapping rates, which BD-rate does not: optional. */
    if (!sv_bd_psnr(pa, na, pb, nb, &r.psnr_db, NULL)) {
        r.psnr_db = NAN;
    }
    r.ok = TRUE;
    return r;
}

static gboolean parse_list(const char *opt, const char *text, double min, double max, GArray *out)
{
    g_auto(GStrv) parts = g_strsplit(text, ",", -1);
    for (guint i = 0; parts[i] != NULL; i++) {
        double v;
        g_strstrip(parts[i]);
        if (!parse_number(parts[i], &v) || v < min || v > max) {
            fprintf(stderr, "spice-bench: %s: '%s' is not a number from %g to %g\n", opt, parts[i],
                    min, max);
            return FALSE;
        }
        g_array_append_val(out, v);
    }
    if (out->len == 0) {
        fprintf(stderr, "spice-bench: %s: empty list\n", opt);
        return FALSE;
    }
    return TRUE;
}

static char *fmt_bps(double v)
{
    if (!isfinite(v)) {
        return g_strdup("-");
    }
    return v >= 1e6 ? g_strdup_printf("%.2f Mb/s", v / 1e6) : g_strdup_printf("%.1f kb/s", v / 1e3);
}

static char *fmt_setting(const RdCurve *c, double setting)
{
    return c->by_quality ? g_strdup_printf("q %g", setting) : g_strdup_printf("%g Mbit/s", setting);
}

static void rd_usage(FILE *out)
{
    fputs("Usage: spice-bench rd TRACE [--codecs LIST] [--rates LIST] [--qualities LIST]\n"
          "                      [--net SPEC] [--duration S] [--json FILE]\n"
          "\n"
          "Rate-distortion sweep: replays TRACE (deterministic) once per point and\n"
          "collects (video bit rate, mean PSNR-Y, mean SSIM-Y) per codec; prints the\n"
          "points and the BD-rate of every codec against the first one.\n"
          "\n"
          "  --codecs LIST      mjpeg, h264, vp8, vp9, h265 (default h264,vp8,mjpeg)\n"
          "  --rates LIST       streaming codecs: one run per starting bit rate in\n"
          "                     Mibit/s, rate control off (default 0.5,1,2,4,8)\n"
          "  --qualities LIST   mjpeg: one run per JPEG quality (default 20,40,60,80)\n"
          "  --net SPEC         network (default lan)\n"
          "  --duration S       replay only the first S seconds\n"
          "  --json FILE        write the curves (schema " RD_SCHEMA ", for bd-rate)\n"
          "  -h, --help         show this help\n"
          "\n"
          "BD-rate needs at least 4 points per curve; points another point beats\n"
          "(no more bits for no less PSNR) are left out.\n"
          "Exit status: 0 done, 2 bad input, 1 a replay failed.\n",
          out);
}

static int rd_run_point(const char *trace, const char *codec, const char *net, double duration,
                        gboolean by_quality, double setting, const char *json_path, RdPoint *pt)
{
    SvReplayConfig cfg;
    sv_replay_config_init(&cfg);
    cfg.trace_path = trace;
    cfg.codec = codec;
    cfg.net = net;
    cfg.deterministic = TRUE;
    cfg.json_path = json_path;
    cfg.max_duration_ns = (int64_t)(duration * 1e9);
    if (by_quality) {
        cfg.fixed_quality = (int)setting;
    } else {
        cfg.bit_rate_mbps = setting;
        cfg.no_rate_control = TRUE;
    }
    g_autoptr(GError) error = NULL;
    if (!sv_replay_run(&cfg, NULL, &error)) {
        fprintf(stderr, "spice-bench: rd: %s at %s %g: %s\n", codec,
                by_quality ? "quality" : "rate", setting, error->message);
        gboolean bad_input =
            (error->domain == SV_REPLAY_ERROR && error->code == SV_REPLAY_ERROR_BAD_INPUT) ||
            error->domain == SV_TRACE_ERROR;
        return bad_input ? EXIT_USAGE : 1;
    }
    g_autoptr(JsonNode) root = read_json_file(json_path, &error);
    g_unlink(json_path);
    if (root == NULL) {
        fprintf(stderr, "spice-bench: rd: %s\n", error->message);
        return 1;
    }
    pt->setting = setting;
    pt->video_bps = json_number(root, "bitrate.video_mean_bps");
    pt->psnr = json_number(root, "quality.psnr_y_db.mean");
    pt->ssim = json_number(root, "quality.ssim_y.mean");
    pt->shown = json_number(root, "frames.shown");
    pt->frames = json_number(root, "frames.stream_frames");
    JsonNode *neg = json_at(root, "encoder.negotiated");
    if (neg != NULL && JSON_NODE_HOLDS_ARRAY(neg)) {
        JsonArray *arr = json_node_get_array(neg);
        GString *enc = g_string_new(NULL);
        for (guint i = 0; i < json_array_get_length(arr); i++) {
            JsonNode *e = json_array_get_element(arr, i);
            JsonNode *name = json_at(e, "encoder");
            JsonNode *cod = json_at(e, "codec");
            if (name == NULL || cod == NULL || json_node_get_value_type(name) != G_TYPE_STRING ||
                json_node_get_value_type(cod) != G_TYPE_STRING) {
                continue;
            }
            if (g_ascii_strcasecmp(json_node_get_string(cod), codec) != 0) {
                /* Another codec's frames would not be this curve's. */
                fprintf(stderr, "spice-bench: rd: %s at %s %g: the streams used %s (%s)\n", codec,
                        by_quality ? "quality" : "rate", setting, json_node_get_string(cod),
                        json_node_get_string(name));
                g_string_free(enc, TRUE);
                return 1;
            }
            g_string_append_printf(enc, "%s%s", enc->len > 0 ? "," : "",
                                   json_node_get_string(name));
        }
        pt->encoder = g_string_free(enc, FALSE);
    }
    return 0;
}

static void rd_write_table(GString *out, GPtrArray *curves, GPtrArray *bd)
{
    g_string_append_printf(out, "%-6s  %-12s  %14s  %9s  %7s  %7s  %s\n", "codec", "setting",
                           "video bitrate", "PSNR-Y", "SSIM-Y", "shown", "encoder");
    for (guint i = 0; i < curves->len; i++) {
        RdCurve *c = curves->pdata[i];
        for (guint k = 0; k < c->points->len; k++) {
            RdPoint *p = &g_array_index(c->points, RdPoint, k);
            g_autofree char *setting = fmt_setting(c, p->setting);
            g_autofree char *rate = fmt_bps(p->video_bps);
            g_autofree char *psnr =
                isfinite(p->psnr) ? g_strdup_printf("%.2f dB", p->psnr) : g_strdup("-");
            g_autofree char *ssim =
                isfinite(p->ssim) ? g_strdup_printf("%.4f", p->ssim) : g_strdup("-");
            g_autofree char *shown = g_strdup_printf("%.0f/%.0f", p->shown, p->frames);
            g_string_append_printf(out, "%-6s  %-12s  %14s  %9s  %7s  %7s  %s\n", c->codec, setting,
                                   rate, psnr, ssim, shown,
                                   p->encoder != NULL && p->encoder[0] != '\0' ? p->encoder : "-");
        }
    }
    if (curves->len < 2) {
        return;
    }
    RdCurve *anchor = curves->pdata[0];
    g_string_append_printf(out, "\nBD-rate against %s (video bit rate vs PSNR-Y, PCHIP):\n",
                           anchor->codec);
    for (guint i = 1; i < curves->len; i++) {
        RdCurve *c = curves->pdata[i];
        BdResult *r = bd->pdata[i - 1];
        if (r->ok) {
            g_autofree char *bd_psnr = isfinite(r->psnr_db)
                                           ? g_strdup_printf("%+.2f dB", r->psnr_db)
                                           : g_strdup("n/a: rates do not overlap");
            g_string_append_printf(out, "  %-6s %+.2f %% bits (BD-PSNR %s)\n", c->codec,
                                   r->rate_pct, bd_psnr);
        } else {
            g_string_append_printf(out, "  %-6s n/a: %s\n", c->codec, r->error);
        }
    }
}

static void bd_result_free(gpointer p)
{
    BdResult *r = p;
    g_free(r->error);
    g_free(r);
}

static GString *rd_json(const char *trace, const char *net, double duration, GPtrArray *curves,
                        GPtrArray *bd)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    builder_string(b, "schema", RD_SCHEMA);
    builder_string(b, "trace", trace);
    builder_string(b, "net", net != NULL ? net : "lan");
    builder_number(b, "duration_s", duration > 0 ? duration : NAN);
    builder_string(b, "quality_metric", "psnr_y_db.mean");
    builder_string(b, "rate_metric", "video_mean_bps");
    json_builder_set_member_name(b, "curves");
    json_builder_begin_array(b);
    for (guint i = 0; i < curves->len; i++) {
        RdCurve *c = curves->pdata[i];
        json_builder_begin_object(b);
        builder_string(b, "codec", c->codec);
        builder_string(b, "setting", c->by_quality ? "jpeg_quality" : "bit_rate_mbps");
        json_builder_set_member_name(b, "points");
        json_builder_begin_array(b);
        for (guint k = 0; k < c->points->len; k++) {
            RdPoint *p = &g_array_index(c->points, RdPoint, k);
            json_builder_begin_object(b);
            builder_number(b, c->by_quality ? "jpeg_quality" : "bit_rate_mbps", p->setting);
            builder_number(b, "video_bps", p->video_bps);
            builder_number(b, "psnr_db", p->psnr);
            builder_number(b, "ssim", p->ssim);
            builder_number(b, "shown", p->shown);
            builder_number(b, "stream_frames", p->frames);
            builder_string(b, "encoder", p->encoder);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "bd_rate");
    json_builder_begin_array(b);
    for (guint i = 1; i < curves->len; i++) {
        BdResult *r = bd->pdata[i - 1];
        json_builder_begin_object(b);
        builder_string(b, "anchor", ((RdCurve *)curves->pdata[0])->codec);
        builder_string(b, "codec", ((RdCurve *)curves->pdata[i])->codec);
        builder_number(b, "bd_rate_pct", r->rate_pct);
        builder_number(b, "bd_psnr_db", r->psnr_db);
        builder_string(b, "error", r->error);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    return builder_to_text(b);
}

int sv_bench_rd_main(int argc, char **argv)
{
    const char *trace = NULL;
    const char *codecs = "h264,vp8,mjpeg";
    const char *net = NULL;
    const char *json_path = NULL;
    double duration = 0;
    g_autoptr(GArray) rates = g_array_new(FALSE, FALSE, sizeof(double));
    g_autoptr(GArray) qualities = g_array_new(FALSE, FALSE, sizeof(double));

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            rd_usage(stdout);
            return 0;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (trace != NULL) {
                fprintf(stderr, "spice-bench: rd takes one trace ('%s' and '%s' given)\n", trace,
                        a);
                return EXIT_USAGE;
            }
            trace = a;
            continue;
        }
        static const char *const with_value[] = {"--codecs", "--rates",    "--qualities",
                                                 "--net",    "--duration", "--json"};
        gboolean known = FALSE;
        for (guint k = 0; k < G_N_ELEMENTS(with_value); k++) {
            known = known || strcmp(a, with_value[k]) == 0;
        }
        if (!known) {
            fprintf(stderr, "spice-bench: unknown option '%s' for rd (see spice-bench rd --help)\n",
                    a);
            return EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "spice-bench: %s needs a value\n", a);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--codecs") == 0) {
            codecs = v;
        } else if (strcmp(a, "--rates") == 0) {
            g_array_set_size(rates, 0);
            if (!parse_list(a, v, 0.001, 1e6, rates)) {
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--qualities") == 0) {
            g_array_set_size(qualities, 0);
            if (!parse_list(a, v, 1, 100, qualities)) {
                return EXIT_USAGE;
            }
            for (guint k = 0; k < qualities->len; k++) {
                double q = g_array_index(qualities, double, k);
                if (q != floor(q)) {
                    fprintf(stderr, "spice-bench: --qualities: %g is not an integer\n", q);
                    return EXIT_USAGE;
                }
            }
        } else if (strcmp(a, "--net") == 0) {
            net = v;
        } else if (strcmp(a, "--duration") == 0) {
            if (!parse_number(v, &duration) || duration <= 0) {
                fprintf(stderr, "spice-bench: --duration: '%s' is not a number > 0\n", v);
                return EXIT_USAGE;
            }
        } else {
            json_path = v;
        }
    }
    if (trace == NULL) {
        fprintf(stderr, "spice-bench: rd needs a trace (see spice-bench rd --help)\n");
        return EXIT_USAGE;
    }
    if (rates->len == 0) {
        static const double defaults[] = {0.5, 1, 2, 4, 8};
        g_array_append_vals(rates, defaults, G_N_ELEMENTS(defaults));
    }
    if (qualities->len == 0) {
        static const double defaults[] = {20, 40, 60, 80};
        g_array_append_vals(qualities, defaults, G_N_ELEMENTS(defaults));
    }
    g_auto(GStrv) names = g_strsplit(codecs, ",", -1);
    static const char *const known_codecs[] = {"mjpeg", "h264", "vp8", "vp9", "h265"};
    for (guint i = 0; names[i] != NULL; i++) {
        g_strstrip(names[i]);
        gboolean ok = FALSE;
        for (guint k = 0; k < G_N_ELEMENTS(known_codecs); k++) {
            ok = ok || strcmp(names[i], known_codecs[k]) == 0;
        }
        if (!ok) {
            fprintf(stderr, "spice-bench: --codecs: '%s', expected mjpeg, h264, vp8, vp9 or h265\n",
                    names[i]);
            return EXIT_USAGE;
        }
        for (guint k = 0; k < i; k++) {
            if (strcmp(names[k], names[i]) == 0) {
                fprintf(stderr, "spice-bench: --codecs: %s is listed twice\n", names[i]);
                return EXIT_USAGE;
            }
        }
    }
    if (names[0] == NULL) {
        fprintf(stderr, "spice-bench: --codecs: empty list\n");
        return EXIT_USAGE;
    }
    if (!g_file_test(trace, G_FILE_TEST_IS_REGULAR)) {
        fprintf(stderr, "spice-bench: %s: no such trace file\n", trace);
        return EXIT_USAGE;
    }

    g_autoptr(GError) error = NULL;
    g_autofree char *tmpdir = g_dir_make_tmp("spice-bench-rd-XXXXXX", &error);
    if (tmpdir == NULL) {
        fprintf(stderr, "spice-bench: rd: %s\n", error->message);
        return 1;
    }
    g_autofree char *tmp_json = g_build_filename(tmpdir, "run.json", NULL);
    g_autoptr(GPtrArray) curves = g_ptr_array_new_with_free_func(rd_curve_free);
    int status = 0;
    gboolean progress = isatty(STDERR_FILENO);
    for (guint i = 0; names[i] != NULL && status == 0; i++) {
        gboolean by_quality = strcmp(names[i], "mjpeg") == 0;
        GArray *settings = by_quality ? qualities : rates;
        RdCurve *c = rd_curve_new(names[i], by_quality);
        g_ptr_array_add(curves, c);
        for (guint k = 0; k < settings->len && status == 0; k++) {
            double s = g_array_index(settings, double, k);
            if (progress) {
                g_autofree char *setting = fmt_setting(c, s);
                fprintf(stderr, "\rspice-bench: rd: %s %s...        ", names[i], setting);
            }
            RdPoint pt = {0};
            status = rd_run_point(trace, names[i], net, duration, by_quality, s, tmp_json, &pt);
            if (status == 0) {
                g_array_append_val(c->points, pt);
            }
        }
    }
    if (progress) {
        fprintf(stderr, "\r%60s\r", "");
    }
    g_unlink(tmp_json);
    g_rmdir(tmpdir);
    if (status != 0) {
        return status;
    }

    g_autoptr(GPtrArray) bd = g_ptr_array_new_with_free_func(bd_result_free);
    for (guint i = 1; i < curves->len; i++) {
        BdResult *r = g_new0(BdResult, 1);
        *r = bd_between(curves->pdata[0], curves->pdata[i], FALSE);
        g_ptr_array_add(bd, r);
    }
    g_autoptr(GString) table = g_string_new(NULL);
    rd_write_table(table, curves, bd);
    fwrite(table->str, 1, table->len, stdout);
    if (json_path != NULL) {
        g_autoptr(GString) doc = rd_json(trace, net, duration, curves, bd);
        if (!write_output(json_path, doc)) {
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* bd-rate */

/* Reads the curves of an rd JSON file. */
static GPtrArray *load_rd(const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(JsonNode) root = read_json_file(path, &error);
    if (root == NULL) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        return NULL;
    }
    JsonNode *schema = json_at(root, "schema");
    if (schema == NULL || json_node_get_value_type(schema) != G_TYPE_STRING ||
        strcmp(json_node_get_string(schema), RD_SCHEMA) != 0) {
        fprintf(stderr,
                "spice-bench: %s: expected \"schema\": \"" RD_SCHEMA "\" (spice-bench rd "
                "--json)\n",
                path);
        return NULL;
    }
    JsonNode *cs = json_at(root, "curves");
    if (cs == NULL || !JSON_NODE_HOLDS_ARRAY(cs)) {
        fprintf(stderr, "spice-bench: %s: expected a \"curves\" array\n", path);
        return NULL;
    }
    g_autoptr(GPtrArray) curves = g_ptr_array_new_with_free_func(rd_curve_free);
    JsonArray *arr = json_node_get_array(cs);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *e = json_array_get_element(arr, i);
        JsonNode *codec = json_at(e, "codec");
        JsonNode *pts = json_at(e, "points");
        if (codec == NULL || json_node_get_value_type(codec) != G_TYPE_STRING || pts == NULL ||
            !JSON_NODE_HOLDS_ARRAY(pts)) {
            fprintf(stderr, "spice-bench: %s: curve %u: expected \"codec\" and \"points\"\n", path,
                    i);
            return NULL;
        }
        RdCurve *c = rd_curve_new(json_node_get_string(codec), FALSE);
        g_ptr_array_add(curves, c);
        JsonArray *pa = json_node_get_array(pts);
        for (guint k = 0; k < json_array_get_length(pa); k++) {
            JsonNode *p = json_array_get_element(pa, k);
            RdPoint pt = {0};
            pt.video_bps = JSON_NODE_HOLDS_OBJECT(p) ? json_number(p, "video_bps") : NAN;
            pt.psnr = JSON_NODE_HOLDS_OBJECT(p) ? json_number(p, "psnr_db") : NAN;
            g_array_append_val(c->points, pt);
        }
    }
    if (curves->len == 0) {
        fprintf(stderr, "spice-bench: %s: no curves\n", path);
        return NULL;
    }
    return g_steal_pointer(&curves);
}

static RdCurve *pick_curve(GPtrArray *curves, const char *path, const char *codec,
                           const char *which)
{
    if (codec == NULL) {
        if (curves->len == 1) {
            return curves->pdata[0];
        }
        GString *list = g_string_new(NULL);
        for (guint i = 0; i < curves->len; i++) {
            g_string_append_printf(list, "%s%s", i > 0 ? ", " : "",
                                   ((RdCurve *)curves->pdata[i])->codec);
        }
        fprintf(stderr, "spice-bench: %s has %u curves (%s): choose one with --codec-%s\n", path,
                curves->len, list->str, which);
        g_string_free(list, TRUE);
        return NULL;
    }
    for (guint i = 0; i < curves->len; i++) {
        if (strcmp(((RdCurve *)curves->pdata[i])->codec, codec) == 0) {
            return curves->pdata[i];
        }
    }
    fprintf(stderr, "spice-bench: %s has no curve for codec '%s'\n", path, codec);
    return NULL;
}

static void bd_rate_usage(FILE *out)
{
    fputs("Usage: spice-bench bd-rate A.json [B.json] [--codec-a X] [--codec-b Y] [--psnr]\n"
          "                           [--strict] [--json]\n"
          "\n"
          "Bjøntegaard delta rate of curve B against curve A: how many more bits (%) B\n"
          "needs for the same PSNR-Y, averaged over the PSNR interval both curves cover;\n"
          "log10(rate) is interpolated as a function of PSNR with monotone piecewise cubic\n"
          "Hermite interpolation (PCHIP) and integrated exactly, as in the JCT-VC/JVET\n"
          "common test conditions. A and B are 'spice-bench rd --json' files; with one\n"
          "file, --codec-a and --codec-b choose its curves.\n"
          "\n"
          "  --codec-a X, --codec-b Y  the curves to use (needed when a file has several)\n"
          "  --psnr                    also print BD-PSNR (dB at equal rate)\n"
          "  --strict                  reject curves whose PSNR does not rise with the\n"
          "                            rate, instead of leaving out dominated points\n"
          "  --json                    print the result as JSON\n"
          "  -h, --help                show this help\n"
          "\n"
          "Each curve needs at least 4 points. Exit status: 0 done, 2 bad input.\n",
          out);
}

int sv_bench_bd_rate_main(int argc, char **argv)
{
    const char *files[2] = {NULL, NULL};
    guint n_files = 0;
    const char *codec_a = NULL, *codec_b = NULL;
    gboolean with_psnr = FALSE, strict = FALSE, as_json = FALSE;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            bd_rate_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--psnr") == 0) {
            with_psnr = TRUE;
        } else if (strcmp(a, "--strict") == 0) {
            strict = TRUE;
        } else if (strcmp(a, "--json") == 0) {
            as_json = TRUE;
        } else if (strcmp(a, "--codec-a") == 0 || strcmp(a, "--codec-b") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "spice-bench: %s needs a value\n", a);
                return EXIT_USAGE;
            }
            *(strcmp(a, "--codec-a") == 0 ? &codec_a : &codec_b) = argv[++i];
        } else if (a[0] == '-' && strcmp(a, "-") != 0) {
            fprintf(stderr,
                    "spice-bench: unknown option '%s' for bd-rate (see spice-bench bd-rate "
                    "--help)\n",
                    a);
            return EXIT_USAGE;
        } else if (n_files == 2) {
            fprintf(stderr, "spice-bench: bd-rate takes one or two rd files ('%s' is a third)\n",
                    a);
            return EXIT_USAGE;
        } else {
            files[n_files++] = a;
        }
    }
    if (n_files == 0) {
        fprintf(stderr, "spice-bench: bd-rate needs rd JSON files (see spice-bench bd-rate "
                        "--help)\n");
        return EXIT_USAGE;
    }
    if (n_files == 1 && (codec_a == NULL || codec_b == NULL)) {
        fprintf(stderr, "spice-bench: bd-rate with one file needs --codec-a and --codec-b\n");
        return EXIT_USAGE;
    }
    g_autoptr(GPtrArray) curves_a = load_rd(files[0]);
    if (curves_a == NULL) {
        return EXIT_USAGE;
    }
    g_autoptr(GPtrArray) curves_b = n_files == 2 ? load_rd(files[1]) : g_ptr_array_ref(curves_a);
    if (curves_b == NULL) {
        return EXIT_USAGE;
    }
    const char *file_b = n_files == 2 ? files[1] : files[0];
    RdCurve *a = pick_curve(curves_a, files[0], codec_a, "a");
    RdCurve *b = a != NULL ? pick_curve(curves_b, file_b, codec_b, "b") : NULL;
    if (b == NULL) {
        return EXIT_USAGE;
    }
    BdResult r = bd_between(a, b, strict);
    if (!r.ok) {
        fprintf(stderr, "spice-bench: bd-rate: %s\n", r.error);
        g_free(r.error);
        return EXIT_USAGE;
    }
    if (as_json) {
        g_autoptr(JsonBuilder) jb = json_builder_new();
        json_builder_begin_object(jb);
        builder_string(jb, "anchor", a->codec);
        builder_string(jb, "codec", b->codec);
        builder_number(jb, "bd_rate_pct", r.rate_pct);
        builder_number(jb, "bd_psnr_db", r.psnr_db);
        json_builder_end_object(jb);
        g_autoptr(GString) text = builder_to_text(jb);
        fwrite(text->str, 1, text->len, stdout);
        return 0;
    }
    printf("BD-rate of %s against %s: %+.2f %% (%s %s bits for the same PSNR-Y)\n", b->codec,
           a->codec, r.rate_pct, b->codec, r.rate_pct >= 0 ? "needs more" : "saves");
    if (with_psnr && !isfinite(r.psnr_db)) {
        printf("BD-PSNR of %s against %s: n/a (the curves' rates do not overlap)\n", b->codec,
               a->codec);
    } else if (with_psnr) {
        printf("BD-PSNR of %s against %s: %+.3f dB (at the same bit rate)\n", b->codec, a->codec,
               r.psnr_db);
    }
    return 0;
}
