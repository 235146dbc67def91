/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */
/* The network model (harness/netsim.c, docs/network.md). */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "netsim.h"

#define MS INT64_C(1000000)
#define US INT64_C(1000)
#define KIB UINT64_C(1024)

static SvNetProfile parse_ok(const char *spec)
{
    SvNetProfile p;
    g_autoptr(GError) error = NULL;
    memset(&p, 0xaa, sizeof(p));
    if (!sv_net_profile_parse(spec, &p, &error)) {
        g_error("'%s': %s", spec, error->message);
    }
    g_assert_no_error(error);
    return p;
}

static SvLink *link_new_ok(const SvNetProfile *p, SvLinkDirection dir, uint64_t seed)
{
    g_autoptr(GError) error = NULL;
    SvLink *link = sv_link_new(p, dir, seed, &error);
    g_assert_no_error(error);
    g_assert_nonnull(link);
    return link;
}

static char *data_path(const char *name)
{
    return g_test_build_filename(G_TEST_DIST, "data", name, NULL);
}

/* ---------------------------------------------------------------------- */
/* Profiles */

typedef struct {
    const char *name;
    uint64_t down_bps, up_bps;
    int64_t rtt_ns, jitter_ns;
    uint64_t queue_bytes, sockbuf_bytes;
    double loss;
} ProfileCase;

/* docs/network.md, table "Named profiles". */
static const ProfileCase documented[] = {
    {"lan", 1000000000, 1000000000, 500 * US, 0, 128 * KIB, 256 * KIB, 0.0},
    {"wifi", 50000000, 50000000, 5 * MS, 3 * MS, 256 * KIB, 128 * KIB, 0.005},
    {"wan", 20000000, 5000000, 40 * MS, 2 * MS, 256 * KIB, 128 * KIB, 0.0},
    {"dsl", 12000000, 1000000, 50 * MS, 1 * MS, 128 * KIB, 128 * KIB, 0.0},
    {"mobile", 4000000, 1000000, 150 * MS, 20 * MS, 256 * KIB, 128 * KIB, 0.01},
    {"satellite", 25000000, 3000000, 600 * MS, 10 * MS, 512 * KIB, 128 * KIB, 0.005},
};

static void test_profile_named(void)
{
    const char *const *names = sv_net_profile_names();
    g_assert_cmpuint(g_strv_length((char **)names), ==, G_N_ELEMENTS(documented));
    for (size_t i = 0; i < G_N_ELEMENTS(documented); i++) {
        const ProfileCase *c = &documented[i];
        g_assert_cmpstr(names[i], ==, c->name);
        SvNetProfile p = parse_ok(c->name);
        g_assert_cmpstr(p.name, ==, c->name);
        g_assert_cmpuint(p.bandwidth_bps, ==, c->down_bps);
        g_assert_cmpuint(p.uplink_bps, ==, c->up_bps);
        g_assert_cmpint(p.one_way_delay_ns * 2, ==, c->rtt_ns);
        g_assert_cmpint(p.jitter_ns, ==, c->jitter_ns);
        g_assert_cmpuint(p.queue_bytes, ==, c->queue_bytes);
        g_assert_cmpuint(p.socket_buffer_bytes, ==, c->sockbuf_bytes);
        g_assert_cmpfloat(p.loss, ==, c->loss);
        g_assert_cmpstr(p.trace_path, ==, "");
    }

    /* The numbers, independently of the table above. */
    SvNetProfile lan = parse_ok("lan");
    g_assert_cmpuint(lan.bandwidth_bps, ==, 1000 * 1000 * 1000);
    g_assert_cmpint(lan.one_way_delay_ns, ==, 250 * US); /* 0.5 ms taken as the rtt */
    SvNetProfile wan = parse_ok("wan");
    g_assert_cmpuint(wan.bandwidth_bps, ==, 20 * 1000 * 1000);
    g_assert_cmpint(wan.one_way_delay_ns, ==, 20 * MS); /* rtt 40 ms */
    SvNetProfile mobile = parse_ok("mobile");
    g_assert_cmpuint(mobile.bandwidth_bps, ==, 4 * 1000 * 1000);
    g_assert_cmpint(mobile.one_way_delay_ns, ==, 75 * MS); /* rtt 150 ms */
    g_assert_cmpint(mobile.jitter_ns, >, 0);

    g_autofree char *desc = sv_net_profile_describe(&wan);
    g_assert_cmpstr(desc, ==,
                    "wan: 20 Mbit/s down, 5 Mbit/s up, rtt 40 ms, jitter 2 ms, queue 256 KiB, "
                    "socket buffer 128 KiB");
    g_autofree char *desc_lan = sv_net_profile_describe(&lan);
    g_assert_cmpstr(desc_lan, ==,
                    "lan: 1 Gbit/s down, 1 Gbit/s up, rtt 0.5 ms, jitter 0 ms, queue 128 KiB, "
                    "socket buffer 256 KiB");
    g_autofree char *desc_mobile = sv_net_profile_describe(&mobile);
    g_assert_cmpstr(desc_mobile, ==,
                    "mobile: 4 Mbit/s down, 1 Mbit/s up, rtt 150 ms, jitter 20 ms, queue 256 KiB, "
                    "socket buffer 128 KiB, loss 1 %");
}

