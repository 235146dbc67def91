/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Inline SVG charts for `spice-bench report` (bench-svg.h). The output is
 * deterministic (coordinates with one decimal, no time stamps) and uses no
 * external resource: no fonts, images or xlink references to other files.
 */
#include <math.h>
#include <string.h>

#include "bench-svg.h"

/* Geometry of a line chart (viewBox units, about CSS pixels). */
#define LC_WIDTH 760.0
#define LC_LEFT 72.0
#define LC_RIGHT 170.0 /* room for the direct labels */
#define LC_TOP 16.0
#define LC_PLOT_H 250.0
#define LC_AXIS_H 44.0 /* tick labels and the x axis' name */
#define LC_LEGEND_ROW 18.0
#define LABEL_GAP 13.0 /* least vertical distance between direct labels */

#define N_DASHES 6
#define N_MARKERS 6
#define N_COLOURS 7

/* Dash patterns: solid, long dashes, dots, dash-dot, even dashes, dash-dot-dot. */
static const char *const dashes[N_DASHES] = {
    "", "9 4", "2 3", "10 3 2 3", "5 5", "12 3 2 3 2 3",
};
static const char *const marker_names[N_MARKERS] = {
    "circle", "square", "triangle", "diamond", "cross", "plus",
};
/* Okabe-Ito colours (distinguishable with the common colour-vision deficiencies). */
static const char *const colours[N_COLOURS] = {
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000",
};
#define REFERENCE_COLOUR "#6b6b6b"
/* Reference lines (capacities) differ from each other by their dashes too. */
#define N_REFERENCE_DASHES 3
static const char *const reference_dashes[N_REFERENCE_DASHES] = {"14 3 1 3", "3 2", "16 3 3 3"};

static int style_dash(int style)
{
    return style % N_DASHES;
}

/* Dash and marker change together for the first six styles, then the markers shift. */
static int style_marker(int style)
{
    return (style + style / N_DASHES) % N_MARKERS;
}

static const char *style_colour(int style)
{
    return colours[style % N_COLOURS];
}

static const char *series_dash(const SvSvgSeries *s)
{
    return s->reference ? reference_dashes[s->style % N_REFERENCE_DASHES]
                        : dashes[style_dash(s->style)];
}

void sv_html_escape_append(GString *out, const char *s)
{
    if (s == NULL) {
        return;
    }
    g_autofree char *valid = g_utf8_make_valid(s, -1);
    for (const char *p = valid; *p != '\0'; p++) {
        switch (*p) {
        case '&':
            g_string_append(out, "&amp;");
            break;
        case '<':
            g_string_append(out, "&lt;");
            break;
        case '>':
            g_string_append(out, "&gt;");
            break;
        case '"':
            g_string_append(out, "&quot;");
            break;
        case '\'':
            g_string_append(out, "&#39;");
            break;
        default:
            if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t') {
                g_string_append_c(out, ' '); /* control characters are not allowed in HTML */
            } else {
                g_string_append_c(out, *p);
            }
        }
    }
}

/* Appends @s escaped, cut to @max characters with an ellipsis. */
static void escape_truncated(GString *out, const char *s, glong max)
{
    g_autofree char *valid = g_utf8_make_valid(s != NULL ? s : "", -1);
    if (g_utf8_strlen(valid, -1) <= max) {
        sv_html_escape_append(out, valid);
        return;
    }
    g_autofree char *cut = g_utf8_substring(valid, 0, max - 1);
    sv_html_escape_append(out, cut);
    g_string_append(out, "\u2026");
}

/* A coordinate: one decimal, locale-independent. */
static void append_coord(GString *out, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof(buf), "%.1f", v);
    g_string_append(out, strcmp(buf, "-0.0") == 0 ? "0.0" : buf);
}

static void append_xy(GString *out, const char *cmd, double x, double y)
{
    g_string_append(out, cmd);
    append_coord(out, x);
    g_string_append_c(out, ' ');
    append_coord(out, y);
}

