/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * `spice-bench report RESULTS... -o report.html`: one self-contained HTML
 * dashboard of replay results (inline SVG charts, sortable tables, no
 * external resource), and the exports CI dashboards read: Bencher Metric
 * Format and github-action-benchmark's custom JSON (docs/ci.md, "Reports
 * and dashboards").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "bench-commands.h"
#include "bench-results.h"
#include "bench-svg.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

#ifndef SPICE_BENCH_VERSION
#define SPICE_BENCH_VERSION "?"
#endif

static void print_usage(FILE *out)
{
    fputs("Usage: spice-bench report RESULTS... -o REPORT.html [OPTION...]\n"
          "\n"
          "Writes one self-contained HTML page about replay results (JSON files of\n"
          "spice-bench TRACE --json, or directories written by spice-bench matrix):\n"
          "bitrate with the link capacity, PSNR and drops over time, latency CDF per\n"
          "stage, codec comparison bars, rate-distortion curves and comparison verdicts,\n"
          "drawn as inline SVG; tables sort on a click on their header. The page loads\n"
          "nothing from the network.\n"
          "\n"
          "  -o, --output FILE        the HTML page (required)\n"
          "  --title TEXT             the page's title (default: spice-bench report)\n"
          "  --compare FILE           JSON of 'spice-bench compare --format json': its\n"
          "                           verdicts are listed and highlighted\n"
          "  --rd FILE                JSON of 'spice-bench rd --json': RD curves\n"
          "  --bencher FILE           also write the metrics as Bencher Metric Format JSON\n"
          "  --github-benchmark FILE  also write github-action-benchmark JSON: FILE with\n"
          "                           the smaller-is-better metrics, FILE-bigger.json (FILE's\n"
          "                           name with -bigger before .json) with the others\n"
          "  -h, --help               show this help\n"
          "\n"
          "Exit status: 0 on success, 2 for bad input (options, unreadable or invalid\n"
          "JSON), 1 for other failures. Outputs are complete or absent, never partial.\n",
          out);
}

/* ---------------------------------------------------------------------------
 * Reading JSON
 * ------------------------------------------------------------------------- */

/* The node at a dotted @path below @node, or NULL. */
static JsonNode *node_at(JsonNode *node, const char *path)
{
    g_auto(GStrv) keys = g_strsplit(path, ".", -1);
    for (guint i = 0; keys[i] != NULL && node != NULL; i++) {
        if (!JSON_NODE_HOLDS_OBJECT(node)) {
            return NULL;
        }
        JsonObject *o = json_node_get_object(node);
        node = json_object_has_member(o, keys[i]) ? json_object_get_member(o, keys[i]) : NULL;
    }
    return node;
}

static double node_number(JsonNode *node)
{
    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node)) {
        return NAN;
    }
    GType t = json_node_get_value_type(node);
    if (t == G_TYPE_INT64) {
        return (double)json_node_get_int(node);
    }
    if (t == G_TYPE_DOUBLE) {
        return json_node_get_double(node);
    }
    return NAN;
}

static double num_at(JsonNode *root, const char *path)
{
    return node_number(node_at(root, path));
}

static const char *string_at(JsonNode *root, const char *path)
{
    JsonNode *n = node_at(root, path);
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
        return NULL;
    }
    return json_node_get_string(n);
}

static JsonArray *array_at(JsonNode *root, const char *path)
{
    JsonNode *n = node_at(root, path);
    return n != NULL && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

/* The first member of @o among @names (aliases), or NULL. */
static JsonNode *member_any(JsonObject *o, const char *const *names)
{
    for (guint i = 0; names[i] != NULL; i++) {
        if (json_object_has_member(o, names[i])) {
            return json_object_get_member(o, names[i]);
        }
    }
    return NULL;
}

/* Loads a JSON file; FALSE with a one-line message on stderr. */
static JsonNode *load_json(const char *option, const char *path)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) error = NULL;
    if (!json_parser_load_from_file(parser, path, &error)) {
        fprintf(stderr, "spice-bench: %s %s: %s\n", option, path, error->message);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (root == NULL) {
        fprintf(stderr, "spice-bench: %s %s: empty file\n", option, path);
        return NULL;
    }
    return json_node_copy(root);
}

/* ---------------------------------------------------------------------------
 * Run properties
 * ------------------------------------------------------------------------- */

/* The stages of latency_ms, in pipeline order. */
static const char *const stages[] = {
    "queue", "encode", "send", "network", "decode", "display", "end_to_end",
};

static char *run_label(const SvBenchRun *run)
{
    if (run->repeat > 0) {
        return g_strdup_printf("%s #%u", run->key, run->repeat);
    }
    return g_strdup(run->key);
}

/* "lan: 1 Gbit/s down, …" (run.net as recorded) → "lan". */
static char *short_net(const char *net)
{
    if (net == NULL) {
        return g_strdup("?");
    }
    const char *colon = strchr(net, ':');
    return colon != NULL ? g_strndup(net, colon - net) : g_strdup(net);
}

/* "spice:mjpeg;gstreamer:mjpeg" (a preference list) → "mjpeg"; "vp8" stays. */
static char *short_codec(const char *codec)
{
    if (codec == NULL) {
        return g_strdup("?");
    }
    const char *start = strchr(codec, ':');
    start = start != NULL ? start + 1 : codec;
    const char *end = strchr(start, ';');
    return end != NULL ? g_strndup(start, end - start) : g_strdup(start);
}

/* What charts name a run by: codec and net, options and repeat if any. */
static char *run_short_label(const SvBenchRun *run)
{
    g_autofree char *codec = short_codec(run->codec);
    g_autofree char *net = short_net(run->net);
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s %s", codec, net);
    if (run->options != NULL && run->options[0] != '\0') {
        g_string_append_printf(s, " %s", run->options);
    }
    if (run->repeat > 0) {
        g_string_append_printf(s, " #%u", run->repeat);
    }
    return g_string_free(s, FALSE);
}

/* run.latency_policy; results from before it existed ran spice's. */
static const char *run_policy(const SvBenchRun *run)
{
    const char *policy = string_at(run->root, "run.latency_policy");
    return policy != NULL ? policy : "spice";
}

static double run_shown_fraction(const SvBenchRun *run)
{
    double frames = num_at(run->root, "frames.stream_frames");
    double shown = num_at(run->root, "frames.shown");
    return frames > 0 ? shown / frames : NAN;
}

static double run_drops(const SvBenchRun *run)
{
    return num_at(run->root, "frames.dropped_encoder") + num_at(run->root, "frames.dropped_pipe");
}

/* Unique run keys in order of first appearance; @index[i] = key of run i. */
static GPtrArray *unique_keys(GPtrArray *runs, guint *index)
{
    GPtrArray *keys = g_ptr_array_new();
    for (guint i = 0; i < runs->len; i++) {
        const SvBenchRun *run = g_ptr_array_index(runs, i);
        guint k = 0;
        while (k < keys->len && strcmp(g_ptr_array_index(keys, k), run->key) != 0) {
            k++;
        }
        if (k == keys->len) {
            g_ptr_array_add(keys, run->key);
        }
        index[i] = k;
    }
    return keys;
}

