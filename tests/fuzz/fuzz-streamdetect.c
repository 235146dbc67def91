/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Fuzz target for the stream detector: the input is a configuration and a
 * sequence of events (drawables added with predecessors, removed,
 * released, time ticks, detaches, stop-all, primary destroyed, mode
 * changes, stream references) over a pool of 16 drawables. After every
 * event it checks the invariants: no slot leak, ids in range, every
 * stream's current drawable is a live drawable naming that stream, chain
 * counters consistent, decisions well-formed. Any violation aborts.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spice/qxl_dev.h>
#include <spice-video/streamdetect.h>

#include "streamdetect-private.h"

#define POOL 16
#define MS INT64_C(1000000)
#define BW 112
#define BH 96

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const uint8_t *p, *end;
} Input;

static uint8_t next(Input *in)
{
    return in->p < in->end ? *in->p++ : 0;
}

static void fail(const char *what)
{
    fprintf(stderr, "invariant violated: %s\n", what);
    abort();
}

/* Decisions seen, by kind, printed with SV_FUZZ_VERBOSE set (seed checks). */
static guint seen[4];

typedef struct {
    SvStreamDetectorDrawable d;
    gboolean live; /* added and not released */
} Slot;

typedef struct {
    SvStreamDetector *det;
    Slot pool[POOL];
    guint refs[1024];
    int64_t now;
} State;

/* Bitmaps over one smooth picture: 32-bit, 24-bit (padded, unstable),
 * bottom-up, 8-bit, padded 32-bit, 16-bit; index 6 is no bitmap. */
static uint8_t pixels[BW * BH * 4 + 64];
static SpiceChunks *chunk_store[6]; /* allocated once, two chunks each */
static SpiceBitmap bitmaps[6];

static void bitmaps_init(void)
{
    static gboolean done;
    if (done) {
        return;
    }
    done = TRUE;
    for (int i = 0; i < BW * BH; i++) {
        int x = i % BW, y = i / BW;
        uint8_t v = (uint8_t)(x + y);
        pixels[i * 4] = pixels[i * 4 + 1] = pixels[i * 4 + 2] = v;
    }
    for (int i = 0; i < 6; i++) {
        uint32_t len = BW * BH * 4;
        chunk_store[i] = g_malloc0(sizeof(SpiceChunks) + 2 * sizeof(SpiceChunk));
        chunk_store[i]->num_chunks = 2;
        chunk_store[i]->data_size = len;
        chunk_store[i]->chunk[0] = (SpiceChunk){pixels, len / 2};
        chunk_store[i]->chunk[1] = (SpiceChunk){pixels + len / 2, len - len / 2};
        bitmaps[i] = (SpiceBitmap){.format = SPICE_BITMAP_FMT_32BIT,
                                   .flags = SPICE_BITMAP_FLAGS_TOP_DOWN,
                                   .x = BW,
                                   .y = BH,
                                   .stride = BW * 4,
                                   .data = chunk_store[i]};
    }
    bitmaps[1].format = SPICE_BITMAP_FMT_24BIT; /* reads the same bytes as 24-bit */
    bitmaps[2].flags = 0;
    bitmaps[3].format = SPICE_BITMAP_FMT_8BIT;
    bitmaps[4].x = BW - 3; /* padded stride */
    bitmaps[5].format = SPICE_BITMAP_FMT_16BIT;
    bitmaps[5].x = BW * 2;
    chunk_store[1]->flags = SPICE_CHUNKS_FLAGS_UNSTABLE;
}

static const SpiceRect rects[] = {
    {0, 0, BW, BH},         {0, 0, BW, BH},         {0, 0, 2 * BW, BH},
    {0, 0, BW + 8, BH + 8}, {200, 0, 200 + BW, BH}, {0, 0, 10, 10},
};

static void check_decisions(State *st, const SvStreamDecision *dec, guint n,
                            const SvStreamDetectorDrawable *added)
{
    guint max = sv_stream_detector_get_config(st->det)->max_streams;
    if (n > 2 * max + 4) {
        fail("too many decisions");
    }
    for (guint i = 0; i < n; i++) {
        if (dec[i].stream_id >= max) {
            fail("decision stream id out of range");
        }
        if (dec[i].kind == SV_STREAM_DECISION_CREATED ||
            dec[i].kind == SV_STREAM_DECISION_ATTACHED) {
            if (dec[i].drawable != added || added == NULL) {
                fail("created/attached names another drawable");
            }
        }
        seen[dec[i].kind % 4]++;
        g_free(sv_stream_decision_to_string(&dec[i]));
    }
}

