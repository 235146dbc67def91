/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Fuzz target for the display's command handling: the input is a display
 * configuration and a sequence of operations on up to four surfaces of at
 * most 256x256 pixels: surfaces created (any format, initial pixels either
 * way up) and destroyed, draws of every QXL type with random boxes (their
 * coordinates sometimes at the ends of the int32 range), clips,
 * effects, surface dependencies, bitmaps (every format, palettes short or
 * missing, strides, chunkings), surface and undecodable images, brushes,
 * masks, ROPs, transforms and alpha; update areas; copy_bits; video-like
 * bursts that start streams; clients (random capabilities) connecting,
 * leaving and popping their pipes; ticks, passes, streaming modes, codec
 * lists, device resets and audio.
 *
 * Bitmaps are what spice-server's parser (and harness/trace-commands.c)
 * lets through: a format from 1 to 10, a stride of at least a line, and
 * stride x height bytes of data. Checks after every step: the draw
 * counters count the accepted draws, refused commands and surfaces say
 * SV_DISPLAY_ERROR_INVALID_COMMAND, every client has an agent exactly
 * for each live stream, the pipes' lengths agree with
 * sv_display_can_pull_commands(), messages are well formed; ASan/LSan and
 * UBSan catch the rest. Linked with fuzz-main.c it replays
 * tests/fuzz/server-commands/ as a test.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <spice/qxl_dev.h>
#include <spice-video/spice-video.h>

#include "bitmap.h"
#include "fuzz-common.h"
#include "server-private.h"
#include "server-test-utils.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MS INT64_C(1000000)
#define MAX_SURFACES 4
#define MAX_SURFACE_SIDE 256
#define MAX_BITMAP_SIDE 64
#define MAX_CLIENTS 3
#define MAX_OPS 64
#define MAX_CLIP_RECTS 4
#define MAX_STREAMS 64

/* Everything one generated image owns. */
typedef struct Image {
    SvImage image;
    SpiceChunks *chunks;
    uint8_t *bytes[8];
    SpicePalette *palette;
} Image;

typedef struct State {
    SvDisplay *display;
    int64_t now;
    gboolean surfaces[MAX_SURFACES];
    SvDisplayClient *clients[MAX_CLIENTS];
    guint n_clients;
    guint n_named;
    guint max_streams;
    guint max_pipe;
    uint64_t draws;
    uint64_t draws_by_type[16];
} State;

static const uint32_t surface_formats[] = {
    SPICE_SURFACE_FMT_32_xRGB, SPICE_SURFACE_FMT_32_ARGB,
    SPICE_SURFACE_FMT_16_565,  SPICE_SURFACE_FMT_16_555,
    SPICE_SURFACE_FMT_8_A,     SPICE_SURFACE_FMT_1_A,
    SPICE_SURFACE_FMT_INVALID, 77,
};

/* Values at the ends of the int32 range, where sizes and offsets overflow. */
static const int32_t extremes[] = {
    INT32_MIN, INT32_MIN + 1, -65536, -4097, 4097, 65535, INT32_MAX - 255, INT32_MAX,
};

static int32_t coord(FuzzInput *in)
{
    /* Mostly on the surface, sometimes off it, rarely at the ends of the range. */
    uint8_t b = fuzz_u8(in);
    if (b < 0xf0) {
        return (int32_t)b + (b & 1) * 16;
    }
    if (b < 0xf8) {
        return (int32_t)(int8_t)fuzz_u8(in) * 64;
    }
    return extremes[b & 7];
}

static int32_t clamp32(int64_t v)
{
    return (int32_t)CLAMP(v, (int64_t)INT32_MIN, (int64_t)INT32_MAX);
}

/* x then y (an initializer's expressions are not evaluated in a set order). */
static SvPoint point(FuzzInput *in)
{
    SvPoint p;
    p.x = coord(in);
    p.y = coord(in);
    return p;
}

