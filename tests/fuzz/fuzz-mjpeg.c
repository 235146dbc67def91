/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Fuzz target for the built-in MJPEG encoder: one encoder (rate control or
 * a fixed quality, on a virtual clock the input advances) fed a sequence of
 * frames of every SpiceBitmapFmt value (valid or not), sizes up to 128x128,
 * strides exact, padded or too short, top-down or not, pixel data cut into
 * chunks of random lengths (shorter than a line, empty, or missing bytes)
 * and source rectangles inside, across or outside the bitmap, with client
 * reports, server drops and clock jumps between them.
 *
 * Each chunk is its own allocation, so reading past one is caught by ASan.
 * Checks: encode_frame() returns UNSUPPORTED or DROP without touching
 * *outbuf, or DONE with a JPEG that TurboJPEG decodes to the size of the
 * source rectangle and whose rows have the grey levels of the lines they
 * came from (memory order); DONE only when the format, rectangle and data
 * allow it, and always then with a fixed quality; the rate-control state
 * stays in range; the playback delay asked is at most 5 s. Linked with
 * fuzz-main.c it replays tests/fuzz/mjpeg/ as a test.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include <turbojpeg.h>

#include <spice-video/spice-video.h>

#include "bitmap.h"
#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SIDE 128
#define MAX_OPS 32
#define MAX_KEPT 4
#define MAX_CHUNKS 8
#define MS INT64_C(1000000)
/* The MJPEG encoder's ceiling on the playback delay it asks for (docs/mjpeg-encoder.md). */
#define MAX_PLAYBACK_DELAY_MS 5000
/* Mean error allowed on a row of a smooth grey ramp: at the rate control's
 * qualities (20..80), and at the coarse fixed qualities below 20. */
#define ROW_TOLERANCE 24
#define ROW_TOLERANCE_COARSE 64

typedef struct State {
    int64_t now_ns;
    uint32_t rtt_ms;
    uint32_t source_fps;
    uint32_t mm_time;
    VideoBuffer *kept[MAX_KEPT];
    guint n_kept;
    tjhandle tj;
    guint results[3]; /* UNSUPPORTED, DROP, DONE */
} State;

static int64_t clock_now(void *opaque)
{
    return ((State *)opaque)->now_ns;
}

static uint32_t cb_roundtrip(void *opaque)
{
    return ((State *)opaque)->rtt_ms;
}

static uint32_t cb_source_fps(void *opaque)
{
    return ((State *)opaque)->source_fps;
}

static void cb_playback_delay(void *opaque, uint32_t delay_ms)
{
    FUZZ_CHECK(delay_ms <= MAX_PLAYBACK_DELAY_MS);
}

/* Grey level of memory line @line: a triangle wave, smooth enough for JPEG. */
static uint8_t line_grey(uint64_t line)
{
    unsigned t = (unsigned)(line % 128);
    return (uint8_t)(t < 64 ? 64 + 2 * t : 64 + 2 * (127 - t));
}

/* What the encoder reads back for grey @g in @format. */
static uint8_t expected_grey(uint8_t format, uint8_t g)
{
    if (format == SPICE_BITMAP_FMT_16BIT) {
        unsigned v = g >> 3;
        return (uint8_t)(v << 3 | v >> 2);
    }
    return g;
}

static void put_pixel(uint8_t *p, uint8_t format, uint8_t g)
{
    switch (format) {
    case SPICE_BITMAP_FMT_16BIT: {
        unsigned v = g >> 3;
        unsigned pixel = v << 10 | v << 5 | v;
        p[0] = (uint8_t)pixel;
        p[1] = (uint8_t)(pixel >> 8);
        break;
    }
    case SPICE_BITMAP_FMT_24BIT:
        p[0] = p[1] = p[2] = g;
        break;
    case SPICE_BITMAP_FMT_32BIT:
    case SPICE_BITMAP_FMT_RGBA:
        p[0] = p[1] = p[2] = g;
        p[3] = 0x5a;
        break;
    default:
        *p = g;
        break;
    }
}