static void test_profile_override(void)
{
    SvNetProfile wan = parse_ok("wan");
    SvNetProfile p = parse_ok("wan,jitter=5ms");
    g_assert_cmpstr(p.name, ==, "custom");
    g_assert_cmpint(p.jitter_ns, ==, 5 * MS);
    g_assert_cmpuint(p.bandwidth_bps, ==, wan.bandwidth_bps);
    g_assert_cmpuint(p.uplink_bps, ==, wan.uplink_bps);
    g_assert_cmpint(p.one_way_delay_ns, ==, wan.one_way_delay_ns);
    g_assert_cmpuint(p.queue_bytes, ==, wan.queue_bytes);
    g_assert_cmpuint(p.socket_buffer_bytes, ==, wan.socket_buffer_bytes);

    /* Later fields win. */
    p = parse_ok("satellite,bw=1M,bw=2M,trace=x.trace");
    g_assert_cmpuint(p.bandwidth_bps, ==, 2000000);
    g_assert_cmpint(p.one_way_delay_ns, ==, 300 * MS);
    g_assert_cmpstr(p.trace_path, ==, "x.trace");
    g_autofree char *desc = sv_net_profile_describe(&p);
    g_assert_cmpstr(desc, ==,
                    "custom: mahimahi trace x.trace down, 3 Mbit/s up, rtt 600 ms, jitter 10 ms, "
                    "queue 512 KiB, socket buffer 128 KiB, loss 0.5 %");
}

static void test_profile_spec(void)
{
    SvNetProfile lan = parse_ok("lan");
    SvNetProfile p = parse_ok("bw=5M,rtt=80ms,jitter=10ms,queue=256k");
    g_assert_cmpstr(p.name, ==, "custom");
    g_assert_cmpuint(p.bandwidth_bps, ==, 5000000);
    g_assert_cmpint(p.one_way_delay_ns, ==, 40 * MS);
    g_assert_cmpint(p.jitter_ns, ==, 10 * MS);
    g_assert_cmpuint(p.queue_bytes, ==, 256 * 1024);
    /* the rest from lan */
    g_assert_cmpuint(p.uplink_bps, ==, lan.uplink_bps);
    g_assert_cmpuint(p.socket_buffer_bytes, ==, lan.socket_buffer_bytes);
    g_assert_cmpfloat(p.loss, ==, lan.loss);
}

typedef struct {
    const char *spec;
    uint64_t down_bps, up_bps;
    int64_t one_way_ns, jitter_ns;
    uint64_t queue_bytes, sockbuf_bytes;
    double loss;
} UnitCase;

static void test_profile_units(void)
{
    /* 0 = unchanged from lan */
    static const UnitCase cases[] = {
        {.spec = "bw=800k", .down_bps = 800000},
        {.spec = "bw=800K", .down_bps = 800000},
        {.spec = "bw=1.5M", .down_bps = 1500000},
        {.spec = "bw=2G", .down_bps = 2000000000},
        {.spec = "bw=2500", .down_bps = 2500},
        {.spec = "bw=5Mbit/s", .down_bps = 5000000},
        {.spec = "bw=10Mbps", .down_bps = 10000000},
        {.spec = "up=256k", .up_bps = 256000},
        {.spec = "rtt=500us", .one_way_ns = 250000},
        {.spec = "rtt=1s", .one_way_ns = 500 * MS},
        {.spec = "rtt=100ns", .one_way_ns = 50},
        {.spec = "rtt=0.5ms", .one_way_ns = 250 * US},
        {.spec = "delay=0.25ms", .one_way_ns = 250 * US},
        {.spec = "delay=7ms", .one_way_ns = 7 * MS},
        {.spec = "jitter=1.5ms", .jitter_ns = 1500 * US},
        {.spec = "queue=1M", .queue_bytes = 1024 * 1024},
        {.spec = "queue=1500", .queue_bytes = 1500},
        {.spec = "queue=64KiB", .queue_bytes = 64 * 1024},
        {.spec = "sockbuf=0.5k", .sockbuf_bytes = 512},
        {.spec = "sockbuf=2MiB", .sockbuf_bytes = 2 * 1024 * 1024},
        {.spec = "loss=1%", .loss = 0.01},
        {.spec = "loss=0.25", .loss = 0.25},
    };
    SvNetProfile lan = parse_ok("lan");
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const UnitCase *c = &cases[i];
        SvNetProfile p = parse_ok(c->spec);
        g_test_message("%s", c->spec);
        g_assert_cmpuint(p.bandwidth_bps, ==, c->down_bps ? c->down_bps : lan.bandwidth_bps);
        g_assert_cmpuint(p.uplink_bps, ==, c->up_bps ? c->up_bps : lan.uplink_bps);
        g_assert_cmpint(p.one_way_delay_ns, ==,
                        c->one_way_ns ? c->one_way_ns : lan.one_way_delay_ns);
        g_assert_cmpint(p.jitter_ns, ==, c->jitter_ns ? c->jitter_ns : lan.jitter_ns);
        g_assert_cmpuint(p.queue_bytes, ==, c->queue_bytes ? c->queue_bytes : lan.queue_bytes);
        g_assert_cmpuint(p.socket_buffer_bytes, ==,
                         c->sockbuf_bytes ? c->sockbuf_bytes : lan.socket_buffer_bytes);
        g_assert_cmpfloat_with_epsilon(p.loss, c->loss != 0 ? c->loss : lan.loss, 1e-12);
    }
    /* A bare 0 needs no unit. */
    SvNetProfile p = parse_ok("wan,jitter=0,rtt=0");
    g_assert_cmpint(p.jitter_ns, ==, 0);
    g_assert_cmpint(p.one_way_delay_ns, ==, 0);
}

