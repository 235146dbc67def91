/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/* Side-by-side dumps of the guest's and the client's screens (framedump.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <zlib.h>

#include "framedump.h"

/* PNG output goes to the file in IDAT chunks of at most this many bytes. */
#define PNG_IDAT_BYTES (64 * 1024)
#define Y4M_NAME "side-by-side.y4m"

typedef enum {
    DUMP_Y4M,
    DUMP_PNG
} DumpFormat;

struct SvFrameDump {
    char *dir;
    DumpFormat format;
    uint32_t width, height; /* one screen */
    guint64 n_frames;
    gboolean closed;
    gboolean failed; /* a frame was half written: the output is not renamed */

    /* The side-by-side picture, 32-bit BGRx, 2·width × height. */
    uint8_t *bgrx;
    size_t bgrx_stride;

    /* Y4M */
    FILE *y4m;
    char *y4m_tmp;
    char *y4m_path;
    uint8_t *planes; /* Y, U, V of one frame */

    /* PNG: temporary names of the frames written so far, renamed on close. */
    GPtrArray *png_tmp;
    uint8_t *png_line;
    uint8_t *png_out;
};

static gboolean set_errno_error(GError **error, int errsv, const char *what, const char *path)
{
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errsv), "%s: %s: %s", path, what,
                g_strerror(errsv));
    return FALSE;
}

/* Frame rate as a Y4M ratio: exact for whole numbers, else to 1/1000. */
static void fps_ratio(double fps, uint32_t *num, uint32_t *den)
{
    if (!(fps > 0) || fps > 1000) {
        fps = 25;
    }
    if (fabs(fps - round(fps)) < 1e-9) {
        *num = (uint32_t)round(fps);
        *den = 1;
    } else {
        *num = (uint32_t)round(fps * 1000);
        *den = 1000;
    }
}

SvFrameDump *sv_frame_dump_new(const char *dir, const char *format, uint32_t width, uint32_t height,
                               double fps, GError **error)
{
    g_return_val_if_fail(dir != NULL, NULL);

    DumpFormat fmt;
    if (format == NULL || strcmp(format, "y4m") == 0) {
        fmt = DUMP_Y4M;
    } else if (strcmp(format, "png") == 0) {
        fmt = DUMP_PNG;
    } else {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "unknown frame dump format \"%s\" (y4m or png)", format);
        return NULL;
    }
    if (width == 0 || height == 0 || width > 16384 || height > 16384) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "bad frame dump size %" PRIu32 "x%" PRIu32, width, height);
        return NULL;
    }
    if (g_mkdir_with_parents(dir, 0755) != 0) {
        set_errno_error(error, errno, "cannot create the directory", dir);
        return NULL;
    }

    SvFrameDump *d = g_new0(SvFrameDump, 1);
    d->dir = g_strdup(dir);
    d->format = fmt;
    d->width = width;
    d->height = height;
    d->bgrx_stride = (size_t)width * 2 * 4;
    d->bgrx = g_malloc(d->bgrx_stride * height);
    if (fmt == DUMP_Y4M) {
        uint32_t w2 = 2 * width, cw = width, ch = (height + 1) / 2;
        uint32_t num, den;
        d->planes = g_malloc((size_t)w2 * height + 2 * (size_t)cw * ch);
        d->y4m_path = g_build_filename(dir, Y4M_NAME, NULL);
        d->y4m_tmp = g_strconcat(d->y4m_path, ".tmp", NULL);
        d->y4m = g_fopen(d->y4m_tmp, "wb");
        if (d->y4m == NULL) {
            set_errno_error(error, errno, "cannot create", d->y4m_tmp);
            sv_frame_dump_free(d);
            return NULL;
        }
        fps_ratio(fps, &num, &den);
        /* C420jpeg: chroma sited between the four luma samples it covers. */
        if (fprintf(d->y4m,
                    "YUV4MPEG2 W%" PRIu32 " H%" PRIu32 " F%" PRIu32 ":%" PRIu32
                    " Ip A1:1 C420jpeg XYSCSS=420JPEG\n",
                    w2, height, num, den) < 0) {
            set_errno_error(error, errno, "cannot write", d->y4m_tmp);
            sv_frame_dump_free(d);
            return NULL;
        }
    } else {
        d->png_tmp = g_ptr_array_new_with_free_func(g_free);
        d->png_line = g_malloc((size_t)width * 2 * 3 + 1);
        d->png_out = g_malloc(PNG_IDAT_BYTES);
    }
    return d;
}

