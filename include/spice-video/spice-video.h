/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/** spice-video.h: the whole public API of libspice-video. */
#ifndef SPICE_VIDEO_SPICE_VIDEO_H
#define SPICE_VIDEO_SPICE_VIDEO_H

#include <spice-video/encoders.h>
#include <spice-video/module.h>
#include <spice-video/registry.h>
#include <spice-video/replay.h>
#include <spice-video/server.h>
#include <spice-video/spice-draw.h>
#include <spice-video/streamdetect.h>
#include <spice-video/trace.h>
#include <spice-video/video-encoder.h>

#endif /* SPICE_VIDEO_SPICE_VIDEO_H */
