/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Send pipes (reference 6.6) and marshalling: one queue per client; the
 * head is turned into an SvMessage when the caller's link can send, which
 * is when stream frames are encoded (as spice does, dcc-send). Wire sizes
 * follow Appendix A with a 6-byte mini header; image bytes are an LZ4
 * estimate (docs/server.md).
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include <lz4.h>
#include <spice/qxl_dev.h>

#include "server-private.h"

/* Wire sizes of the fixed parts (spice.proto). */
#define WIRE_RECT 16
#define WIRE_IMAGE_DESCRIPTOR 18       /* id u64, type u8, flags u8, width u32, height u32 */
#define WIRE_IMAGE_DATA_SIZE 4         /* data_size u32 before compressed image data */
#define WIRE_MASK 13                   /* flags u8, pos Point, bitmap ptr u32 */
#define WIRE_BRUSH 5                   /* type u8, color u32 (or pattern ptr) */
#define WIRE_DRAW_BASE (4 + WIRE_RECT) /* surface_id, box; then the clip */
#define WIRE_STREAM_CREATE (4 + 4 + 1 + 1 + 8 + 4 * 4 + WIRE_RECT)
#define WIRE_STREAM_DATA (4 + 4 + 4)
#define WIRE_STREAM_DATA_SIZED (4 + 4 + 4 + 4 + WIRE_RECT + 4)
#define WIRE_ACTIVATE_REPORT 16
#define WIRE_SURFACE_CREATE 20

typedef struct SvMessageBox {
    SvMessage msg; /* first: the caller's pointer */
    SvDrawable *drawable;
    VideoBuffer *buffer;
    uint8_t *pixels;
    SpiceRect *rects;
} SvMessageBox;

static int64_t process_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
}

/* ---- items ---------------------------------------------------------------------- */

SvPipeItem *sv_pipe_item_new(SvPipeItemType type, int64_t now_ns)
{
    SvPipeItem *item = g_new0(SvPipeItem, 1);
    item->link.data = item;
    item->type = type;
    item->queued_ns = now_ns;
    item->stream_id = -1;
    return item;
}

static void drawable_unlink(SvDrawable *d, SvPipeItem *item)
{
    for (guint i = 0; d->links && i < d->links->len; i++) {
        if (g_array_index(d->links, SvDrawableLink, i).item == item) {
            g_array_remove_index_fast(d->links, i);
            return;
        }
    }
}

void sv_pipe_item_free(SvPipeItem *item)
{
    if (item->drawable) {
        if (item->type == ITEM_DRAW) {
            drawable_unlink(item->drawable, item);
        }
        sv_drawable_unref(item->drawable);
    }
    if (item->agent) {
        sv_agent_unref(item->agent);
    }
    g_free(item->rects);
    g_free(item->pixels);
    g_free(item);
}

void sv_pipe_push(SvDisplayClient *client, SvPipeItem *item)
{
    g_queue_push_tail_link(&client->pipe, &item->link);
}

void sv_pipe_add_drawable(SvDisplayClient *client, SvDrawable *drawable, SvPipeItem *before,
                          int64_t now_ns)
{
    SvPipeItem *item = sv_pipe_item_new(ITEM_DRAW, now_ns);
    sv_drawable_ref(drawable);
    item->drawable = drawable;
    item->surface_id = drawable->cmd.surface_id;
    if (drawable->links == NULL) {
        drawable->links = g_array_sized_new(FALSE, FALSE, sizeof(SvDrawableLink), 2);
    }
    SvDrawableLink link = {.client = client, .item = item};
    g_array_append_val(drawable->links, link);
    if (before) {
        g_queue_insert_before_link(&client->pipe, &before->link, &item->link);
    } else {
        g_queue_push_tail_link(&client->pipe, &item->link);
    }
}

SvPipeItem *sv_pipe_find_drawable(SvDisplayClient *client, SvDrawable *drawable)
{
    for (guint i = 0; drawable->links && i < drawable->links->len; i++) {
        SvDrawableLink *l = &g_array_index(drawable->links, SvDrawableLink, i);
        if (l->client == client) {
            return l->item;
        }
    }
    return NULL;
}

