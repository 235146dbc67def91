/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Stream detection rules (reference 5.3-5.13), table-driven where a rule
 * has edges: each case builds a chain of drawables with a pattern of
 * gradual ('G') and text-like ('L') bitmaps and checks where, if anywhere,
 * a stream starts, and what the detector says about the drawables.
 */
#include "config.h"

#include <string.h>

#include <spice/qxl_dev.h>
#include <spice-video/streamdetect.h>

#define MS INT64_C(1000000)
#define W 128
#define H 96
#define MAX_DRAWABLES 4096

/* ---- bitmaps ------------------------------------------------------------ */

typedef struct {
    SpiceBitmap bitmap;
    SpiceChunks *chunks;
    uint8_t *pixels;
} Bitmap;

static Bitmap gradual_bm, low_bm, gradual_bottom_up_bm;

static void bitmap_init(Bitmap *b, gboolean smooth, gboolean top_down)
{
    b->pixels = g_malloc((size_t)W * H * 4);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            uint8_t v = smooth ? (uint8_t)(x + y) : (x % 2 ? 255 : 0);
            uint8_t *p = b->pixels + ((size_t)y * W + x) * 4;
            p[0] = p[1] = p[2] = v;
            p[3] = 0;
        }
    }
    b->chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    b->chunks->num_chunks = 1;
    b->chunks->data_size = W * H * 4;
    b->chunks->chunk[0] = (SpiceChunk){b->pixels, W * H * 4};
    b->bitmap = (SpiceBitmap){.format = SPICE_BITMAP_FMT_32BIT,
                              .flags = top_down ? SPICE_BITMAP_FLAGS_TOP_DOWN : 0,
                              .x = W,
                              .y = H,
                              .stride = W * 4,
                              .data = b->chunks};
}

static void bitmap_clear(Bitmap *b)
{
    g_free(b->pixels);
    g_free(b->chunks);
}

/* ---- scenario ----------------------------------------------------------- */

typedef struct {
    SvStreamDetector *det;
    SvStreamDetectorDrawable *d; /* MAX_DRAWABLES, stable addresses */
    guint n;
    guint created, attached, detached, stopped;
    int created_at;       /* drawable index of the first CREATED, -1 */
    uint32_t created_fps; /* its initial input fps */
    SvStreamDecision last[8];
    guint n_last;
} Scenario;

static Scenario *scenario_new(const SvStreamDetectorConfig *config)
{
    Scenario *sc = g_new0(Scenario, 1);
    g_autoptr(GError) error = NULL;
    sc->det = sv_stream_detector_new(config, &error);
    g_assert_no_error(error);
    g_assert_nonnull(sc->det);
    sc->d = g_new0(SvStreamDetectorDrawable, MAX_DRAWABLES);
    sc->created_at = -1;
    return sc;
}

static void scenario_free(Scenario *sc)
{
    sv_stream_detector_free(sc->det);
    g_free(sc->d);
    g_free(sc);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Scenario, scenario_free)

static SpiceRect rect(int x, int y, int w, int h)
{
    return (SpiceRect){.left = x, .top = y, .right = x + w, .bottom = y + h};
}

/* A streamable-looking copy of @bm, source W x H, at @dest. */
static SvStreamDetectorDrawable *new_frame(Scenario *sc, int64_t time_ns, SpiceRect dest,
                                           const Bitmap *bm)
{
    g_assert_cmpuint(sc->n, <, MAX_DRAWABLES);
    SvStreamDetectorDrawable *d = &sc->d[sc->n++];
    *d = (SvStreamDetectorDrawable){
        .creation_time_ns = time_ns,
        .bbox = dest,
        .surface_id = 0,
        .type = QXL_DRAW_COPY,
        .effect = QXL_EFFECT_OPAQUE,
        .rop_descriptor = SPICE_ROPD_OP_PUT,
        .source_type = SV_SOURCE_BITMAP,
        .src_area = rect(0, 0, W, H),
        .bitmap = bm ? &bm->bitmap : NULL,
    };
    return d;
}

static void record(Scenario *sc, SvStreamDetectorDrawable *c, const SvStreamDecision *dec, guint n)
{
    sc->n_last = MIN(n, G_N_ELEMENTS(sc->last));
    memcpy(sc->last, dec, sc->n_last * sizeof(*dec));
    for (guint i = 0; i < n; i++) {
        g_autofree char *text = sv_stream_decision_to_string(&dec[i]);
        g_test_message("%s", text);
        switch (dec[i].kind) {
        case SV_STREAM_DECISION_CREATED:
            if (sc->created_at < 0 && c) {
                sc->created_at = (int)(c - sc->d);
                sc->created_fps = dec[i].input_fps;
            }
            sc->created++;
            break;
        case SV_STREAM_DECISION_ATTACHED:
            sc->attached++;
            break;
        case SV_STREAM_DECISION_DETACHED:
            sc->detached++;
            break;
        case SV_STREAM_DECISION_STOPPED:
            sc->stopped++;
            break;
        }
    }
}