static void check(State *st)
{
    g_autoptr(GString) why = g_string_new(NULL);
    if (!sv_stream_detector_check_invariants(st->det, why)) {
        fail(why->str);
    }
    guint max = sv_stream_detector_get_config(st->det)->max_streams;
    guint active = 0;
    for (guint id = 0; id < max; id++) {
        SvStreamInfo info;
        if (!sv_stream_detector_get_stream(st->det, id, &info)) {
            continue;
        }
        active++;
        if (info.current) {
            Slot *slot = (Slot *)info.current;
            if (slot < st->pool || slot >= st->pool + POOL || !slot->live) {
                fail("stream current is not a live drawable");
            }
        }
    }
    if (active != sv_stream_detector_get_n_streams(st->det)) {
        fail("stream count");
    }
    for (guint i = 0; i < POOL; i++) {
        const SvStreamDetectorDrawableState *s = &st->pool[i].d.state;
        if (!st->pool[i].live) {
            continue;
        }
        if (s->stream_id < -1 || s->stream_id >= (int)max) {
            fail("drawable stream id out of range");
        }
        if (s->stream_id >= 0) {
            SvStreamInfo info;
            if (!sv_stream_detector_get_stream(st->det, (guint)s->stream_id, &info) ||
                info.current != &st->pool[i].d) {
                fail("drawable names a stream that does not hold it");
            }
        }
        if (s->gradual_frames_count > s->frames_count || s->last_gradual_frame > s->frames_count) {
            fail("chain counters inconsistent");
        }
    }
}

static void explain_all(State *st)
{
    for (guint i = 0; i < POOL; i++) {
        if (st->pool[i].live) {
            g_free(sv_stream_detector_explain(st->det, &st->pool[i].d));
        }
    }
}

static void release_slot(State *st, guint i)
{
    if (!st->pool[i].live) {
        return;
    }
    const SvStreamDecision *dec = NULL;
    guint n = sv_stream_detector_release(st->det, &st->pool[i].d, &dec);
    check_decisions(st, dec, n, NULL);
    st->pool[i].live = FALSE;
}