void sv_pipe_remove(SvDisplayClient *client, SvPipeItem *item)
{
    g_queue_unlink(&client->pipe, &item->link);
    sv_pipe_item_free(item);
}

void sv_pipe_clear(SvDisplayClient *client)
{
    GList *link;
    while ((link = g_queue_pop_head_link(&client->pipe)) != NULL) {
        sv_pipe_item_free(link->data);
    }
}

static SpiceRect *region_rects(const pixman_region32_t *region, guint *n_out)
{
    int n = 0;
    pixman_box32_t *boxes = pixman_region32_rectangles((pixman_region32_t *)region, &n);
    SpiceRect *rects = g_new(SpiceRect, MAX(n, 1));
    for (int i = 0; i < n; i++) {
        rects[i] = (SpiceRect){boxes[i].x1, boxes[i].y1, boxes[i].x2, boxes[i].y2};
    }
    *n_out = (guint)n;
    return rects;
}

void sv_pipe_queue_clip(SvDisplayClient *client, guint stream_id, const pixman_region32_t *clip,
                        int64_t now_ns)
{
    SvPipeItem *item = sv_pipe_item_new(ITEM_STREAM_CLIP, now_ns);
    item->stream_id = (int)stream_id;
    item->clip_type = SV_CLIP_RECTS; /* 5.12: always RECTS */
    item->rects = region_rects(clip, &item->n_rects);
    sv_pipe_push(client, item);
}

void sv_pipe_queue_image(SvDisplay *display, SvDisplayClient *client, SvSurface *surface,
                         const pixman_box32_t *box, int64_t now_ns)
{
    int32_t w = (int32_t)sv_canvas_get_width(surface->canvas);
    int32_t h = (int32_t)sv_canvas_get_height(surface->canvas);
    SpiceRect area = {MAX(box->x1, 0), MAX(box->y1, 0), MIN(box->x2, w), MIN(box->y2, h)};
    if (area.right <= area.left || area.bottom <= area.top) {
        return;
    }
    SvPipeItem *item = sv_pipe_item_new(ITEM_IMAGE, now_ns);
    item->surface_id = surface->id;
    item->dest = area;
    item->width = (uint32_t)(area.right - area.left);
    item->height = (uint32_t)(area.bottom - area.top);
    item->stride = (int32_t)item->width * 4;
    item->pixels = g_malloc((size_t)item->stride * item->height);
    sv_surface_flush(display, surface);
    sv_canvas_read(surface->canvas, &area, item->pixels, item->stride);
    sv_pipe_push(client, item);
}

/* ---- sizes ------------------------------------------------------------------------ */

uint64_t sv_display_lz4_size(SvDisplay *display, const uint8_t *data, size_t size)
{
    if (size == 0 || size > LZ4_MAX_INPUT_SIZE) {
        return size;
    }
    int64_t t0 = sv_cpu_time_ns();
    size_t bound = (size_t)LZ4_compressBound((int)size);
    if (display->lz4_cap < bound) {
        g_free(display->lz4_buf);
        display->lz4_buf = g_malloc(bound);
        display->lz4_cap = bound;
    }
    int n =
        LZ4_compress_default((const char *)data, (char *)display->lz4_buf, (int)size, (int)bound);
    display->stats.lz4_ns += (uint64_t)(sv_cpu_time_ns() - t0);
    return n > 0 ? (uint64_t)n : size;
}

static void size_one(SvDisplay *display, const SvImageCopy *im, uint64_t *raw, uint64_t *lz4)
{
    if (im == NULL) {
        return;
    }
    switch (im->image.type) {
    case SV_SOURCE_BITMAP:
        *raw += im->chunks->data_size;
        *lz4 += display ? sv_display_lz4_size(display, im->pixels, im->chunks->data_size)
                        : im->chunks->data_size;
        break;
    case SV_SOURCE_OTHER:
        *raw += im->image.payload_bytes;
        *lz4 += im->image.payload_bytes;
        break;
    default:
        break;
    }
}

