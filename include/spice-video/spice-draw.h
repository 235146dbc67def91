/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * spice-draw.h: the drawing types the VideoEncoder contract uses, declared
 * with the memory layout of spice-common's `common/draw.h` and
 * `common/mem.h` (spice-common is not packaged on Debian, so the project
 * declares them itself). tests/headers/test-abi.c pins every size and offset.
 *
 * When a SPICE server that already includes spice-common's headers also
 * includes this file, define SV_HAVE_SPICE_COMMON_DRAW first so that only one
 * declaration of each type is seen.
 */
#ifndef SPICE_VIDEO_SPICE_DRAW_H
#define SPICE_VIDEO_SPICE_DRAW_H

#include <stdint.h>

#include <spice/enums.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef SV_HAVE_SPICE_COMMON_DRAW

/** A rectangle in pixels; right and bottom are exclusive. */
typedef struct SpiceRect {
    int32_t left;
    int32_t top;
    int32_t right;
    int32_t bottom;
} SpiceRect;

/** A colour table for palette bitmaps (never used by the video encoders). */
typedef struct SpicePalette {
    uint64_t unique;
    uint16_t num_ents;
    uint32_t ents[];
} SpicePalette;

/** SpiceChunks.flags: the guest may still change the data. */
#define SPICE_CHUNKS_FLAGS_UNSTABLE (1 << 0)
/** SpiceChunks.flags: the chunk memory belongs to the chunk list. */
#define SPICE_CHUNKS_FLAGS_FREE (1 << 1)

/** One contiguous piece of bitmap data. */
typedef struct SpiceChunk {
    uint8_t *data; /**< first byte of this piece */
    uint32_t len;  /**< bytes in this piece */
} SpiceChunk;

/** The pixel data of a bitmap, in one or more pieces laid end to end. */
typedef struct SpiceChunks {
    uint32_t data_size;  /**< total bytes over all chunks */
    uint32_t num_chunks; /**< entries in chunk[] */
    uint32_t flags;      /**< SPICE_CHUNKS_FLAGS_* */
    SpiceChunk chunk[];
} SpiceChunks;

/** An uncompressed bitmap. */
typedef struct SpiceBitmap {
    uint8_t format;        /**< SpiceBitmapFmt */
    uint8_t flags;         /**< SPICE_BITMAP_FLAGS_*; TOP_DOWN = first line in memory is the top */
    uint32_t x;            /**< width in pixels */
    uint32_t y;            /**< height in pixels */
    uint32_t stride;       /**< bytes from one line to the next in memory */
    SpicePalette *palette; /**< palette formats only, else NULL */
    uint64_t palette_id;
    SpiceChunks *data;
} SpiceBitmap;

#endif /* SV_HAVE_SPICE_COMMON_DRAW */

#ifdef __cplusplus
}
#endif

#endif /* SPICE_VIDEO_SPICE_DRAW_H */
