/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The surface renderer (server.h "Canvas"): one pixman image per surface,
 * drawn the way spice-common's software canvas (canvas_base.c, sw_canvas.c)
 * draws QXL commands. docs/server.md "Rendering" lists what is exact and
 * what is approximated.
 */
#include "config.h"

#include <string.h>

#include <glib.h>
#include <pixman.h>
#include <spice/enums.h>
#include <spice/qxl_dev.h>

#include <spice-video/server.h>

#include "bitmap.h"

/* Largest surface side accepted (spice-server refuses larger primaries too). */
#define CANVAS_MAX_SIDE 16384
/* pixman's 16.16 fixed point: source coordinates of a scaled draw must stay below this. */
#define CANVAS_MAX_FIXED_SIDE 32767
/* Pixels whose value is unknown (compressed images, missing sources): mid-grey. */
#define CANVAS_UNKNOWN_COLOR 0x808080u
/* Largest translation accepted for masks and patterns before pixman's 32-bit maths. */
#define CANVAS_MAX_OFFSET (1 << 29)

struct SvCanvas {
    pixman_image_t *image; /* x8r8g8b8, or a8r8g8b8 for surfaces that carry alpha */
    uint32_t width;
    uint32_t height;
    uint32_t format;
};

/* A local error domain keeps the canvas free of a link dependency on the display. */
static GQuark canvas_error_quark(void)
{
    return g_quark_from_static_string("sv-canvas-error-quark");
}

/* ---------------------------------------------------------------------------
 * Construction, access
 * ------------------------------------------------------------------------- */

static pixman_format_code_t canvas_pixman_format(uint32_t format)
{
    switch (format) {
    case SPICE_SURFACE_FMT_32_ARGB:
    case SPICE_SURFACE_FMT_8_A:
    case SPICE_SURFACE_FMT_1_A:
        return PIXMAN_a8r8g8b8;
    default:
        return PIXMAN_x8r8g8b8;
    }
}

SvCanvas *sv_canvas_new(uint32_t width, uint32_t height, uint32_t format, GError **error)
{
    if (width == 0 || height == 0 || width > CANVAS_MAX_SIDE || height > CANVAS_MAX_SIDE) {
        g_set_error(error, canvas_error_quark(), 0,
                    "surface size %ux%u out of range (1..%d in each dimension)", width, height,
                    CANVAS_MAX_SIDE);
        return NULL;
    }
    pixman_image_t *image =
        pixman_image_create_bits(canvas_pixman_format(format), (int)width, (int)height, NULL, 0);
    if (image == NULL) {
        g_set_error(error, canvas_error_quark(), 1, "cannot allocate a %ux%u surface", width,
                    height);
        return NULL;
    }
    SvCanvas *canvas = g_new0(SvCanvas, 1);
    canvas->image = image;
    canvas->width = width;
    canvas->height = height;
    canvas->format = format;
    return canvas;
}

void sv_canvas_free(SvCanvas *canvas)
{
    if (canvas == NULL) {
        return;
    }
    pixman_image_unref(canvas->image);
    g_free(canvas);
}

uint32_t sv_canvas_get_width(const SvCanvas *canvas)
{
    g_return_val_if_fail(canvas != NULL, 0);
    return canvas->width;
}

uint32_t sv_canvas_get_height(const SvCanvas *canvas)
{
    g_return_val_if_fail(canvas != NULL, 0);
    return canvas->height;
}

uint32_t sv_canvas_get_format(const SvCanvas *canvas)
{
    g_return_val_if_fail(canvas != NULL, 0);
    return canvas->format;
}

uint8_t *sv_canvas_get_data(SvCanvas *canvas)
{
    g_return_val_if_fail(canvas != NULL, NULL);
    return (uint8_t *)pixman_image_get_data(canvas->image);
}

const uint8_t *sv_canvas_get_const_data(const SvCanvas *canvas)
{
    g_return_val_if_fail(canvas != NULL, NULL);
    return (const uint8_t *)pixman_image_get_data(canvas->image);
}

int32_t sv_canvas_get_stride(const SvCanvas *canvas)
{
    g_return_val_if_fail(canvas != NULL, 0);
    return pixman_image_get_stride(canvas->image);
}

static inline uint32_t *canvas_row(SvCanvas *canvas, int32_t y)
{
    return (uint32_t *)(sv_canvas_get_data(canvas) +
                        (size_t)y * (size_t)sv_canvas_get_stride(canvas));
}

/* Bit replication, as pixman and spice's canvas_16bpp_to_32bpp expand 5- and 6-bit channels. */
static inline uint32_t rgb555_to_xrgb(uint32_t p)
{
    uint32_t r = (p >> 10) & 0x1f, g = (p >> 5) & 0x1f, b = p & 0x1f;
    return ((r << 3 | r >> 2) << 16) | ((g << 3 | g >> 2) << 8) | (b << 3 | b >> 2);
}

static inline uint32_t rgb565_to_xrgb(uint32_t p)
{
    uint32_t r = (p >> 11) & 0x1f, g = (p >> 5) & 0x3f, b = p & 0x1f;
    return ((r << 3 | r >> 2) << 16) | ((g << 2 | g >> 4) << 8) | (b << 3 | b >> 2);
}

static inline uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void sv_canvas_load(SvCanvas *canvas, const uint8_t *data, int32_t stride, uint32_t format)
{
    g_return_if_fail(canvas != NULL);
    g_return_if_fail(data != NULL);

    uint64_t abs_stride = stride < 0 ? (uint64_t)(-(int64_t)stride) : (uint64_t)stride;
    uint64_t bits;
    switch (format) {
    case SPICE_SURFACE_FMT_32_xRGB:
    case SPICE_SURFACE_FMT_32_ARGB:
        bits = 32;
        break;
    case SPICE_SURFACE_FMT_16_565:
    case SPICE_SURFACE_FMT_16_555:
        bits = 16;
        break;
    case SPICE_SURFACE_FMT_8_A:
        bits = 8;
        break;
    case SPICE_SURFACE_FMT_1_A:
        bits = 1;
        break;
    default:
        /* A format the guest should not have used: the surface stays black. */
        g_debug("surface format %u cannot be loaded; left black", format);
        return;
    }
    g_return_if_fail(abs_stride * 8 >= (uint64_t)canvas->width * bits);

    for (uint32_t y = 0; y < canvas->height; y++) {
        /* Bottom-up: the guest's first memory line is the bottom of the picture. */
        const uint8_t *src =
            data + (stride < 0 ? (uint64_t)(canvas->height - 1 - y) : y) * abs_stride;
        uint32_t *dst = canvas_row(canvas, (int32_t)y);
        switch (format) {
        case SPICE_SURFACE_FMT_32_xRGB:
        case SPICE_SURFACE_FMT_32_ARGB:
            memcpy(dst, src, (size_t)canvas->width * 4);
            break;
        case SPICE_SURFACE_FMT_16_565:
            for (uint32_t x = 0; x < canvas->width; x++) {
                dst[x] = rgb565_to_xrgb((uint32_t)src[2 * x] | (uint32_t)src[2 * x + 1] << 8);
            }
            break;
        case SPICE_SURFACE_FMT_16_555:
            for (uint32_t x = 0; x < canvas->width; x++) {
                dst[x] = rgb555_to_xrgb((uint32_t)src[2 * x] | (uint32_t)src[2 * x + 1] << 8);
            }
            break;
        case SPICE_SURFACE_FMT_8_A:
            for (uint32_t x = 0; x < canvas->width; x++) {
                dst[x] = (uint32_t)src[x] << 24;
            }
            break;
        default: /* 1_A, least significant bit first as pixman's a1 */
            for (uint32_t x = 0; x < canvas->width; x++) {
                dst[x] = (src[x >> 3] >> (x & 7)) & 1 ? 0xff000000u : 0;
            }
            break;
        }
    }
}

void sv_canvas_read(const SvCanvas *canvas, const SpiceRect *area, uint8_t *out, int32_t out_stride)
{
    g_return_if_fail(canvas != NULL && area != NULL && out != NULL);
    g_return_if_fail(area->left >= 0 && area->top >= 0 && area->left <= area->right &&
                     area->top <= area->bottom && (uint32_t)area->right <= canvas->width &&
                     (uint32_t)area->bottom <= canvas->height);
    const uint8_t *base = sv_canvas_get_const_data(canvas);
    int32_t stride = sv_canvas_get_stride(canvas);
    size_t bytes = (size_t)(area->right - area->left) * 4;
    for (int32_t y = area->top; y < area->bottom; y++) {
        memcpy(out + (int64_t)(y - area->top) * out_stride,
               base + (size_t)y * (size_t)stride + (size_t)area->left * 4, bytes);
    }
}

/* ---------------------------------------------------------------------------
 * Regions
 * ------------------------------------------------------------------------- */

