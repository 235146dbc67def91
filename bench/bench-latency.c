/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * `spice-bench latency TRACE...`: the latency policies measured side by
 * side. Every trace × net × codec is replayed once per policy (spice, then
 * interactive) in this process; the two results go on adjacent rows of one
 * table, with the targets of the interactive policy marked (docs/latency.md):
 *  - lan: interactive p50 <= 60 ms (spice keeps 400 ms);
 *  - any other net: interactive p50 <= one-way delay + 80 ms;
 *  - displayed frames: at most 5 points below the spice policy;
 *  - PSNR: at most 1 dB below the spice policy.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include <spice-video/spice-video.h>

#include "bench-commands.h"
#include "bench-results.h"

#define EXIT_USAGE 2

#define LAN_P50_TARGET_MS 60.0
#define WAN_P50_MARGIN_MS 80.0 /* over the one-way delay */
#define SHOWN_POINTS_MAX_LOSS 5.0
#define PSNR_MAX_LOSS_DB 1.0

static const char *const stage_keys[] = {"queue", "encode", "send", "network", "decode", "display"};
#define N_STAGES G_N_ELEMENTS(stage_keys)

/* What the table shows of one run. */
typedef struct {
    double p50_ms, p95_ms;
    double stage_mean_ms[N_STAGES];
    double shown_pct; /* shown / stream frames, % */
    double video_bps;
    double psnr_db;
    double one_way_ms; /* measured round trip / 2 */
} PolicyResult;

void sv_bench_latency_usage(FILE *out)
{
    fputs("Usage: spice-bench latency TRACE... [--codecs LIST] [--nets LIST]\n"
          "                           [--deterministic] [--duration S] [--seed N]\n"
          "                           [--markdown FILE]\n"
          "\n"
          "Replays every TRACE x net x codec once with each latency policy (spice, then\n"
          "interactive) and prints them on adjacent rows of one table: end-to-end latency\n"
          "p50/p95 and its mean by stage (queue, encode, send, network, decode, display),\n"
          "the share of stream frames shown, the video bitrate and PSNR-Y. The\n"
          "interactive row marks its targets: on lan p50 <= 60 ms; on other nets p50 <=\n"
          "one-way delay + 80 ms; displayed frames at most 5 points and PSNR at most\n"
          "1 dB below the spice policy.\n"
          "\n"
          "Options:\n"
          "  --codecs LIST      comma-separated codecs (default: mjpeg,vp8,h264)\n"
          "  --nets LIST        comma-separated --net specs (default: lan,wan,mobile)\n"
          "  --deterministic    the fixed cost model: the same table on any machine\n"
          "  --duration S       replay only the first S seconds of each trace\n"
          "  --seed N           seed of jitter, loss and report ids (default 1)\n"
          "  --markdown FILE    also write the table as Markdown (via FILE.tmp), headed by\n"
          "                     the command that made it\n"
          "  -h, --help         show this help\n"
          "\n"
          "Exit status: 0 when every run completed (whether or not the targets are met),\n"
          "2 for bad input, 1 for other failures.\n",
          out);
}

static char *trace_label(const char *path)
{
    g_autofree char *base = g_path_get_basename(path);
    static const char *const suffixes[] = {".spice.zst", ".spice.gz", ".spice"};
    for (guint i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        if (g_str_has_suffix(base, suffixes[i])) {
            base[strlen(base) - strlen(suffixes[i])] = '\0';
            break;
        }
    }
    return g_steal_pointer(&base);
}

static double get_or_nan(JsonNode *root, const char *path)
{
    double v;
    return sv_bench_json_get_double(root, path, &v) ? v : NAN;
}