/* Copies @canvas into the left or right half; black where it has no pixels. */
static void put_screen(SvFrameDump *d, const SvCanvas *canvas, uint32_t x0)
{
    uint32_t cw = canvas != NULL ? MIN(sv_canvas_get_width(canvas), d->width) : 0;
    uint32_t ch = canvas != NULL ? MIN(sv_canvas_get_height(canvas), d->height) : 0;
    const uint8_t *src = canvas != NULL ? sv_canvas_get_const_data(canvas) : NULL;
    int32_t stride = canvas != NULL ? sv_canvas_get_stride(canvas) : 0;

    for (uint32_t y = 0; y < d->height; y++) {
        uint8_t *dst = d->bgrx + y * d->bgrx_stride + (size_t)x0 * 4;
        size_t copy = 0;
        if (y < ch && src != NULL) {
            copy = (size_t)cw * 4;
            memcpy(dst, src + (ptrdiff_t)y * stride, copy);
        }
        memset(dst + copy, 0, (size_t)d->width * 4 - copy);
    }
}

/* BT.601 limited range with libyuv's integer coefficients. */
static inline uint8_t to_y(int r, int g, int b)
{
    return (uint8_t)(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
}

static inline uint8_t to_u(int r, int g, int b)
{
    return (uint8_t)(((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128);
}

static inline uint8_t to_v(int r, int g, int b)
{
    return (uint8_t)(((112 * r - 94 * g - 18 * b + 128) >> 8) + 128);
}

static gboolean write_y4m_frame(SvFrameDump *d, GError **error)
{
    uint32_t w = 2 * d->width, h = d->height, cw = d->width, ch = (h + 1) / 2;
    uint8_t *yp = d->planes, *up = yp + (size_t)w * h, *vp = up + (size_t)cw * ch;

    for (uint32_t y = 0; y < h; y++) {
        const uint8_t *s = d->bgrx + y * d->bgrx_stride;
        for (uint32_t x = 0; x < w; x++) {
            yp[(size_t)y * w + x] = to_y(s[4 * x + 2], s[4 * x + 1], s[4 * x]);
        }
    }
    /* Chroma from the average of each 2×2 block (an odd last line repeats). */
    for (uint32_t cy = 0; cy < ch; cy++) {
        const uint8_t *s0 = d->bgrx + (size_t)(2 * cy) * d->bgrx_stride;
        const uint8_t *s1 = 2 * cy + 1 < h ? s0 + d->bgrx_stride : s0;
        for (uint32_t cx = 0; cx < cw; cx++) {
            const uint8_t *a = s0 + 8 * cx, *b = s1 + 8 * cx;
            int bl = (a[0] + a[4] + b[0] + b[4] + 2) >> 2;
            int gr = (a[1] + a[5] + b[1] + b[5] + 2) >> 2;
            int rd = (a[2] + a[6] + b[2] + b[6] + 2) >> 2;
            up[(size_t)cy * cw + cx] = to_u(rd, gr, bl);
            vp[(size_t)cy * cw + cx] = to_v(rd, gr, bl);
        }
    }
    size_t size = (size_t)w * h + 2 * (size_t)cw * ch;
    if (fputs("FRAME\n", d->y4m) == EOF || fwrite(d->planes, 1, size, d->y4m) != size) {
        return set_errno_error(error, errno, "cannot write", d->y4m_tmp);
    }
    return TRUE;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static gboolean png_chunk(FILE *f, const char *type, const uint8_t *data, uint32_t len)
{
    uint8_t head[8], tail[4];
    put_be32(head, len);
    memcpy(head + 4, type, 4);
    uLong crc = crc32(0, head + 4, 4);
    if (len > 0) {
        crc = crc32(crc, data, len);
    }
    put_be32(tail, (uint32_t)crc);
    return fwrite(head, 1, 8, f) == 8 && (len == 0 || fwrite(data, 1, len, f) == len) &&
           fwrite(tail, 1, 4, f) == 4;
}

/* Deflates the side-by-side picture as 8-bit RGB rows (filter 0) into IDAT chunks. */
static gboolean png_write_pixels(SvFrameDump *d, FILE *f)
{
    uint32_t w = 2 * d->width;
    size_t line = (size_t)w * 3 + 1;
    z_stream z = {0};
    gboolean ok = deflateInit(&z, Z_BEST_SPEED) == Z_OK;

    z.next_out = d->png_out;
    z.avail_out = PNG_IDAT_BYTES;
    for (uint32_t y = 0; ok && y <= d->height; y++) {
        int flush = y == d->height ? Z_FINISH : Z_NO_FLUSH;
        if (y < d->height) {
            const uint8_t *s = d->bgrx + y * d->bgrx_stride;
            d->png_line[0] = 0;
            for (uint32_t x = 0; x < w; x++) {
                d->png_line[1 + 3 * x] = s[4 * x + 2];
                d->png_line[2 + 3 * x] = s[4 * x + 1];
                d->png_line[3 + 3 * x] = s[4 * x];
            }
            z.next_in = d->png_line;
            z.avail_in = (uInt)line;
        }
        int ret;
        do {
            ret = deflate(&z, flush);
            if (ret == Z_STREAM_ERROR) {
                ok = FALSE;
                break;
            }
            if ((z.avail_out == 0 || ret == Z_STREAM_END) && z.avail_out < PNG_IDAT_BYTES) {
                ok = png_chunk(f, "IDAT", d->png_out, PNG_IDAT_BYTES - z.avail_out);
                z.next_out = d->png_out;
                z.avail_out = PNG_IDAT_BYTES;
            }
        } while (ok && (flush == Z_FINISH ? ret != Z_STREAM_END : z.avail_in > 0));
    }
    deflateEnd(&z);
    return ok;
}

static gboolean write_png_frame(SvFrameDump *d, GError **error)
{
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    g_autofree char *name = g_strdup_printf("frame-%06" G_GUINT64_FORMAT ".png.tmp", d->n_frames);
    char *tmp = g_build_filename(d->dir, name, NULL);
    uint8_t ihdr[13];

    g_ptr_array_add(d->png_tmp, tmp); /* removed by free if anything fails */
    FILE *f = g_fopen(tmp, "wb");
    if (f == NULL) {
        return set_errno_error(error, errno, "cannot create", tmp);
    }
    put_be32(ihdr, 2 * d->width);
    put_be32(ihdr + 4, d->height);
    ihdr[8] = 8;  /* bits per sample */
    ihdr[9] = 2;  /* RGB */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* adaptive filtering */
    ihdr[12] = 0; /* no interlace */
    gboolean ok = fwrite(signature, 1, sizeof(signature), f) == sizeof(signature) &&
                  png_chunk(f, "IHDR", ihdr, sizeof(ihdr)) && png_write_pixels(d, f) &&
                  png_chunk(f, "IEND", NULL, 0);
    int errsv = errno;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        return set_errno_error(error, errsv != 0 ? errsv : EIO, "cannot write", tmp);
    }
    return TRUE;
}

gboolean sv_frame_dump_add(SvFrameDump *dump, const SvCanvas *guest, const SvCanvas *client,
                           GError **error)
{
    g_return_val_if_fail(dump != NULL && !dump->closed, FALSE);

    put_screen(dump, guest, 0);
    put_screen(dump, client, dump->width);
    gboolean ok =
        dump->format == DUMP_Y4M ? write_y4m_frame(dump, error) : write_png_frame(dump, error);
    if (ok) {
        dump->n_frames++;
    } else {
        dump->failed = TRUE;
    }
    return ok;
}

guint64 sv_frame_dump_get_n_frames(const SvFrameDump *dump)
{
    g_return_val_if_fail(dump != NULL, 0);
    return dump->n_frames;
}

/* The final name of a temporary one: without ".tmp". */
static char *final_name(const char *tmp)
{
    return g_strndup(tmp, strlen(tmp) - strlen(".tmp"));
}

gboolean sv_frame_dump_close(SvFrameDump *dump, GError **error)
{
    g_return_val_if_fail(dump != NULL && !dump->closed, FALSE);

    if (dump->failed) {
        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_IO,
                    "%s: a frame could not be written; the dump is incomplete", dump->dir);
        return FALSE; /* sv_frame_dump_free() removes the temporaries */
    }
    if (dump->format == DUMP_Y4M) {
        gboolean ok = fflush(dump->y4m) == 0 && !ferror(dump->y4m);
        int errsv = errno;
        ok = fclose(dump->y4m) == 0 && ok;
        dump->y4m = NULL;
        if (!ok) {
            return set_errno_error(error, errsv, "cannot write", dump->y4m_tmp);
        }
        if (g_rename(dump->y4m_tmp, dump->y4m_path) != 0) {
            return set_errno_error(error, errno, "cannot rename", dump->y4m_tmp);
        }
        g_clear_pointer(&dump->y4m_tmp, g_free);
    } else {
        for (guint i = 0; i < dump->png_tmp->len; i++) {
            const char *tmp = g_ptr_array_index(dump->png_tmp, i);
            g_autofree char *path = final_name(tmp);
            if (g_rename(tmp, path) != 0) {
                int errsv = errno;
                set_errno_error(error, errsv, "cannot rename", tmp);
                g_ptr_array_remove_range(dump->png_tmp, 0, i);
                return FALSE;
            }
        }
        g_ptr_array_set_size(dump->png_tmp, 0);
    }
    dump->closed = TRUE;
    return TRUE;
}

void sv_frame_dump_free(SvFrameDump *dump)
{
    if (dump == NULL) {
        return;
    }
    if (dump->y4m != NULL) {
        fclose(dump->y4m);
    }
    if (dump->y4m_tmp != NULL) {
        g_unlink(dump->y4m_tmp); /* not closed: no partial output */
        g_free(dump->y4m_tmp);
    }
    if (dump->png_tmp != NULL) {
        for (guint i = 0; i < dump->png_tmp->len; i++) {
            g_unlink(g_ptr_array_index(dump->png_tmp, i));
        }
        g_ptr_array_unref(dump->png_tmp);
    }
    g_free(dump->dir);
    g_free(dump->bgrx);
    g_free(dump->y4m_path);
    g_free(dump->planes);
    g_free(dump->png_line);
    g_free(dump->png_out);
    g_free(dump);
}
