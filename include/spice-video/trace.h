/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * trace.h: reading and writing recorded QXL command traces, the
 * `SPICE_REPLAY 1` files spice-server writes when
 * SPICE_WORKER_RECORD_FILENAME is set (docs/trace-format.md).
 *
 * The reader streams: it keeps one fixed-size input buffer and the storage
 * of the current event, so a trace of any length is read with memory
 * proportional to its largest command. Plain, zstd and gzip input are told
 * apart from the first bytes. Events come out as the structures below,
 * which hold the recorded values but no QXL physical addresses; rectangles
 * are converted from the file's top/left/bottom/right order.
 *
 * Thread: a reader or writer is used by one thread at a time.
 */
#ifndef SPICE_VIDEO_TRACE_H
#define SPICE_VIDEO_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include <spice-video/sv-export.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Errors of the trace reader and writer; every message is one line. */
#define SV_TRACE_ERROR (sv_trace_error_quark())
SV_API GQuark sv_trace_error_quark(void);

typedef enum {
    SV_TRACE_ERROR_IO,       /**< the file cannot be opened, read or written */
    SV_TRACE_ERROR_FORMAT,   /**< the content does not follow the grammar */
    SV_TRACE_ERROR_LIMIT,    /**< a size or dimension beyond the reader's limits */
    SV_TRACE_ERROR_COMPRESS, /**< corrupt or truncated zstd / gzip / zlib data */
    SV_TRACE_ERROR_INVALID,  /**< the writer was given an event it cannot write */
} SvTraceError;

/** Record kind: the `what` field of an event line. */
typedef enum {
    SV_TRACE_KIND_COMMAND = 0, /**< a QXL command pulled from a guest ring */
    SV_TRACE_KIND_MESSAGE = 1, /**< a message delivered to a worker */
} SvTraceKind;

/** QXL command types (kind SV_TRACE_KIND_COMMAND). */
typedef enum {
    SV_TRACE_CMD_DRAW = 1,
    SV_TRACE_CMD_UPDATE = 2,
    SV_TRACE_CMD_CURSOR = 3,
    SV_TRACE_CMD_MESSAGE = 4,
    SV_TRACE_CMD_SURFACE = 5,
} SvTraceCommandType;

/** Worker message numbers (kind SV_TRACE_KIND_MESSAGE); append-only in spice. */
typedef enum {
    SV_TRACE_MSG_UPDATE = 1,
    SV_TRACE_MSG_WAKEUP = 2,
    SV_TRACE_MSG_START = 8,
    SV_TRACE_MSG_STOP = 9,
    SV_TRACE_MSG_ADD_MEMSLOT = 16,
    SV_TRACE_MSG_DESTROY_SURFACES = 19,
    SV_TRACE_MSG_CREATE_PRIMARY_SURFACE = 20,
    SV_TRACE_MSG_DESTROY_PRIMARY_SURFACE = 21,
    SV_TRACE_MSG_RESET_CURSOR = 22,
    SV_TRACE_MSG_RESET_IMAGE_CACHE = 23,
    SV_TRACE_MSG_UPDATE_ASYNC = 26,
    SV_TRACE_MSG_CREATE_PRIMARY_SURFACE_ASYNC = 29,
    SV_TRACE_MSG_MONITORS_CONFIG_ASYNC = 35,
    SV_TRACE_MSG_LAST = 40, /**< highest number spice-server 0.15 knows (CLOSE_WORKER) */
} SvTraceMessageType;