/* ---------------------------------------------------------------------------
 * Comparison verdicts (--compare)
 * ------------------------------------------------------------------------- */

typedef enum {
    VERDICT_BAD,
    VERDICT_GOOD,
    VERDICT_SAME,
    VERDICT_OTHER,
} VerdictClass;

static const struct {
    const char *css;
    const char *mark; /* shown with the word, so colour is never the only cue */
    const char *name;
} verdict_classes[] = {
    [VERDICT_BAD] = {"verdict-bad", "\u2716", "worse"},
    [VERDICT_GOOD] = {"verdict-good", "\u2714", "better"},
    [VERDICT_SAME] = {"verdict-same", "=", "no change"},
    [VERDICT_OTHER] = {"verdict-other", "?", "other"},
};

static VerdictClass classify_verdict(const char *verdict)
{
    if (verdict == NULL) {
        return VERDICT_OTHER;
    }
    g_autofree char *v = g_ascii_strdown(verdict, -1);
    static const char *const bad[] = {"regress", "worse", "fail", "slower", NULL};
    static const char *const good[] = {"improv", "better", "faster", NULL};
    static const char *const same[] = {"unchanged", "same", "noise", "neutral", "equal",
                                       "no change", "ok",   "pass",  NULL};
    for (guint i = 0; bad[i] != NULL; i++) {
        if (strstr(v, bad[i]) != NULL) {
            return VERDICT_BAD;
        }
    }
    for (guint i = 0; good[i] != NULL; i++) {
        if (strstr(v, good[i]) != NULL) {
            return VERDICT_GOOD;
        }
    }
    for (guint i = 0; same[i] != NULL; i++) {
        if (strstr(v, same[i]) != NULL) {
            return VERDICT_SAME;
        }
    }
    return VERDICT_OTHER;
}

/*
 * The comparisons as one flat array of objects with "key", "metric", "base",
 * "new", "change", "verdict", … Accepted: {"comparisons": [flat objects]}, a
 * top-level array of them, or spice-bench compare's {"runs": [{"key",
 * "metrics": [{"metric", …}]}]} (each metric gets its run's key). NULL if
 * none of these is there. Ownership: the caller unrefs.
 */
static JsonArray *comparison_list(JsonNode *root)
{
    JsonArray *flat = NULL;
    if (JSON_NODE_HOLDS_ARRAY(root)) {
        flat = json_node_get_array(root);
    } else if ((flat = array_at(root, "comparisons")) == NULL) {
        JsonArray *runs = array_at(root, "runs");
        if (runs == NULL) {
            return NULL;
        }
        JsonArray *out = json_array_new();
        for (guint i = 0; i < json_array_get_length(runs); i++) {
            JsonNode *run = json_array_get_element(runs, i);
            JsonArray *metrics = array_at(run, "metrics");
            JsonNode *key = node_at(run, "key");
            JsonNode *label = node_at(run, "label");
            for (guint k = 0; metrics != NULL && k < json_array_get_length(metrics); k++) {
                JsonNode *m = json_array_get_element(metrics, k);
                if (!JSON_NODE_HOLDS_OBJECT(m)) {
                    continue;
                }
                JsonNode *copy = json_node_copy(m);
                JsonObject *o = json_node_get_object(copy);
                if (!json_object_has_member(o, "key") && key != NULL) {
                    json_object_set_member(o, "key", json_node_copy(key));
                }
                if (!json_object_has_member(o, "label") && label != NULL) {
                    json_object_set_member(o, "label", json_node_copy(label));
                }
                json_array_add_element(out, copy);
            }
        }
        return out;
    }
    return json_array_ref(flat);
}

static const char *const verdict_keys[] = {"verdict", "status", NULL};
static const char *const change_keys[] = {"change", "delta", NULL};
static const char *const change_pct_keys[] = {"change_pct", NULL};
static const char *const note_keys[] = {"note", NULL};

static const char *object_string(JsonObject *o, const char *const *names)
{
    JsonNode *n = member_any(o, names);
    if (n != NULL && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
        return json_node_get_string(n);
    }
    return NULL;
}

/* ---------------------------------------------------------------------------
 * HTML helpers
 * ------------------------------------------------------------------------- */

static void esc(GString *out, const char *s)
{
    sv_html_escape_append(out, s);
}

/* A table cell holding a number: data-v carries the value for sorting. */
static void num_cell(GString *out, double v, SvSvgFormat format, const char *unit)
{
    if (!isfinite(v)) {
        g_string_append(out, "<td class=\"num\" data-v=\"\">n/a</td>");
        return;
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof(buf), "%.6g", v);
    g_autofree char *text = sv_svg_format_value(v, format);
    g_string_append_printf(out, "<td class=\"num\" data-v=\"%s\">%s%s%s</td>", buf, text,
                           unit[0] != '\0' ? " " : "", unit);
}

static void text_cell(GString *out, const char *s)
{
    g_string_append(out, "<td>");
    esc(out, s != NULL ? s : "");
    g_string_append(out, "</td>");
}

/* Any JSON scalar as text for a cell (numbers keep up to 6 significant digits). */
/* Any JSON scalar as a cell; numbers of 10000 and more with SI prefixes, then @unit. */
static void json_cell(GString *out, JsonNode *n, const char *unit)
{
    double v = node_number(n);
    if (isfinite(v)) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_ascii_formatd(buf, sizeof(buf), "%.6g", v);
        g_autofree char *text = NULL;
        if (fabs(v) >= 1e4) {
            text = sv_svg_format_value(v, SV_SVG_FORMAT_SI);
        } else {
            text = g_strdup(buf);
        }
        g_string_append_printf(out, "<td class=\"num\" data-v=\"%s\">%s", buf, text);
        if (unit != NULL && unit[0] != '\0') {
            g_string_append_c(out, ' ');
            esc(out, unit);
        }
        g_string_append(out, "</td>");
    } else if (n != NULL && JSON_NODE_HOLDS_VALUE(n) &&
               json_node_get_value_type(n) == G_TYPE_STRING) {
        text_cell(out, json_node_get_string(n));
    } else if (n != NULL && JSON_NODE_HOLDS_VALUE(n) &&
               json_node_get_value_type(n) == G_TYPE_BOOLEAN) {
        text_cell(out, json_node_get_boolean(n) ? "true" : "false");
    } else {
        g_string_append(out, "<td class=\"num\" data-v=\"\">n/a</td>");
    }
}

static void table_head(GString *out, const char *id, const char *caption,
                       const char *const *columns)
{
    g_string_append_printf(out, "<div class=\"table-wrap\"><table class=\"sortable\" id=\"%s\">\n",
                           id);
    g_string_append(out, "<caption>");
    esc(out, caption);
    g_string_append(out, "</caption>\n<thead><tr>");
    for (guint i = 0; columns[i] != NULL; i++) {
        g_string_append(out, "<th scope=\"col\">");
        esc(out, columns[i]);
        g_string_append(out, "</th>");
    }
    g_string_append(out, "</tr></thead>\n<tbody>\n");
}

