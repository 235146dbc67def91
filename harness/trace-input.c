/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "trace-input.h"

/* Compressed bytes are read in pieces of this size; plain input that is not
 * already buffered goes straight into the caller's memory. */
#define INPUT_BUFFER_BYTES (256 * 1024)

struct SvTraceInput {
    char *name;
    int fd; /* -1 for memory input */
    gboolean close_fd;
    SvTraceCompression compression;

    /* Raw (possibly compressed) bytes not yet consumed. For memory input
     * this points at the caller's data. */
    const uint8_t *in;
    size_t in_pos;
    size_t in_len;
    uint8_t *in_storage;
    gboolean in_eof;

    ZSTD_DStream *zstd;
    size_t zstd_hint; /* 0 once a frame is complete */
    z_stream zlib;
    gboolean zlib_ready;
    gboolean zlib_member_done;
    gboolean end;
    GError *pending;   /* reported after the bytes decoded before it */
    uint64_t raw_read; /* bytes read from the file or memory so far */
    uint64_t raw_size; /* size of the file or memory, 0 if unknown (a pipe) */
};

static gboolean fill_raw(SvTraceInput *input, GError **error)
{
    if (input->in_eof) {
        return TRUE;
    }
    if (input->fd < 0) {
        input->in_eof = TRUE;
        return TRUE;
    }
    if (input->in_pos > 0) {
        memmove(input->in_storage, input->in_storage + input->in_pos,
                input->in_len - input->in_pos);
        input->in_len -= input->in_pos;
        input->in_pos = 0;
    }
    while (input->in_len < INPUT_BUFFER_BYTES) {
        ssize_t n =
            read(input->fd, input->in_storage + input->in_len, INPUT_BUFFER_BYTES - input->in_len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_IO, "read error: %s",
                        g_strerror(errno));
            return FALSE;
        }
        if (n == 0) {
            input->in_eof = TRUE;
            break;
        }
        input->in_len += (size_t)n;
        input->raw_read += (uint64_t)n;
        /* One read is enough to make progress. */
        break;
    }
    return TRUE;
}

static gboolean setup(SvTraceInput *input, GError **error)
{
    /* Enough bytes to see a magic number, unless the input is shorter. */
    while (input->in_len - input->in_pos < 4 && !input->in_eof) {
        if (!fill_raw(input, error)) {
            return FALSE;
        }
    }
    const uint8_t *p = input->in + input->in_pos;
    size_t avail = input->in_len - input->in_pos;
    static const uint8_t zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};
    static const uint8_t gzip_magic[2] = {0x1f, 0x8b};

    if (avail >= 4 && memcmp(p, zstd_magic, 4) == 0) {
        input->compression = SV_TRACE_COMPRESSION_ZSTD;
        input->zstd = ZSTD_createDStream();
        if (input->zstd == NULL) {
            g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_COMPRESS,
                        "cannot create a zstd decoder");
            return FALSE;
        }
        /* Recordings compressed with --long=27 need a 128 MiB window. */
        ZSTD_DCtx_setParameter(input->zstd, ZSTD_d_windowLogMax, 27);
        input->zstd_hint = 1;
    } else if (avail >= 2 && memcmp(p, gzip_magic, 2) == 0) {
        input->compression = SV_TRACE_COMPRESSION_GZIP;
        if (inflateInit2(&input->zlib, 15 + 16) != Z_OK) {
            g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_COMPRESS,
                        "cannot create a gzip decoder");
            return FALSE;
        }
        input->zlib_ready = TRUE;
    } else {
        input->compression = SV_TRACE_COMPRESSION_NONE;
    }
    return TRUE;
}

SvTraceInput *sv_trace_input_new(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, NULL);
    g_autoptr(SvTraceInput) input = g_new0(SvTraceInput, 1);

    input->name = g_strdup(path);
    if (strcmp(path, "-") == 0) {
        input->fd = STDIN_FILENO;
    } else {
        input->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (input->fd < 0) {
            g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_IO, "%s: %s", path,
                        g_strerror(errno));
            return NULL;
        }
        input->close_fd = TRUE;
