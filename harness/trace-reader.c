/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include <zlib.h>

#include <spice-video/trace.h>

#include "trace-input.h"

/* Uncompressed text is parsed from a buffer of this size; blobs larger than
 * half of it are read straight into the event's storage. */
#define READ_BUFFER_BYTES (256 * 1024)
/* Longest keyword or number; anything longer is not this grammar. */
#define TOKEN_MAX 64
/* New storage blocks for an event are at least this large. */
#define ARENA_BLOCK_BYTES (64 * 1024)
/* Storage kept between events; more is given back to the system. */
#define ARENA_KEEP_BYTES (32 * 1024 * 1024)
/* QXL palettes have a 16-bit entry count. */
#define MAX_PALETTE_ENTRIES 65535
/* QXL_PATH / QXL_STROKE_STYLED */
#define STROKE_STYLED 8

G_DEFINE_QUARK(sv - trace - error - quark, sv_trace_error)

typedef struct {
    uint8_t *base;
    size_t used;
    size_t size;
} ArenaBlock;

/* The storage of the current event: blocks reused from one event to the
 * next, so a trace of same-sized frames does not allocate per frame. */
typedef struct {
    GArray *blocks; /* ArenaBlock */
    guint current;
    uint64_t total_used;
} Arena;

struct SvTraceReader {
    SvTraceInput *input;
    char *name;
    GError **error; /* of the running call */
    gboolean failed;

    uint8_t *buf;
    size_t pos;
    size_t len;
    gboolean eof;
    uint64_t base; /* stream offset of buf[0] */
    uint64_t line; /* line of buf[pos], from 1 */

    char tok[TOKEN_MAX + 1];
    size_t tok_len;
    gboolean tok_eof;
    gboolean tok_pushed_back;
    uint64_t tok_offset;
    uint64_t tok_line;

    uint64_t max_blob;
    Arena arena;
    GArray *chunk_scratch; /* SvTraceBlob, for one data_chunks list */
    uint8_t *skip_buf;

    SvTraceEvent event;
    gboolean in_event;
    uint64_t event_number; /* recorded counter of the event being read */

    SvTraceReaderStats stats;
    char *last_warning;
};

/* ---- errors --------------------------------------------------------------------------------- */

static gboolean G_GNUC_PRINTF(4, 5)
    fail_at(SvTraceReader *r, uint64_t offset, int code, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char *what = g_strdup_vprintf(format, args);
    va_end(args);

    r->failed = TRUE;
    if (r->error == NULL || *r->error != NULL) {
        return FALSE;
    }
    if (r->in_event) {
        g_set_error(r->error, SV_TRACE_ERROR, code,
                    "%s: offset %" PRIu64 " (line %" PRIu64 ", event %" PRIu64 "): %s", r->name,
                    offset, r->tok_line, r->event_number, what);
    } else {
        g_set_error(r->error, SV_TRACE_ERROR, code, "%s: offset %" PRIu64 " (line %" PRIu64 "): %s",
                    r->name, offset, r->tok_line, what);
    }
    return FALSE;
}

/* The current token, quoted and escaped for a message. */
static char *token_quoted(const SvTraceReader *r)
{
    GString *s = g_string_new("\"");
    for (size_t i = 0; i < r->tok_len; i++) {
        unsigned char c = (unsigned char)r->tok[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            g_string_append_c(s, (char)c);
        } else {
            g_string_append_printf(s, "\\x%02x", c);
        }
    }
    g_string_append_c(s, '"');
    return g_string_free(s, FALSE);
}

static gboolean fail_expected(SvTraceReader *r, const char *expected)
{
    if (r->tok_eof) {
        return fail_at(r, r->tok_offset, SV_TRACE_ERROR_FORMAT,
                       "unexpected end of file, expected %s", expected);
    }
    g_autofree char *found = token_quoted(r);
    return fail_at(r, r->tok_offset, SV_TRACE_ERROR_FORMAT, "expected %s, found %s", expected,
                   found);
}

/* ---- storage of one event ------------------------------------------------------------------- */

static void arena_reset(Arena *arena)
{
    uint64_t kept = 0;

    for (guint i = 0; i < arena->blocks->len; i++) {
        ArenaBlock *block = &g_array_index(arena->blocks, ArenaBlock, i);
        block->used = 0;
        kept += block->size;
    }
    if (kept > ARENA_KEEP_BYTES) {
        for (guint i = 0; i < arena->blocks->len; i++) {
            g_free(g_array_index(arena->blocks, ArenaBlock, i).base);
        }
        g_array_set_size(arena->blocks, 0);
    }
    arena->current = 0;
    arena->total_used = 0;
}

static void *arena_alloc(SvTraceReader *r, size_t size, gboolean zero)
{
    Arena *arena = &r->arena;
    size_t need = (size + 15) & ~(size_t)15;

    if (arena->total_used + need > r->max_blob + ARENA_BLOCK_BYTES) {
        fail_at(r, r->tok_offset, SV_TRACE_ERROR_LIMIT,
                "the event needs more than %" PRIu64 " bytes of storage", r->max_blob);
        return NULL;
    }
    for (guint i = arena->current; i < arena->blocks->len; i++) {
        ArenaBlock *block = &g_array_index(arena->blocks, ArenaBlock, i);
        if (block->size - block->used >= need) {
            void *p = block->base + block->used;
            block->used += need;
            arena->current = i;
            arena->total_used += need;
            if (zero) {
                memset(p, 0, size);
            }
            return p;
        }
    }
    ArenaBlock block = {NULL, need, MAX(need, ARENA_BLOCK_BYTES)};
    block.base = g_try_malloc(block.size);
    if (block.base == NULL) {
        fail_at(r, r->tok_offset, SV_TRACE_ERROR_LIMIT, "cannot allocate %zu bytes", block.size);
        return NULL;
    }
    g_array_append_val(arena->blocks, block);
    arena->current = arena->blocks->len - 1;
    arena->total_used += need;
    if (zero) {
        memset(block.base, 0, size);
    }
    return block.base;
}

/* ---- bytes and tokens ----------------------------------------------------------------------- */

/* Makes more bytes available in buf; FALSE on a read error. */
static gboolean refill(SvTraceReader *r)
{
    if (r->eof) {
        return TRUE;
    }
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->base += r->pos;
        r->len -= r->pos;
        r->pos = 0;
    }
    g_autoptr(GError) local = NULL;
    gssize n = sv_trace_input_read(r->input, r->buf + r->len, READ_BUFFER_BYTES - r->len, &local);
    if (n < 0) {
        r->tok_offset = r->base + r->len;
        r->tok_line = r->line;
        return fail_at(r, r->base + r->len, local->code, "%s", local->message);
    }
    if (n == 0) {
        r->eof = TRUE;
    }
    r->len += (size_t)n;
    return TRUE;
}