static SpiceRect rect(FuzzInput *in)
{
    SpiceRect r;
    r.left = coord(in);
    r.top = coord(in);
    uint8_t w = fuzz_u8(in), h = fuzz_u8(in);
    r.right = clamp32((int64_t)r.left + (w < 0xf8 ? w : -(int64_t)(w & 7)));
    r.bottom = clamp32((int64_t)r.top + (h < 0xf8 ? h : -(int64_t)(h & 7)));
    if (w == 0xff && h == 0xff) {
        /* The whole plane. */
        r = (SpiceRect){INT32_MIN, INT32_MIN, INT32_MAX, INT32_MAX};
    }
    return r;
}

static void image_clear(Image *im)
{
    if (im->chunks != NULL) {
        for (guint i = 0; i < im->chunks->num_chunks; i++) {
            g_free(im->bytes[i]);
        }
    }
    g_free(im->chunks);
    g_free(im->palette);
    memset(im, 0, sizeof(*im));
}

/* An image: a bitmap as spice's parser accepts it, a surface, or a
 * compressed image the display cannot decode. */
static const SvImage *make_image(FuzzInput *in, Image *im, gboolean mask)
{
    uint8_t kind = fuzz_u8(in);
    im->image.id = kind & 0x80 ? fuzz_u8(in) : 0;
    switch (kind % 4) {
    case 0:
        return NULL;
    case 1:
        im->image.type = SV_SOURCE_SURFACE;
        im->image.surface_id = fuzz_u8(in) % (MAX_SURFACES + 1);
        im->image.width = fuzz_u8(in);
        im->image.height = fuzz_u8(in);
        return &im->image;
    case 2:
        im->image.type = SV_SOURCE_OTHER;
        im->image.width = fuzz_u8(in);
        im->image.height = fuzz_u8(in);
        im->image.payload_bytes = fuzz_u16(in);
        return &im->image;
    default:
        break;
    }
    /* Masks are 1-bit bitmaps (other formats are refused): mostly those. */
    uint8_t fb = fuzz_u8(in);
    uint8_t format = mask && (fb & 0x80) ? 1 + (fb & 1) : 1 + fb % 10;
    uint32_t w = fuzz_u8(in) % (MAX_BITMAP_SIDE + 1);
    uint32_t h = fuzz_u8(in) % (MAX_BITMAP_SIDE + 1);
    uint8_t layout = fuzz_u8(in);
    uint32_t line = (w * sv_bitmap_format_bits(format) + 7) / 8;
    uint32_t stride = line + (layout & 3) * (layout & 4 ? 1 : 4);
    uint32_t total = stride * h + ((layout & 8) ? fuzz_u8(in) : 0);
    guint n_chunks = 1 + (layout >> 4) % 8;
    uint8_t seed = fuzz_u8(in);

    im->chunks = g_malloc0(sizeof(SpiceChunks) + n_chunks * sizeof(SpiceChunk));
    im->chunks->num_chunks = n_chunks;
    im->chunks->data_size = total;
    uint32_t at = 0;
    for (guint i = 0; i < n_chunks; i++) {
        uint32_t len = total - at;
        if (i + 1 < n_chunks) {
            uint32_t want = (uint32_t)fuzz_u8(in) * 3;
            len = MIN(len, want);
        }
        im->bytes[i] = len > 0 ? g_malloc(len) : NULL;
        for (uint32_t k = 0; k < len; k++) {
            im->bytes[i][k] = (uint8_t)((at + k) * 7 + seed);
        }
        im->chunks->chunk[i] = (SpiceChunk){im->bytes[i], len};
        at += len;
    }
    gboolean palette_format = format <= SPICE_BITMAP_FMT_8BIT;
    uint8_t pal = fuzz_u8(in);
    if (palette_format && !(pal & 0x80)) {
        /* Often shorter than the format's 2, 16 or 256 entries. */
        guint n = pal % 20;
        im->palette = g_malloc0(sizeof(SpicePalette) + MAX(n, 1) * sizeof(uint32_t));
        im->palette->unique = pal;
        im->palette->num_ents = (uint16_t)n;
        for (guint i = 0; i < n; i++) {
            im->palette->ents[i] = 0x010203u * (i + seed);
        }
    }
    im->image.type = SV_SOURCE_BITMAP;
    im->image.width = w;
    im->image.height = h;
    im->image.bitmap = (SpiceBitmap){.format = format,
                                     .flags = (layout & 0x80) ? 0 : SPICE_BITMAP_FLAGS_TOP_DOWN,
                                     .x = w,
                                     .y = h,
                                     .stride = stride,
                                     .palette = im->palette,
                                     .palette_id = im->palette ? pal : 0,
                                     .data = im->chunks};
    return &im->image;
}