/* @rect clamped to the canvas (64-bit maths: absurd values never overflow). */
static gboolean clamp_rect(const SvCanvas *canvas, int64_t left, int64_t top, int64_t right,
                           int64_t bottom, pixman_box32_t *box)
{
    box->x1 = (int32_t)CLAMP(left, 0, (int64_t)canvas->width);
    box->y1 = (int32_t)CLAMP(top, 0, (int64_t)canvas->height);
    box->x2 = (int32_t)CLAMP(right, 0, (int64_t)canvas->width);
    box->y2 = (int32_t)CLAMP(bottom, 0, (int64_t)canvas->height);
    return box->x1 < box->x2 && box->y1 < box->y2;
}

/* bbox ∩ canvas ∩ clip rects. */
static void region_init_draw(const SvCanvas *canvas, const SvDrawCommand *cmd,
                             pixman_region32_t *region)
{
    pixman_box32_t box;

    if (!clamp_rect(canvas, cmd->bbox.left, cmd->bbox.top, cmd->bbox.right, cmd->bbox.bottom,
                    &box)) {
        pixman_region32_init(region);
        return;
    }
    pixman_region32_init_rects(region, &box, 1);
    if (cmd->clip_type != SV_CLIP_RECTS) {
        return;
    }
    pixman_box32_t *boxes = g_new(pixman_box32_t, MAX(cmd->n_clip_rects, 1));
    int n = 0;
    for (uint32_t i = 0; cmd->clip_rects != NULL && i < cmd->n_clip_rects; i++) {
        const SpiceRect *r = &cmd->clip_rects[i];
        if (clamp_rect(canvas, r->left, r->top, r->right, r->bottom, &boxes[n])) {
            n++;
        }
    }
    pixman_region32_t clip;
    pixman_region32_init_rects(&clip, boxes, n);
    pixman_region32_intersect(region, region, &clip);
    pixman_region32_fini(&clip);
    g_free(boxes);
}

static inline int64_t rect_width(const SpiceRect *r)
{
    return (int64_t)r->right - r->left;
}

static inline int64_t rect_height(const SpiceRect *r)
{
    return (int64_t)r->bottom - r->top;
}

/* ---------------------------------------------------------------------------
 * Bitmaps
 * ------------------------------------------------------------------------- */

/* Bytes holding pixels 0..@x-1 of a line. */
static inline uint64_t line_bytes(uint32_t bpp, uint64_t x)
{
    return (x * bpp + 7) / 8;
}

/* The pixman format a bitmap's bytes can be used in as they are, or 0. */
static pixman_format_code_t bitmap_direct_format(uint32_t format, gboolean force_opaque)
{
    switch (format) {
    case SPICE_BITMAP_FMT_16BIT:
        return PIXMAN_x1r5g5b5;
    case SPICE_BITMAP_FMT_24BIT:
        return PIXMAN_r8g8b8;
    case SPICE_BITMAP_FMT_32BIT:
        return PIXMAN_x8r8g8b8;
    case SPICE_BITMAP_FMT_RGBA:
        /* As spice: an RGBA source keeps its alpha; an xRGB destination ignores it. */
        return force_opaque ? PIXMAN_x8r8g8b8 : PIXMAN_a8r8g8b8;
    case SPICE_BITMAP_FMT_8BIT_A:
        return PIXMAN_a8;
    default:
        return 0;
    }
}

/* Converts pixels [@x0, @x1) of one memory line into 32-bit pixels. FALSE if a palette
 * index has no entry (the pixel is then black). */
static gboolean convert_line(const SpiceBitmap *bitmap, const uint8_t *line, uint32_t x0,
                             uint32_t x1, gboolean force_opaque, uint32_t *out)
{
    const SpicePalette *palette = bitmap->palette;
    uint32_t n_ents = palette != NULL ? palette->num_ents : 0;
    gboolean exact = TRUE;

#define PALETTE(index)                  \
    G_STMT_START                        \
    {                                   \
        uint32_t i_ = (index);          \
        if (i_ < n_ents) {              \
            *out++ = palette->ents[i_]; \
        } else {                        \
            *out++ = 0;                 \
            exact = FALSE;              \
        }                               \
    }                                   \
    G_STMT_END

    for (uint32_t x = x0; x < x1; x++) {
        switch (bitmap->format) {
        case SPICE_BITMAP_FMT_1BIT_LE:
            PALETTE((line[x >> 3] >> (x & 7)) & 1);
            break;
        case SPICE_BITMAP_FMT_1BIT_BE:
            PALETTE((line[x >> 3] >> (7 - (x & 7))) & 1);
            break;
        case SPICE_BITMAP_FMT_4BIT_LE:
            PALETTE((x & 1) ? line[x >> 1] >> 4 : line[x >> 1] & 0xf);
            break;
        case SPICE_BITMAP_FMT_4BIT_BE:
            PALETTE((x & 1) ? line[x >> 1] & 0xf : line[x >> 1] >> 4);
            break;
        case SPICE_BITMAP_FMT_8BIT:
            PALETTE(line[x]);
            break;
        case SPICE_BITMAP_FMT_8BIT_A:
            *out++ = (uint32_t)line[x] << 24;
            break;
        case SPICE_BITMAP_FMT_16BIT:
            *out++ = rgb555_to_xrgb((uint32_t)line[2 * x] | (uint32_t)line[2 * x + 1] << 8);
            break;
        case SPICE_BITMAP_FMT_24BIT:
            *out++ = (uint32_t)line[3 * x] | (uint32_t)line[3 * x + 1] << 8 |
                     (uint32_t)line[3 * x + 2] << 16;
            break;
        case SPICE_BITMAP_FMT_RGBA:
            *out++ = force_opaque ? load_le32(line + 4 * x) | 0xff000000u : load_le32(line + 4 * x);
            break;
        default: /* 32BIT */
            *out++ = load_le32(line + 4 * x);
            break;
        }
    }
#undef PALETTE
    return exact;
}

/* ---------------------------------------------------------------------------
 * Sources: the pixels a command reads, as a pixman image
 * ------------------------------------------------------------------------- */

typedef struct {
    pixman_image_t *image; /* top-down; its pixel (0,0) is source pixel (x0, y0) */
    int32_t x0;
    int32_t y0;
    gboolean exact; /* FALSE: some pixels were guessed (missing palette entry) */
} CanvasSource;

static void source_clear(CanvasSource *src)
{
    if (src->image != NULL) {
        pixman_image_unref(src->image);
        src->image = NULL;
    }
}

/* A private image over @image's pixels (its own transform, filter, repeat), in @format. */
static pixman_image_t *image_view(pixman_image_t *image, pixman_format_code_t format)
{
    return pixman_image_create_bits(format, pixman_image_get_width(image),
                                    pixman_image_get_height(image), pixman_image_get_data(image),
                                    pixman_image_get_stride(image));
}

/* A copy of @area (inside @canvas) in @format. */
static pixman_image_t *canvas_snapshot(SvCanvas *canvas, const pixman_box32_t *area,
                                       pixman_format_code_t format)
{
    int32_t w = area->x2 - area->x1, h = area->y2 - area->y1;
    pixman_image_t *copy = pixman_image_create_bits_no_clear(format, w, h, NULL, 0);
    if (copy == NULL) {
        return NULL;
    }
    uint8_t *dst = (uint8_t *)pixman_image_get_data(copy);
    int32_t dst_stride = pixman_image_get_stride(copy);
    for (int32_t y = 0; y < h; y++) {
        memcpy(dst + (size_t)y * (size_t)dst_stride, canvas_row(canvas, area->y1 + y) + area->x1,
               (size_t)w * 4);
    }
    return copy;
}

/* Alpha of a source: as stored, forced opaque, or forced meaningful (surfaces only). */
typedef enum {
    ALPHA_NATIVE,
    ALPHA_OPAQUE,
    ALPHA_FROM_SURFACE,
} AlphaMode;

/*
 * The pixels of @area of a bitmap (NULL: the whole bitmap). Lines that lie in
 * one chunk, in a format pixman reads, are used where they are; otherwise the
 * area is gathered and converted to 32 bits.
 */