typedef struct {
    const char *spec;
    const char *message;
} ErrorCase;

static void test_profile_errors(void)
{
    static const ErrorCase cases[] = {
        {"", "--net: empty specification; expected a profile name (lan, wifi, wan, dsl, mobile, "
             "satellite) or key=value pairs such as bw=5M,rtt=80ms"},
        {"bw=fast", "--net: 'bw=fast': expected a rate such as 5M or 800k"},
        {"bw=", "--net: 'bw=': expected a rate such as 5M or 800k"},
        {"bw=5X", "--net: 'bw=5X': expected a rate such as 5M or 800k"},
        {"bw=0", "--net: 'bw=0': must be above 0; expected a rate such as 5M or 800k"},
        {"bw=-5M", "--net: 'bw=-5M': must not be negative; expected a rate such as 5M or 800k"},
        {"bw=99999999999999999999G",
         "--net: 'bw=99999999999999999999G': out of range; expected a rate such as 5M or 800k"},
        {"wan,rtt=80", "--net: 'rtt=80': expected a time such as 80ms or 500us"},
        {"wan,rtt=-1ms", "--net: 'rtt=-1ms': must not be negative; expected a time such as 80ms "
                         "or 500us"},
        {"jitter=1..5ms", "--net: 'jitter=1..5ms': expected a time such as 10ms or 0"},
        {"queue=big", "--net: 'queue=big': expected a size such as 256k or 1M"},
        {"queue=-1", "--net: 'queue=-1': must not be negative; expected a size such as 256k or 1M"},
        {"sockbuf=1T", "--net: 'sockbuf=1T': expected a size such as 128k or 1M"},
        {"loss=2", "--net: 'loss=2': above 1; expected a probability from 0 to 1 such as 0.01 or "
                   "1%"},
        {"loss=-0.1", "--net: 'loss=-0.1': must not be negative; expected a probability from 0 "
                      "to 1 such as 0.01 or 1%"},
        {"trace=", "--net: 'trace=': expected a mahimahi trace file name"},
        {"wan,speed=5M", "--net: 'speed=5M': unknown key 'speed'; expected one of bw, up, rtt, "
                         "delay, jitter, queue, sockbuf, loss, trace"},
        {"fibre", "--net: 'fibre': unknown profile; expected one of lan, wifi, wan, dsl, mobile, "
                  "satellite, or key=value"},
        {"bw=5M,wan", "--net: 'wan': a profile name must come first"},
        {"wan,fast", "--net: 'fast': expected key=value"},
        {"wan,,jitter=1ms", "--net: 'wan,,jitter=1ms': empty field 2; expected name or key=value"},
        {"wan,", "--net: 'wan,': empty field 2; expected name or key=value"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        SvNetProfile p = parse_ok("mobile");
        SvNetProfile before = p;
        g_autoptr(GError) error = NULL;
        g_test_message("'%s'", cases[i].spec);
        g_assert_false(sv_net_profile_parse(cases[i].spec, &p, &error));
        g_assert_error(error, SV_NET_ERROR, SV_NET_ERROR_SPEC);
        g_assert_cmpstr(error->message, ==, cases[i].message);
        g_assert_null(strchr(error->message, '\n'));
        /* a failed parse leaves the profile alone */
        g_assert_cmpmem(&p, sizeof(p), &before, sizeof(before));
    }
}

/* ---------------------------------------------------------------------- */
/* Constant-rate links */

static void test_link_single(void)
{
    /* 1 Gbit/s: a 1500-byte packet is 12 µs on the wire. */
    SvNetProfile p = parse_ok("lan");
    SvLink *link = link_new_ok(&p, SV_LINK_DOWN, 1);
    const int64_t t0 = 3 * MS;
    int token = 0;

    g_assert_true(sv_link_can_send(link, t0));
    g_assert_cmpint(sv_link_next_event_ns(link, t0), ==, INT64_MAX);
    sv_link_send(link, t0, 1500, &token);
    const int64_t expected = t0 + 12 * US + 250 * US;
    g_assert_cmpuint(sv_link_bytes_in_flight(link), ==, 1500);
    g_assert_cmpuint(sv_link_backlog_bytes(link, t0), ==, 1500);
    g_assert_cmpuint(sv_link_backlog_bytes(link, t0 + 6 * US), ==, 750);
    g_assert_cmpuint(sv_link_backlog_bytes(link, t0 + 12 * US), ==, 0);
    g_assert_cmpint(sv_link_next_event_ns(link, t0), ==, expected);
    g_assert_null(sv_link_receive(link, expected - 1, NULL, NULL));
    int64_t arrival = 0, sent = 0;
    g_assert_true(sv_link_receive(link, expected, &arrival, &sent) == &token);
    g_assert_cmpint(arrival, ==, expected);
    g_assert_cmpint(sent, ==, t0 + 12 * US);
    g_assert_cmpuint(sv_link_bytes_in_flight(link), ==, 0);
    g_assert_cmpint(sv_link_next_event_ns(link, expected), ==, INT64_MAX);
    g_assert_cmpuint(sv_link_capacity_bps(link, t0), ==, 1000000000);

    SvLinkStats stats;
    sv_link_get_stats(link, &stats);
    g_assert_cmpuint(stats.messages, ==, 1);
    g_assert_cmpuint(stats.bytes, ==, 1500);
    g_assert_cmpuint(stats.retransmissions, ==, 0);
    g_assert_cmpint(stats.busy_ns, ==, 12 * US);
    sv_link_free(link);

    /* The uplink runs at uplink_bps: wan, 5 Mbit/s, 1000 bytes = 1.6 ms. */
    p = parse_ok("wan,jitter=0");
    link = link_new_ok(&p, SV_LINK_UP, 1);
    sv_link_send(link, 0, 1000, &token);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &token);
    g_assert_cmpint(sent, ==, 1600 * US);
    g_assert_cmpint(arrival, ==, 1600 * US + 20 * MS);
    g_assert_cmpuint(sv_link_capacity_bps(link, 0), ==, 5000000);
    sv_link_free(link);

    /* An odd rate: 3 bit/s × 1 byte = 8/3 s, rounded up to the ns. */
    p = parse_ok("bw=3,delay=0");
    link = link_new_ok(&p, SV_LINK_DOWN, 1);
    sv_link_send(link, 0, 1, &token);
    sv_link_send(link, 0, 2, &token);
    g_assert_nonnull(sv_link_receive(link, INT64_MAX, &arrival, &sent));
    g_assert_cmpint(sent, ==, 2666666667);
    /* the second ends at exactly 8 s: no rounding carried over */
    g_assert_nonnull(sv_link_receive(link, INT64_MAX, &arrival, &sent));
    g_assert_cmpint(sent, ==, 8 * INT64_C(1000000000));
    sv_link_free(link);
}

