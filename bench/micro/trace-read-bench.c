/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * trace-read-bench: reading speed and memory of the trace reader. Writes a
 * trace of 1080p video copies (one 1920x1080 32-bit bitmap per drawable, in
 * 4 chunks as Xspice sends them) to a temporary directory, plain and zstd,
 * then reads each in a child process and prints uncompressed MB/s and the
 * child's peak RSS (getrusage ru_maxrss). Targets: plain >= 1000 MB/s, peak
 * RSS < 64 MB whatever the length.
 *
 * Usage: trace-read-bench [SIZE_MB]   (default 2048, or $SV_TRACE_BENCH_MB;
 *                                     $SV_TRACE_BENCH_KEEP keeps the files)
 *        trace-read-bench --read FILE (the child)
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <glib.h>
#include <glib/gstdio.h>

#include <spice-video/trace.h>

#define WIDTH 1920
#define HEIGHT 1080
#define STRIDE (WIDTH * 4)
#define FRAME_BYTES ((size_t)STRIDE * HEIGHT)
#define CHUNKS 4
#define FRAME_INTERVAL_NS 40000000 /* 25 fps */
#define DEFAULT_SIZE_MB 2048

/* Moving gradients with a little noise: compressible like natural video,
 * different in every frame. */
static void fill_frame(uint8_t *pixels, uint32_t frame)
{
    uint32_t seed = frame * 2654435761u + 1;
    for (uint32_t y = 0; y < HEIGHT; y++) {
        uint8_t *line = pixels + (size_t)y * STRIDE;
        for (uint32_t x = 0; x < WIDTH; x++) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            uint8_t noise = (uint8_t)(seed & 7);
            line[x * 4 + 0] = (uint8_t)(x + frame * 3 + noise);
            line[x * 4 + 1] = (uint8_t)(y + frame * 2);
            line[x * 4 + 2] = (uint8_t)((x + y) / 4 + frame);
            line[x * 4 + 3] = 0;
        }
    }
}

static gboolean generate(const char *plain, const char *zst, uint64_t size_bytes, GError **error)
{
    g_autoptr(SvTraceWriter) wp = sv_trace_writer_new(plain, SV_TRACE_COMPRESSION_NONE, 0, error);
    if (wp == NULL) {
        return FALSE;
    }
    g_autoptr(SvTraceWriter) wz = sv_trace_writer_new(zst, SV_TRACE_COMPRESSION_ZSTD, 1, error);
    if (wz == NULL) {
        return FALSE;
    }
    g_autofree uint8_t *pixels = g_malloc(FRAME_BYTES);
    memset(pixels, 0x20, FRAME_BYTES);

    SvTraceEvent ev = {0};
    ev.kind = SV_TRACE_KIND_MESSAGE;
    ev.type = SV_TRACE_MSG_CREATE_PRIMARY_SURFACE;
    ev.timestamp_ns = 1000000000;
    ev.primary =
        (SvTracePrimary){TRUE, WIDTH, HEIGHT, -STRIDE, 32, 0, 1, 0, 0, {pixels, FRAME_BYTES}};
    if (!sv_trace_writer_write(wp, &ev, error) || !sv_trace_writer_write(wz, &ev, error)) {
        return FALSE;
    }

    SvTraceBlob chunks[CHUNKS];
    size_t chunk_bytes = FRAME_BYTES / CHUNKS;
    for (int i = 0; i < CHUNKS; i++) {
        chunks[i] = (SvTraceBlob){pixels + i * chunk_bytes, chunk_bytes};
    }
    SvTraceImage image = {0};
    image.type = SV_TRACE_IMAGE_BITMAP;
    image.flags = 1;
    image.width = image.bitmap_x = WIDTH;
    image.height = image.bitmap_y = HEIGHT;
    image.bitmap_format = 9;
    image.bitmap_flags = SV_TRACE_BITMAP_TOP_DOWN;
    image.bitmap_stride = STRIDE;
    image.data = (SvTraceChunks){CHUNKS, chunks, FRAME_BYTES};

    uint64_t frames = MAX(size_bytes / FRAME_BYTES, 1);
    for (uint32_t f = 0; f < frames; f++) {
        fill_frame(pixels, f);
        image.id = UINT64_C(0x100000000) + f;
        memset(&ev, 0, sizeof(ev));
        ev.kind = SV_TRACE_KIND_COMMAND;
        ev.type = SV_TRACE_CMD_DRAW;
        ev.timestamp_ns = 2000000000 + (uint64_t)f * FRAME_INTERVAL_NS;
        SvTraceDrawable *d = &ev.draw;
        d->bbox = (SvTraceRect){0, 0, WIDTH, HEIGHT};
        d->effect = 1;
        d->surfaces_dest[0] = d->surfaces_dest[1] = d->surfaces_dest[2] = -1;
        d->type = SV_TRACE_DRAW_COPY;
        d->src_image = &image;
        d->src_area = (SvTraceRect){0, 0, WIDTH, HEIGHT};
        d->rop_descriptor = 8;
        if (!sv_trace_writer_write(wp, &ev, error) || !sv_trace_writer_write(wz, &ev, error)) {
            return FALSE;
        }
    }
    return sv_trace_writer_close(wp, error) && sv_trace_writer_close(wz, error);
}