void sv_drawable_size_image(SvDisplay *display, SvDrawable *d)
{
    if (d->sized_done) {
        return;
    }
    d->sized_done = TRUE;
    uint64_t raw = 0, lz4 = 0;
    size_one(display, d->src, &raw, &lz4);
    size_one(display, d->mask, &raw, &lz4);
    size_one(display, d->pattern, &raw, &lz4);
    d->image_raw_bytes = raw;
    d->image_lz4_bytes = lz4;
}

static uint64_t wire_clip(uint32_t clip_type, guint n_rects)
{
    return clip_type == SV_CLIP_RECTS ? 1 + 4 + (uint64_t)WIRE_RECT * n_rects : 1;
}

static uint64_t wire_image(const SvImageCopy *im)
{
    if (im == NULL) {
        return 0;
    }
    return WIRE_IMAGE_DESCRIPTOR + (im->image.type == SV_SOURCE_SURFACE ? 4 : WIRE_IMAGE_DATA_SIZE);
}

static uint16_t draw_wire_type(uint32_t type)
{
    switch (type) {
    case QXL_DRAW_FILL:
        return SPICE_MSG_DISPLAY_DRAW_FILL;
    case QXL_DRAW_OPAQUE:
        return SPICE_MSG_DISPLAY_DRAW_OPAQUE;
    case QXL_COPY_BITS:
        return SPICE_MSG_DISPLAY_COPY_BITS;
    case QXL_DRAW_BLEND:
        return SPICE_MSG_DISPLAY_DRAW_BLEND;
    case QXL_DRAW_BLACKNESS:
        return SPICE_MSG_DISPLAY_DRAW_BLACKNESS;
    case QXL_DRAW_WHITENESS:
        return SPICE_MSG_DISPLAY_DRAW_WHITENESS;
    case QXL_DRAW_INVERS:
        return SPICE_MSG_DISPLAY_DRAW_INVERS;
    case QXL_DRAW_ROP3:
        return SPICE_MSG_DISPLAY_DRAW_ROP3;
    case QXL_DRAW_STROKE:
        return SPICE_MSG_DISPLAY_DRAW_STROKE;
    case QXL_DRAW_TEXT:
        return SPICE_MSG_DISPLAY_DRAW_TEXT;
    case QXL_DRAW_TRANSPARENT:
        return SPICE_MSG_DISPLAY_DRAW_TRANSPARENT;
    case QXL_DRAW_ALPHA_BLEND:
        return SPICE_MSG_DISPLAY_DRAW_ALPHA_BLEND;
    case QXL_DRAW_COMPOSITE:
        return SPICE_MSG_DISPLAY_DRAW_COMPOSITE;
    default:
        return SPICE_MSG_DISPLAY_DRAW_COPY;
    }
}

/* Fixed body bytes of each drawing message (spice.proto), without images. */
static uint64_t draw_body_bytes(const SvDrawCommand *cmd)
{
    switch (cmd->type) {
    case QXL_DRAW_FILL:
        return WIRE_BRUSH + 2 + WIRE_MASK;
    case QXL_DRAW_OPAQUE:
        return 4 + WIRE_RECT + WIRE_BRUSH + 2 + 1 + WIRE_MASK;
    case QXL_COPY_BITS:
        return 8;
    case QXL_DRAW_BLACKNESS:
    case QXL_DRAW_WHITENESS:
    case QXL_DRAW_INVERS:
        return WIRE_MASK;
    case QXL_DRAW_ROP3:
        return 4 + WIRE_RECT + WIRE_BRUSH + 1 + 1 + WIRE_MASK;
    case QXL_DRAW_STROKE:
        return 4 + 6 + WIRE_BRUSH + 4 + cmd->payload_bytes;
    case QXL_DRAW_TEXT:
        return 4 + WIRE_RECT + 2 * WIRE_BRUSH + 4 + cmd->payload_bytes;
    case QXL_DRAW_TRANSPARENT:
        return 4 + WIRE_RECT + 4 + 4;
    case QXL_DRAW_ALPHA_BLEND:
        return 1 + 1 + 4 + WIRE_RECT;
    case QXL_DRAW_COMPOSITE:
        return 4 + 4 + 4 + 2 * (1 + 24) + 8 + 8;
    default: /* COPY, BLEND */
        return 4 + WIRE_RECT + 2 + 1 + WIRE_MASK;
    }
}

