/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "netsim.h"

#define NS_PER_S INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)
#define BITS_NS_PER_BYTE UINT64_C(8000000000) /* 8 bits × 1e9 ns/s */
/* One mahimahi delivery opportunity carries one MTU-sized packet. */
#define MAHIMAHI_PACKET_BYTES 1500
/* sv_link_capacity_bps() averages a trace over this window. */
#define CAPACITY_WINDOW_NS (100 * NS_PER_MS)
/* Mahimahi timestamps above this (~115 days) would overflow ns arithmetic
 * once repeated; no real trace is that long. */
#define MAHIMAHI_MAX_MS INT64_C(10000000000)

G_DEFINE_QUARK(sv - net - error - quark, sv_net_error)

/* ---------------------------------------------------------------------- */
/* Named profiles: docs/network.md has the table with the sources. */

#define KIB UINT64_C(1024)
#define MBPS UINT64_C(1000000)

static const SvNetProfile profiles[] = {
    {
        .name = "lan",
        .bandwidth_bps = 1000 * MBPS,
        .uplink_bps = 1000 * MBPS,
        .one_way_delay_ns = 250000, /* rtt 0.5 ms */
        .jitter_ns = 0,
        .queue_bytes = 128 * KIB,
        .socket_buffer_bytes = 256 * KIB,
        .loss = 0.0,
    },
    {
        .name = "wifi",
        .bandwidth_bps = 50 * MBPS,
        .uplink_bps = 50 * MBPS,
        .one_way_delay_ns = 2500000, /* rtt 5 ms */
        .jitter_ns = 3 * NS_PER_MS,
        .queue_bytes = 256 * KIB,
        .socket_buffer_bytes = 128 * KIB,
        .loss = 0.005,
    },
    {
        .name = "wan",
        .bandwidth_bps = 20 * MBPS,
        .uplink_bps = 5 * MBPS,
        .one_way_delay_ns = 20 * NS_PER_MS, /* rtt 40 ms */
        .jitter_ns = 2 * NS_PER_MS,
        .queue_bytes = 256 * KIB,
        .socket_buffer_bytes = 128 * KIB,
        .loss = 0.0,
    },
    {
        .name = "dsl",
        .bandwidth_bps = 12 * MBPS,
        .uplink_bps = 1 * MBPS,
        .one_way_delay_ns = 25 * NS_PER_MS, /* rtt 50 ms */
        .jitter_ns = 1 * NS_PER_MS,
        .queue_bytes = 128 * KIB,
        .socket_buffer_bytes = 128 * KIB,
        .loss = 0.0,
    },
    {
        .name = "mobile",
        .bandwidth_bps = 4 * MBPS,
        .uplink_bps = 1 * MBPS,
        .one_way_delay_ns = 75 * NS_PER_MS, /* rtt 150 ms */
        .jitter_ns = 20 * NS_PER_MS,
        .queue_bytes = 256 * KIB,
        .socket_buffer_bytes = 128 * KIB,
        .loss = 0.01,
    },
    {
        .name = "satellite",
        .bandwidth_bps = 25 * MBPS,
        .uplink_bps = 3 * MBPS,
        .one_way_delay_ns = 300 * NS_PER_MS, /* rtt 600 ms */
        .jitter_ns = 10 * NS_PER_MS,
        .queue_bytes = 512 * KIB,
        .socket_buffer_bytes = 128 * KIB,
        .loss = 0.005,
    },
};

const char *const *sv_net_profile_names(void)
{
    /* Read from profiles[], so the list cannot disagree with the table. */
    static const char *names[G_N_ELEMENTS(profiles) + 1];
    static gsize done = 0;
    if (g_once_init_enter(&done)) {
        for (size_t i = 0; i < G_N_ELEMENTS(profiles); i++) {
            names[i] = profiles[i].name;
        }
        names[G_N_ELEMENTS(profiles)] = NULL;
        g_once_init_leave(&done, 1);
    }
    return names;
}

