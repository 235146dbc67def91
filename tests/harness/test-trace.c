/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/* The trace reader and writer: the corpus recordings (counts from
 * corpora/README.md), byte-exact round trips, every drawing type, and a
 * table of corrupt inputs with the exact message each must produce. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include <zlib.h>
#include <zstd.h>

#include <spice-video/trace.h>

#include "trace-input.h"

#ifndef SV_CORPORA_DIR
#error "SV_CORPORA_DIR is set by tests/harness/meson.build"
#endif

/* ---- corpus counts -------------------------------------------------------------------------- */

typedef struct {
    uint64_t events;
    uint64_t commands[6];
    uint64_t messages[SV_TRACE_MSG_LAST + 1];
    uint64_t draws[SV_TRACE_DRAW_COMPOSITE + 1];
    uint64_t cursors[4];
    uint64_t surface_creates;
    uint64_t surface_destroys;
    uint64_t first_ns;
    uint64_t last_ns;
    /* 640x360 copies to the primary */
    uint64_t video_frames;
    SvTraceRect video_bbox;
    GHashTable *frame_hashes;
    uint64_t max_gap_ns;
    uint64_t last_video_ns;
} Counts;

static void count_event(Counts *c, const SvTraceEvent *ev)
{
    if (c->events == 0) {
        c->first_ns = ev->timestamp_ns;
    }
    c->events++;
    c->last_ns = ev->timestamp_ns;
    if (ev->kind == SV_TRACE_KIND_MESSAGE) {
        g_assert_cmpuint(ev->type, <=, SV_TRACE_MSG_LAST);
        c->messages[ev->type]++;
        return;
    }
    g_assert_cmpuint(ev->kind, ==, SV_TRACE_KIND_COMMAND);
    g_assert_cmpuint(ev->type, <=, 5);
    c->commands[ev->type]++;
    if (ev->type == SV_TRACE_CMD_DRAW) {
        const SvTraceDrawable *d = &ev->draw;
        g_assert_cmpuint(d->type, <=, SV_TRACE_DRAW_COMPOSITE);
        c->draws[d->type]++;
        const SvTraceImage *img = d->src_image;
        if (d->type == SV_TRACE_DRAW_COPY && img != NULL && img->bitmap_x == 640 &&
            img->bitmap_y == 360) {
            g_assert_cmpuint(img->type, ==, SV_TRACE_IMAGE_BITMAP);
            g_assert_cmpuint(img->data.total_bytes, ==, 921600);
            g_assert_cmpuint(img->data.n_chunks, ==, 4);
            g_assert_cmpint(d->surface_id, ==, 0);
            if (c->video_frames > 0) {
                g_assert_cmpmem(&c->video_bbox, sizeof(SvTraceRect), &d->bbox, sizeof(SvTraceRect));
                c->max_gap_ns = MAX(c->max_gap_ns, ev->timestamp_ns - c->last_video_ns);
            }
            c->video_bbox = d->bbox;
            c->last_video_ns = ev->timestamp_ns;
            c->video_frames++;
            g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
            for (uint32_t i = 0; i < img->data.n_chunks; i++) {
                g_checksum_update(sum, img->data.chunks[i].data, img->data.chunks[i].size);
            }
            g_hash_table_add(c->frame_hashes, g_strdup(g_checksum_get_string(sum)));
        }
    } else if (ev->type == SV_TRACE_CMD_CURSOR) {
        g_assert_cmpuint(ev->cursor.type, <=, 3);
        c->cursors[ev->cursor.type]++;
    } else if (ev->type == SV_TRACE_CMD_SURFACE) {
        if (ev->surface.type == SV_TRACE_SURFACE_CREATE) {
            c->surface_creates++;
        } else {
            c->surface_destroys++;
        }
    }
}

static void read_counts(const char *path, Counts *c)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new(path, &error);
    g_assert_no_error(error);
    memset(c, 0, sizeof(*c));
    c->frame_hashes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    const SvTraceEvent *ev;
    while ((ev = sv_trace_reader_next(reader, &error)) != NULL) {
        count_event(c, ev);
    }
    g_assert_no_error(error);
    SvTraceReaderStats stats;
    sv_trace_reader_get_stats(reader, &stats);
    g_assert_cmpuint(stats.events, ==, c->events);
    g_assert_cmpuint(stats.skipped, ==, 0);
    g_assert_cmpint(sv_trace_reader_get_compression(reader), ==, SV_TRACE_COMPRESSION_ZSTD);
}

