/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * bench-svg.h: the inline SVG charts of `spice-bench report`. Every chart is
 * readable without colour: each series has its own dash pattern and marker
 * shape (colour only repeats the distinction), a direct label at its last
 * point and a legend with swatches of the same pattern; each <svg> has a
 * <title> and a <desc> for screen readers. Strings are HTML-escaped here.
 */
#ifndef SV_BENCH_SVG_H
#define SV_BENCH_SVG_H

#include <glib.h>

/* Appends @s to @out with &, <, >, " and ' escaped (invalid UTF-8 replaced). */
void sv_html_escape_append(GString *out, const char *s);

/* How axis ticks and value labels are written. */
typedef enum {
    SV_SVG_FORMAT_NUMBER, /* 12.5 */
    SV_SVG_FORMAT_SI,     /* 1.5M, 200k */
    SV_SVG_FORMAT_PERCENT /* fraction 0.25 written as 25 % */
} SvSvgFormat;

typedef struct {
    double x, y; /* a non-finite y breaks the line */
} SvSvgPoint;

typedef struct {
    char *label;        /* legend text (full) */
    char *short_label;  /* direct label at the line's end; NULL = label */
    GArray *points;     /* SvSvgPoint, in x order */
    gboolean step;      /* draw as a staircase (a CDF) */
    gboolean reference; /* a reference line (link capacity): grey, no marker */
    int style;          /* index of the dash / marker / colour style */
} SvSvgSeries;

/* @return a new series; free with sv_svg_series_free(). */
SvSvgSeries *sv_svg_series_new(const char *label, const char *short_label, int style);
void sv_svg_series_free(SvSvgSeries *series);
void sv_svg_series_add(SvSvgSeries *series, double x, double y);

typedef struct {
    const char *id;    /* the <svg>'s id, also the prefix of its inner ids */
    const char *title; /* <title> and the heading inside the chart */
    const char *desc;  /* <desc>: how to read the chart */
    const char *x_label, *y_label;
    SvSvgFormat x_format, y_format;
    gboolean x_log, y_log; /* log10 axes (non-positive values clamp to the bottom) */
    gboolean y_zero;       /* the linear y axis starts at 0 (else at the data) */
    double y_min, y_max;   /* fixed range when y_min < y_max, else from the data */
    GPtrArray *series;     /* SvSvgSeries */
} SvSvgLineChart;

/* Appends a line chart (an <svg> element) to @out. */
void sv_svg_line_chart(GString *out, const SvSvgLineChart *chart);

typedef struct {
    const char *id, *title, *desc;
    guint n_groups;              /* one group of bars per run key */
    const char *const *groups;   /* group labels ('|' starts a new line) */
    const char *const *titles;   /* tooltips of the groups (full names); NULL = groups */
    guint n_measures;            /* one bar per measure in each group */
    const char *const *measures; /* measure names (legend) */
    const SvSvgFormat *formats;  /* per measure */
    const char *const *units;    /* per measure, after the value */
    const double *values;        /* n_groups × n_measures, NAN = no value */
} SvSvgBarChart;

/*
 * Appends a grouped bar chart: each measure is scaled to its largest value
 * over the groups (different units share the chart); every bar carries its
 * value as text and its own fill pattern.
 */
void sv_svg_bar_chart(GString *out, const SvSvgBarChart *chart);

/* Writes @v as the axis labels do (3 significant digits). */
char *sv_svg_format_value(double v, SvSvgFormat format);

#endif /* SV_BENCH_SVG_H */