/* ---- marshalling ---------------------------------------------------------------------- */

static SvMessageBox *box_new(SvMessageType type, uint16_t wire_type, const SvPipeItem *item)
{
    SvMessageBox *box = g_new0(SvMessageBox, 1);
    box->msg.type = type;
    box->msg.wire_type = wire_type;
    box->msg.queued_ns = item->queued_ns;
    box->msg.surface_id = item->surface_id;
    box->msg.stream_id = item->stream_id;
    return box;
}

/* A drawable sent as an ordinary drawing (its image losslessly). */
static SvMessageBox *marshal_draw(SvDisplay *display, const SvPipeItem *item,
                                  SvFrameDisposition disposition, SvMessageType type)
{
    SvDrawable *d = item->drawable;
    uint16_t wire_type =
        type == SV_MSG_UPGRADE ? SPICE_MSG_DISPLAY_DRAW_COPY : draw_wire_type(d->cmd.type);
    SvMessageBox *box = box_new(type, wire_type, item);
    SvMessage *m = &box->msg;
    sv_drawable_ref(d);
    box->drawable = d;
    sv_drawable_size_image(display, d);
    m->draw = &d->cmd;
    m->surface_id = d->cmd.surface_id;
    m->drawable_seq = d->seq;
    m->drawable_time_ns = d->time_ns;
    m->mm_time = d->mm_time;
    m->disposition = disposition;
    m->image_raw_bytes = d->image_raw_bytes;
    m->image_lz4_bytes = d->image_lz4_bytes;
    m->dest = d->cmd.bbox;
    if (type == SV_MSG_UPGRADE) {
        m->clip_type = SV_CLIP_RECTS;
        m->n_clip_rects = item->n_rects;
        box->rects = g_memdup2(item->rects, sizeof(SpiceRect) * MAX(item->n_rects, 1));
        m->clip_rects = box->rects;
    } else {
        m->clip_type = d->cmd.clip_type;
        m->n_clip_rects = d->cmd.n_clip_rects;
        m->clip_rects = d->cmd.clip_rects;
    }
    m->wire_bytes = WIRE_HEADER_BYTES + WIRE_DRAW_BASE + wire_clip(m->clip_type, m->n_clip_rects) +
                    draw_body_bytes(&d->cmd) + wire_image(d->src) + wire_image(d->mask) +
                    wire_image(d->pattern) + d->image_lz4_bytes;
    if (d->src && d->src->image.type == SV_SOURCE_BITMAP) {
        m->source = &d->src->image.bitmap;
        m->source_area = d->cmd.src_area;
    }
    return box;
}

static void frame_as_image(SvDisplay *display, SvDisplayClient *client, SvAgent *agent,
                           SvDrawable *d, SvFrameDisposition why)
{
    if (agent) {
        agent->frames_as_images++;
    }
    SvDisplayEvent ev = {.type = SV_DISPLAY_EVENT_FRAME_AS_IMAGE,
                         .client = client,
                         .stream_id = d->sd.state.stream_id,
                         .drawable_seq = d->seq,
                         .text = sv_frame_disposition_to_string(why)};
    sv_display_emit(display, &ev);
}