static void test_corpus_idle_cursor(void)
{
    Counts c;
    read_counts(SV_CORPORA_DIR "/idle-cursor.spice.zst", &c);
    g_assert_cmpuint(c.events, ==, 507);
    g_assert_cmpuint(c.commands[SV_TRACE_CMD_CURSOR], ==, 245);
    g_assert_cmpuint(c.cursors[SV_TRACE_CURSOR_SET], ==, 1);
    g_assert_cmpuint(c.cursors[SV_TRACE_CURSOR_MOVE], ==, 242);
    g_assert_cmpuint(c.cursors[SV_TRACE_CURSOR_HIDE], ==, 2);
    g_assert_cmpuint(c.commands[SV_TRACE_CMD_DRAW], ==, 3);
    g_assert_cmpuint(c.draws[SV_TRACE_DRAW_FILL], ==, 2);
    g_assert_cmpuint(c.draws[SV_TRACE_DRAW_COPY], ==, 1);
    g_assert_cmpuint(c.commands[SV_TRACE_CMD_SURFACE], ==, 3);
    g_assert_cmpuint(c.messages[SV_TRACE_MSG_CREATE_PRIMARY_SURFACE], ==, 1);
    /* 10.81 s */
    g_assert_cmpuint((c.last_ns - c.first_ns) / 10000000, ==, 1080);
    g_hash_table_destroy(c.frame_hashes);
}

static void test_corpus_text_scroll(void)
{
    Counts c;
    read_counts(SV_CORPORA_DIR "/text-scroll.spice.zst", &c);
    g_assert_cmpuint(c.events, ==, 4988);
    g_assert_cmpuint(c.commands[SV_TRACE_CMD_DRAW], ==, 2311);
    g_assert_cmpuint(c.draws[SV_TRACE_DRAW_COPY], ==, 1758);
    g_assert_cmpuint(c.draws[SV_TRACE_DRAW_FILL], ==, 283);
    g_assert_cmpuint(c.draws[SV_TRACE_DRAW_COPY_BITS], ==, 270);
    g_assert_cmpuint(c.messages[SV_TRACE_MSG_UPDATE], ==, 1447);
    g_assert_cmpuint(c.commands[SV_TRACE_CMD_SURFACE], ==, 19);
    /* 8.60 s */
    g_assert_cmpuint((c.last_ns - c.first_ns) / 10000000, ==, 860);
    g_hash_table_destroy(c.frame_hashes);
}

static void test_corpus_video(void)
{
    Counts c;
    read_counts(SV_CORPORA_DIR "/video-photos-640-cut.spice.zst", &c);
    g_assert_cmpuint(c.events, ==, 119);
    g_assert_cmpuint(c.draws[SV_TRACE_DRAW_COPY], ==, 46);
    g_assert_cmpuint(c.draws[SV_TRACE_DRAW_FILL], ==, 2);
    g_assert_cmpuint(c.video_frames, ==, 45);
    /* Every frame is different, all at (192,204), 25 fps. */
    g_assert_cmpuint(g_hash_table_size(c.frame_hashes), ==, 45);
    g_assert_cmpint(c.video_bbox.left, ==, 192);
    g_assert_cmpint(c.video_bbox.top, ==, 204);
    g_assert_cmpint(c.video_bbox.right, ==, 832);
    g_assert_cmpint(c.video_bbox.bottom, ==, 564);
    g_assert_cmpuint(c.max_gap_ns, <, 60000000);
    g_hash_table_destroy(c.frame_hashes);
}

/* ---- round trip ----------------------------------------------------------------------------- */

/* Writes every event of @in to @out (compressed as its name says). */
static uint64_t copy_trace(const char *in, const char *out)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new(in, &error);
    g_assert_no_error(error);
    g_autoptr(SvTraceWriter) writer =
        sv_trace_writer_new(out, sv_trace_compression_from_name(out), 1, &error);
    g_assert_no_error(error);
    const SvTraceEvent *ev;
    uint64_t n = 0;
    while ((ev = sv_trace_reader_next(reader, &error)) != NULL) {
        g_assert_true(sv_trace_writer_write(writer, ev, &error));
        n++;
    }
    g_assert_no_error(error);
    g_assert_true(sv_trace_writer_close(writer, &error));
    g_assert_no_error(error);
    return n;
}

/* Both files, decompressed, hold the same bytes. */
static void assert_same_content(const char *a, const char *b)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceInput) ia = sv_trace_input_new(a, &error);
    g_assert_no_error(error);
    g_autoptr(SvTraceInput) ib = sv_trace_input_new(b, &error);
    g_assert_no_error(error);
    g_autofree uint8_t *ba = g_malloc(1 << 20);
    g_autofree uint8_t *bb = g_malloc(1 << 20);
    uint64_t offset = 0;
    for (;;) {
        gssize na = sv_trace_input_read(ia, ba, 1 << 20, &error);
        g_assert_no_error(error);
        gssize nb = sv_trace_input_read(ib, bb, 1 << 20, &error);
        g_assert_no_error(error);
        g_assert_cmpint(na, ==, nb);
        if (na == 0) {
            break;
        }
        if (memcmp(ba, bb, (size_t)na) != 0) {
            g_error("%s and %s differ after offset %" G_GUINT64_FORMAT, a, b, offset);
        }
        offset += (uint64_t)na;
    }
}

