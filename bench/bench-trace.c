/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * `spice-bench trace info|cut|cat`: look at, cut and convert recorded QXL
 * traces (SPICE_REPLAY 1) through the public trace API.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spice-video/spice-video.h>

#include "bench-commands.h"
#include "bench-trace-gen.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

/* Candidate video regions follow spice-server's detection rules: frames of
 * one region at most 200 ms apart (RED_STREAM_DETECTION_MAX_DELTA), and a
 * run counts once it has 20 frames (RED_STREAM_FRAMES_START_CONDITION). */
#define VIDEO_MAX_GAP_NS 200000000
#define VIDEO_MIN_FRAMES 20
/* RED_STREAM_MIN_SIZE: 96 × 96 source pixels (spice's default filter mode). */
#define VIDEO_MIN_PIXELS (96 * 96)
/* QXL OP_PUT: the copy replaces the destination. */
#define ROP_OP_PUT 8
#define MAX_BITMAP_SIZES_SHOWN 10

static void print_trace_usage(FILE *out)
{
    fputs("Usage: spice-bench trace COMMAND [OPTION...]\n"
          "\n"
          "Recorded QXL command traces (SPICE_REPLAY 1, as written by spice-server with\n"
          "SPICE_WORKER_RECORD_FILENAME); input may be plain, zstd or gzip (detected from\n"
          "the content), '-' is standard input.\n"
          "\n"
          "Commands:\n"
          "  info FILE [--json]          duration, events by kind, drawables by type,\n"
          "                              surfaces, bitmap sizes and candidate video regions\n"
          "                              (same-place copy runs of >= 96x96 bitmaps,\n"
          "                              gaps <= 200 ms, >= 20 frames)\n"
          "  cut FILE -o OUT (--from S --to S | --events A:B) [--level N] [--json]\n"
          "                              write the events recorded from S to S seconds after\n"
          "                              the first one (either bound may be left out), or\n"
          "                              events A to B-1 (by position); the set-up before the\n"
          "                              range (worker messages other than update/wakeup,\n"
          "                              surface commands, cursor set/hide) is kept so the\n"
          "                              result replays\n"
          "  cat FILE -o OUT [--level N] [--json]\n"
          "                              copy a trace, decompressing or converting it\n"
          "  gen --workload NAME -o OUT [--size WxH] [--duration S] [--fps N] [--seed N]\n"
          "                              write a synthetic trace of a labelled workload\n"
          "                              (video, fullscreen-video, scroll, drag, progress,\n"
          "                              slideshow, idle, mix) and OUT.labels.json with the\n"
          "                              ground-truth video regions (trace gen --help)\n"
          "\n"
          "OUT is compressed with zstd when it ends in .zst, gzip when it ends in .gz;\n"
          "--level sets the compression level. Output goes to OUT.tmp, renamed to OUT\n"
          "only when complete. --json prints data as JSON on standard output.\n"
          "Errors: one line 'spice-bench: FILE: offset N …' on stderr, exit status 2.\n",
          out);
}

static int usage_error(const char *format, const char *arg)
{
    fputs("spice-bench: trace: ", stderr);
    fprintf(stderr, format, arg);
    fputs(" (see spice-bench trace --help)\n", stderr);
    return EXIT_USAGE;
}

/* ---- JSON output ---------------------------------------------------------------------------- */

static void json_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            g_string_append_c(out, '\\');
            g_string_append_c(out, (char)*p);
        } else if (*p < 0x20) {
            g_string_append_printf(out, "\\u%04x", *p);
        } else {
            g_string_append_c(out, (char)*p);
        }
    }
    g_string_append_c(out, '"');
}

/* ---- info ----------------------------------------------------------------------------------- */

typedef struct {
    SvTraceRect bbox;
    uint64_t first_ns;
    uint64_t last_ns;
    uint32_t frames;
    uint32_t width;
    uint32_t height;
} VideoRun;