static void table_end(GString *out)
{
    g_string_append(out, "</tbody>\n</table></div>\n");
}

static const char page_style[] =
    "body{font:14px/1.45 sans-serif;margin:1.5em auto;max-width:1240px;padding:0 1em;"
    "color:#111;background:#fff}\n"
    "h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin-top:1.6em;"
    "border-bottom:1px solid #999}\n"
    ".meta{color:#444}\n"
    ".table-wrap{overflow-x:auto}\n"
    "table{border-collapse:collapse;margin:.5em 0;font-size:13px}\n"
    "caption{text-align:left;font-weight:bold;padding:.3em 0}\n"
    "th,td{border:1px solid #bbb;padding:3px 6px;vertical-align:top}\n"
    "th{background:#eee;cursor:pointer;user-select:none;text-align:left}\n"
    "th[aria-sort=ascending]::after{content:\" \\25B2\"}\n"
    "th[aria-sort=descending]::after{content:\" \\25BC\"}\n"
    "td.key{font-size:11px;color:#333;min-width:24em}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "tr.verdict-bad td{background:#fde0dc;font-weight:bold}\n"
    "tr.verdict-good td{background:#dff3e4}\n"
    "tr.verdict-bad td.verdict{border-left:5px solid #b00020}\n"
    "tr.verdict-good td.verdict{border-left:5px double #1b7f3b}\n"
    ".badge{display:inline-block;border:1px solid #555;border-radius:3px;padding:0 .4em;"
    "margin-right:.5em}\n"
    ".badge.verdict-bad{background:#fde0dc;font-weight:bold;border-width:2px}\n"
    ".charts{display:flex;flex-wrap:wrap;gap:1em}\n"
    "figure.chart{margin:.6em 0;overflow-x:auto;max-width:100%}\n"
    "figcaption{font-size:12px;color:#333;max-width:760px}\n"
    ".chart-svg{display:block;max-width:none}\n"
    ".chart-svg text{font-family:sans-serif;fill:#222}\n"
    ".chart-svg .tick{font-size:11px}\n"
    ".chart-svg .axis-label{font-size:12px}\n"
    ".chart-svg .direct-label,.chart-svg .legend-label{font-size:11px}\n"
    ".chart-svg .bar-value,.chart-svg .group-label{font-size:10px}\n"
    ".chart-svg .grid{stroke:#ddd;stroke-width:1;fill:none}\n"
    ".chart-svg .axis,.chart-svg .tickmark{stroke:#333;stroke-width:1;fill:none}\n"
    ".note{color:#444;font-style:italic}\n";

/* Sorting on a click (or Enter) on a header; data-v holds numbers. Without
 * JavaScript the tables are plain tables in the order written. */
static const char page_script[] =
    "(function(){\n"
    "function key(c){var v=c.getAttribute('data-v');"
    "if(v===null)return null;return v===''?-Infinity:parseFloat(v);}\n"
    "document.querySelectorAll('table.sortable').forEach(function(t){\n"
    " var hs=t.tHead.rows[0].cells;\n"
    " Array.prototype.forEach.call(hs,function(th,i){\n"
    "  th.tabIndex=0;\n"
    "  function sort(){\n"
    "   var asc=th.getAttribute('aria-sort')!=='ascending';\n"
    "   Array.prototype.forEach.call(hs,function(h){h.removeAttribute('aria-sort');});\n"
    "   th.setAttribute('aria-sort',asc?'ascending':'descending');\n"
    "   var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);\n"
    "   rows.sort(function(x,y){var a=key(x.cells[i]),c=key(y.cells[i]),r;\n"
    "    if(a!==null&&c!==null){r=a<c?-1:a>c?1:0;}\n"
    "    else{r=x.cells[i].textContent.localeCompare(y.cells[i].textContent);}\n"
    "    return asc?r:-r;});\n"
    "   rows.forEach(function(r){b.appendChild(r);});\n"
    "  }\n"
    "  th.addEventListener('click',sort);\n"
    "  th.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' ')"
    "{e.preventDefault();sort();}});\n"
    " });\n"
    "});\n"
    "})();\n";

/* ---------------------------------------------------------------------------
 * Sections
 * ------------------------------------------------------------------------- */

static void free_series(gpointer p)
{
    sv_svg_series_free(p);
}

static void section_verdicts(GString *out, JsonArray *list)
{
    guint counts[G_N_ELEMENTS(verdict_classes)] = {0};
    guint n = json_array_get_length(list);
    for (guint i = 0; i < n; i++) {
        JsonNode *e = json_array_get_element(list, i);
        if (JSON_NODE_HOLDS_OBJECT(e)) {
            counts[classify_verdict(object_string(json_node_get_object(e), verdict_keys))]++;
        }
    }
    g_string_append(out, "<section id=\"verdicts\">\n<h2>Comparison verdicts</h2>\n<p>");
    for (guint c = 0; c < G_N_ELEMENTS(verdict_classes); c++) {
        /* Only a non-zero count of a class is highlighted. */
        g_string_append_printf(out, "<span class=\"badge%s%s\">%s %s: %u</span>",
                               counts[c] > 0 ? " " : "",
                               counts[c] > 0 ? verdict_classes[c].css : "", verdict_classes[c].mark,
                               verdict_classes[c].name, counts[c]);
    }
    g_string_append(out, "</p>\n<p class=\"note\">Rows that got worse come first, marked \u2716 "
                         "and written in bold; improvements follow, marked \u2714.</p>\n");
    static const char *const cols[] = {"verdict", "run",      "metric", "base", "new",
                                       "change",  "change %", "note",   NULL};
    table_head(out, "table-verdicts", "Base versus new, per run and metric (from --compare)", cols);
    static const VerdictClass order[] = {VERDICT_BAD, VERDICT_GOOD, VERDICT_OTHER, VERDICT_SAME};
    for (guint pass = 0; pass < G_N_ELEMENTS(order); pass++) {
        for (guint i = 0; i < n; i++) {
            JsonNode *e = json_array_get_element(list, i);
            if (!JSON_NODE_HOLDS_OBJECT(e)) {
                continue;
            }
            JsonObject *o = json_node_get_object(e);
            const char *verdict = object_string(o, verdict_keys);
            VerdictClass c = classify_verdict(verdict);
            if (c != order[pass]) {
                continue;
            }
            g_string_append_printf(out, "<tr class=\"%s\"><td class=\"verdict\">%s ",
                                   verdict_classes[c].css, verdict_classes[c].mark);
            esc(out, verdict != NULL ? verdict : "(none)");
            g_string_append(out, "</td>");
            static const char *const key_names[] = {"key", NULL};
            static const char *const label_names[] = {"label", NULL};
            static const char *const metric_names[] = {"metric", NULL};
            static const char *const base_names[] = {"base", NULL};
            static const char *const new_names[] = {"new", NULL};
            static const char *const unit_names[] = {"unit", NULL};
            /* The run: compare's label if any (the key as tooltip), else the key. */
            const char *key = object_string(o, key_names);
            const char *label = object_string(o, label_names);
            g_string_append(out, "<td title=\"");
            esc(out, key);
            g_string_append(out, "\">");
            esc(out, label != NULL ? label : key != NULL ? key : "?");
            g_string_append(out, "</td>");
            const char *unit = object_string(o, unit_names);
            json_cell(out, member_any(o, metric_names), NULL);
            json_cell(out, member_any(o, base_names), unit);
            json_cell(out, member_any(o, new_names), unit);
            json_cell(out, member_any(o, change_keys), unit);
            json_cell(out, member_any(o, change_pct_keys), NULL);
            json_cell(out, member_any(o, note_keys), NULL);
            g_string_append(out, "</tr>\n");
        }
    }
    table_end(out);
    g_string_append(out, "</section>\n");
}

/* Verdict counts of one run key, for the runs table. */
static char *key_verdicts(JsonArray *list, const char *key)
{
    if (list == NULL) {
        return NULL;
    }
    guint bad = 0, good = 0;
    for (guint i = 0; i < json_array_get_length(list); i++) {
        JsonNode *e = json_array_get_element(list, i);
        if (!JSON_NODE_HOLDS_OBJECT(e)) {
            continue;
        }
        JsonObject *o = json_node_get_object(e);
        static const char *const key_names[] = {"key", NULL};
        const char *k = object_string(o, key_names);
        if (k == NULL || strcmp(k, key) != 0) {
            continue;
        }
        VerdictClass c = classify_verdict(object_string(o, verdict_keys));
        bad += c == VERDICT_BAD;
        good += c == VERDICT_GOOD;
    }
    return g_strdup_printf("%u worse, %u better", bad, good);
}

static void section_runs(GString *out, GPtrArray *runs, JsonArray *verdicts)
{
    g_string_append(out, "<section id=\"runs\">\n<h2>Runs</h2>\n");
    static const char *const cols[] = {
        "run",
        "trace",
        "codec",
        "net",
        "latency policy",
        "options",
        "repeat",
        "encoder",
        "mean bitrate",
        "p95 bitrate",
        "link used",
        "PSNR-Y",
        "SSIM-Y",
        "frames shown",
        "dropped",
        "late",
        "e2e p50",
        "e2e p95",
        "dominant stage",
        "verdicts",
        "key",
        NULL,
    };
    table_head(out, "table-runs", "One row per result", cols);
    for (guint i = 0; i < runs->len; i++) {
        const SvBenchRun *run = g_ptr_array_index(runs, i);
        JsonNode *r = run->root;
        g_string_append(out, "<tr>");
        g_autofree char *label = run_short_label(run);
        g_autofree char *trace = g_path_get_basename(run->trace != NULL ? run->trace : "?");
        g_autofree char *net = short_net(run->net);
        text_cell(out, label);
        text_cell(out, trace);
        text_cell(out, run->codec);
        g_string_append(out, "<td title=\"");
        esc(out, run->net);
        g_string_append(out, "\">");
        esc(out, net);
        g_string_append(out, "</td>");
        text_cell(out, run_policy(run));
        text_cell(out, run->options);
        num_cell(out, run->repeat, SV_SVG_FORMAT_NUMBER, "");
        /* The negotiated encoders, as "codec encoder" pairs. */
        g_autoptr(GString) enc = g_string_new(NULL);
        JsonArray *neg = array_at(r, "encoder.negotiated");
        for (guint k = 0; neg != NULL && k < json_array_get_length(neg); k++) {
            JsonNode *e = json_array_get_element(neg, k);
            const char *codec = string_at(e, "codec");
            const char *encoder = string_at(e, "encoder");
            g_string_append_printf(enc, "%s%s %s", k > 0 ? ", " : "", codec ? codec : "?",
                                   encoder ? encoder : "?");
        }
        text_cell(out, enc->str);
        num_cell(out, num_at(r, "bitrate.mean_bps"), SV_SVG_FORMAT_SI, "bit/s");
        num_cell(out, num_at(r, "bitrate.p95_bps"), SV_SVG_FORMAT_SI, "bit/s");
        num_cell(out, num_at(r, "bitrate.utilisation_mean"), SV_SVG_FORMAT_PERCENT, "");
        num_cell(out, num_at(r, "quality.psnr_y_db.mean"), SV_SVG_FORMAT_NUMBER, "dB");
        num_cell(out, num_at(r, "quality.ssim_y.mean"), SV_SVG_FORMAT_NUMBER, "");
        num_cell(out, run_shown_fraction(run), SV_SVG_FORMAT_PERCENT, "");
        num_cell(out, run_drops(run), SV_SVG_FORMAT_NUMBER, "");
        num_cell(out, num_at(r, "frames.late"), SV_SVG_FORMAT_NUMBER, "");
        num_cell(out, num_at(r, "latency_ms.end_to_end.p50"), SV_SVG_FORMAT_NUMBER, "ms");
        num_cell(out, num_at(r, "latency_ms.end_to_end.p95"), SV_SVG_FORMAT_NUMBER, "ms");
        text_cell(out, string_at(r, "latency_ms.dominant_stage"));
        g_autofree char *v = key_verdicts(verdicts, run->key);
        text_cell(out, v != NULL ? v : "");
        g_string_append(out, "<td class=\"key\">");
        esc(out, run->key);
        g_string_append(out, "</td></tr>\n");
    }
    table_end(out);
    g_string_append(out, "</section>\n");
}

/* TRUE when @runs do not all share one latency policy. */
static gboolean policies_differ(GPtrArray *runs)
{
    for (guint i = 1; i < runs->len; i++) {
        if (strcmp(run_policy(g_ptr_array_index(runs, 0)),
                   run_policy(g_ptr_array_index(runs, i))) != 0) {
            return TRUE;
        }
    }
    return FALSE;
}

/* A series for @run, its labels naming the latency policy when @with_policy
 * (results of both policies share a key: trace, codec, net, options). */
static SvSvgSeries *run_series_new(const SvBenchRun *run, gboolean with_policy, int index)
{
    g_autofree char *label = run_label(run);
    g_autofree char *short_label = run_short_label(run);
    if (with_policy) {
        g_autofree char *l = g_strdup_printf("%s, %s policy", label, run_policy(run));
        g_autofree char *sl = g_strdup_printf("%s %s", short_label, run_policy(run));
        return sv_svg_series_new(l, sl, index);
    }
    return sv_svg_series_new(label, short_label, index);
}

/* One series per first repeat of each run: @field of every window over t_s. */
static void window_series(GPtrArray *series, GPtrArray *runs, const char *field, gboolean sum_drops)
{
    gboolean with_policy = policies_differ(runs);
    for (guint i = 0; i < runs->len; i++) {
        const SvBenchRun *run = g_ptr_array_index(runs, i);
        if (run->repeat > 0) {
            continue;
        }
        SvSvgSeries *s = run_series_new(run, with_policy, (int)series->len);
        JsonArray *w = array_at(run->root, "windows");
        for (guint k = 0; w != NULL && k < json_array_get_length(w); k++) {
            JsonNode *e = json_array_get_element(w, k);
            double y = sum_drops ? num_at(e, "dropped_encoder") + num_at(e, "dropped_pipe")
                                 : num_at(e, field);
            sv_svg_series_add(s, num_at(e, "t_s"), y);
        }
        g_ptr_array_add(series, s);
    }
}

/* The links' capacities, one reference line per different net label. */
static void capacity_series(GPtrArray *series, GPtrArray *runs)
{
    g_autoptr(GPtrArray) nets = g_ptr_array_new();
    for (guint i = 0; i < runs->len; i++) {
        const SvBenchRun *run = g_ptr_array_index(runs, i);
        const char *net = run->net != NULL ? run->net : "?";
        gboolean seen = FALSE;
        for (guint k = 0; k < nets->len; k++) {
            seen = seen || strcmp(g_ptr_array_index(nets, k), net) == 0;
        }
        if (seen || run->repeat > 0) {
            continue;
        }
        g_ptr_array_add(nets, (gpointer)net);
        g_autofree char *name = short_net(net);
        g_autofree char *label = g_strdup_printf("link capacity, net %s", net);
        g_autofree char *short_label = g_strdup_printf("capacity %s", name);
        SvSvgSeries *s = sv_svg_series_new(label, short_label, (int)nets->len - 1);
        s->reference = TRUE;
        JsonArray *w = array_at(run->root, "windows");
        for (guint k = 0; w != NULL && k < json_array_get_length(w); k++) {
            JsonNode *e = json_array_get_element(w, k);
            sv_svg_series_add(s, num_at(e, "t_s"), num_at(e, "capacity_bps"));
        }
        g_ptr_array_add(series, s);
    }
}

static void section_time(GString *out, GPtrArray *runs)
{
    g_string_append(out, "<section id=\"time\">\n<h2>Over time</h2>\n");
    {
        g_autoptr(GPtrArray) series = g_ptr_array_new_with_free_func(free_series);
        window_series(series, runs, "bps", FALSE);
        capacity_series(series, runs);
        SvSvgLineChart c = {
            .id = "chart-bitrate",
            .title = "Bitrate over time, with the link capacity",
            .desc = "Bits sent in each 1-second window (all channels) per run, on a logarithmic "
                    "axis; the grey lines (one dash pattern per net) are the network model's "
                    "capacity. A run whose line reaches its capacity line saturates the link. "
                    "Each run has its own dash pattern and marker, named at the line's end and "
                    "in the legend.",
            .x_label = "time (s)",
            .y_label = "bit/s (log)",
            .y_format = SV_SVG_FORMAT_SI,
            .y_log = TRUE,
            .series = series,
        };
        sv_svg_line_chart(out, &c);
    }
    {
        g_autoptr(GPtrArray) series = g_ptr_array_new_with_free_func(free_series);
        window_series(series, runs, "psnr_y_db", FALSE);
        SvSvgLineChart c = {
            .id = "chart-psnr",
            .title = "PSNR over time",
            .desc = "Mean luma PSNR of the frames shown in each 1-second window (higher is "
                    "better; 100 dB = identical). Gaps are seconds without a shown stream frame.",
            .x_label = "time (s)",
            .y_label = "PSNR-Y (dB)",
            .series = series,
        };
        sv_svg_line_chart(out, &c);
    }
    {
        g_autoptr(GPtrArray) series = g_ptr_array_new_with_free_func(free_series);
        window_series(series, runs, NULL, TRUE);
        SvSvgLineChart c = {
            .id = "chart-drops",
            .title = "Dropped frames over time",
            .desc = "Stream frames dropped in each 1-second window, by the encoder's rate "
                    "control and by the pipe together (lower is better).",
            .x_label = "time (s)",
            .y_label = "frames dropped",
            .y_zero = TRUE,
            .series = series,
        };
        sv_svg_line_chart(out, &c);
    }
    {
        g_autoptr(GPtrArray) series = g_ptr_array_new_with_free_func(free_series);
        window_series(series, runs, "latency_p50_ms", FALSE);
        SvSvgLineChart c = {
            .id = "chart-latency-time",
            .title = "Latency over time",
            .desc = "Median end-to-end latency (guest draw to display) of the stream frames "
                    "shown in each 1-second window, per run (lower is better); runs of "
                    "different latency policies are named with their policy. Gaps are seconds "
                    "without a shown stream frame; results without per-second latency have no "
                    "line.",
            .x_label = "time (s)",
            .y_label = "latency p50 (ms)",
            .y_zero = TRUE,
            .series = series,
        };
        sv_svg_line_chart(out, &c);
    }
    g_string_append(out, "</section>\n");
}

static void section_latency(GString *out, GPtrArray *runs)
{
    g_string_append(out, "<section id=\"latency\">\n<h2>Latency CDF per stage</h2>\n"
                         "<p class=\"note\">Each chart is one stage of the pipeline; a line "
                         "gives, for a latency on the x axis, the share of frames that took at "
                         "most that long. Further left and steeper is better. Results without "
                         "<code>cdf_ms</code> are drawn from p50, p95, p99 and max only.</p>\n"
                         "<div class=\"charts\">\n");
    gboolean with_policy = policies_differ(runs);
    for (guint st = 0; st < G_N_ELEMENTS(stages); st++) {
        g_autoptr(GPtrArray) series = g_ptr_array_new_with_free_func(free_series);
        guint n_points = 0;
        for (guint i = 0; i < runs->len; i++) {
            const SvBenchRun *run = g_ptr_array_index(runs, i);
            if (run->repeat > 0) {
                continue;
            }
            SvSvgSeries *s = run_series_new(run, with_policy, (int)series->len);
            s->step = TRUE;
            g_autofree char *path = g_strdup_printf("latency_ms.%s", stages[st]);
            JsonNode *lat = node_at(run->root, path);
            JsonArray *cdf = array_at(lat, "cdf_ms");
            if (cdf != NULL && json_array_get_length(cdf) >= 2) {
                guint len = json_array_get_length(cdf);
                for (guint k = 0; k < len; k++) {
                    sv_svg_series_add(s, node_number(json_array_get_element(cdf, k)),
                                      (double)k / (len - 1));
                }
            } else if (num_at(lat, "count") > 0) {
                static const struct {
                    const char *key;
                    double q;
                } pts[] = {{"p50", 0.5}, {"p95", 0.95}, {"p99", 0.99}, {"max", 1.0}};
                for (guint k = 0; k < G_N_ELEMENTS(pts); k++) {
                    sv_svg_series_add(s, num_at(lat, pts[k].key), pts[k].q);
                }
            }
            n_points += s->points->len;
            g_ptr_array_add(series, s);
        }
        g_autofree char *id = g_strdup_printf("chart-latency-cdf-%s", stages[st]);
        g_autofree char *title = g_strdup_printf("Latency CDF: %s", stages[st]);
        if (n_points == 0) {
            g_string_append_printf(out,
                                   "<p class=\"note\" id=\"%s\">%s: no frame reached this "
                                   "stage.</p>\n",
                                   id, stages[st]);
            continue;
        }
        SvSvgLineChart c = {
            .id = id,
            .title = title,
            .desc = "Share of frames (y) whose latency in this stage was at most x ms, per run "
                    "(a staircase through the 0th, 5th, … 100th percentiles).",
            .x_label = "latency (ms)",
            .y_label = "share of frames",
            .y_format = SV_SVG_FORMAT_PERCENT,
            .y_min = 0,
            .y_max = 1,
            .series = series,
        };
        sv_svg_line_chart(out, &c);
    }
    g_string_append(out, "</div>\n</section>\n");
}

static void section_bars(GString *out, GPtrArray *runs)
{
    g_autofree guint *index = g_new0(guint, runs->len);
    g_autoptr(GPtrArray) keys = unique_keys(runs, index);
    static const char *const measures[] = {"PSNR-Y mean", "mean bitrate", "frames shown",
                                           "end-to-end latency p95"};
    static const SvSvgFormat formats[] = {SV_SVG_FORMAT_NUMBER, SV_SVG_FORMAT_SI,
                                          SV_SVG_FORMAT_PERCENT, SV_SVG_FORMAT_NUMBER};
    static const char *const units[] = {"dB", "bit/s", "", "ms"};
    guint nm = G_N_ELEMENTS(measures);
    g_autofree double *values = g_new0(double, keys->len *nm);
    g_autofree guint *counts = g_new0(guint, keys->len * nm);
    for (guint i = 0; i < runs->len; i++) {
        const SvBenchRun *run = g_ptr_array_index(runs, i);
        double v[] = {
            num_at(run->root, "quality.psnr_y_db.mean"),
            num_at(run->root, "bitrate.mean_bps"),
            run_shown_fraction(run),
            num_at(run->root, "latency_ms.end_to_end.p95"),
        };
        for (guint m = 0; m < nm; m++) {
            if (isfinite(v[m])) {
                values[index[i] * nm + m] += v[m];
                counts[index[i] * nm + m]++;
            }
        }
    }
    for (guint k = 0; k < keys->len * nm; k++) {
        values[k] = counts[k] > 0 ? values[k] / counts[k] : NAN;
    }
    /* Bars are named trace|codec|net|options, shortened; the full key is the tooltip. */
    g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func(g_free);
    for (guint k = 0; k < keys->len; k++) {
        for (guint i = 0; i < runs->len; i++) {
            const SvBenchRun *run = g_ptr_array_index(runs, i);
            if (index[i] != k) {
                continue;
            }
            g_autofree char *trace = g_path_get_basename(run->trace != NULL ? run->trace : "?");
            g_autofree char *codec = short_codec(run->codec);
            g_autofree char *net = short_net(run->net);
            g_ptr_array_add(labels,
                            g_strdup_printf("%s|%s|%s|%s", codec, net,
                                            run->options != NULL ? run->options : "", trace));
            break;
        }
    }
    g_string_append(out, "<section id=\"codecs\">\n<h2>Codec comparison</h2>\n");
    SvSvgBarChart c = {
        .id = "chart-bars",
        .title = "Codec comparison per run key",
        .desc = "One group of bars per run key (trace, codec, net, options; repeats averaged): "
                "PSNR-Y (higher is better), mean bitrate, share of stream frames shown (higher "
                "is better) and end-to-end latency p95 (lower is better). Each measure is drawn "
                "as a share of its largest value over the groups and has its own fill pattern; "
                "the number on each bar is the value itself.",
        .n_groups = keys->len,
        .groups = (const char *const *)labels->pdata,
        .titles = (const char *const *)keys->pdata,
        .n_measures = nm,
        .measures = measures,
        .formats = formats,
        .units = units,
        .values = values,
    };
    sv_svg_bar_chart(out, &c);
    g_string_append(out, "</section>\n");
}

static const char *const rd_rate_keys[] = {"bitrate_bps", "video_bps", "bps",
                                           "bitrate",     "mean_bps",  NULL};
static const char *const rd_psnr_keys[] = {"psnr", "psnr_db", "psnr_y_db", NULL};
static const char *const rd_ssim_keys[] = {"ssim", "ssim_y", NULL};
static const char *const rd_codec_keys[] = {"codec", "name", "label", NULL};

/* The RD curves: "codecs" as documented, or "curves" as spice-bench rd writes. */
static JsonArray *rd_curves(JsonNode *rd)
{
    JsonArray *a = array_at(rd, "codecs");
    return a != NULL ? a : array_at(rd, "curves");
}

static int compare_points(const void *a, const void *b)
{
    const SvSvgPoint *pa = a, *pb = b;
    return pa->x < pb->x ? -1 : pa->x > pb->x;
}

static void section_rd(GString *out, JsonNode *rd, const char *rd_path)
{
    g_string_append(out, "<section id=\"rd\">\n<h2>Rate-distortion curves</h2>\n");
    if (rd == NULL) {
        g_string_append(out, "<p class=\"note\" id=\"chart-rd-missing\">No RD data: pass "
                             "<code>--rd FILE.json</code> (from <code>spice-bench rd "
                             "--json</code>).</p>\n</section>\n");
        return;
    }
    JsonArray *codecs = rd_curves(rd);
    for (int q = 0; q < 2; q++) {
        g_autoptr(GPtrArray) series = g_ptr_array_new_with_free_func(free_series);
        guint n_points = 0;
        for (guint i = 0; codecs != NULL && i < json_array_get_length(codecs); i++) {
            JsonNode *e = json_array_get_element(codecs, i);
            if (!JSON_NODE_HOLDS_OBJECT(e)) {
                continue;
            }
            JsonObject *o = json_node_get_object(e);
            const char *name = object_string(o, rd_codec_keys);
            SvSvgSeries *s = sv_svg_series_new(name != NULL ? name : "?", NULL, (int)i);
            JsonArray *pts = array_at(e, "points");
            for (guint k = 0; pts != NULL && k < json_array_get_length(pts); k++) {
                JsonNode *p = json_array_get_element(pts, k);
                if (!JSON_NODE_HOLDS_OBJECT(p)) {
                    continue;
                }
                JsonObject *po = json_node_get_object(p);
                double x = node_number(member_any(po, rd_rate_keys));
                double y = node_number(member_any(po, q == 0 ? rd_psnr_keys : rd_ssim_keys));
                if (isfinite(x) && isfinite(y) && x > 0) {
                    sv_svg_series_add(s, x, y);
                }
            }
            g_array_sort(s->points, compare_points);
            n_points += s->points->len;
            g_ptr_array_add(series, s);
        }
        const char *id = q == 0 ? "chart-rd-psnr" : "chart-rd-ssim";
        if (n_points == 0) {
            g_string_append_printf(out, "<p class=\"note\" id=\"%s\">%s: ", id,
                                   q == 0 ? "PSNR" : "SSIM");
            esc(out, rd_path);
            g_string_append(out, " has no such points.</p>\n");
            continue;
        }
        SvSvgLineChart c = {
            .id = id,
            .title = q == 0 ? "Rate-distortion: PSNR-Y against bitrate"
                            : "Rate-distortion: SSIM-Y against bitrate",
            .desc = "One curve per codec through its RD points (logarithmic bitrate axis). A "
                    "curve above and left of another gives the same quality for fewer bits.",
            .x_label = "bitrate (bit/s, log)",
            .y_label = q == 0 ? "PSNR-Y (dB)" : "SSIM-Y",
            .x_format = SV_SVG_FORMAT_SI,
            .x_log = TRUE,
            .series = series,
        };
        sv_svg_line_chart(out, &c);
    }
    g_string_append(out, "</section>\n");
}

static char *build_html(GPtrArray *runs, const char *title, JsonArray *verdicts, JsonNode *rd,
                        const char *rd_path)
{
    GString *out = g_string_new(NULL);
    g_string_append(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                         "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                         "'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
                         "<meta name=\"viewport\" content=\"width=device-width, "
                         "initial-scale=1\">\n"
                         "<meta name=\"generator\" content=\"spice-bench " SPICE_BENCH_VERSION
                         "\">\n<title>");
    esc(out, title);
    g_string_append_printf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>",
                           page_style);
    esc(out, title);
    g_string_append_printf(out,
                           "</h1>\n<p class=\"meta\">%u result%s, written by spice-bench "
                           "%s report (schema spice-bench-replay/1, see docs/metrics.md).</p>\n"
                           "<nav><a href=\"#runs\">Runs</a> \u00b7 <a href=\"#time\">Over time</a> "
                           "\u00b7 <a href=\"#latency\">Latency</a> \u00b7 <a "
                           "href=\"#codecs\">Codecs</a> \u00b7 <a href=\"#rd\">RD</a>%s</nav>\n"
                           "</header>\n<main>\n",
                           runs->len, runs->len == 1 ? "" : "s", SPICE_BENCH_VERSION,
                           verdicts != NULL ? " \u00b7 <a href=\"#verdicts\">Verdicts</a>" : "");
    if (verdicts != NULL) {
        section_verdicts(out, verdicts);
    }
    section_runs(out, runs, verdicts);
    section_time(out, runs);
    section_latency(out, runs);
    section_bars(out, runs);
    section_rd(out, rd, rd_path);
    g_string_append_printf(out, "</main>\n<script>\n%s</script>\n</body>\n</html>\n", page_script);
    return g_string_free(out, FALSE);
}

