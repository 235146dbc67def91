/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/* What a replay measured (metrics.h, docs/metrics.md). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "metrics.h"

#define NS_PER_S INT64_C(1000000000)
#define NS_PER_MS 1e6
/* Identical planes have an infinite PSNR; averages and the JSON use this cap
 * (the value most tools print for "identical"). */
#define PSNR_CAP_DB 100.0
/* A stream belongs to a labelled region when their rectangles overlap by at
 * least this intersection-over-union. */
#define LABEL_MIN_IOU 0.5
/* Guard against absurd times: at most this many 1-second windows (~116 days). */
#define MAX_WINDOWS 10000000

/* ---------------------------------------------------------------------------
 * Log-bucketed histogram (docs/metrics.md, "Percentiles")
 *
 * Values below HIST_EXACT have a bucket each. Above, every power of two
 * [2^e, 2^(e+1)) is split into HIST_SUB equal buckets; a bucket is reported
 * by its midpoint, so the relative error is at most 1 / (2 · HIST_SUB).
 * ------------------------------------------------------------------------- */
#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS) /* 128 buckets per octave */
#define HIST_EXACT (2u * HIST_SUB)     /* 0 … 255 exact */

typedef struct {
    uint64_t *counts; /* grown to the largest index seen */
    guint n_counts;
    uint64_t n;
    uint64_t min, max;
    double sum;
} Hist;

static guint hist_index(uint64_t v)
{
    if (v < HIST_EXACT) {
        return (guint)v;
    }
    int e = 63 - __builtin_clzll(v); /* ≥ 8 */
    int shift = e - HIST_SUB_BITS;
    return HIST_EXACT + (guint)(e - HIST_SUB_BITS - 1) * HIST_SUB +
           (guint)((v >> shift) - HIST_SUB);
}

/* The midpoint of bucket @i. */
static double hist_value(guint i)
{
    if (i < HIST_EXACT) {
        return i;
    }
    guint e = (i - HIST_EXACT) / HIST_SUB + HIST_SUB_BITS + 1;
    guint sub = (i - HIST_EXACT) % HIST_SUB + HIST_SUB;
    int shift = (int)e - HIST_SUB_BITS;
    double lo = ldexp((double)sub, shift);
    return lo + (ldexp(1.0, shift) - 1.0) / 2.0;
}

static void hist_add(Hist *h, int64_t value)
{
    uint64_t v = value < 0 ? 0 : (uint64_t)value;
    guint i = hist_index(v);

    if (i >= h->n_counts) {
        guint n = MAX(i + 1, h->n_counts * 2);
        h->counts = g_renew(uint64_t, h->counts, n);
        memset(h->counts + h->n_counts, 0, (n - h->n_counts) * sizeof(uint64_t));
        h->n_counts = n;
    }
    h->counts[i]++;
    if (h->n == 0 || v < h->min) {
        h->min = v;
    }
    if (h->n == 0 || v > h->max) {
        h->max = v;
    }
    h->n++;
    h->sum += (double)v;
}

static void hist_clear(Hist *h)
{
    g_free(h->counts);
    memset(h, 0, sizeof(*h));
}

/* Nearest rank: the value of rank ceil(permille/1000 · n); NAN when empty. */
static double hist_percentile(const Hist *h, unsigned permille)
{
    if (h->n == 0) {
        return NAN;
    }
    uint64_t rank = MAX((permille * h->n + 999) / 1000, 1);
    uint64_t seen = 0;
    for (guint i = 0; i < h->n_counts; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            return CLAMP(hist_value(i), (double)h->min, (double)h->max);
        }
    }
    return (double)h->max;
}

static double hist_mean(const Hist *h)
{
    return h->n > 0 ? h->sum / (double)h->n : NAN;
}

/* ---------------------------------------------------------------------------
 * State
 * ------------------------------------------------------------------------- */

typedef struct {
    uint64_t bytes, video_bytes;
    double capacity_bits; /* ∫ capacity dt over the covered part */
    int64_t capacity_ns;  /* the covered part */
    uint32_t guest_draws, guest_stream_draws;
    uint32_t frames, encoded, shown, dropped_encoder, dropped_pipe, late;
    double psnr_sum;
    uint32_t psnr_n;
    gboolean has_rate;
    uint64_t bit_rate;
    double quality;
} Window;

typedef struct {
    int64_t window;
    uint64_t bit_rate;
    double quality;
} RateSample;

/* The end-to-end latency of a frame shown in window @window (by display time). */
typedef struct {
    int64_t window;
    double ms;
} LatencySample;

typedef struct {
    uint64_t frames, encoded, shown, dropped_encoder, dropped_pipe, as_image, not_decoded,
        undelivered, late;
} FrameCounts;

typedef struct {
    SvStreamRecord rec; /* rec.negotiation owned */
    gboolean has_record;
    FrameCounts counts;
    uint64_t bytes;
    Hist e2e, encode_cpu;
    double psnr_sum, ssim_sum;
    uint64_t psnr_n, ssim_n;
    GArray *rate; /* RateSample, one per window */
} Stream;

typedef struct {
    int32_t x, y, width, height;
    int64_t start_ns, end_ns;
    uint32_t frames;
} Label;

/* The latency stages, in pipeline order; the last one is end to end. */
enum {
    STAGE_QUEUE,
    STAGE_ENCODE,
    STAGE_SEND,
    STAGE_NETWORK,
    STAGE_DECODE,
    STAGE_DISPLAY,
    STAGE_END_TO_END,
    N_STAGES
};
static const char *const stage_names[N_STAGES] = {
    "queue", "encode", "send", "network", "decode", "display", "end_to_end",
};

typedef struct {
    char *trace, *video_codecs, *client, *net, *streaming, *latency_policy, *labels;
} RunStrings;

struct SvMetrics {
    char *csv_path;
    char *csv_tmp;
    FILE *csv;
    gboolean csv_failed;

    int64_t origin_ns; /* replay time 0 unless set */
    gboolean have_t;
    int64_t max_t_ns;

    GArray *windows; /* Window */
    int64_t first_window;
    GArray *shown_latency; /* LatencySample, in order of arrival */

    gboolean have_capacity;
    int64_t capacity_t_ns;
    uint64_t capacity_bps;

    FrameCounts counts;
    uint64_t guest_draws, guest_stream_draws;
    uint64_t total_bytes, video_bytes;
    gboolean have_bytes;
    int64_t last_byte_ns;
    Hist stages[N_STAGES];
    Hist encode_cpu;
    double psnr_sum, ssim_sum;
    uint64_t psnr_n, ssim_n;
    double psnr_min, psnr_max, ssim_min, ssim_max;

    GPtrArray *streams; /* Stream, in creation order */
    GArray *labels;     /* Label; NULL when no labels file */

    gboolean finished;
    SvRunInfo info; /* strings point into @strings */
    RunStrings strings;
};

const char *sv_frame_fate_to_string(SvFrameFate fate)
{
    switch (fate) {
    case SV_FRAME_FATE_SHOWN:
        return "shown";
    case SV_FRAME_FATE_DROPPED_ENCODER:
        return "dropped_encoder";
    case SV_FRAME_FATE_DROPPED_PIPE:
        return "dropped_pipe";
    case SV_FRAME_FATE_AS_IMAGE:
        return "as_image";
    case SV_FRAME_FATE_NOT_DECODED:
        return "not_decoded";
    case SV_FRAME_FATE_UNDELIVERED:
        return "undelivered";
    }
    return "unknown";
}

static void stream_free(gpointer data)
{
    Stream *s = data;
    g_free(s->rec.negotiation);
    hist_clear(&s->e2e);
    hist_clear(&s->encode_cpu);
    g_array_unref(s->rate);
    g_free(s);
}

static Stream *stream_new(int stream_id)
{
    Stream *s = g_new0(Stream, 1);
    s->rec.stream_id = stream_id;
    s->rec.created_ns = -1;
    s->rec.first_candidate_ns = -1;
    s->rec.stopped_ns = -1;
    s->rate = g_array_new(FALSE, FALSE, sizeof(RateSample));
    return s;
}

/* ---------------------------------------------------------------------------
 * CSV
 * ------------------------------------------------------------------------- */

static const char csv_header[] =
    "drawable_seq,stream_id,fate,late,width,height,guest_ns,encode_start_ns,encode_end_ns,"
    "sent_ns,arrived_ns,decoded_ns,displayed_ns,queue_ms,encode_ms,send_ms,network_ms,"
    "decode_ms,display_ms,end_to_end_ms,margin_ms,bytes,encode_cpu_ms,decode_cpu_ms,psnr_y,"
    "ssim_y,bit_rate\n";