static gboolean source_from_bitmap(const SpiceBitmap *bitmap, const SpiceRect *area,
                                   AlphaMode alpha, CanvasSource *src)
{
    uint32_t bpp = sv_bitmap_format_bits(bitmap->format);
    SpiceRect whole = {0, 0, (int32_t)MIN(bitmap->x, (uint32_t)INT32_MAX),
                       (int32_t)MIN(bitmap->y, (uint32_t)INT32_MAX)};

    if (area == NULL) {
        area = &whole;
    }
    if (bpp == 0 || bitmap->data == NULL || bitmap->x > CANVAS_MAX_FIXED_SIDE ||
        bitmap->y > CANVAS_MAX_FIXED_SIDE || !sv_bitmap_src_is_valid(bitmap, area, INT32_MAX) ||
        (uint64_t)bitmap->stride < line_bytes(bpp, bitmap->x)) {
        return FALSE;
    }
    const SpiceChunks *chunks = bitmap->data;
    uint64_t total = 0;
    for (uint32_t i = 0; i < chunks->num_chunks; i++) {
        if (chunks->chunk[i].data == NULL && chunks->chunk[i].len != 0) {
            return FALSE;
        }
        total += chunks->chunk[i].len;
    }
    gboolean top_down = (bitmap->flags & SPICE_BITMAP_FLAGS_TOP_DOWN) != 0;
    uint32_t w = (uint32_t)(area->right - area->left), h = (uint32_t)(area->bottom - area->top);
    uint64_t first_line = sv_bitmap_first_line(bitmap, area, top_down);
    uint64_t row_bytes = line_bytes(bpp, (uint64_t)area->right);
    uint64_t start = first_line * bitmap->stride;
    uint64_t end = (first_line + h - 1) * bitmap->stride + row_bytes;
    if (end > total) {
        return FALSE; /* shorter than declared: pixels unknown */
    }
    /* Used in place, an image spans whole lines (filters may read past the area). */
    uint64_t end_full = (first_line + h - 1) * bitmap->stride + line_bytes(bpp, bitmap->x);

    SvChunkCursor cursor;
    sv_chunk_cursor_init(&cursor, chunks);
    pixman_format_code_t direct = bitmap_direct_format(bitmap->format, alpha == ALPHA_OPAQUE);
    if (direct != 0 && bitmap->stride % 4 == 0 && bitmap->stride <= INT32_MAX) {
        const uint8_t *span = end_full <= total
                                  ? sv_chunk_cursor_span(&cursor, start, (size_t)(end_full - start))
                                  : NULL;
        if (span != NULL && ((uintptr_t)span & 3) == 0) {
            int32_t stride = (int32_t)bitmap->stride;
            uint8_t *top = (uint8_t *)span;
            if (!top_down) {
                /* The picture's top line is the last memory line: walk memory backwards. */
                top += (size_t)(h - 1) * (size_t)stride;
                stride = -stride;
            }
            src->image =
                pixman_image_create_bits(direct, (int)bitmap->x, (int)h, (uint32_t *)top, stride);
            src->x0 = 0;
            src->y0 = area->top;
            src->exact = TRUE;
            return src->image != NULL;
        }
        sv_chunk_cursor_init(&cursor, chunks);
    }

    pixman_format_code_t format = bitmap->format == SPICE_BITMAP_FMT_RGBA && alpha != ALPHA_OPAQUE
                                      ? PIXMAN_a8r8g8b8
                                  : bitmap->format == SPICE_BITMAP_FMT_8BIT_A ? PIXMAN_a8r8g8b8
                                                                              : PIXMAN_x8r8g8b8;
    src->image = pixman_image_create_bits_no_clear(format, (int)w, (int)h, NULL, 0);
    if (src->image == NULL) {
        return FALSE;
    }
    src->x0 = area->left;
    src->y0 = area->top;
    src->exact = TRUE;
    uint8_t *out = (uint8_t *)pixman_image_get_data(src->image);
    int32_t out_stride = pixman_image_get_stride(src->image);
    uint8_t *line = g_malloc((size_t)row_bytes);
    for (uint32_t i = 0; i < h; i++) {
        /* Memory order (the cursor only moves forward); top-down row = i or h-1-i. */
        const uint8_t *bytes =
            sv_chunk_cursor_read(&cursor, (first_line + i) * bitmap->stride, row_bytes, line);
        uint32_t row = top_down ? i : h - 1 - i;
        uint32_t *dst = (uint32_t *)(out + (size_t)row * (size_t)out_stride);
        if (bytes == NULL) { /* cannot happen after the size check; stay safe */
            memset(dst, 0x80, (size_t)w * 4);
            src->exact = FALSE;
            continue;
        }
        if (!convert_line(bitmap, bytes, (uint32_t)area->left, (uint32_t)area->right,
                          alpha == ALPHA_OPAQUE, dst)) {
            src->exact = FALSE;
        }
    }
    g_free(line);
    return TRUE;
}

/*
 * The pixels of @image needed for @area (NULL: all of it). FALSE if they are
 * unknown: compressed image, missing surface, truncated data, area outside.
 */
static gboolean source_get(SvCanvas *dest, const SvImage *image, const SpiceRect *area,
                           AlphaMode alpha, SvCanvasLookup lookup, void *lookup_opaque,
                           CanvasSource *src)
{
    *src = (CanvasSource){0};
    if (image == NULL) {
        return FALSE;
    }
    switch (image->type) {
    case SV_SOURCE_BITMAP:
        return source_from_bitmap(&image->bitmap, area, alpha, src);
    case SV_SOURCE_SURFACE: {
        SvCanvas *surface = lookup != NULL ? lookup(lookup_opaque, image->surface_id) : NULL;
        if (surface == NULL) {
            return FALSE;
        }
        pixman_box32_t box = {0, 0, (int32_t)surface->width, (int32_t)surface->height};
        if (area != NULL) {
            if (area->left < 0 || area->top < 0 || area->left >= area->right ||
                area->top >= area->bottom || (uint32_t)area->right > surface->width ||
                (uint32_t)area->bottom > surface->height) {
                return FALSE;
            }
            box = (pixman_box32_t){area->left, area->top, area->right, area->bottom};
        }
        pixman_format_code_t format = alpha == ALPHA_OPAQUE ? PIXMAN_x8r8g8b8
                                      : alpha == ALPHA_FROM_SURFACE
                                          ? PIXMAN_a8r8g8b8
                                          : canvas_pixman_format(surface->format);
        if (surface == dest) {
            /* Reading the destination while drawing it: take the pixels first. */
            src->image = canvas_snapshot(surface, &box, format);
            src->x0 = box.x1;
            src->y0 = box.y1;
        } else {
            src->image = image_view(surface->image, format);
        }
        src->exact = TRUE;
        return src->image != NULL;
    }
    default:
        return FALSE;
    }
}

/*
 * Draws @src_area of @src stretched over @bbox into @dst, limited to @box
 * (canvas coordinates) and @dst's clip region; @dst's pixel (0,0) is canvas
 * pixel (@ox, @oy). FALSE if the scale is beyond pixman's fixed point.
 */
static gboolean render_source(pixman_image_t *dst, int32_t ox, int32_t oy,
                              const pixman_box32_t *box, pixman_op_t op, CanvasSource *src,
                              pixman_image_t *mask, const SpiceRect *src_area,
                              const SpiceRect *bbox, pixman_filter_t filter)
{
    int64_t bw = rect_width(bbox), bh = rect_height(bbox);
    int64_t sw = rect_width(src_area), sh = rect_height(src_area);
    int32_t w = box->x2 - box->x1, h = box->y2 - box->y1;

    if (bw == sw && bh == sh) {
        pixman_image_composite32(op, src->image, mask, dst,
                                 (int32_t)(box->x1 - bbox->left + src_area->left - src->x0),
                                 (int32_t)(box->y1 - bbox->top + src_area->top - src->y0), 0, 0,
                                 box->x1 - ox, box->y1 - oy, w, h);
        return TRUE;
    }
    if (bw > CANVAS_MAX_FIXED_SIDE || bh > CANVAS_MAX_FIXED_SIDE || sw > CANVAS_MAX_FIXED_SIDE ||
        sh > CANVAS_MAX_FIXED_SIDE) {
        return FALSE;
    }
    /* Destination pixel centre u+0.5 (relative to bbox) samples source u*sx + left. */
    pixman_transform_t transform;
    double sx = (double)sw / (double)bw, sy = (double)sh / (double)bh;
    pixman_transform_init_identity(&transform);
    transform.matrix[0][0] = pixman_double_to_fixed(sx);
    transform.matrix[0][2] = pixman_double_to_fixed((double)(src_area->left - src->x0));
    transform.matrix[1][1] = pixman_double_to_fixed(sy);
    transform.matrix[1][2] = pixman_double_to_fixed((double)(src_area->top - src->y0));
    pixman_image_set_transform(src->image, &transform);
    pixman_image_set_filter(src->image, filter, NULL, 0);
    /* Edge pixels repeat rather than fade into transparent black. */
    pixman_image_set_repeat(src->image, PIXMAN_REPEAT_PAD);
    pixman_image_composite32(op, src->image, mask, dst, (int32_t)(box->x1 - bbox->left),
                             (int32_t)(box->y1 - bbox->top), 0, 0, box->x1 - ox, box->y1 - oy, w,
                             h);
    pixman_image_set_transform(src->image, NULL);
    pixman_image_set_filter(src->image, PIXMAN_FILTER_NEAREST, NULL, 0);
    pixman_image_set_repeat(src->image, PIXMAN_REPEAT_NONE);
    return TRUE;
}

