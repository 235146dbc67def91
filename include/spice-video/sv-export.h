/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/** sv-export.h: SV_API marks the functions libspice-video exports. */
#ifndef SPICE_VIDEO_SV_EXPORT_H
#define SPICE_VIDEO_SV_EXPORT_H

#if defined(SV_BUILDING_LIBRARY) && defined(__GNUC__)
#define SV_API __attribute__((visibility("default")))
#else
#define SV_API
#endif

#endif /* SPICE_VIDEO_SV_EXPORT_H */
