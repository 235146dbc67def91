/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Bjøntegaard delta (VCEG-M33) with PCHIP interpolation, as the JCT-VC
 * common test conditions (JCTVC-L1100) and the JVET CTC spreadsheets
 * compute it. The interpolant and its integral are written out here so the
 * numbers need no numeric library.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench-bdrate.h"

G_DEFINE_QUARK(sv - bd - error - quark, sv_bd_error)

/* A curve ready for interpolation: x strictly increasing. */
typedef struct {
    guint n;
    double *x;
    double *y;
    double *d; /* PCHIP derivative at each x */
} Curve;

static void curve_clear(Curve *c)
{
    g_free(c->x);
    g_free(c->y);
    g_free(c->d);
    memset(c, 0, sizeof(*c));
}

static int sign_of(double v)
{
    return (v > 0) - (v < 0);
}

/* The end slope: a three-point formula, kept shape-preserving
 * (Moler, "Numerical Computing with MATLAB", pchip's pchipend). */
static double pchip_end(double h0, double h1, double m0, double m1)
{
    double d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1);
    if (sign_of(d) != sign_of(m0)) {
        return 0;
    }
    if (sign_of(m0) != sign_of(m1) && fabs(d) > fabs(3 * m0)) {
        return 3 * m0;
    }
    return d;
}

static void pchip_slopes(Curve *c)
{
    guint n = c->n;
    double *h = g_new(double, n - 1);
    double *m = g_new(double, n - 1);

    c->d = g_new0(double, n);
    for (guint k = 0; k + 1 < n; k++) {
        h[k] = c->x[k + 1] - c->x[k];
        m[k] = (c->y[k + 1] - c->y[k]) / h[k];
    }
    if (n == 2) {
        c->d[0] = c->d[1] = m[0];
    } else {
        /* Interior: weighted harmonic mean of the secants when they have
         * the same sign (Fritsch–Butland), else a flat point: monotone. */
        for (guint k = 1; k + 1 < n; k++) {
            if (sign_of(m[k - 1]) * sign_of(m[k]) <= 0) {
                c->d[k] = 0;
            } else {
                double w1 = 2 * h[k] + h[k - 1];
                double w2 = h[k] + 2 * h[k - 1];
                c->d[k] = (w1 + w2) / (w1 / m[k - 1] + w2 / m[k]);
            }
        }
        c->d[0] = pchip_end(h[0], h[1], m[0], m[1]);
        c->d[n - 1] = pchip_end(h[n - 2], h[n - 3], m[n - 2], m[n - 3]);
    }
    g_free(h);
    g_free(m);
}

/* ∫ of the Hermite cubic of segment k from its start to local t ∈ [0, 1],
 * divided by the segment's width. */
static double segment_primitive(const Curve *c, guint k, double t)
{
    double h = c->x[k + 1] - c->x[k];
    double t2 = t * t, t3 = t2 * t, t4 = t3 * t;
    double H00 = t - t3 + t4 / 2;
    double H10 = t4 / 4 - 2 * t3 / 3 + t2 / 2;
    double H01 = t3 - t4 / 2;
    double H11 = t4 / 4 - t3 / 3;
    return c->y[k] * H00 + h * c->d[k] * H10 + c->y[k + 1] * H01 + h * c->d[k + 1] * H11;
}

/* Exact ∫ of the interpolant from @lo to @hi, both inside the curve's range. */
static double curve_integrate(const Curve *c, double lo, double hi)
{
    double sum = 0;
    for (guint k = 0; k + 1 < c->n; k++) {
        double a = MAX(lo, c->x[k]);
        double b = MIN(hi, c->x[k + 1]);
        if (b <= a) {
            continue;
        }
        double h = c->x[k + 1] - c->x[k];
        double ta = (a - c->x[k]) / h;
        double tb = (b - c->x[k]) / h;
        sum += h * (segment_primitive(c, k, tb) - segment_primitive(c, k, ta));
    }
    return sum;
}

static int compare_rate(const void *pa, const void *pb)
{
    const SvBdPoint *a = pa;
    const SvBdPoint *b = pb;
    if (a->rate != b->rate) {
        return a->rate < b->rate ? -1 : 1;
    }
    /* The better point of equal rate first, so prune keeps it. */
    return (a->psnr < b->psnr) - (a->psnr > b->psnr);
}

/* Checks one curve and builds it: x = PSNR, y = log10 rate (rate_is_x
 * FALSE), or x = log10 rate, y = PSNR. */
