/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include <spice-video/trace.h>

/* Text is gathered in a buffer this large; larger blobs bypass it. */
#define WRITE_BUFFER_BYTES (256 * 1024)
/* Room one formatted line may take. */
#define LINE_MAX_BYTES 512
#define DEFAULT_ZSTD_LEVEL 3
#define DEFAULT_GZIP_LEVEL 6
/* QXL_STROKE_STYLED */
#define STROKE_STYLED 8

struct SvTraceWriter {
    char *path;
    char *tmp_path; /* NULL when writing to standard output */
    int fd;
    gboolean closed;
    gboolean failed;
    SvTraceCompression compression;
    uint64_t counter;

    uint8_t *buf;
    size_t len;
    uint8_t *zbuf; /* compressed output */
    size_t zbuf_size;
    ZSTD_CCtx *zstd;
    z_stream zlib;
    gboolean zlib_ready;
};

SvTraceCompression sv_trace_compression_from_name(const char *path)
{
    g_return_val_if_fail(path != NULL, SV_TRACE_COMPRESSION_NONE);
    if (g_str_has_suffix(path, ".zst")) {
        return SV_TRACE_COMPRESSION_ZSTD;
    }
    if (g_str_has_suffix(path, ".gz")) {
        return SV_TRACE_COMPRESSION_GZIP;
    }
    return SV_TRACE_COMPRESSION_NONE;
}

static gboolean write_fd(SvTraceWriter *w, const uint8_t *data, size_t size, GError **error)
{
    while (size > 0) {
        ssize_t n = write(w->fd, data, size);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            w->failed = TRUE;
            g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_IO, "%s: write error: %s", w->path,
                        g_strerror(errno));
            return FALSE;
        }
        data += n;
        size -= (size_t)n;
    }
    return TRUE;
}

/* Sends uncompressed bytes through the compressor to the file. */
static gboolean sink(SvTraceWriter *w, const uint8_t *data, size_t size, gboolean finish,
                     GError **error)
{
    switch (w->compression) {
    case SV_TRACE_COMPRESSION_ZSTD: {
        ZSTD_inBuffer in = {data, size, 0};
        for (;;) {
            ZSTD_outBuffer out = {w->zbuf, w->zbuf_size, 0};
            size_t ret =
                ZSTD_compressStream2(w->zstd, &out, &in, finish ? ZSTD_e_end : ZSTD_e_continue);
            if (ZSTD_isError(ret)) {
                w->failed = TRUE;
                g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_COMPRESS, "%s: zstd: %s", w->path,
                            ZSTD_getErrorName(ret));
                return FALSE;
            }
            if (!write_fd(w, w->zbuf, out.pos, error)) {
                return FALSE;
            }
            if (finish ? ret == 0 : in.pos == in.size) {
                return TRUE;
            }
        }
    }
    case SV_TRACE_COMPRESSION_GZIP: {
        w->zlib.next_in = (Bytef *)data;
        w->zlib.avail_in = (uInt)size;
        for (;;) {
            w->zlib.next_out = w->zbuf;
            w->zlib.avail_out = (uInt)w->zbuf_size;
            int ret = deflate(&w->zlib, finish ? Z_FINISH : Z_NO_FLUSH);
            if (ret == Z_STREAM_ERROR) {
                w->failed = TRUE;
                g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_COMPRESS,
                            "%s: gzip: deflate failed", w->path);
                return FALSE;
            }
            if (!write_fd(w, w->zbuf, w->zbuf_size - w->zlib.avail_out, error)) {
                return FALSE;
            }
            if (finish ? ret == Z_STREAM_END : (w->zlib.avail_in == 0 && w->zlib.avail_out != 0)) {
                return TRUE;
            }
        }
    }
    case SV_TRACE_COMPRESSION_NONE:
    default:
        return write_fd(w, data, size, error);
    }
}

static gboolean flush_buffer(SvTraceWriter *w, GError **error)
{
    if (w->len == 0) {
        return TRUE;
    }
    size_t len = w->len;
    w->len = 0;
    return sink(w, w->buf, len, FALSE, error);
}

static gboolean out_bytes(SvTraceWriter *w, const void *data, size_t size, GError **error)
{
    if (size >= WRITE_BUFFER_BYTES / 2) {
        return flush_buffer(w, error) && sink(w, data, size, FALSE, error);
    }
    if (w->len + size > WRITE_BUFFER_BYTES && !flush_buffer(w, error)) {
        return FALSE;
    }
    memcpy(w->buf + w->len, data, size);
    w->len += size;
    return TRUE;
}