static pixman_filter_t scale_filter(uint32_t scale_mode)
{
    return scale_mode == SPICE_IMAGE_SCALE_MODE_NEAREST ? PIXMAN_FILTER_NEAREST
                                                        : PIXMAN_FILTER_BILINEAR;
}

/* ---------------------------------------------------------------------------
 * Raster operations
 * ------------------------------------------------------------------------- */

typedef enum {
    ROP_PUT,
    ROP_OR,
    ROP_AND,
    ROP_XOR,
    ROP_CLEAR,
    ROP_SET,
    ROP_INVERT,
} RopOp;

typedef struct {
    RopOp op;
    uint32_t inv_s; /* 0 or ~0 */
    uint32_t inv_d;
    uint32_t inv_r;
} Rop;

/*
 * A ROP descriptor as a function of (s, d): @s_bit is the SPICE_ROPD_INVERS_*
 * bit of the input playing "source", @d_bit the one playing "destination"
 * (spice's ropd_descriptor_to_rop()). Without an operation bit: PUT.
 */
static Rop rop_from_descriptor(uint32_t desc, uint32_t s_bit, uint32_t d_bit)
{
    Rop rop = {ROP_PUT, desc & s_bit ? ~0u : 0, desc & d_bit ? ~0u : 0,
               desc & SPICE_ROPD_INVERS_RES ? ~0u : 0};
    if (desc & SPICE_ROPD_OP_PUT) {
        rop.op = ROP_PUT;
    } else if (desc & SPICE_ROPD_OP_OR) {
        rop.op = ROP_OR;
    } else if (desc & SPICE_ROPD_OP_AND) {
        rop.op = ROP_AND;
    } else if (desc & SPICE_ROPD_OP_XOR) {
        rop.op = ROP_XOR;
    } else if (desc & SPICE_ROPD_OP_BLACKNESS) {
        rop = (Rop){ROP_CLEAR, 0, 0, 0};
    } else if (desc & SPICE_ROPD_OP_WHITENESS) {
        rop = (Rop){ROP_SET, 0, 0, 0};
    } else if (desc & SPICE_ROPD_OP_INVERS) {
        rop = (Rop){ROP_INVERT, 0, 0, 0};
    } else {
        rop = (Rop){ROP_PUT, 0, 0, 0};
    }
    return rop;
}

static inline gboolean rop_is_copy(const Rop *rop)
{
    return rop->op == ROP_PUT && rop->inv_s == rop->inv_r;
}

static inline uint32_t rop_apply(const Rop *rop, uint32_t s, uint32_t d)
{
    s ^= rop->inv_s;
    d ^= rop->inv_d;
    switch (rop->op) {
    case ROP_PUT:
        return s ^ rop->inv_r;
    case ROP_OR:
        return (s | d) ^ rop->inv_r;
    case ROP_AND:
        return (s & d) ^ rop->inv_r;
    case ROP_XOR:
        return (s ^ d) ^ rop->inv_r;
    case ROP_CLEAR:
        return 0;
    case ROP_SET:
        return 0xffffffffu;
    default:
        return ~d;
    }
}

/* Pixel (x, y) (canvas coordinates) of @image, whose pixel (0,0) is canvas pixel (ox, oy). */
static inline uint32_t *temp_pixel(pixman_image_t *image, int32_t ox, int32_t oy, int32_t x,
                                   int32_t y)
{
    return (uint32_t *)((uint8_t *)pixman_image_get_data(image) +
                        (size_t)(y - oy) * (size_t)pixman_image_get_stride(image)) +
           (x - ox);
}

/* d = rop(s, d) over @region; s from @s_image (pixel (0,0) at region extents) or @s_color. */
static void combine_rop(SvCanvas *canvas, pixman_region32_t *region, pixman_image_t *s_image,
                        uint32_t s_color, const Rop *rop)
{
    const pixman_box32_t *ext = pixman_region32_extents(region);
    int n;
    const pixman_box32_t *boxes = pixman_region32_rectangles(region, &n);
    for (int i = 0; i < n; i++) {
        for (int32_t y = boxes[i].y1; y < boxes[i].y2; y++) {
            uint32_t *d = canvas_row(canvas, y);
            const uint32_t *s =
                s_image != NULL ? temp_pixel(s_image, ext->x1, ext->y1, 0, y) : NULL;
            for (int32_t x = boxes[i].x1; x < boxes[i].x2; x++) {
                d[x] = rop_apply(rop, s != NULL ? s[x] : s_color, d[x]);
            }
        }
    }
}

/* ---------------------------------------------------------------------------
 * Brushes
 * ------------------------------------------------------------------------- */

static pixman_color_t color_from_xrgb(uint32_t c)
{
    return (pixman_color_t){.red = (uint16_t)(((c >> 16) & 0xff) * 0x101),
                            .green = (uint16_t)(((c >> 8) & 0xff) * 0x101),
                            .blue = (uint16_t)((c & 0xff) * 0x101),
                            .alpha = 0xffff};
}

static void fill_region(SvCanvas *canvas, pixman_region32_t *region, uint32_t color)
{
    int n;
    const pixman_box32_t *boxes = pixman_region32_rectangles(region, &n);
    if (n > 0) {
        pixman_color_t c = color_from_xrgb(color);
        pixman_image_fill_boxes(PIXMAN_OP_SRC, canvas->image, &c, n, boxes);
    }
}

/*
 * Brush pixels: a solid colour in *@color (and *@tile NULL), or a pattern
 * as a repeating image whose pixel (0,0) lies at the pattern origin.
 * FALSE if the pattern's pixels are unknown.
 */
static gboolean brush_get(SvCanvas *canvas, const SvBrush *brush, SvCanvasLookup lookup,
                          void *lookup_opaque, uint32_t *color, CanvasSource *tile)
{
    *tile = (CanvasSource){0};
    *color = 0;
    if (brush->type == SV_BRUSH_SOLID) {
        *color = brush->color;
        return TRUE;
    }
    if (brush->type != SV_BRUSH_PATTERN) {
        return TRUE; /* NONE: spice still applies the ROP with colour 0 */
    }
    if (!source_get(canvas, brush->pattern, NULL, ALPHA_OPAQUE, lookup, lookup_opaque, tile)) {
        return FALSE;
    }
    pixman_image_set_repeat(tile->image, PIXMAN_REPEAT_NORMAL);
    return TRUE;
}

/* Tile pixel for canvas (x, y) is tile[(x - origin.x) mod w][(y - origin.y) mod h]. */
static void tile_render(pixman_image_t *dst, int32_t ox, int32_t oy, const pixman_box32_t *box,
                        const SvBrush *brush, CanvasSource *tile)
{
    /* Start inside the tile: pixman's coordinates stay small whatever the origin. */
    int64_t tw = pixman_image_get_width(tile->image), th = pixman_image_get_height(tile->image);
    int64_t sx = ((int64_t)box->x1 - brush->pattern_origin.x) % tw;
    int64_t sy = ((int64_t)box->y1 - brush->pattern_origin.y) % th;
    pixman_image_composite32(PIXMAN_OP_SRC, tile->image, NULL, dst,
                             (int32_t)(sx < 0 ? sx + tw : sx), (int32_t)(sy < 0 ? sy + th : sy), 0,
                             0, box->x1 - ox, box->y1 - oy, box->x2 - box->x1, box->y2 - box->y1);
}

/* Draws @brush over @region with @rop (brush = s, canvas = d). FALSE if approximated. */
static gboolean draw_brush(SvCanvas *canvas, pixman_region32_t *region, const SvBrush *brush,
                           const Rop *rop, SvCanvasLookup lookup, void *lookup_opaque)
{
    uint32_t color;
    CanvasSource tile;
    gboolean exact = TRUE;

    if (!pixman_region32_not_empty(region)) {
        return TRUE;
    }
    if (!brush_get(canvas, brush, lookup, lookup_opaque, &color, &tile)) {
        color = CANVAS_UNKNOWN_COLOR;
        exact = FALSE;
    }
    const pixman_box32_t *ext = pixman_region32_extents(region);
    if (tile.image == NULL) {
        if (rop_is_copy(rop)) {
            fill_region(canvas, region, color);
        } else {
            combine_rop(canvas, region, NULL, color, rop);
        }
        return exact;
    }
    exact = tile.exact;
    if (rop_is_copy(rop)) {
        pixman_image_set_clip_region32(canvas->image, region);
        tile_render(canvas->image, 0, 0, ext, brush, &tile);
        pixman_image_set_clip_region32(canvas->image, NULL);
    } else {
        pixman_image_t *temp = pixman_image_create_bits_no_clear(PIXMAN_x8r8g8b8, ext->x2 - ext->x1,
                                                                 ext->y2 - ext->y1, NULL, 0);
        if (temp != NULL) {
            tile_render(temp, ext->x1, ext->y1, ext, brush, &tile);
            combine_rop(canvas, region, temp, 0, rop);
            pixman_image_unref(temp);
        }
    }
    source_clear(&tile);
    return exact;
}