#ifdef POSIX_FADV_SEQUENTIAL
        posix_fadvise(input->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
        struct stat st;
        if (fstat(input->fd, &st) == 0 && S_ISREG(st.st_mode)) {
            input->raw_size = (uint64_t)st.st_size;
        }
    }
    input->in_storage = g_malloc(INPUT_BUFFER_BYTES);
    input->in = input->in_storage;
    g_autoptr(GError) local = NULL;
    if (!setup(input, &local)) {
        g_set_error(error, SV_TRACE_ERROR, local->code, "%s: offset 0: %s", path, local->message);
        return NULL;
    }
    return g_steal_pointer(&input);
}

SvTraceInput *sv_trace_input_new_from_data(const char *name, const void *data, size_t size,
                                           GError **error)
{
    g_return_val_if_fail(data != NULL || size == 0, NULL);
    g_autoptr(SvTraceInput) input = g_new0(SvTraceInput, 1);
    static const uint8_t empty[1];

    input->name = g_strdup(name != NULL ? name : "(memory)");
    input->fd = -1;
    input->in = data != NULL ? data : empty;
    input->in_len = size;
    input->in_eof = TRUE;
    g_autoptr(GError) local = NULL;
    if (!setup(input, &local)) {
        g_set_error(error, SV_TRACE_ERROR, local->code, "%s: offset 0: %s", input->name,
                    local->message);
        return NULL;
    }
    return g_steal_pointer(&input);
}

void sv_trace_input_free(SvTraceInput *input)
{
    if (input == NULL) {
        return;
    }
    if (input->close_fd) {
        close(input->fd);
    }
    if (input->zstd != NULL) {
        ZSTD_freeDStream(input->zstd);
    }
    if (input->zlib_ready) {
        inflateEnd(&input->zlib);
    }
    g_clear_error(&input->pending);
    g_free(input->in_storage);
    g_free(input->name);
    g_free(input);
}

SvTraceCompression sv_trace_input_get_compression(const SvTraceInput *input)
{
    return input->compression;
}

const char *sv_trace_input_get_name(const SvTraceInput *input)
{
    return input->name;
}

static gssize read_plain(SvTraceInput *input, uint8_t *dst, size_t size, GError **error)
{
    size_t done = 0;
    size_t buffered = input->in_len - input->in_pos;

    if (buffered > 0) {
        done = MIN(buffered, size);
        memcpy(dst, input->in + input->in_pos, done);
        input->in_pos += done;
    }
    /* The rest comes from the file straight into the caller's memory. */
    while (done < size && input->fd >= 0 && !input->in_eof) {
        ssize_t n = read(input->fd, dst + done, size - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            g_set_error(error, SV_TRACE_ERROR, SV_TRACE_ERROR_IO, "read error: %s",
                        g_strerror(errno));
            return -1;
        }
        if (n == 0) {
            input->in_eof = TRUE;
            break;
        }
        done += (size_t)n;
        input->raw_read += (uint64_t)n;
    }
    return (gssize)done;
}

/* An error after some bytes were decoded waits for the next call, so the
 * reader sees those bytes and reports the error where they end. */
static gssize defer_error(SvTraceInput *input, size_t done, GError *local, GError **error)
{
    if (done > 0) {
        input->pending = local;
        return (gssize)done;
    }
    g_propagate_error(error, local);
    return -1;
}

static gssize read_zstd(SvTraceInput *input, uint8_t *dst, size_t size, GError **error)
{
    ZSTD_outBuffer out = {dst, size, 0};
    GError *local = NULL;

    while (out.pos < out.size && !input->end) {
        if (input->in_pos == input->in_len && !input->in_eof) {
            if (!fill_raw(input, &local)) {
                return defer_error(input, out.pos, local, error);
            }
        }
        gboolean at_end = input->in_pos == input->in_len && input->in_eof;
        if (at_end && input->zstd_hint == 0) {
            /* The last frame is complete and nothing follows. */
            input->end = TRUE;
            break;
        }
        ZSTD_inBuffer in = {input->in, input->in_len, input->in_pos};
        size_t before = out.pos;
        size_t ret = ZSTD_decompressStream(input->zstd, &out, &in);
        gboolean consumed = in.pos != input->in_pos;

        input->in_pos = in.pos;
        if (ZSTD_isError(ret)) {
            g_set_error(&local, SV_TRACE_ERROR, SV_TRACE_ERROR_COMPRESS, "corrupt zstd data: %s",
                        ZSTD_getErrorName(ret));
            return defer_error(input, out.pos, local, error);
        }
        if (at_end && out.pos == before && !consumed) {
            /* No input left, nothing more to flush, frame unfinished. */
            g_set_error_literal(&local, SV_TRACE_ERROR, SV_TRACE_ERROR_COMPRESS,
                                "truncated zstd data");
            return defer_error(input, out.pos, local, error);
        }
        input->zstd_hint = ret;
    }
    return (gssize)out.pos;
}

