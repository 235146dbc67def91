/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The display model (reference 5.7-5.13): surfaces with their canvases,
 * one flat z-ordered drawable list per surface with spice's replacement,
 * coverage and overlap rules, and the stream decisions the detector takes
 * at the points spice takes them. Agents live in agent.c, pipes in pipe.c.
 */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <spice/qxl_dev.h>

#include "server-private.h"

#define DEFAULT_MAX_PIPE_SIZE 50        /* MAX_PIPE_SIZE: stop pulling commands above it */
#define DEFAULT_MM_TIME_LATENCY_MS 400  /* MM_TIME_DELTA */
#define DEFAULT_MAX_TREE_DRAWABLES 1000 /* spice's drawable pool (NUM_DRAWABLES) */
#define MAX_SURFACE_SIDE 16384
#define DEFAULT_JITTER_MARGIN_MS 20 /* INTERACTIVE policy (docs/latency.md) */
#define DEFAULT_LINK_BUDGET_MS 10   /* INTERACTIVE policy (docs/latency.md) */
#define DEFAULT_LINK_SHARE_PCT 75   /* INTERACTIVE policy (docs/latency.md) */

G_DEFINE_QUARK(sv - display - error - quark, sv_display_error)

void sv_display_config_init(SvDisplayConfig *config)
{
    g_return_if_fail(config != NULL);
    *config = (SvDisplayConfig){
        .max_pipe_size = DEFAULT_MAX_PIPE_SIZE,
        .mm_time_latency_ms = DEFAULT_MM_TIME_LATENCY_MS,
        .latency_policy = SV_LATENCY_POLICY_SPICE,
        .max_tree_drawables = DEFAULT_MAX_TREE_DRAWABLES,
        .jitter_margin_ms = DEFAULT_JITTER_MARGIN_MS,
        .interactive_link_budget_ms = DEFAULT_LINK_BUDGET_MS,
        .interactive_link_share_pct = DEFAULT_LINK_SHARE_PCT,
    };
    sv_stream_detector_config_init(&config->detector);
    /* spice reads SPICE_BIT_RATE (Mibit/s) when a stream starts (6.4). */
    const char *env = g_getenv("SPICE_BIT_RATE");
    if (env != NULL) {
        char *end = NULL;
        double v = g_ascii_strtod(env, &end);
        if (end != env && v > 0) {
            config->spice_bit_rate_mbps = v;
        }
    }
}

int64_t sv_cpu_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
}

void sv_display_emit(SvDisplay *display, SvDisplayEvent *event)
{
    event->time_ns = display->now_ns;
    if (display->event_func) {
        display->event_func(display->event_opaque, event);
    }
}

static SvDisplayEvent event_init(SvDisplayEventType type, SvDisplayClient *client, int stream_id)
{
    return (SvDisplayEvent){.type = type, .client = client, .stream_id = stream_id};
}

static inline SvDrawable *drawable_of(SvStreamDetectorDrawable *sd)
{
    return sd ? (SvDrawable *)((char *)sd - offsetof(SvDrawable, sd)) : NULL;
}

static void set_now(SvDisplay *display, int64_t now_ns)
{
    display->now_ns = now_ns;
}

/* ---- display ------------------------------------------------------------ */

static void surface_free(gpointer data);

SvDisplay *sv_display_new(const SvDisplayConfig *config, GError **error)
{
    SvDisplayConfig defaults;
    if (config == NULL) {
        sv_display_config_init(&defaults);
        config = &defaults;
    }
    g_autoptr(SvVideoCodecs) codecs = NULL;
    if (config->video_codecs != NULL) {
        codecs = sv_video_codecs_new();
        if (sv_video_codecs_parse(codecs, config->video_codecs, NULL, error) < 0) {
            return NULL;
        }
    } else {
        codecs = sv_video_codecs_new_default();
    }
    if (config->latency_policy != SV_LATENCY_POLICY_SPICE &&
        config->latency_policy != SV_LATENCY_POLICY_INTERACTIVE) {
        g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_CONFIG, "unknown latency policy %d",
                    (int)config->latency_policy);
        return NULL;
    }
    SvStreamDetector *detector = sv_stream_detector_new(&config->detector, error);
    if (detector == NULL) {
        return NULL;
    }
    SvDisplay *display = g_new0(SvDisplay, 1);
    display->config = *config;
    display->video_codecs_string = g_strdup(config->video_codecs);
    display->config.video_codecs = display->video_codecs_string;
    if (display->config.max_pipe_size == 0) {
        display->config.max_pipe_size = DEFAULT_MAX_PIPE_SIZE;
    }
    if (display->config.max_tree_drawables == 0) {
        display->config.max_tree_drawables = DEFAULT_MAX_TREE_DRAWABLES;
    }
    display->codecs = g_steal_pointer(&codecs);
    display->detector = detector;
    display->max_streams = sv_stream_detector_get_config(detector)->max_streams;
    display->surfaces = g_hash_table_new_full(NULL, NULL, NULL, surface_free);
    display->clients = g_ptr_array_new();
    display->mm_time_latency_ms = config->mm_time_latency_ms;
    display->rand = g_rand_new_with_seed(config->random_seed);
    display->superseded = g_array_new(FALSE, FALSE, sizeof(SvDrawableLink));
    display->pixel_pool = g_array_new(FALSE, FALSE, sizeof(SvPixelBuffer));
    sv_latency_init(display);
    return display;
}

static void drawable_remove_from_tree(SvDisplay *display, SvDrawable *d, gboolean tell_detector);
static void client_free(SvDisplay *display, SvDisplayClient *client);

void sv_display_free(SvDisplay *display)
{
    if (display == NULL) {
        return;
    }
    while (display->clients->len > 0) {
        SvDisplayClient *client =
            g_ptr_array_steal_index(display->clients, display->clients->len - 1);
        client_free(display, client);
    }
    /* Trees hold the last references of most drawables. */
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, display->surfaces);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        SvSurface *surface = value;
        while (surface->tree.head) {
            drawable_remove_from_tree(display, surface->tree.head->data, TRUE);
        }
    }
    /* Drawables still held by messages outlive the display. */
    for (GList *l = display->live; l; l = l->next) {
        ((SvDrawable *)l->data)->display = NULL;
    }
    g_hash_table_destroy(display->surfaces);
    g_ptr_array_free(display->clients, TRUE);
    sv_stream_detector_free(display->detector);
    sv_video_codecs_free(display->codecs);
    g_rand_free(display->rand);
    g_array_free(display->superseded, TRUE);
    for (guint i = 0; i < display->pixel_pool->len; i++) {
        g_free(g_array_index(display->pixel_pool, SvPixelBuffer, i).data);
    }
    g_array_free(display->pixel_pool, TRUE);
    g_free(display->lz4_buf);
    g_free(display->video_codecs_string);
    g_free(display);
}

void sv_display_set_event_func(SvDisplay *display, SvDisplayEventFunc func, void *opaque)
{
    g_return_if_fail(display != NULL);
    display->event_func = func;
    display->event_opaque = opaque;
}

const SvDisplayConfig *sv_display_get_config(const SvDisplay *display)
{
    g_return_val_if_fail(display != NULL, NULL);
    return &display->config;
}

SvStreamDetector *sv_display_get_detector(SvDisplay *display)
{
    g_return_val_if_fail(display != NULL, NULL);
    return display->detector;
}