/* A DRAW item: a stream frame is encoded now (5.11). NULL: the encoder dropped it. */
static SvMessageBox *marshal_drawable(SvDisplay *display, SvDisplayClient *client,
                                      const SvPipeItem *item)
{
    SvDrawable *d = item->drawable;
    int sid = d->sd.state.stream_id;
    SvStreamInfo info;
    if (sid < 0 || !sv_stream_detector_get_stream(display->detector, (guint)sid, &info)) {
        return marshal_draw(display, item, SV_FRAME_NOT_STREAMED, SV_MSG_DRAW);
    }
    SvAgent *agent = client->agents[sid];
    /* In 64 bits: the difference of two int32 can overflow int. */
    uint32_t w = (uint32_t)((int64_t)d->cmd.src_area.right - d->cmd.src_area.left);
    uint32_t h = (uint32_t)((int64_t)d->cmd.src_area.bottom - d->cmd.src_area.top);
    gboolean sized = w != info.width || h != info.height ||
                     memcmp(&d->cmd.bbox, &info.dest, sizeof(SpiceRect)) != 0;
    SvFrameDisposition why = SV_FRAME_AS_STREAM;
    if (agent == NULL || agent->encoder == NULL) {
        why = SV_FRAME_NO_ENCODER;
    } else if (sized && !(client->config.display_caps & SV_CAP(SPICE_DISPLAY_CAP_SIZED_STREAM))) {
        why = SV_FRAME_SIZED_NOT_SUPPORTED;
    }
    if (why != SV_FRAME_AS_STREAM) {
        frame_as_image(display, client, agent, d, why);
        return marshal_draw(display, item, why, SV_MSG_DRAW);
    }

    if (sv_latency_skip_frame(display, client, agent)) {
        /* INTERACTIVE: the previous frame is still on the link; this one
         * would only wait behind it (docs/latency.md). */
        sv_agent_notify_server_drop(agent);
        SvDisplayEvent ev = {.type = SV_DISPLAY_EVENT_SERVER_DROP,
                             .client = client,
                             .stream_id = sid,
                             .drawable_seq = d->seq,
                             .value = 1,
                             .text = "previous frame still on the link"};
        sv_display_emit(display, &ev);
        return NULL;
    }
    const SpiceBitmap *bitmap = &d->src->image.bitmap;
    gboolean top_down = (bitmap->flags & SPICE_BITMAP_FLAGS_TOP_DOWN) != 0;
    VideoBuffer *buffer = NULL;
    int64_t t0 = process_cpu_ns();
    VideoEncodeResults r = agent->encoder->encode_frame(agent->encoder, d->mm_time, bitmap,
                                                        &d->cmd.src_area, top_down, d, &buffer);
    int64_t cpu = process_cpu_ns() - t0;
    display->stats.encode_ns += (uint64_t)cpu;
    if (r == VIDEO_ENCODER_FRAME_DROP) {
        agent->frames_dropped_by_encoder++;
        SvDisplayEvent ev = {.type = SV_DISPLAY_EVENT_ENCODER_DROP,
                             .client = client,
                             .stream_id = sid,
                             .drawable_seq = d->seq};
        sv_display_emit(display, &ev);
        return NULL;
    }
    if (r != VIDEO_ENCODER_FRAME_ENCODE_DONE || buffer == NULL) {
        frame_as_image(display, client, agent, d, SV_FRAME_UNSUPPORTED);
        return marshal_draw(display, item, SV_FRAME_UNSUPPORTED, SV_MSG_DRAW);
    }
    agent->frames_encoded++;
    SvMessageBox *box =
        box_new(SV_MSG_STREAM_DATA,
                sized ? SPICE_MSG_DISPLAY_STREAM_DATA_SIZED : SPICE_MSG_DISPLAY_STREAM_DATA, item);
    SvMessage *m = &box->msg;
    sv_drawable_ref(d);
    box->drawable = d;
    box->buffer = buffer;
    m->stream_id = sid;
    m->surface_id = d->cmd.surface_id;
    m->mm_time = d->mm_time;
    m->draw = &d->cmd;
    m->drawable_seq = d->seq;
    m->drawable_time_ns = d->time_ns;
    m->disposition = SV_FRAME_AS_STREAM;
    m->codec_type = agent->codec_type;
    m->sized = sized;
    m->width = sized ? w : info.width;
    m->height = sized ? h : info.height;
    m->dest = sized ? d->cmd.bbox : info.dest;
    m->top_down = info.top_down;
    m->data = buffer->data;
    m->data_size = buffer->size;
    m->encode_cpu_ns = cpu;
    if (display->config.encode_cost_ns != NULL) {
        uint64_t pixels = (uint64_t)w * h;
        m->encode_cpu_ns = display->config.encode_cost_ns(display->config.encode_cost_data,
                                                          agent->codec_type, pixels);
    }
    m->source = bitmap;
    m->source_area = d->cmd.src_area;
    m->wire_bytes =
        WIRE_HEADER_BYTES + (sized ? WIRE_STREAM_DATA_SIZED : WIRE_STREAM_DATA) + buffer->size;
    return box;
}