SvMetrics *sv_metrics_new(const char *csv_path, GError **error)
{
    SvMetrics *m = g_new0(SvMetrics, 1);

    m->windows = g_array_new(FALSE, TRUE, sizeof(Window));
    m->shown_latency = g_array_new(FALSE, FALSE, sizeof(LatencySample));
    m->streams = g_ptr_array_new_with_free_func(stream_free);
    m->psnr_min = m->ssim_min = INFINITY;
    m->psnr_max = m->ssim_max = -INFINITY;
    if (csv_path != NULL) {
        m->csv_path = g_strdup(csv_path);
        m->csv_tmp = g_strconcat(csv_path, ".tmp", NULL);
        m->csv = g_fopen(m->csv_tmp, "w");
        if (m->csv == NULL) {
            int errsv = errno;
            g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv),
                        "%s: cannot create: %s", m->csv_tmp, g_strerror(errsv));
            m->csv_tmp = (g_free(m->csv_tmp), NULL);
            sv_metrics_free(m);
            return NULL;
        }
        if (fputs(csv_header, m->csv) == EOF) {
            m->csv_failed = TRUE;
        }
    }
    return m;
}

static void run_strings_clear(RunStrings *s)
{
    g_free(s->trace);
    g_free(s->video_codecs);
    g_free(s->client);
    g_free(s->net);
    g_free(s->streaming);
    g_free(s->latency_policy);
    g_free(s->labels);
    memset(s, 0, sizeof(*s));
}

void sv_metrics_free(SvMetrics *metrics)
{
    if (metrics == NULL) {
        return;
    }
    if (metrics->csv != NULL) {
        fclose(metrics->csv);
        g_unlink(metrics->csv_tmp); /* never finished: no partial file */
    }
    g_free(metrics->csv_path);
    g_free(metrics->csv_tmp);
    g_array_unref(metrics->windows);
    g_array_unref(metrics->shown_latency);
    g_ptr_array_unref(metrics->streams);
    if (metrics->labels != NULL) {
        g_array_unref(metrics->labels);
    }
    for (int i = 0; i < N_STAGES; i++) {
        hist_clear(&metrics->stages[i]);
    }
    hist_clear(&metrics->encode_cpu);
    run_strings_clear(&metrics->strings);
    g_free(metrics);
}

/* ---------------------------------------------------------------------------
 * Time and windows
 * ------------------------------------------------------------------------- */

void sv_metrics_set_origin(SvMetrics *metrics, int64_t origin_ns)
{
    g_return_if_fail(metrics != NULL);
    g_return_if_fail(metrics->windows->len == 0);

    metrics->origin_ns = origin_ns;
}

static void see_time(SvMetrics *m, int64_t t_ns)
{
    if (!m->have_t || t_ns > m->max_t_ns) {
        m->have_t = TRUE;
        m->max_t_ns = t_ns;
    }
}

static int64_t window_index(const SvMetrics *m, int64_t t_ns)
{
    int64_t d = t_ns - m->origin_ns;
    int64_t q = d / NS_PER_S;
    return (d % NS_PER_S != 0 && d < 0) ? q - 1 : q; /* floor */
}

/* The window holding @t_ns, created (with the ones between) if new; NULL for absurd times. */
static Window *window_at(SvMetrics *m, int64_t t_ns)
{
    see_time(m, t_ns);
    int64_t w = window_index(m, t_ns);
    GArray *a = m->windows;

    if (a->len == 0) {
        m->first_window = w;
        g_array_set_size(a, 1);
    } else if (w < m->first_window) {
        int64_t add = m->first_window - w;
        if (add + a->len > MAX_WINDOWS) {
            return NULL;
        }
        Window zero[64] = {{0}};
        for (int64_t left = add; left > 0; left -= 64) {
            g_array_prepend_vals(a, zero, (guint)MIN(left, 64));
        }
        m->first_window = w;
    } else if (w - m->first_window >= a->len) {
        if (w - m->first_window >= MAX_WINDOWS) {
            return NULL;
        }
        g_array_set_size(a, (guint)(w - m->first_window + 1));
    }
    return &g_array_index(a, Window, (guint)(w - m->first_window));
}

/* Adds the capacity in force from @from_ns to @to_ns to the windows it covers. */
static void integrate_capacity(SvMetrics *m, int64_t from_ns, int64_t to_ns, uint64_t bps)
{
    while (from_ns < to_ns) {
        Window *win = window_at(m, from_ns);
        if (win == NULL) {
            return;
        }
        int64_t end = m->origin_ns + (window_index(m, from_ns) + 1) * NS_PER_S;
        int64_t piece = MIN(end, to_ns) - from_ns;
        win->capacity_bits += (double)bps * ((double)piece / (double)NS_PER_S);
        win->capacity_ns += piece;
        from_ns += piece;
    }
}

/* ---------------------------------------------------------------------------
 * Streams
 * ------------------------------------------------------------------------- */

/* The stream @stream_id meant at @t_ns: the latest one created by then, else
 * the latest with that id, else a new placeholder (a record may follow). */
static Stream *stream_for(SvMetrics *m, int stream_id, int64_t t_ns)
{
    Stream *any = NULL;
    for (guint i = m->streams->len; i-- > 0;) {
        Stream *s = g_ptr_array_index(m->streams, i);
        if (s->rec.stream_id != stream_id) {
            continue;
        }
        if (!s->has_record || s->rec.created_ns <= t_ns) {
            return s;
        }
        any = s;
    }
    if (any != NULL) {
        return any;
    }
    Stream *s = stream_new(stream_id);
    g_ptr_array_add(m->streams, s);
    return s;
}

void sv_metrics_add_stream(SvMetrics *metrics, const SvStreamRecord *stream)
{
    g_return_if_fail(metrics != NULL && stream != NULL);

    Stream *target = NULL;
    for (guint i = 0; i < metrics->streams->len; i++) {
        Stream *s = g_ptr_array_index(metrics->streams, i);
        if (s->rec.stream_id == stream->stream_id &&
            (!s->has_record || s->rec.created_ns == stream->created_ns)) {
            target = s; /* a placeholder from earlier frames, or the same stream again */
        }
    }
    if (target == NULL) {
        target = stream_new(stream->stream_id);
        g_ptr_array_add(metrics->streams, target);
    }
    g_free(target->rec.negotiation);
    target->rec = *stream;
    target->rec.codec[sizeof(target->rec.codec) - 1] = '\0';
    target->rec.encoder[sizeof(target->rec.encoder) - 1] = '\0';
    target->has_record = TRUE;
    see_time(metrics, stream->created_ns);
}

void sv_metrics_stream_stopped(SvMetrics *metrics, int stream_id, int64_t stopped_ns)
{
    g_return_if_fail(metrics != NULL);

    for (guint i = metrics->streams->len; i-- > 0;) {
        Stream *s = g_ptr_array_index(metrics->streams, i);
        if (s->rec.stream_id == stream_id && s->has_record && s->rec.stopped_ns < 0) {
            s->rec.stopped_ns = stopped_ns;
            see_time(metrics, stopped_ns);
            return;
        }
    }
    g_debug("stream %d stopped at %" PRId64 " ns without a record", stream_id, stopped_ns);
}

/* ---------------------------------------------------------------------------
 * Adding
 * ------------------------------------------------------------------------- */

static void count_fate(FrameCounts *c, const SvFrameRecord *f, gboolean encoded)
{
    c->frames++;
    c->encoded += encoded;
    c->late += f->late != FALSE;
    switch (f->fate) {
    case SV_FRAME_FATE_SHOWN:
        c->shown++;
        break;
    case SV_FRAME_FATE_DROPPED_ENCODER:
        c->dropped_encoder++;
        break;
    case SV_FRAME_FATE_DROPPED_PIPE:
        c->dropped_pipe++;
        break;
    case SV_FRAME_FATE_AS_IMAGE:
        c->as_image++;
        break;
    case SV_FRAME_FATE_NOT_DECODED:
        c->not_decoded++;
        break;
    case SV_FRAME_FATE_UNDELIVERED:
        c->undelivered++;
        break;
    }
}

static double capped_psnr(double psnr)
{
    return isinf(psnr) && psnr > 0 ? PSNR_CAP_DB : psnr;
}

static void csv_time(GString *row, int64_t t_ns)
{
    if (t_ns >= 0) {
        g_string_append_printf(row, "%" PRId64, t_ns);
    }
    g_string_append_c(row, ',');
}