/** Drawing types (SvTraceDrawable.type), QXL_DRAW_* values. */
typedef enum {
    SV_TRACE_DRAW_NOP = 0,
    SV_TRACE_DRAW_FILL = 1,
    SV_TRACE_DRAW_OPAQUE = 2,
    SV_TRACE_DRAW_COPY = 3,
    SV_TRACE_DRAW_COPY_BITS = 4,
    SV_TRACE_DRAW_BLEND = 5,
    SV_TRACE_DRAW_BLACKNESS = 6,
    SV_TRACE_DRAW_WHITENESS = 7,
    SV_TRACE_DRAW_INVERS = 8,
    SV_TRACE_DRAW_ROP3 = 9,
    SV_TRACE_DRAW_STROKE = 10,
    SV_TRACE_DRAW_TEXT = 11,
    SV_TRACE_DRAW_TRANSPARENT = 12,
    SV_TRACE_DRAW_ALPHA_BLEND = 13,
    SV_TRACE_DRAW_COMPOSITE = 14,
} SvTraceDrawType;

/** Image types (SvTraceImage.type). Other values are kept as opaque payloads. */
typedef enum {
    SV_TRACE_IMAGE_BITMAP = 0,
    SV_TRACE_IMAGE_QUIC = 1,
    SV_TRACE_IMAGE_SURFACE = 104,
} SvTraceImageType;

/** QXL bitmap flags (SvTraceImage.bitmap_flags). */
#define SV_TRACE_BITMAP_DIRECT 1
#define SV_TRACE_BITMAP_UNSTABLE 2
#define SV_TRACE_BITMAP_TOP_DOWN 4

/** Cursor command types (SvTraceCursorCmd.type). */
typedef enum {
    SV_TRACE_CURSOR_SET = 0,
    SV_TRACE_CURSOR_MOVE = 1,
    SV_TRACE_CURSOR_HIDE = 2,
    SV_TRACE_CURSOR_TRAIL = 3,
} SvTraceCursorType;

/** A rectangle in pixels; right and bottom exclusive (file order: top left bottom right). */
typedef struct SvTraceRect {
    int32_t left;
    int32_t top;
    int32_t right;
    int32_t bottom;
} SvTraceRect;

typedef struct SvTracePoint {
    int32_t x;
    int32_t y;
} SvTracePoint;

/** Bytes of one blob. @data points into the reader's storage of the event. */
typedef struct SvTraceBlob {
    const uint8_t *data;
    size_t size;
} SvTraceBlob;

/** Data split in chunks, as the guest laid it out (`data_chunks`). */
typedef struct SvTraceChunks {
    uint32_t n_chunks;         /**< entries in chunks[] (>= 1 when present) */
    const SvTraceBlob *chunks; /**< n_chunks pieces laid end to end */
    uint64_t total_bytes;      /**< sum of the chunk sizes */
} SvTraceChunks;

typedef struct SvTraceImage SvTraceImage;

/**
 * An image (`image 1` + descriptor). Which members are meaningful depends on
 * @type: BITMAP uses bitmap_* / palette* / data, SURFACE uses surface_id, any
 * other type (QUIC…) keeps its payload in data with @payload_key naming it.
 */
struct SvTraceImage {
    uint64_t id;     /**< descriptor.id */
    uint32_t type;   /**< SvTraceImageType */
    uint32_t flags;  /**< descriptor.flags */
    uint32_t width;  /**< descriptor.width */
    uint32_t height; /**< descriptor.height */

    uint32_t bitmap_format; /**< SpiceBitmapFmt (1BIT_LE 1 … 8BIT_A 10) */
    uint32_t bitmap_flags;  /**< SV_TRACE_BITMAP_*; DIRECT: data is one flat blob */
    uint32_t bitmap_x;      /**< width in pixels */
    uint32_t bitmap_y;      /**< height in pixels */
    int32_t bitmap_stride;  /**< bytes per line */
    gboolean has_palette;
    uint64_t palette_unique;
    uint32_t palette_n;      /**< entries in palette[] */
    const uint32_t *palette; /**< palette colours */

    int32_t surface_id; /**< SURFACE: the source surface (recorded id) */

    const char *payload_key; /**< other types: "quic" for "quic.data_size" */
    uint32_t payload_size;   /**< other types: the recorded X.data_size */

    /** BITMAP: the pixels (bitmap_y × bitmap_stride bytes); other types: payload. */
    SvTraceChunks data;
};