static void test_link_back_to_back(void)
{
    SvNetProfile p = parse_ok("bw=8M,delay=10ms");
    SvLink *link = link_new_ok(&p, SV_LINK_DOWN, 1);
    int a = 0, b = 0, c = 0;
    /* 8 Mbit/s: 1 byte per µs */
    sv_link_send(link, 0, 1000, &a);
    sv_link_send(link, 0, 3000, &b);
    sv_link_send(link, 500 * US, 10, &c); /* written while the others are on the wire */
    int64_t arrival = 0, sent = 0;
    g_assert_cmpint(sv_link_next_event_ns(link, 0), ==, 1000 * US + 10 * MS);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &a);
    g_assert_cmpint(arrival, ==, 1000 * US + 10 * MS);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &b);
    g_assert_cmpint(sent, ==, 4000 * US);
    g_assert_cmpint(arrival, ==, 4000 * US + 10 * MS);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &c);
    g_assert_cmpint(sent, ==, 4010 * US);
    g_assert_null(sv_link_receive(link, INT64_MAX, NULL, NULL));

    /* After the wire went idle the next message starts when written. */
    sv_link_send(link, 20 * MS, 100, &a);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &a);
    g_assert_cmpint(sent, ==, 20 * MS + 100 * US);
    SvLinkStats stats;
    sv_link_get_stats(link, &stats);
    g_assert_cmpint(stats.busy_ns, ==, 4110 * US);
    g_assert_cmpuint(stats.messages, ==, 4);
    g_assert_cmpuint(stats.bytes, ==, 4110);
    sv_link_free(link);
}

/* sv_link_send_timed() tells at write time the sent_ns that
 * sv_link_receive() reports later, on a constant-rate link, with jitter and
 * loss, and on a mahimahi trace. */
static void check_send_timed(SvLink *link)
{
    int64_t expected[200];
    for (int i = 0; i < 200; i++) {
        int64_t now = (int64_t)(i / 4) * MS + (i % 3) * 100 * US;
        uint64_t bytes = (uint64_t)(i % 7 == 0 ? 0 : (i % 5) * 1400 + 17);
        expected[i] = sv_link_send_timed(link, now, bytes, GINT_TO_POINTER(i + 1));
        g_assert_cmpint(expected[i], >=, now);
        if (i > 0) {
            g_assert_cmpint(expected[i], >=, expected[i - 1]);
        }
    }
    for (int i = 0; i < 200; i++) {
        int64_t arrival = 0, sent = 0;
        gpointer got = sv_link_receive(link, INT64_MAX, &arrival, &sent);
        g_assert_cmpint(GPOINTER_TO_INT(got), ==, i + 1);
        g_assert_cmpint(sent, ==, expected[i]);
        g_assert_cmpint(arrival, >=, sent);
    }
    sv_link_free(link);
}

static SvLink *trace_link(const char *file, const char *extra);

static void test_link_send_timed(void)
{
    SvNetProfile p = parse_ok("bw=8M,delay=10ms");
    SvLink *link = link_new_ok(&p, SV_LINK_DOWN, 1);
    int a = 0;
    /* 8 Mbit/s: 1 byte per µs; the second write waits for the first. */
    g_assert_cmpint(sv_link_send_timed(link, 0, 1000, &a), ==, 1000 * US);
    g_assert_cmpint(sv_link_send_timed(link, 500 * US, 3000, &a), ==, 4000 * US);
    g_assert_cmpint(sv_link_send_timed(link, 20 * MS, 0, &a), ==, 20 * MS);
    sv_link_free(link);

    p = parse_ok("mobile,loss=0.2");
    check_send_timed(link_new_ok(&p, SV_LINK_DOWN, 7));
    p = parse_ok("wan");
    check_send_timed(link_new_ok(&p, SV_LINK_UP, 3));
    check_send_timed(trace_link("mahimahi-6mbps.trace", ""));
}