static void csv_double(GString *row, const char *format, double v, gboolean last)
{
    if (isfinite(v)) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append(row, g_ascii_formatd(buf, sizeof(buf), format, v));
    }
    g_string_append_c(row, last ? '\n' : ',');
}

static void write_csv_row(SvMetrics *m, const SvFrameRecord *f, const double stage_ms[N_STAGES])
{
    g_autoptr(GString) row = g_string_sized_new(256);

    g_string_append_printf(row, "%" PRIu64 ",%d,%s,%d,%u,%u,", f->drawable_seq, f->stream_id,
                           sv_frame_fate_to_string(f->fate), f->late ? 1 : 0, f->width, f->height);
    csv_time(row, f->guest_ns);
    csv_time(row, f->encode_start_ns);
    csv_time(row, f->encode_end_ns);
    csv_time(row, f->sent_ns);
    csv_time(row, f->arrived_ns);
    csv_time(row, f->decoded_ns);
    csv_time(row, f->displayed_ns);
    for (int i = 0; i < N_STAGES; i++) {
        csv_double(row, "%.3f", stage_ms[i], FALSE);
    }
    g_string_append_printf(row, "%d,%u,", f->margin_ms, f->bytes);
    csv_double(row, "%.3f", f->encode_cpu_ns >= 0 ? f->encode_cpu_ns / NS_PER_MS : NAN, FALSE);
    csv_double(row, "%.3f", f->decode_cpu_ns >= 0 ? f->decode_cpu_ns / NS_PER_MS : NAN, FALSE);
    csv_double(row, "%.2f", capped_psnr(f->psnr_y), FALSE);
    csv_double(row, "%.4f", f->ssim_y, FALSE);
    g_string_append_printf(row, "%" PRIu64 "\n", f->bit_rate);
    if (fwrite(row->str, 1, row->len, m->csv) != row->len) {
        m->csv_failed = TRUE;
    }
}

void sv_metrics_add_frame(SvMetrics *metrics, const SvFrameRecord *frame)
{
    g_return_if_fail(metrics != NULL && frame != NULL);
    const SvFrameRecord *f = frame;
    const int64_t at[] = {f->guest_ns,   f->encode_start_ns, f->encode_end_ns, f->sent_ns,
                          f->arrived_ns, f->decoded_ns,      f->displayed_ns};
    double stage_ms[N_STAGES];
    Stream *s = stream_for(metrics, f->stream_id, f->guest_ns);

    for (int i = 0; i < N_STAGES; i++) {
        int64_t from = i == STAGE_END_TO_END ? at[0] : at[i];
        int64_t to = i == STAGE_END_TO_END ? at[6] : at[i + 1];
        stage_ms[i] = NAN;
        if (from >= 0 && to >= 0) {
            int64_t d = MAX(to - from, 0);
            hist_add(&metrics->stages[i], d);
            stage_ms[i] = (double)d / NS_PER_MS;
            if (i == STAGE_END_TO_END) {
                hist_add(&s->e2e, d);
                /* Windows are not created here: a display time past the
                 * last window must not add one (it would change the rates). */
                LatencySample ls = {window_index(metrics, at[6]), stage_ms[i]};
                g_array_append_val(metrics->shown_latency, ls);
            }
        }
    }
    gboolean encoded = f->encode_end_ns >= 0 && f->bytes > 0;
    count_fate(&metrics->counts, f, encoded);
    count_fate(&s->counts, f, encoded);
    s->bytes += f->bytes;
    if (f->fate != SV_FRAME_FATE_DROPPED_ENCODER && f->encode_end_ns >= 0 &&
        f->encode_cpu_ns >= 0) {
        hist_add(&metrics->encode_cpu, f->encode_cpu_ns);
        hist_add(&s->encode_cpu, f->encode_cpu_ns);
    }
    gboolean measured = f->fate == SV_FRAME_FATE_SHOWN && !isnan(f->psnr_y);
    if (measured) {
        double p = capped_psnr(f->psnr_y);
        metrics->psnr_sum += p;
        metrics->psnr_n++;
        metrics->psnr_min = MIN(metrics->psnr_min, p);
        metrics->psnr_max = MAX(metrics->psnr_max, p);
        s->psnr_sum += p;
        s->psnr_n++;
    }
    if (f->fate == SV_FRAME_FATE_SHOWN && isfinite(f->ssim_y)) {
        metrics->ssim_sum += f->ssim_y;
        metrics->ssim_n++;
        metrics->ssim_min = MIN(metrics->ssim_min, f->ssim_y);
        metrics->ssim_max = MAX(metrics->ssim_max, f->ssim_y);
        s->ssim_sum += f->ssim_y;
        s->ssim_n++;
    }
    for (int i = 1; i < 7; i++) {
        if (at[i] >= 0) {
            see_time(metrics, at[i]);
        }
    }
    if (f->guest_ns >= 0) {
        Window *w = window_at(metrics, f->guest_ns);
        if (w != NULL) {
            w->frames++;
            w->encoded += encoded;
            w->shown += f->fate == SV_FRAME_FATE_SHOWN;
            w->dropped_encoder += f->fate == SV_FRAME_FATE_DROPPED_ENCODER;
            w->dropped_pipe += f->fate == SV_FRAME_FATE_DROPPED_PIPE;
            w->late += f->late != FALSE;
            if (measured) {
                w->psnr_sum += capped_psnr(f->psnr_y);
                w->psnr_n++;
            }
        }
    }
    if (metrics->csv != NULL && !metrics->csv_failed) {
        write_csv_row(metrics, f, stage_ms);
    }
}

void sv_metrics_add_bytes(SvMetrics *metrics, int64_t t_ns, uint64_t bytes, gboolean video)
{
    g_return_if_fail(metrics != NULL);

    metrics->total_bytes += bytes;
    metrics->video_bytes += video ? bytes : 0;
    if (!metrics->have_bytes || t_ns > metrics->last_byte_ns) {
        metrics->have_bytes = TRUE;
        metrics->last_byte_ns = t_ns;
    }
    Window *w = window_at(metrics, t_ns);
    if (w != NULL) {
        w->bytes += bytes;
        w->video_bytes += video ? bytes : 0;
    }
}

void sv_metrics_add_capacity(SvMetrics *metrics, int64_t t_ns, uint64_t capacity_bps)
{
    g_return_if_fail(metrics != NULL);

    see_time(metrics, t_ns);
    if (metrics->have_capacity) {
        if (t_ns < metrics->capacity_t_ns) {
            t_ns = metrics->capacity_t_ns; /* out of order: takes effect now */
        }
        integrate_capacity(metrics, metrics->capacity_t_ns, t_ns, metrics->capacity_bps);
    }
    metrics->have_capacity = TRUE;
    metrics->capacity_t_ns = t_ns;
    metrics->capacity_bps = capacity_bps;
}

void sv_metrics_add_guest_draw(SvMetrics *metrics, int64_t t_ns, gboolean stream_frame)
{
    g_return_if_fail(metrics != NULL);

    metrics->guest_draws++;
    metrics->guest_stream_draws += stream_frame != FALSE;
    Window *w = window_at(metrics, t_ns);
    if (w != NULL) {
        w->guest_draws++;
        w->guest_stream_draws += stream_frame != FALSE;
    }
}

void sv_metrics_add_rate_sample(SvMetrics *metrics, int64_t t_ns, int stream_id, uint64_t bit_rate,
                                double avg_quality)
{
    g_return_if_fail(metrics != NULL);

    Window *w = window_at(metrics, t_ns);
    if (w != NULL) {
        w->has_rate = TRUE;
        w->bit_rate = bit_rate;
        w->quality = avg_quality;
    }
    Stream *s = stream_for(metrics, stream_id, t_ns);
    RateSample sample = {window_index(metrics, t_ns), bit_rate, avg_quality};
    GArray *a = s->rate;
    if (a->len > 0 && g_array_index(a, RateSample, a->len - 1).window == sample.window) {
        g_array_index(a, RateSample, a->len - 1) = sample; /* the last of its window */
    } else {
        g_array_append_val(a, sample);
    }
}

/* ---------------------------------------------------------------------------
 * Labels
 * ------------------------------------------------------------------------- */

static gboolean label_int(JsonObject *o, const char *key, guint index, int64_t min, int64_t *out,
                          const char *path, GError **error)
{
    JsonNode *node = json_object_get_member(o, key);
    if (node == NULL || !JSON_NODE_HOLDS_VALUE(node) ||
        json_node_get_value_type(node) != G_TYPE_INT64 || json_node_get_int(node) < min) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: video_regions[%u]: \"%s\" is missing or not an integer ≥ %" PRId64, path,
                    index, key, min);
        return FALSE;
    }
    *out = json_node_get_int(node);
    return TRUE;
}

