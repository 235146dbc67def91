/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Trace events → display calls. Draws become SvDrawCommand values whose
 * images point at the reader's pixel storage (no copy: the display copies
 * what it keeps); chunk tables and palettes live in the converter and are
 * reused from one draw to the next.
 */
#include "trace-commands.h"

#include <string.h>

#include <spice/enums.h>
#include <spice/qxl_dev.h>

#include "bitmap.h"

/* One image slot: a drawable refers to at most three images. */
typedef struct {
    SvImage image;
    SpiceChunks *chunks;
    guint chunks_capacity;
    SpicePalette *palette;
    guint palette_capacity;
} ImageSlot;

enum {
    SLOT_SRC,
    SLOT_PATTERN,
    SLOT_MASK,
    N_SLOTS
};

struct SvCommandConverter {
    SvDrawCommand cmd;
    ImageSlot slots[N_SLOTS];
    SpiceRect *clip_rects;
    guint clip_capacity;
};

SvCommandConverter *sv_command_converter_new(void)
{
    return g_new0(SvCommandConverter, 1);
}

void sv_command_converter_free(SvCommandConverter *converter)
{
    if (converter == NULL) {
        return;
    }
    for (guint i = 0; i < N_SLOTS; i++) {
        g_free(converter->slots[i].chunks);
        g_free(converter->slots[i].palette);
    }
    g_free(converter->clip_rects);
    g_free(converter);
}

static SpiceRect rect_from_trace(const SvTraceRect *r)
{
    return (SpiceRect){.left = r->left, .top = r->top, .right = r->right, .bottom = r->bottom};
}

static SvPoint point_from_trace(const SvTracePoint *p)
{
    return (SvPoint){.x = p->x, .y = p->y};
}

static gboolean convert_image(ImageSlot *slot, const SvTraceImage *in, const char *what,
                              GError **error)
{
    SvImage *out = &slot->image;
    memset(out, 0, sizeof(*out));
    out->id = in->id;
    out->width = in->width;
    out->height = in->height;

    switch (in->type) {
    case SV_TRACE_IMAGE_SURFACE:
        if (in->surface_id < 0) {
            g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                        "%s image names surface %d, expected a surface id >= 0", what,
                        in->surface_id);
            return FALSE;
        }
        out->type = SV_SOURCE_SURFACE;
        out->surface_id = (uint32_t)in->surface_id;
        return TRUE;
    case SV_TRACE_IMAGE_BITMAP:
        break;
    default:
        out->type = SV_SOURCE_OTHER;
        out->payload_bytes = in->data.total_bytes;
        return TRUE;
    }

    guint bpp = sv_bitmap_format_bits(in->bitmap_format);
    if (bpp == 0) {
        g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                    "%s bitmap has format %u, expected a SpiceBitmapFmt from 1 to 10", what,
                    in->bitmap_format);
        return FALSE;
    }
    if (in->bitmap_stride < 0 ||
        (uint64_t)in->bitmap_stride < ((uint64_t)in->bitmap_x * bpp + 7) / 8) {
        g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                    "%s bitmap stride %d is shorter than a %u-pixel line at %u bits per pixel",
                    what, in->bitmap_stride, in->bitmap_x, bpp);
        return FALSE;
    }
    uint64_t need = (uint64_t)in->bitmap_y * (uint64_t)in->bitmap_stride;
    if (in->data.total_bytes < need || need > G_MAXUINT32) {
        g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                    "%s bitmap holds %" G_GUINT64_FORMAT " bytes, expected %" G_GUINT64_FORMAT
                    " (%u lines of %d bytes, at most 4 GiB)",
                    what, (guint64)in->data.total_bytes, (guint64)need, in->bitmap_y,
                    in->bitmap_stride);
        return FALSE;
    }

    guint n = in->data.n_chunks;
    if (n > slot->chunks_capacity) {
        slot->chunks = g_realloc(slot->chunks, sizeof(SpiceChunks) + n * sizeof(SpiceChunk));
        slot->chunks_capacity = n;
    }
    if (slot->chunks == NULL) {
        slot->chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
        slot->chunks_capacity = 1;
    }
    slot->chunks->data_size = (uint32_t)in->data.total_bytes;
    slot->chunks->num_chunks = n;
    slot->chunks->flags =
        (in->bitmap_flags & SV_TRACE_BITMAP_UNSTABLE) ? SPICE_CHUNKS_FLAGS_UNSTABLE : 0;
    for (guint i = 0; i < n; i++) {
        /* The display and the encoders only read the pixels. */
        slot->chunks->chunk[i].data = (uint8_t *)in->data.chunks[i].data;
        slot->chunks->chunk[i].len = (uint32_t)in->data.chunks[i].size;
    }

    out->type = SV_SOURCE_BITMAP;
    out->bitmap.format = (uint8_t)in->bitmap_format;
    out->bitmap.flags =
        (in->bitmap_flags & SV_TRACE_BITMAP_TOP_DOWN) ? SPICE_BITMAP_FLAGS_TOP_DOWN : 0;
    out->bitmap.x = in->bitmap_x;
    out->bitmap.y = in->bitmap_y;
    out->bitmap.stride = (uint32_t)in->bitmap_stride;
    out->bitmap.data = slot->chunks;
    out->bitmap.palette = NULL;
    out->bitmap.palette_id = 0;
    if (in->has_palette) {
        guint entries = MIN(in->palette_n, G_MAXUINT16);
        if (entries > slot->palette_capacity || slot->palette == NULL) {
            slot->palette =
                g_realloc(slot->palette, sizeof(SpicePalette) + MAX(entries, 1) * sizeof(uint32_t));
            slot->palette_capacity = MAX(entries, 1);
        }
        slot->palette->unique = in->palette_unique;
        slot->palette->num_ents = (uint16_t)entries;
        if (entries > 0) {
            memcpy(slot->palette->ents, in->palette, entries * sizeof(uint32_t));
        }
        out->bitmap.palette = slot->palette;
        out->bitmap.palette_id = in->palette_unique;
    }
    return TRUE;
}