typedef struct {
    uint64_t events;
    uint64_t first_ns;
    uint64_t last_ns;
    uint64_t commands[SV_TRACE_CMD_SURFACE + 2]; /* last: other */
    uint64_t messages[SV_TRACE_MSG_LAST + 2];    /* last: other */
    uint64_t draws[SV_TRACE_DRAW_COMPOSITE + 2]; /* last: other */
    uint64_t compat_draws;
    uint64_t surface_creates;
    uint64_t surface_destroys;
    GArray *primaries;        /* SvTracePrimary without data */
    GHashTable *bitmap_sizes; /* "WxH" -> count */
    uint64_t bitmaps;
    uint64_t bitmap_bytes;
    GHashTable *open_runs; /* bbox key -> VideoRun* */
    GArray *runs;          /* VideoRun, finished */
} TraceInfo;

static void close_run(TraceInfo *info, const VideoRun *run)
{
    if (run->frames >= VIDEO_MIN_FRAMES) {
        g_array_append_val(info->runs, *run);
    }
}

static void note_copy(TraceInfo *info, const SvTraceEvent *ev)
{
    const SvTraceDrawable *d = &ev->draw;
    const SvTraceImage *img = d->src_image;

    if (img == NULL || img->type != SV_TRACE_IMAGE_BITMAP) {
        return;
    }
    info->bitmaps++;
    info->bitmap_bytes += img->data.total_bytes;
    char *size = g_strdup_printf("%ux%u", img->bitmap_x, img->bitmap_y);
    gpointer count = g_hash_table_lookup(info->bitmap_sizes, size);
    g_hash_table_insert(info->bitmap_sizes, size, GSIZE_TO_POINTER(GPOINTER_TO_SIZE(count) + 1));

    if (d->type != SV_TRACE_DRAW_COPY || d->surface_id != 0 || d->rop_descriptor != ROP_OP_PUT ||
        (uint64_t)img->bitmap_x * img->bitmap_y < VIDEO_MIN_PIXELS) {
        return;
    }
    char *key =
        g_strdup_printf("%d,%d,%d,%d", d->bbox.left, d->bbox.top, d->bbox.right, d->bbox.bottom);
    VideoRun *run = g_hash_table_lookup(info->open_runs, key);
    if (run != NULL && ev->timestamp_ns - run->last_ns <= VIDEO_MAX_GAP_NS) {
        run->last_ns = ev->timestamp_ns;
        run->frames++;
        g_free(key);
        return;
    }
    if (run != NULL) {
        close_run(info, run);
    }
    run = g_new0(VideoRun, 1);
    run->bbox = d->bbox;
    run->first_ns = run->last_ns = ev->timestamp_ns;
    run->frames = 1;
    run->width = (uint32_t)(d->bbox.right - d->bbox.left);
    run->height = (uint32_t)(d->bbox.bottom - d->bbox.top);
    g_hash_table_replace(info->open_runs, key, run);
}

static void info_add(TraceInfo *info, const SvTraceEvent *ev)
{
    if (info->events == 0) {
        info->first_ns = ev->timestamp_ns;
    }
    info->events++;
    info->last_ns = MAX(info->last_ns, ev->timestamp_ns);
    if (ev->kind == SV_TRACE_KIND_MESSAGE) {
        info->messages[MIN(ev->type, SV_TRACE_MSG_LAST + 1)]++;
        if ((ev->type == SV_TRACE_MSG_CREATE_PRIMARY_SURFACE ||
             ev->type == SV_TRACE_MSG_CREATE_PRIMARY_SURFACE_ASYNC) &&
            ev->primary.present) {
            SvTracePrimary p = ev->primary;
            p.data.data = NULL;
            g_array_append_val(info->primaries, p);
        }
        return;
    }
    info->commands[MIN(ev->type, SV_TRACE_CMD_SURFACE + 1)]++;
    if (ev->type == SV_TRACE_CMD_DRAW) {
        info->draws[MIN(ev->draw.type, SV_TRACE_DRAW_COMPOSITE + 1)]++;
        info->compat_draws += ev->draw.compat ? 1 : 0;
        note_copy(info, ev);
    } else if (ev->type == SV_TRACE_CMD_SURFACE) {
        if (ev->surface.type == SV_TRACE_SURFACE_CREATE) {
            info->surface_creates++;
        } else {
            info->surface_destroys++;
        }
    }
}