static guint add(Scenario *sc, SvStreamDetectorDrawable *c, SvStreamDetectorDrawable *pred,
                 SvPredecessorKind kind)
{
    SvStreamPredecessor p = {pred, kind};
    const SvStreamDecision *dec = NULL;
    guint n = sv_stream_detector_add(sc->det, c, &p, pred ? 1 : 0, &dec);
    record(sc, c, dec, n);
    return n;
}

static void tick(Scenario *sc, int64_t now_ns)
{
    const SvStreamDecision *dec = NULL;
    guint n = sv_stream_detector_tick(sc->det, now_ns, &dec);
    record(sc, NULL, dec, n);
}

/*
 * A chain at @dest: one drawable per character of @pattern ('G' gradual,
 * 'L' text-like), the first at @start_ns, then @gaps_ms[i] (or the last
 * value given) apart; each new drawable REPLACES the previous one.
 * @return the last drawable.
 */
static SvStreamDetectorDrawable *chain(Scenario *sc, const char *pattern, int64_t start_ns,
                                       int64_t gap_ns, SpiceRect dest,
                                       SvStreamDetectorDrawable *prev, SvPredecessorKind kind)
{
    int64_t t = start_ns;
    for (const char *c = pattern; *c; c++) {
        SvStreamDetectorDrawable *d = new_frame(sc, t, dest, *c == 'G' ? &gradual_bm : &low_bm);
        add(sc, d, prev, kind);
        prev = d;
        t += gap_ns;
    }
    return prev;
}