static void test_round_trip(gconstpointer data)
{
    const char *name = data;
    g_autofree char *in = g_build_filename(SV_CORPORA_DIR, name, NULL);
    g_autofree char *dir = g_dir_make_tmp("sv-trace-XXXXXX", NULL);
    g_autofree char *plain = g_build_filename(dir, "out.spice", NULL);
    g_autofree char *gz = g_build_filename(dir, "out.spice.gz", NULL);
    g_autofree char *zst = g_build_filename(dir, "out.spice.zst", NULL);

    uint64_t n = copy_trace(in, plain);
    /* spice-server's own bytes come back exactly. */
    assert_same_content(in, plain);
    g_assert_cmpuint(copy_trace(plain, gz), ==, n);
    assert_same_content(in, gz);
    g_assert_cmpuint(copy_trace(gz, zst), ==, n);
    assert_same_content(in, zst);
    /* No temporary file is left behind. */
    g_autofree char *tmp = g_strconcat(plain, ".tmp", NULL);
    g_assert_false(g_file_test(tmp, G_FILE_TEST_EXISTS));
    g_unlink(plain);
    g_unlink(gz);
    g_unlink(zst);
    g_rmdir(dir);
}

/* ---- every drawing type -----------------------------------------------------------------------
 */

static const uint8_t pixels[64] = {1, 2, 3, 4, 5, 6, 7, 8, '\n', 10, 11, 12, 13, 14, 15, 16};

static SvTraceImage make_bitmap(uint32_t flags, gboolean palette)
{
    static const uint32_t ents[2] = {0xff000000u, 0x00ffffffu};
    static const SvTraceBlob split[2] = {{pixels, 16}, {pixels + 16, 16}};
    static const SvTraceBlob whole[1] = {{pixels, 32}};
    SvTraceImage img = {0};
    img.id = UINT64_C(0xfedcba9876543210);
    img.type = SV_TRACE_IMAGE_BITMAP;
    img.width = 4;
    img.height = 2;
    img.bitmap_format = palette ? 5 : 8;
    img.bitmap_flags = flags;
    img.bitmap_x = 4;
    img.bitmap_y = 2;
    img.bitmap_stride = 16;
    if (palette) {
        img.has_palette = TRUE;
        img.palette_n = 2;
        img.palette = ents;
        img.palette_unique = 99;
    }
    if (flags & SV_TRACE_BITMAP_DIRECT) {
        img.data.n_chunks = 1;
        img.data.chunks = whole;
    } else {
        img.data.n_chunks = 2;
        img.data.chunks = split;
    }
    img.data.total_bytes = 32;
    return img;
}