void sv_display_set_codecs_for_testing(SvDisplay *display, const SvVideoCodecs *codecs)
{
    sv_video_codecs_free(display->codecs);
    display->codecs = sv_video_codecs_copy(codecs);
}

/* ---- drawables ------------------------------------------------------------ */

/* Freed pixel buffers kept for the next copies: a video's frames have one
 * size, and reusing their pages avoids a page fault per 4 KiB per frame. */
#define PIXEL_POOL_SIZE 8

static uint8_t *pixels_alloc(SvDisplay *display, size_t size, size_t *cap_out)
{
    for (guint i = 0; i < display->pixel_pool->len; i++) {
        SvPixelBuffer *b = &g_array_index(display->pixel_pool, SvPixelBuffer, i);
        if (b->size >= size && b->size <= size + size / 8) {
            uint8_t *data = b->data;
            *cap_out = b->size;
            g_array_remove_index_fast(display->pixel_pool, i);
            return data;
        }
    }
    *cap_out = size;
    return g_malloc(size);
}

static void pixels_free(SvDisplay *display, uint8_t *data, size_t cap)
{
    if (data == NULL) {
        return;
    }
    /* Only large buffers are worth keeping. */
    if (display && cap >= 65536 && display->pixel_pool->len < PIXEL_POOL_SIZE) {
        SvPixelBuffer b = {data, cap};
        g_array_append_val(display->pixel_pool, b);
        return;
    }
    g_free(data);
}

static SvImageCopy *image_copy(SvDisplay *display, const SvImage *src)
{
    if (src == NULL) {
        return NULL;
    }
    SvImageCopy *copy = g_new0(SvImageCopy, 1);
    copy->image = *src;
    if (src->type == SV_SOURCE_BITMAP) {
        const SpiceBitmap *bm = &src->bitmap;
        uint64_t size = 0;
        if (bm->data) {
            for (uint32_t i = 0; i < bm->data->num_chunks; i++) {
                size += bm->data->chunk[i].len;
            }
        }
        copy->pixels = pixels_alloc(display, MAX(size, 1), &copy->pixels_cap);
        uint64_t off = 0;
        if (bm->data) {
            for (uint32_t i = 0; i < bm->data->num_chunks; i++) {
                if (bm->data->chunk[i].len) {
                    memcpy(copy->pixels + off, bm->data->chunk[i].data, bm->data->chunk[i].len);
                }
                off += bm->data->chunk[i].len;
            }
        }
        copy->chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
        copy->chunks->data_size = (uint32_t)size;
        copy->chunks->num_chunks = 1;
        copy->chunks->chunk[0] = (SpiceChunk){copy->pixels, (uint32_t)size};
        copy->image.bitmap.data = copy->chunks;
        if (bm->palette) {
            size_t psize = sizeof(SpicePalette) + (size_t)bm->palette->num_ents * sizeof(uint32_t);
            copy->palette = g_malloc(psize);
            memcpy(copy->palette, bm->palette, psize);
            copy->image.bitmap.palette = copy->palette;
        }
    } else {
        copy->image.bitmap.data = NULL;
        copy->image.bitmap.palette = NULL;
    }
    return copy;
}

static void image_copy_free(SvDisplay *display, SvImageCopy *copy)
{
    if (copy == NULL) {
        return;
    }
    pixels_free(display, copy->pixels, copy->pixels_cap);
    g_free(copy->chunks);
    g_free(copy->palette);
    g_free(copy);
}

void sv_drawable_ref(SvDrawable *d)
{
    d->refs++;
}

static void process_decisions(SvDisplay *display, const SvStreamDecision *decisions, guint n);

void sv_drawable_unref(SvDrawable *d)
{
    g_assert(d->refs > 0);
    if (--d->refs > 0) {
        return;
    }
    SvDisplay *display = d->display;
    if (display) {
        const SvStreamDecision *decisions = NULL;
        guint n = sv_stream_detector_release(display->detector, &d->sd, &decisions);
        process_decisions(display, decisions, n);
        display->live = g_list_remove_link(display->live, &d->live_link);
    }
    g_assert(d->links == NULL || d->links->len == 0);
    if (d->links) {
        g_array_free(d->links, TRUE);
    }
    pixman_region32_fini(&d->region);
    image_copy_free(display, d->src);
    image_copy_free(display, d->mask);
    image_copy_free(display, d->pattern);
    g_free(d->clip_rects);
    g_free(d);
}

static SvDrawable *drawable_new(SvDisplay *display, int64_t now_ns, const SvDrawCommand *cmd)
{
    SvDrawable *d = g_new0(SvDrawable, 1);
    d->refs = 1;
    d->display = display;
    d->live_link.data = d;
    display->live = g_list_concat(&d->live_link, display->live);
    d->seq = display->next_seq++;
    d->time_ns = now_ns;
    d->mm_time = sv_display_mm_time(display, now_ns);
    d->generation = display->generation;
    d->cmd = *cmd;
    d->src = image_copy(display, cmd->src);
    d->mask = image_copy(display, cmd->mask);
    d->pattern = image_copy(display, cmd->brush.pattern);
    d->cmd.src = d->src ? &d->src->image : NULL;
    d->cmd.mask = d->mask ? &d->mask->image : NULL;
    d->cmd.brush.pattern = d->pattern ? &d->pattern->image : NULL;
    if (cmd->clip_type == SV_CLIP_RECTS && cmd->n_clip_rects > 0 && cmd->clip_rects) {
        d->clip_rects = g_memdup2(cmd->clip_rects, sizeof(SpiceRect) * cmd->n_clip_rects);
    } else {
        d->cmd.n_clip_rects = 0;
    }
    d->cmd.clip_rects = d->clip_rects;
    for (int i = 0; i < 3; i++) {
        if (cmd->surfaces_dest[i] >= 0) {
            d->depends_on_surfaces = TRUE;
        }
    }
    pixman_region32_init(&d->region);

    SvStreamDetectorDrawable *sd = &d->sd;
    sd->creation_time_ns = now_ns;
    sd->bbox = cmd->bbox;
    sd->surface_id = cmd->surface_id;
    sd->type = (uint8_t)cmd->type;
    sd->effect = (uint8_t)cmd->effect;
    sd->rop_descriptor = (uint8_t)cmd->rop_descriptor;
    sd->has_mask = cmd->mask != NULL;
    sd->source_type = d->src ? d->src->image.type : SV_SOURCE_NONE;
    sd->src_area = cmd->src_area;
    sd->bitmap = (d->src && d->src->image.type == SV_SOURCE_BITMAP) ? &d->src->image.bitmap : NULL;
    return d;
}

SvDrawable *sv_drawable_get_current(SvDisplay *display, guint stream_id)
{
    SvStreamInfo info;
    if (!sv_stream_detector_get_stream(display->detector, stream_id, &info)) {
        return NULL;
    }
    return drawable_of(info.current);
}

static void region_from_rect(pixman_region32_t *r, const SpiceRect *rect)
{
    if (rect->right > rect->left && rect->bottom > rect->top) {
        /* From the corners: right - left overflows an int for guest
         * rectangles wider than INT32_MAX. */
        pixman_box32_t box = {rect->left, rect->top, rect->right, rect->bottom};
        pixman_region32_init_rects(r, &box, 1);
    } else {
        pixman_region32_init(r);
    }
}