/* ---------------------------------------------------------------------------
 * Masks (QXLQMask: a 1-bit bitmap; set bits are drawn)
 * ------------------------------------------------------------------------- */

/* Limits @region to the mask. FALSE if the mask could not be read (then ignored). */
static gboolean apply_mask(const SvDrawCommand *cmd, pixman_region32_t *region)
{
    const SvImage *mask = cmd->mask;

    if (mask == NULL || !pixman_region32_not_empty(region)) {
        return TRUE;
    }
    if (mask->type != SV_SOURCE_BITMAP) {
        return FALSE;
    }
    const SpiceBitmap *bitmap = &mask->bitmap;
    if ((bitmap->format != SPICE_BITMAP_FMT_1BIT_LE &&
         bitmap->format != SPICE_BITMAP_FMT_1BIT_BE) ||
        bitmap->data == NULL || bitmap->x == 0 || bitmap->y == 0 || bitmap->x > INT32_MAX ||
        bitmap->y > INT32_MAX || (uint64_t)bitmap->stride < line_bytes(1, bitmap->x)) {
        return FALSE;
    }
    /* Mask pixel (mx, my) covers canvas pixel (mx + tx, my + ty). */
    int64_t tx = (int64_t)cmd->bbox.left - cmd->mask_pos.x;
    int64_t ty = (int64_t)cmd->bbox.top - cmd->mask_pos.y;
    if (tx > CANVAS_MAX_OFFSET || tx < -CANVAS_MAX_OFFSET || ty > CANVAS_MAX_OFFSET ||
        ty < -CANVAS_MAX_OFFSET) {
        pixman_region32_clear(region);
        return TRUE;
    }
    /* Only the part of the mask under the region is read. */
    const pixman_box32_t *ext = pixman_region32_extents(region);
    SpiceRect part = {(int32_t)CLAMP(ext->x1 - tx, 0, (int64_t)bitmap->x),
                      (int32_t)CLAMP(ext->y1 - ty, 0, (int64_t)bitmap->y),
                      (int32_t)CLAMP(ext->x2 - tx, 0, (int64_t)bitmap->x),
                      (int32_t)CLAMP(ext->y2 - ty, 0, (int64_t)bitmap->y)};
    if (part.left >= part.right || part.top >= part.bottom) {
        pixman_region32_clear(region);
        return TRUE;
    }
    part.left &= ~7; /* whole bytes */
    gboolean top_down = (bitmap->flags & SPICE_BITMAP_FLAGS_TOP_DOWN) != 0;
    uint64_t first_line = sv_bitmap_first_line(bitmap, &part, top_down);
    uint32_t w = (uint32_t)(part.right - part.left), h = (uint32_t)(part.bottom - part.top);
    uint64_t row_bytes = line_bytes(1, (uint64_t)part.right);
    uint64_t total = 0;
    for (uint32_t i = 0; i < bitmap->data->num_chunks; i++) {
        if (bitmap->data->chunk[i].data == NULL && bitmap->data->chunk[i].len != 0) {
            return FALSE;
        }
        total += bitmap->data->chunk[i].len;
    }
    if ((first_line + h - 1) * bitmap->stride + row_bytes > total) {
        return FALSE;
    }
    pixman_image_t *a1 = pixman_image_create_bits(PIXMAN_a1, (int)w, (int)h, NULL, 0);
    if (a1 == NULL) {
        return FALSE;
    }
    uint8_t *out = (uint8_t *)pixman_image_get_data(a1);
    int32_t out_stride = pixman_image_get_stride(a1);
    uint8_t *line = g_malloc((size_t)row_bytes);
    gboolean invert = (cmd->mask_flags & SPICE_MASK_FLAGS_INVERS) != 0;
    SvChunkCursor cursor;
    sv_chunk_cursor_init(&cursor, bitmap->data);
    for (uint32_t i = 0; i < h; i++) {
        const uint8_t *bytes =
            sv_chunk_cursor_read(&cursor, (first_line + i) * bitmap->stride, row_bytes, line);
        uint8_t *dst = out + (size_t)(top_down ? i : h - 1 - i) * (size_t)out_stride;
        for (uint32_t x = 0; bytes != NULL && x < w; x++) {
            uint32_t bx = (uint32_t)part.left + x;
            uint32_t bit = bitmap->format == SPICE_BITMAP_FMT_1BIT_LE
                               ? (bytes[bx >> 3] >> (bx & 7)) & 1
                               : (bytes[bx >> 3] >> (7 - (bx & 7))) & 1;
            if (bit ^ (invert ? 1 : 0)) {
                dst[x >> 3] |= (uint8_t)(1 << (x & 7)); /* pixman a1: LSB first */
            }
        }
    }
    g_free(line);
    pixman_region32_t mask_region;
    pixman_region32_init_from_image(&mask_region, a1);
    pixman_image_unref(a1);
    pixman_region32_translate(&mask_region, (int)(tx + part.left), (int)(ty + part.top));
    pixman_region32_intersect(region, region, &mask_region);
    pixman_region32_fini(&mask_region);
    return TRUE;
}

/* ---------------------------------------------------------------------------
 * Drawing commands
 * ------------------------------------------------------------------------- */

typedef struct {
    SvCanvas *canvas;
    const SvDrawCommand *cmd;
    SvCanvasLookup lookup;
    void *lookup_opaque;
    pixman_region32_t region;
} DrawContext;

/* Pixels nobody can know: grey, so that they are visible and deterministic. */
static gboolean draw_unknown(DrawContext *ctx)
{
    fill_region(ctx->canvas, &ctx->region, CANVAS_UNKNOWN_COLOR);
    return FALSE;
}

/*
 * An unscaled COPY of a bitmap pixman reads as it is: each run of lines that
 * lies in one chunk is composited where it is, a line that straddles two
 * chunks through a line buffer. No copy of the whole picture (a 640x360
 * frame recorded in four chunks costs about one memcpy). FALSE if this case
 * does not apply; the general path then decides.
 */
static gboolean copy_bitmap_in_bands(DrawContext *ctx)
{
    const SvDrawCommand *cmd = ctx->cmd;
    const SpiceRect *area = &cmd->src_area;

    if (cmd->src == NULL || cmd->src->type != SV_SOURCE_BITMAP ||
        rect_width(&cmd->bbox) != rect_width(area) ||
        rect_height(&cmd->bbox) != rect_height(area)) {
        return FALSE;
    }
    const SpiceBitmap *bitmap = &cmd->src->bitmap;
    pixman_format_code_t format = bitmap_direct_format(bitmap->format, FALSE);
    uint32_t bpp = sv_bitmap_format_bits(bitmap->format);
    if (format == 0 || bitmap->data == NULL || bitmap->stride % 4 != 0 ||
        bitmap->stride > INT32_MAX || bitmap->x > CANVAS_MAX_FIXED_SIDE ||
        bitmap->y > CANVAS_MAX_FIXED_SIDE || !sv_bitmap_src_is_valid(bitmap, area, INT32_MAX)) {
        return FALSE;
    }
    uint64_t row_bytes = line_bytes(bpp, bitmap->x);
    gboolean top_down = (bitmap->flags & SPICE_BITMAP_FLAGS_TOP_DOWN) != 0;
    uint32_t h = (uint32_t)(area->bottom - area->top);
    uint64_t first_line = sv_bitmap_first_line(bitmap, area, top_down);
    uint64_t total = 0;
    for (uint32_t i = 0; i < bitmap->data->num_chunks; i++) {
        if (bitmap->data->chunk[i].data == NULL && bitmap->data->chunk[i].len != 0) {
            return FALSE;
        }
        total += bitmap->data->chunk[i].len;
    }
    if (row_bytes > bitmap->stride || (first_line + h - 1) * bitmap->stride + row_bytes > total) {
        return FALSE;
    }

    SvCanvas *canvas = ctx->canvas;
    const pixman_box32_t *ext = pixman_region32_extents(&ctx->region);
    int32_t stride = (int32_t)bitmap->stride;
    uint8_t *line_buf = NULL;
    SvChunkCursor cursor;
    sv_chunk_cursor_init(&cursor, bitmap->data);
    pixman_image_set_clip_region32(canvas->image, &ctx->region);
    for (uint32_t i = 0; i < h;) {
        uint64_t offset = (first_line + i) * bitmap->stride;
        const uint8_t *run = sv_chunk_cursor_span(&cursor, offset, (size_t)row_bytes);
        uint32_t n = 1;
        if (run != NULL && ((uintptr_t)run & 3) == 0) {
            while (i + n < h &&
                   sv_chunk_cursor_span(&cursor, offset + (uint64_t)n * bitmap->stride,
                                        (size_t)row_bytes) == run + (size_t)n * bitmap->stride) {
                n++;
            }
        } else {
            if (line_buf == NULL) {
                line_buf = g_malloc((size_t)row_bytes);
            }
            run = sv_chunk_cursor_read(&cursor, offset, (size_t)row_bytes, line_buf);
            if (run == NULL) {
                break; /* cannot happen after the size check */
            }
            if (run != line_buf) {
                memcpy(line_buf, run, (size_t)row_bytes);
                run = line_buf;
            }
        }
        /* Memory lines i..i+n-1 are picture rows i.. (top-down) or h-i-n.. (bottom-up). */
        uint32_t first_row = top_down ? i : h - i - n;
        const uint8_t *top = top_down ? run : run + (size_t)(n - 1) * bitmap->stride;
        pixman_image_t *band =
            pixman_image_create_bits(format, (int)bitmap->x, (int)n, (uint32_t *)top,
                                     top_down ? stride : -stride);
        int64_t band_y = (int64_t)cmd->bbox.top + first_row;
        int64_t y1 = MAX(band_y, (int64_t)ext->y1), y2 = MIN(band_y + n, (int64_t)ext->y2);
        if (band != NULL && y1 < y2) {
            pixman_image_composite32(PIXMAN_OP_SRC, band, NULL, canvas->image,
                                     (int32_t)(ext->x1 - cmd->bbox.left + area->left),
                                     (int32_t)(y1 - band_y), 0, 0, ext->x1, (int32_t)y1,
                                     ext->x2 - ext->x1, (int32_t)(y2 - y1));
        }
        if (band != NULL) {
            pixman_image_unref(band);
        }
        i += n;
    }
    pixman_image_set_clip_region32(canvas->image, NULL);
    g_free(line_buf);
    return TRUE;
}