/* @return the next byte without consuming it, -1 at the end, -2 on error. */
static inline int peek_byte(SvTraceReader *r)
{
    if (G_UNLIKELY(r->pos == r->len)) {
        if (!refill(r)) {
            return -2;
        }
        if (r->pos == r->len) {
            return -1;
        }
    }
    return r->buf[r->pos];
}

static inline gboolean is_space(int c)
{
    return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static inline uint64_t offset_now(const SvTraceReader *r)
{
    return r->base + r->pos;
}

/* Reads one whitespace-separated token (':' also ends it). FALSE only on a
 * read error; at the end of the input tok_eof is set. */
static gboolean next_token(SvTraceReader *r)
{
    if (r->tok_pushed_back) {
        r->tok_pushed_back = FALSE;
        return TRUE;
    }
    int c;
    while ((c = peek_byte(r)) >= 0 && is_space(c)) {
        if (c == '\n') {
            r->line++;
        }
        r->pos++;
    }
    if (c == -2) {
        return FALSE;
    }
    r->tok_offset = offset_now(r);
    r->tok_line = r->line;
    r->tok_len = 0;
    r->tok_eof = c == -1;
    if (c == ':') {
        /* A ':' where a token starts is a token of its own, so every call
         * makes progress (skip_record relies on it). */
        r->tok[r->tok_len++] = ':';
        r->tok[r->tok_len] = '\0';
        r->pos++;
        return TRUE;
    }
    while ((c = peek_byte(r)) >= 0 && !is_space(c) && c != ':') {
        if (r->tok_len == TOKEN_MAX) {
            r->tok[r->tok_len] = '\0';
            return fail_expected(r, "a keyword or a number (token too long)");
        }
        r->tok[r->tok_len++] = (char)c;
        r->pos++;
    }
    r->tok[r->tok_len] = '\0';
    return c != -2;
}

static void push_back_token(SvTraceReader *r)
{
    r->tok_pushed_back = TRUE;
}

static gboolean token_is(const SvTraceReader *r, const char *word)
{
    return !r->tok_eof && strcmp(r->tok, word) == 0;
}

/* Expects the words of @key ("rect bbox") one after the other. */
static gboolean expect(SvTraceReader *r, const char *key)
{
    const char *word = key;

    while (*word != '\0') {
        const char *end = strchr(word, ' ');
        size_t n = end != NULL ? (size_t)(end - word) : strlen(word);
        if (!next_token(r)) {
            return FALSE;
        }
        if (r->tok_eof || r->tok_len != n || memcmp(r->tok, word, n) != 0) {
            g_autofree char *quoted = g_strdup_printf("\"%s\"", key);
            return fail_expected(r, quoted);
        }
        word += n;
        while (*word == ' ') {
            word++;
        }
    }
    return TRUE;
}

/* Reads a decimal integer (optional '-') in [min, max]; @what names it. */
static gboolean read_number(SvTraceReader *r, const char *what, int64_t min, uint64_t max,
                            int64_t *out)
{
    if (!next_token(r)) {
        return FALSE;
    }
    const char *p = r->tok;
    gboolean negative = FALSE;
    uint64_t value = 0;

    if (*p == '-') {
        negative = TRUE;
        p++;
    }
    if (r->tok_eof || *p == '\0') {
        g_autofree char *expected = g_strdup_printf("a number for \"%s\"", what);
        return fail_expected(r, expected);
    }
    for (; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            g_autofree char *expected = g_strdup_printf("a number for \"%s\"", what);
            return fail_expected(r, expected);
        }
        unsigned digit = (unsigned)(*p - '0');
        if (value > (UINT64_MAX - digit) / 10) {
            value = UINT64_MAX;
            break;
        }
        value = value * 10 + digit;
    }
    gboolean in_range;
    if (negative) {
        in_range = min < 0 && value <= (uint64_t)(-(min + 1)) + 1;
    } else {
        in_range = value <= max;
    }
    if (!in_range) {
        return fail_at(r, r->tok_offset, SV_TRACE_ERROR_LIMIT,
                       "\"%s\" %s out of range [%" PRId64 ", %" PRIu64 "]", what, r->tok, min, max);
    }
    *out = negative ? (value == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)value)
                    : (int64_t)value;
    return TRUE;
}

/* Ranges of the recorded fields. Most are C ints written with %d, so an
 * unsigned 32-bit field may appear negative. */
#define R_U32 G_MININT32, G_MAXUINT32
#define R_I32 G_MININT32, G_MAXINT32
#define R_U64 0, G_MAXUINT64
#define R_DIM 0, SV_TRACE_MAX_DIMENSION
#define R_BOOL 0, 1

static gboolean key_number(SvTraceReader *r, const char *key, int64_t min, uint64_t max,
                           int64_t *out)
{
    const char *last = strrchr(key, ' ');
    return expect(r, key) && read_number(r, last != NULL ? last + 1 : key, min, max, out);
}

static gboolean key_u32(SvTraceReader *r, const char *key, uint32_t *out)
{
    int64_t v;
    if (!key_number(r, key, R_U32, &v)) {
        return FALSE;
    }
    *out = (uint32_t)v;
    return TRUE;
}

static gboolean key_i32(SvTraceReader *r, const char *key, int32_t *out)
{
    int64_t v;
    if (!key_number(r, key, R_I32, &v)) {
        return FALSE;
    }
    *out = (int32_t)v;
    return TRUE;
}

static gboolean key_u64(SvTraceReader *r, const char *key, uint64_t *out)
{
    int64_t v;
    if (!key_number(r, key, R_U64, &v)) {
        return FALSE;
    }
    *out = (uint64_t)v;
    return TRUE;
}

static gboolean key_dim(SvTraceReader *r, const char *key, uint32_t *out)
{
    int64_t v;
    if (!key_number(r, key, R_DIM, &v)) {
        return FALSE;
    }
    *out = (uint32_t)v;
    return TRUE;
}

static gboolean key_range(SvTraceReader *r, const char *key, int64_t min, uint64_t max,
                          uint32_t *out)
{
    int64_t v;
    if (!key_number(r, key, min, max, &v)) {
        return FALSE;
    }
    *out = (uint32_t)v;
    return TRUE;
}