/* COPY_BITS: the area read, src_pos with the bbox's size, clamped to int32
 * (a guest's bbox and src_pos may be anywhere). */
static SpiceRect copy_bits_source(const SvDrawCommand *cmd)
{
    int64_t w = (int64_t)cmd->bbox.right - cmd->bbox.left;
    int64_t h = (int64_t)cmd->bbox.bottom - cmd->bbox.top;
    return (SpiceRect){cmd->src_pos.x, cmd->src_pos.y,
                       (int32_t)CLAMP(cmd->src_pos.x + w, (int64_t)INT32_MIN, (int64_t)INT32_MAX),
                       (int32_t)CLAMP(cmd->src_pos.y + h, (int64_t)INT32_MIN, (int64_t)INT32_MAX)};
}

/* The drawable's region: bbox ∩ its clip rectangles ∩ the surface. */
static void drawable_compute_region(SvDrawable *d, SvSurface *surface)
{
    pixman_region32_t r;
    region_from_rect(&r, &d->cmd.bbox);
    if (d->cmd.clip_type == SV_CLIP_RECTS) {
        pixman_region32_t clip;
        pixman_region32_init(&clip);
        for (uint32_t i = 0; i < d->cmd.n_clip_rects; i++) {
            pixman_region32_t one;
            region_from_rect(&one, &d->clip_rects[i]);
            pixman_region32_union(&clip, &clip, &one);
            pixman_region32_fini(&one);
        }
        pixman_region32_intersect(&r, &r, &clip);
        pixman_region32_fini(&clip);
    }
    pixman_region32_intersect_rect(&r, &r, 0, 0, sv_canvas_get_width(surface->canvas),
                                   sv_canvas_get_height(surface->canvas));
    pixman_region32_copy(&d->region, &r);
    pixman_region32_fini(&r);
}

static void drawable_remove_from_tree(SvDisplay *display, SvDrawable *d, gboolean tell_detector)
{
    if (!d->in_tree) {
        return;
    }
    g_queue_unlink(&d->surface->tree, &d->tree_link);
    d->in_tree = FALSE;
    d->surface = NULL;
    display->stats.tree_drawables--;
    if (tell_detector && display) {
        sv_stream_detector_remove(display->detector, &d->sd);
    }
    sv_drawable_unref(d);
}

/* Removes every DRAW item of @d from every pipe; the unsent ones are
 * remembered for the superseded-drop fix (reference 8 item 10b). */
static void drawable_remove_from_pipes(SvDisplay *display, SvDrawable *d, gboolean remember)
{
    while (d->links && d->links->len > 0) {
        SvDrawableLink link = g_array_index(d->links, SvDrawableLink, d->links->len - 1);
        if (remember) {
            SvDrawableLink s = {.client = link.client, .item = (SvPipeItem *)d};
            g_array_append_val(display->superseded, s);
        }
        sv_pipe_remove(link.client, link.item);
    }
}

static gboolean was_superseded(SvDisplay *display, SvDrawable *d, SvDisplayClient *client)
{
    for (guint i = 0; i < display->superseded->len; i++) {
        SvDrawableLink *s = &g_array_index(display->superseded, SvDrawableLink, i);
        if (s->client == client && s->item == (SvPipeItem *)d) {
            return TRUE;
        }
    }
    return FALSE;
}

/* ---- surfaces --------------------------------------------------------------- */

static void surface_drop_pending(SvSurface *surface);

static void surface_free(gpointer data)
{
    SvSurface *surface = data;
    g_assert(surface->tree.length == 0);
    surface_drop_pending(surface);
    sv_canvas_free(surface->canvas);
    g_free(surface);
}

static SvSurface *surface_lookup(const SvDisplay *display, uint32_t id)
{
    return g_hash_table_lookup(display->surfaces, GUINT_TO_POINTER(id));
}

static SvCanvas *canvas_lookup(void *opaque, uint32_t surface_id)
{
    SvSurface *surface = surface_lookup(opaque, surface_id);
    return surface ? surface->canvas : NULL;
}

/* ---- lazy rendering ---------------------------------------------------------- */

static void render_now(SvDisplay *display, SvSurface *surface, SvDrawable *d)
{
    int64_t t0 = sv_cpu_time_ns();
    sv_canvas_draw(surface->canvas, &d->cmd, canvas_lookup, display);
    display->stats.render_ns += (uint64_t)(sv_cpu_time_ns() - t0);
}

void sv_surface_flush(SvDisplay *display, SvSurface *surface)
{
    GList *link;
    while ((link = g_queue_pop_head_link(&surface->pending)) != NULL) {
        SvDrawable *d = link->data;
        d->pending_surface = NULL;
        render_now(display, surface, d);
        sv_drawable_unref(d);
    }
}

/* @d will never show: a later opaque drawable covers all it would draw. */
static void pending_drop(SvDrawable *d)
{
    if (d->pending_surface == NULL) {
        return;
    }
    g_queue_unlink(&d->pending_surface->pending, &d->pending_link);
    d->pending_surface = NULL;
    sv_drawable_unref(d);
}

static void pending_push(SvSurface *surface, SvDrawable *d)
{
    sv_drawable_ref(d);
    d->pending_link.data = d;
    d->pending_surface = surface;
    g_queue_push_tail_link(&surface->pending, &d->pending_link);
}

static void surface_drop_pending(SvSurface *surface)
{
    while (surface->pending.head != NULL) {
        pending_drop(surface->pending.head->data);
    }
}

static void queue_surface_create(SvDisplayClient *client, SvSurface *surface, int64_t now_ns)
{
    SvPipeItem *item = sv_pipe_item_new(ITEM_SURFACE_CREATE, now_ns);
    item->surface_id = surface->id;
    item->width = sv_canvas_get_width(surface->canvas);
    item->height = sv_canvas_get_height(surface->canvas);
    item->format = surface->format;
    item->value = surface->primary;
    sv_pipe_push(client, item);
}

gboolean sv_display_create_surface(SvDisplay *display, int64_t now_ns, uint32_t surface_id,
                                   uint32_t width, uint32_t height, uint32_t format,
                                   gboolean primary, const uint8_t *data, int32_t stride,
                                   GError **error)
{
    g_return_val_if_fail(display != NULL, FALSE);
    set_now(display, now_ns);
    if (surface_lookup(display, surface_id)) {
        g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                    "surface %u already exists", surface_id);
        return FALSE;
    }
    if (primary && display->primary) {
        g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                    "a primary surface (%u) already exists", display->primary->id);
        return FALSE;
    }
    if (data != NULL) {
        guint bpp = format == SPICE_SURFACE_FMT_16_555 || format == SPICE_SURFACE_FMT_16_565 ? 16
                    : format == SPICE_SURFACE_FMT_8_A                                        ? 8
                    : format == SPICE_SURFACE_FMT_1_A                                        ? 1
                                                                                             : 32;
        uint64_t line = ((uint64_t)width * bpp + 7) / 8;
        if ((uint64_t)ABS((int64_t)stride) < line) {
            g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                        "surface %u: stride %d is shorter than a line of %u pixels "
                        "(%" G_GUINT64_FORMAT " bytes)",
                        surface_id, stride, width, (guint64)line);
            return FALSE;
        }
    }
    g_autoptr(GError) canvas_error = NULL;
    SvCanvas *canvas = sv_canvas_new(width, height, format, &canvas_error);
    if (canvas == NULL) {
        /* A guest's absurd size is a bad command, in the display's domain. */
        g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND, "surface %u: %s",
                    surface_id, canvas_error->message);
        return FALSE;
    }
    if (data) {
        sv_canvas_load(canvas, data, stride, format);
    }
    SvSurface *surface = g_new0(SvSurface, 1);
    surface->id = surface_id;
    surface->primary = primary;
    surface->canvas = canvas;
    surface->format = format;
    g_queue_init(&surface->tree);
    g_hash_table_insert(display->surfaces, GUINT_TO_POINTER(surface_id), surface);
    if (primary) {
        display->primary = surface;
    }
    for (guint i = 0; i < display->clients->len; i++) {
        queue_surface_create(display->clients->pdata[i], surface, now_ns);
    }
    return TRUE;
}