/* The child: reads FILE, prints "bytes seconds maxrss_kb events". */
static int read_trace(const char *path)
{
    g_autoptr(GError) error = NULL;
    int64_t start = g_get_monotonic_time();
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new(path, &error);
    if (reader == NULL) {
        fprintf(stderr, "%s\n", error->message);
        return 1;
    }
    const SvTraceEvent *ev;
    uint64_t check = 0;
    while ((ev = sv_trace_reader_next(reader, &error)) != NULL) {
        const SvTraceImage *img = ev->draw.src_image;
        if (img != NULL) {
            check += img->data.chunks[0].data[0];
        }
    }
    if (error != NULL) {
        fprintf(stderr, "%s\n", error->message);
        return 1;
    }
    double seconds = (double)(g_get_monotonic_time() - start) / 1e6;
    SvTraceReaderStats stats;
    sv_trace_reader_get_stats(reader, &stats);
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
                 (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
    printf("%" PRIu64 " %.6f %ld %" PRIu64 " %.6f %" PRIu64 "\n", stats.bytes, seconds,
           usage.ru_maxrss, stats.events, cpu, check);
    return 0;
}

static gboolean measure(const char *self, const char *label, const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *out = NULL;
    int status;
    const char *argv[] = {self, "--read", path, NULL};
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status,
                      &error) ||
        !g_spawn_check_wait_status(status, &error)) {
        fprintf(stderr, "trace-read-bench: %s: %s\n", label, error->message);
        return FALSE;
    }
    uint64_t bytes = 0;
    double seconds = 0;
    long rss_kb = 0;
    uint64_t events = 0;
    double cpu = 0;
    if (sscanf(out, "%" SCNu64 " %lf %ld %" SCNu64 " %lf", &bytes, &seconds, &rss_kb, &events,
               &cpu) != 5) {
        fprintf(stderr, "trace-read-bench: %s: unexpected child output '%s'\n", label, out);
        return FALSE;
    }
    GStatBuf st;
    g_stat(path, &st);
    /* MB per CPU second as well: wall time suffers on a loaded machine. */
    printf("%-6s %8.1f MB/s  %6.2f s (%.1f MB per CPU s)  %" PRIu64 " MB uncompressed (%" PRIu64
           " MB on disk), %" PRIu64 " events, peak RSS %.1f MB\n",
           label, (double)bytes / 1e6 / seconds, seconds, (double)bytes / 1e6 / MAX(cpu, 1e-6),
           bytes / 1000000, (uint64_t)st.st_size / 1000000, events, (double)rss_kb / 1024.0);
    return TRUE;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--read") == 0) {
        return read_trace(argv[2]);
    }
    uint64_t size_mb = DEFAULT_SIZE_MB;
    const char *env = g_getenv("SV_TRACE_BENCH_MB");
    if (argc > 1) {
        size_mb = g_ascii_strtoull(argv[1], NULL, 10);
    } else if (env != NULL) {
        size_mb = g_ascii_strtoull(env, NULL, 10);
    }
    if (size_mb == 0) {
        fprintf(stderr, "usage: trace-read-bench [SIZE_MB]\n");
        return 2;
    }
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("sv-trace-bench-XXXXXX", &error);
    if (dir == NULL) {
        fprintf(stderr, "trace-read-bench: %s\n", error->message);
        return 1;
    }
    g_autofree char *plain = g_build_filename(dir, "video-1080p.spice", NULL);
    g_autofree char *zst = g_build_filename(dir, "video-1080p.spice.zst", NULL);

    printf("generating %" PRIu64 " MB of 1080p copies (25 fps) in %s\n", size_mb, dir);
    fflush(stdout);
    int64_t start = g_get_monotonic_time();
    gboolean ok = generate(plain, zst, size_mb * 1000000, &error);
    if (!ok) {
        fprintf(stderr, "trace-read-bench: %s\n", error->message);
    } else {
        printf("generated in %.1f s\n", (double)(g_get_monotonic_time() - start) / 1e6);
        fflush(stdout);
        ok = measure(argv[0], "plain", plain) && measure(argv[0], "zstd", zst);
    }
    if (g_getenv("SV_TRACE_BENCH_KEEP") != NULL) {
        printf("kept %s and %s\n", plain, zst);
    } else {
        g_unlink(plain);
        g_unlink(zst);
        g_rmdir(dir);
    }
    return ok ? 0 : 1;
}