static void check(State *st)
{
    SvDisplayStats stats;
    sv_display_get_stats(st->display, &stats);
    FUZZ_CHECK(stats.draws == st->draws);
    uint64_t sum = 0;
    for (guint i = 0; i < 16; i++) {
        FUZZ_CHECK(stats.draws_by_type[i] == st->draws_by_type[i]);
        sum += stats.draws_by_type[i];
    }
    FUZZ_CHECK(sum == stats.draws);
    FUZZ_CHECK(stats.streams_stopped <= stats.streams_created);

    SvStreamDetector *det = sv_display_get_detector(st->display);
    guint live = 0;
    for (guint id = 0; id < st->max_streams; id++) {
        SvStreamInfo info;
        gboolean active = sv_stream_detector_get_stream(det, id, &info);
        live += active;
        for (guint i = 0; i < st->n_clients; i++) {
            SvAgentInfo ai;
            FUZZ_CHECK(sv_display_client_get_agent(st->display, st->clients[i], id, &ai) == active);
        }
    }
    FUZZ_CHECK(live == sv_stream_detector_get_n_streams(det));
    FUZZ_CHECK(stats.streams_created - stats.streams_stopped == live);

    gboolean over = FALSE;
    for (guint i = 0; i < st->n_clients; i++) {
        over |= sv_display_client_pipe_length(st->clients[i]) > st->max_pipe;
    }
    FUZZ_CHECK(sv_display_can_pull_commands(st->display) == !over);
    for (guint s = 0; s < MAX_SURFACES; s++) {
        FUZZ_CHECK((sv_display_get_surface(st->display, s) != NULL) == st->surfaces[s]);
    }
}

static void pop(State *st, SvDisplayClient *client, guint max, gboolean sent)
{
    SvMessage *m;
    for (guint n = 0;
         (max == 0 || n < max) && (m = sv_display_client_pop(st->display, client, st->now)) != NULL;
         n++) {
        FUZZ_CHECK(m->wire_bytes >= 6);
        FUZZ_CHECK(m->clip_type != SV_CLIP_RECTS || m->n_clip_rects == 0 || m->clip_rects);
        if (m->type == SV_MSG_STREAM_DATA) {
            FUZZ_CHECK(m->data != NULL && m->data_size > 0 && m->source != NULL);
            FUZZ_CHECK(m->stream_id >= 0 && (guint)m->stream_id < st->max_streams);
        }
        if (m->type == SV_MSG_IMAGE) {
            FUZZ_CHECK(m->pixels != NULL);
            int32_t w = m->dest.right - m->dest.left, h = m->dest.bottom - m->dest.top;
            FUZZ_CHECK(w > 0 && h > 0 && m->pixels_stride >= w * 4);
            volatile uint8_t x = m->pixels[(size_t)(h - 1) * m->pixels_stride + (size_t)w * 4 - 1];
            (void)x;
        }
        if (m->type == SV_MSG_STREAM_DATA || m->type == SV_MSG_DRAW) {
            FUZZ_CHECK(sv_message_type_to_string(m->type) != NULL);
            FUZZ_CHECK(sv_frame_disposition_to_string(m->disposition) != NULL);
        }
        if (sent) {
            sv_display_client_sent(st->display, client, m, st->now);
        }
        /* The link budget's answer: any, without a crash. */
        (void)sv_display_client_may_send(st->display, client, st->now);
        sv_display_message_free(m);
    }
}