/* Line numbers count the '\n' bytes inside blobs too, so "line N" is what
 * an editor shows. Eight bytes at a time: a byte of x is zero where the
 * data holds '\n'; the high bit of each byte of t marks those bytes. */
static size_t count_newlines(const uint8_t *p, size_t n)
{
    const uint64_t ones7 = UINT64_C(0x7f7f7f7f7f7f7f7f);
    const uint64_t newlines = UINT64_C(0x0a0a0a0a0a0a0a0a);
    size_t count = 0;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        uint64_t x = w ^ newlines;
        uint64_t t = ~(((x & ones7) + ones7) | x | ones7);
        /* One bit per '\n' byte, summed by the multiplication into the top byte. */
        count += (size_t)(((t >> 7) * UINT64_C(0x0101010101010101)) >> 56);
    }
    for (; i < n; i++) {
        count += p[i] == '\n';
    }
    return count;
}

/* Copies @size payload bytes to @dst (NULL: discards them). */
static gboolean read_payload(SvTraceReader *r, uint8_t *dst, uint64_t size, const char *name)
{
    uint64_t start = offset_now(r);
    uint64_t start_line = r->line;
    uint64_t done = 0;

    while (done < size) {
        size_t avail = r->len - r->pos;
        if (avail == 0 && dst != NULL && size - done >= READ_BUFFER_BYTES / 2 && !r->eof) {
            /* Large remainder: straight from the input into the event. */
            g_autoptr(GError) local = NULL;
            gssize n = sv_trace_input_read(r->input, dst + done, (size_t)(size - done), &local);
            if (n < 0) {
                r->tok_offset = offset_now(r);
                r->tok_line = r->line;
                return fail_at(r, offset_now(r), local->code, "%s", local->message);
            }
            if (n == 0) {
                r->eof = TRUE;
                break;
            }
            r->line += count_newlines(dst + done, (size_t)n);
            r->base += (uint64_t)n;
            done += (uint64_t)n;
            continue;
        }
        if (avail == 0) {
            if (!refill(r)) {
                return FALSE;
            }
            avail = r->len - r->pos;
            if (avail == 0) {
                break;
            }
        }
        size_t n = (size_t)MIN((uint64_t)avail, size - done);
        if (dst != NULL) {
            memcpy(dst + done, r->buf + r->pos, n);
        }
        r->line += count_newlines(r->buf + r->pos, n);
        r->pos += n;
        done += n;
    }
    if (done < size) {
        r->tok_offset = start;
        r->tok_line = start_line;
        return fail_at(r, start, SV_TRACE_ERROR_FORMAT,
                       "blob \"%s\" of %" PRIu64 " bytes runs past the end of the file (%" PRIu64
                       " bytes left)",
                       name, size, done);
    }
    return TRUE;
}

/* blob(NAME) := "binary " Z " " NAME " " SIZE ":" payload. @expected_size
 * is checked unless negative. */
static gboolean read_blob(SvTraceReader *r, const char *name, int64_t expected_size,
                          SvTraceBlob *out)
{
    int64_t z, size;

    if (!expect(r, "binary") || !read_number(r, "binary", 0, 1, &z)) {
        return FALSE;
    }
    if (!next_token(r)) {
        return FALSE;
    }
    if (!token_is(r, name)) {
        g_autofree char *expected = g_strdup_printf("blob name \"%s\"", name);
        return fail_expected(r, expected);
    }
    if (!read_number(r, name, 0, G_MAXINT64, &size)) {
        return FALSE;
    }
    uint64_t size_offset = r->tok_offset;
    if (peek_byte(r) != ':') {
        r->tok_offset = offset_now(r);
        return fail_at(r, offset_now(r), SV_TRACE_ERROR_FORMAT,
                       "expected ':' after the size of blob \"%s\"", name);
    }
    r->pos++;
    if ((uint64_t)size > r->max_blob) {
        return fail_at(r, size_offset, SV_TRACE_ERROR_LIMIT,
                       "blob \"%s\" of %" PRId64 " bytes exceeds the limit of %" PRIu64 " bytes",
                       name, size, r->max_blob);
    }
    if (expected_size >= 0 && size != expected_size) {
        return fail_at(r, size_offset, SV_TRACE_ERROR_FORMAT,
                       "blob \"%s\" has %" PRId64 " bytes, expected %" PRId64, name, size,
                       expected_size);
    }
    uint8_t *dst = arena_alloc(r, (size_t)size, FALSE);
    if (dst == NULL) {
        return FALSE;
    }
    if (z == 0) {
        if (!read_payload(r, dst, (uint64_t)size, name)) {
            return FALSE;
        }
    } else {
        /* zlib: ZSIZE ":" then ZSIZE bytes inflating to SIZE. */
        int64_t zsize;
        if (!read_number(r, name, 0, G_MAXINT64, &zsize)) {
            return FALSE;
        }
        if (peek_byte(r) != ':') {
            r->tok_offset = offset_now(r);
            return fail_at(r, offset_now(r), SV_TRACE_ERROR_FORMAT,
                           "expected ':' after the compressed size of blob \"%s\"", name);
        }
        r->pos++;
        if ((uint64_t)zsize > r->max_blob) {
            return fail_at(r, r->tok_offset, SV_TRACE_ERROR_LIMIT,
                           "blob \"%s\" of %" PRId64
                           " compressed bytes exceeds the limit of %" PRIu64 " bytes",
                           name, zsize, r->max_blob);
        }
        uint64_t zstart = offset_now(r);
        uint64_t zline = r->line;
        uint8_t *zdata = arena_alloc(r, (size_t)zsize, FALSE);
        if (zdata == NULL || !read_payload(r, zdata, (uint64_t)zsize, name)) {
            return FALSE;
        }
        uLongf out_len = (uLongf)size;
        int ret = uncompress(dst, &out_len, zdata, (uLong)zsize);
        if (ret != Z_OK || out_len != (uLongf)size) {
            r->tok_offset = zstart;
            r->tok_line = zline;
            return fail_at(r, zstart, SV_TRACE_ERROR_COMPRESS,
                           "zlib blob \"%s\" does not inflate to %" PRId64 " bytes (%s)", name,
                           size, ret == Z_OK ? "size differs" : zError(ret));
        }
    }
    out->data = dst;
    out->size = (size_t)size;
    return TRUE;
}