gboolean sv_metrics_load_labels(SvMetrics *metrics, const char *path, GError **error)
{
    g_return_val_if_fail(metrics != NULL && path != NULL, FALSE);

    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json_parser_load_from_file(parser, path, error)) {
        g_prefix_error(error, "%s: ", path);
        return FALSE;
    }
    JsonNode *root = json_parser_get_root(parser);
    JsonObject *top =
        root != NULL && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    JsonNode *regions = top != NULL ? json_object_get_member(top, "video_regions") : NULL;
    if (regions == NULL || !JSON_NODE_HOLDS_ARRAY(regions)) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "%s: not a labels file (no \"video_regions\" array)", path);
        return FALSE;
    }
    JsonArray *array = json_node_get_array(regions);
    g_autoptr(GArray) labels = g_array_new(FALSE, TRUE, sizeof(Label));
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonNode *node = json_array_get_element(array, i);
        if (!JSON_NODE_HOLDS_OBJECT(node)) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: video_regions[%u] is not an object", path, i);
            return FALSE;
        }
        JsonObject *o = json_node_get_object(node);
        int64_t x, y, w, h, start, end, frames;
        if (!label_int(o, "x", i, INT32_MIN, &x, path, error) ||
            !label_int(o, "y", i, INT32_MIN, &y, path, error) ||
            !label_int(o, "width", i, 1, &w, path, error) ||
            !label_int(o, "height", i, 1, &h, path, error) ||
            !label_int(o, "start_ns", i, 0, &start, path, error) ||
            !label_int(o, "end_ns", i, start, &end, path, error) ||
            !label_int(o, "frames", i, 0, &frames, path, error)) {
            return FALSE;
        }
        if (x > INT32_MAX || y > INT32_MAX || w > INT32_MAX || h > INT32_MAX ||
            frames > UINT32_MAX) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: video_regions[%u]: value out of range", path, i);
            return FALSE;
        }
        Label l = {(int32_t)x, (int32_t)y, (int32_t)w, (int32_t)h, start, end, (uint32_t)frames};
        g_array_append_val(labels, l);
    }
    if (metrics->labels != NULL) {
        g_array_unref(metrics->labels);
    }
    metrics->labels = g_steal_pointer(&labels);
    g_free(metrics->strings.labels);
    metrics->strings.labels = g_strdup(path);
    return TRUE;
}

static double rect_iou(const SpiceRect *a, const Label *l)
{
    int64_t al = a->left, at = a->top, ar = a->right, ab = a->bottom;
    int64_t ll = l->x, lt = l->y, lr = (int64_t)l->x + l->width, lb = (int64_t)l->y + l->height;
    int64_t iw = MIN(ar, lr) - MAX(al, ll);
    int64_t ih = MIN(ab, lb) - MAX(at, lt);
    if (iw <= 0 || ih <= 0 || ar <= al || ab <= at) {
        return 0.0;
    }
    double inter = (double)iw * (double)ih;
    double uni =
        (double)(ar - al) * (double)(ab - at) + (double)l->width * (double)l->height - inter;
    return inter / uni;
}

/* ---------------------------------------------------------------------------
 * Finishing
 * ------------------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s != NULL ? g_strdup(s) : NULL;
}

/* The end of the run on the timeline. */
static int64_t run_end_ns(const SvMetrics *m)
{
    if (m->info.trace_duration_ns > 0) {
        return m->origin_ns + m->info.trace_duration_ns;
    }
    return m->have_t ? m->max_t_ns : m->origin_ns;
}

/* The run's length in seconds for frame rates: the trace duration, else the span of the windows. */
static double run_seconds(const SvMetrics *m)
{
    if (m->info.trace_duration_ns > 0) {
        return (double)m->info.trace_duration_ns / (double)NS_PER_S;
    }
    return (double)m->windows->len;
}

/* The length for bit rates: to the last byte sent if the link drained after the trace's end. */
static double send_seconds(const SvMetrics *m)
{
    double secs = run_seconds(m);
    if (m->have_bytes) {
        secs = MAX(secs, (double)(m->last_byte_ns - m->origin_ns) / (double)NS_PER_S);
    }
    return secs;
}

gboolean sv_metrics_finish(SvMetrics *metrics, const SvRunInfo *info, GError **error)
{
    g_return_val_if_fail(metrics != NULL && info != NULL, FALSE);
    SvMetrics *m = metrics;

    RunStrings s = {dup_or_null(info->trace),
                    dup_or_null(info->video_codecs),
                    dup_or_null(info->client),
                    dup_or_null(info->net),
                    dup_or_null(info->streaming),
                    dup_or_null(info->latency_policy),
                    dup_or_null(info->labels != NULL ? info->labels : m->strings.labels)};
    run_strings_clear(&m->strings);
    m->strings = s;
    m->info = *info;
    m->info.trace = s.trace;
    m->info.video_codecs = s.video_codecs;
    m->info.client = s.client;
    m->info.net = s.net;
    m->info.streaming = s.streaming;
    m->info.latency_policy = s.latency_policy;
    m->info.labels = s.labels;
    if (!m->finished && m->have_capacity) {
        /* The last capacity holds to the end of the last window. */
        int64_t end = m->windows->len > 0
                          ? m->origin_ns + (m->first_window + m->windows->len) * NS_PER_S
                          : m->capacity_t_ns;
        integrate_capacity(m, m->capacity_t_ns, end, m->capacity_bps);
        m->capacity_t_ns = MAX(end, m->capacity_t_ns);
    }
    m->finished = TRUE;

    if (m->csv == NULL) {
        return TRUE;
    }
    gboolean failed = m->csv_failed || fflush(m->csv) != 0 || ferror(m->csv);
    int errsv = errno;
    failed = fclose(m->csv) != 0 || failed;
    m->csv = NULL;
    if (failed) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "%s: cannot write: %s", m->csv_tmp,
                    g_strerror(errsv));
        g_unlink(m->csv_tmp);
        return FALSE;
    }
    if (g_rename(m->csv_tmp, m->csv_path) != 0) {
        errsv = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv),
                    "%s: cannot rename to %s: %s", m->csv_tmp, m->csv_path, g_strerror(errsv));
        g_unlink(m->csv_tmp);
        return FALSE;
    }
    return TRUE;
}

/* ---------------------------------------------------------------------------
 * Derived numbers
 * ------------------------------------------------------------------------- */