/* 1000 messages, one every ms, on mobile (20 ms jitter). */
static void run_jitter(uint64_t seed, int64_t *arrivals, int64_t *extras)
{
    SvNetProfile p = parse_ok("mobile,loss=0");
    SvLink *link = link_new_ok(&p, SV_LINK_DOWN, seed);
    for (int i = 0; i < 1000; i++) {
        sv_link_send(link, i * MS, 200, GINT_TO_POINTER(i + 1));
    }
    for (int i = 0; i < 1000; i++) {
        int64_t sent = 0;
        gpointer got = sv_link_receive(link, INT64_MAX, &arrivals[i], &sent);
        g_assert_cmpint(GPOINTER_TO_INT(got), ==, i + 1);
        extras[i] = arrivals[i] - sent - p.one_way_delay_ns;
    }
    sv_link_free(link);
}

static void test_link_jitter(void)
{
    int64_t arrivals[1000], extras[1000], again[1000], other[1000], scratch[1000];
    run_jitter(42, arrivals, extras);
    int64_t max_extra = 0;
    int jittered = 0;
    for (int i = 0; i < 1000; i++) {
        if (i > 0) {
            g_assert_cmpint(arrivals[i], >=, arrivals[i - 1]);
        }
        g_assert_cmpint(extras[i], >=, 0);
        max_extra = MAX(max_extra, extras[i]);
        jittered += extras[i] > 0;
    }
    g_assert_cmpint(max_extra, <=, 20 * MS);
    g_assert_cmpint(max_extra, >, 10 * MS);
    g_assert_cmpint(jittered, >, 900);

    run_jitter(42, again, scratch);
    g_assert_cmpmem(arrivals, sizeof(arrivals), again, sizeof(again));
    run_jitter(43, other, scratch);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        differ += arrivals[i] != other[i];
    }
    g_assert_cmpint(differ, >, 500);

    /* The two directions of a client draw differently from one seed. */
    SvNetProfile p = parse_ok("mobile,up=4M");
    SvLink *down = link_new_ok(&p, SV_LINK_DOWN, 7);
    SvLink *up = link_new_ok(&p, SV_LINK_UP, 7);
    differ = 0;
    for (int i = 0; i < 100; i++) {
        int64_t a = 0, b = 0;
        sv_link_send(down, i * 100 * MS, 100, down);
        sv_link_send(up, i * 100 * MS, 100, up);
        sv_link_receive(down, INT64_MAX, &a, NULL);
        sv_link_receive(up, INT64_MAX, &b, NULL);
        differ += a != b;
    }
    g_assert_cmpint(differ, >, 50);
    sv_link_free(down);
    sv_link_free(up);
}

static void test_link_backpressure(void)
{
    /* 8 Mbit/s = 1 byte per µs; limit 10 000 bytes. */
    SvNetProfile p = parse_ok("bw=8M,delay=10ms,sockbuf=8000,queue=2000");
    SvLink *link = link_new_ok(&p, SV_LINK_DOWN, 1);
    int token = 0;
    for (int i = 0; i < 3; i++) {
        g_assert_true(sv_link_can_send(link, 0));
        sv_link_send(link, 0, 4000, &token);
    }
    g_assert_cmpuint(sv_link_backlog_bytes(link, 0), ==, 12000);
    g_assert_false(sv_link_can_send(link, 0));
    /* below the limit once 2001 bytes have left */
    g_assert_cmpint(sv_link_next_event_ns(link, 0), ==, 2001 * US);
    g_assert_false(sv_link_can_send(link, 2001 * US - 1));
    g_assert_cmpuint(sv_link_backlog_bytes(link, 2001 * US - 1), ==, 10000);
    g_assert_true(sv_link_can_send(link, 2001 * US));
    g_assert_cmpuint(sv_link_backlog_bytes(link, 2001 * US), ==, 9999);
    /* then the first arrival */
    g_assert_cmpint(sv_link_next_event_ns(link, 2001 * US), ==, 4000 * US + 10 * MS);
    /* a write is accepted whole even past the limit */
    sv_link_send(link, 2001 * US, 50000, &token);
    g_assert_cmpuint(sv_link_backlog_bytes(link, 2001 * US), ==, 59999);
    g_assert_cmpint(sv_link_next_event_ns(link, 2001 * US), ==, 14 * MS);
    for (int i = 0; i < 3; i++) {
        g_assert_nonnull(sv_link_receive(link, 22 * MS, NULL, NULL));
    }
    g_assert_cmpint(sv_link_next_event_ns(link, 22 * MS), ==, (2001 + 50000) * US);
    g_assert_false(sv_link_can_send(link, (2001 + 50000) * US - 1));
    g_assert_true(sv_link_can_send(link, (2001 + 50000) * US));
    sv_link_free(link);
}

