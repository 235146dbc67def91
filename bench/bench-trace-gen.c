/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * `spice-bench trace gen`: synthetic SPICE_REPLAY 1 traces of labelled
 * workloads, deterministic from a seed, with a JSON labels file giving the
 * ground-truth video regions and their time spans.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spice-video/spice-video.h>

#include "bench-trace-gen.h"

#define EXIT_FAILED 1
#define EXIT_USAGE 2

#define BASE_NS UINT64_C(1000000000)
#define NS_PER_S UINT64_C(1000000000)
#define ROP_OP_PUT 8
#define EFFECT_OPAQUE 1
#define BITMAP_FMT_32BIT 8
#define SURFACE_FMT_32_XRGB 32
#define GLYPH_LINE_HEIGHT 13
#define TEXT_LINES_PER_S 40
#define SLIDE_PERIOD_S 2
#define CURSOR_MOVES_PER_S 30
#define CURSOR_SIZE 24
#define DESKTOP_COLOR 0x305070u

typedef struct {
    const char *name;
    const char *description;
} Workload;

static const Workload workloads[] = {
    {"video", "natural-looking video (moving gradients + noise) in a window, at --fps"},
    {"fullscreen-video", "the same over the whole screen"},
    {"scroll", "scrolling text: copy_bits of the text area + a new glyph strip per line"},
    {"drag", "a window dragged across the screen (same picture, moving)"},
    {"progress", "a progress bar filling by small fills, 10 steps/s"},
    {"slideshow", "a large picture that changes every 2 s"},
    {"idle", "nothing drawn; the cursor moves in a circle, 30 moves/s"},
    {"mix", "video window + scrolling text + cursor moves"},
};

typedef struct {
    const char *workload;
    uint32_t width;
    uint32_t height;
    double duration_s;
    uint32_t fps;
    uint64_t seed;
    const char *out;
    const char *labels;
    int level;
} GenOptions;

typedef struct {
    SvTraceWriter *writer;
    GError **error;
    uint64_t events;
    uint32_t rng;
    uint8_t *pixels; /* scratch for one bitmap */
    uint64_t image_id;
} Gen;

typedef struct {
    SvTraceRect area;
    uint64_t start_ns;
    uint64_t end_ns;
    uint32_t frames;
} VideoLabel;

/* Whether the '+'-separated workload list @wl names @part. */
static gboolean has_part(const char *wl, const char *part)
{
    size_t n = strlen(part);
    for (const char *p = wl; p != NULL && *p != '\0';) {
        const char *end = strchr(p, '+');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, part, n) == 0) {
            return TRUE;
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return FALSE;
}

static uint32_t next_random(Gen *g)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 17;
    g->rng ^= g->rng << 5;
    return g->rng;
}

static gboolean emit(Gen *g, const SvTraceEvent *ev)
{
    g->events++;
    return sv_trace_writer_write(g->writer, ev, g->error);
}

static gboolean emit_message(Gen *g, uint32_t type, uint64_t ts)
{
    SvTraceEvent ev = {0};
    ev.kind = SV_TRACE_KIND_MESSAGE;
    ev.type = type;
    ev.timestamp_ns = ts;
    return emit(g, &ev);
}

static gboolean emit_primary(Gen *g, uint32_t w, uint32_t h, uint64_t ts)
{
    size_t size = (size_t)w * h * 4;
    g_autofree uint32_t *data = g_malloc(size);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        data[i] = DESKTOP_COLOR;
    }
    SvTraceEvent ev = {0};
    ev.kind = SV_TRACE_KIND_MESSAGE;
    ev.type = SV_TRACE_MSG_CREATE_PRIMARY_SURFACE;
    ev.timestamp_ns = ts;
    ev.primary = (SvTracePrimary){TRUE,
                                  w,
                                  h,
                                  -(int32_t)(w * 4),
                                  SURFACE_FMT_32_XRGB,
                                  0,
                                  1,
                                  0,
                                  0,
                                  {(const uint8_t *)data, size}};
    return emit(g, &ev);
}