static gboolean G_GNUC_PRINTF(3, 4)
    out_printf(SvTraceWriter *w, GError **error, const char *format, ...)
{
    if (WRITE_BUFFER_BYTES - w->len < LINE_MAX_BYTES && !flush_buffer(w, error)) {
        return FALSE;
    }
    va_list args;
    va_start(args, format);
    int n = vsnprintf((char *)w->buf + w->len, LINE_MAX_BYTES, format, args);
    va_end(args);
    g_assert(n >= 0 && n < LINE_MAX_BYTES);
    w->len += (size_t)n;
    return TRUE;
}

SvTraceWriter *sv_trace_writer_new(const char *path, SvTraceCompression compression, int level,
                                   GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_autoptr(SvTraceWriter) w = g_new0(SvTraceWriter, 1);

    w->path = g_strdup(path);
    w->fd = -1;
    w->compression = compression;
    if (strcmp(path, "-") == 0) {
        w->fd = STDOUT_FILENO;
    } else {
        w->tmp_path = g_strdup_printf("%s.tmp", path);
        w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
        if (w->fd < 0) {
            g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_IO, "%s: %s", w->tmp_path,
                        g_strerror(errno));
            g_clear_pointer(&w->tmp_path, g_free);
            return NULL;
        }
    }
    w->buf = g_malloc(WRITE_BUFFER_BYTES);
    if (compression == SV_TRACE_COMPRESSION_ZSTD) {
        w->zstd = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(w->zstd, ZSTD_c_compressionLevel,
                               level != 0 ? level : DEFAULT_ZSTD_LEVEL);
        ZSTD_CCtx_setParameter(w->zstd, ZSTD_c_checksumFlag, 1);
        w->zbuf_size = ZSTD_CStreamOutSize();
    } else if (compression == SV_TRACE_COMPRESSION_GZIP) {
        if (deflateInit2(&w->zlib, level != 0 ? CLAMP(level, 1, 9) : DEFAULT_GZIP_LEVEL, Z_DEFLATED,
                         15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_COMPRESS,
                        "%s: cannot create a gzip encoder", path);
            return NULL;
        }
        w->zlib_ready = TRUE;
        w->zbuf_size = WRITE_BUFFER_BYTES;
    }
    if (w->zbuf_size > 0) {
        w->zbuf = g_malloc(w->zbuf_size);
    }
    if (!out_printf(w, error, "SPICE_REPLAY 1\n")) {
        return NULL;
    }
    return g_steal_pointer(&w);
}

void sv_trace_writer_free(SvTraceWriter *w)
{
    if (w == NULL) {
        return;
    }
    if (w->fd >= 0 && w->fd != STDOUT_FILENO) {
        close(w->fd);
    }
    if (w->tmp_path != NULL && !w->closed) {
        unlink(w->tmp_path);
    }
    if (w->zstd != NULL) {
        ZSTD_freeCCtx(w->zstd);
    }
    if (w->zlib_ready) {
        deflateEnd(&w->zlib);
    }
    g_free(w->buf);
    g_free(w->zbuf);
    g_free(w->path);
    g_free(w->tmp_path);
    g_free(w);
}

gboolean sv_trace_writer_close(SvTraceWriter *w, GError **error)
{
    g_return_val_if_fail(w != NULL, FALSE);
    g_return_val_if_fail(!w->closed, FALSE);
    if (w->failed) {
        g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_IO, "%s: closing after a write error",
                    w->path);
        return FALSE;
    }
    size_t len = w->len;
    w->len = 0;
    if (w->compression != SV_TRACE_COMPRESSION_NONE) {
        if (!sink(w, w->buf, len, TRUE, error)) {
            return FALSE;
        }
    } else if (!write_fd(w, w->buf, len, error)) {
        return FALSE;
    }
    if (w->fd != STDOUT_FILENO) {
        int fd = w->fd;
        w->fd = -1;
        if (close(fd) != 0) {
            g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_IO, "%s: write error: %s", w->path,
                        g_strerror(errno));
            return FALSE;
        }
    }
    if (w->tmp_path != NULL && rename(w->tmp_path, w->path) != 0) {
        g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_IO, "%s: cannot rename %s: %s", w->path,
                    w->tmp_path, g_strerror(errno));
        return FALSE;
    }
    w->closed = TRUE;
    return TRUE;
}