static void write_all_types(const char *path)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceWriter) w = sv_trace_writer_new(path, SV_TRACE_COMPRESSION_NONE, 0, &error);
    g_assert_no_error(error);
    SvTraceImage bitmap = make_bitmap(SV_TRACE_BITMAP_TOP_DOWN, FALSE);
    SvTraceImage flat = make_bitmap(SV_TRACE_BITMAP_DIRECT, TRUE);
    SvTraceImage surface = {
        .id = 5, .type = SV_TRACE_IMAGE_SURFACE, .width = 8, .height = 8, .surface_id = 3};
    SvTraceBlob quic_chunk = {pixels, 20};
    SvTraceImage quic = {.id = 6,
                         .type = SV_TRACE_IMAGE_QUIC,
                         .width = 4,
                         .height = 4,
                         .payload_key = "quic",
                         .payload_size = 20};
    quic.data.n_chunks = 1;
    quic.data.chunks = &quic_chunk;
    quic.data.total_bytes = 20;
    SvTraceRect rects[2] = {{0, 0, 10, 10}, {-5, 20, 30, 40}};
    SvTraceBlob blob24 = {pixels, 24};
    SvTraceBlob path_chunk = {pixels, 12};

    SvTraceEvent ev = {0};
    ev.kind = SV_TRACE_KIND_MESSAGE;
    ev.type = SV_TRACE_MSG_CREATE_PRIMARY_SURFACE;
    ev.timestamp_ns = 1000;
    ev.primary = (SvTracePrimary){TRUE, 4, 2, -16, 32, 0, 1, 0, 0, {pixels, 32}};
    g_assert_true(sv_trace_writer_write(w, &ev, &error));

    for (uint32_t type = 0; type <= SV_TRACE_DRAW_COMPOSITE; type++) {
        for (int compat = 0; compat <= 1; compat++) {
            memset(&ev, 0, sizeof(ev));
            ev.kind = SV_TRACE_KIND_COMMAND;
            ev.type = SV_TRACE_CMD_DRAW;
            ev.timestamp_ns = 2000 + type * 10 + (uint64_t)compat;
            SvTraceDrawable *d = &ev.draw;
            d->compat = compat;
            d->bbox = (SvTraceRect){1, 2, 3, 4};
            d->clip.type = type % 2 ? SV_TRACE_CLIP_RECTS : SV_TRACE_CLIP_NONE;
            d->clip.n_rects = 2;
            d->clip.rects = rects;
            d->effect = 1;
            d->mm_time = 0xfffffff0u;
            d->surfaces_dest[0] = d->surfaces_dest[1] = d->surfaces_dest[2] = -1;
            d->bitmap_offset = 7;
            d->type = type;
            d->src_image = type == SV_TRACE_DRAW_ROP3          ? &quic
                           : type == SV_TRACE_DRAW_TRANSPARENT ? &surface
                           : type == SV_TRACE_DRAW_OPAQUE      ? &flat
                                                               : &bitmap;
            d->src_area = (SvTraceRect){0, 0, 4, 2};
            d->brush.type = type % 3;
            d->brush.color = 0x80ff00ffu;
            d->brush.pattern = &bitmap;
            d->brush.pattern_origin = (SvTracePoint){-1, 2};
            d->back_brush.type = SV_TRACE_BRUSH_SOLID;
            d->back_brush.color = 12;
            d->rop_descriptor = 8;
            d->mask.flags = 1;
            d->mask.bitmap = type == SV_TRACE_DRAW_BLACKNESS ? &flat : NULL;
            d->src_pos = (SvTracePoint){9, 8};
            d->path = (SvTraceChunks){1, &path_chunk, 12};
            d->attr_flags = 8;
            d->style_nseg = 6;
            d->style = blob24;
            d->string_data_size = 12;
            d->string_length = 3;
            d->string = (SvTraceChunks){1, &path_chunk, 12};
            d->alpha = 200;
            d->alpha_flags = 1;
            d->composite_flags = 0x1234;
            d->has_src_transform = TRUE;
            d->src_transform = blob24;
            d->mask.bitmap = type == SV_TRACE_DRAW_COMPOSITE ? &bitmap : d->mask.bitmap;
            d->src_origin = (SvTracePoint){1, 1};
            d->mask_origin = (SvTracePoint){2, 2};
            g_assert_true(sv_trace_writer_write(w, &ev, &error));
        }
    }
    memset(&ev, 0, sizeof(ev));
    ev.kind = SV_TRACE_KIND_COMMAND;
    ev.type = SV_TRACE_CMD_UPDATE;
    ev.update = (SvTraceUpdate){{1, 2, 3, 4}, 77, 0};
    g_assert_true(sv_trace_writer_write(w, &ev, &error));
    ev.type = SV_TRACE_CMD_MESSAGE;
    ev.message = (SvTraceBlob){(const uint8_t *)"hello guest", 11};
    g_assert_true(sv_trace_writer_write(w, &ev, &error));
    ev.type = SV_TRACE_CMD_SURFACE;
    ev.surface = (SvTraceSurfaceCmd){
        3, SV_TRACE_SURFACE_CREATE, SV_TRACE_SURFACE_KEEP_DATA, 96, 4, 2, -16, {pixels, 32}};
    g_assert_true(sv_trace_writer_write(w, &ev, &error));
    for (uint32_t t = 0; t <= 3; t++) {
        memset(&ev, 0, sizeof(ev));
        ev.kind = SV_TRACE_KIND_COMMAND;
        ev.type = SV_TRACE_CMD_CURSOR;
        ev.cursor.type = t;
        ev.cursor.position = (SvTracePoint){-3, 60000};
        ev.cursor.visible = 1;
        ev.cursor.unique = G_MAXUINT64;
        ev.cursor.width = ev.cursor.height = 2;
        ev.cursor.data_size = 16;
        ev.cursor.data = (SvTraceChunks){1, &path_chunk, 12};
        ev.cursor.trail_length = 4;
        ev.cursor.trail_frequency = 5;
        g_assert_true(sv_trace_writer_write(w, &ev, &error));
    }
    g_assert_true(sv_trace_writer_close(w, &error));
}