static gint compare_runs(gconstpointer a, gconstpointer b)
{
    const VideoRun *ra = a;
    const VideoRun *rb = b;
    return ra->first_ns < rb->first_ns ? -1 : ra->first_ns > rb->first_ns;
}

typedef struct {
    const char *size;
    uint64_t count;
} SizeCount;

static gint compare_sizes(gconstpointer a, gconstpointer b)
{
    const SizeCount *sa = a;
    const SizeCount *sb = b;
    if (sa->count != sb->count) {
        return sa->count > sb->count ? -1 : 1;
    }
    return strcmp(sa->size, sb->size);
}

static double run_fps(const VideoRun *run)
{
    return run->last_ns > run->first_ns
               ? (double)(run->frames - 1) * 1e9 / (double)(run->last_ns - run->first_ns)
               : 0.0;
}

static const char *compression_name(SvTraceCompression compression)
{
    switch (compression) {
    case SV_TRACE_COMPRESSION_ZSTD:
        return "zstd";
    case SV_TRACE_COMPRESSION_GZIP:
        return "gzip";
    default:
        return "none";
    }
}

static void print_info_text(const char *path, SvTraceCompression compression, const TraceInfo *info,
                            const SvTraceReaderStats *stats, GArray *sizes)
{
    printf("file: %s\ncompression: %s\nbytes (uncompressed): %" PRIu64 "\n", path,
           compression_name(compression), stats->bytes);
    printf("duration: %.3f s\nevents: %" PRIu64 "\n",
           (double)(info->last_ns - info->first_ns) / 1e9, info->events);
    printf("  commands:");
    for (uint32_t t = 0; t <= SV_TRACE_CMD_SURFACE + 1; t++) {
        if (info->commands[t] > 0) {
            printf(" %s %" PRIu64,
                   t <= SV_TRACE_CMD_SURFACE ? sv_trace_event_type_name(0, t) : "other",
                   info->commands[t]);
        }
    }
    printf("\n  messages:");
    for (uint32_t t = 0; t <= SV_TRACE_MSG_LAST + 1; t++) {
        if (info->messages[t] > 0) {
            printf(" %s %" PRIu64,
                   t <= SV_TRACE_MSG_LAST ? sv_trace_event_type_name(1, t) : "other",
                   info->messages[t]);
        }
    }
    printf("\ndrawables:");
    for (uint32_t t = 0; t <= SV_TRACE_DRAW_COMPOSITE + 1; t++) {
        if (info->draws[t] > 0) {
            printf(" %s %" PRIu64,
                   t <= SV_TRACE_DRAW_COMPOSITE ? sv_trace_draw_type_name(t) : "other",
                   info->draws[t]);
        }
    }
    if (info->compat_draws > 0) {
        printf(" (compat layout: %" PRIu64 ")", info->compat_draws);
    }
    printf("\nsurfaces: %" PRIu64 " created, %" PRIu64 " destroyed\n", info->surface_creates,
           info->surface_destroys);
    for (guint i = 0; i < info->primaries->len; i++) {
        const SvTracePrimary *p = &g_array_index(info->primaries, SvTracePrimary, i);
        printf("  primary: %ux%u stride %d format %u\n", p->width, p->height, p->stride, p->format);
    }
    printf("bitmaps: %" PRIu64 " (%" PRIu64 " bytes)\n", info->bitmaps, info->bitmap_bytes);
    for (guint i = 0; i < sizes->len && i < MAX_BITMAP_SIZES_SHOWN; i++) {
        const SizeCount *sc = &g_array_index(sizes, SizeCount, i);
        printf("  %s: %" PRIu64 "\n", sc->size, sc->count);
    }
    if (sizes->len > MAX_BITMAP_SIZES_SHOWN) {
        printf("  (%u more sizes)\n", sizes->len - MAX_BITMAP_SIZES_SHOWN);
    }
    printf("video candidates: %u\n", info->runs->len);
    for (guint i = 0; i < info->runs->len; i++) {
        const VideoRun *run = &g_array_index(info->runs, VideoRun, i);
        printf("  %ux%u at (%d,%d): %u frames, %.3f-%.3f s, %.2f fps\n", run->width, run->height,
               run->bbox.left, run->bbox.top, run->frames,
               (double)(run->first_ns - info->first_ns) / 1e9,
               (double)(run->last_ns - info->first_ns) / 1e9, run_fps(run));
    }
    if (stats->skipped > 0) {
        printf("skipped records: %" PRIu64 "\n", stats->skipped);
    }
}