/* ---- the grammar ---------------------------------------------------------------------------- */

/* The recorder writes most fields with %d. */
#define D(v) ((int)(int32_t)(v))

static gboolean put_blob_header(SvTraceWriter *w, const char *name, uint64_t size, GError **error)
{
    return out_printf(w, error, "binary 0 %s %" PRIu64 ":", name, size);
}

static gboolean put_blob(SvTraceWriter *w, const char *name, const SvTraceBlob *blob,
                         GError **error)
{
    return put_blob_header(w, name, blob->size, error) &&
           out_bytes(w, blob->data, blob->size, error) && out_bytes(w, "\n", 1, error);
}

/* One blob holding all the chunks end to end. */
static gboolean put_chunks_as_blob(SvTraceWriter *w, const char *name, const SvTraceChunks *chunks,
                                   GError **error)
{
    if (!put_blob_header(w, name, chunks->total_bytes, error)) {
        return FALSE;
    }
    for (uint32_t i = 0; i < chunks->n_chunks; i++) {
        if (!out_bytes(w, chunks->chunks[i].data, chunks->chunks[i].size, error)) {
            return FALSE;
        }
    }
    return out_bytes(w, "\n", 1, error);
}

static gboolean put_chunks(SvTraceWriter *w, const char *name, const SvTraceChunks *chunks,
                           GError **error)
{
    uint64_t total = 0;

    if (chunks->n_chunks == 0) {
        /* At least one blob follows "data_chunks": an empty one. */
        return out_printf(w, error, "data_chunks 0 0\n") && put_blob_header(w, name, 0, error) &&
               out_bytes(w, "\n", 1, error);
    }
    for (uint32_t i = 0; i < chunks->n_chunks; i++) {
        total += chunks->chunks[i].size;
    }
    if (!out_printf(w, error, "data_chunks %u %" PRIu64 "\n", chunks->n_chunks - 1, total)) {
        return FALSE;
    }
    for (uint32_t i = 0; i < chunks->n_chunks; i++) {
        if (!put_blob(w, name, &chunks->chunks[i], error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean put_rect(SvTraceWriter *w, const char *key, const SvTraceRect *r, GError **error)
{
    return out_printf(w, error, "rect %s %d %d %d %d\n", key, r->top, r->left, r->bottom, r->right);
}

static gboolean put_image(SvTraceWriter *w, const SvTraceImage *image, GError **error)
{
    if (image == NULL) {
        return out_printf(w, error, "image 0\n");
    }
    if (!out_printf(w, error,
                    "image 1\ndescriptor.id %" PRIu64 "\ndescriptor.type %d\ndescriptor.flags "
                    "%d\ndescriptor.width %d\ndescriptor.height %d\n",
                    image->id, D(image->type), D(image->flags), D(image->width),
                    D(image->height))) {
        return FALSE;
    }
    switch (image->type) {
    case SV_TRACE_IMAGE_BITMAP:
        if (!out_printf(w, error,
                        "bitmap.format %d\nbitmap.flags %d\nbitmap.x %d\nbitmap.y "
                        "%d\nbitmap.stride %d\nhas_palette %d\n",
                        D(image->bitmap_format), D(image->bitmap_flags), D(image->bitmap_x),
                        D(image->bitmap_y), image->bitmap_stride, image->has_palette ? 1 : 0)) {
            return FALSE;
        }
        if (image->has_palette) {
            if (!out_printf(w, error, "qp.num_ents %d\nunique %" PRIu64 "\n", D(image->palette_n),
                            image->palette_unique)) {
                return FALSE;
            }
            for (uint32_t i = 0; i < image->palette_n; i++) {
                if (!out_printf(w, error, "ents %d\n", D(image->palette[i]))) {
                    return FALSE;
                }
            }
        }
        if (image->bitmap_flags & SV_TRACE_BITMAP_DIRECT) {
            return put_chunks_as_blob(w, "image_data_flat", &image->data, error);
        }
        return put_chunks(w, "bitmap.data", &image->data, error);
    case SV_TRACE_IMAGE_SURFACE:
        return out_printf(w, error, "surface_image.surface_id %d\n", image->surface_id);
    default: {
        const char *key = image->payload_key != NULL ? image->payload_key : "quic";
        g_autofree char *name = g_strdup_printf("%s.data", key);
        return out_printf(w, error, "%s.data_size %d\n", key, D(image->payload_size)) &&
               put_chunks(w, name, &image->data, error);
    }
    }
}

static gboolean put_point(SvTraceWriter *w, const char *key, const SvTracePoint *p, GError **error)
{
    return out_printf(w, error, "%s %d %d\n", key, p->x, p->y);
}

static gboolean put_brush(SvTraceWriter *w, const SvTraceBrush *b, GError **error)
{
    if (!out_printf(w, error, "type %d\n", D(b->type))) {
        return FALSE;
    }
    switch (b->type) {
    case SV_TRACE_BRUSH_SOLID:
        return out_printf(w, error, "u.color %d\n", D(b->color));
    case SV_TRACE_BRUSH_PATTERN:
        return put_image(w, b->pattern, error) && put_point(w, "point", &b->pattern_origin, error);
    default:
        return TRUE;
    }
}

static gboolean put_mask(SvTraceWriter *w, const SvTraceMask *m, GError **error)
{
    return out_printf(w, error, "flags %d\n", D(m->flags)) &&
           put_point(w, "point", &m->origin, error) && put_image(w, m->bitmap, error);
}

static gboolean put_clip(SvTraceWriter *w, const SvTraceClip *c, GError **error)
{
    if (!out_printf(w, error, "type %d\n", D(c->type))) {
        return FALSE;
    }
    if (c->type != SV_TRACE_CLIP_RECTS) {
        return TRUE;
    }
    size_t size = (size_t)c->n_rects * 16;
    g_autofree uint8_t *raw = g_malloc(size + 1);
    for (uint32_t i = 0; i < c->n_rects; i++) {
        int32_t v[4] = {GINT32_TO_LE(c->rects[i].top), GINT32_TO_LE(c->rects[i].left),
                        GINT32_TO_LE(c->rects[i].bottom), GINT32_TO_LE(c->rects[i].right)};
        memcpy(raw + (size_t)i * 16, v, 16);
    }
    SvTraceBlob blob = {raw, size};
    SvTraceChunks chunks = {1, &blob, size};
    return out_printf(w, error, "num_rects %d\n", D(c->n_rects)) &&
           put_chunks(w, "clip_rects", &chunks, error);
}

static gboolean put_src(SvTraceWriter *w, const SvTraceDrawable *d, GError **error)
{
    return put_image(w, d->src_image, error) && put_rect(w, "src_area", &d->src_area, error);
}

static gboolean put_transform(SvTraceWriter *w, const char *key, gboolean has,
                              const SvTraceBlob *blob, GError **error)
{
    return out_printf(w, error, "%s %d\n", key, has ? 1 : 0) &&
           (!has || put_blob(w, "transform", blob, error));
}

static gboolean put_drawable(SvTraceWriter *w, const SvTraceDrawable *d, GError **error)
{
    if (!out_printf(w, error, "drawable\n") || !put_rect(w, "bbox", &d->bbox, error) ||
        !put_clip(w, &d->clip, error) ||
        !out_printf(w, error, "effect %d\nmm_time %d\n", D(d->effect), D(d->mm_time))) {
        return FALSE;
    }
    if (d->compat) {
        if (!out_printf(w, error, "bitmap_offset %d\n", D(d->bitmap_offset)) ||
            !put_rect(w, "bitmap_area", &d->bitmap_area, error)) {
            return FALSE;
        }
    } else {
        if (!out_printf(w, error, "self_bitmap %d\n", D(d->self_bitmap)) ||
            !put_rect(w, "self_bitmap_area", &d->self_bitmap_area, error) ||
            !out_printf(w, error, "surface_id %d\n", d->surface_id)) {
            return FALSE;
        }
        for (int i = 0; i < 3; i++) {
            if (!out_printf(w, error, "surfaces_dest %d\n", d->surfaces_dest[i]) ||
                !put_rect(w, "surfaces_rects", &d->surfaces_rects[i], error)) {
                return FALSE;
            }
        }
    }
    if (!out_printf(w, error, "type %d\n", D(d->type))) {
        return FALSE;
    }
    switch (d->type) {
    case SV_TRACE_DRAW_NOP:
        return TRUE;
    case SV_TRACE_DRAW_FILL:
        return put_brush(w, &d->brush, error) &&
               out_printf(w, error, "rop_descriptor %d\n", D(d->rop_descriptor)) &&
               put_mask(w, &d->mask, error);
    case SV_TRACE_DRAW_OPAQUE:
        return put_src(w, d, error) && put_brush(w, &d->brush, error) &&
               out_printf(w, error, "rop_descriptor %d\nscale_mode %d\n", D(d->rop_descriptor),
                          D(d->scale_mode)) &&
               put_mask(w, &d->mask, error);
    case SV_TRACE_DRAW_COPY:
    case SV_TRACE_DRAW_BLEND:
        return put_src(w, d, error) &&
               out_printf(w, error, "rop_descriptor %d\nscale_mode %d\n", D(d->rop_descriptor),
                          D(d->scale_mode)) &&
               put_mask(w, &d->mask, error);
    case SV_TRACE_DRAW_COPY_BITS:
        return put_point(w, "point", &d->src_pos, error);
    case SV_TRACE_DRAW_BLACKNESS:
    case SV_TRACE_DRAW_WHITENESS:
    case SV_TRACE_DRAW_INVERS:
        return put_mask(w, &d->mask, error);
    case SV_TRACE_DRAW_ROP3:
        return put_src(w, d, error) && put_brush(w, &d->brush, error) &&
               out_printf(w, error, "rop3 %d\nscale_mode %d\n", D(d->rop3), D(d->scale_mode)) &&
               put_mask(w, &d->mask, error);
    case SV_TRACE_DRAW_STROKE:
        if (!put_chunks(w, "path", &d->path, error) ||
            !out_printf(w, error, "attr.flags %d\n", D(d->attr_flags))) {
            return FALSE;
        }
        if ((d->attr_flags & STROKE_STYLED) &&
            (!out_printf(w, error, "attr.style_nseg %d\n", D(d->style_nseg)) ||
             !put_blob(w, "style", &d->style, error))) {
            return FALSE;
        }
        return put_brush(w, &d->brush, error) &&
               out_printf(w, error, "fore_mode %d\nback_mode %d\n", D(d->fore_mode),
                          D(d->back_mode));
    case SV_TRACE_DRAW_TEXT:
        return out_printf(w, error, "data_size %d\nlength %d\nflags %d\n", D(d->string_data_size),
                          D(d->string_length), D(d->string_flags)) &&
               put_chunks(w, "string", &d->string, error) &&
               put_rect(w, "back_area", &d->back_area, error) && put_brush(w, &d->brush, error) &&
               put_brush(w, &d->back_brush, error) &&
               out_printf(w, error, "fore_mode %d\nback_mode %d\n", D(d->fore_mode),
                          D(d->back_mode));
    case SV_TRACE_DRAW_TRANSPARENT:
        return put_src(w, d, error) && out_printf(w, error, "src_color %d\ntrue_color %d\n",
                                                  D(d->src_color), D(d->true_color));
    case SV_TRACE_DRAW_ALPHA_BLEND:
        if (!d->compat && !out_printf(w, error, "alpha_flags %d\n", D(d->alpha_flags))) {
            return FALSE;
        }
        return out_printf(w, error, "alpha %d\n", D(d->alpha)) && put_src(w, d, error);
    case SV_TRACE_DRAW_COMPOSITE:
        if (!out_printf(w, error, "flags %d\n", D(d->composite_flags)) ||
            !put_image(w, d->src_image, error) ||
            !put_transform(w, "src_transform", d->has_src_transform, &d->src_transform, error) ||
            !out_printf(w, error, "mask %d\n", d->mask.bitmap != NULL ? 1 : 0)) {
            return FALSE;
        }
        if (d->mask.bitmap != NULL && !put_image(w, d->mask.bitmap, error)) {
            return FALSE;
        }
        return put_transform(w, "mask_transform", d->has_mask_transform, &d->mask_transform,
                             error) &&
               put_point(w, "src_origin", &d->src_origin, error) &&
               put_point(w, "mask_origin", &d->mask_origin, error);
    default:
        w->failed = TRUE;
        g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_INVALID,
                    "%s: cannot write drawing type %u", w->path, d->type);
        return FALSE;
    }
}

static gboolean put_cursor(SvTraceWriter *w, const SvTraceCursorCmd *c, GError **error)
{
    if (!out_printf(w, error, "cursor_cmd\ntype %d\n", D(c->type))) {
        return FALSE;
    }
    switch (c->type) {
    case SV_TRACE_CURSOR_SET:
        return put_point(w, "point16", &c->position, error) &&
               out_printf(w, error,
                          "u.set.visible %d\nheader.unique %" PRIu64
                          "\nheader.type %d\nheader.width %d\nheader.height %d\n"
                          "header.hot_spot_x %d\nheader.hot_spot_y %d\ndata_size %d\n",
                          D(c->visible), c->unique, D(c->shape_type), D(c->width), D(c->height),
                          D(c->hot_spot_x), D(c->hot_spot_y), D(c->data_size)) &&
               put_chunks(w, "cursor", &c->data, error);
    case SV_TRACE_CURSOR_MOVE:
        return put_point(w, "point16", &c->position, error);
    case SV_TRACE_CURSOR_HIDE:
        return TRUE;
    case SV_TRACE_CURSOR_TRAIL:
        return out_printf(w, error, "u.trail.length %d\nu.trail.frequency %d\n", D(c->trail_length),
                          D(c->trail_frequency));
    default:
        w->failed = TRUE;
        g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_INVALID,
                    "%s: cannot write cursor command %u", w->path, c->type);
        return FALSE;
    }
}

static gboolean put_surface(SvTraceWriter *w, const SvTraceSurfaceCmd *s, GError **error)
{
    if (!out_printf(w, error, "surface_cmd\nsurface_id %d\ntype %d\nflags %d\n", s->surface_id,
                    D(s->type), D(s->flags))) {
        return FALSE;
    }
    if (s->type != SV_TRACE_SURFACE_CREATE) {
        return TRUE;
    }
    if (!out_printf(w, error,
                    "u.surface_create.format %d\nu.surface_create.width "
                    "%d\nu.surface_create.height %d\nu.surface_create.stride %d\n",
                    D(s->format), D(s->width), D(s->height), s->stride)) {
        return FALSE;
    }
    if (s->flags & SV_TRACE_SURFACE_KEEP_DATA) {
        return put_blob(w, "data", &s->data, error);
    }
    return TRUE;
}

gboolean sv_trace_writer_write(SvTraceWriter *w, const SvTraceEvent *ev, GError **error)
{
    g_return_val_if_fail(w != NULL && ev != NULL, FALSE);
    g_return_val_if_fail(!w->closed, FALSE);
    if (w->failed) {
        g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_IO, "%s: writing after an error",
                    w->path);
        return FALSE;
    }
    if (!out_printf(w, error, "event %" PRIu64 " %u %u %" PRIu64 "\n", w->counter, ev->kind,
                    ev->type, ev->timestamp_ns)) {
        return FALSE;
    }
    w->counter++;
    if (ev->kind == SV_TRACE_KIND_MESSAGE) {
        if ((ev->type == SV_TRACE_MSG_CREATE_PRIMARY_SURFACE ||
             ev->type == SV_TRACE_MSG_CREATE_PRIMARY_SURFACE_ASYNC) &&
            ev->primary.present) {
            const SvTracePrimary *p = &ev->primary;
            return out_printf(w, error, "%d %d %d %d\n%d %d %d %d\n", D(p->width), D(p->height),
                              p->stride, D(p->format), D(p->position), D(p->mouse_mode),
                              D(p->flags), D(p->type)) &&
                   put_blob(w, "data", &p->data, error);
        }
        return TRUE;
    }
    if (ev->kind != SV_TRACE_KIND_COMMAND) {
        w->failed = TRUE;
        g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_INVALID,
                    "%s: cannot write record kind %u", w->path, ev->kind);
        return FALSE;
    }
    switch (ev->type) {
    case SV_TRACE_CMD_DRAW:
        return put_drawable(w, &ev->draw, error);
    case SV_TRACE_CMD_UPDATE:
        return out_printf(w, error, "update\n") && put_rect(w, "area", &ev->update.area, error) &&
               out_printf(w, error, "update_id %d\nsurface_id %d\n", D(ev->update.update_id),
                          ev->update.surface_id);
    case SV_TRACE_CMD_CURSOR:
        return put_cursor(w, &ev->cursor, error);
    case SV_TRACE_CMD_MESSAGE:
        return put_blob(w, "message", &ev->message, error);
    case SV_TRACE_CMD_SURFACE:
        return put_surface(w, &ev->surface, error);
    default:
        w->failed = TRUE;
        g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_INVALID,
                    "%s: cannot write command type %u", w->path, ev->type);
        return FALSE;
    }
}