static void keep_buffer(State *st, VideoBuffer *buffer)
{
    if (st->n_kept == MAX_KEPT) {
        st->kept[0]->free(st->kept[0]);
        memmove(st->kept, st->kept + 1, sizeof(st->kept[0]) * (MAX_KEPT - 1));
        st->n_kept--;
    }
    st->kept[st->n_kept++] = buffer;
}

/* Checks a DONE frame: a JPEG of the source rectangle's size, rows in memory order. */
static void check_jpeg(State *st, const VideoBuffer *buffer, uint8_t format, const SpiceRect *src,
                       uint64_t first_line, uint32_t painted_lines, int quality)
{
    int tolerance = quality < 20 ? ROW_TOLERANCE_COARSE : ROW_TOLERANCE;
    int width = 0, height = 0, subsamp = 0, colorspace = 0;
    FUZZ_CHECK(buffer != NULL && buffer->data != NULL && buffer->size > 0 && buffer->free != NULL);
    FUZZ_CHECK(tjDecompressHeader3(st->tj, buffer->data, buffer->size, &width, &height, &subsamp,
                                   &colorspace) == 0);
    FUZZ_CHECK(width == src->right - src->left);
    FUZZ_CHECK(height == src->bottom - src->top);

    g_autofree uint8_t *grey = g_malloc((size_t)width * height);
    FUZZ_CHECK(tjDecompress2(st->tj, buffer->data, buffer->size, grey, width, width, height,
                             TJPF_GRAY, TJFLAG_ACCURATEDCT) == 0);
    for (int r = 0; r < height; r++) {
        uint64_t sum = 0;
        for (int c = 0; c < width; c++) {
            sum += grey[(size_t)r * width + c];
        }
        int mean = (int)(sum / (uint64_t)width);
        /* Lines past the pixels painted (a declared height larger than the
         * picture, read from zeroed extra data) are black. */
        uint64_t line = first_line + (uint64_t)r;
        gboolean crosses =
            painted_lines > first_line && painted_lines < first_line + (uint64_t)height;
        if (crosses && line + 8 > painted_lines && line < painted_lines + 8) {
            continue; /* the grey-to-black edge blurs within a JPEG block */
        }
        int want = line < painted_lines ? expected_grey(format, line_grey(line)) : 0;
        if (ABS(mean - want) > tolerance) {
            fprintf(stderr, "row %d: mean %d, line %" G_GUINT64_FORMAT " has %d\n", r, mean,
                    first_line + (uint64_t)r, want);
            fuzz_fail("decoded row does not match its source line");
        }
    }
}