static void surface_clear_tree(SvDisplay *display, SvSurface *surface, gboolean from_pipes)
{
    while (surface->tree.head) {
        SvDrawable *d = surface->tree.head->data;
        sv_drawable_ref(d);
        drawable_remove_from_tree(display, d, TRUE);
        if (from_pipes) {
            drawable_remove_from_pipes(display, d, FALSE);
        }
        sv_drawable_unref(d);
    }
}

static void destroy_surface(SvDisplay *display, SvSurface *surface, gboolean queue_destroy)
{
    surface_drop_pending(surface);
    surface_clear_tree(display, surface, TRUE);
    if (surface->primary) {
        const SvStreamDecision *decisions = NULL;
        guint n = sv_stream_detector_primary_destroyed(display->detector, &decisions);
        process_decisions(display, decisions, n);
        display->primary = NULL;
    }
    if (queue_destroy) {
        for (guint i = 0; i < display->clients->len; i++) {
            SvPipeItem *item = sv_pipe_item_new(ITEM_SURFACE_DESTROY, display->now_ns);
            item->surface_id = surface->id;
            sv_pipe_push(display->clients->pdata[i], item);
        }
    }
    g_hash_table_remove(display->surfaces, GUINT_TO_POINTER(surface->id));
}

gboolean sv_display_destroy_surface(SvDisplay *display, int64_t now_ns, uint32_t surface_id,
                                    GError **error)
{
    g_return_val_if_fail(display != NULL, FALSE);
    set_now(display, now_ns);
    SvSurface *surface = surface_lookup(display, surface_id);
    if (surface == NULL) {
        g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                    "destroy of unknown surface %u", surface_id);
        return FALSE;
    }
    destroy_surface(display, surface, TRUE);
    return TRUE;
}

void sv_display_destroy_surfaces(SvDisplay *display, int64_t now_ns)
{
    g_return_if_fail(display != NULL);
    set_now(display, now_ns);
    /* Streams go without their own STREAM_DESTROY: one DESTROY_ALL says it. */
    display->resetting = TRUE;
    const SvStreamDecision *decisions = NULL;
    guint n = sv_stream_detector_stop_all(display->detector, &decisions);
    process_decisions(display, decisions, n);
    display->resetting = FALSE;
    for (guint i = 0; i < display->clients->len; i++) {
        sv_pipe_push(display->clients->pdata[i], sv_pipe_item_new(ITEM_STREAM_DESTROY_ALL, now_ns));
    }
    GList *surfaces = g_hash_table_get_values(display->surfaces);
    for (GList *l = surfaces; l; l = l->next) {
        destroy_surface(display, l->data, TRUE);
    }
    g_list_free(surfaces);
}

/* ---- stream decisions -------------------------------------------------------- */

/* A frame takes over a stream from @prev (reference 6.6): every client
 * whose pipe still holds @prev unsent hears of a server drop, unless both
 * were fetched in the same pass; @prev leaves the pipes. */
static void frame_supersedes(SvDisplay *display, guint stream_id, SvDrawable *prev, SvDrawable *c)
{
    for (guint i = 0; i < display->clients->len; i++) {
        SvDisplayClient *client = display->clients->pdata[i];
        SvPipeItem *item = sv_pipe_find_drawable(client, prev);
        if (item != NULL && prev->read_by_later) {
            /* A later drawing reads it: it is sent, not superseded. */
            continue;
        }
        /* INTERACTIVE (latest frame wins): every unsent frame superseded
         * is a drop, whatever its pass or region (docs/latency.md). */
        gboolean interactive = sv_latency_is_interactive(display);
        gboolean unsent =
            item != NULL || ((display->config.report_superseded_drops || interactive) &&
                             was_superseded(display, prev, client));
        /* 5.7 step 1: a frame replacing a stream's drawable takes its place. */
        if (item && prev == display->replacing && display->replace_at_old_position &&
            sv_pipe_find_drawable(client, c) == NULL) {
            sv_pipe_add_drawable(client, c, item, display->now_ns);
        }
        if (!unsent || (prev->generation == c->generation && !interactive)) {
            if (item) {
                sv_pipe_remove(client, item);
            }
            continue;
        }
        SvAgent *agent = stream_id < display->max_streams ? client->agents[stream_id] : NULL;
        gboolean notified = FALSE;
        if (agent && agent->encoder) {
            notified = sv_latency_superseded(display, client, agent);
        }
        SvDisplayEvent ev = event_init(SV_DISPLAY_EVENT_SERVER_DROP, client, (int)stream_id);
        ev.drawable_seq = prev->seq;
        ev.value = notified;
        ev.text = item ? "superseded in the pipe" : "superseded by a covering frame";
        sv_display_emit(display, &ev);
        if (item) {
            sv_pipe_remove(client, item);
        }
    }
}

static void process_decisions(SvDisplay *display, const SvStreamDecision *decisions, guint n)
{
    if (n == 0) {
        return;
    }
    /* Nested calls (a drawable freed while handling one) reuse the
     * detector's array: work on a copy. */
    SvStreamDecision *copy = g_memdup2(decisions, sizeof(*decisions) * n);
    for (guint k = 0; k < n; k++) {
        const SvStreamDecision *dec = &copy[k];
        SvDrawable *d = drawable_of(dec->drawable);
        switch (dec->kind) {
        case SV_STREAM_DECISION_CREATED: {
            display->stats.streams_created++;
            SvDisplayEvent ev =
                event_init(SV_DISPLAY_EVENT_STREAM_CREATED, NULL, (int)dec->stream_id);
            ev.drawable_seq = d->seq;
            ev.width = dec->width;
            ev.height = dec->height;
            ev.dest = dec->dest;
            ev.input_fps = dec->input_fps;
            ev.reason = dec->reason;
            sv_display_emit(display, &ev);
            for (guint i = 0; i < display->clients->len; i++) {
                SvDisplayClient *client = display->clients->pdata[i];
                g_assert(client->agents[dec->stream_id] == NULL);
                client->agents[dec->stream_id] =
                    sv_agent_new(display, client, dec->stream_id, d, dec->streams_area);
            }
            break;
        }
        case SV_STREAM_DECISION_ATTACHED:
            if (dec->previous && dec->possible_server_drop) {
                frame_supersedes(display, dec->stream_id, drawable_of(dec->previous), d);
            }
            break;
        case SV_STREAM_DECISION_DETACHED: {
            SvDisplayEvent ev =
                event_init(SV_DISPLAY_EVENT_STREAM_DETACHED, NULL, (int)dec->stream_id);
            ev.drawable_seq = d ? d->seq : 0;
            ev.reason = dec->reason;
            sv_display_emit(display, &ev);
            if (dec->upgrade == SV_STREAM_UPGRADE_LOSSLESS) {
                for (guint i = 0; i < display->clients->len; i++) {
                    SvDisplayClient *client = display->clients->pdata[i];
                    SvAgent *agent = client->agents[dec->stream_id];
                    if (agent) {
                        sv_agent_detach(display, agent, d, !display->resetting);
                    }
                }
            }
            break;
        }
        case SV_STREAM_DECISION_STOPPED: {
            display->stats.streams_stopped++;
            SvDisplayEvent ev =
                event_init(SV_DISPLAY_EVENT_STREAM_STOPPED, NULL, (int)dec->stream_id);
            ev.reason = dec->reason;
            sv_display_emit(display, &ev);
            for (guint i = 0; i < display->clients->len; i++) {
                SvDisplayClient *client = display->clients->pdata[i];
                SvAgent *agent = client->agents[dec->stream_id];
                if (agent) {
                    client->agents[dec->stream_id] = NULL;
                    sv_agent_stop(display, agent);
                    sv_agent_unref(agent);
                }
            }
            break;
        }
        }
    }
    g_free(copy);
}

