/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * bitmap.h: reading the lines of a SpiceBitmap whose data is split into
 * chunks that may end anywhere, even inside a line. Shared by the MJPEG
 * encoder and the frame encoder.
 */
#ifndef SV_COMMON_BITMAP_H
#define SV_COMMON_BITMAP_H

#include <stddef.h>

#include <glib.h>

#include <spice-video/spice-draw.h>

/* Walks a chunk list forward, in memory order. */
typedef struct SvChunkCursor {
    const SpiceChunks *chunks;
    uint32_t index;       /* current chunk */
    uint64_t chunk_start; /* offset of chunk[index] in the bitmap data */
} SvChunkCursor;

/* Starts a cursor at the first chunk of @chunks (not NULL). */
void sv_chunk_cursor_init(SvChunkCursor *cursor, const SpiceChunks *chunks);

/*
 * @return a pointer to the @len bytes at data offset @offset when they lie
 * in one chunk; else copies them into @dst (which must hold @len bytes) and
 * returns @dst; NULL if the data ends before them. Offsets must not decrease
 * from one call to the next on the same cursor. @len may be 0 only if
 * @offset is inside the data.
 */
const uint8_t *sv_chunk_cursor_read(SvChunkCursor *cursor, uint64_t offset, size_t len,
                                    uint8_t *dst);

/*
 * @return a pointer to the @len bytes at @offset if they all lie in one
 * chunk, else NULL (nothing is copied). Same ordering rule as
 * sv_chunk_cursor_read().
 */
const uint8_t *sv_chunk_cursor_span(SvChunkCursor *cursor, uint64_t offset, size_t len);

/* @src is non-empty, lies inside @bitmap and no side exceeds @max_side. */
gboolean sv_bitmap_src_is_valid(const SpiceBitmap *bitmap, const SpiceRect *src, int32_t max_side);

/*
 * The first memory line of @src: src.top for a top-down bitmap, else
 * bitmap.y - src.bottom (lines are never reordered). @src must be valid.
 */
uint64_t sv_bitmap_first_line(const SpiceBitmap *bitmap, const SpiceRect *src, int top_down);

/*
 * The chunks of @bitmap hold every byte of the lines of @src (starting at
 * memory line @first_line, @bytes_per_pixel each), no chunk has a NULL
 * pointer with a length, and the stride holds a whole line.
 */
gboolean sv_bitmap_has_src_data(const SpiceBitmap *bitmap, const SpiceRect *src,
                                uint32_t bytes_per_pixel, uint64_t first_line);

/* @return the bits per pixel of SpiceBitmapFmt @format (1 … 32), 0 if unknown. */
uint32_t sv_bitmap_format_bits(uint32_t format);

#endif /* SV_COMMON_BITMAP_H */
