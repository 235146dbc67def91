/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * bench-results.h: reading replay results (JSON of schema
 * spice-bench-replay/1, docs/metrics.md) for `matrix`, `merge`, `compare`,
 * `rd` and `report`. A result set is a directory written by `spice-bench
 * matrix` (index.json + one JSON per run) or single result files.
 */
#ifndef SV_BENCH_RESULTS_H
#define SV_BENCH_RESULTS_H

#include <glib.h>
#include <json-glib/json-glib.h>

/* One replay result. */
typedef struct SvBenchRun {
    char *path;     /* the result file */
    char *trace;    /* run.trace as recorded */
    char *codec;    /* the matrix's codec label ("vp8"), else run.video_codecs */
    char *net;      /* the matrix's net label ("wan"), else run.net */
    char *options;  /* encoder options, "" if none */
    guint repeat;   /* 0, 1, … among identical runs */
    char *key;      /* trace basename|codec|net|options: what compare matches on */
    JsonNode *root; /* the whole document */
} SvBenchRun;

/* A metric compare and report know, read from a result's JSON. */
typedef struct SvBenchMetric {
    const char *name;      /* "psnr_mean", "latency_p95_ms", … */
    const char *json_path; /* where it is, e.g. "quality.psnr_y.mean" */
    const char *unit;      /* "dB", "ms", "bit/s", "%", "" */
    int better;            /* +1 higher is better, -1 lower is better, 0 neither */
    gboolean noisy;        /* measured on the host (wall/CPU time): compared statistically */
    const char *help;
} SvBenchMetric;

/* @return the table of metrics (NULL-name terminated). */
const SvBenchMetric *sv_bench_metrics(void);
const SvBenchMetric *sv_bench_metric_find(const char *name);

/*
 * Loads results from @paths (directories with index.json, or JSON files);
 * every file is checked for the schema. @return a GPtrArray of SvBenchRun
 * (freeing the array frees them), or NULL with a one-line @error naming
 * the file and what was wrong.
 */
GPtrArray *sv_bench_results_load(const char *const *paths, guint n_paths, GError **error);

/* @return the value of @metric in @run; FALSE if absent or null. */
gboolean sv_bench_run_get(const SvBenchRun *run, const SvBenchMetric *metric, double *value);

/* Reads a number at a dotted @json_path ("latency_ms.end_to_end.p95"). */
gboolean sv_bench_json_get_double(JsonNode *root, const char *json_path, double *value);

/*
 * Reads DIR/index.json, the index of a result set written by `spice-bench
 * matrix` or `merge` (schema spice-bench-matrix/1, docs/ci.md), and checks
 * its run entries. @return the document (free with json_node_unref()), or
 * NULL with a one-line @error naming the file.
 */
JsonNode *sv_bench_index_read(const char *dir, GError **error);

#endif /* SV_BENCH_RESULTS_H */
