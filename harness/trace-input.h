/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * trace-input.h: a byte stream of uncompressed trace data from a file,
 * standard input or memory, plain, zstd or gzip (told apart by the first
 * bytes). Internal to the harness; the tests use it too.
 */
#ifndef SV_TRACE_INPUT_H
#define SV_TRACE_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include <spice-video/trace.h>

typedef struct SvTraceInput SvTraceInput;

/** Opens @path ("-" = standard input). */
SvTraceInput *sv_trace_input_new(const char *path, GError **error);

/** Reads from @data (not copied; must outlive the input). */
SvTraceInput *sv_trace_input_new_from_data(const char *name, const void *data, size_t size,
                                           GError **error);

void sv_trace_input_free(SvTraceInput *input);

/** The compression detected. */
SvTraceCompression sv_trace_input_get_compression(const SvTraceInput *input);

/** The name used in messages. */
const char *sv_trace_input_get_name(const SvTraceInput *input);

/**
 * Reads up to @size uncompressed bytes into @dst (fewer only at the end).
 * @return bytes read, 0 at the end, -1 with @error set (the message has no
 *         file-name prefix; the caller adds its position).
 */
gssize sv_trace_input_read(SvTraceInput *input, void *dst, size_t size, GError **error);

/**
 * Progress through the raw (possibly compressed) input: bytes consumed and
 * the total (0 when unknown, e.g. a pipe).
 */
void sv_trace_input_get_position(const SvTraceInput *input, uint64_t *consumed, uint64_t *size);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvTraceInput, sv_trace_input_free)

#endif /* SV_TRACE_INPUT_H */