static const SvNetProfile *find_profile(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(profiles); i++) {
        if (strcmp(profiles[i].name, name) == 0) {
            return &profiles[i];
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------------- */
/* Integer arithmetic: everything in ns and bytes, no floating point, so a
 * long run accumulates no drift. */

/* a × b / c for c > 0, rounded down or up, saturating at UINT64_MAX. */
static uint64_t muldiv(uint64_t a, uint64_t b, uint64_t c, gboolean round_up)
{
#if defined(__SIZEOF_INT128__)
    __extension__ typedef unsigned __int128 u128;
    u128 p = (u128)a * b;
    u128 q = p / c;
    if (round_up && q * c != p) {
        q++;
    }
    return q > UINT64_MAX ? UINT64_MAX : (uint64_t)q;
#else
    /* 64 × 64 → 128 bits by halves, then shift-subtract division. */
    uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32;
    uint64_t b_lo = b & 0xffffffffu, b_hi = b >> 32;
    uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi, hl = a_hi * b_lo, hh = a_hi * b_hi;
    uint64_t mid = (ll >> 32) + (lh & 0xffffffffu) + (hl & 0xffffffffu);
    uint64_t lo = (ll & 0xffffffffu) | (mid << 32);
    uint64_t hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
    if (hi >= c) {
        return UINT64_MAX;
    }
    uint64_t rem = hi, q = 0;
    for (int i = 63; i >= 0; i--) {
        gboolean carry = (rem >> 63) != 0;
        rem = (rem << 1) | ((lo >> i) & 1);
        if (carry || rem >= c) {
            rem -= c;
            q |= UINT64_C(1) << i;
        }
    }
    if (round_up && rem != 0) {
        return q == UINT64_MAX ? q : q + 1;
    }
    return q;
#endif
}

static int64_t add_sat(int64_t a, int64_t b)
{
    if (b > 0 && a > INT64_MAX - b) {
        return INT64_MAX;
    }
    if (b < 0 && a < INT64_MIN - b) {
        return INT64_MIN;
    }
    return a + b;
}

static int64_t u64_to_ns(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* ---------------------------------------------------------------------- */
/* Profile parsing */

typedef enum {
    NUM_OK,
    NUM_BAD,
    NUM_NEGATIVE,
    NUM_RANGE,
} NumResult;

typedef struct {
    const char *suffix;
    uint64_t scale;
} Unit;

/* "12", "0.5", "1.25" followed by one of @units (exact match of the rest);
 * the value × scale is rounded to the nearest integer. */
static NumResult parse_scaled(const char *s, const Unit *units, uint64_t *out)
{
    if (*s == '-') {
        return s[1] != '\0' && (g_ascii_isdigit(s[1]) || s[1] == '.') ? NUM_NEGATIVE : NUM_BAD;
    }
    if (*s == '+') {
        s++;
    }
    uint64_t mantissa = 0, frac_den = 1;
    gboolean any_digit = FALSE, in_frac = FALSE;
    for (; *s != '\0'; s++) {
        if (g_ascii_isdigit(*s)) {
            if (mantissa > UINT64_C(100000000000000000)) {
                return NUM_RANGE;
            }
            mantissa = mantissa * 10 + (uint64_t)(*s - '0');
            if (in_frac) {
                if (frac_den >= UINT64_C(1000000000000)) {
                    return NUM_RANGE; /* more decimals than any unit needs */
                }
                frac_den *= 10;
            }
            any_digit = TRUE;
        } else if (*s == '.' && !in_frac) {
            in_frac = TRUE;
        } else {
            break;
        }
    }
    if (!any_digit) {
        return NUM_BAD;
    }
    for (const Unit *u = units; u->suffix != NULL; u++) {
        if (strcmp(s, u->suffix) == 0) {
            /* round half up: (m × scale + den/2) / den */
            uint64_t floor_v = muldiv(mantissa, u->scale, frac_den, FALSE);
            uint64_t twice = muldiv(mantissa, 2 * u->scale, frac_den, FALSE);
            uint64_t v = floor_v + (twice - 2 * floor_v >= 1 ? 1 : 0);
            if (floor_v == UINT64_MAX || twice == UINT64_MAX || v > (uint64_t)INT64_MAX) {
                return NUM_RANGE;
            }
            *out = v;
            return NUM_OK;
        }
    }
    return NUM_BAD;
}

static const Unit rate_units[] = {
    {"", 1},
    {"bps", 1},
    {"bit/s", 1},
    {"k", 1000},
    {"kbps", 1000},
    {"kbit/s", 1000},
    {"K", 1000},
    {"M", 1000000},
    {"Mbps", 1000000},
    {"Mbit/s", 1000000},
    {"G", 1000000000},
    {"Gbps", 1000000000},
    {"Gbit/s", 1000000000},
    {NULL, 0},
};

static const Unit time_units[] = {
    {"ns", 1}, {"us", 1000}, {"ms", 1000000}, {"s", 1000000000}, {NULL, 0},
};

static const Unit size_units[] = {
    {"", 1},
    {"B", 1},
    {"k", 1024},
    {"K", 1024},
    {"KiB", 1024},
    {"M", 1024 * 1024},
    {"MiB", 1024 * 1024},
    {"G", 1024 * 1024 * 1024},
    {"GiB", 1024 * 1024 * 1024},
    {NULL, 0},
};

static const Unit loss_units[] = {
    {"", 1000000000},
    {"%", 10000000},
    {NULL, 0},
};

typedef enum {
    KEY_RATE_DOWN,
    KEY_RATE_UP,
    KEY_RTT,
    KEY_DELAY,
    KEY_JITTER,
    KEY_QUEUE,
    KEY_SOCKBUF,
    KEY_LOSS,
    KEY_TRACE,
} KeyKind;

typedef struct {
    const char *key;
    KeyKind kind;
    const char *expected;
} KeyInfo;

static const KeyInfo keys[] = {
    {"bw", KEY_RATE_DOWN, "a rate such as 5M or 800k"},
    {"up", KEY_RATE_UP, "a rate such as 5M or 800k"},
    {"rtt", KEY_RTT, "a time such as 80ms or 500us"},
    {"delay", KEY_DELAY, "a time such as 40ms or 250us"},
    {"jitter", KEY_JITTER, "a time such as 10ms or 0"},
    {"queue", KEY_QUEUE, "a size such as 256k or 1M"},
    {"sockbuf", KEY_SOCKBUF, "a size such as 128k or 1M"},
    {"loss", KEY_LOSS, "a probability from 0 to 1 such as 0.01 or 1%"},
    {"trace", KEY_TRACE, "a mahimahi trace file name"},
};

#define KEY_LIST "bw, up, rtt, delay, jitter, queue, sockbuf, loss, trace"

static gboolean apply_override(SvNetProfile *p, const char *field, GError **error)
{
    const char *eq = strchr(field, '=');
    g_autofree char *key = g_strndup(field, (gsize)(eq - field));
    const char *value = eq + 1;
    const KeyInfo *info = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (strcmp(keys[i].key, key) == 0) {
            info = &keys[i];
            break;
        }
    }
    if (info == NULL) {
        g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC,
                    "--net: '%s': unknown key '%s'; expected one of " KEY_LIST, field, key);
        return FALSE;
    }

    if (info->kind == KEY_TRACE) {
        if (*value == '\0') {
            g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC, "--net: '%s': expected %s", field,
                        info->expected);
            return FALSE;
        }
        if (strlen(value) >= sizeof(p->trace_path)) {
            g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC,
                        "--net: 'trace=…': file name longer than %zu bytes",
                        sizeof(p->trace_path) - 1);
            return FALSE;
        }
        g_strlcpy(p->trace_path, value, sizeof(p->trace_path));
        return TRUE;
    }

    const Unit *units = NULL;
    switch (info->kind) {
    case KEY_RATE_DOWN:
    case KEY_RATE_UP:
        units = rate_units;
        break;
    case KEY_RTT:
    case KEY_DELAY:
    case KEY_JITTER:
        /* A bare 0 needs no unit. */
        units = strcmp(value, "0") == 0 ? size_units : time_units;
        break;
    case KEY_QUEUE:
    case KEY_SOCKBUF:
        units = size_units;
        break;
    case KEY_LOSS:
        units = loss_units;
        break;
    case KEY_TRACE:
        g_assert_not_reached();
    }

    uint64_t v = 0;
    switch (parse_scaled(value, units, &v)) {
    case NUM_OK:
        break;
    case NUM_BAD:
        g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC, "--net: '%s': expected %s", field,
                    info->expected);
        return FALSE;
    case NUM_NEGATIVE:
        g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC,
                    "--net: '%s': must not be negative; expected %s", field, info->expected);
        return FALSE;
    case NUM_RANGE:
        g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC,
                    "--net: '%s': out of range; expected %s", field, info->expected);
        return FALSE;
    }

    switch (info->kind) {
    case KEY_RATE_DOWN:
    case KEY_RATE_UP:
        if (v == 0) {
            g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC,
                        "--net: '%s': must be above 0; expected %s", field, info->expected);
            return FALSE;
        }
        if (info->kind == KEY_RATE_DOWN) {
            p->bandwidth_bps = v;
        } else {
            p->uplink_bps = v;
        }
        break;
    case KEY_RTT:
        p->one_way_delay_ns = (int64_t)(v / 2);
        break;
    case KEY_DELAY:
        p->one_way_delay_ns = (int64_t)v;
        break;
    case KEY_JITTER:
        p->jitter_ns = (int64_t)v;
        break;
    case KEY_QUEUE:
        p->queue_bytes = v;
        break;
    case KEY_SOCKBUF:
        p->socket_buffer_bytes = v;
        break;
    case KEY_LOSS:
        if (v > UINT64_C(1000000000)) {
            g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC, "--net: '%s': above 1; expected %s",
                        field, info->expected);
            return FALSE;
        }
        p->loss = (double)v / 1e9;
        break;
    case KEY_TRACE:
        g_assert_not_reached();
    }
    return TRUE;
}