static void print_info_json(const char *path, SvTraceCompression compression, const TraceInfo *info,
                            const SvTraceReaderStats *stats, GArray *sizes)
{
    g_autoptr(GString) out = g_string_new("{\"file\": ");
    json_string(out, path);
    g_string_append_printf(out,
                           ", \"compression\": \"%s\", \"bytes\": %" PRIu64
                           ", \"duration_ns\": %" PRIu64 ", \"first_timestamp_ns\": %" PRIu64
                           ", \"events\": %" PRIu64 ", \"skipped_records\": %" PRIu64,
                           compression_name(compression), stats->bytes,
                           info->last_ns - info->first_ns, info->first_ns, info->events,
                           stats->skipped);
    g_string_append(out, ", \"commands\": {");
    const char *sep = "";
    for (uint32_t t = 0; t <= SV_TRACE_CMD_SURFACE + 1; t++) {
        if (info->commands[t] > 0) {
            g_string_append_printf(out, "%s\"%s\": %" PRIu64, sep,
                                   t <= SV_TRACE_CMD_SURFACE ? sv_trace_event_type_name(0, t)
                                                             : "other",
                                   info->commands[t]);
            sep = ", ";
        }
    }
    g_string_append(out, "}, \"messages\": {");
    sep = "";
    for (uint32_t t = 0; t <= SV_TRACE_MSG_LAST + 1; t++) {
        if (info->messages[t] > 0) {
            g_string_append_printf(out, "%s\"%s\": %" PRIu64, sep,
                                   t <= SV_TRACE_MSG_LAST ? sv_trace_event_type_name(1, t)
                                                          : "other",
                                   info->messages[t]);
            sep = ", ";
        }
    }
    g_string_append(out, "}, \"drawables\": {");
    sep = "";
    for (uint32_t t = 0; t <= SV_TRACE_DRAW_COMPOSITE + 1; t++) {
        if (info->draws[t] > 0) {
            g_string_append_printf(out, "%s\"%s\": %" PRIu64, sep,
                                   t <= SV_TRACE_DRAW_COMPOSITE ? sv_trace_draw_type_name(t)
                                                                : "other",
                                   info->draws[t]);
            sep = ", ";
        }
    }
    g_string_append_printf(out,
                           "}, \"compat_drawables\": %" PRIu64
                           ", \"surfaces\": {\"created\": %" PRIu64 ", \"destroyed\": %" PRIu64
                           ", \"primary\": [",
                           info->compat_draws, info->surface_creates, info->surface_destroys);
    for (guint i = 0; i < info->primaries->len; i++) {
        const SvTracePrimary *p = &g_array_index(info->primaries, SvTracePrimary, i);
        g_string_append_printf(out,
                               "%s{\"width\": %u, \"height\": %u, \"stride\": %d, \"format\": %u}",
                               i > 0 ? ", " : "", p->width, p->height, p->stride, p->format);
    }
    g_string_append_printf(out,
                           "]}, \"bitmaps\": {\"count\": %" PRIu64 ", \"bytes\": %" PRIu64
                           ", \"sizes\": {",
                           info->bitmaps, info->bitmap_bytes);
    for (guint i = 0; i < sizes->len; i++) {
        const SizeCount *sc = &g_array_index(sizes, SizeCount, i);
        g_string_append_printf(out, "%s\"%s\": %" PRIu64, i > 0 ? ", " : "", sc->size, sc->count);
    }
    g_string_append(out, "}}, \"video_candidates\": [");
    for (guint i = 0; i < info->runs->len; i++) {
        const VideoRun *run = &g_array_index(info->runs, VideoRun, i);
        g_string_append_printf(out,
                               "%s{\"x\": %d, \"y\": %d, \"width\": %u, \"height\": %u, "
                               "\"frames\": %u, \"start_ns\": %" PRIu64 ", \"end_ns\": %" PRIu64
                               ", \"fps\": %.3f}",
                               i > 0 ? ", " : "", run->bbox.left, run->bbox.top, run->width,
                               run->height, run->frames, run->first_ns - info->first_ns,
                               run->last_ns - info->first_ns, run_fps(run));
    }
    g_string_append(out, "]}\n");
    fputs(out->str, stdout);
}