static void init_drawable(SvTraceEvent *ev, uint64_t ts, SvTraceRect bbox, uint32_t type)
{
    memset(ev, 0, sizeof(*ev));
    ev->kind = SV_TRACE_KIND_COMMAND;
    ev->type = SV_TRACE_CMD_DRAW;
    ev->timestamp_ns = ts;
    ev->draw.bbox = bbox;
    ev->draw.effect = EFFECT_OPAQUE;
    for (int i = 0; i < 3; i++) {
        ev->draw.surfaces_dest[i] = -1;
    }
    ev->draw.type = type;
    ev->draw.rop_descriptor = ROP_OP_PUT;
}

static gboolean emit_fill(Gen *g, uint64_t ts, SvTraceRect bbox, uint32_t color)
{
    SvTraceEvent ev;
    init_drawable(&ev, ts, bbox, SV_TRACE_DRAW_FILL);
    ev.draw.brush.type = SV_TRACE_BRUSH_SOLID;
    ev.draw.brush.color = color;
    return emit(g, &ev);
}

/* A copy of g->pixels (w x h, 32-bit, top-down) to (x, y), in up to 4
 * chunks as Xspice splits large bitmaps. */
static gboolean emit_copy(Gen *g, uint64_t ts, int32_t x, int32_t y, uint32_t w, uint32_t h,
                          uint64_t image_id)
{
    size_t stride = (size_t)w * 4;
    uint32_t n_chunks = h >= 4 && w * h >= 96 * 96 ? 4 : 1;
    SvTraceBlob chunks[4];
    uint32_t rows_per_chunk = (h + n_chunks - 1) / n_chunks;
    uint32_t used = 0;
    for (uint32_t i = 0; i < n_chunks; i++) {
        uint32_t rows = MIN(rows_per_chunk, h - MIN(h, i * rows_per_chunk));
        chunks[i] = (SvTraceBlob){g->pixels + (size_t)i * rows_per_chunk * stride, rows * stride};
        used += rows > 0 ? 1 : 0;
    }
    SvTraceImage image = {0};
    image.id = image_id;
    image.type = SV_TRACE_IMAGE_BITMAP;
    image.flags = 1;
    image.width = image.bitmap_x = w;
    image.height = image.bitmap_y = h;
    image.bitmap_format = BITMAP_FMT_32BIT;
    image.bitmap_flags = SV_TRACE_BITMAP_TOP_DOWN;
    image.bitmap_stride = (int32_t)stride;
    image.data = (SvTraceChunks){used, chunks, stride * h};

    SvTraceEvent ev;
    init_drawable(&ev, ts, (SvTraceRect){x, y, x + (int32_t)w, y + (int32_t)h}, SV_TRACE_DRAW_COPY);
    ev.draw.src_image = &image;
    ev.draw.src_area = (SvTraceRect){0, 0, (int32_t)w, (int32_t)h};
    return emit(g, &ev);
}

/* Smooth gradients moving with time, plus 3 bits of noise: gradual like a
 * camera picture, different in every frame. */
static void paint_video(Gen *g, uint32_t w, uint32_t h, uint32_t frame)
{
    uint32_t *px = (uint32_t *)g->pixels;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            uint32_t noise = next_random(g) & 7;
            uint32_t b = (x * 256 / MAX(w, 1) + frame * 3 + noise) & 255;
            uint32_t gr = (y * 256 / MAX(h, 1) + frame * 2 + noise) & 255;
            uint32_t r = ((x + y) * 128 / MAX(w + h, 1) + frame + 64) & 255;
            px[(size_t)y * w + x] = b | gr << 8 | r << 16;
        }
    }
}

/* A flat picture with a few blocks (a window, a slide). */
static void paint_flat(Gen *g, uint32_t w, uint32_t h, uint32_t variant)
{
    uint32_t *px = (uint32_t *)g->pixels;
    uint32_t base = (variant * 0x3b5a27u + 0x808080u) & 0xffffff;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            gboolean title = y < 20;
            gboolean block = ((x / 64) + (y / 48) + variant) % 5 == 0;
            px[(size_t)y * w + x] = title ? 0x2040a0u : block ? base ^ 0x404040u : base;
        }
    }
}