/* Whether any agent of @stream_id shows video in @region, or its current
 * drawable's region meets it. */
static gboolean stream_behind(SvDisplay *display, guint stream_id, pixman_region32_t *region)
{
    SvStreamInfo info;
    if (!sv_stream_detector_get_stream(display->detector, stream_id, &info)) {
        return FALSE;
    }
    pixman_region32_t tmp;
    pixman_region32_init(&tmp);
    gboolean hit = FALSE;
    for (guint i = 0; i < display->clients->len && !hit; i++) {
        SvAgent *agent = ((SvDisplayClient *)display->clients->pdata[i])->agents[stream_id];
        if (agent) {
            pixman_region32_intersect(&tmp, &agent->vis_region, region);
            hit = pixman_region32_not_empty(&tmp);
        }
    }
    SvDrawable *current = drawable_of(info.current);
    if (!hit && current) {
        pixman_region32_intersect(&tmp, &current->region, region);
        hit = pixman_region32_not_empty(&tmp);
    }
    pixman_region32_fini(&tmp);
    return hit;
}

/* Detaches (with upgrade) every stream shown behind @region (5.13). */
static void detach_streams_behind(SvDisplay *display, pixman_region32_t *region,
                                  const SvDrawable *except)
{
    for (guint id = 0; id < display->max_streams; id++) {
        if (except && except->sd.state.stream_id == (int)id) {
            continue;
        }
        if (stream_behind(display, id, region)) {
            const SvStreamDecision *decisions = NULL;
            guint n = sv_stream_detector_detach(display->detector, id, &decisions);
            process_decisions(display, decisions, n);
        }
    }
}

/* 5.12: an opaque drawable over other streams' visible areas. */
static void streams_update_visible(SvDisplay *display, SvDrawable *c)
{
    if (sv_stream_detector_get_n_streams(display->detector) == 0) {
        return;
    }
    pixman_region32_t tmp;
    pixman_region32_init(&tmp);
    for (guint id = 0; id < display->max_streams; id++) {
        if (c->sd.state.stream_id == (int)id) {
            continue;
        }
        for (guint i = 0; i < display->clients->len; i++) {
            SvDisplayClient *client = display->clients->pdata[i];
            SvAgent *agent = client->agents[id];
            if (agent == NULL) {
                continue;
            }
            pixman_region32_intersect(&tmp, &agent->vis_region, &c->region);
            if (pixman_region32_not_empty(&tmp)) {
                pixman_region32_subtract(&agent->clip, &agent->clip, &c->region);
                pixman_region32_subtract(&agent->vis_region, &agent->vis_region, &c->region);
                sv_pipe_queue_clip(client, id, &agent->clip, display->now_ns);
            }
        }
    }
    pixman_region32_fini(&tmp);
}

/* 5.10: a frame attached to a stream widens each agent's visible region. */
static void stream_frame_attached(SvDisplay *display, SvDrawable *c)
{
    int id = c->sd.state.stream_id;
    if (id < 0) {
        return;
    }
    pixman_region32_t tmp;
    pixman_region32_init(&tmp);
    for (guint i = 0; i < display->clients->len; i++) {
        SvDisplayClient *client = display->clients->pdata[i];
        SvAgent *agent = client->agents[id];
        if (agent == NULL) {
            continue;
        }
        pixman_region32_union(&agent->vis_region, &agent->vis_region, &c->region);
        pixman_region32_t bbox;
        region_from_rect(&bbox, &c->cmd.bbox);
        pixman_region32_intersect(&tmp, &bbox, &agent->clip);
        if (!pixman_region32_equal(&tmp, &c->region)) {
            pixman_region32_subtract(&agent->clip, &agent->clip, &bbox);
            pixman_region32_union(&agent->clip, &agent->clip, &c->region);
            sv_pipe_queue_clip(client, (guint)id, &agent->clip, display->now_ns);
        }
        pixman_region32_fini(&bbox);
    }
    pixman_region32_fini(&tmp);
}

static gboolean region_contains(pixman_region32_t *outer, pixman_region32_t *inner)
{
    pixman_region32_t tmp;
    pixman_region32_init(&tmp);
    pixman_region32_subtract(&tmp, inner, outer);
    gboolean r = !pixman_region32_not_empty(&tmp);
    pixman_region32_fini(&tmp);
    return r;
}

static gboolean command_is_valid(SvDisplay *display, const SvDrawCommand *cmd, GError **error)
{
    const char *bad = NULL;
    if (surface_lookup(display, cmd->surface_id) == NULL) {
        g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                    "draw on unknown surface %u", cmd->surface_id);
        return FALSE;
    }
    if (cmd->bbox.right < cmd->bbox.left || cmd->bbox.bottom < cmd->bbox.top) {
        bad = "bad bounding box";
    } else if (cmd->clip_type == SV_CLIP_RECTS && cmd->n_clip_rects > 0 && !cmd->clip_rects) {
        bad = "clip rectangles missing";
    }
    const SvImage *images[3] = {cmd->src, cmd->mask, cmd->brush.pattern};
    for (int i = 0; i < 3 && !bad; i++) {
        const SvImage *im = images[i];
        if (im && im->type == SV_SOURCE_BITMAP &&
            (im->bitmap.x > MAX_SURFACE_SIDE || im->bitmap.y > MAX_SURFACE_SIDE)) {
            bad = "absurd bitmap size";
        }
        if (im && im->type == SV_SOURCE_SURFACE && !surface_lookup(display, im->surface_id)) {
            bad = "image of an unknown surface";
        }
    }
    for (int i = 0; i < 3 && !bad; i++) {
        if (cmd->surfaces_dest[i] >= 0 &&
            !surface_lookup(display, (uint32_t)cmd->surfaces_dest[i])) {
            bad = "dependency on an unknown surface";
        }
    }
    if (bad) {
        g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                    "draw type %u on surface %u: %s", cmd->type, cmd->surface_id, bad);
        return FALSE;
    }
    return TRUE;
}