static SvMessageBox *marshal(SvDisplay *display, SvDisplayClient *client, SvPipeItem *item)
{
    SvMessageBox *box = NULL;
    SvMessage *m;
    switch (item->type) {
    case ITEM_SURFACE_CREATE:
        box = box_new(SV_MSG_SURFACE_CREATE, SPICE_MSG_DISPLAY_SURFACE_CREATE, item);
        box->msg.width = item->width;
        box->msg.height = item->height;
        box->msg.wire_bytes = WIRE_HEADER_BYTES + WIRE_SURFACE_CREATE;
        break;
    case ITEM_SURFACE_DESTROY:
        box = box_new(SV_MSG_SURFACE_DESTROY, SPICE_MSG_DISPLAY_SURFACE_DESTROY, item);
        box->msg.wire_bytes = WIRE_HEADER_BYTES + 4;
        break;
    case ITEM_DRAW:
        box = marshal_drawable(display, client, item);
        break;
    case ITEM_UPGRADE:
        box = marshal_draw(display, item, SV_FRAME_NOT_STREAMED, SV_MSG_UPGRADE);
        break;
    case ITEM_STREAM_CREATE:
        /* 6.1 step 3: marshalled only when the client has an encoder. */
        if (item->agent->encoder == NULL) {
            return NULL;
        }
        box = box_new(SV_MSG_STREAM_CREATE, SPICE_MSG_DISPLAY_STREAM_CREATE, item);
        m = &box->msg;
        m->codec_type = item->codec_type;
        m->width = item->width;
        m->height = item->height;
        m->dest = item->dest;
        m->top_down = item->top_down;
        m->clip_type = item->clip_type;
        m->n_clip_rects = item->n_rects;
        box->rects = g_memdup2(item->rects, sizeof(SpiceRect) * MAX(item->n_rects, 1));
        m->clip_rects = box->rects;
        m->wire_bytes =
            WIRE_HEADER_BYTES + WIRE_STREAM_CREATE + wire_clip(item->clip_type, item->n_rects);
        break;
    case ITEM_STREAM_CLIP:
        box = box_new(SV_MSG_STREAM_CLIP, SPICE_MSG_DISPLAY_STREAM_CLIP, item);
        m = &box->msg;
        m->clip_type = item->clip_type;
        m->n_clip_rects = item->n_rects;
        box->rects = g_memdup2(item->rects, sizeof(SpiceRect) * MAX(item->n_rects, 1));
        m->clip_rects = box->rects;
        m->wire_bytes = WIRE_HEADER_BYTES + 4 + wire_clip(item->clip_type, item->n_rects);
        break;
    case ITEM_STREAM_DESTROY:
        /* 5.13: the encoder goes now. */
        sv_agent_destroy_encoder(item->agent);
        box = box_new(SV_MSG_STREAM_DESTROY, SPICE_MSG_DISPLAY_STREAM_DESTROY, item);
        box->msg.wire_bytes = WIRE_HEADER_BYTES + 4;
        break;
    case ITEM_STREAM_DESTROY_ALL:
        box = box_new(SV_MSG_STREAM_DESTROY_ALL, SPICE_MSG_DISPLAY_STREAM_DESTROY_ALL, item);
        box->msg.wire_bytes = WIRE_HEADER_BYTES;
        break;
    case ITEM_ACTIVATE_REPORT:
        box =
            box_new(SV_MSG_STREAM_ACTIVATE_REPORT, SPICE_MSG_DISPLAY_STREAM_ACTIVATE_REPORT, item);
        box->msg.unique_id = item->unique_id;
        box->msg.max_window_size = REPORT_MAX_WINDOW;
        box->msg.timeout_ms = REPORT_TIMEOUT_MS;
        box->msg.wire_bytes = WIRE_HEADER_BYTES + WIRE_ACTIVATE_REPORT;
        break;
    case ITEM_IMAGE: {
        /* Sent as a DRAW_COPY of a lossless image (upgrade by screenshot). */
        box = box_new(SV_MSG_IMAGE, SPICE_MSG_DISPLAY_DRAW_COPY, item);
        m = &box->msg;
        box->pixels = g_steal_pointer(&item->pixels);
        m->pixels = box->pixels;
        m->pixels_stride = item->stride;
        m->dest = item->dest;
        m->width = item->width;
        m->height = item->height;
        m->clip_type = SV_CLIP_NONE;
        m->image_raw_bytes = (uint64_t)item->stride * item->height;
        m->image_lz4_bytes = sv_display_lz4_size(display, box->pixels, m->image_raw_bytes);
        m->wire_bytes = WIRE_HEADER_BYTES + WIRE_DRAW_BASE + wire_clip(SV_CLIP_NONE, 0) +
                        (4 + WIRE_RECT + 2 + 1 + WIRE_MASK) + WIRE_IMAGE_DESCRIPTOR +
                        WIRE_IMAGE_DATA_SIZE + m->image_lz4_bytes;
        break;
    }
    case ITEM_MULTI_MEDIA_TIME:
        box = box_new(SV_MSG_MULTI_MEDIA_TIME, SPICE_MSG_MAIN_MULTI_MEDIA_TIME, item);
        box->msg.mm_time = item->mm_time;
        box->msg.latency_ms = item->value;
        box->msg.wire_bytes = WIRE_HEADER_BYTES + 4;
        break;
    case ITEM_PLAYBACK_LATENCY:
        box = box_new(SV_MSG_PLAYBACK_LATENCY, SPICE_MSG_PLAYBACK_LATENCY, item);
        box->msg.latency_ms = item->value;
        box->msg.wire_bytes = WIRE_HEADER_BYTES + 4;
        break;
    }
    return box;
}