/* ---------------------------------------------------------------------------
 * Exports
 * ------------------------------------------------------------------------- */

typedef struct {
    double sum, min, max;
    guint n;
} Stat;

/* The metric over the repeats of each key: stats[key × metrics + metric]. */
static Stat *collect_stats(GPtrArray *runs, const guint *index, guint n_keys, guint n_metrics)
{
    const SvBenchMetric *metrics = sv_bench_metrics();
    Stat *stats = g_new0(Stat, MAX(n_keys * n_metrics, 1));
    for (guint i = 0; i < runs->len; i++) {
        const SvBenchRun *run = g_ptr_array_index(runs, i);
        for (guint m = 0; m < n_metrics; m++) {
            double v;
            if (!sv_bench_run_get(run, &metrics[m], &v) || !isfinite(v)) {
                continue;
            }
            Stat *st = &stats[index[i] * n_metrics + m];
            st->min = st->n == 0 ? v : MIN(st->min, v);
            st->max = st->n == 0 ? v : MAX(st->max, v);
            st->sum += v;
            st->n++;
        }
    }
    return stats;
}

static guint count_metrics(void)
{
    guint n = 0;
    const SvBenchMetric *metrics = sv_bench_metrics();
    while (metrics != NULL && metrics[n].name != NULL) {
        n++;
    }
    return n;
}