#define MAX_PREDS 64

/* Marks the drawables of @surface that meet @area as read by a later one. */
static void mark_read(SvSurface *surface, const SpiceRect *area)
{
    if (surface == NULL) {
        return;
    }
    pixman_region32_t r, tmp;
    region_from_rect(&r, area);
    pixman_region32_init(&tmp);
    for (GList *l = surface->tree.head; l != NULL; l = l->next) {
        SvDrawable *d = l->data;
        pixman_region32_intersect(&tmp, &d->region, &r);
        if (pixman_region32_not_empty(&tmp)) {
            d->read_by_later = TRUE;
        }
    }
    pixman_region32_fini(&tmp);
    pixman_region32_fini(&r);
}

static void mark_reads(SvDisplay *display, SvSurface *surface, const SvDrawCommand *cmd)
{
    if (cmd->type == QXL_COPY_BITS) {
        SpiceRect src = copy_bits_source(cmd);
        mark_read(surface, &src);
    }
    const SvImage *images[3] = {cmd->src, cmd->mask, cmd->brush.pattern};
    for (guint i = 0; i < 3; i++) {
        if (images[i] != NULL && images[i]->type == SV_SOURCE_SURFACE) {
            SvSurface *rs = surface_lookup(display, images[i]->surface_id);
            SpiceRect all = {0, 0, G_MAXINT32, G_MAXINT32};
            mark_read(rs, i == 0 ? &cmd->src_area : &all);
        }
    }
    for (guint i = 0; i < 3; i++) {
        if (cmd->surfaces_dest[i] >= 0) {
            mark_read(surface_lookup(display, (uint32_t)cmd->surfaces_dest[i]),
                      &cmd->surfaces_rects[i]);
        }
    }
}

gboolean sv_display_draw(SvDisplay *display, int64_t now_ns, const SvDrawCommand *cmd,
                         uint64_t *seq_out, GError **error)
{
    g_return_val_if_fail(display != NULL && cmd != NULL, FALSE);
    if (!command_is_valid(display, cmd, error)) {
        return FALSE;
    }
    set_now(display, now_ns);
    SvSurface *surface = surface_lookup(display, cmd->surface_id);
    SvDrawable *c = drawable_new(display, now_ns, cmd);
    display->stats.draws++;
    display->stats.draws_by_type[cmd->type & 15]++;
    if (seq_out) {
        *seq_out = c->seq;
    }
    drawable_compute_region(c, surface);
    /* The surfaces this drawing reads (flushed before it renders). */
    SvSurface *read[6];
    guint n_read = 0;
    gboolean reads_surfaces = cmd->type == QXL_COPY_BITS;
    const SvImage *images[3] = {cmd->src, cmd->mask, cmd->brush.pattern};
    for (guint i = 0; i < 3; i++) {
        if (images[i] != NULL && images[i]->type == SV_SOURCE_SURFACE) {
            SvSurface *rs = surface_lookup(display, images[i]->surface_id);
            reads_surfaces = TRUE;
            if (rs != NULL) {
                read[n_read++] = rs;
            }
        }
    }
    for (guint i = 0; i < 3; i++) {
        SvSurface *rs = cmd->surfaces_dest[i] >= 0
                            ? surface_lookup(display, (uint32_t)cmd->surfaces_dest[i])
                            : NULL;
        if (rs != NULL) {
            reads_surfaces = TRUE;
            read[n_read++] = rs;
        }
    }
    if (reads_surfaces) {
        mark_reads(display, surface, cmd);
        /* Render what it reads before covered drawables can be dropped. */
        for (guint i = 0; i < n_read; i++) {
            sv_surface_flush(display, read[i]);
        }
        sv_surface_flush(display, surface);
    }
    gboolean opaque = cmd->effect == QXL_EFFECT_OPAQUE;
    gboolean copy_bits = cmd->type == QXL_COPY_BITS;
    gboolean on_primary = surface->primary;

    /* Reads of the primary as a dependency, a COPY_BITS source, or a
     * non-opaque drawing over a stream detach it (5.13). */
    for (int i = 0; i < 3; i++) {
        SvSurface *dep = cmd->surfaces_dest[i] >= 0
                             ? surface_lookup(display, (uint32_t)cmd->surfaces_dest[i])
                             : NULL;
        if (dep && dep->primary) {
            pixman_region32_t r;
            region_from_rect(&r, &cmd->surfaces_rects[i]);
            detach_streams_behind(display, &r, NULL);
            pixman_region32_fini(&r);
        }
    }
    if (on_primary && copy_bits) {
        SpiceRect src = copy_bits_source(cmd);
        pixman_region32_t r;
        region_from_rect(&r, &src);
        detach_streams_behind(display, &r, NULL);
        pixman_region32_fini(&r);
    }
    if (on_primary && !opaque) {
        detach_streams_behind(display, &c->region, NULL);
    }

    /* The tree (5.7), newest first: an exact replacement ends the walk;
     * fully covered drawables leave; then overlapped ones lose the area. */
    SvStreamPredecessor preds_static[MAX_PREDS];
    GArray *preds_dyn = NULL;
    SvStreamPredecessor *preds = preds_static;
    guint n_preds = 0;
    GPtrArray *held = g_ptr_array_new();
    SvDrawable *replaced = NULL;
    int replaced_stream = -1;
    g_array_set_size(display->superseded, 0);

#define ADD_PRED(dr, k)                                                             \
    do {                                                                            \
        SvStreamPredecessor p_ = {&(dr)->sd, (k)};                                  \
        if (n_preds < MAX_PREDS && !preds_dyn) {                                    \
            preds_static[n_preds] = p_;                                             \
        } else {                                                                    \
            if (!preds_dyn) {                                                       \
                preds_dyn = g_array_new(FALSE, FALSE, sizeof(SvStreamPredecessor)); \
                g_array_append_vals(preds_dyn, preds_static, n_preds);              \
            }                                                                       \
            g_array_append_val(preds_dyn, p_);                                      \
        }                                                                           \
        n_preds++;                                                                  \
    } while (0)

    if (opaque && pixman_region32_not_empty(&c->region)) {
        pixman_region32_t tmp;
        pixman_region32_init(&tmp);
        GList *next;
        for (GList *l = surface->tree.tail; l; l = next) {
            next = l->prev;
            SvDrawable *p = l->data;
            pixman_region32_intersect(&tmp, &p->region, &c->region);
            if (!pixman_region32_not_empty(&tmp)) {
                continue;
            }
            if (pixman_region32_equal(&p->region, &c->region) && p->cmd.effect == cmd->effect &&
                !copy_bits && p->cmd.type != QXL_COPY_BITS) {
                replaced = p;
                replaced_stream = p->sd.state.stream_id;
                pending_drop(p);
                sv_drawable_ref(p);
                g_ptr_array_add(held, p);
                ADD_PRED(p, SV_PREDECESSOR_REPLACED);
                break;
            }
            if (region_contains(&c->region, &p->region)) {
                sv_drawable_ref(p);
                g_ptr_array_add(held, p);
                ADD_PRED(p, SV_PREDECESSOR_COVERED);
                pending_drop(p);
                /* The detector takes it out of its tree with the add. */
                drawable_remove_from_tree(display, p, FALSE);
                if (!p->read_by_later) {
                    drawable_remove_from_pipes(display, p, TRUE);
                }
            }
        }
        if (!replaced) {
            for (GList *l = surface->tree.tail; l; l = l->prev) {
                SvDrawable *p = l->data;
                pixman_region32_intersect(&tmp, &p->region, &c->region);
                if (!pixman_region32_not_empty(&tmp)) {
                    continue;
                }
                sv_drawable_ref(p);
                g_ptr_array_add(held, p);
                ADD_PRED(p, SV_PREDECESSOR_OVERLAPPED);
                pixman_region32_subtract(&p->region, &p->region, &c->region);
            }
        }
        pixman_region32_fini(&tmp);
    }
#undef ADD_PRED
    if (preds_dyn) {
        preds = (SvStreamPredecessor *)(void *)preds_dyn->data;
    }

    /* The replaced drawable leaves the tree and the pipes; a stream frame
     * takes its place in each pipe (5.7 step 1). */
    gboolean at_old_position = replaced && replaced_stream >= 0 && !c->depends_on_surfaces &&
                               pixman_region32_not_empty(&c->region);
    display->replacing = replaced;
    display->replace_at_old_position = at_old_position;
    const SvStreamDecision *decisions = NULL;
    guint n = sv_stream_detector_add(display->detector, &c->sd, preds, n_preds, &decisions);
    process_decisions(display, decisions, n);
    display->replacing = NULL;
    display->replace_at_old_position = FALSE;

    if (replaced) {
        for (guint i = 0; i < display->clients->len; i++) {
            SvDisplayClient *client = display->clients->pdata[i];
            SvPipeItem *item = sv_pipe_find_drawable(client, replaced);
            if (item && !replaced->read_by_later) {
                if (at_old_position && sv_pipe_find_drawable(client, c) == NULL) {
                    sv_pipe_add_drawable(client, c, item, now_ns);
                }
                sv_pipe_remove(client, item);
            }
        }
        drawable_remove_from_tree(display, replaced, FALSE);
    }
    /* Overlapped drawables left with nothing visible leave the tree and pipes. */
    for (guint i = 0; i < n_preds; i++) {
        SvDrawable *p = drawable_of(preds[i].drawable);
        if (preds[i].kind == SV_PREDECESSOR_OVERLAPPED && p->in_tree &&
            !pixman_region32_not_empty(&p->region)) {
            pending_drop(p);
            drawable_remove_from_tree(display, p, TRUE);
            if (!p->read_by_later) {
                drawable_remove_from_pipes(display, p, FALSE);
            }
        }
    }
    if (preds_dyn) {
        g_array_free(preds_dyn, TRUE);
    }

    if (on_primary && opaque) {
        streams_update_visible(display, c);
    }
    stream_frame_attached(display, c);

    if (pixman_region32_not_empty(&c->region)) {
        sv_drawable_ref(c);
        c->surface = surface;
        c->in_tree = TRUE;
        c->tree_link.data = c;
        g_queue_push_tail_link(&surface->tree, &c->tree_link);
        display->stats.tree_drawables++;
        for (guint i = 0; i < display->clients->len; i++) {
            SvDisplayClient *client = display->clients->pdata[i];
            if (sv_pipe_find_drawable(client, c) == NULL) {
                sv_pipe_add_drawable(client, c, NULL, now_ns);
            }
        }
        if (surface->tree.length > display->config.max_tree_drawables) {
            /* Retired drawables are rendered first, in order. */
            sv_surface_flush(display, surface);
        }
        while (surface->tree.length > display->config.max_tree_drawables) {
            drawable_remove_from_tree(display, surface->tree.head->data, TRUE);
        }
    } else {
        sv_stream_detector_remove(display->detector, &c->sd);
    }

    /* Rendering is lazy (as spice's): a drawable waits until something
     * reads the surface, and one that a later opaque drawable covers is
     * never rendered. Drawings that read surfaces render now, after what
     * they read. */
    if (reads_surfaces) {
        /* What it reads was flushed before the tree changed. */
        render_now(display, surface, c);
    } else if (pixman_region32_not_empty(&c->region)) {
        pending_push(surface, c);
    }

    g_array_set_size(display->superseded, 0);
    for (guint i = 0; i < held->len; i++) {
        sv_drawable_unref(held->pdata[i]);
    }
    g_ptr_array_free(held, TRUE);
    sv_drawable_unref(c);
    return TRUE;
}