/* The command's source over the region with @rop (src = s, canvas = d). */
static gboolean draw_source_rop(DrawContext *ctx, const Rop *rop)
{
    const SvDrawCommand *cmd = ctx->cmd;
    CanvasSource src;

    if (!pixman_region32_not_empty(&ctx->region)) {
        return TRUE;
    }
    if (rop->op == ROP_CLEAR || rop->op == ROP_SET || rop->op == ROP_INVERT) {
        combine_rop(ctx->canvas, &ctx->region, NULL, 0, rop);
        return TRUE;
    }
    if (rop_is_copy(rop) && copy_bitmap_in_bands(ctx)) {
        return TRUE;
    }
    if (!source_get(ctx->canvas, cmd->src, &cmd->src_area, ALPHA_NATIVE, ctx->lookup,
                    ctx->lookup_opaque, &src)) {
        return draw_unknown(ctx);
    }
    gboolean exact = src.exact;
    const pixman_box32_t *ext = pixman_region32_extents(&ctx->region);
    pixman_filter_t filter = scale_filter(cmd->scale_mode);
    if (rop_is_copy(rop)) {
        pixman_image_set_clip_region32(ctx->canvas->image, &ctx->region);
        if (!render_source(ctx->canvas->image, 0, 0, ext, PIXMAN_OP_SRC, &src, NULL, &cmd->src_area,
                           &cmd->bbox, filter)) {
            exact = draw_unknown(ctx);
        }
        pixman_image_set_clip_region32(ctx->canvas->image, NULL);
    } else {
        pixman_image_t *temp = pixman_image_create_bits_no_clear(PIXMAN_x8r8g8b8, ext->x2 - ext->x1,
                                                                 ext->y2 - ext->y1, NULL, 0);
        if (temp != NULL && render_source(temp, ext->x1, ext->y1, ext, PIXMAN_OP_SRC, &src, NULL,
                                          &cmd->src_area, &cmd->bbox, filter)) {
            combine_rop(ctx->canvas, &ctx->region, temp, 0, rop);
        } else {
            exact = draw_unknown(ctx);
        }
        if (temp != NULL) {
            pixman_image_unref(temp);
        }
    }
    source_clear(&src);
    return exact;
}

static gboolean draw_copy_bits(DrawContext *ctx)
{
    const SvDrawCommand *cmd = ctx->cmd;
    SvCanvas *canvas = ctx->canvas;
    /* Destination pixel p takes the old pixel p - delta. */
    int64_t dx = (int64_t)cmd->bbox.left - cmd->src_pos.x;
    int64_t dy = (int64_t)cmd->bbox.top - cmd->src_pos.y;
    gboolean exact = TRUE;

    if (!pixman_region32_not_empty(&ctx->region)) {
        return TRUE;
    }
    /* Only where the source lies on the surface. */
    pixman_box32_t valid;
    if (!clamp_rect(canvas, dx, dy, dx + canvas->width, dy + canvas->height, &valid)) {
        pixman_region32_clear(&ctx->region);
        return FALSE;
    }
    pixman_region32_t before;
    pixman_region32_init(&before);
    pixman_region32_copy(&before, &ctx->region);
    pixman_region32_intersect_rect(&ctx->region, &ctx->region, valid.x1, valid.y1,
                                   (unsigned)(valid.x2 - valid.x1),
                                   (unsigned)(valid.y2 - valid.y1));
    if (!pixman_region32_equal(&before, &ctx->region)) {
        exact = FALSE;
    }
    pixman_region32_fini(&before);

    int n;
    const pixman_box32_t *boxes = pixman_region32_rectangles(&ctx->region, &n);
    if (n == 1) {
        /* One rectangle: move lines in place, in the order that never reads a line written. */
        const pixman_box32_t *b = &boxes[0];
        size_t bytes = (size_t)(b->x2 - b->x1) * 4;
        int32_t h = b->y2 - b->y1;
        for (int32_t i = 0; i < h; i++) {
            int32_t y = dy > 0 ? b->y2 - 1 - i : b->y1 + i;
            memmove(canvas_row(canvas, y) + b->x1,
                    canvas_row(canvas, (int32_t)(y - dy)) + (b->x1 - dx), bytes);
        }
    } else if (n > 1) {
        /* Several rectangles may feed each other: read everything first. */
        const pixman_box32_t *ext = pixman_region32_extents(&ctx->region);
        pixman_box32_t src_box = {(int32_t)(ext->x1 - dx), (int32_t)(ext->y1 - dy),
                                  (int32_t)(ext->x2 - dx), (int32_t)(ext->y2 - dy)};
        pixman_image_t *copy = canvas_snapshot(canvas, &src_box, PIXMAN_x8r8g8b8);
        if (copy == NULL) {
            return FALSE;
        }
        for (int i = 0; i < n; i++) {
            size_t bytes = (size_t)(boxes[i].x2 - boxes[i].x1) * 4;
            for (int32_t y = boxes[i].y1; y < boxes[i].y2; y++) {
                memcpy(canvas_row(canvas, y) + boxes[i].x1,
                       temp_pixel(copy, ext->x1, ext->y1, boxes[i].x1, y), bytes);
            }
        }
        pixman_image_unref(copy);
    }
    return exact;
}

static gboolean draw_transparent(DrawContext *ctx)
{
    const SvDrawCommand *cmd = ctx->cmd;
    CanvasSource src;

    if (!pixman_region32_not_empty(&ctx->region)) {
        return TRUE;
    }
    if (!source_get(ctx->canvas, cmd->src, &cmd->src_area, ALPHA_OPAQUE, ctx->lookup,
                    ctx->lookup_opaque, &src)) {
        return draw_unknown(ctx);
    }
    gboolean exact = src.exact;
    const pixman_box32_t *ext = pixman_region32_extents(&ctx->region);
    pixman_image_t *temp = pixman_image_create_bits_no_clear(PIXMAN_x8r8g8b8, ext->x2 - ext->x1,
                                                             ext->y2 - ext->y1, NULL, 0);
    /* spice keys on true_color (the colour in the surface's 32-bit format), and
     * scales a keyed source with nearest-neighbour sampling (no blended keys). */
    if (temp != NULL && render_source(temp, ext->x1, ext->y1, ext, PIXMAN_OP_SRC, &src, NULL,
                                      &cmd->src_area, &cmd->bbox, PIXMAN_FILTER_NEAREST)) {
        uint32_t key = cmd->true_color & 0xffffff;
        int n;
        const pixman_box32_t *boxes = pixman_region32_rectangles(&ctx->region, &n);
        for (int i = 0; i < n; i++) {
            for (int32_t y = boxes[i].y1; y < boxes[i].y2; y++) {
                uint32_t *d = canvas_row(ctx->canvas, y);
                const uint32_t *s = temp_pixel(temp, ext->x1, ext->y1, 0, y);
                for (int32_t x = boxes[i].x1; x < boxes[i].x2; x++) {
                    if ((s[x] & 0xffffff) != key) {
                        d[x] = s[x];
                    }
                }
            }
        }
    } else {
        exact = draw_unknown(ctx);
    }
    if (temp != NULL) {
        pixman_image_unref(temp);
    }
    source_clear(&src);
    return exact;
}