static void test_all_types(void)
{
    g_autofree char *dir = g_dir_make_tmp("sv-trace-XXXXXX", NULL);
    g_autofree char *a = g_build_filename(dir, "a.spice", NULL);
    g_autofree char *b = g_build_filename(dir, "b.spice", NULL);
    write_all_types(a);

    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new(a, &error);
    g_assert_no_error(error);
    const SvTraceEvent *ev = sv_trace_reader_next(reader, &error);
    g_assert_nonnull(ev);
    g_assert_true(ev->primary.present);
    g_assert_cmpint(ev->primary.stride, ==, -16);
    for (uint32_t type = 0; type <= SV_TRACE_DRAW_COMPOSITE; type++) {
        for (int compat = 0; compat <= 1; compat++) {
            ev = sv_trace_reader_next(reader, &error);
            g_assert_no_error(error);
            g_assert_nonnull(ev);
            g_assert_cmpuint(ev->draw.type, ==, type);
            g_assert_cmpint(ev->draw.compat, ==, compat);
            g_assert_cmpuint(ev->timestamp_ns, ==, 2000 + type * 10 + (uint64_t)compat);
            g_assert_cmpuint(ev->draw.mm_time, ==, 0xfffffff0u);
            if (type % 2) {
                g_assert_cmpuint(ev->draw.clip.n_rects, ==, 2);
                g_assert_cmpint(ev->draw.clip.rects[1].left, ==, -5);
                g_assert_cmpint(ev->draw.clip.rects[1].bottom, ==, 40);
            }
            if (type == SV_TRACE_DRAW_ROP3) {
                g_assert_cmpstr(ev->draw.src_image->payload_key, ==, "quic");
                g_assert_cmpuint(ev->draw.src_image->data.total_bytes, ==, 20);
            }
            if (type == SV_TRACE_DRAW_OPAQUE) {
                g_assert_cmpuint(ev->draw.src_image->palette_n, ==, 2);
                g_assert_cmpuint(ev->draw.src_image->palette[0], ==, 0xff000000u);
                g_assert_cmpuint(ev->draw.src_image->id, ==, UINT64_C(0xfedcba9876543210));
                g_assert_cmpmem(ev->draw.src_image->data.chunks[0].data, 32, pixels, 32);
            }
            if (type == SV_TRACE_DRAW_COPY) {
                g_assert_cmpuint(ev->draw.src_image->data.n_chunks, ==, 2);
            }
            if (type == SV_TRACE_DRAW_COMPOSITE) {
                g_assert_nonnull(ev->draw.mask.bitmap);
                g_assert_cmpuint(ev->draw.src_transform.size, ==, 24);
            }
        }
    }
    int n = 0;
    while ((ev = sv_trace_reader_next(reader, &error)) != NULL) {
        n++;
    }
    g_assert_no_error(error);
    g_assert_cmpint(n, ==, 7);

    /* Read and written again: the same bytes. */
    copy_trace(a, b);
    assert_same_content(a, b);
    g_unlink(a);
    g_unlink(b);
    g_rmdir(dir);
}

/* ---- corrupt input -------------------------------------------------------------------------- */

static const char base_trace[] = "SPICE_REPLAY 1\n"
                                 "event 0 1 20 1000\n"
                                 "4 2 16 32\n"
                                 "0 0 0 0\n"
                                 "binary 0 data 32:0123456789abcdef0123456789abcdef\n"
                                 "event 1 0 1 2000\n"
                                 "drawable\n"
                                 "rect bbox 0 0 2 4\n"
                                 "type 0\n"
                                 "effect 1\n"
                                 "mm_time 0\n"
                                 "self_bitmap 0\n"
                                 "rect self_bitmap_area 0 0 0 0\n"
                                 "surface_id 0\n"
                                 "surfaces_dest -1\n"
                                 "rect surfaces_rects 0 0 0 0\n"
                                 "surfaces_dest -1\n"
                                 "rect surfaces_rects 0 0 0 0\n"
                                 "surfaces_dest -1\n"
                                 "rect surfaces_rects 0 0 0 0\n"
                                 "type 3\n"
                                 "image 1\n"
                                 "descriptor.id 7\n"
                                 "descriptor.type 0\n"
                                 "descriptor.flags 0\n"
                                 "descriptor.width 4\n"
                                 "descriptor.height 2\n"
                                 "bitmap.format 9\n"
                                 "bitmap.flags 4\n"
                                 "bitmap.x 4\n"
                                 "bitmap.y 2\n"
                                 "bitmap.stride 16\n"
                                 "has_palette 0\n"
                                 "data_chunks 1 32\n"
                                 "binary 0 bitmap.data 16:0123456789abcdef\n"
                                 "binary 0 bitmap.data 16:0123456789abcdef\n"
                                 "rect src_area 0 0 2 4\n"
                                 "rop_descriptor 8\n"
                                 "scale_mode 0\n"
                                 "flags 0\n"
                                 "point 0 0\n"
                                 "image 0\n"
                                 "event 2 0 3 3000\n"
                                 "cursor_cmd\n"
                                 "type 1\n"
                                 "point16 5 6\n";

static GByteArray *edited(const char *find, const char *replace)
{
    GByteArray *out = g_byte_array_new();
    const char *at = find != NULL ? strstr(base_trace, find) : NULL;
    if (find != NULL) {
        g_assert_nonnull(at);
    }
    size_t head = at != NULL ? (size_t)(at - base_trace) : strlen(base_trace);
    g_byte_array_append(out, (const guint8 *)base_trace, (guint)head);
    if (at != NULL) {
        g_byte_array_append(out, (const guint8 *)replace, (guint)strlen(replace));
        const char *tail = at + strlen(find);
        g_byte_array_append(out, (const guint8 *)tail, (guint)strlen(tail));
    }
    return out;
}