gboolean sv_net_profile_parse(const char *spec, SvNetProfile *profile, GError **error)
{
    g_return_val_if_fail(spec != NULL, FALSE);
    g_return_val_if_fail(profile != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    if (*spec == '\0') {
        g_autofree char *names = g_strjoinv(", ", (char **)sv_net_profile_names());
        g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC,
                    "--net: empty specification; expected a profile name (%s) or key=value "
                    "pairs such as bw=5M,rtt=80ms",
                    names);
        return FALSE;
    }

    g_auto(GStrv) fields = g_strsplit(spec, ",", -1);
    SvNetProfile p = profiles[0]; /* overrides alone apply to lan */
    gboolean overridden = FALSE;
    for (guint i = 0; fields[i] != NULL; i++) {
        const char *field = fields[i];
        if (*field == '\0') {
            g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC,
                        "--net: '%s': empty field %u; expected name or key=value", spec, i + 1);
            return FALSE;
        }
        if (strchr(field, '=') == NULL) {
            const SvNetProfile *named = find_profile(field);
            if (i > 0) {
                g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC,
                            named != NULL ? "--net: '%s': a profile name must come first"
                                          : "--net: '%s': expected key=value",
                            field);
                return FALSE;
            }
            if (named == NULL) {
                g_autofree char *names = g_strjoinv(", ", (char **)sv_net_profile_names());
                g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC,
                            "--net: '%s': unknown profile; expected one of %s, or key=value", field,
                            names);
                return FALSE;
            }
            p = *named;
            continue;
        }
        if (!apply_override(&p, field, error)) {
            return FALSE;
        }
        overridden = TRUE;
    }
    if (overridden) {
        g_strlcpy(p.name, "custom", sizeof(p.name));
    }
    *profile = p;
    return TRUE;
}