static int trace_info(const char *path, gboolean json)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new(path, &error);
    if (reader == NULL) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        return EXIT_USAGE;
    }
    TraceInfo info = {0};
    info.primaries = g_array_new(FALSE, FALSE, sizeof(SvTracePrimary));
    info.bitmap_sizes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    info.open_runs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    info.runs = g_array_new(FALSE, FALSE, sizeof(VideoRun));

    const SvTraceEvent *ev;
    while ((ev = sv_trace_reader_next(reader, &error)) != NULL) {
        info_add(&info, ev);
    }
    int status = 0;
    if (error != NULL) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        status = EXIT_USAGE;
    } else {
        GHashTableIter iter;
        gpointer key, value;
        g_hash_table_iter_init(&iter, info.open_runs);
        while (g_hash_table_iter_next(&iter, &key, &value)) {
            close_run(&info, value);
        }
        g_array_sort(info.runs, compare_runs);
        g_autoptr(GArray) sizes = g_array_new(FALSE, FALSE, sizeof(SizeCount));
        g_hash_table_iter_init(&iter, info.bitmap_sizes);
        while (g_hash_table_iter_next(&iter, &key, &value)) {
            SizeCount sc = {key, GPOINTER_TO_SIZE(value)};
            g_array_append_val(sizes, sc);
        }
        g_array_sort(sizes, compare_sizes);
        SvTraceReaderStats stats;
        sv_trace_reader_get_stats(reader, &stats);
        SvTraceCompression compression = sv_trace_reader_get_compression(reader);
        if (json) {
            print_info_json(path, compression, &info, &stats, sizes);
        } else {
            print_info_text(path, compression, &info, &stats, sizes);
        }
    }
    g_array_free(info.primaries, TRUE);
    g_hash_table_destroy(info.bitmap_sizes);
    g_hash_table_destroy(info.open_runs);
    g_array_free(info.runs, TRUE);
    return status;
}

/* ---- cut and cat ---------------------------------------------------------------------------- */

typedef struct {
    gboolean by_time;
    gboolean by_events;
    double from_s;
    double to_s;
    uint64_t first_event;
    uint64_t end_event;
} CutRange;