/* Reads @data to the end. @return the error message, or NULL. */
static char *read_all(const uint8_t *data, size_t size, uint64_t *events)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new_from_data("t", data, size, &error);
    *events = 0;
    if (reader == NULL) {
        return g_strdup(error->message);
    }
    while (sv_trace_reader_next(reader, &error) != NULL) {
        (*events)++;
    }
    return error != NULL ? g_strdup(error->message) : NULL;
}

typedef struct {
    const char *find;
    const char *replace;
    const char *message;
} CorruptCase;

static const CorruptCase corrupt_cases[] = {
    {"SPICE_REPLAY 1", "SPICE_REPLAY 2",
     "t: offset 13 (line 1): unsupported SPICE_REPLAY version 2 (expected 1)"},
    {"SPICE_REPLAY 1", "SPICE_RECORD 1",
     "t: offset 0 (line 1): expected the header \"SPICE_REPLAY 1\", found \"SPICE_RECORD\""},
    {"effect 1", "affect 1",
     "t: offset 152 (line 10, event 1): expected \"effect\", found \"affect\""},
    {"event 1 0 1 2000", "event 1 0 1 20x0",
     "t: offset 113 (line 6, event 1): expected a number for \"timestamp\", found \"20x0\""},
    {"event 1 0 1", "evnt 1 0 1",
     "t: offset 101 (line 6, event 0): expected \"event\", found \"evnt\""},
    {"data_chunks 1 32", "data_chunks 1 33",
     "t: offset 568 (line 34, event 1): data_chunks total 33 does not match its chunks (32 bytes)"},
    {"data_chunks 1 32", "data_chunks 1 31",
     "t: offset 568 (line 34, event 1): data_chunks total 31 is less than its chunks (32 bytes so "
     "far)"},
    {"bitmap.stride 16", "bitmap.stride 20",
     "t: offset 537 (line 32, event 1): bitmap data is 32 bytes, expected bitmap.y * "
     "|bitmap.stride| = 40"},
    {"bitmap.x 4", "bitmap.x -4",
     "t: offset 510 (line 30, event 1): \"bitmap.x\" -4 out of range [0, 65536]"},
    {"descriptor.width 4", "descriptor.width 1000000000",
     "t: offset 448 (line 26, event 1): \"descriptor.width\" 1000000000 out of range [0, 65536]"},
    {"binary 0 data 32:", "binary 0 data 1099511627776:",
     "t: offset 65 (line 5, event 0): blob \"data\" of 1099511627776 bytes exceeds the limit of "
     "1073741824 bytes"},
    {"binary 0 data 32:", "binary 0 data 33:",
     "t: offset 65 (line 5, event 0): blob \"data\" has 33 bytes, expected 32"},
    {"binary 0 data 32:", "binary 0 data 32;",
     "t: offset 65 (line 5, event 0): expected a number for \"data\", found "
     "\"32;0123456789abcdef0123456789abcdef\""},
    {"binary 0 bitmap.data 16:0123456789abcdef\nrect",
     "binary 0 bitmap.data 16:0123456789abcdef\nbinary 0 bitmap.data 16:",
     "t: offset 653 (line 37, event 1): expected \"rect src_area\", found \"binary\""},
    {"type 1\npoint16 5 6\n",
     "type 0\npoint16 5 6\nu.set.visible 1\nheader.unique 0\n"
     "header.type 0\nheader.width 2\nheader.height 2\n"
     "header.hot_spot_x 0\nheader.hot_spot_y 0\ndata_size 16\n"
     "data_chunks 0 16\nbinary 0 cursor 16:abc",
     "t: offset 944 (line 56, event 2): blob \"cursor\" of 16 bytes runs past the end of the "
     "file (3 bytes left)"},
    {"rect bbox 0 0 2 4", "rect bbox 0 0 2",
     "t: offset 143 (line 9, event 1): expected a number for \"rect bbox\", found \"type\""},
    {"type 3\nimage 1", "type 3\nimage 2",
     "t: offset 376 (line 22, event 1): \"image\" 2 out of range [0, 1]"},
    {"point16 5 6\n", "point16 5\n",
     "t: offset 776 (line 47, event 2): unexpected end of file, expected a number for "
     "\"point16\""},
};

static void test_corrupt(void)
{
    int failures = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(corrupt_cases); i++) {
        const CorruptCase *c = &corrupt_cases[i];
        g_autoptr(GByteArray) data = edited(c->find, c->replace);
        uint64_t events;
        g_autofree char *message = read_all(data->data, data->len, &events);
        if (g_strcmp0(message, c->message) != 0) {
            g_test_message("case %zu: got %s", i, message != NULL ? message : "(no error)");
            failures++;
        }
    }
    g_assert_cmpint(failures, ==, 0);
    /* The unedited trace reads. */
    uint64_t events;
    g_autofree char *message = read_all((const uint8_t *)base_trace, strlen(base_trace), &events);
    g_assert_null(message);
    g_assert_cmpuint(events, ==, 3);
}