/* "1 Gbit/s", "1.5 Mbit/s", "800 kbit/s" */
static void append_scaled(GString *s, uint64_t v, uint64_t unit, const char *suffix)
{
    g_string_append_printf(s, "%" PRIu64, v / unit);
    uint64_t frac = v % unit;
    if (frac != 0) {
        char digits[24];
        int width = 0;
        for (uint64_t u = unit; u > 1; u /= 10) {
            width++;
        }
        g_snprintf(digits, sizeof(digits), "%0*" PRIu64, width, frac);
        for (int i = width - 1; i > 0 && digits[i] == '0'; i--) {
            digits[i] = '\0';
        }
        g_string_append_printf(s, ".%s", digits);
    }
    g_string_append_printf(s, " %s", suffix);
}

static void append_rate(GString *s, uint64_t bps)
{
    if (bps >= UINT64_C(1000000000)) {
        append_scaled(s, bps, UINT64_C(1000000000), "Gbit/s");
    } else if (bps >= UINT64_C(1000000)) {
        append_scaled(s, bps, UINT64_C(1000000), "Mbit/s");
    } else if (bps >= UINT64_C(1000)) {
        append_scaled(s, bps, UINT64_C(1000), "kbit/s");
    } else {
        append_scaled(s, bps, 1, "bit/s");
    }
}