SvMessage *sv_display_client_pop(SvDisplay *display, SvDisplayClient *client, int64_t now_ns)
{
    g_return_val_if_fail(display != NULL && client != NULL, NULL);
    display->now_ns = now_ns;
    GList *link;
    while ((link = g_queue_pop_head_link(&client->pipe)) != NULL) {
        SvPipeItem *item = link->data;
        SvMessageBox *box = marshal(display, client, item);
        sv_pipe_item_free(item);
        if (box) {
            sv_latency_message_taken(display, client, &box->msg);
            return &box->msg;
        }
    }
    return NULL;
}

void sv_display_message_free(SvMessage *message)
{
    if (message == NULL) {
        return;
    }
    SvMessageBox *box = (SvMessageBox *)message;
    if (box->buffer) {
        box->buffer->free(box->buffer);
    }
    if (box->drawable) {
        sv_drawable_unref(box->drawable);
    }
    g_free(box->pixels);
    g_free(box->rects);
    g_free(box);
}

const char *sv_message_type_to_string(SvMessageType type)
{
    static const char *const names[] = {
        [SV_MSG_SURFACE_CREATE] = "surface-create",
        [SV_MSG_SURFACE_DESTROY] = "surface-destroy",
        [SV_MSG_DRAW] = "draw",
        [SV_MSG_STREAM_CREATE] = "stream-create",
        [SV_MSG_STREAM_DATA] = "stream-data",
        [SV_MSG_STREAM_CLIP] = "stream-clip",
        [SV_MSG_STREAM_DESTROY] = "stream-destroy",
        [SV_MSG_STREAM_DESTROY_ALL] = "stream-destroy-all",
        [SV_MSG_STREAM_ACTIVATE_REPORT] = "stream-activate-report",
        [SV_MSG_UPGRADE] = "upgrade",
        [SV_MSG_IMAGE] = "image",
        [SV_MSG_MULTI_MEDIA_TIME] = "multi-media-time",
        [SV_MSG_PLAYBACK_LATENCY] = "playback-latency",
    };
    return (guint)type < G_N_ELEMENTS(names) && names[type] ? names[type] : "?";
}

const char *sv_frame_disposition_to_string(SvFrameDisposition disposition)
{
    switch (disposition) {
    case SV_FRAME_AS_STREAM:
        return "stream";
    case SV_FRAME_NOT_STREAMED:
        return "not-streamed";
    case SV_FRAME_NO_ENCODER:
        return "no-encoder";
    case SV_FRAME_SIZED_NOT_SUPPORTED:
        return "sized-not-supported";
    case SV_FRAME_UNSUPPORTED:
        return "unsupported";
    }
    return "?";
}