/* Cut at every offset: either a clean shorter trace (cut between events)
 * or one error line naming the end of the file. */
static void test_truncated(void)
{
    size_t size = strlen(base_trace);
    for (size_t cut = 0; cut < size; cut++) {
        uint64_t events;
        g_autofree char *message = read_all((const uint8_t *)base_trace, cut, &events);
        /* A cut that leaves only whitespace before the next event line
         * (or the end) removes whole records. */
        size_t next = cut;
        while (next < size && g_ascii_isspace(base_trace[next])) {
            next++;
        }
        gboolean boundary =
            cut >= 14 && (next == size || strncmp(base_trace + next, "event", 5) == 0);
        if (boundary) {
            g_assert_null(message);
            continue;
        }
        if (message == NULL) {
            g_error("cut at %zu reads without error", cut);
        }
        g_assert_true(g_str_has_prefix(message, "t: offset "));
        g_assert_true(strstr(message, "end of the file") != NULL ||
                      strstr(message, "unexpected end of file") != NULL ||
                      /* "SPICE_REP" and "4 2 1" style cuts end inside a token. */
                      strstr(message, "expected") != NULL);
        g_assert_null(strchr(message, '\n'));
    }
}

static GBytes *compress_zstd(const void *data, size_t size)
{
    size_t bound = ZSTD_compressBound(size);
    uint8_t *out = g_malloc(bound);
    size_t n = ZSTD_compress(out, bound, data, size, 3);
    g_assert_false(ZSTD_isError(n));
    return g_bytes_new_take(out, n);
}

static GBytes *compress_gzip(const void *data, size_t size)
{
    z_stream zs = {0};
    g_assert_cmpint(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), ==, Z_OK);
    size_t bound = deflateBound(&zs, size);
    uint8_t *out = g_malloc(bound);
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)size;
    zs.next_out = out;
    zs.avail_out = (uInt)bound;
    g_assert_cmpint(deflate(&zs, Z_FINISH), ==, Z_STREAM_END);
    size_t n = zs.total_out;
    deflateEnd(&zs);
    return g_bytes_new_take(out, n);
}

static void test_compressed(void)
{
    size_t size = strlen(base_trace);
    GBytes *packed[2] = {compress_zstd(base_trace, size), compress_gzip(base_trace, size)};
    const char *truncated[2] = {"truncated zstd data", "truncated gzip data"};
    const char *corrupt[2] = {"corrupt zstd data: ", "corrupt gzip data: "};
    /* zstd decodes nothing of a block until it has all of it; gzip streams. */
    const char *half_messages[2] = {"t: offset 0 (line 1): truncated zstd data",
                                    "t: offset 778 (line 47): truncated gzip data"};
    const char *damaged_frame[2] = {
        "t: offset 0 (line 1): corrupt zstd data: Unsupported frame parameter",
        "t: offset 0 (line 1): corrupt gzip data: unknown compression method"};

    for (int k = 0; k < 2; k++) {
        gsize n;
        const uint8_t *p = g_bytes_get_data(packed[k], &n);
        uint64_t events;
        g_autofree char *ok = read_all(p, n, &events);
        g_assert_null(ok);
        g_assert_cmpuint(events, ==, 3);

        /* Every shorter prefix fails with a one-line message. */
        for (gsize cut = 4; cut < n; cut++) {
            g_autofree char *message = read_all(p, cut, &events);
            g_assert_nonnull(message);
            g_assert_true(g_str_has_prefix(message, "t: offset "));
            g_assert_true(strstr(message, truncated[k]) != NULL ||
                          strstr(message, corrupt[k]) != NULL || strstr(message, "end of") != NULL);
        }
        g_autofree char *half = read_all(p, n - 6, &events);
        g_assert_cmpstr(half, ==, half_messages[k]);

        /* A damaged byte in the middle. */
        g_autofree uint8_t *bad = g_memdup2(p, n);
        for (gsize i = n / 3; i < n / 3 + 8; i++) {
            bad[i] ^= 0x5a;
        }
        g_autofree char *message = read_all(bad, n, &events);
        g_assert_nonnull(message);
        g_test_message("%s", message);
        g_assert_true(g_str_has_prefix(message, "t: offset "));

        /* A damaged frame header. */
        memcpy(bad, p, n);
        bad[k == 0 ? 4 : 2] ^= 0xff;
        g_autofree char *header = read_all(bad, n, &events);
        g_assert_cmpstr(header, ==, damaged_frame[k]);
        g_bytes_unref(packed[k]);
    }
}

