/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/* BD-rate / BD-PSNR (bench/bench-bdrate.c): analytic cases and the
 * reference data of the FAU-LMS "bjontegaard" package. */
#include <math.h>

#include "bench-bdrate.h"

static const SvBdPoint curve_a[] = {{1000, 30}, {2000, 34}, {4000, 37}, {8000, 39}};

static void scaled(const SvBdPoint *in, guint n, double rate_factor, double psnr_offset,
                   SvBdPoint *out)
{
    for (guint i = 0; i < n; i++) {
        out[i].rate = in[i].rate * rate_factor;
        out[i].psnr = in[i].psnr + psnr_offset;
    }
}

static void test_rate_scaled(void)
{
    SvBdPoint b[4];
    double v = 0;
    scaled(curve_a, 4, 1.23, 0, b);
    g_assert_true(sv_bd_rate(curve_a, 4, b, 4, &v, NULL));
    g_assert_cmpfloat_with_epsilon(v, 23.0, 1e-9);
    /* And the other way round: B saves 1 − 1/1.23 of A's bits. */
    g_assert_true(sv_bd_rate(b, 4, curve_a, 4, &v, NULL));
    g_assert_cmpfloat_with_epsilon(v, (1 / 1.23 - 1) * 100, 1e-9);
    /* BD-PSNR of a pure rate scaling is not zero, but BD-rate of a curve
     * scaled by 1 is. */
    g_assert_true(sv_bd_rate(curve_a, 4, curve_a, 4, &v, NULL));
    g_assert_cmpfloat_with_epsilon(v, 0, 1e-12);
    g_assert_true(sv_bd_psnr(curve_a, 4, curve_a, 4, &v, NULL));
    g_assert_cmpfloat_with_epsilon(v, 0, 1e-12);
}

static void test_order_free(void)
{
    /* Points in decreasing rate order give the same result. */
    SvBdPoint b[4], rev[4];
    double v1 = 0, v2 = 0;
    scaled(curve_a, 4, 1.5, 0.2, b);
    for (guint i = 0; i < 4; i++) {
        rev[i] = b[3 - i];
    }
    g_assert_true(sv_bd_rate(curve_a, 4, b, 4, &v1, NULL));
    g_assert_true(sv_bd_rate(curve_a, 4, rev, 4, &v2, NULL));
    g_assert_cmpfloat(v1, ==, v2);
}

static void test_psnr_offset(void)
{
    /* B = A shifted up by 0.5 dB at every rate: BD-PSNR is exactly +0.5 dB;
     * BD-rate is negative (SciPy's PchipInterpolator gives -10.8194774701 %). */
    SvBdPoint b[4];
    double v = 0;
    scaled(curve_a, 4, 1, 0.5, b);
    g_assert_true(sv_bd_psnr(curve_a, 4, b, 4, &v, NULL));
    g_assert_cmpfloat_with_epsilon(v, 0.5, 1e-12);
    g_assert_true(sv_bd_rate(curve_a, 4, b, 4, &v, NULL));
    g_assert_cmpfloat_with_epsilon(v, -10.8194774701, 1e-8);
}

/* The data of the bjontegaard package's README and example_usage.py
 * (libx265 presets measured with ffmpeg); expected values from the package's
 * 'pchip' method (scipy.interpolate.PchipInterpolator, SciPy 1.10). */
static void test_reference(void)
{
    static const struct {
        guint n;
        SvBdPoint a[6], b[6];
        double rate, psnr;
    } cases[] = {
        {4,
         {{9487.76, 40.037}, {4593.60, 38.615}, {2486.44, 36.845}, {1358.24, 34.851}},
         {{9787.80, 40.121}, {4469.00, 38.651}, {2451.52, 36.970}, {1356.24, 34.987}},
         -4.4174853506,
         0.1196927854},
        {4,
         {{82472.76, 43.825}, {26875.24, 41.404}, {9487.76, 40.037}, {4593.6, 38.615}},
         {{99896.96, 44.731}, {33952.04, 41.875}, {9787.8, 40.121}, {4469.0, 38.651}},
         -4.4721820028,
         0.0888748470},
        {6,
         {{82472.76, 43.825},
          {26875.24, 41.404},
          {9487.76, 40.037},
          {4593.6, 38.615},
          {3600, 36.5},
          {2900, 35.1}},
         {{99896.96, 44.731},
          {33952.04, 41.875},
          {9787.8, 40.121},
          {4469.0, 38.651},
          {4040, 37},
          {3300, 36.5}},
         -2.9528024116,
         0.0895359019},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        double rate = 0, psnr = 0;
        g_assert_true(sv_bd_rate(cases[i].a, cases[i].n, cases[i].b, cases[i].n, &rate, NULL));
        g_assert_true(sv_bd_psnr(cases[i].a, cases[i].n, cases[i].b, cases[i].n, &psnr, NULL));
        g_test_message("case %u: BD-rate %.10f %%, BD-PSNR %.10f dB", i + 1, rate, psnr);
        g_assert_cmpfloat_with_epsilon(rate, cases[i].rate, 1e-8);
        g_assert_cmpfloat_with_epsilon(psnr, cases[i].psnr, 1e-8);
    }
}