/* chunks(NAME) := "data_chunks " EXTRA " " TOTAL blob(NAME) × (EXTRA + 1) */
static gboolean read_chunks(SvTraceReader *r, const char *name, SvTraceChunks *out)
{
    int64_t extra, total;

    if (!key_number(r, "data_chunks", 0, G_MAXUINT32 - 1, &extra) ||
        !read_number(r, "data_chunks", 0, G_MAXINT64, &total)) {
        return FALSE;
    }
    uint64_t total_offset = r->tok_offset;
    uint64_t total_line = r->tok_line;
    if ((uint64_t)total > r->max_blob) {
        return fail_at(r, total_offset, SV_TRACE_ERROR_LIMIT,
                       "data_chunks of %" PRId64 " bytes exceeds the limit of %" PRIu64 " bytes",
                       total, r->max_blob);
    }
    /* The chunk list grows as blobs really arrive, so a huge EXTRA in a
     * short file costs nothing. */
    g_array_set_size(r->chunk_scratch, 0);
    uint64_t sum = 0;
    for (int64_t i = 0; i <= extra; i++) {
        SvTraceBlob blob;
        if (!read_blob(r, name, -1, &blob)) {
            return FALSE;
        }
        sum += blob.size;
        if (sum > (uint64_t)total) {
            r->tok_line = total_line;
            return fail_at(r, total_offset, SV_TRACE_ERROR_FORMAT,
                           "data_chunks total %" PRId64 " is less than its chunks (%" PRIu64
                           " bytes so far)",
                           total, sum);
        }
        g_array_append_val(r->chunk_scratch, blob);
    }
    if (sum != (uint64_t)total) {
        r->tok_line = total_line;
        return fail_at(r, total_offset, SV_TRACE_ERROR_FORMAT,
                       "data_chunks total %" PRId64 " does not match its chunks (%" PRIu64
                       " bytes)",
                       total, sum);
    }
    SvTraceBlob *chunks = arena_alloc(r, r->chunk_scratch->len * sizeof(SvTraceBlob), FALSE);
    if (chunks == NULL) {
        return FALSE;
    }
    memcpy(chunks, r->chunk_scratch->data, r->chunk_scratch->len * sizeof(SvTraceBlob));
    out->n_chunks = r->chunk_scratch->len;
    out->chunks = chunks;
    out->total_bytes = sum;
    return TRUE;
}

/* ---- grammar -------------------------------------------------------------------------------- */

/* rect(NAME) := "rect " NAME " " TOP " " LEFT " " BOTTOM " " RIGHT */
static gboolean read_rect(SvTraceReader *r, const char *key, SvTraceRect *rect)
{
    int64_t top, left, bottom, right;

    if (!expect(r, key) || !read_number(r, key, R_I32, &top) ||
        !read_number(r, key, R_I32, &left) || !read_number(r, key, R_I32, &bottom) ||
        !read_number(r, key, R_I32, &right)) {
        return FALSE;
    }
    rect->top = (int32_t)top;
    rect->left = (int32_t)left;
    rect->bottom = (int32_t)bottom;
    rect->right = (int32_t)right;
    return TRUE;
}

static gboolean read_point(SvTraceReader *r, const char *key, int64_t min, uint64_t max,
                           SvTracePoint *point)
{
    int64_t x, y;

    if (!expect(r, key) || !read_number(r, key, min, max, &x) ||
        !read_number(r, key, min, max, &y)) {
        return FALSE;
    }
    point->x = (int32_t)x;
    point->y = (int32_t)y;
    return TRUE;
}

static gboolean read_image(SvTraceReader *r, const SvTraceImage **out)
{
    int64_t present;

    *out = NULL;
    if (!key_number(r, "image", R_BOOL, &present)) {
        return FALSE;
    }
    if (present == 0) {
        return TRUE;
    }
    SvTraceImage *image = arena_alloc(r, sizeof(*image), TRUE);
    if (image == NULL || !key_u64(r, "descriptor.id", &image->id) ||
        !key_u32(r, "descriptor.type", &image->type) ||
        !key_u32(r, "descriptor.flags", &image->flags) ||
        !key_dim(r, "descriptor.width", &image->width) ||
        !key_dim(r, "descriptor.height", &image->height)) {
        return FALSE;
    }
    switch (image->type) {
    case SV_TRACE_IMAGE_BITMAP: {
        int64_t stride;
        int64_t has_palette;
        if (!key_range(r, "bitmap.format", 0, 255, &image->bitmap_format) ||
            !key_range(r, "bitmap.flags", 0, 255, &image->bitmap_flags) ||
            !key_dim(r, "bitmap.x", &image->bitmap_x) ||
            !key_dim(r, "bitmap.y", &image->bitmap_y) ||
            !key_number(r, "bitmap.stride", -(1 << 30), 1 << 30, &stride)) {
            return FALSE;
        }
        image->bitmap_stride = (int32_t)stride;
        uint64_t expected_offset = r->tok_offset;
        uint64_t expected_line = r->tok_line;
        if (!key_number(r, "has_palette", R_BOOL, &has_palette)) {
            return FALSE;
        }
        image->has_palette = has_palette != 0;
        if (image->has_palette) {
            if (!key_range(r, "qp.num_ents", 0, MAX_PALETTE_ENTRIES, &image->palette_n) ||
                !key_u64(r, "unique", &image->palette_unique)) {
                return FALSE;
            }
            uint32_t *ents = arena_alloc(r, image->palette_n * sizeof(uint32_t) + 1, FALSE);
            if (ents == NULL) {
                return FALSE;
            }
            for (uint32_t i = 0; i < image->palette_n; i++) {
                if (!key_u32(r, "ents", &ents[i])) {
                    return FALSE;
                }
            }
            image->palette = ents;
        }
        uint64_t expected = (uint64_t)image->bitmap_y * (uint64_t)ABS(image->bitmap_stride);
        if (image->bitmap_flags & SV_TRACE_BITMAP_DIRECT) {
            SvTraceBlob *flat = arena_alloc(r, sizeof(*flat), TRUE);
            if (flat == NULL || !read_blob(r, "image_data_flat", -1, flat)) {
                return FALSE;
            }
            image->data.n_chunks = 1;
            image->data.chunks = flat;
            image->data.total_bytes = flat->size;
        } else if (!read_chunks(r, "bitmap.data", &image->data)) {
            return FALSE;
        }
        if (image->data.total_bytes != expected) {
            r->tok_line = expected_line;
            return fail_at(r, expected_offset, SV_TRACE_ERROR_FORMAT,
                           "bitmap data is %" PRIu64
                           " bytes, expected bitmap.y * |bitmap.stride| = "
                           "%" PRIu64,
                           image->data.total_bytes, expected);
        }
        break;
    }
    case SV_TRACE_IMAGE_SURFACE:
        if (!key_i32(r, "surface_image.surface_id", &image->surface_id)) {
            return FALSE;
        }
        break;
    default: {
        /* QUIC and anything newer: "X.data_size N" + chunks("X.data"). */
        if (!next_token(r)) {
            return FALSE;
        }
        const char *suffix = r->tok_len > 10 ? r->tok + r->tok_len - 10 : NULL;
        if (r->tok_eof || suffix == NULL || strcmp(suffix, ".data_size") != 0) {
            g_autofree char *expected =
                g_strdup_printf("\"<type>.data_size\" for image type %u", image->type);
            return fail_expected(r, expected);
        }
        size_t key_len = r->tok_len - 10;
        char *key = arena_alloc(r, key_len + 1, FALSE);
        if (key == NULL) {
            return FALSE;
        }
        memcpy(key, r->tok, key_len);
        key[key_len] = '\0';
        image->payload_key = key;
        int64_t size;
        if (!read_number(r, "data_size", R_U32, &size)) {
            return FALSE;
        }
        image->payload_size = (uint32_t)size;
        g_autofree char *name = g_strdup_printf("%s.data", key);
        if (!read_chunks(r, name, &image->data)) {
            return FALSE;
        }
        break;
    }
    }
    *out = image;
    return TRUE;
}