/* Runs one replay into a temporary JSON and reads what the table needs. */
static int run_one(const SvReplayConfig *base, const char *tmp_dir, SvLatencyPolicy policy,
                   PolicyResult *out)
{
    SvReplayConfig cfg = *base;
    g_autofree char *json = g_build_filename(tmp_dir, "run.json", NULL);
    cfg.latency_policy = policy;
    cfg.json_path = json;
    cfg.summary = NULL;
    cfg.progress = NULL;

    g_autoptr(GError) error = NULL;
    if (!sv_replay_run(&cfg, NULL, &error)) {
        fprintf(stderr, "spice-bench: latency: %s, net %s, codec %s, policy %s: %s\n",
                cfg.trace_path, cfg.net, cfg.codec, sv_latency_policy_to_string(policy),
                error->message);
        gboolean bad_input =
            (error->domain == SV_REPLAY_ERROR && error->code == SV_REPLAY_ERROR_BAD_INPUT) ||
            error->domain == SV_TRACE_ERROR;
        return bad_input ? EXIT_USAGE : 1;
    }
    const char *paths[] = {json};
    g_autoptr(GPtrArray) runs = sv_bench_results_load(paths, 1, &error);
    g_unlink(json);
    if (runs == NULL) {
        fprintf(stderr, "spice-bench: latency: %s\n", error->message);
        return 1;
    }
    const SvBenchRun *run = g_ptr_array_index(runs, 0);
    JsonNode *root = run->root;
    out->p50_ms = get_or_nan(root, "latency_ms.end_to_end.p50");
    out->p95_ms = get_or_nan(root, "latency_ms.end_to_end.p95");
    for (guint i = 0; i < N_STAGES; i++) {
        g_autofree char *path = g_strdup_printf("latency_ms.%s.mean", stage_keys[i]);
        out->stage_mean_ms[i] = get_or_nan(root, path);
    }
    double frames = get_or_nan(root, "frames.stream_frames");
    double shown = get_or_nan(root, "frames.shown");
    out->shown_pct = frames > 0 ? 100.0 * shown / frames : NAN;
    out->video_bps = get_or_nan(root, "bitrate.video_mean_bps");
    out->psnr_db = get_or_nan(root, "quality.psnr_y_db.mean");
    out->one_way_ms = get_or_nan(root, "network.roundtrip_ms") / 2.0;
    return 0;
}