static void test_errors(void)
{
    static const struct {
        const SvBdPoint b[5];
        guint n;
        int code;
        const char *message;
    } cases[] = {
        {{{1000, 30}, {2000, 34}, {4000, 37}},
         3,
         SV_BD_ERROR_TOO_FEW,
         "curve B has 3 points, BD-rate needs at least 4"},
        {{{1000, 30}, {2000, 34}, {4000, 34}, {8000, 39}},
         4,
         SV_BD_ERROR_NOT_MONOTONE,
         "curve B is not monotone: rate 2000 gives 34.000 dB but rate 4000 gives 34.000 dB "
         "(PSNR must rise strictly with the rate)"},
        {{{1000, 30}, {2000, 36}, {4000, 35}, {8000, 39}},
         4,
         SV_BD_ERROR_NOT_MONOTONE,
         "curve B is not monotone: rate 2000 gives 36.000 dB but rate 4000 gives 35.000 dB "
         "(PSNR must rise strictly with the rate)"},
        {{{1000, 30}, {0, 34}, {4000, 37}, {8000, 39}},
         4,
         SV_BD_ERROR_BAD_POINT,
         "curve B: point 2 (rate 0, PSNR 34) needs a finite rate > 0 and a finite PSNR"},
        {{{1000, 50}, {2000, 54}, {4000, 57}, {8000, 59}},
         4,
         SV_BD_ERROR_NO_OVERLAP,
         "the curves' PSNR ranges do not overlap (A 30.00-39.00 dB, B 50.00-59.00 dB)"},
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        GError *error = NULL;
        double v = 12345;
        g_assert_false(sv_bd_rate(curve_a, 4, cases[i].b, cases[i].n, &v, &error));
        g_assert_error(error, SV_BD_ERROR, cases[i].code);
        g_assert_cmpstr(error->message, ==, cases[i].message);
        g_assert_cmpfloat(v, ==, 12345);
        g_clear_error(&error);
    }
}

static void test_prune(void)
{
    /* A saturated encoder: the last two rates give the same PSNR, and a
     * higher rate gives a lower PSNR than a cheaper point. */
    SvBdPoint p[] = {{574062, 39.37}, {129942, 36.6}, {571278, 39.37},
                     {269928, 38.34}, {600000, 39.2}, {537404, 39.23}};
    guint n = sv_bd_prune(p, G_N_ELEMENTS(p));
    g_assert_cmpuint(n, ==, 4);
    g_assert_cmpfloat(p[0].rate, ==, 129942);
    g_assert_cmpfloat(p[1].rate, ==, 269928);
    g_assert_cmpfloat(p[2].rate, ==, 537404);
    g_assert_cmpfloat(p[3].rate, ==, 571278);
    g_assert_cmpuint(sv_bd_prune(p, 0), ==, 0);
}

static void test_monotone_interpolant(void)
{
    /* PCHIP never overshoots: a curve with a sharp knee still gives a
     * BD-rate between the per-point ratios (here every B rate is 1.1× to
     * 1.3× A's at A's PSNRs, so the result lies between 10 % and 30 %). */
    static const SvBdPoint a[] = {{100, 30}, {110, 38}, {1000, 39}, {10000, 39.5}};
    static const SvBdPoint b[] = {{110, 30}, {143, 38}, {1200, 39}, {11000, 39.5}};
    double v = 0;
    g_assert_true(sv_bd_rate(a, 4, b, 4, &v, NULL));
    g_assert_cmpfloat(v, >, 10);
    g_assert_cmpfloat(v, <, 30);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/bd-rate/rate-scaled", test_rate_scaled);
    g_test_add_func("/bd-rate/order-free", test_order_free);
    g_test_add_func("/bd-rate/psnr-offset", test_psnr_offset);
    g_test_add_func("/bd-rate/reference", test_reference);
    g_test_add_func("/bd-rate/errors", test_errors);
    g_test_add_func("/bd-rate/prune", test_prune);
    g_test_add_func("/bd-rate/monotone-interpolant", test_monotone_interpolant);
    return g_test_run();
}