static char *repeat(char c, guint n)
{
    char *s = g_malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void assert_explain(Scenario *sc, const SvStreamDetectorDrawable *d, const char *needle)
{
    g_autofree char *text = sv_stream_detector_explain(sc->det, d);
    g_test_message("explain: %s", text);
    if (strstr(text, needle) == NULL) {
        g_error("explanation \"%s\" lacks \"%s\"", text, needle);
    }
}

/* ---- 20 vs 21 drawables, 200 vs 201 ms, 3 vs 4 gradual ----------------- */

typedef struct {
    const char *name;
    const char *pattern; /* one char per drawable */
    int64_t gap_ns;      /* between drawables */
    int break_at;        /* index whose gap is break_gap_ns instead, -1 */
    int64_t break_gap_ns;
    int created_at;      /* expected index of the first CREATED, -1 */
    const char *explain; /* expected in the last drawable's explanation */
} ChainCase;

#define G20 "GGGGGGGGGGGGGGGGGGGG"
#define L16 "LLLLLLLLLLLLLLLL"

static const ChainCase chain_cases[] = {
    /* The first drawable has count 0: 21 drawables are 20 counted frames. */
    {"20-drawables",
     "G"
     "GGGGGGGGGGGGGGGGGGG",
     40 * MS, -1, 0, -1, "19 counted frames, 20 needed"},
    {"21-drawables", "G" G20, 40 * MS, -1, 0, 20, "started stream"},
    /* Gaps: "not exceeding 200 ms" passes, 201 ms breaks the chain. */
    {"gap-200ms", "G" G20, 200 * MS, -1, 0, 20, "started stream"},
    {"gap-201ms-at-10", "G" G20, 40 * MS, 10, 201 * MS, -1, "10 counted frames"},
    {"gap-201ms-everywhere", "GG", 201 * MS, -1, 0, -1, "gap of 201 ms (limit 200 ms)"},
    /* No frame-rate rule: 5 fps (200 ms) works as well as 60 fps. */
    {"60fps", "G" G20, 16 * MS, -1, 0, 20, "started stream"},
    /* 20 counted frames need 4 gradual ones; the first drawable is not
     * graded, so its letter does not matter. */
    {"4-of-20-gradual",
     "L"
     "GGGG" L16,
     40 * MS, -1, 0, 20, "started stream"},
    {"3-of-20-gradual",
     "G"
     "GGG"
     "L" L16,
     40 * MS, -1, 0, -1, "graduality LOW in 17 of 20 frames (at least 4 gradual needed)"},
    /* Re-checked on every frame: 4 of 24 fails (4.8), 5 of 25 passes. */
    {"5-of-25-later",
     "G"
     "GGG" L16 "LLLL"
     "GG",
     40 * MS, -1, 0, 25, "started stream"},
    {"4-of-25-later",
     "G"
     "GGG" L16 "LLLLL"
     "G",
     40 * MS, -1, 0, -1, "21 of 25 frames"},
};

static void test_chain_case(gconstpointer data)
{
    const ChainCase *cc = data;
    g_autoptr(Scenario) sc = scenario_new(NULL);
    SvStreamDetectorDrawable *prev = NULL;
    int64_t t = 0;
    for (int i = 0; cc->pattern[i]; i++) {
        if (i > 0) {
            t += i == cc->break_at ? cc->break_gap_ns : cc->gap_ns;
        }
        SvStreamDetectorDrawable *d =
            new_frame(sc, t, rect(100, 50, W, H), cc->pattern[i] == 'G' ? &gradual_bm : &low_bm);
        add(sc, d, prev, SV_PREDECESSOR_REPLACED);
        prev = d;
    }
    g_assert_cmpint(sc->created_at, ==, cc->created_at);
    assert_explain(sc, prev, cc->explain);
}

/* ---- the 100-frame reset ------------------------------------------------ */

static void run_reset(gboolean fix, guint lows, int expect_created_at, uint32_t expect_fps)
{
    SvStreamDetectorConfig config;
    sv_stream_detector_config_init(&config);
    config.fix_reset_first_frame_time = fix;
    g_autoptr(Scenario) sc = scenario_new(&config);
    /* drawable 0 (uncounted), counted 1 gradual, @lows LOW, then gradual. */
    g_autofree char *low = repeat('L', lows);
    g_autofree char *pattern = g_strconcat("GG", low, G20 "GGGGGGGGGG", NULL);
    SvStreamDetectorDrawable *last =
        chain(sc, pattern, 0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
    (void)last;
    g_assert_cmpint(sc->created_at, ==, expect_created_at);
    const SvStreamDetectorDrawable *first_after = &sc->d[2 + lows];
    if (lows >= 100) {
        /* 2 + lows - 1 > 100 since the last gradual: restart at 1. */
        g_assert_cmpuint(first_after->state.frames_count, ==, 1);
        g_assert_cmpuint(first_after->state.gradual_frames_count, ==, 1);
        g_assert_cmpint(first_after->state.first_frame_time_ns, ==,
                        fix ? first_after->creation_time_ns : 0);
    } else {
        g_assert_cmpuint(first_after->state.frames_count, ==, 2 + lows);
        g_assert_cmpuint(first_after->state.gradual_frames_count, ==, 2);
    }
    g_assert_cmpuint(sc->created_fps, ==, expect_fps);
}

static void test_reset_100(void)
{
    /* counted frames 2..101 LOW (100 of them), counted 102 gradual:
     * 102 - 1 > 100, reset to 1; 19 more gradual frames reach 20 at
     * drawable 2 + 100 + 19 = 121. first_frame_time is still drawable 0's:
     * 20 frames over 121 x 40 ms = 4.84 s give round(4.13) = 4 fps. */
    run_reset(FALSE, 100, 121, 4);
    /* With the fix the chain restarts its clock: 20 frames over 19 x 40 ms
     * = 0.76 s > 20/30 s: round(26.3) = 26 fps. */
    run_reset(TRUE, 100, 121, 26);
    /* 99 LOW: counted 101 - 1 = 100 is not > 100: no reset; counted frame
     * 101 + k has 2 + k gradual, enough once 2 + k >= 0.2 (101 + k): k = 23,
     * drawable 124; 124 frames over 124 x 40 ms: 25 fps. */
    run_reset(FALSE, 99, 124, 25);
}

/* ---- initial and ongoing input fps ---------------------------------------- */

static void test_initial_fps(void)
{
    struct {
        int64_t gap_ns;
        uint32_t max_fps;
        uint32_t fps;
    } cases[] = {
        {40 * MS, 30, 25}, /* 20 frames over 800 ms */
        {10 * MS, 30, 30}, /* 200 ms is not > 20/30 s: MAX_FPS */
        {10 * MS, 60, 60}, /* 200 ms is not > 20/60 s either */
        {20 * MS, 60, 50}, /* 400 ms > 333 ms: 50 */
        {200 * MS, 30, 5}, /* 4 s */
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        SvStreamDetectorConfig config;
        sv_stream_detector_config_init(&config);
        config.max_fps = cases[i].max_fps;
        g_autoptr(Scenario) sc = scenario_new(&config);
        chain(sc, "G" G20, 0, cases[i].gap_ns, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
        g_assert_cmpint(sc->created_at, ==, 20);
        g_assert_cmpint(sc->last[0].kind, ==, SV_STREAM_DECISION_CREATED);
        g_assert_cmpuint(sc->last[0].input_fps, ==, cases[i].fps);
        g_assert_cmpuint(sc->last[0].streams_area, ==, W * H);
        g_assert_cmpuint(sc->last[0].width, ==, W);
        g_assert_cmpuint(sc->last[0].height, ==, H);
        g_assert_true(sc->last[0].top_down);
    }
}

static void test_ongoing_fps(void)
{
    for (int fix = 0; fix <= 1; fix++) {
        SvStreamDetectorConfig config;
        sv_stream_detector_config_init(&config);
        config.fix_input_fps_window = fix;
        g_autoptr(Scenario) sc = scenario_new(&config);
        SvStreamDetectorDrawable *last =
            chain(sc, "G" G20, 0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
        int64_t t0 = last->creation_time_ns;
        /* Frames every 400 ms; the 13th (5.2 s) closes the window with 12
         * counted frames: round(12 / 5.2) = 2; counting it: round(2.5) = 3. */
        for (int k = 1; k <= 13; k++) {
            SvStreamDetectorDrawable *d =
                new_frame(sc, t0 + k * 400 * MS, rect(0, 0, W, H), &gradual_bm);
            add(sc, d, last, SV_PREDECESSOR_REPLACED);
            g_assert_cmpint(sc->last[0].kind, ==, SV_STREAM_DECISION_ATTACHED);
            last = d;
        }
        g_assert_cmpuint(sc->last[0].input_fps, ==, fix ? 3 : 2);
    }
}

/* ---- container match, top-down ----------------------------------------- */

static void test_container(void)
{
    struct {
        SpiceRect bbox;
        gboolean joins;
    } cases[] = {
        {{0, 0, 2 * W, H}, TRUE},       /* contains, exactly twice the area */
        {{0, 0, 2 * W + 1, H}, FALSE},  /* more than twice */
        {{0, 0, W + 10, H + 10}, TRUE}, /* contains, a bit larger */
        {{1, 0, W + 10, H}, FALSE},     /* does not contain */
        {{0, 0, W, H}, TRUE},           /* equal */
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        for (int via_trace = 0; via_trace <= 1; via_trace++) {
            g_autoptr(Scenario) sc = scenario_new(NULL);
            SvStreamDetectorDrawable *last =
                chain(sc, "G" G20, 0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
            g_assert_cmpint(sc->created_at, ==, 20);
            SvStreamDetectorDrawable *d =
                new_frame(sc, last->creation_time_ns + 900 * MS, cases[i].bbox, &gradual_bm);
            /* As an overlapped predecessor (maintenance) or, with the
             * predecessor gone, through the stream check of the trace
             * update; both use the stream's geometry and the 1 s limit. */
            guint n = add(sc, d, via_trace ? NULL : last, SV_PREDECESSOR_OVERLAPPED);
            g_assert_cmpuint(sc->attached, ==, cases[i].joins ? 1 : 0);
            if (cases[i].joins) {
                g_assert_cmpuint(n, ==, 1);
                g_assert_true(sc->last[0].previous == last);
                g_assert_true(sc->last[0].possible_server_drop);
                g_assert_false(last->state.streamable);
                g_assert_cmpint(sc->last[0].reason, ==,
                                via_trace ? SV_STREAM_REASON_JOINED_FROM_TRACE
                                          : SV_STREAM_REASON_JOINED_PREDECESSOR);
            }
        }
    }
}

static void test_continuous_gap(void)
{
    /* 1 s after the stream's last frame joins, 1 s + 1 ns does not. */
    for (int late = 0; late <= 1; late++) {
        g_autoptr(Scenario) sc = scenario_new(NULL);
        SvStreamDetectorDrawable *last =
            chain(sc, "G" G20, 0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
        SvStreamDetectorDrawable *d =
            new_frame(sc, last->creation_time_ns + 1000 * MS + late, rect(0, 0, W, H), &gradual_bm);
        add(sc, d, last, SV_PREDECESSOR_REPLACED);
        g_assert_cmpuint(sc->attached, ==, late ? 0 : 1);
    }
}

static void test_top_down_mismatch(void)
{
    g_autoptr(Scenario) sc = scenario_new(NULL);
    SvStreamDetectorDrawable *last =
        chain(sc, "G" G20, 0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
    g_assert_cmpint(sc->created_at, ==, 20);
    SvStreamDetectorDrawable *d =
        new_frame(sc, last->creation_time_ns + 300 * MS, rect(0, 0, W, H), &gradual_bottom_up_bm);
    /* 300 ms: within the stream's 1 s, beyond 200 ms from the trace
     * entries of the chain (one of which would start a second stream). */
    add(sc, d, last, SV_PREDECESSOR_OVERLAPPED);
    g_assert_cmpuint(sc->attached, ==, 0);
    g_assert_cmpuint(d->state.frames_count, ==, 0);
    assert_explain(sc, d, "top-down flag differs");
}

/* ---- the item trace ----------------------------------------------------- */

static void test_trace_after_coverage(void)
{
    /* Each frame fully covers the previous one, which is removed from the
     * tree before any comparison: only the item trace links them. */
    g_autoptr(Scenario) sc = scenario_new(NULL);
    chain(sc, "G" G20, 0, 150 * MS, rect(10, 10, W, H), NULL, SV_PREDECESSOR_COVERED);
    g_assert_cmpint(sc->created_at, ==, 20);

    /* At 25 fps, five entries lie within 200 ms and the last match in
     * array order (not the newest) sets the counters (quirk 2): once the
     * ring wraps, the count stalls for 4 frames in every 8, and the stream
     * starts on drawable 32 instead of 20. */
    g_autoptr(Scenario) sc25 = scenario_new(NULL);
    g_autofree char *gs = repeat('G', 40);
    chain(sc25, gs, 0, 40 * MS, rect(10, 10, W, H), NULL, SV_PREDECESSOR_COVERED);
    g_assert_cmpint(sc25->created_at, ==, 32);
    g_assert_cmpuint(sc25->d[9].state.frames_count, ==, 8);
    g_assert_cmpuint(sc25->d[12].state.frames_count, ==, 8);
    g_assert_cmpuint(sc25->d[13].state.frames_count, ==, 9);

    /* Without the trace (cleared each time, e.g. the primary surface
     * recreated), nothing chains. */
    g_autoptr(Scenario) sc2 = scenario_new(NULL);
    SvStreamDetectorDrawable *prev = NULL;
    for (int i = 0; i < 21; i++) {
        SvStreamDetectorDrawable *d = new_frame(sc2, i * 40 * MS, rect(10, 10, W, H), &gradual_bm);
        if (prev) {
            sv_stream_detector_remove(sc2->det, prev);
            sv_stream_detector_primary_destroyed(sc2->det, NULL);
        }
        add(sc2, d, NULL, SV_PREDECESSOR_COVERED);
        prev = d;
    }
    g_assert_cmpint(sc2->created_at, ==, -1);
    assert_explain(sc2, prev, "first of a chain");
}

static void test_trace_ring_size(void)
{
    /* 8 entries: 7 other streamable drawables leaving after the previous
     * frame keep it in the ring, 8 push it out. */
    for (guint others = 7; others <= 8; others++) {
        g_autoptr(Scenario) sc = scenario_new(NULL);
        SvStreamDetectorDrawable *prev =
            chain(sc,
                  "G"
                  "GGGGGGGGGG",
                  0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
        sv_stream_detector_remove(sc->det, prev);
        int64_t t = prev->creation_time_ns;
        for (guint i = 0; i < others; i++) {
            SvStreamDetectorDrawable *o =
                new_frame(sc, t + 1 * MS, rect(500 + 200 * (int)i, 0, W, H), &low_bm);
            add(sc, o, NULL, SV_PREDECESSOR_COVERED);
            sv_stream_detector_remove(sc->det, o);
        }
        SvStreamDetectorDrawable *d = new_frame(sc, t + 40 * MS, rect(0, 0, W, H), &gradual_bm);
        add(sc, d, NULL, SV_PREDECESSOR_COVERED);
        g_assert_cmpuint(d->state.frames_count, ==, others == 7 ? 11 : 0);
    }
}

static void test_replacement_skips_trace(void)
{
    /* The previous frame is in the trace, but the new drawable replaces a
     * different (non-matching) drawable: no trace update, no chain. */
    for (int replaced = 0; replaced <= 1; replaced++) {
        g_autoptr(Scenario) sc = scenario_new(NULL);
        SvStreamDetectorDrawable *prev =
            chain(sc, "GGG", 0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
        sv_stream_detector_remove(sc->det, prev);
        SvStreamDetectorDrawable *other = new_frame(sc, 90 * MS, rect(0, 0, W, H), NULL);
        other->type = QXL_DRAW_FILL;
        other->source_type = SV_SOURCE_NONE;
        other->src_area = rect(0, 0, 0, 0);
        add(sc, other, NULL, SV_PREDECESSOR_COVERED);
        SvStreamDetectorDrawable *d = new_frame(sc, 120 * MS, rect(0, 0, W, H), &gradual_bm);
        add(sc, d, other, replaced ? SV_PREDECESSOR_REPLACED : SV_PREDECESSOR_OVERLAPPED);
        g_assert_cmpuint(d->state.frames_count, ==, replaced ? 0 : 3);
    }
}

/* ---- detach, rejoin, timeout, slots ------------------------------------ */

static void run_detached(gboolean fix)
{
    SvStreamDetectorConfig config;
    sv_stream_detector_config_init(&config);
    config.fix_rejoin_detached = fix;
    g_autoptr(Scenario) sc = scenario_new(&config);
    /* The stream's creator keeps its count (20); an attached frame has 0. */
    SvStreamDetectorDrawable *last =
        chain(sc, "G" G20 "G", 0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
    int id = last->state.stream_id;
    g_assert_cmpint(id, >=, 0);
    g_assert_cmpuint(last->state.frames_count, ==, 0);

    /* Something non-opaque drawn over it: detached, lossless upgrade. */
    const SvStreamDecision *dec = NULL;
    guint n = sv_stream_detector_detach(sc->det, (guint)id, &dec);
    record(sc, NULL, dec, n);
    g_assert_cmpuint(n, ==, 1);
    g_assert_cmpint(dec[0].kind, ==, SV_STREAM_DECISION_DETACHED);
    g_assert_cmpint(dec[0].upgrade, ==, SV_STREAM_UPGRADE_LOSSLESS);
    g_assert_true(dec[0].drawable == last);
    g_assert_cmpint(last->state.stream_id, ==, -1);
    g_assert_true(last->state.streamable);

    /* The next frame finds the detached drawable in the tree. */
    SvStreamDetectorDrawable *d =
        new_frame(sc, last->creation_time_ns + 40 * MS, rect(0, 0, W, H), &gradual_bm);
    add(sc, d, last, SV_PREDECESSOR_REPLACED);
    /* One attach so far: the chain's last frame. */
    if (fix) {
        g_assert_cmpuint(sc->attached, ==, 2);
        g_assert_cmpint(d->state.stream_id, ==, id);
        g_assert_cmpint(d->state.reason, ==, SV_STREAM_REASON_REJOINED_DETACHED);
        return;
    }
    g_assert_cmpuint(sc->attached, ==, 1);
    g_assert_cmpuint(d->state.frames_count, ==, 1);
    assert_explain(sc, d, "1 counted frames");

    /* The old stream times out 1 s after its last frame. */
    tick(sc, last->creation_time_ns + 999 * MS);
    g_assert_cmpuint(sc->stopped, ==, 0);
    g_assert_cmpint(sv_stream_detector_next_timeout_ns(sc->det), ==,
                    last->creation_time_ns + 1000 * MS);
    tick(sc, last->creation_time_ns + 1000 * MS);
    g_assert_cmpuint(sc->stopped, ==, 1);
    g_assert_cmpuint(sv_stream_detector_get_n_streams(sc->det), ==, 0);
    g_assert_cmpint(sv_stream_detector_next_timeout_ns(sc->det), ==, INT64_MAX);
}

static void test_detached_not_rejoined(void)
{
    run_detached(FALSE);
    run_detached(TRUE);
}

static void test_detached_rejoined_through_trace(void)
{
    /* Detached and gone from the tree: the stream check of the trace
     * update rejoins it within 1 s. */
    g_autoptr(Scenario) sc = scenario_new(NULL);
    SvStreamDetectorDrawable *last =
        chain(sc, "G" G20, 0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
    sv_stream_detector_detach(sc->det, (guint)last->state.stream_id, NULL);
    sv_stream_detector_remove(sc->det, last); /* streamable again: into the trace */
    SvStreamDetectorDrawable *d =
        new_frame(sc, last->creation_time_ns + 500 * MS, rect(0, 0, W, H), &gradual_bm);
    add(sc, d, NULL, SV_PREDECESSOR_COVERED);
    g_assert_cmpuint(sc->attached, ==, 1);
    g_assert_null(sc->last[0].previous);
}

static void test_timeout_and_release(void)
{
    g_autoptr(Scenario) sc = scenario_new(NULL);
    SvStreamDetectorDrawable *last =
        chain(sc, "G" G20, 0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
    int id = last->state.stream_id;
    tick(sc, last->creation_time_ns + 1000 * MS);
    g_assert_cmpuint(sc->n_last, ==, 2);
    g_assert_cmpint(sc->last[0].kind, ==, SV_STREAM_DECISION_DETACHED);
    g_assert_cmpint(sc->last[0].upgrade, ==, SV_STREAM_UPGRADE_LOSSLESS);
    g_assert_cmpint(sc->last[0].reason, ==, SV_STREAM_REASON_TIMEOUT);
    g_assert_cmpint(sc->last[1].kind, ==, SV_STREAM_DECISION_STOPPED);
    g_assert_cmpint((int)sc->last[1].stream_id, ==, id);
    assert_explain(sc, last, "stream timed out");

    /* Release of an attached drawable: detached without upgrade. */
    g_autoptr(Scenario) sc2 = scenario_new(NULL);
    last = chain(sc2, "G" G20, 0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
    sv_stream_detector_remove(sc2->det, last);
    const SvStreamDecision *dec = NULL;
    g_assert_cmpuint(sv_stream_detector_release(sc2->det, last, &dec), ==, 1);
    g_assert_cmpint(dec[0].upgrade, ==, SV_STREAM_UPGRADE_NONE);
    g_assert_cmpint(dec[0].reason, ==, SV_STREAM_REASON_DRAWABLE_RELEASED);
    SvStreamInfo info;
    g_assert_true(sv_stream_detector_get_stream(sc2->det, (guint)id, &info));
    g_assert_null(info.current);

    /* Stop all; a referenced slot is not reused until unreferenced. */
    g_assert_true(sv_stream_detector_stream_ref(sc2->det, (guint)id));
    g_assert_cmpuint(sv_stream_detector_stop_all(sc2->det, &dec), ==, 2);
    g_assert_cmpint(dec[1].kind, ==, SV_STREAM_DECISION_STOPPED);
    g_assert_false(sv_stream_detector_get_stream(sc2->det, (guint)id, &info));
    sc2->created_at = -1;
    sc2->created = 0;
    last =
        chain(sc2, "G" G20, 10000 * MS, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
    g_assert_cmpint(last->state.stream_id, !=, id);
    sv_stream_detector_stream_unref(sc2->det, (guint)id);
}

static void test_51st_stream(void)
{
    g_autoptr(Scenario) sc = scenario_new(NULL);
    SvStreamDetectorDrawable *last = NULL;
    for (int s = 0; s < 51; s++) {
        /* Distinct places, one after the other, all within 1 s. */
        last = chain(sc, "G" G20, s * 10 * MS, 40 * MS, rect((s % 8) * 130, (s / 8) * 100, W, H),
                     NULL, SV_PREDECESSOR_REPLACED);
    }
    g_assert_cmpuint(sc->created, ==, 50);
    g_assert_cmpuint(sv_stream_detector_get_n_streams(sc->det), ==, 50);
    g_assert_cmpuint(sv_stream_detector_get_streams_area(sc->det), ==, 50 * W * H);
    g_assert_cmpint(last->state.stream_id, ==, -1);
    g_assert_cmpint(last->state.reason, ==, SV_STREAM_REASON_NO_FREE_SLOT);
    assert_explain(sc, last, "no free stream slot (50 in use)");
    /* Ids: every slot once, first handed out 49. */
    g_assert_cmpint(sc->d[20].state.stream_id, ==, 49);
    const SvStreamDecision *dec = NULL;
    g_assert_cmpuint(sv_stream_detector_stop_all(sc->det, &dec), ==, 100);
    g_assert_cmpuint(sv_stream_detector_get_streams_area(sc->det), ==, 0);
}

static void test_all_mode(void)
{
    SvStreamDetectorConfig config;
    sv_stream_detector_config_init(&config);
    config.mode = SV_STREAMING_MODE_ALL;
    g_autoptr(Scenario) sc = scenario_new(&config);
    /* Text-like frames only: graduality is never computed (INVALID counts
     * as gradual), so 21 drawables start a stream. */
    g_autofree char *lows = repeat('L', 21);
    SvStreamDetectorDrawable *last =
        chain(sc, lows, 0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
    g_assert_cmpint(sc->created_at, ==, 20);
    g_assert_cmpint(sc->d[5].state.graduality, ==, SV_GRADUALITY_INVALID);
    (void)last;

    /* FILTER mode: the same chain never starts. */
    g_autoptr(Scenario) filter = scenario_new(NULL);
    chain(filter, lows, 0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
    g_assert_cmpint(filter->created_at, ==, -1);
    g_assert_cmpint(filter->d[5].state.graduality, ==, SV_GRADUALITY_LOW);

    /* ALL mode has no size filter either. */
    SvStreamDetectorDrawable *tiny = new_frame(sc, 0, rect(900, 0, 10, 10), &low_bm);
    tiny->src_area = rect(0, 0, 10, 10);
    add(sc, tiny, NULL, SV_PREDECESSOR_COVERED);
    g_assert_true(tiny->state.streamable);
}

/* ---- candidates (5.3) --------------------------------------------------- */

typedef struct {
    const char *name;
    void (*change)(SvStreamDetectorDrawable *d);
    SvStreamReason reason;
    const char *explain;
} CandidateCase;

static void ch_none(SvStreamDetectorDrawable *d)
{
}
static void ch_surface(SvStreamDetectorDrawable *d)
{
    d->surface_id = 3;
}
static void ch_effect(SvStreamDetectorDrawable *d)
{
    d->effect = QXL_EFFECT_BLEND;
}
static void ch_type(SvStreamDetectorDrawable *d)
{
    d->type = QXL_DRAW_BLEND;
}
static void ch_rop(SvStreamDetectorDrawable *d)
{
    d->rop_descriptor = SPICE_ROPD_OP_PUT | SPICE_ROPD_INVERS_SRC;
}
static void ch_surface_src(SvStreamDetectorDrawable *d)
{
    d->source_type = SV_SOURCE_SURFACE;
}
static void ch_quic(SvStreamDetectorDrawable *d)
{
    d->source_type = SV_SOURCE_OTHER;
}
static void ch_small(SvStreamDetectorDrawable *d)
{
    d->src_area = rect(0, 0, 96, 95);
}
static void ch_min(SvStreamDetectorDrawable *d)
{
    d->src_area = rect(0, 0, 96, 96);
}
static void ch_mask(SvStreamDetectorDrawable *d)
{
    d->has_mask = TRUE; /* not checked, like spice */
}

static const CandidateCase candidate_cases[] = {
    {"ok", ch_none, SV_STREAM_REASON_NO_PREDECESSOR, "first of a chain"},
    {"surface", ch_surface, SV_STREAM_REASON_NOT_PRIMARY, "surface 3, not the primary"},
    {"effect", ch_effect, SV_STREAM_REASON_NOT_OPAQUE, "effect 0 is not OPAQUE (1)"},
    {"type", ch_type, SV_STREAM_REASON_NOT_COPY, "drawable type 5 is not DRAW_COPY (3)"},
    {"rop", ch_rop, SV_STREAM_REASON_ROP_NOT_PUT, "ROP descriptor 9 is not OP_PUT (8)"},
    {"surface-source", ch_surface_src, SV_STREAM_REASON_SOURCE_NOT_BITMAP, "a surface"},
    {"compressed", ch_quic, SV_STREAM_REASON_SOURCE_NOT_BITMAP, "compressed image"},
    {"95x96", ch_small, SV_STREAM_REASON_TOO_SMALL, "9120 pixels is below the minimum 9216"},
    {"96x96", ch_min, SV_STREAM_REASON_NO_PREDECESSOR, "first of a chain"},
    {"mask", ch_mask, SV_STREAM_REASON_NO_PREDECESSOR, "first of a chain"},
};

static void test_candidate(gconstpointer data)
{
    const CandidateCase *cc = data;
    g_autoptr(Scenario) sc = scenario_new(NULL);
    SvStreamDetectorDrawable *d = new_frame(sc, 0, rect(0, 0, W, H), &gradual_bm);
    cc->change(d);
    add(sc, d, NULL, SV_PREDECESSOR_COVERED);
    g_assert_cmpint(d->state.reason, ==, cc->reason);
    g_assert_cmpint(d->state.streamable, ==, cc->reason == SV_STREAM_REASON_NO_PREDECESSOR);
    assert_explain(sc, d, cc->explain);
}

static void test_mode_off(void)
{
    g_autoptr(Scenario) sc = scenario_new(NULL);
    SvStreamDetectorDrawable *last =
        chain(sc, "G" G20, 0, 40 * MS, rect(0, 0, W, H), NULL, SV_PREDECESSOR_REPLACED);
    g_assert_cmpint(sc->created_at, ==, 20);
    /* OFF affects only drawables added afterwards; the stream times out. */
    sv_stream_detector_set_mode(sc->det, SV_STREAMING_MODE_OFF);
    SvStreamDetectorDrawable *d =
        new_frame(sc, last->creation_time_ns + 40 * MS, rect(0, 0, W, H), &gradual_bm);
    add(sc, d, last, SV_PREDECESSOR_REPLACED);
    g_assert_cmpuint(sc->attached, ==, 0);
    assert_explain(sc, d, "streaming mode is off");
    g_assert_cmpuint(sv_stream_detector_get_n_streams(sc->det), ==, 1);
}

static void test_bad_config(void)
{
    SvStreamDetectorConfig config;
    sv_stream_detector_config_init(&config);
    g_assert_cmpint(config.mode, ==, SV_STREAMING_MODE_FILTER);
    g_assert_cmpint(config.detection_max_delta_ns, ==, 200 * MS);
    g_assert_cmpuint(config.max_streams, ==, 50);
    g_assert_cmpuint(config.trace_items, ==, 8);
    g_assert_cmpuint(config.max_fps, ==, 30);
    config.max_streams = 0;
    g_autoptr(GError) error = NULL;
    g_assert_null(sv_stream_detector_new(&config, &error));
    g_assert_error(error, SV_STREAM_DETECTOR_ERROR, 0);
    g_assert_nonnull(strstr(error->message, "max_streams"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    bitmap_init(&gradual_bm, TRUE, TRUE);
    bitmap_init(&low_bm, FALSE, TRUE);
    bitmap_init(&gradual_bottom_up_bm, TRUE, FALSE);
    g_assert_cmpint(sv_bitmap_graduality(&gradual_bm.bitmap, FALSE, NULL), ==, SV_GRADUALITY_HIGH);
    g_assert_cmpint(sv_bitmap_graduality(&low_bm.bitmap, FALSE, NULL), ==, SV_GRADUALITY_LOW);

    for (guint i = 0; i < G_N_ELEMENTS(chain_cases); i++) {
        g_autofree char *path = g_strdup_printf("/detector/chain/%s", chain_cases[i].name);
        g_test_add_data_func(path, &chain_cases[i], test_chain_case);
    }
    for (guint i = 0; i < G_N_ELEMENTS(candidate_cases); i++) {
        g_autofree char *path = g_strdup_printf("/detector/candidate/%s", candidate_cases[i].name);
        g_test_add_data_func(path, &candidate_cases[i], test_candidate);
    }
    g_test_add_func("/detector/reset-100", test_reset_100);
    g_test_add_func("/detector/initial-fps", test_initial_fps);
    g_test_add_func("/detector/ongoing-fps", test_ongoing_fps);
    g_test_add_func("/detector/container", test_container);
    g_test_add_func("/detector/continuous-gap", test_continuous_gap);
    g_test_add_func("/detector/top-down-mismatch", test_top_down_mismatch);
    g_test_add_func("/detector/trace-after-coverage", test_trace_after_coverage);
    g_test_add_func("/detector/trace-ring-size", test_trace_ring_size);
    g_test_add_func("/detector/replacement-skips-trace", test_replacement_skips_trace);
    g_test_add_func("/detector/detached-not-rejoined", test_detached_not_rejoined);
    g_test_add_func("/detector/detached-rejoined-through-trace",
                    test_detached_rejoined_through_trace);
    g_test_add_func("/detector/timeout-release-stop", test_timeout_and_release);
    g_test_add_func("/detector/51st-stream", test_51st_stream);
    g_test_add_func("/detector/all-mode", test_all_mode);
    g_test_add_func("/detector/mode-off", test_mode_off);
    g_test_add_func("/detector/bad-config", test_bad_config);
    int ret = g_test_run();
    bitmap_clear(&gradual_bm);
    bitmap_clear(&low_bm);
    bitmap_clear(&gradual_bottom_up_bm);
    return ret;
}
