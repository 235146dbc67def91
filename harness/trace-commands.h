/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * trace-commands.h: turns trace events (trace.h) into calls on the display
 * model (server.h): surface commands and worker messages into surface
 * creation and destruction, draws into SvDrawCommand, updates into
 * sv_display_update_area(). The only place that knows both vocabularies.
 */
#ifndef SV_HARNESS_TRACE_COMMANDS_H
#define SV_HARNESS_TRACE_COMMANDS_H

#include <stdint.h>

#include <glib.h>

#include <spice-video/server.h>
#include <spice-video/trace.h>

G_BEGIN_DECLS

typedef struct SvCommandConverter SvCommandConverter;

SvCommandConverter *sv_command_converter_new(void);
void sv_command_converter_free(SvCommandConverter *converter);

/**
 * Converts a DRAW event's drawable. The command, its images and chunk
 * tables point into @converter's storage and into @draw's (the reader's)
 * storage: valid until the next call or the next sv_trace_reader_next().
 * @return NULL with @error for a drawable the display cannot take (e.g. a
 *         compat drawable, an image with a bitmap too short for its size).
 */
const SvDrawCommand *sv_command_converter_draw(SvCommandConverter *converter,
                                               const SvTraceDrawable *draw, GError **error);

/** What sv_trace_apply_event() did. */
typedef enum {
    SV_APPLIED_NOTHING, /**< an event the display does not model (cursor, wakeup, …) */
    SV_APPLIED_DRAW,    /**< a draw: *seq_out is its sequence number */
    SV_APPLIED_SURFACE, /**< a surface was created or destroyed */
    SV_APPLIED_UPDATE,  /**< an area was read back */
} SvApplied;

/**
 * Applies one trace event to @display at @now_ns.
 * @return FALSE with @error (prefixed with the event's offset) if the
 *         display refused it.
 */
gboolean sv_trace_apply_event(SvDisplay *display, SvCommandConverter *converter,
                              const SvTraceEvent *event, int64_t now_ns, SvApplied *applied,
                              uint64_t *seq_out, GError **error);

G_END_DECLS

#endif /* SV_HARNESS_TRACE_COMMANDS_H */