static gboolean draw_alpha_blend(DrawContext *ctx)
{
    const SvDrawCommand *cmd = ctx->cmd;
    CanvasSource src;

    if (cmd->alpha == 0 || !pixman_region32_not_empty(&ctx->region)) {
        return TRUE;
    }
    AlphaMode mode = ALPHA_NATIVE;
    if (cmd->src != NULL && cmd->src->type == SV_SOURCE_SURFACE) {
        mode = cmd->alpha_flags & SPICE_ALPHA_FLAGS_SRC_SURFACE_HAS_ALPHA ? ALPHA_FROM_SURFACE
                                                                          : ALPHA_OPAQUE;
    }
    if (!source_get(ctx->canvas, cmd->src, &cmd->src_area, mode, ctx->lookup, ctx->lookup_opaque,
                    &src)) {
        return draw_unknown(ctx);
    }
    gboolean exact = src.exact;
    pixman_image_t *mask = NULL;
    if (cmd->alpha < 255) {
        pixman_color_t color = {0, 0, 0, (uint16_t)(cmd->alpha * 0x101)};
        mask = pixman_image_create_solid_fill(&color);
    }
    /* Without DEST_HAS_ALPHA the destination's alpha is ignored (spice draws on an xRGB view). */
    pixman_image_t *dest = cmd->alpha_flags & SPICE_ALPHA_FLAGS_DEST_HAS_ALPHA
                               ? pixman_image_ref(ctx->canvas->image)
                               : image_view(ctx->canvas->image, PIXMAN_x8r8g8b8);
    pixman_image_set_clip_region32(dest, &ctx->region);
    if (!render_source(dest, 0, 0, pixman_region32_extents(&ctx->region), PIXMAN_OP_OVER, &src,
                       mask, &cmd->src_area, &cmd->bbox, PIXMAN_FILTER_BILINEAR)) {
        exact = draw_unknown(ctx);
    }
    pixman_image_set_clip_region32(dest, NULL);
    pixman_image_unref(dest);
    if (mask != NULL) {
        pixman_image_unref(mask);
    }
    source_clear(&src);
    return exact;
}

static gboolean pixman_op_is_valid(uint32_t op)
{
    return op <= PIXMAN_OP_SATURATE ||
           (op >= PIXMAN_OP_DISJOINT_CLEAR && op <= PIXMAN_OP_DISJOINT_XOR) ||
           (op >= PIXMAN_OP_CONJOINT_CLEAR && op <= PIXMAN_OP_CONJOINT_XOR) ||
           (op >= PIXMAN_OP_MULTIPLY && op <= PIXMAN_OP_HSL_LUMINOSITY);
}

/* The filter fields hold pixman_filter_t values (spice passes them to pixman as they are);
 * the convolution filters need parameters the command does not carry: bilinear instead. */
static pixman_filter_t composite_filter(uint32_t value)
{
    return value <= PIXMAN_FILTER_BILINEAR ? (pixman_filter_t)value : PIXMAN_FILTER_BILINEAR;
}

static void set_transform(pixman_image_t *image, const int32_t t[6])
{
    pixman_transform_t transform;
    pixman_transform_init_identity(&transform);
    transform.matrix[0][0] = t[0];
    transform.matrix[0][1] = t[1];
    transform.matrix[0][2] = t[2];
    transform.matrix[1][0] = t[3];
    transform.matrix[1][1] = t[4];
    transform.matrix[1][2] = t[5];
    pixman_image_set_transform(image, &transform);
}

static gboolean draw_composite(DrawContext *ctx)
{
    const SvDrawCommand *cmd = ctx->cmd;
    uint32_t flags = cmd->composite_flags;
    uint32_t op = flags & 0xff;
    CanvasSource src, mask = {0};

    if (!pixman_region32_not_empty(&ctx->region)) {
        return TRUE;
    }
    /* Origins far beyond any image would only overflow pixman's coordinates. */
    if (!pixman_op_is_valid(op) || ABS((int64_t)cmd->src_origin.x) > CANVAS_MAX_OFFSET ||
        ABS((int64_t)cmd->src_origin.y) > CANVAS_MAX_OFFSET ||
        ABS((int64_t)cmd->mask_origin.x) > CANVAS_MAX_OFFSET ||
        ABS((int64_t)cmd->mask_origin.y) > CANVAS_MAX_OFFSET) {
        return draw_unknown(ctx);
    }
    if (!source_get(ctx->canvas, cmd->src, NULL,
                    flags & SPICE_COMPOSITE_SOURCE_OPAQUE ? ALPHA_OPAQUE : ALPHA_NATIVE,
                    ctx->lookup, ctx->lookup_opaque, &src)) {
        return draw_unknown(ctx);
    }
    gboolean exact = src.exact;
    if (cmd->mask != NULL) {
        /* As spice: the mask is used as it is (MASK_OPAQUE changes nothing). */
        if (!source_get(ctx->canvas, cmd->mask, NULL, ALPHA_NATIVE, ctx->lookup, ctx->lookup_opaque,
                        &mask)) {
            source_clear(&src);
            return draw_unknown(ctx);
        }
        exact = exact && mask.exact;
    }
    /* Whole images were asked for, so image coordinates are source coordinates. */
    if (cmd->has_src_transform) {
        set_transform(src.image, cmd->src_transform);
    }
    pixman_image_set_filter(src.image, composite_filter((flags >> 8) & 7), NULL, 0);
    pixman_image_set_repeat(src.image, (pixman_repeat_t)((flags >> 14) & 3));
    if (mask.image != NULL) {
        if (cmd->has_mask_transform) {
            set_transform(mask.image, cmd->mask_transform);
        }
        pixman_image_set_filter(mask.image, composite_filter((flags >> 11) & 7), NULL, 0);
        pixman_image_set_repeat(mask.image, (pixman_repeat_t)((flags >> 16) & 3));
        pixman_image_set_component_alpha(mask.image,
                                         (flags & SPICE_COMPOSITE_COMPONENT_ALPHA) != 0);
    }
    pixman_image_t *dest = flags & SPICE_COMPOSITE_DEST_OPAQUE
                               ? image_view(ctx->canvas->image, PIXMAN_x8r8g8b8)
                               : pixman_image_ref(ctx->canvas->image);
    pixman_image_set_clip_region32(dest, &ctx->region);
    const pixman_box32_t *ext = pixman_region32_extents(&ctx->region);
    /* bbox.left maps to src_origin; the region starts ext - bbox further in. */
    int64_t ox = (int64_t)ext->x1 - cmd->bbox.left, oy = (int64_t)ext->y1 - cmd->bbox.top;
    pixman_image_composite32((pixman_op_t)op, src.image, mask.image, dest,
                             (int32_t)(cmd->src_origin.x + ox), (int32_t)(cmd->src_origin.y + oy),
                             (int32_t)(cmd->mask_origin.x + ox), (int32_t)(cmd->mask_origin.y + oy),
                             ext->x1, ext->y1, ext->x2 - ext->x1, ext->y2 - ext->y1);
    pixman_image_set_clip_region32(dest, NULL);
    pixman_image_unref(dest);
    source_clear(&src);
    source_clear(&mask);
    return exact;
}

/* Ternary raster operation: bit i of @rop3 is the result for (p, s, d) with i = p<<2 | s<<1 | d. */
static inline uint32_t rop3_apply(uint8_t rop3, uint32_t p, uint32_t s, uint32_t d)
{
    uint32_t r = 0;
    for (int i = 0; i < 8; i++) {
        if (rop3 & (1 << i)) {
            r |= (i & 4 ? p : ~p) & (i & 2 ? s : ~s) & (i & 1 ? d : ~d);
        }
    }
    return r;
}