/** Brush types. */
#define SV_TRACE_BRUSH_NONE 0
#define SV_TRACE_BRUSH_SOLID 1
#define SV_TRACE_BRUSH_PATTERN 2

typedef struct SvTraceBrush {
    uint32_t type;               /**< SV_TRACE_BRUSH_* */
    uint32_t color;              /**< SOLID */
    const SvTraceImage *pattern; /**< PATTERN; may be NULL (`image 0`) */
    SvTracePoint pattern_origin; /**< PATTERN */
} SvTraceBrush;

typedef struct SvTraceMask {
    uint32_t flags;
    SvTracePoint origin;
    const SvTraceImage *bitmap; /**< NULL when there is no mask */
} SvTraceMask;

/** Clip types. */
#define SV_TRACE_CLIP_NONE 0
#define SV_TRACE_CLIP_RECTS 1

typedef struct SvTraceClip {
    uint32_t type;            /**< SV_TRACE_CLIP_* */
    uint32_t n_rects;         /**< RECTS */
    const SvTraceRect *rects; /**< RECTS: n_rects rectangles */
} SvTraceClip;

/**
 * A drawable (QXL command DRAW). The header members are always set; the
 * body members used by each @type are:
 * FILL: brush, rop_descriptor, mask.
 * OPAQUE: src_image, src_area, brush, rop_descriptor, scale_mode, mask.
 * COPY, BLEND: src_image, src_area, rop_descriptor, scale_mode, mask.
 * COPY_BITS: src_pos. BLACKNESS, WHITENESS, INVERS: mask.
 * ROP3: src_image, src_area, brush, rop3, scale_mode, mask.
 * STROKE: path, attr_flags, style_nseg, style, brush, fore_mode, back_mode.
 * TEXT: string_*, back_area, brush (fore), back_brush, fore_mode, back_mode.
 * TRANSPARENT: src_image, src_area, src_color, true_color.
 * ALPHA_BLEND: alpha_flags (native only), alpha, src_image, src_area.
 * COMPOSITE: composite_flags, src_image, src_transform, mask.bitmap,
 * mask_transform, src_origin, mask_origin.
 */
typedef struct SvTraceDrawable {
    gboolean compat; /**< recorded in the old (compat) layout */
    SvTraceRect bbox;
    SvTraceClip clip;
    uint32_t effect;  /**< QXL_EFFECT_* (OPAQUE 1) */
    uint32_t mm_time; /**< the guest's value; meaningless to the server */
    /* native layout */
    uint32_t self_bitmap;
    SvTraceRect self_bitmap_area;
    int32_t surface_id;       /**< target surface (recorded id; 0 = primary) */
    int32_t surfaces_dest[3]; /**< dependencies, -1 = unused */
    SvTraceRect surfaces_rects[3];
    /* compat layout */
    uint32_t bitmap_offset;
    SvTraceRect bitmap_area;

    uint32_t type; /**< SvTraceDrawType */

    const SvTraceImage *src_image; /**< NULL for `image 0` */
    SvTraceRect src_area;
    SvTraceBrush brush;
    SvTraceBrush back_brush;
    uint32_t rop_descriptor; /**< OP_PUT = 8 */
    uint32_t rop3;
    uint32_t scale_mode;
    SvTraceMask mask;
    SvTracePoint src_pos; /**< COPY_BITS source position */

    SvTraceChunks path; /**< STROKE: raw QXL path segments */
    uint32_t attr_flags;
    uint32_t style_nseg;
    SvTraceBlob style; /**< STROKE with STYLED (8): style_nseg × 4 bytes */
    uint32_t fore_mode;
    uint32_t back_mode;

    uint32_t string_data_size; /**< TEXT */
    uint32_t string_length;
    uint32_t string_flags;
    SvTraceChunks string;
    SvTraceRect back_area;

    uint32_t src_color; /**< TRANSPARENT */
    uint32_t true_color;

    uint32_t alpha_flags; /**< ALPHA_BLEND */
    uint32_t alpha;

    uint32_t composite_flags; /**< COMPOSITE */
    gboolean has_src_transform;
    SvTraceBlob src_transform; /**< 24 bytes */
    gboolean has_mask_transform;
    SvTraceBlob mask_transform;
    SvTracePoint src_origin;
    SvTracePoint mask_origin;
} SvTraceDrawable;