/* Events before the range that a replay needs. */
static gboolean is_setup(const SvTraceEvent *ev)
{
    if (ev->kind == SV_TRACE_KIND_MESSAGE) {
        return ev->type != SV_TRACE_MSG_UPDATE && ev->type != SV_TRACE_MSG_WAKEUP &&
               ev->type != SV_TRACE_MSG_UPDATE_ASYNC;
    }
    if (ev->type == SV_TRACE_CMD_SURFACE) {
        return TRUE;
    }
    return ev->type == SV_TRACE_CMD_CURSOR &&
           (ev->cursor.type == SV_TRACE_CURSOR_SET || ev->cursor.type == SV_TRACE_CURSOR_HIDE);
}

static int copy_trace(const char *path, const char *out_path, const CutRange *range, int level,
                      gboolean json)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new(path, &error);
    if (reader == NULL) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        return EXIT_USAGE;
    }
    g_autoptr(SvTraceWriter) writer =
        sv_trace_writer_new(out_path, sv_trace_compression_from_name(out_path), level, &error);
    if (writer == NULL) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        return EXIT_FAILED;
    }

    const SvTraceEvent *ev;
    uint64_t index = 0;
    uint64_t written = 0;
    uint64_t setup = 0;
    uint64_t first_ns = 0;
    while ((ev = sv_trace_reader_next(reader, &error)) != NULL) {
        if (index == 0) {
            first_ns = ev->timestamp_ns;
        }
        gboolean before = FALSE;
        gboolean after = FALSE;
        if (range->by_events) {
            before = index < range->first_event;
            after = index >= range->end_event;
        } else if (range->by_time) {
            double t = (double)(ev->timestamp_ns - first_ns) / 1e9;
            before = t < range->from_s;
            after = t >= range->to_s;
        }
        index++;
        if (after) {
            break;
        }
        if (before && !is_setup(ev)) {
            continue;
        }
        if (!sv_trace_writer_write(writer, ev, &error)) {
            fprintf(stderr, "spice-bench: %s (%s not written)\n", error->message, out_path);
            return EXIT_FAILED;
        }
        written++;
        setup += before ? 1 : 0;
    }
    if (error != NULL) {
        fprintf(stderr, "spice-bench: %s (%s not written)\n", error->message, out_path);
        return EXIT_USAGE;
    }
    if (!sv_trace_writer_close(writer, &error)) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        return EXIT_FAILED;
    }
    if (json) {
        g_autoptr(GString) out = g_string_new("{\"input\": ");
        json_string(out, path);
        g_string_append(out, ", \"output\": ");
        json_string(out, out_path);
        g_string_append_printf(out,
                               ", \"events_read\": %" PRIu64 ", \"events_written\": %" PRIu64
                               ", \"setup_events\": %" PRIu64 "}\n",
                               index, written, setup);
        fputs(out->str, stdout);
    }
    return 0;
}

static gboolean parse_seconds(const char *s, double *out)
{
    char *end = NULL;
    double v = g_ascii_strtod(s, &end);
    if (end == s || *end != '\0' || !(v >= 0.0) || v > 1e9) {
        return FALSE;
    }
    *out = v;
    return TRUE;
}

static gboolean parse_event_range(const char *s, uint64_t *first, uint64_t *end)
{
    const char *colon = strchr(s, ':');
    if (colon == NULL) {
        return FALSE;
    }
    g_autofree char *a = g_strndup(s, (gsize)(colon - s));
    guint64 va = 0;
    guint64 vb = G_MAXUINT64;
    if (*a != '\0' && !g_ascii_string_to_unsigned(a, 10, 0, G_MAXUINT64, &va, NULL)) {
        return FALSE;
    }
    if (colon[1] != '\0' && !g_ascii_string_to_unsigned(colon + 1, 10, 0, G_MAXUINT64, &vb, NULL)) {
        return FALSE;
    }
    if (vb < va) {
        return FALSE;
    }
    *first = va;
    *end = vb;
    return TRUE;
}