/* A Bencher measure slug: lower case, [a-z0-9-], at most 64 characters. */
static char *measure_slug(const char *name)
{
    GString *s = g_string_new(NULL);
    for (const char *p = name; *p != '\0' && s->len < 64; p++) {
        char c = g_ascii_tolower(*p);
        g_string_append_c(s, g_ascii_isalnum(c) ? c : '-');
    }
    return g_string_free(s, FALSE);
}

static char *to_json(JsonBuilder *b)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_indent(gen, 2);
    char *text = json_generator_to_data(gen, NULL);
    char *with_newline = g_strconcat(text, "\n", NULL);
    g_free(text);
    return with_newline;
}

/*
 * Bencher Metric Format: {"KEY": {"measure-slug": {"value", "lower_value",
 * "upper_value"}}}; value is the mean over the key's repeats, the bounds
 * their minimum and maximum (only with more than one repeat).
 */
static char *build_bencher(GPtrArray *keys, const Stat *stats, guint n_metrics)
{
    const SvBenchMetric *metrics = sv_bench_metrics();
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    for (guint k = 0; k < keys->len; k++) {
        json_builder_set_member_name(b, g_ptr_array_index(keys, k));
        json_builder_begin_object(b);
        for (guint m = 0; m < n_metrics; m++) {
            const Stat *st = &stats[k * n_metrics + m];
            if (st->n == 0) {
                continue;
            }
            g_autofree char *slug = measure_slug(metrics[m].name);
            json_builder_set_member_name(b, slug);
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "value");
            json_builder_add_double_value(b, st->sum / st->n);
            if (st->n > 1) {
                json_builder_set_member_name(b, "lower_value");
                json_builder_add_double_value(b, st->min);
                json_builder_set_member_name(b, "upper_value");
                json_builder_add_double_value(b, st->max);
            }
            json_builder_end_object(b);
        }
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    return to_json(b);
}