static gboolean read_brush(SvTraceReader *r, SvTraceBrush *brush)
{
    if (!key_range(r, "type", 0, 2, &brush->type)) {
        return FALSE;
    }
    switch (brush->type) {
    case SV_TRACE_BRUSH_SOLID:
        return key_u32(r, "u.color", &brush->color);
    case SV_TRACE_BRUSH_PATTERN:
        return read_image(r, &brush->pattern) &&
               read_point(r, "point", R_I32, &brush->pattern_origin);
    default:
        return TRUE;
    }
}

static gboolean read_mask(SvTraceReader *r, SvTraceMask *mask)
{
    return key_u32(r, "flags", &mask->flags) && read_point(r, "point", R_I32, &mask->origin) &&
           read_image(r, &mask->bitmap);
}

static gboolean read_clip(SvTraceReader *r, SvTraceClip *clip)
{
    if (!key_range(r, "type", 0, 1, &clip->type)) {
        return FALSE;
    }
    if (clip->type != SV_TRACE_CLIP_RECTS) {
        return TRUE;
    }
    SvTraceChunks chunks;
    if (!key_range(r, "num_rects", 0, G_MAXINT32, &clip->n_rects)) {
        return FALSE;
    }
    uint64_t count_offset = r->tok_offset;
    uint64_t count_line = r->tok_line;
    if (!read_chunks(r, "clip_rects", &chunks)) {
        return FALSE;
    }
    if (chunks.total_bytes != (uint64_t)clip->n_rects * 16) {
        r->tok_line = count_line;
        return fail_at(r, count_offset, SV_TRACE_ERROR_FORMAT,
                       "clip_rects has %" PRIu64 " bytes, expected num_rects * 16 = %" PRIu64,
                       chunks.total_bytes, (uint64_t)clip->n_rects * 16);
    }
    SvTraceRect *rects = arena_alloc(r, clip->n_rects * sizeof(SvTraceRect) + 1, FALSE);
    if (rects == NULL) {
        return FALSE;
    }
    uint8_t *raw = (uint8_t *)rects;
    size_t at = 0;
    for (uint32_t i = 0; i < chunks.n_chunks; i++) {
        memcpy(raw + at, chunks.chunks[i].data, chunks.chunks[i].size);
        at += chunks.chunks[i].size;
    }
    /* Little-endian int32 top, left, bottom, right. */
    for (uint32_t i = 0; i < clip->n_rects; i++) {
        int32_t v[4];
        memcpy(v, raw + i * 16, 16);
        rects[i].top = GINT32_FROM_LE(v[0]);
        rects[i].left = GINT32_FROM_LE(v[1]);
        rects[i].bottom = GINT32_FROM_LE(v[2]);
        rects[i].right = GINT32_FROM_LE(v[3]);
    }
    clip->rects = rects;
    return TRUE;
}

static gboolean read_src(SvTraceReader *r, SvTraceDrawable *d)
{
    return read_image(r, &d->src_image) && read_rect(r, "rect src_area", &d->src_area);
}

static gboolean read_transform(SvTraceReader *r, const char *key, gboolean *has, SvTraceBlob *blob)
{
    int64_t v;
    if (!key_number(r, key, R_BOOL, &v)) {
        return FALSE;
    }
    *has = v != 0;
    return !*has || read_blob(r, "transform", -1, blob);
}

