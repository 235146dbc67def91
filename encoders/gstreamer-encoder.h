/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * gstreamer-encoder.h: the GStreamer codec backend (appsrc ! encoder !
 * appsink) for the frame encoder, and what the registry needs to describe
 * the gstreamer:* entries. Internal: not installed. Everything here exists
 * only when config.h has SV_HAVE_GST_ENCODERS.
 */
#ifndef SV_ENCODERS_GSTREAMER_ENCODER_H
#define SV_ENCODERS_GSTREAMER_ENCODER_H

#include "codec-backend.h"

/* The backend; tests drive it directly. */
extern const SvCodecBackendClass sv_gstreamer_backend_class;

/* Option tables of the gstreamer:* descriptors (NULL-terminated). Every
 * table with 4:4:4 support has a bool option named `yuv444`. */
extern const SvEncoderOption sv_gstreamer_mjpeg_options[];
extern const SvEncoderOption sv_gstreamer_vp8_options[];
extern const SvEncoderOption sv_gstreamer_h264_options[];
extern const SvEncoderOption sv_gstreamer_vp9_options[];
extern const SvEncoderOption sv_gstreamer_h265_options[];

/* For tests: the encoder element (a GstElement *) of a started backend, in
 * its pipeline (encoder "encoder", appsink "sink", fed from a pad of the
 * backend's own), or NULL. Ownership: the backend's. */
void *sv_gstreamer_backend_get_element(void *backend);

/* For tests: how many frames were handed to the element without a copy. */
uint64_t sv_gstreamer_backend_get_wrapped_frames(void *backend);

/* @return the option table for @codec, or NULL for a codec this backend
 * does not produce. */
const SvEncoderOption *sv_gstreamer_options_for_codec(SpiceVideoCodecType codec);

/* @return the encoder element used for @codec ("x264enc"), or NULL. */
const char *sv_gstreamer_element_for_codec(SpiceVideoCodecType codec);

/*
 * The descriptors' probe: GStreamer initialises and the encoder element of
 * desc->codec_type is installed. FALSE with @error "<element> not installed"
 * otherwise. Thread: any.
 */
gboolean sv_gstreamer_probe(const SvEncoderDesc *desc, GError **error);

#endif /* SV_ENCODERS_GSTREAMER_ENCODER_H */