/* One frame: builds the bitmap the input describes and encodes it. */
static void encode_one(State *st, VideoEncoder *encoder, gboolean fixed, FuzzInput *in)
{
    uint8_t fmt_byte = fuzz_u8(in);
    uint8_t format = fmt_byte < 0xf0 ? fmt_byte % SPICE_BITMAP_FMT_ENUM_END : fmt_byte;
    uint32_t w = fuzz_u8(in) % (MAX_SIDE + 1);
    uint32_t h = fuzz_u8(in) % (MAX_SIDE + 1);
    uint8_t stride_mode = fuzz_u8(in);
    uint8_t size_mode = fuzz_u8(in);
    uint8_t chunk_mode = fuzz_u8(in);
    uint8_t src_mode = fuzz_u8(in);
    uint8_t flags = fuzz_u8(in);
    gboolean top_down = flags & 1;

    uint32_t bits = sv_bitmap_format_bits(format);
    uint32_t bpp = bits >= 8 ? bits / 8 : 1;
    uint32_t line_bytes = (w * bits + 7) / 8;
    uint32_t stride;
    switch (stride_mode % 4) {
    case 0:
        stride = line_bytes;
        break;
    case 1:
        stride = line_bytes + stride_mode / 4 % 16;
        break;
    case 2: /* too short */
        stride = line_bytes > 0 ? line_bytes - 1 - (stride_mode / 4) % line_bytes : 0;
        break;
    default: /* a wide stride, or any */
        stride = stride_mode / 4 * 9;
        break;
    }

    /* The pixel data: w x h lines of grey ramps inside, 0 around. */
    uint64_t full = (uint64_t)stride * h;
    uint64_t total = full;
    switch (size_mode % 4) {
    case 1:
        total = full > 0 ? full - 1 - (size_mode / 4) % full : 0;
        break;
    case 2:
        total = full + size_mode / 4;
        break;
    case 3:
        total = full / (1 + size_mode / 4 % 4);
        break;
    }

    SpiceRect src = {0, 0, (int32_t)w, (int32_t)h};
    switch (src_mode % 8) {
    case 0:
    case 1:
        break;
    case 2:
    case 3: { /* inside */
        int32_t l = fuzz_range(in, 0, MAX_SIDE), t = fuzz_range(in, 0, MAX_SIDE);
        int32_t r = fuzz_range(in, 0, MAX_SIDE), b = fuzz_range(in, 0, MAX_SIDE);
        src = (SpiceRect){MIN(l, r) % (int32_t)(w + 1), MIN(t, b) % (int32_t)(h + 1), 0, 0};
        src.right = src.left + 1 + (MAX(l, r) - MIN(l, r)) % (int32_t)MAX(w - src.left, 1);
        src.bottom = src.top + 1 + (MAX(t, b) - MIN(t, b)) % (int32_t)MAX(h - src.top, 1);
        break;
    }
    case 4: /* empty */
        src.right = src.left;
        break;
    case 5: /* inverted */
        src = (SpiceRect){(int32_t)w, 0, 0, (int32_t)h};
        break;
    default: /* anything, including negative, far outside, and the ends of int32 */
        src.left = (int8_t)fuzz_u8(in) * 2;
        src.top = (int8_t)fuzz_u8(in) * 2;
        src.right = (int8_t)fuzz_u8(in) * 2;
        src.bottom = (int8_t)fuzz_u8(in) * 2;
        if (src_mode & 0x80) {
            static const int32_t ends[] = {INT32_MIN, INT32_MAX, 65499, 65500, 65501, 1 << 30};
            src.right = ends[(src_mode >> 3) % G_N_ELEMENTS(ends)];
            src.bottom = ends[(src_mode >> 4) % G_N_ELEMENTS(ends)];
        }
        break;
    }

    g_autofree uint8_t *pixels = g_malloc0(MAX(total, 1));
    for (uint32_t line = 0; line < h; line++) {
        for (int32_t x = 0; x < (int32_t)w && bits >= 8; x++) {
            uint64_t off = (uint64_t)line * stride + (uint64_t)x * bpp;
            if (off + bpp <= total) {
                gboolean inside = x >= src.left && x < src.right;
                put_pixel(pixels + off, format, inside ? line_grey(line) : 0);
            }
        }
    }

    /* Chunks: each its own allocation; random lengths, some empty. */
    guint n_chunks = 1 + chunk_mode % MAX_CHUNKS;
    g_autofree SpiceChunks *chunks = g_malloc0(sizeof(SpiceChunks) + n_chunks * sizeof(SpiceChunk));
    chunks->num_chunks = n_chunks;
    chunks->data_size = (uint32_t)total;
    uint64_t at = 0;
    for (guint i = 0; i < n_chunks; i++) {
        uint64_t len;
        if (i + 1 == n_chunks) {
            len = total - at;
        } else {
            uint8_t b = fuzz_u8(in);
            len = b < 0x40 ? b % 8 : (b < 0x80 ? (uint64_t)b * 7 : (total - at) / 2);
            len = MIN(len, total - at);
        }
        chunks->chunk[i].len = (uint32_t)len;
        chunks->chunk[i].data = len > 0 ? g_memdup2(pixels + at, len) : NULL;
        at += len;
    }

    /* Sometimes the declared size is far larger than the pixels given. */
    uint32_t decl_x = w, decl_y = h;
    uint64_t huge = MIN((uint64_t)4099 << ((chunk_mode >> 3) & 15), (uint64_t)UINT32_MAX);
    if (chunk_mode & 0x80) {
        decl_y = (chunk_mode & 0x08) ? UINT32_MAX : (uint32_t)MAX(huge, h);
    }
    if (chunk_mode & 0x40) {
        decl_x = (chunk_mode & 0x10) ? UINT32_MAX : (uint32_t)MAX(huge, w);
    }
    SpiceBitmap bitmap = {.format = format,
                          .flags = top_down ? SPICE_BITMAP_FLAGS_TOP_DOWN : 0,
                          .x = decl_x,
                          .y = decl_y,
                          .stride = stride,
                          .data = chunks};

    /* What the encoder may do with it. */
    gboolean encodable = FALSE;
    uint64_t first_line = 0;
    gboolean format_ok = format == SPICE_BITMAP_FMT_16BIT || format == SPICE_BITMAP_FMT_24BIT ||
                         format == SPICE_BITMAP_FMT_32BIT || format == SPICE_BITMAP_FMT_RGBA;
    if (format_ok && src.left >= 0 && src.top >= 0 && src.left < src.right &&
        src.top < src.bottom && (uint32_t)src.right <= decl_x && (uint32_t)src.bottom <= decl_y &&
        (uint64_t)stride >= (uint64_t)decl_x * bpp) {
        first_line = top_down ? (uint64_t)src.top : (uint64_t)decl_y - (uint64_t)src.bottom;
        uint64_t end = (first_line + (uint64_t)(src.bottom - src.top) - 1) * stride +
                       (uint64_t)src.right * bpp;
        encodable = end <= total;
    }

    VideoBuffer *sentinel = (VideoBuffer *)&bitmap;
    VideoBuffer *out = sentinel;
    st->now_ns += (int64_t)(flags >> 1) * MS;
    st->mm_time += (uint32_t)(flags >> 1);
    VideoEncodeResults res =
        encoder->encode_frame(encoder, st->mm_time, &bitmap, &src, top_down, NULL, &out);
    if (res >= VIDEO_ENCODER_FRAME_UNSUPPORTED && res <= VIDEO_ENCODER_FRAME_ENCODE_DONE) {
        st->results[res + 1]++;
    }
    switch (res) {
    case VIDEO_ENCODER_FRAME_UNSUPPORTED:
        FUZZ_CHECK(out == sentinel);
        FUZZ_CHECK(!encodable || !fixed);
        break;
    case VIDEO_ENCODER_FRAME_DROP:
        FUZZ_CHECK(out == sentinel);
        FUZZ_CHECK(!fixed);
        break;
    case VIDEO_ENCODER_FRAME_ENCODE_DONE: {
        if (g_getenv("SV_FUZZ_VERBOSE") != NULL) {
            fprintf(stderr,
                    "frame fmt %u %ux%u (declared %ux%u) stride %u bytes %" G_GUINT64_FORMAT
                    " src (%d,%d)-(%d,%d) top_down %d\n",
                    format, w, h, decl_x, decl_y, stride, total, src.left, src.top, src.right,
                    src.bottom, top_down);
        }
        SvMjpegRateState rs;
        FUZZ_CHECK(out != sentinel);
        FUZZ_CHECK(encodable);
        FUZZ_CHECK(sv_mjpeg_encoder_get_rate_state(encoder, &rs));
        check_jpeg(st, out, format, &src, first_line, h, rs.quality);
        keep_buffer(st, out);
        break;
    }
    default:
        fuzz_fail("encode_frame returned something else");
    }
    for (guint i = 0; i < n_chunks; i++) {
        g_free(chunks->chunk[i].data);
    }
}

