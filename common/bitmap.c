/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/* Reading chunked SpiceBitmap data (bitmap.h). */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "bitmap.h"

void sv_chunk_cursor_init(SvChunkCursor *cursor, const SpiceChunks *chunks)
{
    *cursor = (SvChunkCursor){chunks, 0, 0};
}

/* Moves to the chunk holding @offset. FALSE if the data ends before it. */
static gboolean seek(SvChunkCursor *cursor, uint64_t offset)
{
    const SpiceChunks *chunks = cursor->chunks;

    while (cursor->index < chunks->num_chunks &&
           offset >= cursor->chunk_start + chunks->chunk[cursor->index].len) {
        cursor->chunk_start += chunks->chunk[cursor->index].len;
        cursor->index++;
    }
    return cursor->index < chunks->num_chunks;
}

const uint8_t *sv_chunk_cursor_span(SvChunkCursor *cursor, uint64_t offset, size_t len)
{
    if (!seek(cursor, offset)) {
        return NULL;
    }
    const SpiceChunk *chunk = &cursor->chunks->chunk[cursor->index];
    uint64_t in_chunk = offset - cursor->chunk_start;
    return in_chunk + len <= chunk->len ? chunk->data + in_chunk : NULL;
}

const uint8_t *sv_chunk_cursor_read(SvChunkCursor *cursor, uint64_t offset, size_t len,
                                    uint8_t *dst)
{
    const uint8_t *in_place = sv_chunk_cursor_span(cursor, offset, len);

    if (in_place != NULL || cursor->index >= cursor->chunks->num_chunks) {
        return in_place;
    }
    /* The range straddles chunks: gather it, leaving the cursor where it is. */
    const SpiceChunks *chunks = cursor->chunks;
    uint64_t in_chunk = offset - cursor->chunk_start;
    size_t copied = 0;
    for (uint32_t index = cursor->index; copied < len && index < chunks->num_chunks; index++) {
        const SpiceChunk *piece = &chunks->chunk[index];
        size_t take = (size_t)MIN(piece->len - in_chunk, len - copied);
        if (take > 0) { /* an empty chunk may have a NULL pointer */
            memcpy(dst + copied, piece->data + in_chunk, take);
        }
        copied += take;
        in_chunk = 0;
    }
    return copied == len ? dst : NULL;
}

gboolean sv_bitmap_src_is_valid(const SpiceBitmap *bitmap, const SpiceRect *src, int32_t max_side)
{
    if (src->left < 0 || src->top < 0 || src->left >= src->right || src->top >= src->bottom ||
        (uint32_t)src->right > bitmap->x || (uint32_t)src->bottom > bitmap->y) {
        return FALSE;
    }
    return src->right - src->left <= max_side && src->bottom - src->top <= max_side;
}

uint64_t sv_bitmap_first_line(const SpiceBitmap *bitmap, const SpiceRect *src, int top_down)
{
    return top_down ? (uint64_t)src->top : (uint64_t)bitmap->y - (uint64_t)src->bottom;
}

gboolean sv_bitmap_has_src_data(const SpiceBitmap *bitmap, const SpiceRect *src,
                                uint32_t bytes_per_pixel, uint64_t first_line)
{
    const SpiceChunks *chunks = bitmap->data;
    uint64_t total = 0;

    if (chunks == NULL || (uint64_t)bitmap->stride < (uint64_t)bitmap->x * bytes_per_pixel) {
        return FALSE;
    }
    for (uint32_t i = 0; i < chunks->num_chunks; i++) {
        if (chunks->chunk[i].data == NULL && chunks->chunk[i].len != 0) {
            return FALSE;
        }
        total += chunks->chunk[i].len;
    }
    uint64_t lines = (uint64_t)(src->bottom - src->top);
    uint64_t end =
        (first_line + lines - 1) * bitmap->stride + (uint64_t)src->right * bytes_per_pixel;
    return end <= total;
}

uint32_t sv_bitmap_format_bits(uint32_t format)
{
    switch (format) {
    case SPICE_BITMAP_FMT_1BIT_LE:
    case SPICE_BITMAP_FMT_1BIT_BE:
        return 1;
    case SPICE_BITMAP_FMT_4BIT_LE:
    case SPICE_BITMAP_FMT_4BIT_BE:
        return 4;
    case SPICE_BITMAP_FMT_8BIT:
    case SPICE_BITMAP_FMT_8BIT_A:
        return 8;
    case SPICE_BITMAP_FMT_16BIT:
        return 16;
    case SPICE_BITMAP_FMT_24BIT:
        return 24;
    case SPICE_BITMAP_FMT_32BIT:
    case SPICE_BITMAP_FMT_RGBA:
        return 32;
    default:
        return 0;
    }
}