/* Writes @msg_bytes messages whenever the link lets the sender, for
 * @duration_ns; @return the bytes that arrived by then. */
static uint64_t saturate(SvLink *link, uint64_t msg_bytes, int64_t duration_ns)
{
    int64_t now = 0, last_arrival = 0;
    uint64_t arrived = 0;
    guint iterations = 0;
    while (now <= duration_ns) {
        while (sv_link_can_send(link, now)) {
            sv_link_send(link, now, msg_bytes, link);
        }
        int64_t arrival = 0;
        while (sv_link_receive(link, now, &arrival, NULL) != NULL) {
            g_assert_cmpint(arrival, >=, last_arrival);
            g_assert_cmpint(arrival, <=, now);
            last_arrival = arrival;
            arrived += msg_bytes;
        }
        int64_t next = sv_link_next_event_ns(link, now);
        g_assert_cmpint(next, >, now);
        g_assert_cmpint(next, <, INT64_MAX);
        now = next;
        iterations++;
    }
    g_assert_cmpuint(iterations, >, 100);
    return arrived;
}

static void test_link_throughput(void)
{
    SvNetProfile p = parse_ok("wan");
    SvLink *link = link_new_ok(&p, SV_LINK_DOWN, 5);
    const int64_t duration = 10 * 1000 * MS;
    uint64_t arrived = saturate(link, 1400, duration);
    double bps = (double)arrived * 8 / ((double)duration / 1e9);
    g_test_message("wan: %.0f bit/s over 10 s", bps);
    g_assert_cmpfloat(bps, >=, 0.99 * 20e6);
    g_assert_cmpfloat(bps, <=, 1.01 * 20e6);
    /* never more backlog than the limit plus one message */
    g_assert_cmpuint(sv_link_backlog_bytes(link, duration), <=,
                     p.socket_buffer_bytes + p.queue_bytes + 1400);
    SvLinkStats stats;
    sv_link_get_stats(link, &stats);
    g_assert_cmpint(stats.busy_ns, >=, duration);
    sv_link_free(link);

    /* Messages larger than the limit still get through, one at a time. */
    p = parse_ok("dsl,sockbuf=1k,queue=0");
    link = link_new_ok(&p, SV_LINK_DOWN, 5);
    arrived = saturate(link, 100000, duration);
    bps = (double)arrived * 8 / ((double)duration / 1e9);
    g_test_message("dsl, 1 KiB buffer: %.0f bit/s over 10 s", bps);
    g_assert_cmpfloat(bps, >=, 0.99 * 12e6);
    g_assert_cmpfloat(bps, <=, 1.01 * 12e6);
    sv_link_free(link);
}

static void test_link_loss(void)
{
    /* Spaced messages: a lost one arrives exactly one rtt later. */
    SvNetProfile p = parse_ok("bw=8M,rtt=20ms,jitter=0,loss=0.3");
    SvLink *link = link_new_ok(&p, SV_LINK_DOWN, 9);
    int lost = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t now = i * 100 * MS, arrival = 0, sent = 0;
        sv_link_send(link, now, 1000, GINT_TO_POINTER(i + 1));
        g_assert_cmpint(GPOINTER_TO_INT(sv_link_receive(link, INT64_MAX, &arrival, &sent)), ==,
                        i + 1);
        g_assert_cmpint(sent, ==, now + 1000 * US);
        if (arrival == sent + 10 * MS + 20 * MS) {
            lost++;
        } else {
            g_assert_cmpint(arrival, ==, sent + 10 * MS);
        }
    }
    SvLinkStats stats;
    sv_link_get_stats(link, &stats);
    g_assert_cmpuint(stats.retransmissions, ==, (guint)lost);
    g_assert_cmpint(lost, >, 200);
    g_assert_cmpint(lost, <, 400);
    sv_link_free(link);

    /* Back to back: later messages wait behind a lost one; order holds. */
    link = link_new_ok(&p, SV_LINK_DOWN, 9);
    for (int i = 0; i < 1000; i++) {
        sv_link_send(link, i * 100 * US, 100, GINT_TO_POINTER(i + 1));
    }
    int64_t last = 0;
    int held = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t arrival = 0, sent = 0;
        g_assert_cmpint(GPOINTER_TO_INT(sv_link_receive(link, INT64_MAX, &arrival, &sent)), ==,
                        i + 1);
        g_assert_cmpint(arrival, >=, last);
        g_assert_cmpint(arrival, <=, sent + 30 * MS);
        held += arrival > sent + 10 * MS;
        last = arrival;
    }
    g_assert_cmpint(held, >, 300);
    sv_link_free(link);
}

/* ---------------------------------------------------------------------- */
/* Mahimahi traces */

static SvLink *trace_link(const char *file, const char *extra)
{
    g_autofree char *path = data_path(file);
    g_autofree char *spec = g_strdup_printf("delay=5ms%s,trace=%s", extra, path);
    SvNetProfile p = parse_ok(spec);
    return link_new_ok(&p, SV_LINK_DOWN, 3);
}