/*
 * github-action-benchmark "customSmallerIsBetter" (@better < 0) or
 * "customBiggerIsBetter" (@better > 0): [{"name", "unit", "value",
 * "range"?, "extra"}]; metrics without a direction are in neither.
 */
static char *build_github(GPtrArray *keys, const Stat *stats, guint n_metrics, int better)
{
    const SvBenchMetric *metrics = sv_bench_metrics();
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_array(b);
    for (guint k = 0; k < keys->len; k++) {
        for (guint m = 0; m < n_metrics; m++) {
            const Stat *st = &stats[k * n_metrics + m];
            if (st->n == 0 || (better < 0 ? metrics[m].better >= 0 : metrics[m].better <= 0)) {
                continue;
            }
            g_autofree char *name =
                g_strdup_printf("%s %s", (const char *)g_ptr_array_index(keys, k), metrics[m].name);
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "name");
            json_builder_add_string_value(b, name);
            json_builder_set_member_name(b, "unit");
            json_builder_add_string_value(b, metrics[m].unit != NULL && metrics[m].unit[0] != '\0'
                                                 ? metrics[m].unit
                                                 : "value");
            json_builder_set_member_name(b, "value");
            json_builder_add_double_value(b, st->sum / st->n);
            if (st->n > 1) {
                char buf[G_ASCII_DTOSTR_BUF_SIZE];
                g_ascii_formatd(buf, sizeof(buf), "%.6g", (st->max - st->min) / 2);
                g_autofree char *range = g_strdup_printf("\u00b1 %s", buf);
                json_builder_set_member_name(b, "range");
                json_builder_add_string_value(b, range);
            }
            g_autofree char *extra =
                g_strdup_printf("%u run%s; %s", st->n, st->n == 1 ? "" : "s",
                                metrics[m].help != NULL ? metrics[m].help : metrics[m].name);
            json_builder_set_member_name(b, "extra");
            json_builder_add_string_value(b, extra);
            json_builder_end_object(b);
        }
    }
    json_builder_end_array(b);
    return to_json(b);
}