/* A 13-pixel line of black-on-white "glyphs" from the random generator. */
static void paint_text_line(Gen *g, uint32_t w)
{
    uint32_t *px = (uint32_t *)g->pixels;
    for (uint32_t x = 0; x < w; x += 6) {
        uint32_t glyph = next_random(g);
        for (uint32_t y = 0; y < GLYPH_LINE_HEIGHT; y++) {
            for (uint32_t dx = 0; dx < 6 && x + dx < w; dx++) {
                gboolean ink = y >= 2 && y < 11 && dx < 5 && ((glyph >> ((y * 5 + dx) % 31)) & 1);
                px[(size_t)y * w + x + dx] = ink ? 0x000000u : 0xffffffu;
            }
        }
    }
}

typedef struct {
    uint64_t next_ns;
    uint64_t period_ns;
    uint32_t count;
} Ticker;

static gboolean gen_workload(Gen *g, const GenOptions *o, GArray *labels)
{
    uint32_t W = o->width;
    uint32_t H = o->height;
    uint64_t end_ns = BASE_NS + (uint64_t)(o->duration_s * 1e9);
    uint64_t t0 = BASE_NS;
    const char *wl = o->workload;
    gboolean mix = has_part(wl, "mix");
    gboolean video = has_part(wl, "video") || mix;
    gboolean full = has_part(wl, "fullscreen-video");
    gboolean scroll = has_part(wl, "scroll") || mix;
    gboolean cursor = has_part(wl, "idle") || mix;
    gboolean drag = has_part(wl, "drag");
    gboolean progress = has_part(wl, "progress");
    gboolean slides = has_part(wl, "slideshow");

    /* Set-up, as Xspice records it. */
    if (!emit_message(g, SV_TRACE_MSG_ADD_MEMSLOT, t0) ||
        !emit_message(g, SV_TRACE_MSG_START, t0 + 1000) || !emit_primary(g, W, H, t0 + 2000) ||
        !emit_fill(g, t0 + 3000, (SvTraceRect){0, 0, (int32_t)W, (int32_t)H}, DESKTOP_COLOR)) {
        return FALSE;
    }

    /* Regions: the video window in the upper left quarter-ish, text in the
     * lower half (mix) or the whole screen (scroll). */
    uint32_t vw = full ? W : MAX(W / 2, 16) & ~1u;
    uint32_t vh = full ? H : MAX(H / 2, 16) & ~1u;
    int32_t vx = full ? 0 : (int32_t)(W / 8);
    int32_t vy = full ? 0 : (int32_t)(H / 16);
    /* With a video window the text goes below it. */
    SvTraceRect text_area = {8, video ? (int32_t)(H * 5 / 8) : 8, (int32_t)W - 8, (int32_t)H - 8};
    uint32_t text_w = (uint32_t)(text_area.right - text_area.left);
    uint32_t text_h = (uint32_t)(text_area.bottom - text_area.top);
    text_h -= text_h % GLYPH_LINE_HEIGHT;
    text_area.bottom = text_area.top + (int32_t)text_h;

    VideoLabel label = {{vx, vy, vx + (int32_t)vw, vy + (int32_t)vh}, 0, 0, 0};
    Ticker frame = {t0 + NS_PER_S / 10, NS_PER_S / MAX(o->fps, 1), 0};
    Ticker line = {t0 + NS_PER_S / 10, NS_PER_S / TEXT_LINES_PER_S, 0};
    Ticker move = {t0 + NS_PER_S / 20, NS_PER_S / CURSOR_MOVES_PER_S, 0};
    Ticker step = {t0 + NS_PER_S / 10, NS_PER_S / 10, 0};
    Ticker bar = {t0 + NS_PER_S / 10 + 500000, NS_PER_S / 10, 0};
    Ticker slide = {t0 + NS_PER_S / 10, SLIDE_PERIOD_S * NS_PER_S, 0};
    int32_t drag_x = 0;
    double circle_x = 1.0;
    double circle_y = 0.0;

    if (cursor) {
        memset(g->pixels, 0xff, CURSOR_SIZE * CURSOR_SIZE * 4);
        SvTraceBlob shape = {g->pixels, CURSOR_SIZE * CURSOR_SIZE * 4};
        SvTraceEvent ev = {0};
        ev.kind = SV_TRACE_KIND_COMMAND;
        ev.type = SV_TRACE_CMD_CURSOR;
        ev.timestamp_ns = t0 + 4000;
        ev.cursor.type = SV_TRACE_CURSOR_SET;
        ev.cursor.position = (SvTracePoint){(int32_t)W / 2, (int32_t)H / 2};
        ev.cursor.visible = 1;
        ev.cursor.shape_type = 1; /* ALPHA */
        ev.cursor.width = ev.cursor.height = CURSOR_SIZE;
        ev.cursor.data_size = (uint32_t)shape.size;
        ev.cursor.data = (SvTraceChunks){1, &shape, shape.size};
        if (!emit(g, &ev)) {
            return FALSE;
        }
    }

    for (;;) {
        /* The earliest due ticker goes next, so timestamps increase. */
        uint64_t next = UINT64_MAX;
        Ticker *tickers[6] = {video || full ? &frame : NULL, scroll ? &line : NULL,
                              cursor ? &move : NULL,         drag ? &step : NULL,
                              progress ? &bar : NULL,        slides ? &slide : NULL};
        Ticker *due = NULL;
        for (int i = 0; i < 6; i++) {
            if (tickers[i] != NULL && tickers[i]->next_ns < next) {
                next = tickers[i]->next_ns;
                due = tickers[i];
            }
        }
        if (due == NULL || next >= end_ns) {
            break;
        }
        uint64_t ts = due->next_ns;
        due->next_ns += due->period_ns;
        uint32_t n = due->count++;

        if (due == &frame) {
            paint_video(g, vw, vh, n);
            if (!emit_copy(g, ts, vx, vy, vw, vh, ++g->image_id)) {
                return FALSE;
            }
            if (label.frames == 0) {
                label.start_ns = ts - t0;
            }
            label.end_ns = ts - t0;
            label.frames++;
        } else if (due == &line) {
            uint32_t lines_shown = text_h / GLYPH_LINE_HEIGHT;
            int32_t y;
            if (n + 1 < lines_shown) {
                y = text_area.top + (int32_t)(n * GLYPH_LINE_HEIGHT);
            } else {
                /* Screen full: scroll the area up by one line. */
                SvTraceEvent ev;
                SvTraceRect dst = {text_area.left, text_area.top, text_area.right,
                                   text_area.bottom - GLYPH_LINE_HEIGHT};
                init_drawable(&ev, ts, dst, SV_TRACE_DRAW_COPY_BITS);
                ev.draw.src_pos = (SvTracePoint){text_area.left, text_area.top + GLYPH_LINE_HEIGHT};
                if (!emit(g, &ev)) {
                    return FALSE;
                }
                y = text_area.bottom - GLYPH_LINE_HEIGHT;
            }
            paint_text_line(g, text_w);
            if (!emit_copy(g, ts + 1000, text_area.left, y, text_w, GLYPH_LINE_HEIGHT,
                           ++g->image_id)) {
                return FALSE;
            }
        } else if (due == &move) {
            SvTraceEvent ev = {0};
            ev.kind = SV_TRACE_KIND_COMMAND;
            ev.type = SV_TRACE_CMD_CURSOR;
            ev.timestamp_ns = ts;
            ev.cursor.type = SV_TRACE_CURSOR_MOVE;
            /* Minsky's circle: a closed loop of about 60 steps (2 s) without libm. */
            int32_t radius = (int32_t)MIN(W, H) / 4;
            double eps = 2.0 * G_PI / (2.0 * CURSOR_MOVES_PER_S);
            circle_x -= circle_y * eps;
            circle_y += circle_x * eps;
            ev.cursor.position = (SvTracePoint){(int32_t)W / 2 + (int32_t)(circle_x * radius),
                                                (int32_t)H / 2 + (int32_t)(circle_y * radius)};
            if (!emit(g, &ev)) {
                return FALSE;
            }
        } else if (due == &step) {
            uint32_t ww = MAX(W / 4, 16);
            uint32_t wh = MAX(H / 4, 16);
            int32_t y = (int32_t)(H / 3);
            int32_t old_x = drag_x;
            drag_x = (int32_t)((n * 16) % MAX(W - ww, 1));
            if (n > 0 &&
                !emit_fill(g, ts, (SvTraceRect){old_x, y, old_x + (int32_t)ww, y + (int32_t)wh},
                           DESKTOP_COLOR)) {
                return FALSE;
            }
            paint_flat(g, ww, wh, 1);
            if (!emit_copy(g, ts + 1000, drag_x, y, ww, wh, 7)) {
                return FALSE;
            }
        } else if (due == &bar) {
            int32_t bar_w = (int32_t)W / 2;
            int32_t x0 = (int32_t)W / 4;
            int32_t y0 = (int32_t)H / 2;
            int32_t done = (int32_t)((n % 100) * (uint32_t)bar_w / 100);
            int32_t next_done = (int32_t)(((n % 100) + 1) * (uint32_t)bar_w / 100);
            if (!emit_fill(g, ts, (SvTraceRect){x0 + done, y0, x0 + next_done, y0 + 16},
                           0x20c040u)) {
                return FALSE;
            }
        } else if (due == &slide) {
            uint32_t sw = W * 3 / 4;
            uint32_t sh = H * 3 / 4;
            paint_flat(g, sw, sh, n + 2);
            if (!emit_copy(g, ts, (int32_t)(W - sw) / 2, (int32_t)(H - sh) / 2, sw, sh, 1000 + n)) {
                return FALSE;
            }
        }
    }
    if ((video || full) && label.frames > 0) {
        g_array_append_val(labels, label);
    }
    return emit_message(g, SV_TRACE_MSG_STOP, end_ns);
}