/* @return FALSE on error; *known FALSE for a drawing type not in the grammar. */
static gboolean read_draw_body(SvTraceReader *r, SvTraceDrawable *d, gboolean *known)
{
    *known = TRUE;
    switch (d->type) {
    case SV_TRACE_DRAW_NOP:
        return TRUE;
    case SV_TRACE_DRAW_FILL:
        return read_brush(r, &d->brush) && key_u32(r, "rop_descriptor", &d->rop_descriptor) &&
               read_mask(r, &d->mask);
    case SV_TRACE_DRAW_OPAQUE:
        return read_src(r, d) && read_brush(r, &d->brush) &&
               key_u32(r, "rop_descriptor", &d->rop_descriptor) &&
               key_u32(r, "scale_mode", &d->scale_mode) && read_mask(r, &d->mask);
    case SV_TRACE_DRAW_COPY:
    case SV_TRACE_DRAW_BLEND:
        return read_src(r, d) && key_u32(r, "rop_descriptor", &d->rop_descriptor) &&
               key_u32(r, "scale_mode", &d->scale_mode) && read_mask(r, &d->mask);
    case SV_TRACE_DRAW_COPY_BITS:
        return read_point(r, "point", R_I32, &d->src_pos);
    case SV_TRACE_DRAW_BLACKNESS:
    case SV_TRACE_DRAW_WHITENESS:
    case SV_TRACE_DRAW_INVERS:
        return read_mask(r, &d->mask);
    case SV_TRACE_DRAW_ROP3:
        return read_src(r, d) && read_brush(r, &d->brush) && key_u32(r, "rop3", &d->rop3) &&
               key_u32(r, "scale_mode", &d->scale_mode) && read_mask(r, &d->mask);
    case SV_TRACE_DRAW_STROKE:
        if (!read_chunks(r, "path", &d->path) || !key_u32(r, "attr.flags", &d->attr_flags)) {
            return FALSE;
        }
        if (d->attr_flags & STROKE_STYLED) {
            if (!key_range(r, "attr.style_nseg", 0, 255, &d->style_nseg) ||
                !read_blob(r, "style", (int64_t)d->style_nseg * 4, &d->style)) {
                return FALSE;
            }
        }
        return read_brush(r, &d->brush) && key_u32(r, "fore_mode", &d->fore_mode) &&
               key_u32(r, "back_mode", &d->back_mode);
    case SV_TRACE_DRAW_TEXT:
        return key_u32(r, "data_size", &d->string_data_size) &&
               key_u32(r, "length", &d->string_length) && key_u32(r, "flags", &d->string_flags) &&
               read_chunks(r, "string", &d->string) &&
               read_rect(r, "rect back_area", &d->back_area) && read_brush(r, &d->brush) &&
               read_brush(r, &d->back_brush) && key_u32(r, "fore_mode", &d->fore_mode) &&
               key_u32(r, "back_mode", &d->back_mode);
    case SV_TRACE_DRAW_TRANSPARENT:
        return read_src(r, d) && key_u32(r, "src_color", &d->src_color) &&
               key_u32(r, "true_color", &d->true_color);
    case SV_TRACE_DRAW_ALPHA_BLEND:
        if (!d->compat && !key_u32(r, "alpha_flags", &d->alpha_flags)) {
            return FALSE;
        }
        return key_u32(r, "alpha", &d->alpha) && read_src(r, d);
    case SV_TRACE_DRAW_COMPOSITE: {
        int64_t has_mask;
        if (!key_u32(r, "flags", &d->composite_flags) || !read_image(r, &d->src_image) ||
            !read_transform(r, "src_transform", &d->has_src_transform, &d->src_transform) ||
            !key_number(r, "mask", R_BOOL, &has_mask)) {
            return FALSE;
        }
        if (has_mask && !read_image(r, &d->mask.bitmap)) {
            return FALSE;
        }
        if (has_mask && d->mask.bitmap == NULL) {
            return fail_at(r, r->tok_offset, SV_TRACE_ERROR_FORMAT,
                           "composite \"mask 1\" followed by \"image 0\"");
        }
        return read_transform(r, "mask_transform", &d->has_mask_transform, &d->mask_transform) &&
               read_point(r, "src_origin", R_I32, &d->src_origin) &&
               read_point(r, "mask_origin", R_I32, &d->mask_origin);
    }
    default:
        *known = FALSE;
        return TRUE;
    }
}

static gboolean read_drawable(SvTraceReader *r, SvTraceDrawable *d, gboolean *known)
{
    if (!expect(r, "drawable") || !read_rect(r, "rect bbox", &d->bbox) || !read_clip(r, &d->clip) ||
        !key_u32(r, "effect", &d->effect) || !key_u32(r, "mm_time", &d->mm_time) ||
        !next_token(r)) {
        return FALSE;
    }
    /* The command's COMPAT flag is not recorded; the layout shows it. */
    if (token_is(r, "bitmap_offset")) {
        d->compat = TRUE;
        push_back_token(r);
        if (!key_u32(r, "bitmap_offset", &d->bitmap_offset) ||
            !read_rect(r, "rect bitmap_area", &d->bitmap_area)) {
            return FALSE;
        }
    } else {
        push_back_token(r);
        if (!key_u32(r, "self_bitmap", &d->self_bitmap) ||
            !read_rect(r, "rect self_bitmap_area", &d->self_bitmap_area) ||
            !key_i32(r, "surface_id", &d->surface_id)) {
            return FALSE;
        }
        for (int i = 0; i < 3; i++) {
            if (!key_i32(r, "surfaces_dest", &d->surfaces_dest[i]) ||
                !read_rect(r, "rect surfaces_rects", &d->surfaces_rects[i])) {
                return FALSE;
            }
        }
    }
    return key_u32(r, "type", &d->type) && read_draw_body(r, d, known);
}

static gboolean read_cursor(SvTraceReader *r, SvTraceCursorCmd *c, gboolean *known)
{
    *known = TRUE;
    if (!expect(r, "cursor_cmd") || !key_u32(r, "type", &c->type)) {
        return FALSE;
    }
    switch (c->type) {
    case SV_TRACE_CURSOR_SET:
        return read_point(r, "point16", G_MININT16, G_MAXUINT16, &c->position) &&
               key_u32(r, "u.set.visible", &c->visible) &&
               key_u64(r, "header.unique", &c->unique) &&
               key_u32(r, "header.type", &c->shape_type) && key_dim(r, "header.width", &c->width) &&
               key_dim(r, "header.height", &c->height) &&
               key_u32(r, "header.hot_spot_x", &c->hot_spot_x) &&
               key_u32(r, "header.hot_spot_y", &c->hot_spot_y) &&
               key_u32(r, "data_size", &c->data_size) && read_chunks(r, "cursor", &c->data);
    case SV_TRACE_CURSOR_MOVE:
        return read_point(r, "point16", G_MININT16, G_MAXUINT16, &c->position);
    case SV_TRACE_CURSOR_HIDE:
        return TRUE;
    case SV_TRACE_CURSOR_TRAIL:
        return key_u32(r, "u.trail.length", &c->trail_length) &&
               key_u32(r, "u.trail.frequency", &c->trail_frequency);
    default:
        *known = FALSE;
        return TRUE;
    }
}

static gboolean read_surface_cmd(SvTraceReader *r, SvTraceSurfaceCmd *s, gboolean *known)
{
    *known = TRUE;
    if (!expect(r, "surface_cmd") || !key_i32(r, "surface_id", &s->surface_id) ||
        !key_u32(r, "type", &s->type) || !key_u32(r, "flags", &s->flags)) {
        return FALSE;
    }
    if (s->type == SV_TRACE_SURFACE_DESTROY) {
        return TRUE;
    }
    if (s->type != SV_TRACE_SURFACE_CREATE) {
        *known = FALSE;
        return TRUE;
    }
    int64_t stride;
    if (!key_u32(r, "u.surface_create.format", &s->format) ||
        !key_dim(r, "u.surface_create.width", &s->width) ||
        !key_dim(r, "u.surface_create.height", &s->height) ||
        !key_number(r, "u.surface_create.stride", -(1 << 30), 1 << 30, &stride)) {
        return FALSE;
    }
    s->stride = (int32_t)stride;
    if (s->flags & SV_TRACE_SURFACE_KEEP_DATA) {
        return read_blob(r, "data", (int64_t)s->height * ABS(stride), &s->data);
    }
    return TRUE;
}