/* FILE.json → FILE-bigger.json; FILE → FILE-bigger. */
static char *bigger_path(const char *path)
{
    if (g_str_has_suffix(path, ".json")) {
        g_autofree char *stem = g_strndup(path, strlen(path) - 5);
        return g_strconcat(stem, "-bigger.json", NULL);
    }
    return g_strconcat(path, "-bigger", NULL);
}

/* ---------------------------------------------------------------------------
 * Writing: every output goes to PATH.tmp; all are renamed once all are written.
 * ------------------------------------------------------------------------- */

typedef struct {
    char *path;
    char *text;
} Output;

static void output_clear(gpointer p)
{
    Output *o = p;
    g_free(o->path);
    g_free(o->text);
}

static gboolean write_outputs(GArray *outputs)
{
    guint written = 0;
    gboolean ok = TRUE;
    for (; written < outputs->len && ok; written++) {
        Output *o = &g_array_index(outputs, Output, written);
        g_autofree char *tmp = g_strconcat(o->path, ".tmp", NULL);
        g_autoptr(GError) error = NULL;
        if (!g_file_set_contents(tmp, o->text, -1, &error)) {
            fprintf(stderr, "spice-bench: %s\n", error->message);
            ok = FALSE;
        }
    }
    for (guint i = 0; i < written; i++) {
        Output *o = &g_array_index(outputs, Output, i);
        g_autofree char *tmp = g_strconcat(o->path, ".tmp", NULL);
        if (ok && g_rename(tmp, o->path) != 0) {
            fprintf(stderr, "spice-bench: cannot rename %s to %s: %s\n", tmp, o->path,
                    g_strerror(errno));
            ok = FALSE;
        }
        if (!ok) {
            g_unlink(tmp);
        }
    }
    return ok;
}

