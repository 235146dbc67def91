/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * rate-callbacks.h: calling the optional VideoEncoderRateControlCbs with
 * their defaults, for every encoder. Internal: not installed.
 */
#ifndef SV_ENCODERS_RATE_CALLBACKS_H
#define SV_ENCODERS_RATE_CALLBACKS_H

#include <spice-video/video-encoder.h>

/* The source frame rate, or @default_fps when the server gives none. */
static inline uint32_t sv_cbs_source_fps(const VideoEncoderRateControlCbs *cbs,
                                         uint32_t default_fps)
{
    return cbs->get_source_fps != NULL ? cbs->get_source_fps(cbs->opaque) : default_fps;
}

/* One-way network latency, ms: half the round trip (taken as symmetric). */
static inline uint32_t sv_cbs_one_way_latency_ms(const VideoEncoderRateControlCbs *cbs)
{
    return cbs->get_roundtrip_ms != NULL ? cbs->get_roundtrip_ms(cbs->opaque) / 2 : 0;
}

/* Tells the server the playback delay the stream needs, if it listens. */
static inline void sv_cbs_update_playback_delay(const VideoEncoderRateControlCbs *cbs,
                                                uint32_t delay_ms)
{
    if (cbs->update_client_playback_delay != NULL) {
        cbs->update_client_playback_delay(cbs->opaque, delay_ms);
    }
}

#endif /* SV_ENCODERS_RATE_CALLBACKS_H */