static gboolean convert_brush(SvCommandConverter *c, SvBrush *out, const SvTraceBrush *in,
                              GError **error)
{
    memset(out, 0, sizeof(*out));
    out->type = in->type;
    out->color = in->color;
    out->pattern_origin = point_from_trace(&in->pattern_origin);
    if (in->type == SV_TRACE_BRUSH_PATTERN && in->pattern != NULL) {
        if (!convert_image(&c->slots[SLOT_PATTERN], in->pattern, "pattern", error)) {
            return FALSE;
        }
        out->pattern = &c->slots[SLOT_PATTERN].image;
    }
    return TRUE;
}

static void convert_transform(int32_t out[6], const SvTraceBlob *blob)
{
    memset(out, 0, 6 * sizeof(int32_t));
    if (blob->size >= 6 * sizeof(int32_t)) {
        for (guint i = 0; i < 6; i++) {
            uint32_t v;
            memcpy(&v, blob->data + 4 * i, sizeof(v));
            out[i] = (int32_t)GUINT32_FROM_LE(v);
        }
    }
}

const SvDrawCommand *sv_command_converter_draw(SvCommandConverter *c, const SvTraceDrawable *d,
                                               GError **error)
{
    g_return_val_if_fail(c != NULL && d != NULL, NULL);
    if (d->compat) {
        g_set_error_literal(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                            "compat-layout drawable: the display model takes native drawables "
                            "only (spice-server replays them as native, reference 8 item 31)");
        return NULL;
    }
    if (d->surface_id < 0) {
        g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                    "drawable targets surface %d, expected a surface id >= 0", d->surface_id);
        return NULL;
    }
    SvDrawCommand *cmd = &c->cmd;
    memset(cmd, 0, sizeof(*cmd));
    cmd->type = d->type;
    cmd->surface_id = (uint32_t)d->surface_id;
    cmd->bbox = rect_from_trace(&d->bbox);
    cmd->effect = d->effect;
    cmd->clip_type = d->clip.type;
    if (d->clip.type == SV_TRACE_CLIP_RECTS) {
        if (d->clip.n_rects > c->clip_capacity) {
            c->clip_rects = g_renew(SpiceRect, c->clip_rects, d->clip.n_rects);
            c->clip_capacity = d->clip.n_rects;
        }
        for (guint i = 0; i < d->clip.n_rects; i++) {
            c->clip_rects[i] = rect_from_trace(&d->clip.rects[i]);
        }
        cmd->n_clip_rects = d->clip.n_rects;
        cmd->clip_rects = c->clip_rects;
    }
    for (guint i = 0; i < 3; i++) {
        cmd->surfaces_dest[i] = d->surfaces_dest[i];
        cmd->surfaces_rects[i] = rect_from_trace(&d->surfaces_rects[i]);
    }
    if (d->src_image != NULL) {
        if (!convert_image(&c->slots[SLOT_SRC], d->src_image, "source", error)) {
            return NULL;
        }
        cmd->src = &c->slots[SLOT_SRC].image;
    }
    cmd->src_area = rect_from_trace(&d->src_area);
    if (!convert_brush(c, &cmd->brush, &d->brush, error)) {
        return NULL;
    }
    cmd->rop_descriptor = d->rop_descriptor;
    cmd->rop3 = d->rop3;
    cmd->scale_mode = d->scale_mode;
    if (d->mask.bitmap != NULL) {
        if (!convert_image(&c->slots[SLOT_MASK], d->mask.bitmap, "mask", error)) {
            return NULL;
        }
        cmd->mask = &c->slots[SLOT_MASK].image;
        cmd->mask_flags = d->mask.flags;
        cmd->mask_pos = point_from_trace(&d->mask.origin);
    }
    cmd->src_pos = point_from_trace(&d->src_pos);
    cmd->src_color = d->src_color;
    cmd->true_color = d->true_color;
    cmd->alpha_flags = d->alpha_flags;
    cmd->alpha = d->alpha;
    cmd->composite_flags = d->composite_flags;
    cmd->has_src_transform = d->has_src_transform;
    if (d->has_src_transform) {
        convert_transform(cmd->src_transform, &d->src_transform);
    }
    cmd->has_mask_transform = d->has_mask_transform;
    if (d->has_mask_transform) {
        convert_transform(cmd->mask_transform, &d->mask_transform);
    }
    cmd->src_origin = point_from_trace(&d->src_origin);
    cmd->mask_origin = point_from_trace(&d->mask_origin);
    if (d->type == SV_TRACE_DRAW_STROKE) {
        cmd->payload_bytes = d->path.total_bytes + d->style.size;
    } else if (d->type == SV_TRACE_DRAW_TEXT) {
        cmd->payload_bytes = d->string.total_bytes;
    }
    return cmd;
}