gboolean sv_display_update_area(SvDisplay *display, int64_t now_ns, uint32_t surface_id,
                                const SpiceRect *area, GError **error)
{
    g_return_val_if_fail(display != NULL && area != NULL, FALSE);
    set_now(display, now_ns);
    SvSurface *surface = surface_lookup(display, surface_id);
    if (surface == NULL) {
        g_set_error(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND,
                    "update of unknown surface %u", surface_id);
        return FALSE;
    }
    sv_surface_flush(display, surface);
    pixman_region32_t r, tmp;
    region_from_rect(&r, area);
    pixman_region32_init(&tmp);
    /* As spice's update_area: render (flushed above) and remove
     * everything up to the newest drawable that meets the area. */
    GList *last = NULL;
    for (GList *l = surface->tree.tail; l; l = l->prev) {
        pixman_region32_intersect(&tmp, &((SvDrawable *)l->data)->region, &r);
        if (pixman_region32_not_empty(&tmp)) {
            last = l;
            break;
        }
    }
    if (last) {
        SvDrawable *stop = last->data;
        gboolean done = FALSE;
        while (!done && surface->tree.head) {
            SvDrawable *d = surface->tree.head->data;
            done = d == stop;
            drawable_remove_from_tree(display, d, TRUE);
        }
    }
    pixman_region32_fini(&tmp);
    pixman_region32_fini(&r);
    return TRUE;
}

void sv_display_begin_pass(SvDisplay *display)
{
    g_return_if_fail(display != NULL);
    display->generation++;
}

void sv_display_tick(SvDisplay *display, int64_t now_ns)
{
    g_return_if_fail(display != NULL);
    set_now(display, now_ns);
    const SvStreamDecision *decisions = NULL;
    guint n = sv_stream_detector_tick(display->detector, now_ns, &decisions);
    process_decisions(display, decisions, n);
}

int64_t sv_display_next_timeout_ns(const SvDisplay *display)
{
    g_return_val_if_fail(display != NULL, INT64_MAX);
    return sv_stream_detector_next_timeout_ns(display->detector);
}

gboolean sv_display_can_pull_commands(const SvDisplay *display)
{
    g_return_val_if_fail(display != NULL, TRUE);
    for (guint i = 0; i < display->clients->len; i++) {
        const SvDisplayClient *client = display->clients->pdata[i];
        if (client->pipe.length > display->config.max_pipe_size) {
            return FALSE;
        }
    }
    return TRUE;
}

void sv_display_stop_all_streams(SvDisplay *display, int64_t now_ns)
{
    g_return_if_fail(display != NULL);
    set_now(display, now_ns);
    const SvStreamDecision *decisions = NULL;
    guint n = sv_stream_detector_stop_all(display->detector, &decisions);
    process_decisions(display, decisions, n);
}

void sv_display_set_streaming_mode(SvDisplay *display, SvStreamingMode mode)
{
    g_return_if_fail(display != NULL);
    sv_stream_detector_set_mode(display->detector, mode);
    display->config.detector.mode = mode;
}

