/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * quality.h: picture quality of the harness (docs/metrics.md): PSNR and SSIM
 * on the luma (Y) plane, computed the way ffmpeg's `psnr` and `ssim`
 * filters compute them, so the two agree within 0.05 dB / 0.001.
 *
 * Inputs are 32-bit xRGB images (B, G, R, X bytes, top-down, as SvCanvas
 * stores them) converted to BT.601 limited-range Y with libyuv's
 * coefficients, or 8-bit Y planes directly.
 */
#ifndef SV_HARNESS_QUALITY_H
#define SV_HARNESS_QUALITY_H

#include <stdint.h>

#include <glib.h>

#include <spice-video/spice-draw.h>

G_BEGIN_DECLS

/** Y = ((66 R + 129 G + 25 B + 128) >> 8) + 16 over a 32-bit xRGB image. */
void sv_quality_bgrx_to_y(const uint8_t *bgrx, int32_t stride, uint32_t width, uint32_t height,
                          uint8_t *y, int32_t y_stride);

/**
 * Converts @area of @bitmap (any format the encoders accept: 32BIT, RGBA,
 * 24BIT, 16BIT; chunked; top-down or bottom-up) to a top-down Y plane of
 * area width × height. @return FALSE for a format it cannot read.
 */
gboolean sv_quality_bitmap_to_y(const SpiceBitmap *bitmap, const SpiceRect *area, uint8_t *y,
                                int32_t y_stride);

/**
 * PSNR of two Y planes, dB, as ffmpeg's psnr filter: 10 log10(255² / MSE);
 * identical planes give INFINITY (reported as 100 dB in JSON, see
 * docs/metrics.md).
 */
double sv_quality_psnr(const uint8_t *a, int32_t a_stride, const uint8_t *b, int32_t b_stride,
                       uint32_t width, uint32_t height);

/** SSIM of two Y planes as ffmpeg's ssim filter (8×8 blocks overlapped by 4, 4×4 sums). */
double sv_quality_ssim(const uint8_t *a, int32_t a_stride, const uint8_t *b, int32_t b_stride,
                       uint32_t width, uint32_t height);

G_END_DECLS

#endif /* SV_HARNESS_QUALITY_H */