static gboolean draw_rop3(DrawContext *ctx)
{
    const SvDrawCommand *cmd = ctx->cmd;
    CanvasSource src = {0}, tile;
    uint32_t color;
    gboolean exact = TRUE;

    if (!pixman_region32_not_empty(&ctx->region)) {
        return TRUE;
    }
    const pixman_box32_t *ext = pixman_region32_extents(&ctx->region);
    int32_t w = ext->x2 - ext->x1, h = ext->y2 - ext->y1;
    pixman_image_t *s_img = NULL, *p_img = NULL;
    if (cmd->src != NULL) {
        if (!source_get(ctx->canvas, cmd->src, &cmd->src_area, ALPHA_NATIVE, ctx->lookup,
                        ctx->lookup_opaque, &src)) {
            return draw_unknown(ctx);
        }
        exact = src.exact;
        s_img = pixman_image_create_bits_no_clear(PIXMAN_x8r8g8b8, w, h, NULL, 0);
        if (s_img == NULL ||
            !render_source(s_img, ext->x1, ext->y1, ext, PIXMAN_OP_SRC, &src, NULL, &cmd->src_area,
                           &cmd->bbox, scale_filter(cmd->scale_mode))) {
            exact = draw_unknown(ctx);
            goto out;
        }
    }
    if (!brush_get(ctx->canvas, &cmd->brush, ctx->lookup, ctx->lookup_opaque, &color, &tile)) {
        color = CANVAS_UNKNOWN_COLOR;
        exact = FALSE;
    }
    if (tile.image != NULL) {
        exact = exact && tile.exact;
        p_img = pixman_image_create_bits_no_clear(PIXMAN_x8r8g8b8, w, h, NULL, 0);
        if (p_img != NULL) {
            tile_render(p_img, ext->x1, ext->y1, ext, &cmd->brush, &tile);
        }
        source_clear(&tile);
    }
    int n;
    const pixman_box32_t *boxes = pixman_region32_rectangles(&ctx->region, &n);
    for (int i = 0; i < n; i++) {
        for (int32_t y = boxes[i].y1; y < boxes[i].y2; y++) {
            uint32_t *d = canvas_row(ctx->canvas, y);
            const uint32_t *s = s_img != NULL ? temp_pixel(s_img, ext->x1, ext->y1, 0, y) : NULL;
            const uint32_t *p = p_img != NULL ? temp_pixel(p_img, ext->x1, ext->y1, 0, y) : NULL;
            for (int32_t x = boxes[i].x1; x < boxes[i].x2; x++) {
                d[x] = rop3_apply((uint8_t)cmd->rop3, p != NULL ? p[x] : color,
                                  s != NULL ? s[x] : 0, d[x]);
            }
        }
    }
out:
    if (s_img != NULL) {
        pixman_image_unref(s_img);
    }
    if (p_img != NULL) {
        pixman_image_unref(p_img);
    }
    source_clear(&src);
    return exact;
}

/* STROKE: the path is not in the command. A thin bbox (an axis-aligned cosmetic
 * line, most strokes a desktop draws) is the stroke itself; anything else is
 * left untouched rather than painted as a block. */
#define STROKE_THIN_PX 2

static gboolean draw_stroke(DrawContext *ctx)
{
    const SvDrawCommand *cmd = ctx->cmd;
    if (rect_width(&cmd->bbox) <= STROKE_THIN_PX || rect_height(&cmd->bbox) <= STROKE_THIN_PX) {
        Rop rop = {ROP_PUT, 0, 0, 0};
        draw_brush(ctx->canvas, &ctx->region, &cmd->brush, &rop, ctx->lookup, ctx->lookup_opaque);
    }
    return FALSE;
}

gboolean sv_canvas_draw(SvCanvas *canvas, const SvDrawCommand *cmd, SvCanvasLookup lookup,
                        void *lookup_opaque)
{
    g_return_val_if_fail(canvas != NULL, FALSE);
    g_return_val_if_fail(cmd != NULL, FALSE);

    DrawContext ctx = {
        .canvas = canvas, .cmd = cmd, .lookup = lookup, .lookup_opaque = lookup_opaque};
    gboolean exact = TRUE;
    Rop rop;

    region_init_draw(canvas, cmd, &ctx.region);
    switch (cmd->type) {
    case QXL_DRAW_NOP:
        break;
    case QXL_DRAW_FILL:
        exact = apply_mask(cmd, &ctx.region);
        rop = rop_from_descriptor(cmd->rop_descriptor, SPICE_ROPD_INVERS_BRUSH,
                                  SPICE_ROPD_INVERS_DEST);
        exact = draw_brush(canvas, &ctx.region, &cmd->brush, &rop, lookup, lookup_opaque) && exact;
        break;
    case QXL_DRAW_OPAQUE: {
        exact = apply_mask(cmd, &ctx.region);
        Rop put = {ROP_PUT, 0, 0, 0};
        exact = draw_source_rop(&ctx, &put) && exact;
        /* The brush is combined with the source just drawn (which plays "destination"). */
        rop = rop_from_descriptor(cmd->rop_descriptor, SPICE_ROPD_INVERS_BRUSH,
                                  SPICE_ROPD_INVERS_SRC);
        exact = draw_brush(canvas, &ctx.region, &cmd->brush, &rop, lookup, lookup_opaque) && exact;
        break;
    }
    case QXL_DRAW_COPY:
    case QXL_DRAW_BLEND:
        exact = apply_mask(cmd, &ctx.region);
        rop =
            rop_from_descriptor(cmd->rop_descriptor, SPICE_ROPD_INVERS_SRC, SPICE_ROPD_INVERS_DEST);
        exact = draw_source_rop(&ctx, &rop) && exact;
        break;
    case QXL_COPY_BITS:
        exact = draw_copy_bits(&ctx);
        break;
    case QXL_DRAW_BLACKNESS:
        exact = apply_mask(cmd, &ctx.region);
        fill_region(canvas, &ctx.region, 0x000000);
        break;
    case QXL_DRAW_WHITENESS:
        exact = apply_mask(cmd, &ctx.region);
        fill_region(canvas, &ctx.region, 0xffffff);
        break;
    case QXL_DRAW_INVERS:
        exact = apply_mask(cmd, &ctx.region);
        rop = (Rop){ROP_INVERT, 0, 0, 0};
        combine_rop(canvas, &ctx.region, NULL, 0, &rop);
        break;
    case QXL_DRAW_ROP3:
        exact = apply_mask(cmd, &ctx.region);
        exact = draw_rop3(&ctx) && exact;
        break;
    case QXL_DRAW_STROKE:
        exact = draw_stroke(&ctx);
        break;
    case QXL_DRAW_TEXT:
        /* Glyphs are not in the command: the pixels stay as they were. */
        exact = FALSE;
        break;
    case QXL_DRAW_TRANSPARENT:
        exact = draw_transparent(&ctx);
        break;
    case QXL_DRAW_ALPHA_BLEND:
        exact = draw_alpha_blend(&ctx);
        break;
    case QXL_DRAW_COMPOSITE:
        exact = draw_composite(&ctx);
        break;
    default:
        exact = FALSE;
        break;
    }
    pixman_region32_fini(&ctx.region);
    return exact;
}

/* ---------------------------------------------------------------------------
 * Video frames
 * ------------------------------------------------------------------------- */

void sv_canvas_put_frame(SvCanvas *canvas, const uint8_t *pixels, int32_t stride, uint32_t width,
                         uint32_t height, const SpiceRect *dest, const SpiceRect *clip,
                         guint n_clip)
{
    g_return_if_fail(canvas != NULL && pixels != NULL && dest != NULL);
    g_return_if_fail(width > 0 && height > 0 && width <= CANVAS_MAX_FIXED_SIDE &&
                     height <= CANVAS_MAX_FIXED_SIDE);
    g_return_if_fail(stride >= 0 && (uint64_t)stride >= (uint64_t)width * 4);

    SvDrawCommand cmd = {0};
    cmd.bbox = *dest;
    cmd.clip_type = clip != NULL && n_clip > 0 ? SV_CLIP_RECTS : SV_CLIP_NONE;
    cmd.n_clip_rects = n_clip;
    cmd.clip_rects = clip;
    pixman_region32_t region;
    region_init_draw(canvas, &cmd, &region);
    if (!pixman_region32_not_empty(&region)) {
        pixman_region32_fini(&region);
        return;
    }

    CanvasSource src = {0};
    uint8_t *copy = NULL;
    if (stride % 4 == 0 && ((uintptr_t)pixels & 3) == 0) {
        src.image = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)width, (int)height,
                                             (uint32_t *)pixels, stride);
    } else {
        /* pixman wants 32-bit aligned lines. */
        copy = g_malloc((size_t)width * 4 * height);
        for (uint32_t y = 0; y < height; y++) {
            memcpy(copy + (size_t)y * width * 4, pixels + (size_t)y * (size_t)stride,
                   (size_t)width * 4);
        }
        src.image = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)width, (int)height,
                                             (uint32_t *)copy, (int)width * 4);
    }
    SpiceRect src_area = {0, 0, (int32_t)width, (int32_t)height};
    pixman_image_set_clip_region32(canvas->image, &region);
    if (src.image != NULL) {
        render_source(canvas->image, 0, 0, pixman_region32_extents(&region), PIXMAN_OP_SRC, &src,
                      NULL, &src_area, dest, PIXMAN_FILTER_BILINEAR);
    }
    pixman_image_set_clip_region32(canvas->image, NULL);
    source_clear(&src);
    g_free(copy);
    pixman_region32_fini(&region);
}