static void append_size(GString *s, uint64_t bytes)
{
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) {
        append_scaled(s, bytes, 1024 * 1024, "MiB");
    } else if (bytes >= 1024 && bytes % 1024 == 0) {
        append_scaled(s, bytes, 1024, "KiB");
    } else {
        append_scaled(s, bytes, 1, "bytes");
    }
}

char *sv_net_profile_describe(const SvNetProfile *profile)
{
    g_return_val_if_fail(profile != NULL, NULL);
    const SvNetProfile *p = profile;
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s: ", p->name);
    if (p->trace_path[0] != '\0') {
        g_string_append_printf(s, "mahimahi trace %s down", p->trace_path);
    } else {
        append_rate(s, p->bandwidth_bps);
        g_string_append(s, " down");
    }
    g_string_append(s, ", ");
    append_rate(s, p->uplink_bps);
    g_string_append(s, " up, rtt ");
    append_scaled(s, (uint64_t)MAX(p->one_way_delay_ns, 0) * 2, NS_PER_MS, "ms");
    g_string_append(s, ", jitter ");
    append_scaled(s, (uint64_t)MAX(p->jitter_ns, 0), NS_PER_MS, "ms");
    g_string_append(s, ", queue ");
    append_size(s, p->queue_bytes);
    g_string_append(s, ", socket buffer ");
    append_size(s, p->socket_buffer_bytes);
    if (p->loss > 0) {
        g_string_append_printf(s, ", loss %g %%", p->loss * 100);
    }
    return g_string_free(s, FALSE);
}

/* ---------------------------------------------------------------------- */
/* Mahimahi traces */

typedef struct {
    int64_t *ms; /* non-decreasing delivery opportunities */
    size_t len;
    int64_t period_ms; /* the last timestamp: the file repeats after it */
} Trace;

static gboolean trace_load(Trace *t, const char *path, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    if (!g_file_get_contents(path, &text, &len, error)) {
        g_prefix_error(error, "mahimahi trace: ");
        return FALSE;
    }
    GArray *ms = g_array_new(FALSE, FALSE, sizeof(int64_t));
    unsigned line_no = 0, last_line_no = 0;
    int64_t prev = 0;
    char *line = text;
    while (line < text + len) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        char *end = nl != NULL ? nl : text + len;
        line_no++;
        *end = '\0';
        g_strstrip(line);
        if (*line != '\0') {
            char *stop = NULL;
            errno = 0;
            gint64 v = g_ascii_strtoll(line, &stop, 10);
            if (!g_ascii_isdigit(*line) || *stop != '\0' || errno != 0 || v > MAHIMAHI_MAX_MS) {
                g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_TRACE,
                            "%s: line %u: expected a millisecond timestamp, got '%s'", path,
                            line_no, line);
                g_array_free(ms, TRUE);
                return FALSE;
            }
            if (v < prev) {
                g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_TRACE,
                            "%s: line %u: expected a millisecond timestamp not before the "
                            "previous one (%" PRId64 "), got %" G_GINT64_FORMAT,
                            path, line_no, prev, v);
                g_array_free(ms, TRUE);
                return FALSE;
            }
            prev = v;
            last_line_no = line_no;
            g_array_append_val(ms, prev);
        }
        line = end + 1;
    }
    if (ms->len == 0) {
        g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_TRACE,
                    "%s: expected millisecond timestamps, found none", path);
        g_array_free(ms, TRUE);
        return FALSE;
    }
    if (prev <= 0) {
        g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_TRACE,
                    "%s: line %u: expected a last timestamp above 0 ms (the trace repeats after "
                    "it)",
                    path, last_line_no);
        g_array_free(ms, TRUE);
        return FALSE;
    }
    t->len = ms->len;
    t->period_ms = prev;
    t->ms = (int64_t *)(void *)g_array_free(ms, FALSE);
    return TRUE;
}