static gboolean read_primary(SvTraceReader *r, SvTracePrimary *p)
{
    int64_t v[8];
    static const char *const names[8] = {"width",    "height",     "stride", "format",
                                         "position", "mouse_mode", "flags",  "type"};

    /* A request the server rejected leaves the event line alone. */
    if (!next_token(r)) {
        return FALSE;
    }
    /* At the end of the file the block is missing, not absent: a cut. */
    gboolean absent = token_is(r, "event");
    push_back_token(r);
    if (absent) {
        p->present = FALSE;
        return TRUE;
    }
    for (int i = 0; i < 8; i++) {
        int64_t min = G_MININT32;
        uint64_t max = G_MAXUINT32;
        if (i <= 1) {
            min = 0;
            max = SV_TRACE_MAX_DIMENSION;
        } else if (i == 2) {
            min = -(1 << 30);
            max = 1 << 30;
        }
        if (!read_number(r, names[i], min, max, &v[i])) {
            return FALSE;
        }
    }
    p->present = TRUE;
    p->width = (uint32_t)v[0];
    p->height = (uint32_t)v[1];
    p->stride = (int32_t)v[2];
    p->format = (uint32_t)v[3];
    p->position = (uint32_t)v[4];
    p->mouse_mode = (uint32_t)v[5];
    p->flags = (uint32_t)v[6];
    p->type = (uint32_t)v[7];
    return read_blob(r, "data", v[1] * ABS(v[2]), &p->data);
}

/* Skips the rest of a record: up to the next "event" token, stepping over
 * blobs by their sizes. */
static gboolean skip_record(SvTraceReader *r)
{
    for (;;) {
        if (!next_token(r)) {
            return FALSE;
        }
        if (r->tok_eof) {
            return TRUE;
        }
        if (token_is(r, "event")) {
            push_back_token(r);
            return TRUE;
        }
        if (token_is(r, "binary")) {
            int64_t z, size, zsize = 0;
            if (!read_number(r, "binary", 0, 1, &z) || !next_token(r) ||
                !read_number(r, "binary", 0, G_MAXINT64, &size)) {
                return FALSE;
            }
            if (peek_byte(r) != ':') {
                return fail_at(r, offset_now(r), SV_TRACE_ERROR_FORMAT,
                               "expected ':' after a blob size");
            }
            r->pos++;
            if (z == 1) {
                if (!read_number(r, "binary", 0, G_MAXINT64, &zsize)) {
                    return FALSE;
                }
                if (peek_byte(r) != ':') {
                    return fail_at(r, offset_now(r), SV_TRACE_ERROR_FORMAT,
                                   "expected ':' after a blob size");
                }
                r->pos++;
                size = zsize;
            }
            if (!read_payload(r, NULL, (uint64_t)size, "binary")) {
                return FALSE;
            }
        }
    }
}

static void warn_skipped(SvTraceReader *r, uint64_t offset, const char *what, uint32_t value)
{
    r->stats.skipped++;
    g_free(r->last_warning);
    r->last_warning = g_strdup_printf("%s: offset %" PRIu64 " (event %" PRIu64
                                      "): skipped a record with unknown %s %u",
                                      r->name, offset, r->event_number, what, value);
}

/* ---- public API ----------------------------------------------------------------------------- */

static SvTraceReader *reader_new(SvTraceInput *input, GError **error)
{
    g_autoptr(SvTraceReader) r = g_new0(SvTraceReader, 1);
    int64_t version;

    r->input = input;
    r->name = g_strdup(sv_trace_input_get_name(input));
    r->buf = g_malloc(READ_BUFFER_BYTES);
    r->line = 1;
    r->max_blob = SV_TRACE_DEFAULT_MAX_BLOB_BYTES;
    r->arena.blocks = g_array_new(FALSE, FALSE, sizeof(ArenaBlock));
    r->chunk_scratch = g_array_new(FALSE, FALSE, sizeof(SvTraceBlob));
    r->error = error;

    if (!next_token(r)) {
        return NULL;
    }
    if (!token_is(r, "SPICE_REPLAY")) {
        fail_expected(r, "the header \"SPICE_REPLAY 1\"");
        return NULL;
    }
    if (!read_number(r, "SPICE_REPLAY", 0, G_MAXUINT32, &version)) {
        return NULL;
    }
    if (version != 1) {
        fail_at(r, r->tok_offset, SV_TRACE_ERROR_FORMAT,
                "unsupported SPICE_REPLAY version %" PRId64 " (expected 1)", version);
        return NULL;
    }
    r->error = NULL;
    return g_steal_pointer(&r);
}

SvTraceReader *sv_trace_reader_new(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    SvTraceInput *input = sv_trace_input_new(path, error);
    return input != NULL ? reader_new(input, error) : NULL;
}

SvTraceReader *sv_trace_reader_new_from_data(const char *name, const void *data, size_t size,
                                             GError **error)
{
    SvTraceInput *input = sv_trace_input_new_from_data(name, data, size, error);
    return input != NULL ? reader_new(input, error) : NULL;
}

void sv_trace_reader_free(SvTraceReader *reader)
{
    if (reader == NULL) {
        return;
    }
    if (reader->arena.blocks != NULL) {
        for (guint i = 0; i < reader->arena.blocks->len; i++) {
            g_free(g_array_index(reader->arena.blocks, ArenaBlock, i).base);
        }
        g_array_free(reader->arena.blocks, TRUE);
    }
    if (reader->chunk_scratch != NULL) {
        g_array_free(reader->chunk_scratch, TRUE);
    }
    sv_trace_input_free(reader->input);
    g_free(reader->buf);
    g_free(reader->name);
    g_free(reader->last_warning);
    g_free(reader);
}

void sv_trace_reader_set_max_blob_bytes(SvTraceReader *reader, uint64_t max_bytes)
{
    g_return_if_fail(reader != NULL);
    reader->max_blob = MIN(max_bytes, (uint64_t)G_MAXSSIZE / 2);
}

