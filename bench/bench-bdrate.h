/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * bench-bdrate.h: Bjøntegaard delta rate and PSNR between two
 * rate-distortion curves, with piecewise cubic Hermite interpolation
 * (PCHIP, the monotone Fritsch–Carlson scheme with Fritsch–Butland
 * harmonic-mean slopes, as MATLAB's pchip and SciPy's PchipInterpolator),
 * integrated exactly: the method of the JCT-VC/JVET common test condition
 * spreadsheets (docs/ci.md, "Comparing results").
 */
#ifndef SV_BENCH_BDRATE_H
#define SV_BENCH_BDRATE_H

#include <glib.h>

/* Every curve needs at least this many points. */
#define SV_BD_MIN_POINTS 4

#define SV_BD_ERROR (sv_bd_error_quark())
GQuark sv_bd_error_quark(void);

typedef enum {
    SV_BD_ERROR_TOO_FEW,      /* fewer than SV_BD_MIN_POINTS points */
    SV_BD_ERROR_BAD_POINT,    /* a rate <= 0, or a value that is not finite */
    SV_BD_ERROR_NOT_MONOTONE, /* PSNR does not rise strictly with the rate */
    SV_BD_ERROR_NO_OVERLAP,   /* the curves share no PSNR (or rate) interval */
} SvBdError;

/* One rate-distortion point: any rate unit (the same for both curves), dB. */
typedef struct SvBdPoint {
    double rate;
    double psnr;
} SvBdPoint;

/*
 * BD-rate of curve @b against curve @a, in percent: how many more bits @b
 * needs than @a for the same PSNR, averaged over the PSNR interval both
 * cover (log10 rate as a PCHIP function of PSNR). Points may come in any
 * order; once sorted by rate, PSNR must rise strictly.
 * @return FALSE with @error (SV_BD_ERROR) if a curve is unusable.
 */
gboolean sv_bd_rate(const SvBdPoint *a, guint n_a, const SvBdPoint *b, guint n_b, double *percent,
                    GError **error);

/* BD-PSNR of @b against @a in dB: the mean PSNR difference over the
 * log10 rate interval both cover (PSNR as a PCHIP function of log10 rate). */
gboolean sv_bd_psnr(const SvBdPoint *a, guint n_a, const SvBdPoint *b, guint n_b, double *db,
                    GError **error);

/*
 * Sorts @points by rate and drops the points another point dominates (one
 * with a rate not higher and a PSNR not lower: a saturated encoder, or
 * equal PSNRs from rounding), so PSNR rises strictly with the rate.
 * @return the number of points kept (at the start of @points).
 */
guint sv_bd_prune(SvBdPoint *points, guint n_points);

#endif /* SV_BENCH_BDRATE_H */
