/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * checked-encoder.h: a VideoEncoder that forwards to another one and checks
 * what it returns, for encoders the library did not build (modules). A
 * result outside the VideoEncoder contract becomes
 * VIDEO_ENCODER_FRAME_UNSUPPORTED, so the frame goes out as an image, and is
 * logged once per kind and descriptor.
 */
#ifndef SV_CHECKED_ENCODER_H
#define SV_CHECKED_ENCODER_H

#include <spice-video/registry.h>

G_BEGIN_DECLS

/** What a checked encoder caught. */
typedef enum {
    SV_CHECK_BAD_RESULT,     /**< encode_frame returned none of the three results */
    SV_CHECK_NO_BUFFER,      /**< ENCODE_DONE without a buffer */
    SV_CHECK_NULL_DATA,      /**< ENCODE_DONE, buffer data NULL */
    SV_CHECK_NULL_FREE,      /**< ENCODE_DONE, buffer free NULL */
    SV_CHECK_EMPTY,          /**< ENCODE_DONE with size 0 */
    SV_CHECK_OVERSIZE,       /**< ENCODE_DONE, size above the bound for the frame */
    SV_CHECK_STRAY_BUFFER,   /**< a buffer set with a result other than ENCODE_DONE */
    SV_CHECK_WRONG_CODEC,    /**< the factory made an encoder of another codec */
    SV_CHECK_MISSING_METHOD, /**< the factory made an encoder with a NULL method */
    SV_CHECK_N_KINDS,
} SvCheckViolation;

/** Largest believable compressed frame of @width x @height pixels, bytes:
 *  4 bytes a pixel plus 1 MiB of headers. */
uint64_t sv_checked_encoder_max_frame_bytes(uint64_t width, uint64_t height);

/**
 * Wraps @inner, made by @desc's factory for @desc->codec_type. Checks the
 * encoder first: one of another codec or with a NULL method is destroyed
 * (when it can be) and NULL returned, as for a factory that failed.
 *
 * @param desc the entry the encoder came from; named in messages. Must
 *        outlive the wrapper (module descriptors are never freed).
 * @param logged the descriptor's mask of violation kinds already logged
 *        (bit = SvCheckViolation); updated atomically.
 * @param inner Ownership: taken (destroyed with the wrapper, or at once).
 * @return the wrapper, or NULL.
 */
VideoEncoder *sv_checked_encoder_wrap(const SvEncoderDesc *desc, gint *logged, VideoEncoder *inner);

/** Violations of @kind caught by every checked encoder so far (tests). */
guint sv_checked_encoder_get_violations(SvCheckViolation kind);

/** Sets the counters back to 0 (tests). */
void sv_checked_encoder_reset_violations(void);

/** @return a short name for @kind ("empty", "bad-result", …). */
const char *sv_check_violation_to_string(SvCheckViolation kind);

G_END_DECLS

#endif /* SV_CHECKED_ENCODER_H */