static int compare_double(gconstpointer a, gconstpointer b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Exact nearest-rank percentile of the finite values of @v (sorted in place). */
static double exact_percentile(double *v, guint n, unsigned permille)
{
    guint k = 0;
    for (guint i = 0; i < n; i++) {
        if (isfinite(v[i])) {
            v[k++] = v[i];
        }
    }
    if (k == 0) {
        return NAN;
    }
    qsort(v, k, sizeof(double), compare_double);
    uint64_t rank = MAX(((uint64_t)permille * k + 999) / 1000, 1);
    return v[rank - 1];
}

static double window_capacity_bps(const Window *w)
{
    return w->capacity_ns > 0 ? w->capacity_bits / ((double)w->capacity_ns / (double)NS_PER_S)
                              : NAN;
}

static double window_utilisation(const Window *w)
{
    double cap = window_capacity_bps(w);
    return cap > 0 ? (double)w->bytes * 8.0 / cap : NAN;
}

typedef struct {
    double seconds; /* send_seconds() */
    double mean_bps, video_mean_bps, p95_bps, max_bps;
    double capacity_mean_bps, utilisation_mean, utilisation_p95, utilisation_max;
} Rates;

static void compute_rates(const SvMetrics *m, Rates *r)
{
    guint n = m->windows->len;
    g_autofree double *bps = g_new(double, MAX(n, 1));
    g_autofree double *util = g_new(double, MAX(n, 1));
    double cap_bits = 0.0, cap_s = 0.0, max_bps = NAN, max_util = NAN;

    for (guint i = 0; i < n; i++) {
        const Window *w = &g_array_index(m->windows, Window, i);
        bps[i] = (double)w->bytes * 8.0;
        util[i] = window_utilisation(w);
        max_bps = isnan(max_bps) ? bps[i] : MAX(max_bps, bps[i]);
        if (!isnan(util[i])) {
            max_util = isnan(max_util) ? util[i] : MAX(max_util, util[i]);
        }
        cap_bits += w->capacity_bits;
        cap_s += (double)w->capacity_ns / (double)NS_PER_S;
    }
    double secs = send_seconds(m);
    r->seconds = secs;
    r->mean_bps = secs > 0 ? (double)m->total_bytes * 8.0 / secs : NAN;
    r->video_mean_bps = secs > 0 ? (double)m->video_bytes * 8.0 / secs : NAN;
    r->p95_bps = exact_percentile(bps, n, 950);
    r->max_bps = max_bps;
    r->capacity_mean_bps = cap_s > 0 ? cap_bits / cap_s : NAN;
    r->utilisation_mean = cap_bits > 0 ? (double)m->total_bytes * 8.0 / cap_bits : NAN;
    r->utilisation_p95 = exact_percentile(util, n, 950);
    r->utilisation_max = max_util;
}

/* The stage with the largest mean (end to end excluded); -1 if none. */
static int dominant_stage(const SvMetrics *m)
{
    int best = -1;
    for (int i = 0; i < STAGE_END_TO_END; i++) {
        if (m->stages[i].n > 0 &&
            (best < 0 || hist_mean(&m->stages[i]) > hist_mean(&m->stages[best]))) {
            best = i;
        }
    }
    return best;
}

void sv_metrics_get_summary(const SvMetrics *metrics, SvMetricsSummary *summary)
{
    g_return_if_fail(metrics != NULL && summary != NULL);
    const SvMetrics *m = metrics;
    const Hist *e2e = &m->stages[STAGE_END_TO_END];
    Rates r;

    compute_rates(m, &r);
    *summary = (SvMetricsSummary){
        .frames = m->counts.frames,
        .shown = m->counts.shown,
        .dropped_encoder = m->counts.dropped_encoder,
        .dropped_pipe = m->counts.dropped_pipe,
        .as_image = m->counts.as_image,
        .late = m->counts.late,
        .not_decoded = m->counts.not_decoded,
        .undelivered = m->counts.undelivered,
        .total_bytes = m->total_bytes,
        .video_bytes = m->video_bytes,
        .mean_bps = r.mean_bps,
        .p95_bps = r.p95_bps,
        .latency_p50_ms = hist_percentile(e2e, 500) / NS_PER_MS,
        .latency_p95_ms = hist_percentile(e2e, 950) / NS_PER_MS,
        .latency_p99_ms = hist_percentile(e2e, 990) / NS_PER_MS,
        .latency_max_ms = e2e->n > 0 ? (double)e2e->max / NS_PER_MS : NAN,
        .psnr_mean = m->psnr_n > 0 ? m->psnr_sum / (double)m->psnr_n : NAN,
        .ssim_mean = m->ssim_n > 0 ? m->ssim_sum / (double)m->ssim_n : NAN,
    };
    for (guint i = 0; i < m->streams->len; i++) {
        const Stream *s = g_ptr_array_index(m->streams, i);
        summary->streams += s->has_record;
    }
    double secs = run_seconds(m);
    summary->delivered_fps = secs > 0 ? (double)m->counts.shown / secs : NAN;
}

/* ---------------------------------------------------------------------------
 * JSON writer: fixed key order, fixed precision, no NaN
 * ------------------------------------------------------------------------- */

#define JW_MAX_DEPTH 16

typedef struct {
    GString *s;
    int depth;
    gboolean first[JW_MAX_DEPTH];
    gboolean inline_[JW_MAX_DEPTH];
} Jw;

static void jw_item(Jw *j, const char *key)
{
    if (j->depth > 0) {
        if (!j->first[j->depth]) {
            g_string_append_c(j->s, ',');
        }
        if (j->inline_[j->depth]) {
            if (!j->first[j->depth]) {
                g_string_append_c(j->s, ' ');
            }
        } else {
            g_string_append_c(j->s, '\n');
            for (int i = 0; i < j->depth; i++) {
                g_string_append(j->s, "  ");
            }
        }
        j->first[j->depth] = FALSE;
    }
    if (key != NULL) {
        g_string_append_printf(j->s, "\"%s\": ", key);
    }
}

static void jw_open(Jw *j, const char *key, char bracket, gboolean is_inline)
{
    jw_item(j, key);
    g_string_append_c(j->s, bracket);
    g_assert(j->depth + 1 < JW_MAX_DEPTH);
    j->depth++;
    j->first[j->depth] = TRUE;
    j->inline_[j->depth] = is_inline || (j->depth > 1 && j->inline_[j->depth - 1]);
}

static void jw_close(Jw *j, char bracket)
{
    gboolean empty = j->first[j->depth];
    gboolean is_inline = j->inline_[j->depth];
    j->depth--;
    if (!empty && !is_inline) {
        g_string_append_c(j->s, '\n');
        for (int i = 0; i < j->depth; i++) {
            g_string_append(j->s, "  ");
        }
    }
    g_string_append_c(j->s, bracket);
}

static void jw_object(Jw *j, const char *key)
{
    jw_open(j, key, '{', FALSE);
}

static void jw_inline_object(Jw *j, const char *key)
{
    jw_open(j, key, '{', TRUE);
}

static void jw_end_object(Jw *j)
{
    jw_close(j, '}');
}

static void jw_array(Jw *j, const char *key)
{
    jw_open(j, key, '[', FALSE);
}

static void jw_end_array(Jw *j)
{
    jw_close(j, ']');
}

static void jw_null(Jw *j, const char *key)
{
    jw_item(j, key);
    g_string_append(j->s, "null");
}

static void jw_string(Jw *j, const char *key, const char *value)
{
    if (value == NULL) {
        jw_null(j, key);
        return;
    }
    jw_item(j, key);
    g_autofree char *valid = g_utf8_make_valid(value, -1);
    g_string_append_c(j->s, '"');
    for (const char *p = valid; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            g_string_append_c(j->s, '\\');
            g_string_append_c(j->s, (char)c);
        } else if (c == '\n') {
            g_string_append(j->s, "\\n");
        } else if (c == '\t') {
            g_string_append(j->s, "\\t");
        } else if (c < 0x20) {
            g_string_append_printf(j->s, "\\u%04x", c);
        } else {
            g_string_append_c(j->s, (char)c);
        }
    }
    g_string_append_c(j->s, '"');
}

static void jw_bool(Jw *j, const char *key, gboolean value)
{
    jw_item(j, key);
    g_string_append(j->s, value ? "true" : "false");
}

static void jw_uint(Jw *j, const char *key, uint64_t value)
{
    jw_item(j, key);
    g_string_append_printf(j->s, "%" PRIu64, value);
}

static void jw_int(Jw *j, const char *key, int64_t value)
{
    jw_item(j, key);
    g_string_append_printf(j->s, "%" PRId64, value);
}

/* @decimals digits after the point; NaN and infinities are null. */
static void jw_double(Jw *j, const char *key, double value, int decimals)
{
    if (!isfinite(value)) {
        jw_null(j, key);
        return;
    }
    char format[8];
    char buf[G_ASCII_DTOSTR_BUF_SIZE + 32];
    g_snprintf(format, sizeof(format), "%%.%df", decimals);
    g_ascii_formatd(buf, sizeof(buf), format, value);
    const char *out = buf;
    if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1)) {
        out = buf + 1; /* no "-0.000" */
    }
    jw_item(j, key);
    g_string_append(j->s, out);
}

static void jw_ms(Jw *j, const char *key, double ns)
{
    jw_double(j, key, ns / NS_PER_MS, 3);
}

/* A time on the timeline, in ms after the origin; null when not reached. */
static void jw_time_ms(Jw *j, const char *key, const SvMetrics *m, int64_t t_ns)
{
    if (t_ns < 0) {
        jw_null(j, key);
    } else {
        jw_ms(j, key, (double)(t_ns - m->origin_ns));
    }
}

/* Points of the latency CDF: p0, p5, …, p100 (docs/metrics.md). */
#define CDF_POINTS 21

/*
 * @full adds p99 and, when @cdf, "cdf_ms": the nearest-rank percentiles
 * 0, 5, …, 100 from the same histogram, with p0 and p100 the exact minimum
 * and maximum; null when the stage saw no frame.
 */
static void jw_hist_ms(Jw *j, const char *key, const Hist *h, gboolean full, gboolean cdf)
{
    jw_inline_object(j, key);
    jw_uint(j, "count", h->n);
    jw_ms(j, "mean", hist_mean(h));
    jw_ms(j, "p50", hist_percentile(h, 500));
    jw_ms(j, "p95", hist_percentile(h, 950));
    if (full) {
        jw_ms(j, "p99", hist_percentile(h, 990));
    }
    jw_ms(j, "max", h->n > 0 ? (double)h->max : NAN);
    if (cdf && h->n == 0) {
        jw_null(j, "cdf_ms");
    } else if (cdf) {
        jw_array(j, "cdf_ms");
        for (unsigned k = 0; k < CDF_POINTS; k++) {
            double v;
            if (k == 0) {
                v = (double)h->min;
            } else if (k == CDF_POINTS - 1) {
                v = (double)h->max;
            } else {
                v = hist_percentile(h, k * (1000 / (CDF_POINTS - 1)));
            }
            jw_ms(j, NULL, v);
        }
        jw_end_array(j);
    }
    jw_end_object(j);
}