/* Opportunities are numbered from 0 over the repeated trace; opportunity
 * k is at (k / len) × period + ms[k % len], virtual time 0 being the
 * trace's time 0. */
static int64_t trace_op_time_ns(const Trace *t, int64_t k)
{
    int64_t cycle = k / (int64_t)t->len;
    int64_t i = k % (int64_t)t->len;
    if (cycle > INT64_MAX / NS_PER_MS / t->period_ms - 1) {
        return INT64_MAX;
    }
    return (cycle * t->period_ms + t->ms[i]) * NS_PER_MS;
}

/* The number of opportunities at or before @t_ns. */
static int64_t trace_count(const Trace *t, int64_t t_ns)
{
    if (t_ns < 0) {
        return 0;
    }
    int64_t period_ns = t->period_ms * NS_PER_MS;
    int64_t cycle = t_ns / period_ns;
    int64_t rem_ms = (t_ns - cycle * period_ns) / NS_PER_MS;
    /* upper bound: first index with ms > rem_ms */
    size_t lo = 0, hi = t->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->ms[mid] <= rem_ms) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (cycle > (INT64_MAX - (int64_t)lo) / (int64_t)t->len) {
        return INT64_MAX;
    }
    return cycle * (int64_t)t->len + (int64_t)lo;
}

/* ---------------------------------------------------------------------- */
/* Links */

typedef struct {
    gpointer payload;
    uint64_t bytes;
    int64_t sent_ns; /* its last byte on the wire */
    int64_t arrival_ns;
} Message;

struct SvLink {
    uint64_t rate_bps; /* 0 with a trace */
    Trace trace;
    int64_t one_way_ns;
    int64_t jitter_ns;
    double loss;
    uint64_t limit_bytes; /* socket buffer + queue */
    GRand *rand;

    /* The current busy period: bytes written since the wire last went idle
     * leave back to back from busy_start_ns (constant rate) or from
     * opportunity run_start_op (trace), whole, in order. Computing each
     * message's times from the period's start rather than from the previous
     * message keeps rounding from accumulating. */
    gboolean active;
    int64_t busy_start_ns;
    int64_t run_start_op;
    uint64_t busy_bytes;
    int64_t last_wire_end_ns;

    int64_t last_send_ns;
    int64_t last_arrival_ns;
    GQueue messages; /* Message *, in order of arrival */
    uint64_t queued_bytes;
    SvLinkStats stats;
};

SvLink *sv_link_new(const SvNetProfile *profile, SvLinkDirection direction, uint64_t seed,
                    GError **error)
{
    g_return_val_if_fail(profile != NULL, NULL);
    g_return_val_if_fail(direction == SV_LINK_DOWN || direction == SV_LINK_UP, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    SvLink *link = g_new0(SvLink, 1);
    if (direction == SV_LINK_DOWN && profile->trace_path[0] != '\0') {
        if (!trace_load(&link->trace, profile->trace_path, error)) {
            g_free(link);
            return NULL;
        }
    } else {
        link->rate_bps = direction == SV_LINK_DOWN ? profile->bandwidth_bps : profile->uplink_bps;
        if (link->rate_bps == 0) {
            g_set_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC, "%s: %s rate is 0", profile->name,
                        direction == SV_LINK_DOWN ? "downlink" : "uplink");
            g_free(link);
            return NULL;
        }
    }
    link->one_way_ns = MAX(profile->one_way_delay_ns, 0);
    link->jitter_ns = MAX(profile->jitter_ns, 0);
    link->loss = CLAMP(profile->loss, 0.0, 1.0);
    link->limit_bytes = profile->socket_buffer_bytes + profile->queue_bytes;
    /* Both directions of a client may get the same seed; they still draw
     * different sequences. */
    guint32 seed_array[3] = {(guint32)seed, (guint32)(seed >> 32), (guint32)direction};
    link->rand = g_rand_new_with_seed_array(seed_array, G_N_ELEMENTS(seed_array));
    link->last_send_ns = INT64_MIN;
    link->last_arrival_ns = INT64_MIN;
    g_queue_init(&link->messages);
    return link;
}