/** QXL command UPDATE. */
typedef struct SvTraceUpdate {
    SvTraceRect area;
    uint32_t update_id;
    int32_t surface_id;
} SvTraceUpdate;

/** Surface command types and flags. */
#define SV_TRACE_SURFACE_CREATE 0
#define SV_TRACE_SURFACE_DESTROY 1
#define SV_TRACE_SURFACE_KEEP_DATA 1

/** QXL command SURFACE. */
typedef struct SvTraceSurfaceCmd {
    int32_t surface_id;
    uint32_t type;  /**< SV_TRACE_SURFACE_CREATE / _DESTROY */
    uint32_t flags; /**< KEEP_DATA: data holds the initial pixels */
    uint32_t format;
    uint32_t width;
    uint32_t height;
    int32_t stride; /**< negative for bottom-up */
    SvTraceBlob data;
} SvTraceSurfaceCmd;

/** QXL command CURSOR. */
typedef struct SvTraceCursorCmd {
    uint32_t type;         /**< SvTraceCursorType */
    SvTracePoint position; /**< SET, MOVE (16-bit in the file) */
    uint32_t visible;      /**< SET */
    uint64_t unique;       /**< SET: cursor header */
    uint32_t shape_type;
    uint32_t width;
    uint32_t height;
    uint32_t hot_spot_x;
    uint32_t hot_spot_y;
    uint32_t data_size;
    SvTraceChunks data;
    uint32_t trail_length; /**< TRAIL */
    uint32_t trail_frequency;
} SvTraceCursorCmd;

/** Worker messages 20 and 29: primary surface creation and its pixels. */
typedef struct SvTracePrimary {
    /** FALSE when the recorder wrote the event line without the block (a
     *  request the server rejected); the other members are then zero. */
    gboolean present;
    uint32_t width;
    uint32_t height;
    int32_t stride;
    uint32_t format;
    uint32_t position;
    uint32_t mouse_mode;
    uint32_t flags;
    uint32_t type;
    SvTraceBlob data; /**< |stride| × height bytes */
} SvTracePrimary;

/**
 * One record. Exactly one body member is meaningful: draw, update, cursor,
 * message or surface for commands of that type, primary for messages 20/29.
 */
typedef struct SvTraceEvent {
    uint64_t counter;      /**< as recorded (0, 1, 2… in spice's files) */
    uint32_t kind;         /**< SvTraceKind */
    uint32_t type;         /**< SvTraceCommandType or SvTraceMessageType */
    uint64_t timestamp_ns; /**< CLOCK_MONOTONIC at recording time */
    uint64_t offset;       /**< byte offset of the event line (uncompressed) */
    SvTraceDrawable draw;
    SvTraceUpdate update;
    SvTraceCursorCmd cursor;
    SvTraceBlob message; /**< guest text, not NUL-terminated */
    SvTraceSurfaceCmd surface;
    SvTracePrimary primary;
} SvTraceEvent;

/** What the reader has seen so far. */
typedef struct SvTraceReaderStats {
    uint64_t events;          /**< events returned */
    uint64_t skipped;         /**< well-formed records skipped (unknown kind or type) */
    uint64_t bytes;           /**< uncompressed bytes consumed */
    uint64_t max_event_bytes; /**< largest storage one event needed */
    uint64_t input_bytes;     /**< raw (possibly compressed) bytes consumed: progress */
    uint64_t input_size;      /**< raw size of the input, 0 if unknown (a pipe) */
} SvTraceReaderStats;

/** Compression of a trace file (input: detected; output: chosen). */
typedef enum {
    SV_TRACE_COMPRESSION_NONE,
    SV_TRACE_COMPRESSION_ZSTD,
    SV_TRACE_COMPRESSION_GZIP,
} SvTraceCompression;