static void test_mahimahi_rate(void)
{
    /* 50 opportunities per 100 ms: 50 × 1500 × 8 × 10 = 6 Mbit/s */
    SvLink *link = trace_link("mahimahi-6mbps.trace", "");
    /* from 50 ms on: the window [0, 100 ms) holds 49 (none at 0) */
    g_assert_cmpuint(sv_link_capacity_bps(link, 0), ==, 49 * 120000);
    for (int64_t t = 50 * MS + 1; t < 1000 * MS; t += 7 * MS + 123) {
        g_assert_cmpuint(sv_link_capacity_bps(link, t), ==, 6000000);
    }
    const int64_t duration = 5 * 1000 * MS;
    uint64_t arrived = saturate(link, 1500, duration);
    double bps = (double)arrived * 8 / ((double)duration / 1e9);
    g_test_message("6mbps trace: %.0f bit/s over 5 s", bps);
    g_assert_cmpfloat(bps, >=, 0.99 * 6e6);
    g_assert_cmpfloat(bps, <=, 1.01 * 6e6);
    sv_link_free(link);

    /* The uplink ignores the trace. */
    g_autofree char *path = data_path("mahimahi-6mbps.trace");
    g_autofree char *spec = g_strdup_printf("up=2M,trace=%s", path);
    SvNetProfile p = parse_ok(spec);
    link = link_new_ok(&p, SV_LINK_UP, 3);
    g_assert_cmpuint(sv_link_capacity_bps(link, 0), ==, 2000000);
    sv_link_free(link);
}

static void test_mahimahi_packets(void)
{
    SvLink *link = trace_link("mahimahi-6mbps.trace", "");
    int64_t arrival = 0, sent = 0;
    int a = 0, b = 0;

    /* Two small writes before an opportunity share its packet. */
    sv_link_send(link, 0, 100, &a);
    sv_link_send(link, 1 * MS, 100, &b);
    g_assert_cmpuint(sv_link_backlog_bytes(link, 2 * MS - 1), ==, 200);
    g_assert_cmpuint(sv_link_backlog_bytes(link, 2 * MS), ==, 0);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &a);
    g_assert_cmpint(sent, ==, 2 * MS);
    g_assert_cmpint(arrival, ==, 7 * MS);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &b);
    g_assert_cmpint(sent, ==, 2 * MS);

    /* The rest of that packet went unused: a write after it waits for the
     * next opportunity; one at the opportunity's time still makes it. */
    sv_link_send(link, 2 * MS + 1, 100, &a);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &a);
    g_assert_cmpint(sent, ==, 4 * MS);
    sv_link_send(link, 6 * MS, 100, &a);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &a);
    g_assert_cmpint(sent, ==, 6 * MS);

    /* 3001 bytes take three packets: 8, 10, 12 ms. */
    sv_link_send(link, 7 * MS, 3001, &a);
    g_assert_cmpuint(sv_link_backlog_bytes(link, 8 * MS), ==, 1501);
    g_assert_cmpuint(sv_link_backlog_bytes(link, 10 * MS), ==, 1);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &a);
    g_assert_cmpint(sent, ==, 12 * MS);

    /* Wrap-around: the trace's last line is 100 ms; the next opportunity
     * is 100 + 2 ms. */
    sv_link_send(link, 99 * MS, 1500, &a);
    sv_link_send(link, 99 * MS, 3000, &b);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &a);
    g_assert_cmpint(sent, ==, 100 * MS);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &b);
    g_assert_cmpint(sent, ==, 104 * MS);
    /* and ten cycles later */
    sv_link_send(link, 1099 * MS, 1500, &a);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &a);
    g_assert_cmpint(sent, ==, 1100 * MS);
    sv_link_free(link);

    /* Backpressure on a trace: unblocked at an opportunity. */
    link = trace_link("mahimahi-6mbps.trace", ",sockbuf=3000,queue=0");
    sv_link_send(link, 0, 6000, &a);
    g_assert_false(sv_link_can_send(link, 0));
    /* 3001 bytes must leave: three packets, at 2, 4, 6 ms */
    g_assert_cmpint(sv_link_next_event_ns(link, 0), ==, 6 * MS);
    g_assert_false(sv_link_can_send(link, 6 * MS - 1));
    g_assert_true(sv_link_can_send(link, 6 * MS));
    sv_link_free(link);
}

static void test_mahimahi_wrap(void)
{
    /* 100 opportunities in the first 100 ms of each second, one at 1000 ms. */
    SvLink *link = trace_link("mahimahi-burst.trace", "");
    /* [0, 100 ms): 1..99 */
    g_assert_cmpuint(sv_link_capacity_bps(link, 50 * MS), ==, 99 * 120000);
    g_assert_cmpuint(sv_link_capacity_bps(link, 0), ==, 99 * 120000);
    g_assert_cmpuint(sv_link_capacity_bps(link, 500 * MS), ==, 0);
    /* [1000, 1100): 1000 (the last line) and 1001..1099 (the first 99) */
    g_assert_cmpuint(sv_link_capacity_bps(link, 1050 * MS), ==, 100 * 120000);
    g_assert_cmpuint(sv_link_capacity_bps(link, 3050 * MS), ==, 100 * 120000);
    g_assert_cmpuint(sv_link_capacity_bps(link, 3500 * MS), ==, 0);

    int a = 0;
    int64_t arrival = 0, sent = 0;
    sv_link_send(link, 200 * MS, 1500, &a);
    g_assert_cmpint(sv_link_next_event_ns(link, 200 * MS), ==, 1005 * MS);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &a);
    g_assert_cmpint(sent, ==, 1000 * MS);
    /* 150 more packets, written at 1000 ms (that opportunity is full):
     * 1001..1100 (100), 2000 (1), 2001..2049 (49) */
    sv_link_send(link, 1000 * MS, 150 * 1500, &a);
    g_assert_true(sv_link_receive(link, INT64_MAX, &arrival, &sent) == &a);
    g_assert_cmpint(sent, ==, 2049 * MS);
    sv_link_free(link);
}

