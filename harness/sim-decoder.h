/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * sim-decoder.h: one video decoder of the simulated client, the one
 * spice-gtk would use for the codec: libjpeg-turbo for MJPEG (fast DCT, no
 * fancy upsampling, as spice-gtk's builtin decoder), GStreamer for the
 * others (`appsrc ! [parser !] decoder ! videoconvert !
 * video/x-raw,format=BGRx ! appsink`). Decoding is synchronous: one frame
 * in, one picture out, or a refusal.
 *
 * Internal to the harness. Thread: one thread at a time per decoder.
 */
#ifndef SV_HARNESS_SIM_DECODER_H
#define SV_HARNESS_SIM_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include <spice/enums.h>

G_BEGIN_DECLS

#define SV_SIM_DECODER_ERROR (sv_sim_decoder_error_quark())
GQuark sv_sim_decoder_error_quark(void);

typedef enum {
    SV_SIM_DECODER_ERROR_UNAVAILABLE, /**< no decoder for the codec here */
    SV_SIM_DECODER_ERROR_SETUP,       /**< the pipeline would not start */
    SV_SIM_DECODER_ERROR_REFUSED,     /**< the decoder refused the frame */
    SV_SIM_DECODER_ERROR_TIMEOUT,     /**< no picture within the timeout */
} SvSimDecoderError;

/** A decoded picture: 32-bit xRGB (B, G, R, X bytes), lines in the bitstream's order. */
typedef struct SvSimPicture {
    const uint8_t *data;
    int32_t stride;
    uint32_t width;
    uint32_t height;
} SvSimPicture;

typedef struct SvSimDecoder SvSimDecoder;

/**
 * Whether a decoder for @codec_type exists here (libjpeg-turbo for MJPEG,
 * the GStreamer elements for the others), without building one.
 * @return FALSE with @error (SV_SIM_DECODER_ERROR_UNAVAILABLE) saying which
 *         element is missing.
 */
gboolean sv_sim_decoder_probe(SpiceVideoCodecType codec_type, GError **error);

/**
 * @return a decoder for @codec_type, or NULL with @error
 *         (SV_SIM_DECODER_ERROR_UNAVAILABLE or _SETUP).
 * Ownership: caller, sv_sim_decoder_free().
 */
SvSimDecoder *sv_sim_decoder_new(SpiceVideoCodecType codec_type, GError **error);

void sv_sim_decoder_free(SvSimDecoder *decoder);

SpiceVideoCodecType sv_sim_decoder_get_codec_type(const SvSimDecoder *decoder);

/**
 * Decodes one frame (@data is read during the call only).
 * @param picture out: the picture; valid until the next call or
 *        sv_sim_decoder_free(). Ownership: the decoder's.
 * @return FALSE with @error (SV_SIM_DECODER_ERROR_REFUSED or _TIMEOUT) when
 *         the decoder produced no picture; the decoder should then be
 *         dropped, as spice-gtk drops the stream.
 */
gboolean sv_sim_decoder_decode(SvSimDecoder *decoder, const uint8_t *data, size_t size,
                               SvSimPicture *picture, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvSimDecoder, sv_sim_decoder_free)

G_END_DECLS

#endif /* SV_HARNESS_SIM_DECODER_H */
