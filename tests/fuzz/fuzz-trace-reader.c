/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Fuzz target for the trace reader: any bytes (plain, zstd or gzip) are
 * read to the end or to the first error; every byte an event points at is
 * touched so the sanitizers see a bad pointer or length. Linked with
 * fuzz-main.c it replays tests/fuzz/trace-reader/ as a test.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <glib.h>

#include <spice-video/trace.h>

/* Inputs are small; a large blob would only measure the allocator. */
#define FUZZ_MAX_BLOB_BYTES (16 * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void touch_blob(const SvTraceBlob *blob)
{
    uint8_t x = 0;
    for (size_t i = 0; i < blob->size; i++) {
        x ^= blob->data[i];
    }
    sink ^= x;
}

static void touch_chunks(const SvTraceChunks *chunks)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < chunks->n_chunks; i++) {
        touch_blob(&chunks->chunks[i]);
        total += chunks->chunks[i].size;
    }
    g_assert_cmpuint(total, ==, chunks->total_bytes);
}

static void touch_image(const SvTraceImage *image)
{
    if (image == NULL) {
        return;
    }
    touch_chunks(&image->data);
    for (uint32_t i = 0; i < image->palette_n; i++) {
        sink ^= (uint8_t)image->palette[i];
    }
    if (image->type == SV_TRACE_IMAGE_BITMAP) {
        g_assert_cmpuint(image->data.total_bytes, ==,
                         (uint64_t)image->bitmap_y * (uint64_t)ABS(image->bitmap_stride));
    }
}

static void touch_event(const SvTraceEvent *ev)
{
    const SvTraceDrawable *d = &ev->draw;
    touch_image(d->src_image);
    touch_image(d->brush.pattern);
    touch_image(d->back_brush.pattern);
    touch_image(d->mask.bitmap);
    for (uint32_t i = 0; i < d->clip.n_rects; i++) {
        sink ^= (uint8_t)d->clip.rects[i].right;
    }
    touch_chunks(&d->path);
    touch_chunks(&d->string);
    touch_blob(&d->style);
    touch_blob(&d->src_transform);
    touch_blob(&d->mask_transform);
    touch_chunks(&ev->cursor.data);
    touch_blob(&ev->message);
    touch_blob(&ev->surface.data);
    touch_blob(&ev->primary.data);
    (void)sv_trace_event_type_name(ev->kind, ev->type);
    (void)sv_trace_draw_type_name(d->type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new_from_data("fuzz", data, size, &error);
    if (reader == NULL) {
        g_assert_nonnull(error);
        g_assert_null(strchr(error->message, '\n'));
        return 0;
    }
    sv_trace_reader_set_max_blob_bytes(reader, FUZZ_MAX_BLOB_BYTES);
    const SvTraceEvent *ev;
    while ((ev = sv_trace_reader_next(reader, &error)) != NULL) {
        touch_event(ev);
    }
    if (error != NULL) {
        g_assert_true(error->domain == SV_TRACE_ERROR);
        g_assert_null(strchr(error->message, '\n'));
        /* Reading on after an error is refused, not undefined. */
        g_autoptr(GError) again = NULL;
        g_assert_null(sv_trace_reader_next(reader, &again));
        g_assert_nonnull(again);
    }
    return 0;
}