static const SvTraceEvent *read_event(SvTraceReader *r)
{
    for (;;) {
        SvTraceEvent *ev = &r->event;
        int64_t counter, kind, type, ts;

        arena_reset(&r->arena);
        memset(ev, 0, sizeof(*ev));
        r->in_event = FALSE;
        if (!next_token(r)) {
            return NULL;
        }
        if (r->tok_eof) {
            return NULL;
        }
        uint64_t offset = r->tok_offset;
        if (!token_is(r, "event")) {
            r->in_event = r->stats.events > 0;
            fail_expected(r, "\"event\"");
            return NULL;
        }
        if (!read_number(r, "event", R_U64, &counter)) {
            return NULL;
        }
        r->event_number = (uint64_t)counter;
        r->in_event = TRUE;
        if (!read_number(r, "what", 0, G_MAXUINT32, &kind) ||
            !read_number(r, "type", 0, G_MAXUINT32, &type) ||
            !read_number(r, "timestamp", R_U64, &ts)) {
            return NULL;
        }
        ev->counter = (uint64_t)counter;
        ev->kind = (uint32_t)kind;
        ev->type = (uint32_t)type;
        ev->timestamp_ns = (uint64_t)ts;
        ev->offset = offset;

        gboolean known = TRUE;
        gboolean ok = TRUE;
        if (kind == SV_TRACE_KIND_MESSAGE) {
            if (type == SV_TRACE_MSG_CREATE_PRIMARY_SURFACE ||
                type == SV_TRACE_MSG_CREATE_PRIMARY_SURFACE_ASYNC) {
                ok = read_primary(r, &ev->primary);
            } else if (type > SV_TRACE_MSG_LAST) {
                known = FALSE;
            }
        } else if (kind == SV_TRACE_KIND_COMMAND) {
            switch (type) {
            case SV_TRACE_CMD_DRAW:
                ok = read_drawable(r, &ev->draw, &known);
                break;
            case SV_TRACE_CMD_UPDATE:
                ok = expect(r, "update") && read_rect(r, "rect area", &ev->update.area) &&
                     key_u32(r, "update_id", &ev->update.update_id) &&
                     key_i32(r, "surface_id", &ev->update.surface_id);
                break;
            case SV_TRACE_CMD_CURSOR:
                ok = read_cursor(r, &ev->cursor, &known);
                break;
            case SV_TRACE_CMD_MESSAGE:
                ok = read_blob(r, "message", -1, &ev->message);
                break;
            case SV_TRACE_CMD_SURFACE:
                ok = read_surface_cmd(r, &ev->surface, &known);
                break;
            default:
                known = FALSE;
                break;
            }
        } else {
            known = FALSE;
        }
        if (!ok) {
            return NULL;
        }
        if (r->arena.total_used > r->stats.max_event_bytes) {
            r->stats.max_event_bytes = r->arena.total_used;
        }
        if (!known) {
            const char *what = kind == SV_TRACE_KIND_MESSAGE   ? "worker message"
                               : kind == SV_TRACE_KIND_COMMAND ? "command type"
                                                               : "record kind";
            uint32_t value = kind <= 1 ? (uint32_t)type : (uint32_t)kind;
            if (kind == SV_TRACE_KIND_COMMAND && type == SV_TRACE_CMD_DRAW) {
                what = "drawing type";
                value = ev->draw.type;
            } else if (kind == SV_TRACE_KIND_COMMAND && type == SV_TRACE_CMD_CURSOR) {
                what = "cursor command";
                value = ev->cursor.type;
            } else if (kind == SV_TRACE_KIND_COMMAND && type == SV_TRACE_CMD_SURFACE) {
                what = "surface command";
                value = ev->surface.type;
            }
            warn_skipped(r, offset, what, value);
            if (!skip_record(r)) {
                return NULL;
            }
            continue;
        }
        r->stats.events++;
        return ev;
    }
}

const SvTraceEvent *sv_trace_reader_next(SvTraceReader *reader, GError **error)
{
    g_return_val_if_fail(reader != NULL, NULL);
    if (reader->failed) {
        g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_FORMAT, "%s: reading after an error",
                    reader->name);
        return NULL;
    }
    reader->error = error;
    const SvTraceEvent *ev = read_event(reader);
    reader->error = NULL;
    reader->stats.bytes = offset_now(reader);
    if (ev == NULL && !reader->failed) {
        /* Release the last event's storage at the end. */
        arena_reset(&reader->arena);
    }
    return ev;
}

void sv_trace_reader_get_stats(const SvTraceReader *reader, SvTraceReaderStats *stats)
{
    g_return_if_fail(reader != NULL && stats != NULL);
    *stats = reader->stats;
    sv_trace_input_get_position(reader->input, &stats->input_bytes, &stats->input_size);
}

SvTraceCompression sv_trace_reader_get_compression(const SvTraceReader *reader)
{
    g_return_val_if_fail(reader != NULL, SV_TRACE_COMPRESSION_NONE);
    return sv_trace_input_get_compression(reader->input);
}

const char *sv_trace_reader_get_last_warning(const SvTraceReader *reader)
{
    g_return_val_if_fail(reader != NULL, NULL);
    return reader->last_warning;
}

const char *sv_trace_event_type_name(uint32_t kind, uint32_t type)
{
    static const char *const commands[] = {"nop", "draw", "update", "cursor", "message", "surface"};
    static const char *const messages[] = {
        "nop",
        "update",
        "wakeup",
        "oom",
        "ready",
        "display_connect",
        "display_disconnect",
        "display_migrate",
        "start",
        "stop",
        "cursor_connect",
        "cursor_disconnect",
        "cursor_migrate",
        "set_compression",
        "set_streaming_video",
        "set_mouse_mode",
        "add_memslot",
        "del_memslot",
        "reset_memslots",
        "destroy_surfaces",
        "create_primary_surface",
        "destroy_primary_surface",
        "reset_cursor",
        "reset_image_cache",
        "destroy_surface_wait",
        "loadvm_commands",
        "update_async",
        "add_memslot_async",
        "destroy_surfaces_async",
        "create_primary_surface_async",
        "destroy_primary_surface_async",
        "destroy_surface_wait_async",
        "flush_surfaces_async",
        "display_channel_create",
        "cursor_channel_create",
        "monitors_config_async",
        "driver_unload",
        "gl_scanout",
        "gl_draw_async",
        "set_video_codecs",
        "close_worker",
    };
    if (kind == SV_TRACE_KIND_COMMAND && type < G_N_ELEMENTS(commands)) {
        return commands[type];
    }
    if (kind == SV_TRACE_KIND_MESSAGE && type < G_N_ELEMENTS(messages)) {
        return messages[type];
    }
    return "?";
}

const char *sv_trace_draw_type_name(uint32_t type)
{
    static const char *const names[] = {
        "nop",    "fill", "opaque", "copy", "copy_bits",   "blend",       "blackness", "whiteness",
        "invers", "rop3", "stroke", "text", "transparent", "alpha_blend", "composite",
    };
    return type < G_N_ELEMENTS(names) ? names[type] : "?";
}