static void test_unknown_records(void)
{
    g_autoptr(GByteArray) data =
        edited("event 2 0 3 3000", "event 2 0 9 2500\nfuture_cmd\nvalue 3\nbinary 0 x 5:event\n"
                                   "event 3 1 77 2600\n"
                                   "event 4 0 3 3000");
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader =
        sv_trace_reader_new_from_data("t", data->data, data->len, &error);
    g_assert_no_error(error);
    const SvTraceEvent *ev;
    uint64_t last_counter = 0;
    int n = 0;
    while ((ev = sv_trace_reader_next(reader, &error)) != NULL) {
        last_counter = ev->counter;
        n++;
    }
    g_assert_no_error(error);
    g_assert_cmpint(n, ==, 3);
    g_assert_cmpuint(last_counter, ==, 4);
    SvTraceReaderStats stats;
    sv_trace_reader_get_stats(reader, &stats);
    g_assert_cmpuint(stats.skipped, ==, 2);
    g_assert_cmpstr(sv_trace_reader_get_last_warning(reader), ==,
                    "t: offset 786 (event 3): skipped a record with unknown worker message 77");
}

static void test_rejected_primary(void)
{
    /* A rejected primary creation leaves its event line without a body. */
    g_autoptr(GByteArray) data =
        edited("4 2 16 32\n0 0 0 0\nbinary 0 data 32:0123456789abcdef0123456789abcdef\n", "");
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader =
        sv_trace_reader_new_from_data("t", data->data, data->len, &error);
    const SvTraceEvent *ev = sv_trace_reader_next(reader, &error);
    g_assert_no_error(error);
    g_assert_nonnull(ev);
    g_assert_false(ev->primary.present);
    ev = sv_trace_reader_next(reader, &error);
    g_assert_nonnull(ev);
    g_assert_cmpuint(ev->draw.type, ==, SV_TRACE_DRAW_COPY);
}

static void test_zlib_blob(void)
{
    /* "binary 1": SIZE then ZSIZE and a zlib stream. */
    const char *payload = "0123456789abcdef0123456789abcdef";
    uLongf zsize = compressBound(32);
    g_autofree uint8_t *z = g_malloc(zsize);
    g_assert_cmpint(compress(z, &zsize, (const Bytef *)payload, 32), ==, Z_OK);
    g_autofree char *head = g_strdup_printf("binary 1 data 32:%lu:", (unsigned long)zsize);
    g_autoptr(GByteArray) data = g_byte_array_new();
    const char *at = strstr(base_trace, "binary 0 data 32:");
    g_byte_array_append(data, (const guint8 *)base_trace, (guint)(at - base_trace));
    g_byte_array_append(data, (const guint8 *)head, (guint)strlen(head));
    g_byte_array_append(data, z, (guint)zsize);
    const char *tail = at + strlen("binary 0 data 32:") + 32;
    g_byte_array_append(data, (const guint8 *)tail, (guint)strlen(tail));

    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader =
        sv_trace_reader_new_from_data("t", data->data, data->len, &error);
    const SvTraceEvent *ev = sv_trace_reader_next(reader, &error);
    g_assert_no_error(error);
    g_assert_cmpmem(ev->primary.data.data, ev->primary.data.size, payload, 32);
    g_assert_nonnull(sv_trace_reader_next(reader, &error));

    /* A damaged stream. */
    guint zstart = (guint)(at - base_trace + strlen(head));
    data->data[zstart + 3] ^= 0xff;
    g_autoptr(SvTraceReader) bad =
        sv_trace_reader_new_from_data("t", data->data, data->len, &error);
    g_assert_null(sv_trace_reader_next(bad, &error));
    g_assert_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_COMPRESS);
    g_assert_true(g_str_has_prefix(error->message, "t: offset "));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/trace/corpus/idle-cursor", test_corpus_idle_cursor);
    g_test_add_func("/trace/corpus/text-scroll", test_corpus_text_scroll);
    g_test_add_func("/trace/corpus/video-photos-640-cut", test_corpus_video);
    g_test_add_data_func("/trace/round-trip/idle-cursor", "idle-cursor.spice.zst", test_round_trip);
    g_test_add_data_func("/trace/round-trip/text-scroll", "text-scroll.spice.zst", test_round_trip);
    g_test_add_data_func("/trace/round-trip/video-photos-640-cut", "video-photos-640-cut.spice.zst",
                         test_round_trip);
    g_test_add_func("/trace/all-types", test_all_types);
    g_test_add_func("/trace/corrupt", test_corrupt);
    g_test_add_func("/trace/truncated", test_truncated);
    g_test_add_func("/trace/compressed", test_compressed);
    g_test_add_func("/trace/unknown-records", test_unknown_records);
    g_test_add_func("/trace/rejected-primary", test_rejected_primary);
    g_test_add_func("/trace/zlib-blob", test_zlib_blob);
    return g_test_run();
}