static char *fmt(double v, const char *format)
{
    if (!isfinite(v)) {
        return g_strdup("-");
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    return g_strdup(g_ascii_formatd(buf, sizeof(buf), format, v));
}

/* The net's name: "wan" of "wan,jitter=5ms". */
static char *net_name(const char *spec)
{
    const char *comma = strchr(spec, ',');
    return comma != NULL ? g_strndup(spec, (gsize)(comma - spec)) : g_strdup(spec);
}

/* The targets cell of the interactive row; @met_all cleared on a miss. */
static char *targets_cell(const char *net, const PolicyResult *s, const PolicyResult *i,
                          gboolean *met_all)
{
    g_autofree char *name = net_name(net);
    gboolean lan = strcmp(name, "lan") == 0;
    double limit = lan ? LAN_P50_TARGET_MS : i->one_way_ms + WAN_P50_MARGIN_MS;
    GString *cell = g_string_new(NULL);
    g_autofree char *limit_s = fmt(limit, "%.0f");

    gboolean p50_ok = isfinite(i->p50_ms) && isfinite(limit) && i->p50_ms <= limit;
    g_string_append_printf(cell, "p50<=%s %s", limit_s, p50_ok ? "ok" : "MISS");

    gboolean shown_ok = isfinite(i->shown_pct) && isfinite(s->shown_pct) &&
                        i->shown_pct >= s->shown_pct - SHOWN_POINTS_MAX_LOSS;
    g_string_append_printf(cell, ", shown %s", shown_ok ? "ok" : "MISS");

    gboolean psnr_ok;
    if (!isfinite(s->psnr_db)) {
        psnr_ok = TRUE; /* nothing to compare with */
        g_string_append(cell, ", PSNR n/a");
    } else {
        psnr_ok = isfinite(i->psnr_db) && i->psnr_db >= s->psnr_db - PSNR_MAX_LOSS_DB;
        g_string_append_printf(cell, ", PSNR %s", psnr_ok ? "ok" : "MISS");
    }
    if (!(p50_ok && shown_ok && psnr_ok)) {
        *met_all = FALSE;
    }
    return g_string_free(cell, FALSE);
}

#define N_COLUMNS (4 + 2 + N_STAGES + 4)

static const char *const headers[N_COLUMNS] = {
    "trace",   "net",        "codec",   "policy",
    "p50 ms",  "p95 ms",     "queue",   "encode",
    "send",    "network",    "decode",  "display",
    "shown %", "video Mb/s", "PSNR dB", "targets (interactive)",
};

/* Cells of one row (owned by the caller, g_strfreev). */
static char **row_cells(const char *trace, const char *net, const char *codec,
                        SvLatencyPolicy policy, const PolicyResult *r, const char *targets)
{
    char **cells = g_new0(char *, N_COLUMNS + 1);
    guint c = 0;
    cells[c++] = g_strdup(trace);
    cells[c++] = g_strdup(net);
    cells[c++] = g_strdup(codec);
    cells[c++] = g_strdup(sv_latency_policy_to_string(policy));
    cells[c++] = fmt(r->p50_ms, "%.1f");
    cells[c++] = fmt(r->p95_ms, "%.1f");
    for (guint i = 0; i < N_STAGES; i++) {
        cells[c++] = fmt(r->stage_mean_ms[i], "%.1f");
    }
    cells[c++] = fmt(r->shown_pct, "%.1f");
    cells[c++] = fmt(r->video_bps / 1e6, "%.2f");
    cells[c++] = fmt(r->psnr_db, "%.2f");
    cells[c++] = g_strdup(targets != NULL ? targets : "");
    return cells;
}

static void print_text(FILE *out, GPtrArray *rows)
{
    guint width[N_COLUMNS];
    for (guint c = 0; c < N_COLUMNS; c++) {
        width[c] = (guint)g_utf8_strlen(headers[c], -1);
        for (guint r = 0; r < rows->len; r++) {
            char **cells = g_ptr_array_index(rows, r);
            width[c] = MAX(width[c], (guint)g_utf8_strlen(cells[c], -1));
        }
    }
    g_autoptr(GString) line = g_string_new(NULL);
    for (guint r = 0; r <= rows->len; r++) {
        const char *const *cells = r == 0 ? headers : g_ptr_array_index(rows, r - 1);
        g_string_truncate(line, 0);
        for (guint c = 0; c < N_COLUMNS; c++) {
            /* Text left, numbers right. */
            gboolean left = c < 4 || c == N_COLUMNS - 1;
            int pad = (int)width[c] - (int)g_utf8_strlen(cells[c], -1);
            if (left) {
                g_string_append_printf(line, "%s%*s  ", cells[c], pad, "");
            } else {
                g_string_append_printf(line, "%*s%s  ", pad, "", cells[c]);
            }
        }
        while (line->len > 0 && line->str[line->len - 1] == ' ') {
            g_string_truncate(line, line->len - 1);
        }
        fprintf(out, "%s\n", line->str);
    }
}

static GString *markdown(GPtrArray *rows, const char *command, guint met, guint total)
{
    GString *s = g_string_new("# Latency policies, measured\n\n");
    g_string_append_printf(s, "Generated with:\n\n```sh\n%s\n```\n\n", command);
    g_string_append(s, "Each combination is replayed once per latency policy; the interactive row\n"
                       "marks its targets (lan: p50 <= 60 ms; other nets: p50 <= one-way delay\n"
                       "+ 80 ms, the one-way delay being half the measured round trip; shown\n"
                       "frames at most 5 points and PSNR at most 1 dB below the spice policy).\n"
                       "Stage columns are means in ms (docs/metrics.md); \"shown %\" is shown\n"
                       "stream frames over stream frames from the guest.\n\n");
    g_string_append(s, "|");
    for (guint c = 0; c < N_COLUMNS; c++) {
        g_string_append_printf(s, " %s |", headers[c]);
    }
    g_string_append(s, "\n|");
    for (guint c = 0; c < N_COLUMNS; c++) {
        g_string_append(s, c < 4 || c == N_COLUMNS - 1 ? "---|" : "---:|");
    }
    g_string_append_c(s, '\n');
    for (guint r = 0; r < rows->len; r++) {
        char **cells = g_ptr_array_index(rows, r);
        g_string_append(s, "|");
        for (guint c = 0; c < N_COLUMNS; c++) {
            g_string_append_printf(s, " %s |", cells[c]);
        }
        g_string_append_c(s, '\n');
    }
    g_string_append_printf(s, "\n%u of %u combinations meet every target.\n", met, total);
    return s;
}

static gboolean write_file(const char *path, const GString *text)
{
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

static char **split_list(const char *opt, const char *value)
{
    char **items = g_strsplit(value, ",", -1);
    if (items[0] == NULL) {
        fprintf(stderr, "spice-bench: %s: empty list\n", opt);
        g_strfreev(items);
        return NULL;
    }
    for (guint i = 0; items[i] != NULL; i++) {
        g_strstrip(items[i]);
        if (items[i][0] == '\0') {
            fprintf(stderr, "spice-bench: %s: empty item in '%s'\n", opt, value);
            g_strfreev(items);
            return NULL;
        }
    }
    return items;
}

/* The command line, shell-quoted where needed: the head of the Markdown. */
static char *command_line(int argc, char **argv)
{
    GString *s = g_string_new("spice-bench latency");
    for (int i = 1; i < argc; i++) {
        gboolean plain =
            argv[i][0] != '\0' && strspn(argv[i], "abcdefghijklmnopqrstuvwxyz"
                                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                  "0123456789-_.,/=:+") == strlen(argv[i]);
        if (plain) {
            g_string_append_printf(s, " %s", argv[i]);
        } else {
            g_autofree char *q = g_shell_quote(argv[i]);
            g_string_append_printf(s, " %s", q);
        }
    }
    return g_string_free(s, FALSE);
}

/* @argv[0] is "latency". */
int sv_bench_latency_main(int argc, char **argv)
{
    SvReplayConfig base;
    sv_replay_config_init(&base);
    g_autoptr(GPtrArray) traces = g_ptr_array_new();
    g_auto(GStrv) codecs = g_strsplit("mjpeg,vp8,h264", ",", -1);
    g_auto(GStrv) nets = g_strsplit("lan,wan,mobile", ",", -1);
    const char *markdown_path = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            sv_bench_latency_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--deterministic") == 0) {
            base.deterministic = TRUE;
            continue;
        }
        if (a[0] != '-') {
            g_ptr_array_add(traces, (gpointer)a);
            continue;
        }
        static const char *const with_value[] = {"--codecs", "--nets", "--duration", "--seed",
                                                 "--markdown"};
        gboolean known = FALSE;
        for (guint k = 0; k < G_N_ELEMENTS(with_value); k++) {
            known = known || strcmp(a, with_value[k]) == 0;
        }
        if (!known) {
            fprintf(stderr,
                    "spice-bench: latency: unknown option '%s' (see spice-bench "
                    "latency --help)\n",
                    a);
            return EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "spice-bench: %s needs a value\n", a);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--codecs") == 0 || strcmp(a, "--nets") == 0) {
            char **items = split_list(a, v);
            if (items == NULL) {
                return EXIT_USAGE;
            }
            if (strcmp(a, "--codecs") == 0) {
                g_strfreev(codecs);
                codecs = items;
            } else {
                g_strfreev(nets);
                nets = items;
            }
        } else if (strcmp(a, "--duration") == 0) {
            char *end = NULL;
            double d = g_ascii_strtod(v, &end);
            if (end == v || *end != '\0' || !(d >= 0.001) || d > 1e9) {
                fprintf(stderr, "spice-bench: --duration: '%s' is not a number >= 0.001\n", v);
                return EXIT_USAGE;
            }
            base.max_duration_ns = (int64_t)(d * 1e9);
        } else if (strcmp(a, "--seed") == 0) {
            char *end = NULL;
            errno = 0;
            guint64 seed = g_ascii_strtoull(v, &end, 10);
            if (errno != 0 || end == v || *end != '\0') {
                fprintf(stderr, "spice-bench: --seed: '%s' is not a non-negative integer\n", v);
                return EXIT_USAGE;
            }
            base.seed = seed;
        } else {
            markdown_path = v;
        }
    }
    if (traces->len == 0) {
        fprintf(stderr, "spice-bench: latency: no trace given (see spice-bench latency --help)\n");
        return EXIT_USAGE;
    }

    g_autoptr(GError) error = NULL;
    g_autofree char *tmp_dir = g_dir_make_tmp("spice-bench-latency-XXXXXX", &error);
    if (tmp_dir == NULL) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        return 1;
    }
    GPtrArray *rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
    guint met = 0, total = 0;
    int status = 0;
    for (guint t = 0; t < traces->len && status == 0; t++) {
        const char *trace = g_ptr_array_index(traces, t);
        g_autofree char *label = trace_label(trace);
        for (guint n = 0; nets[n] != NULL && status == 0; n++) {
            for (guint c = 0; codecs[c] != NULL && status == 0; c++) {
                SvReplayConfig cfg = base;
                cfg.trace_path = trace;
                cfg.net = nets[n];
                cfg.codec = codecs[c];
                PolicyResult spice, interactive;
                status = run_one(&cfg, tmp_dir, SV_LATENCY_POLICY_SPICE, &spice);
                if (status == 0) {
                    status = run_one(&cfg, tmp_dir, SV_LATENCY_POLICY_INTERACTIVE, &interactive);
                }
                if (status != 0) {
                    break;
                }
                gboolean ok = TRUE;
                g_autofree char *targets = targets_cell(nets[n], &spice, &interactive, &ok);
                met += ok;
                total++;
                g_ptr_array_add(rows, row_cells(label, nets[n], codecs[c], SV_LATENCY_POLICY_SPICE,
                                                &spice, NULL));
                g_ptr_array_add(rows,
                                row_cells(label, nets[n], codecs[c], SV_LATENCY_POLICY_INTERACTIVE,
                                          &interactive, targets));
            }
        }
    }
    g_rmdir(tmp_dir);
    if (status == 0) {
        print_text(stdout, rows);
        printf("%u of %u combinations meet every target.\n", met, total);
        if (markdown_path != NULL) {
            g_autofree char *command = command_line(argc, argv);
            g_autoptr(GString) md = markdown(rows, command, met, total);
            if (!write_file(markdown_path, md)) {
                status = 1;
            }
        }
    }
    g_ptr_array_unref(rows);
    return status;
}