static gssize read_gzip(SvTraceInput *input, uint8_t *dst, size_t size, GError **error)
{
    size_t done = 0;
    GError *local = NULL;

    while (done < size && !input->end) {
        if (input->in_pos == input->in_len && !input->in_eof) {
            if (!fill_raw(input, &local)) {
                return defer_error(input, done, local, error);
            }
        }
        if (input->zlib_member_done) {
            if (input->in_pos == input->in_len && input->in_eof) {
                input->end = TRUE;
                break;
            }
            /* Another gzip member follows (concatenated files). */
            inflateReset(&input->zlib);
            input->zlib_member_done = FALSE;
        }
        size_t in_avail = input->in_len - input->in_pos;
        size_t out_avail = size - done;
        input->zlib.next_in = (Bytef *)(input->in + input->in_pos);
        input->zlib.avail_in = (uInt)MIN(in_avail, (size_t)G_MAXUINT32);
        input->zlib.next_out = dst + done;
        input->zlib.avail_out = (uInt)MIN(out_avail, (size_t)G_MAXUINT32);
        uInt avail_in_before = input->zlib.avail_in;
        uInt avail_out_before = input->zlib.avail_out;
        int ret = inflate(&input->zlib, Z_NO_FLUSH);
        input->in_pos += avail_in_before - input->zlib.avail_in;
        done += avail_out_before - input->zlib.avail_out;

        if (ret == Z_STREAM_END) {
            input->zlib_member_done = TRUE;
        } else if (ret == Z_BUF_ERROR || (ret == Z_OK && input->zlib.avail_in == 0)) {
            if (input->in_pos == input->in_len && input->in_eof &&
                avail_out_before == input->zlib.avail_out) {
                g_set_error_literal(&local, SV_TRACE_ERROR, SV_TRACE_ERROR_COMPRESS,
                                    "truncated gzip data");
                return defer_error(input, done, local, error);
            }
        } else if (ret != Z_OK) {
            g_set_error(&local, SV_TRACE_ERROR, SV_TRACE_ERROR_COMPRESS, "corrupt gzip data: %s",
                        input->zlib.msg != NULL ? input->zlib.msg : "inflate failed");
            return defer_error(input, done, local, error);
        }
    }
    return (gssize)done;
}

gssize sv_trace_input_read(SvTraceInput *input, void *dst, size_t size, GError **error)
{
    if (input->pending != NULL) {
        g_propagate_error(error, g_steal_pointer(&input->pending));
        return -1;
    }
    if (size == 0) {
        return 0;
    }
    switch (input->compression) {
    case SV_TRACE_COMPRESSION_ZSTD:
        return read_zstd(input, dst, size, error);
    case SV_TRACE_COMPRESSION_GZIP:
        return read_gzip(input, dst, size, error);
    case SV_TRACE_COMPRESSION_NONE:
    default:
        return read_plain(input, dst, size, error);
    }
}

void sv_trace_input_get_position(const SvTraceInput *input, uint64_t *consumed, uint64_t *size)
{
    if (input->fd < 0) {
        /* Memory input: everything is "read" at once; report what was used. */
        *consumed = input->in_pos;
        *size = input->in_len;
        return;
    }
    size_t buffered = input->in_len - input->in_pos;
    *consumed = input->raw_read - MIN(input->raw_read, (uint64_t)buffered);
    *size = input->raw_size;
}