static void op_add(State *st, Input *in)
{
    guint i = next(in) % POOL;
    release_slot(st, i);
    uint8_t shape = next(in), flags = next(in);
    st->now += (int64_t)next(in) * 4 * MS;
    SvStreamDetectorDrawable *d = &st->pool[i].d;
    SpiceRect r = rects[shape % G_N_ELEMENTS(rects)];
    uint8_t bm = (shape >> 3) % 7;
    *d = (SvStreamDetectorDrawable){
        .creation_time_ns = st->now,
        .bbox = r,
        .surface_id = (flags & 0x80) ? 1 : 0,
        .type = (flags & 0x40) ? QXL_DRAW_FILL : QXL_DRAW_COPY,
        .effect = (flags & 0x20) ? QXL_EFFECT_BLEND : QXL_EFFECT_OPAQUE,
        .rop_descriptor = (flags & 0x10) ? SPICE_ROPD_OP_OR : SPICE_ROPD_OP_PUT,
        .source_type = (flags & 0x08) ? SV_SOURCE_SURFACE : SV_SOURCE_BITMAP,
        .src_area = (shape & 0x80) ? (SpiceRect){0, 0, 10, 10} : (SpiceRect){0, 0, BW, BH},
        .bitmap = bm < 6 ? &bitmaps[bm] : NULL,
    };
    SvStreamPredecessor preds[3];
    guint n_preds = 0;
    guint want = flags & 3;
    for (guint k = 0; k < want; k++) {
        uint8_t b = next(in);
        Slot *p = &st->pool[b % POOL];
        if (p == &st->pool[i] || !p->live || !p->d.state.in_tree) {
            continue;
        }
        preds[n_preds++] = (SvStreamPredecessor){&p->d, (SvPredecessorKind)((b >> 4) % 3)};
    }
    st->pool[i].live = TRUE;
    const SvStreamDecision *dec = NULL;
    guint n = sv_stream_detector_add(st->det, d, preds, n_preds, &dec);
    check_decisions(st, dec, n, d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bitmaps_init();
    Input in = {data, data + size};
    SvStreamDetectorConfig config;
    sv_stream_detector_config_init(&config);
    uint8_t c0 = next(&in), c1 = next(&in);
    config.mode = (SvStreamingMode)(1 + c0 % 3);
    config.fix_reset_first_frame_time = (c0 >> 2) & 1;
    config.fix_input_fps_window = (c0 >> 3) & 1;
    config.fix_graduality_stride = (c0 >> 4) & 1;
    config.fix_rejoin_detached = (c0 >> 5) & 1;
    if (c1 & 0x80) {
        config.max_streams = 1 + (c1 & 3);
        config.trace_items = 1 + ((c1 >> 2) & 7);
        config.frames_start_condition = 1 + ((c1 >> 5) & 3);
        config.frames_reset_condition = 3;
    }
    State *st = g_new0(State, 1);
    st->det = sv_stream_detector_new(&config, NULL);
    if (st->det == NULL) {
        fail("default-derived configuration refused");
    }
    const SvStreamDecision *dec = NULL;
    guint n;
    while (in.p < in.end) {
        uint8_t op = next(&in);
        switch (op % 10) {
        case 0:
        case 1:
        case 2:
        case 3:
            op_add(st, &in);
            break;
        case 4: {
            Slot *s = &st->pool[next(&in) % POOL];
            if (s->live) {
                sv_stream_detector_remove(st->det, &s->d);
            }
            break;
        }
        case 5:
            release_slot(st, next(&in) % POOL);
            break;
        case 6:
            st->now += (int64_t)next(&in) * 10 * MS;
            n = sv_stream_detector_tick(st->det, st->now, &dec);
            check_decisions(st, dec, n, NULL);
            if (sv_stream_detector_next_timeout_ns(st->det) <= st->now) {
                fail("a stream past its timeout survived a tick");
            }
            break;
        case 7:
            n = sv_stream_detector_detach(st->det, next(&in) % (config.max_streams + 2), &dec);
            check_decisions(st, dec, n, NULL);
            break;
        case 8: {
            uint8_t b = next(&in);
            guint id = (b >> 2) % (config.max_streams + 1);
            if ((b & 3) == 0) {
                n = sv_stream_detector_stop_all(st->det, &dec);
                check_decisions(st, dec, n, NULL);
                if (sv_stream_detector_get_n_streams(st->det) != 0) {
                    fail("streams survived stop-all");
                }
            } else if ((b & 3) == 1) {
                n = sv_stream_detector_primary_destroyed(st->det, &dec);
                check_decisions(st, dec, n, NULL);
            } else if ((b & 3) == 2) {
                if (id < config.max_streams && sv_stream_detector_stream_ref(st->det, id)) {
                    st->refs[id]++;
                }
            } else if (id < config.max_streams && st->refs[id] > 0) {
                sv_stream_detector_stream_unref(st->det, id);
                st->refs[id]--;
            }
            break;
        }
        case 9:
            sv_stream_detector_set_mode(st->det, (SvStreamingMode)(1 + next(&in) % 3));
            break;
        }
        check(st);
    }
    explain_all(st);
    /* Tear down: nothing may leak. */
    n = sv_stream_detector_stop_all(st->det, &dec);
    check_decisions(st, dec, n, NULL);
    for (guint i = 0; i < POOL; i++) {
        release_slot(st, i);
    }
    for (guint id = 0; id < config.max_streams; id++) {
        while (st->refs[id] > 0) {
            sv_stream_detector_stream_unref(st->det, id);
            st->refs[id]--;
        }
    }
    check(st);
    if (st->det->n_free != config.max_streams) {
        fail("slot leak after teardown");
    }
    sv_stream_detector_free(st->det);
    g_free(st);
    if (g_getenv("SV_FUZZ_VERBOSE")) {
        fprintf(stderr, "created %u attached %u detached %u stopped %u\n", seen[0], seen[1],
                seen[2], seen[3]);
        memset(seen, 0, sizeof(seen));
    }
    return 0;
}