gboolean sv_display_set_video_codecs(SvDisplay *display, int64_t now_ns, const char *video_codecs,
                                     GError **error)
{
    g_return_val_if_fail(display != NULL, FALSE);
    g_autoptr(SvVideoCodecs) codecs = NULL;
    if (video_codecs) {
        codecs = sv_video_codecs_new();
        if (sv_video_codecs_parse(codecs, video_codecs, NULL, error) < 0) {
            return FALSE;
        }
    } else {
        codecs = sv_video_codecs_new_default();
    }
    sv_video_codecs_free(display->codecs);
    display->codecs = g_steal_pointer(&codecs);
    g_free(display->video_codecs_string);
    display->video_codecs_string = g_strdup(video_codecs);
    display->config.video_codecs = display->video_codecs_string;
    for (guint i = 0; i < display->clients->len; i++) {
        sv_display_client_update_codecs(display, display->clients->pdata[i]);
    }
    sv_display_stop_all_streams(display, now_ns);
    return TRUE;
}

void sv_display_set_audio_active(SvDisplay *display, int64_t now_ns, gboolean active)
{
    g_return_if_fail(display != NULL);
    set_now(display, now_ns);
    if (display->config.audio_active == active) {
        return;
    }
    display->config.audio_active = active;
    if (sv_latency_is_interactive(display)) {
        sv_latency_audio_changed(display, active);
        return;
    }
    if (!active) {
        /* mm_time comes back with the starting latency (6.5). */
        display->mm_time_latency_ms = display->config.mm_time_latency_ms;
        SvDisplayEvent ev = event_init(SV_DISPLAY_EVENT_LATENCY_CHANGED, NULL, -1);
        ev.value = display->mm_time_latency_ms;
        sv_display_emit(display, &ev);
        for (guint i = 0; i < display->clients->len; i++) {
            SvPipeItem *item = sv_pipe_item_new(ITEM_MULTI_MEDIA_TIME, now_ns);
            item->value = display->mm_time_latency_ms;
            item->mm_time = sv_display_mm_time(display, now_ns) - display->mm_time_latency_ms;
            sv_pipe_push(display->clients->pdata[i], item);
        }
    }
}

SvCanvas *sv_display_get_primary(SvDisplay *display)
{
    g_return_val_if_fail(display != NULL, NULL);
    if (display->primary == NULL) {
        return NULL;
    }
    sv_surface_flush(display, display->primary);
    return display->primary->canvas;
}

SvCanvas *sv_display_get_surface(SvDisplay *display, uint32_t surface_id)
{
    g_return_val_if_fail(display != NULL, NULL);
    SvSurface *surface = surface_lookup(display, surface_id);
    if (surface == NULL) {
        return NULL;
    }
    sv_surface_flush(display, surface);
    return surface->canvas;
}

uint32_t sv_display_get_mm_time_latency(const SvDisplay *display)
{
    g_return_val_if_fail(display != NULL, 0);
    return display->mm_time_latency_ms;
}

uint32_t sv_display_mm_time(const SvDisplay *display, int64_t now_ns)
{
    return (uint32_t)(uint64_t)(now_ns / SV_NS_PER_MS);
}

void sv_display_get_stats(const SvDisplay *display, SvDisplayStats *stats)
{
    g_return_if_fail(display != NULL && stats != NULL);
    *stats = display->stats;
}

/* ---- clients ------------------------------------------------------------------- */

SvDisplayClient *sv_display_add_client(SvDisplay *display, int64_t now_ns,
                                       const SvClientConfig *config, GError **error)
{
    g_return_val_if_fail(display != NULL && config != NULL, NULL);
    set_now(display, now_ns);
    SvDisplayClient *client = g_new0(SvDisplayClient, 1);
    client->display = display;
    client->config = *config;
    client->name = g_strdup(config->name ? config->name : "client");
    client->config.name = client->name;
    client->agents = g_new0(SvAgent *, display->max_streams);
    g_queue_init(&client->pipe);
    sv_latency_client_added(display, client);
    g_ptr_array_add(display->clients, client);

    /* 6.1: the surfaces, a picture of the primary, then the streams. */
    if (display->primary) {
        queue_surface_create(client, display->primary, now_ns);
    }
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, display->surfaces);
    while (g_hash_table_iter_next(&iter, NULL, &value)) {
        if (value != display->primary) {
            queue_surface_create(client, value, now_ns);
        }
    }
    if (display->primary) {
        pixman_box32_t box = {0, 0, (int32_t)sv_canvas_get_width(display->primary->canvas),
                              (int32_t)sv_canvas_get_height(display->primary->canvas)};
        sv_pipe_queue_image(display, client, display->primary, &box, now_ns);
    }
    uint64_t area = sv_stream_detector_get_streams_area(display->detector);
    for (guint id = 0; id < display->max_streams; id++) {
        SvStreamInfo info;
        if (sv_stream_detector_get_stream(display->detector, id, &info)) {
            client->agents[id] = sv_agent_new(display, client, id, drawable_of(info.current), area);
        }
    }
    return client;
}

static void client_free(SvDisplay *display, SvDisplayClient *client)
{
    sv_pipe_clear(client);
    for (guint id = 0; id < display->max_streams; id++) {
        SvAgent *agent = client->agents[id];
        if (agent) {
            client->agents[id] = NULL;
            sv_agent_destroy_encoder(agent);
            sv_agent_unref(agent);
        }
    }
    sv_video_codecs_free(client->codecs);
    g_free(client->agents);
    g_free(client->name);
    g_free(client->pref_codecs);
    g_free(client);
}

void sv_display_remove_client(SvDisplay *display, SvDisplayClient *client)
{
    g_return_if_fail(display != NULL && client != NULL);
    if (g_ptr_array_remove(display->clients, client)) {
        client_free(display, client);
    }
}

const char *sv_display_client_get_name(const SvDisplayClient *client)
{
    g_return_val_if_fail(client != NULL, NULL);
    return client->name;
}

guint sv_display_client_pipe_length(const SvDisplayClient *client)
{
    g_return_val_if_fail(client != NULL, 0);
    return client->pipe.length;
}

/* ---- latency policy ---------------------------------------------------------- */

const char *sv_latency_policy_to_string(SvLatencyPolicy policy)
{
    return policy == SV_LATENCY_POLICY_INTERACTIVE ? "interactive" : "spice";
}

gboolean sv_latency_policy_from_string(const char *name, SvLatencyPolicy *policy)
{
    if (g_strcmp0(name, "spice") == 0) {
        *policy = SV_LATENCY_POLICY_SPICE;
        return TRUE;
    }
    if (g_strcmp0(name, "interactive") == 0) {
        *policy = SV_LATENCY_POLICY_INTERACTIVE;
        return TRUE;
    }
    return FALSE;
}

gboolean sv_display_client_may_send(SvDisplay *display, SvDisplayClient *client, int64_t now_ns)
{
    g_return_val_if_fail(display != NULL && client != NULL, FALSE);
    return sv_latency_may_send(display, client, now_ns);
}

void sv_display_client_sent(SvDisplay *display, SvDisplayClient *client, const SvMessage *message,
                            int64_t sent_ns)
{
    g_return_if_fail(display != NULL && client != NULL && message != NULL);
    /* The SPICE policy does not use it. */
    sv_latency_sent(display, client, message, sent_ns);
}