void sv_link_free(SvLink *link)
{
    if (link == NULL) {
        return;
    }
    g_queue_clear_full(&link->messages, g_free);
    g_rand_free(link->rand);
    g_free(link->trace.ms);
    g_free(link);
}

/* Bytes of the busy period on the wire by @t_ns. */
static uint64_t served_bytes(const SvLink *link, int64_t t_ns)
{
    if (!link->active) {
        return 0;
    }
    if (link->rate_bps != 0) {
        if (t_ns <= link->busy_start_ns) {
            return 0;
        }
        uint64_t elapsed = (uint64_t)t_ns - (uint64_t)link->busy_start_ns;
        return MIN(link->busy_bytes, muldiv(elapsed, link->rate_bps, BITS_NS_PER_BYTE, FALSE));
    }
    int64_t ops = trace_count(&link->trace, t_ns) - link->run_start_op;
    if (ops <= 0) {
        return 0;
    }
    return MIN(link->busy_bytes, muldiv((uint64_t)ops, MAHIMAHI_PACKET_BYTES, 1, FALSE));
}

/* The time the first @k (≥ 1) bytes of the busy period are on the wire. */
static int64_t time_served(const SvLink *link, uint64_t k)
{
    if (link->rate_bps != 0) {
        return add_sat(link->busy_start_ns,
                       u64_to_ns(muldiv(k, BITS_NS_PER_BYTE, link->rate_bps, TRUE)));
    }
    uint64_t packets = (k + MAHIMAHI_PACKET_BYTES - 1) / MAHIMAHI_PACKET_BYTES;
    return trace_op_time_ns(&link->trace, link->run_start_op + u64_to_ns(packets) - 1);
}

uint64_t sv_link_backlog_bytes(const SvLink *link, int64_t now_ns)
{
    g_return_val_if_fail(link != NULL, 0);
    return link->active ? link->busy_bytes - served_bytes(link, now_ns) : 0;
}

static gboolean is_blocked(const SvLink *link, int64_t now_ns)
{
    uint64_t backlog = sv_link_backlog_bytes(link, now_ns);
    return backlog > 0 && backlog >= link->limit_bytes;
}

gboolean sv_link_can_send(SvLink *link, int64_t now_ns)
{
    g_return_val_if_fail(link != NULL, FALSE);
    return !is_blocked(link, now_ns);
}

void sv_link_send(SvLink *link, int64_t now_ns, uint64_t bytes, gpointer payload)
{
    g_return_if_fail(link != NULL);
    sv_link_send_timed(link, now_ns, bytes, payload);
}