static void draw(State *st, const SvDrawCommand *cmd)
{
    g_autoptr(GError) error = NULL;
    uint64_t seq = 0;
    if (sv_display_draw(st->display, st->now, cmd, &seq, &error)) {
        FUZZ_CHECK(error == NULL);
        FUZZ_CHECK(seq == st->draws);
        st->draws++;
        st->draws_by_type[cmd->type & 15]++;
    } else {
        FUZZ_CHECK(g_error_matches(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND));
    }
    if (g_getenv("SV_FUZZ_VERBOSE") != NULL) {
        fprintf(stderr, "draw type %u on %u (%d,%d)-(%d,%d): %s\n", cmd->type, cmd->surface_id,
                cmd->bbox.left, cmd->bbox.top, cmd->bbox.right, cmd->bbox.bottom,
                error != NULL ? error->message : "accepted");
    }
}

static void random_draw(State *st, FuzzInput *in)
{
    Image src = {0}, mask = {0}, pattern = {0};
    SpiceRect clips[MAX_CLIP_RECTS];
    uint8_t head = fuzz_u8(in);
    uint8_t parts = fuzz_u8(in);
    SpiceRect bbox = rect(in);
    uint8_t effect = fuzz_u8(in);
    uint16_t rop_descriptor = fuzz_u16(in);
    uint8_t rop3 = fuzz_u8(in);
    uint8_t scale_mode = fuzz_u8(in) % 3;
    SvDrawCommand cmd = {
        .type = head % 15, /* NOP .. COMPOSITE, COPY_BITS = 4 */
        .surface_id = (head >> 4) % (MAX_SURFACES + 1),
        .bbox = bbox,
        .effect = effect % 8,
        .surfaces_dest = {-1, -1, -1},
        .rop_descriptor = rop_descriptor,
        .rop3 = rop3,
        .scale_mode = scale_mode,
    };
    if (parts & 1) {
        cmd.clip_type = SV_CLIP_RECTS;
        cmd.n_clip_rects = fuzz_u8(in) % (MAX_CLIP_RECTS + 1);
        for (guint i = 0; i < cmd.n_clip_rects; i++) {
            clips[i] = rect(in);
        }
        cmd.clip_rects = clips;
    }
    if (parts & 2) {
        for (guint i = 0; i < 3; i++) {
            uint8_t b = fuzz_u8(in);
            cmd.surfaces_dest[i] = b < 0x80 ? -1 : (int32_t)(b % (MAX_SURFACES + 1));
            cmd.surfaces_rects[i] = rect(in);
        }
    }
    if (parts & 4) {
        cmd.src = make_image(in, &src, FALSE);
        cmd.src_area = rect(in);
    }
    if (parts & 8) {
        cmd.brush.type = fuzz_u8(in) % 4;
        cmd.brush.color = fuzz_u32(in);
        if (cmd.brush.type == SV_BRUSH_PATTERN) {
            cmd.brush.pattern = make_image(in, &pattern, FALSE);
            cmd.brush.pattern_origin = point(in);
        }
    }
    if (parts & 0x10) {
        cmd.mask = make_image(in, &mask, TRUE);
        cmd.mask_flags = fuzz_u8(in);
        cmd.mask_pos = point(in);
    }
    if (parts & 0x20) {
        cmd.src_pos = point(in);
        cmd.src_color = fuzz_u32(in);
        cmd.alpha = fuzz_u8(in);
        cmd.alpha_flags = fuzz_u8(in) % 4;
        cmd.composite_flags = fuzz_u32(in);
        cmd.src_origin = point(in);
        cmd.mask_origin = point(in);
        cmd.payload_bytes = fuzz_u16(in);
    }
    if (parts & 0x40) {
        /* 16.16 transforms: identity-like, scaled, or anything. */
        uint8_t t = fuzz_u8(in);
        cmd.has_src_transform = (t & 1) != 0;
        cmd.has_mask_transform = (t & 2) != 0;
        for (guint i = 0; i < 6; i++) {
            int32_t v = (t & 4) ? (int32_t)fuzz_u32(in) : (int32_t)(int8_t)fuzz_u8(in) * (1 << 14);
            cmd.src_transform[i] = v;
            cmd.mask_transform[i] = (t & 8) ? v : (i == 0 || i == 4 ? 1 << 16 : 0);
        }
    }
    if (effect & 0x80) {
        sv_display_begin_pass(st->display);
    }
    draw(st, &cmd);
    if (parts & 0x80) {
        /* The guest reads the area back: the drawing is rendered now
         * rather than when something needs its pixels. */
        (void)sv_display_update_area(st->display, st->now, cmd.surface_id, &cmd.bbox, NULL);
    }
    image_clear(&src);
    image_clear(&mask);
    image_clear(&pattern);
}