static gboolean write_labels(const GenOptions *o, GArray *labels, uint64_t events, GError **error)
{
    g_autoptr(GString) s = g_string_new("{\n");
    g_string_append_printf(s,
                           "  \"generator\": \"spice-bench trace gen\",\n  \"workload\": \"%s\",\n"
                           "  \"width\": %u,\n  \"height\": %u,\n  \"fps\": %u,\n  \"seed\": "
                           "%" PRIu64 ",\n  \"duration_ns\": %" PRIu64 ",\n  \"events\": %" PRIu64
                           ",\n  \"video_regions\": [",
                           o->workload, o->width, o->height, o->fps, o->seed,
                           (uint64_t)(o->duration_s * 1e9), events);
    for (guint i = 0; i < labels->len; i++) {
        const VideoLabel *l = &g_array_index(labels, VideoLabel, i);
        g_string_append_printf(s,
                               "%s\n    {\"x\": %d, \"y\": %d, \"width\": %d, \"height\": %d, "
                               "\"start_ns\": %" PRIu64 ", \"end_ns\": %" PRIu64
                               ", \"frames\": %u}",
                               i > 0 ? "," : "", l->area.left, l->area.top,
                               l->area.right - l->area.left, l->area.bottom - l->area.top,
                               l->start_ns, l->end_ns, l->frames);
    }
    g_string_append(s, labels->len > 0 ? "\n  ]\n}\n" : "]\n}\n");
    g_autofree char *tmp = g_strconcat(o->labels, ".tmp", NULL);
    if (!g_file_set_contents(tmp, s->str, (gssize)s->len, error)) {
        return FALSE;
    }
    if (rename(tmp, o->labels) != 0) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: cannot rename %s", o->labels,
                    tmp);
        return FALSE;
    }
    return TRUE;
}