static void jw_counts(Jw *j, const FrameCounts *c)
{
    jw_uint(j, "stream_frames", c->frames);
    jw_uint(j, "encoded", c->encoded);
    jw_uint(j, "shown", c->shown);
    jw_uint(j, "dropped_encoder", c->dropped_encoder);
    jw_uint(j, "dropped_pipe", c->dropped_pipe);
    jw_uint(j, "as_image", c->as_image);
    jw_uint(j, "not_decoded", c->not_decoded);
    jw_uint(j, "undelivered", c->undelivered);
    jw_uint(j, "late", c->late);
}

/* Which label each stream matches (-1: none), and per label the first stream. */
typedef struct {
    int *stream_label; /* per stream */
    int *label_stream; /* per label: index of its earliest matching stream, -1 */
} Matches;

static void match_labels(const SvMetrics *m, Matches *out)
{
    guint ns = m->streams->len, nl = m->labels != NULL ? m->labels->len : 0;
    out->stream_label = g_new(int, MAX(ns, 1));
    out->label_stream = g_new(int, MAX(nl, 1));
    for (guint l = 0; l < nl; l++) {
        out->label_stream[l] = -1;
    }
    int64_t end = run_end_ns(m);
    for (guint i = 0; i < ns; i++) {
        const Stream *s = g_ptr_array_index(m->streams, i);
        out->stream_label[i] = -1;
        if (!s->has_record) {
            continue;
        }
        int64_t s_end = s->rec.stopped_ns >= 0 ? s->rec.stopped_ns : MAX(end, s->rec.created_ns);
        double best = 0.0;
        for (guint l = 0; l < nl; l++) {
            const Label *lab = &g_array_index(m->labels, Label, l);
            int64_t l_start = m->origin_ns + lab->start_ns;
            int64_t l_end = m->origin_ns + lab->end_ns + NS_PER_S; /* the last frame lingers */
            double iou = rect_iou(&s->rec.dest, lab);
            if (iou >= LABEL_MIN_IOU && iou > best && s->rec.created_ns <= l_end &&
                s_end >= l_start) {
                best = iou;
                out->stream_label[i] = (int)l;
            }
        }
        int l = out->stream_label[i];
        if (l >= 0) {
            int prev = out->label_stream[l];
            const Stream *p = prev >= 0 ? g_ptr_array_index(m->streams, (guint)prev) : NULL;
            if (p == NULL || s->rec.created_ns < p->rec.created_ns) {
                out->label_stream[l] = (int)i;
            }
        }
    }
}

static void write_run(Jw *j, const SvMetrics *m)
{
    const SvRunInfo *info = &m->info;

    jw_object(j, "run");
    jw_string(j, "trace", info->trace);
    jw_string(j, "video_codecs", info->video_codecs);
    jw_string(j, "client", info->client);
    jw_string(j, "net", info->net);
    jw_string(j, "streaming", info->streaming);
    jw_string(j, "latency_policy", info->latency_policy);
    jw_bool(j, "deterministic", info->deterministic);
    jw_uint(j, "seed", info->seed);
    jw_string(j, "labels", info->labels);
    jw_int(j, "origin_ns", m->origin_ns);
    jw_ms(j, "trace_duration_ms", (double)info->trace_duration_ns);
    /* Measured wall time differs from run to run: left out of deterministic reports. */
    jw_ms(j, "replay_wall_ms", info->deterministic ? NAN : (double)info->replay_wall_ns);
    jw_end_object(j);

    jw_object(j, "network");
    jw_uint(j, "start_bit_rate_test_bps", info->start_bit_rate_test_bps);
    jw_ms(j, "roundtrip_ms", (double)info->roundtrip_ns);
    jw_uint(j, "mm_time_latency_ms", info->mm_time_latency_ms);
    jw_end_object(j);
}

static void write_encoder(Jw *j, const SvMetrics *m)
{
    const SvRunInfo *info = &m->info;

    jw_object(j, "encoder");
    /* The distinct codec/encoder pairs, in order of first use. */
    jw_array(j, "negotiated");
    for (guint i = 0; i < m->streams->len; i++) {
        const Stream *s = g_ptr_array_index(m->streams, i);
        gboolean seen = !s->has_record;
        for (guint k = 0; k < i && !seen; k++) {
            const Stream *o = g_ptr_array_index(m->streams, k);
            seen = o->has_record && strcmp(o->rec.codec, s->rec.codec) == 0 &&
                   strcmp(o->rec.encoder, s->rec.encoder) == 0;
        }
        if (!seen) {
            jw_inline_object(j, NULL);
            jw_string(j, "codec", s->rec.codec);
            jw_string(j, "encoder", s->rec.encoder);
            jw_end_object(j);
        }
    }
    jw_end_array(j);
    jw_hist_ms(j, "encode_cpu_ms_per_frame", &m->encode_cpu, FALSE, FALSE);
    jw_end_object(j);

    jw_object(j, "cpu");
    jw_ms(j, "total_ms", info->deterministic ? NAN : (double)info->cpu_total_ns);
    jw_ms(j, "encode_ms", (double)info->cpu_encode_ns);
    jw_ms(j, "decode_ms", (double)info->cpu_decode_ns);
    jw_ms(j, "lz4_ms", (double)info->cpu_lz4_ns);
    jw_end_object(j);
}

static void write_bitrate(Jw *j, const SvMetrics *m, const Rates *r)
{
    jw_object(j, "bitrate");
    jw_uint(j, "total_bytes", m->total_bytes);
    jw_uint(j, "video_bytes", m->video_bytes);
    jw_uint(j, "other_bytes", m->total_bytes - m->video_bytes);
    jw_ms(j, "duration_ms", r->seconds * 1e9);
    jw_double(j, "mean_bps", r->mean_bps, 0);
    jw_double(j, "video_mean_bps", r->video_mean_bps, 0);
    jw_double(j, "p95_bps", r->p95_bps, 0);
    jw_double(j, "max_bps", r->max_bps, 0);
    jw_double(j, "capacity_mean_bps", r->capacity_mean_bps, 0);
    jw_double(j, "utilisation_mean", r->utilisation_mean, 4);
    jw_double(j, "utilisation_p95", r->utilisation_p95, 4);
    jw_double(j, "utilisation_max", r->utilisation_max, 4);
    jw_end_object(j);
}

static void write_frames(Jw *j, const SvMetrics *m)
{
    double secs = run_seconds(m);

    jw_object(j, "frames");
    jw_uint(j, "guest_draws", m->guest_draws);
    jw_uint(j, "guest_stream_draws", m->guest_stream_draws);
    jw_counts(j, &m->counts);
    jw_double(j, "delivered_fps", secs > 0 ? (double)m->counts.shown / secs : NAN, 3);
    jw_end_object(j);

    jw_object(j, "latency_ms");
    for (int i = 0; i < N_STAGES; i++) {
        jw_hist_ms(j, stage_names[i], &m->stages[i], TRUE, TRUE);
    }
    int dom = dominant_stage(m);
    jw_string(j, "dominant_stage", dom >= 0 ? stage_names[dom] : NULL);
    jw_end_object(j);
}

static void write_quality(Jw *j, const SvMetrics *m)
{
    jw_object(j, "quality");
    jw_uint(j, "frames_measured", m->psnr_n);
    jw_inline_object(j, "psnr_y_db");
    jw_double(j, "mean", m->psnr_n > 0 ? m->psnr_sum / (double)m->psnr_n : NAN, 2);
    jw_double(j, "min", m->psnr_n > 0 ? m->psnr_min : NAN, 2);
    jw_double(j, "max", m->psnr_n > 0 ? m->psnr_max : NAN, 2);
    jw_end_object(j);
    jw_inline_object(j, "ssim_y");
    jw_double(j, "mean", m->ssim_n > 0 ? m->ssim_sum / (double)m->ssim_n : NAN, 4);
    jw_double(j, "min", m->ssim_n > 0 ? m->ssim_min : NAN, 4);
    jw_double(j, "max", m->ssim_n > 0 ? m->ssim_max : NAN, 4);
    jw_end_object(j);
    jw_double(j, "final_psnr_y_db", capped_psnr(m->info.final_psnr_y), 2);
    jw_double(j, "final_ssim_y", m->info.final_ssim_y, 4);
    jw_double(j, "psnr_cap_db", PSNR_CAP_DB, 2);
    jw_end_object(j);
}