static void add_output(GArray *outputs, const char *path, char *text)
{
    Output o = {g_strdup(path), text};
    g_array_append_val(outputs, o);
}

int sv_bench_report_main(int argc, char **argv)
{
    const char *output = NULL, *title = "spice-bench report", *compare_path = NULL;
    const char *rd_path = NULL, *bencher_path = NULL, *github_path = NULL;
    g_autoptr(GPtrArray) inputs = g_ptr_array_new();

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_usage(stdout);
            return 0;
        }
        if (a[0] != '-') {
            g_ptr_array_add(inputs, (gpointer)a);
            continue;
        }
        static const char *const with_value[] = {
            "-o", "--output", "--title", "--compare", "--rd", "--bencher", "--github-benchmark",
        };
        gboolean known = FALSE;
        for (guint k = 0; k < G_N_ELEMENTS(with_value); k++) {
            known = known || strcmp(a, with_value[k]) == 0;
        }
        if (!known) {
            fprintf(stderr,
                    "spice-bench: unknown option '%s' for report (see spice-bench report "
                    "--help)\n",
                    a);
            return EXIT_USAGE;
        }
        if (i + 1 >= argc || argv[i + 1][0] == '\0') {
            fprintf(stderr, "spice-bench: %s needs a value\n", a);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            output = v;
        } else if (strcmp(a, "--title") == 0) {
            title = v;
        } else if (strcmp(a, "--compare") == 0) {
            compare_path = v;
        } else if (strcmp(a, "--rd") == 0) {
            rd_path = v;
        } else if (strcmp(a, "--bencher") == 0) {
            bencher_path = v;
        } else {
            github_path = v;
        }
    }
    if (inputs->len == 0) {
        fprintf(stderr, "spice-bench: report: no results given (see spice-bench report --help)\n");
        return EXIT_USAGE;
    }
    if (output == NULL) {
        fprintf(stderr, "spice-bench: report: -o FILE is required\n");
        return EXIT_USAGE;
    }

    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) runs =
        sv_bench_results_load((const char *const *)inputs->pdata, inputs->len, &error);
    if (runs == NULL) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        return EXIT_USAGE;
    }
    if (runs->len == 0) {
        fprintf(stderr, "spice-bench: report: the inputs hold no result\n");
        return EXIT_USAGE;
    }

    g_autoptr(JsonNode) compare = NULL;
    g_autoptr(JsonArray) verdicts = NULL;
    if (compare_path != NULL) {
        compare = load_json("--compare", compare_path);
        if (compare == NULL) {
            return EXIT_USAGE;
        }
        verdicts = comparison_list(compare);
        if (verdicts == NULL) {
            fprintf(stderr,
                    "spice-bench: --compare %s: no \"comparisons\" or \"runs\" array (expected "
                    "the output of spice-bench compare --format json)\n",
                    compare_path);
            return EXIT_USAGE;
        }
    }
    g_autoptr(JsonNode) rd = NULL;
    if (rd_path != NULL) {
        rd = load_json("--rd", rd_path);
        if (rd == NULL) {
            return EXIT_USAGE;
        }
        if (rd_curves(rd) == NULL) {
            fprintf(stderr,
                    "spice-bench: --rd %s: no \"codecs\" or \"curves\" array (expected the "
                    "output of spice-bench rd --json)\n",
                    rd_path);
            return EXIT_USAGE;
        }
    }

    g_autoptr(GArray) outputs = g_array_new(FALSE, TRUE, sizeof(Output));
    g_array_set_clear_func(outputs, output_clear);
    add_output(outputs, output, build_html(runs, title, verdicts, rd, rd_path));

    if (bencher_path != NULL || github_path != NULL) {
        g_autofree guint *index = g_new0(guint, runs->len);
        g_autoptr(GPtrArray) keys = unique_keys(runs, index);
        guint n_metrics = count_metrics();
        g_autofree Stat *stats = collect_stats(runs, index, keys->len, n_metrics);
        if (bencher_path != NULL) {
            add_output(outputs, bencher_path, build_bencher(keys, stats, n_metrics));
        }
        if (github_path != NULL) {
            g_autofree char *bigger = bigger_path(github_path);
            add_output(outputs, github_path, build_github(keys, stats, n_metrics, -1));
            add_output(outputs, bigger, build_github(keys, stats, n_metrics, +1));
        }
    }
    return write_outputs(outputs) ? 0 : EXIT_FAILED;
}