typedef struct SvTraceReader SvTraceReader;

/** Default limit for one blob (and for one event's storage): 1 GiB. */
#define SV_TRACE_DEFAULT_MAX_BLOB_BYTES (UINT64_C(1) << 30)
/** Largest width or height accepted for a bitmap, surface or cursor. */
#define SV_TRACE_MAX_DIMENSION 65536

/**
 * Opens a trace for reading; "-" is standard input. The compression is
 * detected from the first bytes (zstd, gzip, else plain), and the header
 * line is checked.
 * @return a reader, or NULL with @error (SV_TRACE_ERROR) set.
 *         Ownership: caller, sv_trace_reader_free().
 */
SV_API SvTraceReader *sv_trace_reader_new(const char *path, GError **error);

/**
 * Like sv_trace_reader_new() over bytes in memory (plain, zstd or gzip).
 * @param name used in error messages.
 * @param data must stay valid until the reader is freed; not copied.
 */
SV_API SvTraceReader *sv_trace_reader_new_from_data(const char *name, const void *data, size_t size,
                                                    GError **error);

SV_API void sv_trace_reader_free(SvTraceReader *reader);

/** Sets the largest blob (and event storage) accepted; larger is an error. */
SV_API void sv_trace_reader_set_max_blob_bytes(SvTraceReader *reader, uint64_t max_bytes);

/**
 * Reads the next event, skipping (and counting in the stats) well-formed
 * records of unknown kind or type.
 * @return the event, or NULL at the end of the trace (@error unset) or on
 *         bad input (@error set: "FILE: offset N (line L, event E): …").
 *         Ownership: the reader's; valid until the next call or the free.
 */
SV_API const SvTraceEvent *sv_trace_reader_next(SvTraceReader *reader, GError **error);

SV_API void sv_trace_reader_get_stats(const SvTraceReader *reader, SvTraceReaderStats *stats);

/** @return the compression detected in the input. */
SV_API SvTraceCompression sv_trace_reader_get_compression(const SvTraceReader *reader);

/** @return the last "skipped …" warning, or NULL. Ownership: the reader's. */
SV_API const char *sv_trace_reader_get_last_warning(const SvTraceReader *reader);

/** @return the compression a file name asks for: .zst, .gz, else none. */
SV_API SvTraceCompression sv_trace_compression_from_name(const char *path);

typedef struct SvTraceWriter SvTraceWriter;

/**
 * Creates a trace file. The data goes to "PATH.tmp", renamed to @path by
 * sv_trace_writer_close(); a writer freed without a successful close
 * removes the temporary file, so a failed run never leaves a partial file.
 * "-" writes to standard output directly.
 * @param level compression level (0 = the library default).
 */
SV_API SvTraceWriter *sv_trace_writer_new(const char *path, SvTraceCompression compression,
                                          int level, GError **error);

/**
 * Appends @event in spice-server's format. Events are renumbered 0, 1, 2…
 * in the order written; everything else, timestamps included, is kept.
 */
SV_API gboolean sv_trace_writer_write(SvTraceWriter *writer, const SvTraceEvent *event,
                                      GError **error);

/** Flushes, finishes the compressed stream and renames the file into place. */
SV_API gboolean sv_trace_writer_close(SvTraceWriter *writer, GError **error);

/** Frees the writer; removes the temporary file if it was not closed. */
SV_API void sv_trace_writer_free(SvTraceWriter *writer);

/** @return the name of a command type ("draw") or worker message ("create_primary_surface"). */
SV_API const char *sv_trace_event_type_name(uint32_t kind, uint32_t type);

/** @return the name of a drawing type ("copy", "copy_bits"…), "?" if unknown. */
SV_API const char *sv_trace_draw_type_name(uint32_t type);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvTraceReader, sv_trace_reader_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvTraceWriter, sv_trace_writer_free)

#ifdef __cplusplus
}
#endif

#endif /* SPICE_VIDEO_TRACE_H */