static void print_gen_usage(FILE *out)
{
    fputs("Usage: spice-bench trace gen --workload NAME -o OUT [--size WxH] [--duration S]\n"
          "                             [--fps N] [--seed N] [--labels FILE] [--level N]\n"
          "\n"
          "Writes a synthetic SPICE_REPLAY 1 trace (compressed by OUT's name) and a JSON\n"
          "labels file (default OUT.labels.json) with the ground-truth video regions\n"
          "(position, size, first/last frame time from the trace start, frames).\n"
          "Defaults: --size 1024x768 --duration 10 --fps 25 --seed 1.\n"
          "\n"
          "Workloads (combine with '+', e.g. video+drag+progress):\n",
          out);
    for (size_t i = 0; i < G_N_ELEMENTS(workloads); i++) {
        fprintf(out, "  %-17s %s\n", workloads[i].name, workloads[i].description);
    }
}

static int gen_usage_error(const char *format, const char *arg)
{
    fputs("spice-bench: trace gen: ", stderr);
    fprintf(stderr, format, arg);
    fputs(" (see spice-bench trace gen --help)\n", stderr);
    return EXIT_USAGE;
}

int sv_bench_trace_gen_main(int argc, char **argv)
{
    GenOptions o = {NULL, 1024, 768, 10.0, 25, 1, NULL, NULL, 0};
    g_autofree char *labels_default = NULL;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            print_gen_usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            return gen_usage_error("unknown option or missing value: '%s'", arg);
        }
        const char *value = argv[++i];
        guint64 v;
        if (strcmp(arg, "--workload") == 0) {
            o.workload = value;
        } else if (strcmp(arg, "-o") == 0 || strcmp(arg, "--output") == 0) {
            o.out = value;
        } else if (strcmp(arg, "--labels") == 0) {
            o.labels = value;
        } else if (strcmp(arg, "--size") == 0) {
            unsigned w = 0;
            unsigned h = 0;
            char extra;
            if (sscanf(value, "%ux%u%c", &w, &h, &extra) != 2 || w < 64 || h < 64 || w > 8192 ||
                h > 8192) {
                return gen_usage_error("--size expects WxH, 64 to 8192 each, not '%s'", value);
            }
            o.width = w & ~1u;
            o.height = h & ~1u;
        } else if (strcmp(arg, "--duration") == 0) {
            char *end = NULL;
            o.duration_s = g_ascii_strtod(value, &end);
            if (end == value || *end != '\0' || !(o.duration_s > 0) || o.duration_s > 86400) {
                return gen_usage_error("--duration expects seconds, not '%s'", value);
            }
        } else if (strcmp(arg, "--fps") == 0) {
            if (!g_ascii_string_to_unsigned(value, 10, 1, 120, &v, NULL)) {
                return gen_usage_error("--fps expects 1 to 120, not '%s'", value);
            }
            o.fps = (uint32_t)v;
        } else if (strcmp(arg, "--seed") == 0) {
            if (!g_ascii_string_to_unsigned(value, 10, 0, G_MAXUINT64, &v, NULL)) {
                return gen_usage_error("--seed expects a number, not '%s'", value);
            }
            o.seed = v;
        } else if (strcmp(arg, "--level") == 0) {
            if (!g_ascii_string_to_unsigned(value, 10, 1, 22, &v, NULL)) {
                return gen_usage_error("--level expects 1 to 22, not '%s'", value);
            }
            o.level = (int)v;
        } else {
            return gen_usage_error("unknown option '%s'", arg);
        }
    }
    if (o.workload == NULL) {
        return gen_usage_error("%s", "missing --workload");
    }
    g_auto(GStrv) parts = g_strsplit(o.workload, "+", -1);
    for (char **part = parts; *part != NULL; part++) {
        gboolean known = FALSE;
        for (size_t i = 0; i < G_N_ELEMENTS(workloads); i++) {
            known = known || strcmp(workloads[i].name, *part) == 0;
        }
        if (!known) {
            return gen_usage_error("unknown workload '%s'", *part);
        }
    }
    if (has_part(o.workload, "fullscreen-video") &&
        (has_part(o.workload, "video") || has_part(o.workload, "mix"))) {
        return gen_usage_error("%s", "fullscreen-video does not combine with video or mix");
    }
    if (o.out == NULL) {
        return gen_usage_error("%s", "missing -o OUT");
    }
    if (o.labels == NULL) {
        labels_default = g_strconcat(o.out, ".labels.json", NULL);
        o.labels = labels_default;
    }

    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceWriter) writer =
        sv_trace_writer_new(o.out, sv_trace_compression_from_name(o.out), o.level, &error);
    if (writer == NULL) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        return EXIT_FAILED;
    }
    Gen g = {writer, &error, 0, (uint32_t)(o.seed ^ (o.seed >> 32)) | 1u, NULL, 0};
    g.pixels = g_malloc((size_t)o.width * o.height * 4 + CURSOR_SIZE * CURSOR_SIZE * 4);
    g_autoptr(GArray) labels = g_array_new(FALSE, FALSE, sizeof(VideoLabel));
    gboolean ok = gen_workload(&g, &o, labels) && sv_trace_writer_close(writer, &error) &&
                  write_labels(&o, labels, g.events, &error);
    g_free(g.pixels);
    if (!ok) {
        fprintf(stderr, "spice-bench: %s (%s not written)\n", error->message, o.out);
        return EXIT_FAILED;
    }
    return 0;
}