static void check_state(VideoEncoder *encoder, gboolean fixed, int fixed_quality)
{
    SvMjpegRateState rs;
    FUZZ_CHECK(sv_mjpeg_encoder_get_rate_state(encoder, &rs));
    FUZZ_CHECK(rs.quality_index >= 0 && rs.quality_index <= 6);
    FUZZ_CHECK(fixed ? rs.quality == fixed_quality : rs.quality >= 20 && rs.quality <= 80);
    FUZZ_CHECK(rs.fps >= 1 && rs.fps <= 25);
    FUZZ_CHECK(rs.adjusted_fps > 0 && !isnan(rs.adjusted_fps));
    VideoEncoderStats stats;
    encoder->get_stats(encoder, &stats);
    FUZZ_CHECK(stats.cur_bit_rate == encoder->get_bit_rate(encoder));
    FUZZ_CHECK(isnan(stats.avg_quality) || (stats.avg_quality >= 1 && stats.avg_quality <= 100));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init_logs();
    FuzzInput in = fuzz_input(data, size);
    State st = {.now_ns = 1000 * MS, .mm_time = 1000};

    uint8_t mode = fuzz_u8(&in);
    uint8_t q = fuzz_u8(&in);
    uint64_t start_bps = (uint64_t)fuzz_u16(&in) * 1000;
    st.rtt_ms = fuzz_u8(&in);
    st.source_fps = fuzz_u8(&in);

    SvEncoderConfig config = {.clock = {clock_now, &st}};
    switch (mode % 4) {
    case 1:
        config.fixed_quality = q % 101;
        break;
    case 2: /* out of range: refused */
        config.fixed_quality = q < 128 ? -1 - q : 101 + q;
        break;
    case 3:
        config.spice_quirks = TRUE;
        break;
    }
    VideoEncoderRateControlCbs cbs = {
        .opaque = &st,
        .get_roundtrip_ms = (mode & 4) ? cb_roundtrip : NULL,
        .get_source_fps = (mode & 8) ? cb_source_fps : NULL,
        .update_client_playback_delay = cb_playback_delay,
    };
    SpiceVideoCodecType codec =
        (mode & 0x30) == 0x30 ? SPICE_VIDEO_CODEC_TYPE_VP8 : SPICE_VIDEO_CODEC_TYPE_MJPEG;
    VideoEncoder *encoder = sv_mjpeg_encoder_new_full(codec, start_bps, &cbs, NULL, NULL, &config);
    if (codec != SPICE_VIDEO_CODEC_TYPE_MJPEG || config.fixed_quality < 0 ||
        config.fixed_quality > 100) {
        FUZZ_CHECK(encoder == NULL);
        return 0;
    }
    FUZZ_CHECK(encoder != NULL);
    FUZZ_CHECK(encoder->codec_type == SPICE_VIDEO_CODEC_TYPE_MJPEG);
    gboolean fixed = config.fixed_quality > 0;
    st.tj = tjInitDecompress();

    for (guint op = 0; op < MAX_OPS && !fuzz_done(&in); op++) {
        uint8_t kind = fuzz_u8(&in);
        switch (kind % 8) {
        case 0:
        case 1:
        case 2:
        case 3:
            encode_one(&st, encoder, fixed, &in);
            break;
        case 4: {
            uint32_t frames = fuzz_u8(&in);
            uint32_t drops = fuzz_u8(&in);
            uint32_t start = st.mm_time - fuzz_u16(&in);
            uint32_t end = st.mm_time - fuzz_u16(&in);
            int32_t delay = (int16_t)fuzz_u16(&in);
            uint32_t audio = (kind & 8) ? UINT32_MAX : fuzz_u16(&in);
            if (kind & 0x10) {
                drops = UINT32_MAX; /* what a client says when it cannot decode */
            }
            encoder->client_stream_report(encoder, frames, drops, start, end, delay, audio);
            break;
        }
        case 5:
            encoder->notify_server_frame_drop(encoder);
            break;
        case 6: {
            uint16_t ms = fuzz_u16(&in);
            st.now_ns += (int64_t)ms * MS;
            st.mm_time += ms;
            break;
        }
        default:
            if (st.n_kept > 0) {
                st.kept[0]->free(st.kept[0]);
                memmove(st.kept, st.kept + 1, sizeof(st.kept[0]) * (MAX_KEPT - 1));
                st.n_kept--;
            }
            break;
        }
        check_state(encoder, fixed, config.fixed_quality);
    }

    if (g_getenv("SV_FUZZ_VERBOSE") != NULL) {
        fprintf(stderr, "frames: %u unsupported, %u dropped, %u encoded\n", st.results[0],
                st.results[1], st.results[2]);
    }
    /* Buffers outlive the encoder. */
    encoder->destroy(encoder);
    for (guint i = 0; i < st.n_kept; i++) {
        st.kept[i]->free(st.kept[i]);
    }
    tjDestroy(st.tj);
    return 0;
}