static int trace_copy_command(int argc, char **argv, gboolean cut)
{
    const char *command = argv[0];
    const char *path = NULL;
    const char *out_path = NULL;
    gboolean json = FALSE;
    int level = 0;
    CutRange range = {FALSE, FALSE, 0.0, 1e18, 0, G_MAXUINT64};

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        gboolean takes_value = strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0 ||
                               strcmp(arg, "--level") == 0 ||
                               (cut && (strcmp(arg, "--from") == 0 || strcmp(arg, "--to") == 0 ||
                                        strcmp(arg, "--events") == 0));
        if (takes_value && value == NULL) {
            return usage_error("%s needs a value", arg);
        }
        if (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) {
            out_path = value;
        } else if (strcmp(arg, "--level") == 0) {
            gint64 v;
            if (!g_ascii_string_to_signed(value, 10, 1, 22, &v, NULL)) {
                return usage_error("--level expects 1 to 22, not '%s'", value);
            }
            level = (int)v;
        } else if (cut && strcmp(arg, "--from") == 0) {
            if (!parse_seconds(value, &range.from_s)) {
                return usage_error("--from expects seconds, not '%s'", value);
            }
            range.by_time = TRUE;
        } else if (cut && strcmp(arg, "--to") == 0) {
            if (!parse_seconds(value, &range.to_s)) {
                return usage_error("--to expects seconds, not '%s'", value);
            }
            range.by_time = TRUE;
        } else if (cut && strcmp(arg, "--events") == 0) {
            if (!parse_event_range(value, &range.first_event, &range.end_event)) {
                return usage_error("--events expects A:B with A <= B, not '%s'", value);
            }
            range.by_events = TRUE;
        } else if (strcmp(arg, "--json") == 0) {
            json = TRUE;
            continue;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            print_trace_usage(stdout);
            return 0;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error("unknown option '%s'", arg);
        } else if (path == NULL) {
            path = arg;
            continue;
        } else {
            return usage_error("unexpected argument '%s'", arg);
        }
        i++;
    }
    if (path == NULL) {
        return usage_error("%s: missing input FILE", command);
    }
    if (out_path == NULL) {
        return usage_error("%s: missing -o OUT", command);
    }
    if (cut && !range.by_time && !range.by_events) {
        return usage_error("%s: needs --from/--to or --events", command);
    }
    if (range.by_time && range.by_events) {
        return usage_error("%s: --from/--to and --events exclude each other", command);
    }
    if (range.by_time && range.to_s < range.from_s) {
        return usage_error("%s: --to is before --from", command);
    }
    if (strcmp(path, out_path) == 0 && strcmp(path, "-") != 0) {
        return usage_error("%s: OUT must differ from FILE", command);
    }
    return copy_trace(path, out_path, &range, level, json);
}

int sv_bench_trace_main(int argc, char **argv)
{
    if (argc < 2) {
        print_trace_usage(stderr);
        return EXIT_USAGE;
    }
    const char *command = argv[1];
    if (strcmp(command, "-h") == 0 || strcmp(command, "--help") == 0 ||
        strcmp(command, "help") == 0) {
        print_trace_usage(stdout);
        return 0;
    }
    if (strcmp(command, "info") == 0) {
        const char *path = NULL;
        gboolean json = FALSE;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--json") == 0) {
                json = TRUE;
            } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
                print_trace_usage(stdout);
                return 0;
            } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
                return usage_error("unknown option '%s'", argv[i]);
            } else if (path == NULL) {
                path = argv[i];
            } else {
                return usage_error("unexpected argument '%s'", argv[i]);
            }
        }
        if (path == NULL) {
            return usage_error("%s: missing FILE", "info");
        }
        return trace_info(path, json);
    }
    if (strcmp(command, "gen") == 0) {
        return sv_bench_trace_gen_main(argc - 1, argv + 1);
    }
    if (strcmp(command, "cut") == 0 || strcmp(command, "cat") == 0) {
        return trace_copy_command(argc - 1, argv + 1, strcmp(command, "cut") == 0);
    }
    return usage_error("unknown command '%s' (expected: info, cut, cat, gen)", command);
}