static gboolean curve_build(const char *name, const SvBdPoint *points, guint n, gboolean rate_is_x,
                            Curve *c, GError **error)
{
    if (n < SV_BD_MIN_POINTS) {
        g_set_error(error, SV_BD_ERROR, SV_BD_ERROR_TOO_FEW,
                    "curve %s has %u point%s, BD-rate needs at least %d", name, n,
                    n == 1 ? "" : "s", SV_BD_MIN_POINTS);
        return FALSE;
    }
    SvBdPoint *sorted = g_memdup2(points, n * sizeof(*points));
    for (guint i = 0; i < n; i++) {
        if (!isfinite(sorted[i].rate) || !isfinite(sorted[i].psnr) || !(sorted[i].rate > 0)) {
            g_set_error(error, SV_BD_ERROR, SV_BD_ERROR_BAD_POINT,
                        "curve %s: point %u (rate %g, PSNR %g) needs a finite rate > 0 and a "
                        "finite PSNR",
                        name, i + 1, sorted[i].rate, sorted[i].psnr);
            g_free(sorted);
            return FALSE;
        }
    }
    qsort(sorted, n, sizeof(*sorted), compare_rate);
    for (guint i = 1; i < n; i++) {
        if (!(sorted[i].rate > sorted[i - 1].rate) || !(sorted[i].psnr > sorted[i - 1].psnr)) {
            g_set_error(error, SV_BD_ERROR, SV_BD_ERROR_NOT_MONOTONE,
                        "curve %s is not monotone: rate %g gives %.3f dB but rate %g gives "
                        "%.3f dB (PSNR must rise strictly with the rate)",
                        name, sorted[i - 1].rate, sorted[i - 1].psnr, sorted[i].rate,
                        sorted[i].psnr);
            g_free(sorted);
            return FALSE;
        }
    }
    c->n = n;
    c->x = g_new(double, n);
    c->y = g_new(double, n);
    for (guint i = 0; i < n; i++) {
        double lr = log10(sorted[i].rate);
        c->x[i] = rate_is_x ? lr : sorted[i].psnr;
        c->y[i] = rate_is_x ? sorted[i].psnr : lr;
    }
    g_free(sorted);
    pchip_slopes(c);
    return TRUE;
}

/* Mean of (b − a) over the common x interval. */
static gboolean mean_delta(const SvBdPoint *a, guint n_a, const SvBdPoint *b, guint n_b,
                           gboolean rate_is_x, double *delta, GError **error)
{
    Curve ca = {0}, cb = {0};
    gboolean ok = FALSE;

    if (!curve_build("A", a, n_a, rate_is_x, &ca, error) ||
        !curve_build("B", b, n_b, rate_is_x, &cb, error)) {
        goto out;
    }
    double lo = MAX(ca.x[0], cb.x[0]);
    double hi = MIN(ca.x[ca.n - 1], cb.x[cb.n - 1]);
    if (!(hi > lo)) {
        if (rate_is_x) {
            g_set_error(error, SV_BD_ERROR, SV_BD_ERROR_NO_OVERLAP,
                        "the curves' rate ranges do not overlap (A %g-%g, B %g-%g)",
                        pow(10, ca.x[0]), pow(10, ca.x[ca.n - 1]), pow(10, cb.x[0]),
                        pow(10, cb.x[cb.n - 1]));
        } else {
            g_set_error(error, SV_BD_ERROR, SV_BD_ERROR_NO_OVERLAP,
                        "the curves' PSNR ranges do not overlap (A %.2f-%.2f dB, B %.2f-%.2f dB)",
                        ca.x[0], ca.x[ca.n - 1], cb.x[0], cb.x[cb.n - 1]);
        }
        goto out;
    }
    *delta = (curve_integrate(&cb, lo, hi) - curve_integrate(&ca, lo, hi)) / (hi - lo);
    ok = TRUE;
out:
    curve_clear(&ca);
    curve_clear(&cb);
    return ok;
}

gboolean sv_bd_rate(const SvBdPoint *a, guint n_a, const SvBdPoint *b, guint n_b, double *percent,
                    GError **error)
{
    double delta = 0;
    if (!mean_delta(a, n_a, b, n_b, FALSE, &delta, error)) {
        return FALSE;
    }
    *percent = (pow(10, delta) - 1) * 100;
    return TRUE;
}

gboolean sv_bd_psnr(const SvBdPoint *a, guint n_a, const SvBdPoint *b, guint n_b, double *db,
                    GError **error)
{
    return mean_delta(a, n_a, b, n_b, TRUE, db, error);
}

guint sv_bd_prune(SvBdPoint *points, guint n_points)
{
    if (n_points == 0) {
        return 0;
    }
    qsort(points, n_points, sizeof(*points), compare_rate);
    guint kept = 1;
    for (guint i = 1; i < n_points; i++) {
        if (points[i].psnr > points[kept - 1].psnr && points[i].rate > points[kept - 1].rate) {
            points[kept++] = points[i];
        }
    }
    return kept;
}