char *sv_svg_format_value(double v, SvSvgFormat format)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (!isfinite(v)) {
        return g_strdup("n/a");
    }
    if (format == SV_SVG_FORMAT_PERCENT) {
        g_ascii_formatd(buf, sizeof(buf), fabs(v) < 0.1 && v != 0 ? "%.1f" : "%.0f", v * 100.0);
        return g_strdup_printf("%s %%", buf);
    }
    const char *suffix = "";
    if (format == SV_SVG_FORMAT_SI) {
        static const struct {
            double scale;
            const char *suffix;
        } si[] = {{1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
        for (guint i = 0; i < G_N_ELEMENTS(si); i++) {
            if (fabs(v) >= si[i].scale) {
                v /= si[i].scale;
                suffix = si[i].suffix;
                break;
            }
        }
    }
    double a = fabs(v);
    const char *fmt = a >= 100 || a == 0 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : "%.3f";
    g_ascii_formatd(buf, sizeof(buf), fmt, v);
    /* 2.50 → 2.5, 3.000 → 3: fewer digits read faster. */
    if (strchr(buf, '.') != NULL) {
        char *end = buf + strlen(buf) - 1;
        while (*end == '0') {
            *end-- = '\0';
        }
        if (*end == '.') {
            *end = '\0';
        }
    }
    return g_strdup_printf("%s%s", strcmp(buf, "-0") == 0 ? "0" : buf, suffix);
}

SvSvgSeries *sv_svg_series_new(const char *label, const char *short_label, int style)
{
    SvSvgSeries *s = g_new0(SvSvgSeries, 1);
    s->label = g_strdup(label);
    s->short_label = g_strdup(short_label);
    s->points = g_array_new(FALSE, FALSE, sizeof(SvSvgPoint));
    s->style = style;
    return s;
}

void sv_svg_series_free(SvSvgSeries *series)
{
    if (series == NULL) {
        return;
    }
    g_free(series->label);
    g_free(series->short_label);
    g_array_unref(series->points);
    g_free(series);
}

void sv_svg_series_add(SvSvgSeries *series, double x, double y)
{
    SvSvgPoint p = {x, y};
    g_array_append_val(series->points, p);
}

/* ---------------------------------------------------------------------------
 * Axes
 * ------------------------------------------------------------------------- */

typedef struct {
    double lo, hi; /* in axis units (log10 of the value on a log axis) */
    gboolean log;
    double pos0, pos1; /* screen positions of lo and hi */
} Axis;

static double axis_value(const Axis *a, double v)
{
    if (a->log) {
        return v > 0 ? log10(v) : a->lo;
    }
    return v;
}

static double axis_map(const Axis *a, double v)
{
    double u = axis_value(a, v);
    double f = (u - a->lo) / (a->hi - a->lo);
    f = CLAMP(f, -0.02, 1.02);
    return a->pos0 + f * (a->pos1 - a->pos0);
}

/* 1, 2 or 5 times a power of ten, about range / 5. */
static double nice_step(double range)
{
    double raw = range / 5.0;
    double p = pow(10.0, floor(log10(raw)));
    double m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Sets the range from the data [min, max]; rounds linear ranges to ticks. */
static void axis_fit(Axis *a, double min, double max, gboolean log_axis, gboolean zero)
{
    a->log = log_axis;
    if (log_axis) {
        if (!(max > 0)) {
            min = 1, max = 10;
        } else if (!(min > 0)) {
            min = max / 1000.0;
        }
        a->lo = floor(log10(min));
        a->hi = ceil(log10(max));
        if (a->hi <= a->lo) {
            a->hi = a->lo + 1;
        }
        return;
    }
    if (!isfinite(min) || !isfinite(max)) {
        min = 0, max = 1;
    }
    if (zero) {
        min = MIN(min, 0);
        max = MAX(max, 0);
    }
    if (max - min < 1e-9) {
        double pad = fabs(max) > 0 ? fabs(max) * 0.1 : 1;
        min -= pad, max += pad;
        if (zero && min < 0 && max > 0 && min > -pad * 2) {
            min = MIN(0, max - 2 * pad);
        }
    }
    double step = nice_step(max - min);
    a->lo = floor(min / step) * step;
    a->hi = ceil(max / step) * step;
}

/* The tick values, in value units. */
static GArray *axis_ticks(const Axis *a)
{
    GArray *t = g_array_new(FALSE, FALSE, sizeof(double));
    if (a->log) {
        for (double e = a->lo; e <= a->hi + 1e-9; e++) {
            double v = pow(10.0, e);
            g_array_append_val(t, v);
        }
        return t;
    }
    double step = nice_step(a->hi - a->lo);
    for (double v = a->lo; v <= a->hi + step * 1e-6; v += step) {
        double r = fabs(v) < step * 1e-6 ? 0 : v;
        g_array_append_val(t, r);
    }
    return t;
}

/* ---------------------------------------------------------------------------
 * Markers and swatches
 * ------------------------------------------------------------------------- */

/* Appends the subpath of marker @m centred on (x, y). */
static void marker_path(GString *d, int m, double x, double y)
{
    const double r = 3.6;
    switch (m) {
    case 0: /* circle, two arcs */
        append_xy(d, "M", x - r, y);
        g_string_append(d, "a3.6 3.6 0 1 0 7.2 0a3.6 3.6 0 1 0 -7.2 0Z");
        break;
    case 1:
        append_xy(d, "M", x - r, y - r);
        g_string_append(d, "h7.2v7.2h-7.2Z");
        break;
    case 2:
        append_xy(d, "M", x, y - r - 0.6);
        append_xy(d, "L", x + r + 0.6, y + r);
        append_xy(d, "L", x - r - 0.6, y + r);
        g_string_append_c(d, 'Z');
        break;
    case 3:
        append_xy(d, "M", x, y - r - 0.8);
        append_xy(d, "L", x + r + 0.8, y);
        append_xy(d, "L", x, y + r + 0.8);
        append_xy(d, "L", x - r - 0.8, y);
        g_string_append_c(d, 'Z');
        break;
    case 4:
        append_xy(d, "M", x - r, y - r);
        append_xy(d, "L", x + r, y + r);
        append_xy(d, "M", x - r, y + r);
        append_xy(d, "L", x + r, y - r);
        break;
    default:
        append_xy(d, "M", x - r - 0.8, y);
        append_xy(d, "L", x + r + 0.8, y);
        append_xy(d, "M", x, y - r - 0.8);
        append_xy(d, "L", x, y + r + 0.8);
        break;
    }
}

/* Filled shapes are filled, the cross and the plus are drawn with the stroke. */
static void append_marker_element(GString *out, int style, const GString *d)
{
    int m = style_marker(style);
    g_string_append_printf(out,
                           "<path class=\"marker marker-%s\" d=\"%s\" fill=\"%s\" stroke=\"%s\" "
                           "stroke-width=\"%s\"/>\n",
                           marker_names[m], d->str, m >= 4 ? "none" : style_colour(style),
                           style_colour(style), m >= 4 ? "2" : "1");
}

/* A legend swatch: a 30-unit stretch of the series' line with its marker. */
static void append_swatch(GString *out, const SvSvgSeries *s, double x, double y)
{
    g_autoptr(GString) d = g_string_new(NULL);
    append_xy(d, "M", x, y);
    append_xy(d, "L", x + 30, y);
    const char *colour = s->reference ? REFERENCE_COLOUR : style_colour(s->style);
    const char *dash = series_dash(s);
    g_string_append_printf(out,
                           "<path class=\"swatch\" d=\"%s\" fill=\"none\" stroke=\"%s\" "
                           "stroke-width=\"%s\"%s%s%s/>\n",
                           d->str, colour, s->reference ? "1.5" : "2",
                           *dash ? " stroke-dasharray=\"" : "", dash, *dash ? "\"" : "");
    if (!s->reference) {
        g_string_truncate(d, 0);
        marker_path(d, style_marker(s->style), x + 15, y);
        append_marker_element(out, s->style, d);
    }
}

static void open_figure(GString *out, const char *id, const char *title, const char *desc,
                        double width, double height)
{
    g_string_append(out, "<figure class=\"chart\" id=\"");
    sv_html_escape_append(out, id);
    g_string_append(out, "-figure\">\n<svg id=\"");
    sv_html_escape_append(out, id);
    g_string_append(out, "\" class=\"chart-svg\" role=\"img\" viewBox=\"0 0 ");
    append_coord(out, width);
    g_string_append_c(out, ' ');
    append_coord(out, height);
    g_string_append(out, "\" width=\"");
    append_coord(out, width);
    g_string_append(out, "\" height=\"");
    append_coord(out, height);
    g_string_append_printf(out, "\" aria-labelledby=\"%s-title %s-desc\">\n<title id=\"", id, id);
    sv_html_escape_append(out, id);
    g_string_append(out, "-title\">");
    sv_html_escape_append(out, title);
    g_string_append(out, "</title>\n<desc id=\"");
    sv_html_escape_append(out, id);
    g_string_append(out, "-desc\">");
    sv_html_escape_append(out, desc);
    g_string_append(out, "</desc>\n");
    g_string_append(out,
                    "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
}

static void close_figure(GString *out, const char *title, const char *desc)
{
    g_string_append(out, "</svg>\n<figcaption><strong>");
    sv_html_escape_append(out, title);
    g_string_append(out, "</strong>. ");
    sv_html_escape_append(out, desc);
    g_string_append(out, "</figcaption>\n</figure>\n");
}

static void append_text(GString *out, double x, double y, const char *anchor, const char *cls,
                        const char *text)
{
    g_string_append(out, "<text x=\"");
    append_coord(out, x);
    g_string_append(out, "\" y=\"");
    append_coord(out, y);
    g_string_append_printf(out, "\" text-anchor=\"%s\" class=\"%s\">", anchor, cls);
    sv_html_escape_append(out, text);
    g_string_append(out, "</text>\n");
}

/* ---------------------------------------------------------------------------
 * Line charts
 * ------------------------------------------------------------------------- */

typedef struct {
    double y;     /* wanted position */
    double pos;   /* after spreading */
    guint series; /* index */
} DirectLabel;

static int compare_labels(const void *a, const void *b)
{
    const DirectLabel *la = a, *lb = b;
    if (la->y != lb->y) {
        return la->y < lb->y ? -1 : 1;
    }
    return la->series < lb->series ? -1 : la->series > lb->series;
}

/* Spreads the labels so that they are LABEL_GAP apart, inside [top, bottom]. */
static void spread_labels(DirectLabel *l, guint n, double top, double bottom)
{
    qsort(l, n, sizeof(*l), compare_labels);
    for (guint i = 0; i < n; i++) {
        l[i].pos = MAX(l[i].y, i > 0 ? l[i - 1].pos + LABEL_GAP : top);
    }
    for (guint i = n; i-- > 0;) {
        double limit = i + 1 < n ? l[i + 1].pos - LABEL_GAP : bottom;
        l[i].pos = MIN(l[i].pos, limit);
    }
}

void sv_svg_line_chart(GString *out, const SvSvgLineChart *chart)
{
    guint n = chart->series->len;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    double ypos_min = INFINITY, xpos_min = INFINITY;
    for (guint i = 0; i < n; i++) {
        const SvSvgSeries *s = g_ptr_array_index(chart->series, i);
        for (guint k = 0; k < s->points->len; k++) {
            const SvSvgPoint *p = &g_array_index(s->points, SvSvgPoint, k);
            if (!isfinite(p->x) || !isfinite(p->y)) {
                continue;
            }
            xmin = MIN(xmin, p->x), xmax = MAX(xmax, p->x);
            ymin = MIN(ymin, p->y), ymax = MAX(ymax, p->y);
            if (p->y > 0) {
                ypos_min = MIN(ypos_min, p->y);
            }
            if (p->x > 0) {
                xpos_min = MIN(xpos_min, p->x);
            }
        }
    }

    double plot_w = LC_WIDTH - LC_LEFT - LC_RIGHT;
    double legend_top = LC_TOP + LC_PLOT_H + LC_AXIS_H;
    double height = legend_top + n * LC_LEGEND_ROW + 8;
    Axis ax = {.pos0 = LC_LEFT, .pos1 = LC_LEFT + plot_w};
    Axis ay = {.pos0 = LC_TOP + LC_PLOT_H, .pos1 = LC_TOP};
    axis_fit(&ax, chart->x_log ? xpos_min : xmin, xmax, chart->x_log, FALSE);
    if (chart->y_min < chart->y_max) {
        ay.lo = chart->y_min, ay.hi = chart->y_max;
    } else {
        axis_fit(&ay, chart->y_log ? ypos_min : ymin, ymax, chart->y_log, chart->y_zero);
    }

    open_figure(out, chart->id, chart->title, chart->desc, LC_WIDTH, height);

    /* Grid and ticks. */
    g_autoptr(GArray) xt = axis_ticks(&ax);
    g_autoptr(GArray) yt = axis_ticks(&ay);
    g_string_append(out, "<g class=\"axes\">\n");
    for (guint i = 0; i < yt->len; i++) {
        double v = g_array_index(yt, double, i);
        double y = axis_map(&ay, v);
        g_autoptr(GString) d = g_string_new(NULL);
        append_xy(d, "M", LC_LEFT, y);
        append_xy(d, "L", LC_LEFT + plot_w, y);
        g_string_append_printf(out, "<path class=\"grid\" d=\"%s\"/>\n", d->str);
        g_autofree char *label = sv_svg_format_value(v, chart->y_format);
        append_text(out, LC_LEFT - 6, y + 4, "end", "tick", label);
    }
    for (guint i = 0; i < xt->len; i++) {
        double v = g_array_index(xt, double, i);
        double x = axis_map(&ax, v);
        g_autoptr(GString) d = g_string_new(NULL);
        append_xy(d, "M", x, LC_TOP + LC_PLOT_H);
        append_xy(d, "L", x, LC_TOP + LC_PLOT_H + 5);
        g_string_append_printf(out, "<path class=\"tickmark\" d=\"%s\"/>\n", d->str);
        g_autofree char *label = sv_svg_format_value(v, chart->x_format);
        append_text(out, x, LC_TOP + LC_PLOT_H + 18, "middle", "tick", label);
    }
    {
        g_autoptr(GString) d = g_string_new(NULL);
        append_xy(d, "M", LC_LEFT, LC_TOP);
        append_xy(d, "L", LC_LEFT, LC_TOP + LC_PLOT_H);
        append_xy(d, "L", LC_LEFT + plot_w, LC_TOP + LC_PLOT_H);
        g_string_append_printf(out, "<path class=\"axis\" d=\"%s\"/>\n", d->str);
    }
    append_text(out, LC_LEFT + plot_w / 2, LC_TOP + LC_PLOT_H + 36, "middle", "axis-label",
                chart->x_label);
    g_string_append(out,
                    "<text class=\"axis-label\" text-anchor=\"middle\" transform=\"translate(");
    append_coord(out, 16);
    g_string_append_c(out, ' ');
    append_coord(out, LC_TOP + LC_PLOT_H / 2);
    g_string_append(out, ") rotate(-90)\">");
    sv_html_escape_append(out, chart->y_label);
    g_string_append(out, "</text>\n</g>\n");

    /* Series: the line, then its markers (at most about a dozen per line). */
    g_autofree DirectLabel *labels = g_new0(DirectLabel, MAX(n, 1));
    guint n_labels = 0;
    for (guint i = 0; i < n; i++) {
        const SvSvgSeries *s = g_ptr_array_index(chart->series, i);
        g_autoptr(GString) d = g_string_new(NULL);
        g_autoptr(GString) m = g_string_new(NULL);
        gboolean pen_down = FALSE;
        double last_x = NAN, last_y = NAN;
        guint len = s->points->len;
        guint every = MAX(1, (len + 11) / 12);
        for (guint k = 0; k < len; k++) {
            const SvSvgPoint *p = &g_array_index(s->points, SvSvgPoint, k);
            if (!isfinite(p->x) || !isfinite(p->y)) {
                pen_down = FALSE;
                continue;
            }
            double x = axis_map(&ax, p->x);
            double y = axis_map(&ay, p->y);
            if (!pen_down) {
                if (s->step) {
                    append_xy(d, "M", x, axis_map(&ay, ay.log ? pow(10, ay.lo) : 0));
                    append_xy(d, "L", x, y);
                } else {
                    append_xy(d, "M", x, y);
                }
            } else if (s->step) {
                append_xy(d, "L", x, last_y);
                append_xy(d, "L", x, y);
            } else {
                append_xy(d, "L", x, y);
            }
            /* A point alone still needs something to see: its marker is always drawn. */
            gboolean alone =
                !pen_down &&
                (k + 1 >= len || !isfinite(g_array_index(s->points, SvSvgPoint, k + 1).y));
            if (!s->reference && (k % every == 0 || k + 1 == len || alone)) {
                marker_path(m, style_marker(s->style), x, y);
            }
            pen_down = TRUE;
            last_x = x, last_y = y;
        }
        if (d->len == 0) {
            continue;
        }
        const char *colour = s->reference ? REFERENCE_COLOUR : style_colour(s->style);
        const char *dash = series_dash(s);
        g_string_append(out, "<g class=\"series\"><title>");
        sv_html_escape_append(out, s->label);
        g_string_append(out, "</title>\n");
        g_string_append_printf(out,
                               "<path class=\"line%s\" d=\"%s\" fill=\"none\" stroke=\"%s\" "
                               "stroke-width=\"%s\"%s%s%s/>\n",
                               s->reference ? " reference" : "", d->str, colour,
                               s->reference ? "1.5" : "2", *dash ? " stroke-dasharray=\"" : "",
                               dash, *dash ? "\"" : "");
        if (m->len > 0) {
            append_marker_element(out, s->style, m);
        }
        g_string_append(out, "</g>\n");
        if (isfinite(last_x)) {
            labels[n_labels++] = (DirectLabel){.y = last_y, .series = i};
        }
    }

    /* Direct labels right of the plot, each with the series' marker (or a dash). */
    spread_labels(labels, n_labels, LC_TOP + 4, LC_TOP + LC_PLOT_H + LC_AXIS_H - 6);
    for (guint i = 0; i < n_labels; i++) {
        const SvSvgSeries *s = g_ptr_array_index(chart->series, labels[i].series);
        double x = LC_LEFT + plot_w + 10;
        g_autoptr(GString) m = g_string_new(NULL);
        if (s->reference) {
            append_xy(m, "M", x - 4, labels[i].pos);
            append_xy(m, "L", x + 4, labels[i].pos);
            g_string_append_printf(out,
                                   "<path class=\"label-mark\" d=\"%s\" stroke=\"%s\" "
                                   "stroke-width=\"2\"/>\n",
                                   m->str, REFERENCE_COLOUR);
        } else {
            marker_path(m, style_marker(s->style), x, labels[i].pos);
            append_marker_element(out, s->style, m);
        }
        g_string_append(out, "<text class=\"direct-label\" x=\"");
        append_coord(out, x + 8);
        g_string_append(out, "\" y=\"");
        append_coord(out, labels[i].pos + 4);
        g_string_append(out, "\">");
        escape_truncated(out, s->short_label != NULL ? s->short_label : s->label, 24);
        g_string_append(out, "</text>\n");
    }

    /* Legend: swatch with the dash pattern and marker, then the full name. */
    g_string_append(out, "<g class=\"legend\">\n");
    for (guint i = 0; i < n; i++) {
        const SvSvgSeries *s = g_ptr_array_index(chart->series, i);
        double y = legend_top + i * LC_LEGEND_ROW + 6;
        append_swatch(out, s, LC_LEFT, y);
        g_string_append(out, "<text class=\"legend-label\" x=\"");
        append_coord(out, LC_LEFT + 38);
        g_string_append(out, "\" y=\"");
        append_coord(out, y + 4);
        g_string_append(out, "\">");
        escape_truncated(out, s->label, 96);
        g_string_append(out, "</text>\n");
    }
    g_string_append(out, "</g>\n");
    close_figure(out, chart->title, chart->desc);
}

/* ---------------------------------------------------------------------------
 * Grouped bars
 * ------------------------------------------------------------------------- */

#define BC_LEFT 56.0
#define BC_TOP 96.0 /* rotated value labels above the tallest bars */
#define BC_PLOT_H 200.0
#define BC_BAR_W 22.0
#define BC_GROUP_GAP 34.0
#define BC_GROUP_LABEL_H 52.0
#define N_PATTERNS 5

/* Fill patterns per measure: solid, diagonal hatch, dots, cross-hatch, horizontal lines. */
static void append_pattern(GString *out, const char *id, int k, const char *colour)
{
    g_string_append_printf(out,
                           "<pattern id=\"%s-pattern-%d\" patternUnits=\"userSpaceOnUse\" "
                           "width=\"6\" height=\"6\">",
                           id, k);
    switch (k % N_PATTERNS) {
    case 0:
        g_string_append_printf(out, "<rect width=\"6\" height=\"6\" fill=\"%s\"/>", colour);
        break;
    case 1:
        g_string_append_printf(out,
                               "<rect width=\"6\" height=\"6\" fill=\"#ffffff\"/>"
                               "<path d=\"M-1 1L1 -1M0 6L6 0M5 7L7 5\" stroke=\"%s\" "
                               "stroke-width=\"1.6\"/>",
                               colour);
        break;
    case 2:
        g_string_append_printf(out,
                               "<rect width=\"6\" height=\"6\" fill=\"#ffffff\"/>"
                               "<circle cx=\"3\" cy=\"3\" r=\"1.5\" fill=\"%s\"/>",
                               colour);
        break;
    case 3:
        g_string_append_printf(out,
                               "<rect width=\"6\" height=\"6\" fill=\"#ffffff\"/>"
                               "<path d=\"M0 0L6 6M6 0L0 6\" stroke=\"%s\" stroke-width=\"1\"/>",
                               colour);
        break;
    default:
        g_string_append_printf(out,
                               "<rect width=\"6\" height=\"6\" fill=\"#ffffff\"/>"
                               "<path d=\"M0 1.5H6M0 4.5H6\" stroke=\"%s\" stroke-width=\"1.2\"/>",
                               colour);
        break;
    }
    g_string_append(out, "</pattern>\n");
}

void sv_svg_bar_chart(GString *out, const SvSvgBarChart *chart)
{
    guint ng = chart->n_groups, nm = chart->n_measures;
    double group_w = nm * BC_BAR_W + BC_GROUP_GAP;
    double plot_w = MAX(ng * group_w, 300.0);
    double width = BC_LEFT + plot_w + 20;
    double legend_top = BC_TOP + BC_PLOT_H + BC_GROUP_LABEL_H;
    double height = legend_top + nm * LC_LEGEND_ROW + 8;
    g_autofree double *scale = g_new0(double, MAX(nm, 1));
    for (guint m = 0; m < nm; m++) {
        for (guint g = 0; g < ng; g++) {
            double v = chart->values[g * nm + m];
            if (isfinite(v)) {
                scale[m] = MAX(scale[m], fabs(v));
            }
        }
    }

    open_figure(out, chart->id, chart->title, chart->desc, width, height);
    g_string_append(out, "<defs>\n");
    for (guint m = 0; m < nm; m++) {
        append_pattern(out, chart->id, (int)m, style_colour((int)m));
    }
    g_string_append(out, "</defs>\n<g class=\"axes\">\n");
    for (int q = 0; q <= 4; q++) {
        double y = BC_TOP + BC_PLOT_H - q * BC_PLOT_H / 4;
        g_autoptr(GString) d = g_string_new(NULL);
        append_xy(d, "M", BC_LEFT, y);
        append_xy(d, "L", BC_LEFT + plot_w, y);
        g_string_append_printf(out, "<path class=\"grid\" d=\"%s\"/>\n", d->str);
        g_autofree char *label = g_strdup_printf("%d %%", q * 25);
        append_text(out, BC_LEFT - 6, y + 4, "end", "tick", label);
    }
    g_string_append(out,
                    "<text class=\"axis-label\" text-anchor=\"middle\" transform=\"translate(");
    append_coord(out, 14);
    g_string_append_c(out, ' ');
    append_coord(out, BC_TOP + BC_PLOT_H / 2);
    g_string_append(out, ") rotate(-90)\">% of the largest value</text>\n</g>\n");

    for (guint g = 0; g < ng; g++) {
        double gx = BC_LEFT + g * group_w + BC_GROUP_GAP / 2;
        g_string_append(out, "<g class=\"bar-group\"><title>");
        sv_html_escape_append(out, chart->titles != NULL ? chart->titles[g] : chart->groups[g]);
        g_string_append(out, "</title>\n");
        for (guint m = 0; m < nm; m++) {
            double v = chart->values[g * nm + m];
            double x = gx + m * BC_BAR_W;
            double base = BC_TOP + BC_PLOT_H;
            g_autofree char *num = sv_svg_format_value(v, chart->formats[m]);
            g_autofree char *text = isfinite(v) && chart->units[m][0] != '\0'
                                        ? g_strdup_printf("%s %s", num, chart->units[m])
                                        : g_strdup(num);
            double top = base;
            if (isfinite(v) && scale[m] > 0) {
                double h = fabs(v) / scale[m] * BC_PLOT_H;
                top = base - h;
                g_autoptr(GString) d = g_string_new(NULL);
                append_xy(d, "M", x + 1, base);
                append_xy(d, "L", x + 1, top);
                append_xy(d, "L", x + BC_BAR_W - 1, top);
                append_xy(d, "L", x + BC_BAR_W - 1, base);
                g_string_append_c(d, 'Z');
                g_string_append_printf(out,
                                       "<path class=\"bar\" d=\"%s\" fill=\"url(#%s-pattern-%u)\" "
                                       "stroke=\"#000000\" stroke-width=\"1\"><title>",
                                       d->str, chart->id, m);
                sv_html_escape_append(out, chart->measures[m]);
                g_string_append(out, ": ");
                sv_html_escape_append(out, text);
                g_string_append(out, "</title></path>\n");
            }
            /* The value, written upwards from the bar's top. */
            g_string_append(out, "<text class=\"bar-value\" transform=\"translate(");
            append_coord(out, x + BC_BAR_W / 2 + 4);
            g_string_append_c(out, ' ');
            append_coord(out, top - 4);
            g_string_append(out, ") rotate(-90)\">");
            sv_html_escape_append(out, text);
            g_string_append(out, "</text>\n");
        }
        /* The group's name, one line per '|'-separated part. */
        g_auto(GStrv) parts = g_strsplit(chart->groups[g], "|", 4);
        double cx = gx + nm * BC_BAR_W / 2;
        for (guint l = 0, line = 0; parts[l] != NULL; l++) {
            if (parts[l][0] == '\0') {
                continue;
            }
            g_string_append(out, "<text class=\"group-label\" text-anchor=\"middle\" x=\"");
            append_coord(out, cx);
            g_string_append(out, "\" y=\"");
            append_coord(out, BC_TOP + BC_PLOT_H + 14 + 12 * line++);
            g_string_append(out, "\">");
            escape_truncated(out, parts[l], (glong)(group_w / 6.2));
            g_string_append(out, "</text>\n");
        }
        g_string_append(out, "</g>\n");
    }

    g_string_append(out, "<g class=\"legend\">\n");
    for (guint m = 0; m < nm; m++) {
        double y = legend_top + m * LC_LEGEND_ROW;
        g_string_append(out, "<rect class=\"swatch\" x=\"");
        append_coord(out, BC_LEFT);
        g_string_append(out, "\" y=\"");
        append_coord(out, y);
        g_string_append_printf(out,
                               "\" width=\"24\" height=\"13\" fill=\"url(#%s-pattern-%u)\" "
                               "stroke=\"#000000\"/>\n",
                               chart->id, m);
        g_autoptr(GString) label = g_string_new(chart->measures[m]);
        if (scale[m] > 0) {
            g_autofree char *num = sv_svg_format_value(scale[m], chart->formats[m]);
            g_string_append_printf(label, " (100 %% = %s%s%s)", num,
                                   chart->units[m][0] != '\0' ? " " : "", chart->units[m]);
        }
        append_text(out, BC_LEFT + 32, y + 11, "start", "legend-label", label->str);
    }
    g_string_append(out, "</g>\n");
    close_figure(out, chart->title, chart->desc);
}