/* A video-like burst: the same-size copy repeated 40 ms apart. */
static void burst(State *st, FuzzInput *in)
{
    uint8_t how = fuzz_u8(in);
    guint n = 1 + fuzz_u8(in) % 24;
    uint32_t w = 8 + fuzz_u8(in) % 120, h = 8 + fuzz_u8(in) % 120;
    SvPoint at = point(in);
    TestImage frames[2];
    test_image_init(&frames[0], w, h, 1);
    test_image_init(&frames[1], w, h, 5);
    for (guint i = 0; i < n; i++) {
        SvDrawCommand cmd = {
            .type = QXL_DRAW_COPY,
            .surface_id = how % MAX_SURFACES,
            .bbox = {at.x, at.y, clamp32((int64_t)at.x + w), clamp32((int64_t)at.y + h)},
            .effect = QXL_EFFECT_OPAQUE,
            .surfaces_dest = {-1, -1, -1},
            .src = &frames[i % 2].image,
            .src_area = {0, 0, (int32_t)w, (int32_t)h},
            .rop_descriptor = SPICE_ROPD_OP_PUT};
        st->now += 40 * MS;
        if (sv_display_next_timeout_ns(st->display) <= st->now) {
            sv_display_tick(st->display, st->now);
        }
        sv_display_begin_pass(st->display);
        draw(st, &cmd);
        if (how & 0x10) {
            for (guint c = 0; c < st->n_clients; c++) {
                pop(st, st->clients[c], 0, (how & 0x20) != 0);
            }
        }
    }
    test_image_clear(&frames[0]);
    test_image_clear(&frames[1]);
}

static void create_surface(State *st, FuzzInput *in)
{
    uint8_t head = fuzz_u8(in);
    uint32_t id = head % MAX_SURFACES;
    uint32_t w = fuzz_u8(in) + (head & 0x10 ? 1 : 0);
    uint32_t h = fuzz_u8(in) + (head & 0x20 ? 1 : 0);
    uint32_t format = surface_formats[fuzz_u8(in) % G_N_ELEMENTS(surface_formats)];
    gboolean primary = (head & 0x40) != 0;
    uint8_t init = fuzz_u8(in);
    g_autofree uint8_t *pixels = NULL;
    int32_t stride = 0;
    if (init & 1) {
        /* Initial pixels: lines of at least the format's size, either way up. */
        guint bpp = format == SPICE_SURFACE_FMT_16_555 || format == SPICE_SURFACE_FMT_16_565 ? 16
                    : format == SPICE_SURFACE_FMT_8_A                                        ? 8
                    : format == SPICE_SURFACE_FMT_1_A                                        ? 1
                                                                                             : 32;
        int32_t line = (int32_t)((w * bpp + 7) / 8);
        stride = line + (init >> 4) % 4;
        if (init & 2) {
            stride = (init & 4) ? line - 1 : -stride;
        }
        pixels = g_malloc((size_t)ABS(stride) * MAX(h, 1) + 1);
        for (size_t i = 0; i < (size_t)ABS(stride) * h; i++) {
            pixels[i] = (uint8_t)(i * 13 + init);
        }
    }
    g_autoptr(GError) error = NULL;
    gboolean ok = sv_display_create_surface(st->display, st->now, id, w, h, format, primary, pixels,
                                            stride, &error);
    FUZZ_CHECK(ok == (error == NULL));
    FUZZ_CHECK(ok || g_error_matches(error, SV_DISPLAY_ERROR, SV_DISPLAY_ERROR_INVALID_COMMAND));
    if (ok) {
        FUZZ_CHECK(id < MAX_SURFACES && !st->surfaces[id]);
        st->surfaces[id] = TRUE;
        FUZZ_CHECK(w > 0 && h > 0);
    }
}