static void write_streams(Jw *j, const SvMetrics *m, const Matches *match)
{
    int64_t end = run_end_ns(m);

    jw_array(j, "streams");
    for (guint i = 0; i < m->streams->len; i++) {
        const Stream *s = g_ptr_array_index(m->streams, i);
        const SvStreamRecord *r = &s->rec;
        jw_object(j, NULL);
        jw_int(j, "id", r->stream_id);
        jw_bool(j, "has_record", s->has_record);
        if (s->has_record) {
            jw_uint(j, "created_seq", r->created_seq);
            jw_time_ms(j, "created_ms", m, r->created_ns);
            jw_time_ms(j, "first_candidate_ms", m, r->first_candidate_ns);
            jw_ms(j, "time_to_detect_ms",
                  r->first_candidate_ns >= 0 ? (double)(r->created_ns - r->first_candidate_ns)
                                             : NAN);
            jw_time_ms(j, "stopped_ms", m, r->stopped_ns);
            int64_t s_end = r->stopped_ns >= 0 ? r->stopped_ns : MAX(end, r->created_ns);
            jw_ms(j, "lifetime_ms", (double)(s_end - r->created_ns));
            jw_uint(j, "width", r->width);
            jw_uint(j, "height", r->height);
            jw_inline_object(j, "dest");
            jw_int(j, "left", r->dest.left);
            jw_int(j, "top", r->dest.top);
            jw_int(j, "right", r->dest.right);
            jw_int(j, "bottom", r->dest.bottom);
            jw_end_object(j);
            jw_uint(j, "input_fps", r->input_fps);
            jw_string(j, "codec", r->codec);
            jw_string(j, "encoder", r->encoder);
            jw_uint(j, "starting_bit_rate", r->starting_bit_rate);
            jw_string(j, "negotiation", r->negotiation);
            if (m->labels != NULL) {
                if (match->stream_label[i] >= 0) {
                    jw_int(j, "label", match->stream_label[i]);
                } else {
                    jw_null(j, "label");
                }
            }
        }
        jw_inline_object(j, "frames");
        jw_counts(j, &s->counts);
        jw_end_object(j);
        jw_uint(j, "bytes", s->bytes);
        jw_hist_ms(j, "end_to_end_ms", &s->e2e, TRUE, FALSE);
        jw_hist_ms(j, "encode_cpu_ms", &s->encode_cpu, FALSE, FALSE);
        jw_double(j, "psnr_y_db_mean", s->psnr_n > 0 ? s->psnr_sum / (double)s->psnr_n : NAN, 2);
        jw_double(j, "ssim_y_mean", s->ssim_n > 0 ? s->ssim_sum / (double)s->ssim_n : NAN, 4);
        jw_array(j, "rate_control");
        for (guint k = 0; k < s->rate->len; k++) {
            const RateSample *rs = &g_array_index(s->rate, RateSample, k);
            jw_inline_object(j, NULL);
            jw_int(j, "t_s", rs->window);
            jw_uint(j, "bit_rate", rs->bit_rate);
            jw_double(j, "quality", rs->quality, 3);
            jw_end_object(j);
        }
        jw_end_array(j);
        jw_end_object(j);
    }
    jw_end_array(j);
}

static void write_detection(Jw *j, const SvMetrics *m, const Matches *match)
{
    guint created = 0, false_streams = 0, detected = 0;
    Hist ttd = {0};

    for (guint i = 0; i < m->streams->len; i++) {
        const Stream *s = g_ptr_array_index(m->streams, i);
        if (s->has_record) {
            created++;
            false_streams += match->stream_label[i] < 0;
            if (s->rec.first_candidate_ns >= 0) {
                hist_add(&ttd, s->rec.created_ns - s->rec.first_candidate_ns);
            }
        }
    }
    jw_object(j, "detection");
    jw_uint(j, "streams_created", created);
    jw_hist_ms(j, "time_to_detect_ms", &ttd, FALSE, FALSE);
    hist_clear(&ttd);
    if (m->labels == NULL) {
        jw_null(j, "labels");
        jw_end_object(j);
        return;
    }
    jw_object(j, "labels");
    for (guint l = 0; l < m->labels->len; l++) {
        detected += match->label_stream[l] >= 0;
    }
    jw_uint(j, "regions", m->labels->len);
    jw_uint(j, "detected", detected);
    jw_uint(j, "missed", m->labels->len - detected);
    jw_uint(j, "false_streams", false_streams);
    jw_array(j, "video_regions");
    for (guint l = 0; l < m->labels->len; l++) {
        const Label *lab = &g_array_index(m->labels, Label, l);
        int si = match->label_stream[l];
        const Stream *s = si >= 0 ? g_ptr_array_index(m->streams, (guint)si) : NULL;
        jw_inline_object(j, NULL);
        jw_int(j, "x", lab->x);
        jw_int(j, "y", lab->y);
        jw_int(j, "width", lab->width);
        jw_int(j, "height", lab->height);
        jw_ms(j, "start_ms", (double)lab->start_ns);
        jw_ms(j, "end_ms", (double)lab->end_ns);
        jw_uint(j, "frames", lab->frames);
        if (s != NULL) {
            jw_int(j, "stream_id", s->rec.stream_id);
            jw_ms(j, "time_to_detect_ms",
                  (double)(s->rec.created_ns - (m->origin_ns + lab->start_ns)));
        } else {
            jw_null(j, "stream_id");
            jw_null(j, "time_to_detect_ms");
        }
        jw_end_object(j);
    }
    jw_end_array(j);
    jw_end_object(j);
    jw_end_object(j);
}

static int compare_latency_sample(gconstpointer a, gconstpointer b)
{
    const LatencySample *x = a, *y = b;
    if (x->window != y->window) {
        return (x->window > y->window) - (x->window < y->window);
    }
    return (x->ms > y->ms) - (x->ms < y->ms);
}

/* Nearest-rank percentile of the sorted @v[0..n). */
static double sorted_percentile(const LatencySample *v, guint n, unsigned permille)
{
    if (n == 0) {
        return NAN;
    }
    uint64_t rank = MAX(((uint64_t)permille * n + 999) / 1000, 1);
    return v[rank - 1].ms;
}

static void write_windows(Jw *j, const SvMetrics *m)
{
    /* Latency of the frames shown in each window, sorted by window then value. */
    guint n_lat = m->shown_latency->len;
    LatencySample *lat = g_memdup2(m->shown_latency->data, n_lat * sizeof(LatencySample));
    if (n_lat > 0) {
        qsort(lat, n_lat, sizeof(LatencySample), compare_latency_sample);
    }
    guint lat_pos = 0;

    jw_array(j, "windows");
    for (guint i = 0; i < m->windows->len; i++) {
        const Window *w = &g_array_index(m->windows, Window, i);
        int64_t index = m->first_window + i;
        while (lat_pos < n_lat && lat[lat_pos].window < index) {
            lat_pos++;
        }
        guint lat_n = 0;
        while (lat_pos + lat_n < n_lat && lat[lat_pos + lat_n].window == index) {
            lat_n++;
        }
        jw_inline_object(j, NULL);
        jw_int(j, "t_s", m->first_window + i);
        jw_uint(j, "bytes", w->bytes);
        jw_uint(j, "video_bytes", w->video_bytes);
        jw_uint(j, "bps", w->bytes * 8);
        jw_double(j, "capacity_bps", window_capacity_bps(w), 0);
        jw_double(j, "utilisation", window_utilisation(w), 4);
        jw_uint(j, "guest_draws", w->guest_draws);
        jw_uint(j, "stream_frames", w->frames);
        jw_uint(j, "encoded", w->encoded);
        jw_uint(j, "shown", w->shown);
        jw_uint(j, "dropped_encoder", w->dropped_encoder);
        jw_uint(j, "dropped_pipe", w->dropped_pipe);
        jw_uint(j, "late", w->late);
        jw_double(j, "psnr_y_db", w->psnr_n > 0 ? w->psnr_sum / w->psnr_n : NAN, 2);
        if (w->has_rate) {
            jw_uint(j, "bit_rate", w->bit_rate);
        } else {
            jw_null(j, "bit_rate");
        }
        jw_double(j, "quality", w->has_rate ? w->quality : NAN, 3);
        jw_uint(j, "latency_frames", lat_n);
        jw_double(j, "latency_p50_ms", sorted_percentile(lat + lat_pos, lat_n, 500), 2);
        jw_double(j, "latency_p95_ms", sorted_percentile(lat + lat_pos, lat_n, 950), 2);
        jw_end_object(j);
    }
    jw_end_array(j);
    g_free(lat);
}

