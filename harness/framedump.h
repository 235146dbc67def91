/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * framedump.h: `spice-bench --dump-frames DIR`: the guest's screen and the
 * client's screen side by side (guest left, client right), as one Y4M video
 * (DIR/side-by-side.y4m, 4:2:0, playable by any player) or as numbered PNG
 * files (DIR/frame-000000.png …). Files are written to temporary names and
 * renamed by sv_frame_dump_close().
 */
#ifndef SV_HARNESS_FRAMEDUMP_H
#define SV_HARNESS_FRAMEDUMP_H

#include <glib.h>

#include <spice-video/server.h>

G_BEGIN_DECLS

typedef struct SvFrameDump SvFrameDump;

/**
 * @param format "y4m" or "png".
 * @param width, height one screen's size (the output is 2 × width wide).
 * @param fps Y4M frame rate.
 */
SvFrameDump *sv_frame_dump_new(const char *dir, const char *format, uint32_t width, uint32_t height,
                               double fps, GError **error);
/** Appends one side-by-side frame; a NULL or differently sized canvas is drawn black / cropped. */
gboolean sv_frame_dump_add(SvFrameDump *dump, const SvCanvas *guest, const SvCanvas *client,
                           GError **error);
/** @return the number of frames added. */
guint64 sv_frame_dump_get_n_frames(const SvFrameDump *dump);
/** Finishes and renames the files into place. */
gboolean sv_frame_dump_close(SvFrameDump *dump, GError **error);
/** Frees; removes temporary files if not closed. */
void sv_frame_dump_free(SvFrameDump *dump);

G_END_DECLS

#endif /* SV_HARNESS_FRAMEDUMP_H */