static void test_mahimahi_errors(void)
{
    static const struct {
        const char *file;
        const char *message;
    } cases[] = {
        {"mahimahi-malformed.trace", "line 3: expected a millisecond timestamp, got '6ms'"},
        {"mahimahi-decreasing.trace",
         "line 4: expected a millisecond timestamp not before the previous one (4), got 3"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *path = data_path(cases[i].file);
        g_autofree char *spec = g_strdup_printf("wan,trace=%s", path);
        g_autofree char *expected = g_strdup_printf("%s: %s", path, cases[i].message);
        SvNetProfile p = parse_ok(spec);
        g_autoptr(GError) error = NULL;
        g_assert_null(sv_link_new(&p, SV_LINK_DOWN, 1, &error));
        g_assert_error(error, SV_NET_ERROR, SV_NET_ERROR_TRACE);
        g_assert_cmpstr(error->message, ==, expected);
        /* the uplink does not read the trace */
        SvLink *up = link_new_ok(&p, SV_LINK_UP, 1);
        sv_link_free(up);
    }

    /* Empty, and one that lasts 0 ms. */
    g_autofree char *tmpdir = g_dir_make_tmp("test-netsim-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);
    static const struct {
        const char *text;
        const char *message;
    } inline_cases[] = {
        {"", "expected millisecond timestamps, found none"},
        {"\n\n", "expected millisecond timestamps, found none"},
        {"0\n0\n\n", "line 2: expected a last timestamp above 0 ms (the trace repeats after it)"},
        {"-5\n", "line 1: expected a millisecond timestamp, got '-5'"},
        {"1 2\n", "line 1: expected a millisecond timestamp, got '1 2'"},
        {"99999999999999999999\n",
         "line 1: expected a millisecond timestamp, got '99999999999999999999'"},
    };
    g_autofree char *path = g_build_filename(tmpdir, "t.trace", NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(inline_cases); i++) {
        g_assert_true(g_file_set_contents(path, inline_cases[i].text, -1, NULL));
        g_autofree char *spec = g_strdup_printf("trace=%s", path);
        g_autofree char *expected = g_strdup_printf("%s: %s", path, inline_cases[i].message);
        SvNetProfile p = parse_ok(spec);
        g_autoptr(GError) error = NULL;
        g_assert_null(sv_link_new(&p, SV_LINK_DOWN, 1, &error));
        g_assert_error(error, SV_NET_ERROR, SV_NET_ERROR_TRACE);
        g_assert_cmpstr(error->message, ==, expected);
    }
    /* CRLF and blank lines are fine. */
    g_assert_true(g_file_set_contents(path, "1\r\n\r\n2\r\n", -1, NULL));
    {
        g_autofree char *spec = g_strdup_printf("trace=%s", path);
        SvNetProfile p = parse_ok(spec);
        SvLink *link = link_new_ok(&p, SV_LINK_DOWN, 1);
        g_assert_cmpuint(sv_link_capacity_bps(link, 500 * MS), ==, 100 * 120000);
        sv_link_free(link);
    }
    g_assert_cmpint(g_remove(path), ==, 0);

    /* A missing file says which. */
    g_autofree char *spec = g_strdup_printf("trace=%s", path);
    SvNetProfile p = parse_ok(spec);
    g_autoptr(GError) error = NULL;
    g_assert_null(sv_link_new(&p, SV_LINK_DOWN, 1, &error));
    g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_assert_true(g_str_has_prefix(error->message, "mahimahi trace: "));
    g_assert_nonnull(strstr(error->message, path));
    g_assert_null(strchr(error->message, '\n'));
    g_assert_cmpint(g_rmdir(tmpdir), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/netsim/profile/named", test_profile_named);
    g_test_add_func("/netsim/profile/override", test_profile_override);
    g_test_add_func("/netsim/profile/spec", test_profile_spec);
    g_test_add_func("/netsim/profile/units", test_profile_units);
    g_test_add_func("/netsim/profile/errors", test_profile_errors);
    g_test_add_func("/netsim/link/single", test_link_single);
    g_test_add_func("/netsim/link/back-to-back", test_link_back_to_back);
    g_test_add_func("/netsim/link/send-timed", test_link_send_timed);
    g_test_add_func("/netsim/link/jitter", test_link_jitter);
    g_test_add_func("/netsim/link/backpressure", test_link_backpressure);
    g_test_add_func("/netsim/link/throughput", test_link_throughput);
    g_test_add_func("/netsim/link/loss", test_link_loss);
    g_test_add_func("/netsim/mahimahi/rate", test_mahimahi_rate);
    g_test_add_func("/netsim/mahimahi/packets", test_mahimahi_packets);
    g_test_add_func("/netsim/mahimahi/wrap", test_mahimahi_wrap);
    g_test_add_func("/netsim/mahimahi/errors", test_mahimahi_errors);
    return g_test_run();
}