/* The whole report as text. */
static GString *build_json(const SvMetrics *m)
{
    Jw j = {.s = g_string_sized_new(4096)};
    Rates r;
    Matches match;

    compute_rates(m, &r);
    match_labels(m, &match);
    jw_object(&j, NULL);
    jw_string(&j, "schema", SV_METRICS_SCHEMA);
    write_run(&j, m);
    write_encoder(&j, m);
    write_bitrate(&j, m, &r);
    write_frames(&j, m);
    write_quality(&j, m);
    write_detection(&j, m, &match);
    write_streams(&j, m, &match);
    write_windows(&j, m);
    jw_end_object(&j);
    g_string_append_c(j.s, '\n');
    g_free(match.stream_label);
    g_free(match.label_stream);
    return j.s;
}

gboolean sv_metrics_write_json(const SvMetrics *metrics, const char *path, GError **error)
{
    g_return_val_if_fail(metrics != NULL && path != NULL, FALSE);

    g_autoptr(GString) json = build_json(metrics);
    if (strcmp(path, "-") == 0) {
        if (fwrite(json->str, 1, json->len, stdout) != json->len || fflush(stdout) != 0) {
            g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO, "cannot write the JSON to stdout");
            return FALSE;
        }
        return TRUE;
    }
    g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
    FILE *f = g_fopen(tmp, "w");
    if (f == NULL) {
        int errsv = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv), "%s: cannot create: %s",
                    tmp, g_strerror(errsv));
        return FALSE;
    }
    gboolean ok = fwrite(json->str, 1, json->len, f) == json->len && fflush(f) == 0;
    int errsv = errno;
    ok = fclose(f) == 0 && ok;
    if (ok && g_rename(tmp, path) != 0) {
        errsv = errno;
        ok = FALSE;
    }
    if (!ok) {
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv), "%s: cannot write: %s",
                    path, g_strerror(errsv));
        g_unlink(tmp);
    }
    return ok;
}

/* ---------------------------------------------------------------------------
 * Summary
 * ------------------------------------------------------------------------- */

static const char *fmt_num(char *buf, size_t size, double v, const char *format)
{
    if (!isfinite(v)) {
        return "-";
    }
    g_snprintf(buf, size, format, v);
    return buf;
}

/* "12.3 Mb/s" style. */
static const char *fmt_rate(char *buf, size_t size, double bps)
{
    if (!isfinite(bps)) {
        return "-";
    }
    if (bps >= 1e6) {
        g_snprintf(buf, size, "%.2f Mb/s", bps / 1e6);
    } else {
        g_snprintf(buf, size, "%.1f kb/s", bps / 1e3);
    }
    return buf;
}

void sv_metrics_print_summary(const SvMetrics *metrics, FILE *out)
{
    g_return_if_fail(metrics != NULL && out != NULL);
    const SvMetrics *m = metrics;
    const SvRunInfo *info = &m->info;
    SvMetricsSummary sum;
    Rates r;
    char a[32], b[32], c[32], d[32], e[32];

    sv_metrics_get_summary(m, &sum);
    compute_rates(m, &r);

    fprintf(out, "%-9s %s (net %s, client %s, streaming %s, latency policy %s)\n", "replay",
            info->trace != NULL ? info->trace : "-", info->net != NULL ? info->net : "-",
            info->client != NULL ? info->client : "-",
            info->streaming != NULL ? info->streaming : "-",
            info->latency_policy != NULL ? info->latency_policy : "spice");

    g_autoptr(GString) codecs = g_string_new(NULL);
    for (guint i = 0; i < m->streams->len; i++) {
        const Stream *s = g_ptr_array_index(m->streams, i);
        if (!s->has_record) {
            continue;
        }
        g_autofree char *item =
            g_strdup_printf("%s via %s", s->rec.codec[0] != '\0' ? s->rec.codec : "none",
                            s->rec.encoder[0] != '\0' ? s->rec.encoder : "-");
        if (strstr(codecs->str, item) == NULL) {
            g_string_append_printf(codecs, "%s%s", codecs->len > 0 ? ", " : "", item);
        }
    }
    fprintf(out, "%-9s %s\n", "codec", codecs->len > 0 ? codecs->str : "- (no stream)");

    Matches match;
    match_labels(m, &match);
    guint detected = 0, false_streams = 0;
    if (m->labels != NULL) {
        for (guint l = 0; l < m->labels->len; l++) {
            detected += match.label_stream[l] >= 0;
        }
        for (guint i = 0; i < m->streams->len; i++) {
            const Stream *s = g_ptr_array_index(m->streams, i);
            false_streams += s->has_record && match.stream_label[i] < 0;
        }
    }
    g_free(match.stream_label);
    g_free(match.label_stream);
    fprintf(out, "%-9s %u created", "streams", sum.streams);
    if (m->labels != NULL) {
        fprintf(out, ", labels %u/%u detected, %u false", detected, m->labels->len, false_streams);
    }
    fputc('\n', out);

    fprintf(out,
            "%-9s %" PRIu64 " from guest, %" PRIu64 " shown, %" PRIu64 " dropped by rate "
            "control, %" PRIu64 " by pipe, %" PRIu64 " late (%s fps)\n",
            "frames", sum.frames, sum.shown, sum.dropped_encoder, sum.dropped_pipe, sum.late,
            fmt_num(a, sizeof(a), sum.delivered_fps, "%.2f"));

    fprintf(out, "%-9s mean %s, p95 %s", "bitrate", fmt_rate(a, sizeof(a), r.mean_bps),
            fmt_rate(b, sizeof(b), r.p95_bps));
    if (isfinite(r.capacity_mean_bps)) {
        fprintf(out, " of %s (%s %% used)", fmt_rate(c, sizeof(c), r.capacity_mean_bps),
                fmt_num(d, sizeof(d), r.utilisation_mean * 100.0, "%.1f"));
    }
    fprintf(out, "; video %s\n", fmt_rate(e, sizeof(e), r.video_mean_bps));

    int dom = dominant_stage(m);
    fprintf(out, "%-9s end to end p50 %s, p95 %s, p99 %s, max %s ms", "latency",
            fmt_num(a, sizeof(a), sum.latency_p50_ms, "%.1f"),
            fmt_num(b, sizeof(b), sum.latency_p95_ms, "%.1f"),
            fmt_num(c, sizeof(c), sum.latency_p99_ms, "%.1f"),
            fmt_num(d, sizeof(d), sum.latency_max_ms, "%.1f"));
    if (dom >= 0) {
        fprintf(out, "; most in %s (mean %s ms)", stage_names[dom],
                fmt_num(e, sizeof(e), hist_mean(&m->stages[dom]) / NS_PER_MS, "%.1f"));
    }
    fputc('\n', out);

    fprintf(out, "%-9s PSNR-Y %s dB, SSIM-Y %s; final screen %s dB, %s\n", "quality",
            fmt_num(a, sizeof(a), sum.psnr_mean, "%.2f"),
            fmt_num(b, sizeof(b), sum.ssim_mean, "%.4f"),
            fmt_num(c, sizeof(c), capped_psnr(info->final_psnr_y), "%.2f"),
            fmt_num(d, sizeof(d), info->final_ssim_y, "%.4f"));

    fprintf(out, "%-9s encode %s ms (p50 %s, p95 %s ms/frame), decode %s ms, lz4 %s ms", "cpu",
            fmt_num(a, sizeof(a), info->cpu_encode_ns / NS_PER_MS, "%.1f"),
            fmt_num(b, sizeof(b), hist_percentile(&m->encode_cpu, 500) / NS_PER_MS, "%.2f"),
            fmt_num(c, sizeof(c), hist_percentile(&m->encode_cpu, 950) / NS_PER_MS, "%.2f"),
            fmt_num(d, sizeof(d), info->cpu_decode_ns / NS_PER_MS, "%.1f"),
            fmt_num(e, sizeof(e), info->cpu_lz4_ns / NS_PER_MS, "%.1f"));
    if (!info->deterministic && info->cpu_total_ns > 0) {
        fprintf(out, ", process %s ms",
                fmt_num(a, sizeof(a), info->cpu_total_ns / NS_PER_MS, "%.1f"));
    }
    fputc('\n', out);
}