static void add_client(State *st, FuzzInput *in)
{
    if (st->n_clients == MAX_CLIENTS) {
        return;
    }
    char name[8];
    g_snprintf(name, sizeof(name), "c%u", st->n_named++);
    uint8_t caps = fuzz_u8(in);
    SvClientConfig config = {
        .name = name,
        .display_caps = (caps & 0x80)
                            ? (uint32_t)caps << 1
                            : SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT) |
                                  SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) |
                                  SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG) |
                                  ((caps & 1) ? SV_CAP(SPICE_DISPLAY_CAP_SIZED_STREAM) : 0),
        .network_test_bps = (caps & 2) ? 1000000 : 0,
        .low_bandwidth = (caps & 4) != 0,
        .playback_latency_cap = (caps & 8) != 0,
    };
    g_autoptr(GError) error = NULL;
    SvDisplayClient *client = sv_display_add_client(st->display, st->now, &config, &error);
    FUZZ_CHECK(client != NULL && error == NULL);
    st->clients[st->n_clients++] = client;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init_logs();
    FuzzInput in = fuzz_input(data, size);
    State st = {.now = 1000 * MS};

    uint8_t setup = fuzz_u8(&in);
    uint8_t tuning = fuzz_u8(&in);
    SvDisplayConfig config;
    sv_display_config_init(&config);
    config.video_codecs = "spice:mjpeg";
    config.detector.mode = 1 + setup % 3; /* OFF, ALL, FILTER */
    config.detector.frames_start_condition = 2 + tuning % 19;
    config.detector.max_streams = 1 + (tuning >> 5) * 9;
    config.max_pipe_size = 1 + fuzz_u8(&in) % 64;
    config.max_tree_drawables = 1 + fuzz_u8(&in) * 4;
    config.latency_policy = (setup & 4) ? SV_LATENCY_POLICY_INTERACTIVE : SV_LATENCY_POLICY_SPICE;
    config.report_superseded_drops = (setup & 8) != 0;
    config.interactive_skip_busy_link = (setup & 0x10) != 0;
    config.audio_active = (setup & 0x20) != 0;
    st.max_streams = config.detector.max_streams;
    st.max_pipe = config.max_pipe_size;
    FUZZ_CHECK(st.max_streams <= MAX_STREAMS);

    g_autoptr(GError) error = NULL;
    st.display = sv_display_new(&config, &error);
    FUZZ_CHECK(st.display != NULL);
    if (setup & 0x40) {
        g_autoptr(SvVideoCodecs) codecs = sv_video_codecs_new();
        sv_video_codecs_append(codecs, &fake_mjpeg);
        sv_display_set_codecs_for_testing(st.display, codecs);
    }
    if (setup & 0x80) {
        /* Most inputs start with a screen and a client. */
        FUZZ_CHECK(sv_display_create_surface(st.display, st.now, 0, 256, 192,
                                             SPICE_SURFACE_FMT_32_xRGB, TRUE, NULL, 0, NULL));
        st.surfaces[0] = TRUE;
        add_client(&st, &in);
    }
    check(&st);

    for (guint op = 0; op < MAX_OPS && !fuzz_done(&in); op++) {
        if (g_getenv("SV_FUZZ_VERBOSE") != NULL) {
            fprintf(stderr, "op at offset %td\n", in.p - data);
        }
        uint8_t kind = fuzz_u8(&in);
        SvDisplayClient *client = st.n_clients > 0 ? st.clients[(kind >> 5) % st.n_clients] : NULL;
        switch (kind % 20) {
        case 0:
            create_surface(&st, &in);
            break;
        case 1: {
            uint32_t id = fuzz_u8(&in) % (MAX_SURFACES + 1);
            gboolean ok = sv_display_destroy_surface(st.display, st.now, id, NULL);
            FUZZ_CHECK(ok == (id < MAX_SURFACES && st.surfaces[id]));
            if (ok) {
                st.surfaces[id] = FALSE;
            }
            break;
        }
        case 2:
        case 3:
        case 4:
        case 5:
        case 6:
            random_draw(&st, &in);
            break;
        case 7: {
            uint32_t id = fuzz_u8(&in) % (MAX_SURFACES + 1);
            SpiceRect area = rect(&in);
            gboolean ok = sv_display_update_area(st.display, st.now, id, &area, NULL);
            FUZZ_CHECK(ok == (id < MAX_SURFACES && st.surfaces[id]));
            break;
        }
        case 8: {
            /* QXL_COPY_BITS: a screen scroll. */
            uint32_t id = fuzz_u8(&in) % MAX_SURFACES;
            SpiceRect bbox = rect(&in);
            SvDrawCommand cmd = {.type = QXL_COPY_BITS,
                                 .surface_id = id,
                                 .bbox = bbox,
                                 .effect = QXL_EFFECT_OPAQUE,
                                 .surfaces_dest = {-1, -1, -1},
                                 .src_pos = point(&in)};
            draw(&st, &cmd);
            break;
        }
        case 9:
            add_client(&st, &in);
            break;
        case 10:
            if (client != NULL) {
                guint i = (kind >> 5) % st.n_clients;
                sv_display_remove_client(st.display, client);
                st.clients[i] = st.clients[--st.n_clients];
            }
            break;
        case 11:
        case 12:
            if (client != NULL) {
                pop(&st, client, fuzz_u8(&in) % 8, (kind & 0x10) != 0);
            }
            break;
        case 13:
            st.now += (int64_t)fuzz_u16(&in) * MS / 16;
            if (sv_display_next_timeout_ns(st.display) <= st.now) {
                sv_display_tick(st.display, st.now);
            }
            break;
        case 14:
            sv_display_begin_pass(st.display);
            break;
        case 15:
        case 16:
            burst(&st, &in);
            break;
        case 17: {
            uint8_t b = fuzz_u8(&in);
            if (b & 1) {
                sv_display_stop_all_streams(st.display, st.now);
            } else {
                sv_display_set_streaming_mode(st.display, (SvStreamingMode)(1 + (b >> 1) % 3));
            }
            break;
        }
        case 18: {
            static const char *const lists[] = {"spice:mjpeg", "spice:mjpeg;spice:vp8", "bogus",
                                                ";;", "spice:vp9"};
            const char *s = lists[fuzz_u8(&in) % G_N_ELEMENTS(lists)];
            g_autoptr(GError) e = NULL;
            gboolean ok = sv_display_set_video_codecs(st.display, st.now, s, &e);
            FUZZ_CHECK(ok == (e == NULL));
            break;
        }
        default:
            if (kind & 0x10) {
                sv_display_destroy_surfaces(st.display, st.now);
                memset(st.surfaces, 0, sizeof(st.surfaces));
            } else {
                sv_display_set_audio_active(st.display, st.now, (kind & 0x20) != 0);
            }
            break;
        }
        check(&st);
    }
    for (guint i = 0; i < st.n_clients; i++) {
        pop(&st, st.clients[i], 0, FALSE);
    }
    check(&st);
    sv_display_free(st.display);
    FUZZ_CHECK(fake_live == 0);
    fakes_reset();
    return 0;
}
