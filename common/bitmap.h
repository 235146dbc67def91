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

#endif /* SV_COMMON_BITMAP_H */