int64_t sv_link_send_timed(SvLink *link, int64_t now_ns, uint64_t bytes, gpointer payload)
{
    g_return_val_if_fail(link != NULL, INT64_MAX);
    /* Time runs forward: a write cannot happen before the previous one. */
    now_ns = MAX(now_ns, link->last_send_ns);
    link->last_send_ns = now_ns;

    gboolean idle;
    if (!link->active) {
        idle = TRUE;
    } else if (link->rate_bps != 0) {
        idle = link->last_wire_end_ns <= now_ns;
    } else {
        /* The last opportunity used is in the past: a part of it left
         * unused went unused (mahimahi sends what is queued when the
         * opportunity comes). One still to come takes the new bytes. */
        idle = link->last_wire_end_ns < now_ns;
    }
    int64_t wire_start_ns = idle ? now_ns : link->last_wire_end_ns;
    if (idle) {
        link->active = TRUE;
        link->busy_start_ns = now_ns;
        link->busy_bytes = 0;
        if (link->rate_bps == 0) {
            link->run_start_op = trace_count(&link->trace, add_sat(now_ns, -1));
        }
    }
    link->busy_bytes += bytes;
    int64_t wire_end_ns = bytes == 0 ? wire_start_ns : time_served(link, link->busy_bytes);
    link->last_wire_end_ns = wire_end_ns;

    /* Always two draws per message, so the loss pattern does not depend on
     * the jitter setting and vice versa. */
    uint64_t r = ((uint64_t)g_rand_int(link->rand) << 32) | g_rand_int(link->rand);
    gboolean lost = g_rand_double(link->rand) < link->loss;
    int64_t jitter_ns = link->jitter_ns > 0 ? (int64_t)(r % ((uint64_t)link->jitter_ns + 1)) : 0;
    int64_t arrival_ns = add_sat(add_sat(wire_end_ns, link->one_way_ns), jitter_ns);
    if (lost) {
        /* Fast retransmit: the segment comes again one round trip later. */
        arrival_ns = add_sat(arrival_ns, 2 * link->one_way_ns);
        link->stats.retransmissions++;
    }
    /* TCP delivers in order: a message cannot overtake the previous one. */
    arrival_ns = MAX(arrival_ns, link->last_arrival_ns);
    link->last_arrival_ns = arrival_ns;

    Message *m = g_new(Message, 1);
    m->payload = payload;
    m->bytes = bytes;
    m->sent_ns = wire_end_ns;
    m->arrival_ns = arrival_ns;
    g_queue_push_tail(&link->messages, m);
    link->queued_bytes += bytes;

    link->stats.messages++;
    link->stats.bytes += bytes;
    link->stats.busy_ns += wire_end_ns - wire_start_ns;
    return wire_end_ns;
}

int64_t sv_link_next_event_ns(SvLink *link, int64_t now_ns)
{
    g_return_val_if_fail(link != NULL, INT64_MAX);
    int64_t next = INT64_MAX;
    const Message *head = g_queue_peek_head(&link->messages);
    if (head != NULL) {
        /* One already due is due now. */
        next = MAX(head->arrival_ns, now_ns);
    }
    if (is_blocked(link, now_ns)) {
        /* The backlog falls below the limit once all but limit - 1 bytes of
         * the busy period are on the wire. */
        uint64_t k = link->busy_bytes - (link->limit_bytes > 0 ? link->limit_bytes - 1 : 0);
        next = MIN(next, time_served(link, k));
    }
    return next;
}

gpointer sv_link_receive(SvLink *link, int64_t now_ns, int64_t *arrival_ns, int64_t *sent_ns)
{
    g_return_val_if_fail(link != NULL, NULL);
    Message *m = g_queue_peek_head(&link->messages);
    if (m == NULL || m->arrival_ns > now_ns) {
        return NULL;
    }
    g_queue_pop_head(&link->messages);
    link->queued_bytes -= m->bytes;
    if (arrival_ns != NULL) {
        *arrival_ns = m->arrival_ns;
    }
    if (sent_ns != NULL) {
        *sent_ns = m->sent_ns;
    }
    gpointer payload = m->payload;
    g_free(m);
    return payload;
}

uint64_t sv_link_bytes_in_flight(const SvLink *link)
{
    g_return_val_if_fail(link != NULL, 0);
    return link->queued_bytes;
}

uint64_t sv_link_capacity_bps(const SvLink *link, int64_t t_ns)
{
    g_return_val_if_fail(link != NULL, 0);
    if (link->rate_bps != 0) {
        return link->rate_bps;
    }
    /* The 100 ms window centred on t, moved right so it starts at 0 at the
     * beginning of the timeline. */
    int64_t start = MAX(add_sat(t_ns, -CAPACITY_WINDOW_NS / 2), 0);
    int64_t end = add_sat(start, CAPACITY_WINDOW_NS);
    int64_t ops = trace_count(&link->trace, end - 1) - trace_count(&link->trace, start - 1);
    return muldiv((uint64_t)ops, MAHIMAHI_PACKET_BYTES * 8 * (uint64_t)NS_PER_S,
                  (uint64_t)CAPACITY_WINDOW_NS, FALSE);
}

void sv_link_get_stats(const SvLink *link, SvLinkStats *stats)
{
    g_return_if_fail(link != NULL);
    g_return_if_fail(stats != NULL);
    *stats = link->stats;
}