static void prefix_error(GError **error, const SvTraceEvent *ev)
{
    if (error != NULL && *error != NULL) {
        g_prefix_error(error, "offset %" G_GUINT64_FORMAT " (event %" G_GUINT64_FORMAT ", %s): ",
                       (guint64)ev->offset, (guint64)ev->counter,
                       sv_trace_event_type_name(ev->kind, ev->type));
    }
}

gboolean sv_trace_apply_event(SvDisplay *display, SvCommandConverter *converter,
                              const SvTraceEvent *ev, int64_t now_ns, SvApplied *applied,
                              uint64_t *seq_out, GError **error)
{
    g_return_val_if_fail(display != NULL && converter != NULL && ev != NULL, FALSE);
    SvApplied what = SV_APPLIED_NOTHING;
    gboolean ok = TRUE;

    if (ev->kind == SV_TRACE_KIND_COMMAND) {
        switch (ev->type) {
        case SV_TRACE_CMD_DRAW: {
            const SvDrawCommand *cmd = sv_command_converter_draw(converter, &ev->draw, error);
            ok = cmd != NULL && sv_display_draw(display, now_ns, cmd, seq_out, error);
            what = SV_APPLIED_DRAW;
            break;
        }
        case SV_TRACE_CMD_UPDATE: {
            SpiceRect area = rect_from_trace(&ev->update.area);
            if (ev->update.surface_id < 0) {
                g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                            "update of surface %d, expected a surface id >= 0",
                            ev->update.surface_id);
                ok = FALSE;
            } else {
                ok = sv_display_update_area(display, now_ns, (uint32_t)ev->update.surface_id, &area,
                                            error);
            }
            what = SV_APPLIED_UPDATE;
            break;
        }
        case SV_TRACE_CMD_SURFACE: {
            const SvTraceSurfaceCmd *s = &ev->surface;
            if (s->surface_id < 0) {
                g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                            "surface command for surface %d, expected an id >= 0", s->surface_id);
                ok = FALSE;
            } else if (s->type == SV_TRACE_SURFACE_CREATE) {
                const uint8_t *data = (s->flags & SV_TRACE_SURFACE_KEEP_DATA) ? s->data.data : NULL;
                ok = sv_display_create_surface(display, now_ns, (uint32_t)s->surface_id, s->width,
                                               s->height, s->format, FALSE, data, s->stride, error);
            } else {
                ok = sv_display_destroy_surface(display, now_ns, (uint32_t)s->surface_id, error);
            }
            what = SV_APPLIED_SURFACE;
            break;
        }
        default:
            break;
        }
    } else if (ev->kind == SV_TRACE_KIND_MESSAGE) {
        switch (ev->type) {
        case SV_TRACE_MSG_CREATE_PRIMARY_SURFACE:
        case SV_TRACE_MSG_CREATE_PRIMARY_SURFACE_ASYNC:
            if (ev->primary.present) {
                ok = sv_display_create_surface(display, now_ns, 0, ev->primary.width,
                                               ev->primary.height, ev->primary.format, TRUE,
                                               ev->primary.data.data, ev->primary.stride, error);
                what = SV_APPLIED_SURFACE;
            }
            break;
        case SV_TRACE_MSG_DESTROY_PRIMARY_SURFACE:
            if (sv_display_get_primary(display) != NULL) {
                ok = sv_display_destroy_surface(display, now_ns, 0, error);
                what = SV_APPLIED_SURFACE;
            }
            break;
        case SV_TRACE_MSG_DESTROY_SURFACES:
            sv_display_destroy_surfaces(display, now_ns);
            what = SV_APPLIED_SURFACE;
            break;
        default:
            /* Update messages carry no area in the recording; wakeups,
             * memslots, cursor resets and monitor configs do not change what
             * the display channel sends. */
            break;
        }
    }
    if (!ok) {
        prefix_error(error, ev);
    }
    if (applied != NULL) {
        *applied = what;
    }
    return ok;
}
