/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Fuzz target for spice's `video-codecs` preference strings, client codec
 * preferences and the negotiation of an encoder for a client.
 *
 * Input: a header (client capabilities, the client's PREFERRED_VIDEO_CODEC_TYPE
 * bytes, which fake factories and probes fail, flags) then up to two
 * preference strings separated by a NUL byte. Checks: the parser's return
 * value agrees with the list and the diagnostics, a failed parse (-1) leaves
 * the list unchanged, to_string() parses back to the same list, the client
 * sort is a stable permutation by the client's ranks, and the negotiation's
 * steps agree with the client's capabilities and its outcome (run over
 * fake encoders that mirror the list's entries, and over the real spice:*
 * entries, whose encoders are cheap to create). Linked with fuzz-main.c it
 * replays tests/fuzz/prefs/ as a test.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <spice-video/spice-video.h>

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CLIENT_CODECS 12
#define MAX_STRING 4096

/* ---- fake encoders mirroring list entries ------------------------------------------ */

static guint fake_live;
static uint32_t factory_fail_bits, probe_fail_bits;
static guint factory_calls, probe_calls;

typedef struct FakeEncoder {
    VideoEncoder base;
} FakeEncoder;

static void fake_destroy(VideoEncoder *encoder)
{
    FUZZ_CHECK(fake_live > 0);
    fake_live--;
    g_free(encoder);
}

static VideoEncoder *fake_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                              VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                              bitmap_unref_t bitmap_unref)
{
    if (factory_fail_bits & (1u << (factory_calls++ % 32))) {
        return NULL;
    }
    FakeEncoder *f = g_new0(FakeEncoder, 1);
    f->base.destroy = fake_destroy;
    f->base.codec_type = codec_type;
    fake_live++;
    return &f->base;
}

static gboolean fake_probe(const SvEncoderDesc *desc, GError **error)
{
    if (probe_fail_bits & (1u << (probe_calls++ % 32))) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE, "fake probe failed");
        return FALSE;
    }
    return TRUE;
}

/* ---- helpers ----------------------------------------------------------------------- */

static gboolean same_list(const SvVideoCodecs *a, const SvVideoCodecs *b)
{
    if (sv_video_codecs_get_length(a) != sv_video_codecs_get_length(b)) {
        return FALSE;
    }
    for (guint i = 0; i < sv_video_codecs_get_length(a); i++) {
        if (sv_video_codecs_get(a, i) != sv_video_codecs_get(b, i)) {
            return FALSE;
        }
    }
    return TRUE;
}

/* Non-empty `;`-separated entries of @s. */
static guint count_entries(const char *s)
{
    guint n = 0;
    for (const char *p = s; *p != '\0';) {
        while (*p == ';') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        n++;
        while (*p != '\0' && *p != ';') {
            p++;
        }
    }
    return n;
}

/* Parses @s into @codecs and checks everything the return value promises. */
static void check_parse(SvVideoCodecs *codecs, const char *s)
{
    g_autofree char *before = sv_video_codecs_to_string(codecs);
    g_autoptr(SvVideoCodecs) saved = sv_video_codecs_copy(codecs);
    g_autoptr(GPtrArray) diagnostics = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) error = NULL;
    int rc = sv_video_codecs_parse(codecs, s, diagnostics, &error);
    gboolean is_auto = strcmp(s, "auto") == 0;
    guint entries = count_entries(s);

    if (rc < 0) {
        FUZZ_CHECK(rc == -1);
        FUZZ_CHECK(g_error_matches(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_INVALID_LIST));
        FUZZ_CHECK(same_list(codecs, saved));
        g_autofree char *after = sv_video_codecs_to_string(codecs);
        FUZZ_CHECK(strcmp(before, after) == 0);
        FUZZ_CHECK(!is_auto);
        /* Every entry was invalid, and each said why. */
        FUZZ_CHECK(diagnostics->len == entries);
        return;
    }
    FUZZ_CHECK(error == NULL);
    FUZZ_CHECK(diagnostics->len == (guint)rc);
    guint n = sv_video_codecs_get_length(codecs);
    FUZZ_CHECK(n > 0);
    if (!is_auto) {
        FUZZ_CHECK(n + (guint)rc == entries);
    }
    for (guint i = 0; i < n; i++) {
        const SvEncoderDesc *desc = sv_video_codecs_get(codecs, i);
        FUZZ_CHECK(desc != NULL && desc->create != NULL);
        FUZZ_CHECK(sv_registry_find(desc->encoder_name, desc->codec_name) == desc);
    }

    /* to_string() parses back to the same list, without a diagnostic. */
    g_autofree char *str = sv_video_codecs_to_string(codecs);
    FUZZ_CHECK(str[0] != '\0' && str[strlen(str) - 1] != ';');
    g_autoptr(SvVideoCodecs) again = sv_video_codecs_new();
    g_autoptr(GPtrArray) diagnostics2 = g_ptr_array_new_with_free_func(g_free);
    FUZZ_CHECK(sv_video_codecs_parse(again, str, diagnostics2, NULL) == 0);
    FUZZ_CHECK(diagnostics2->len == 0);
    FUZZ_CHECK(same_list(codecs, again));
    g_autofree char *str2 = sv_video_codecs_to_string(again);
    FUZZ_CHECK(strcmp(str, str2) == 0);
    if (rc == 0 && !is_auto) {
        /* A string without invalid entries is its own normal form, but for
         * runs of ';'. */
        g_auto(GStrv) parts = g_strsplit(s, ";", -1);
        GString *normal = g_string_new(NULL);
        for (guint i = 0; parts[i] != NULL; i++) {
            if (parts[i][0] != '\0') {
                g_string_append_printf(normal, "%s%s", normal->len > 0 ? ";" : "", parts[i]);
            }
        }
        FUZZ_CHECK(strcmp(normal->str, str) == 0);
        g_string_free(normal, TRUE);
    }
}

/* The client sort: a stable permutation of @server by the client's ranks. */
static SvVideoCodecs *check_sort(const SvVideoCodecs *server, const uint8_t *client, guint n_client)
{
    g_autoptr(GError) error = NULL;
    SvVideoCodecs *sorted = sv_video_codecs_sort_for_client(server, client, n_client, &error);
    if (n_client == 0) {
        FUZZ_CHECK(sorted == NULL);
        FUZZ_CHECK(g_error_matches(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_INVALID_PREFS));
        return sv_video_codecs_copy(server);
    }
    FUZZ_CHECK(sorted != NULL && error == NULL);
    guint n = sv_video_codecs_get_length(server);
    FUZZ_CHECK(sv_video_codecs_get_length(sorted) == n);

    int rank[256];
    int next_rank = 1;
    for (guint i = 0; i < G_N_ELEMENTS(rank); i++) {
        rank[i] = G_MAXINT;
    }
    for (guint i = 0; i < n_client; i++) {
        uint8_t t = client[i];
        if (t >= SPICE_VIDEO_CODEC_TYPE_MJPEG && t < SPICE_VIDEO_CODEC_TYPE_ENUM_END &&
            rank[t] == G_MAXINT) {
            rank[t] = next_rank++;
        }
    }
    /* Each sorted entry is the next unused server entry of the lowest rank. */
    g_autofree gboolean *used = g_new0(gboolean, n);
    for (guint k = 0; k < n; k++) {
        const SvEncoderDesc *got = sv_video_codecs_get(sorted, k);
        int best = G_MAXINT;
        guint best_i = n;
        for (guint i = 0; i < n; i++) {
            const SvEncoderDesc *d = sv_video_codecs_get(server, i);
            int r = d->codec_type < 256 ? rank[d->codec_type] : G_MAXINT;
            if (!used[i] && (best_i == n || r < best)) {
                best = r;
                best_i = i;
            }
        }
        FUZZ_CHECK(best_i < n);
        FUZZ_CHECK(sv_video_codecs_get(server, best_i) == got);
        used[best_i] = TRUE;
    }
    return sorted;
}

static gboolean has_cap(uint32_t caps, uint32_t cap)
{
    return cap < 32 && (caps & SV_CAP(cap)) != 0;
}

/* Negotiates over @codecs for a client with @caps and checks the record. */
static void check_negotiation(const SvVideoCodecs *codecs, uint32_t caps)
{
    SvNegotiation *neg = NULL;
    VideoEncoderRateControlCbs cbs = {0};
    guint live = fake_live;
    VideoEncoder *encoder =
        sv_video_codecs_create_encoder(codecs, caps, 1000000, &cbs, NULL, NULL, NULL, &neg);
    gboolean multi = has_cap(caps, SPICE_DISPLAY_CAP_MULTI_CODEC);
    guint n = sv_video_codecs_get_length(codecs);

    FUZZ_CHECK(neg != NULL);
    FUZZ_CHECK(neg->n_steps == n);
    int chosen_at = -1;
    for (guint i = 0; i < n; i++) {
        const SvNegotiationStep *step = &neg->steps[i];
        const SvEncoderDesc *desc = sv_video_codecs_get(codecs, i);
        FUZZ_CHECK(step->desc == desc);
        FUZZ_CHECK(step->message != NULL);
        FUZZ_CHECK(sv_negotiation_verdict_to_string(step->verdict) != NULL);
        if (chosen_at >= 0) {
            FUZZ_CHECK(step->verdict == SV_NEGOTIATION_NOT_TRIED);
            continue;
        }
        switch (step->verdict) {
        case SV_NEGOTIATION_CHOSEN:
            chosen_at = (int)i;
            FUZZ_CHECK(neg->chosen == desc && !neg->fallback);
            break;
        case SV_NEGOTIATION_SKIP_NOT_MJPEG:
            FUZZ_CHECK(!multi && desc->codec_type != SPICE_VIDEO_CODEC_TYPE_MJPEG);
            break;
        case SV_NEGOTIATION_SKIP_NO_CAPABILITY:
            FUZZ_CHECK(multi && !has_cap(caps, desc->cap));
            break;
        case SV_NEGOTIATION_SKIP_NOT_BUILT:
            FUZZ_CHECK(desc->create == NULL);
            break;
        case SV_NEGOTIATION_SKIP_UNAVAILABLE:
        case SV_NEGOTIATION_SKIP_FACTORY_FAILED:
            break;
        default:
            fuzz_fail("unexpected negotiation verdict");
        }
        if (step->verdict != SV_NEGOTIATION_SKIP_NOT_MJPEG &&
            step->verdict != SV_NEGOTIATION_SKIP_NO_CAPABILITY) {
            /* An entry the client can decode is only skipped by the encoder. */
            FUZZ_CHECK(multi ? has_cap(caps, desc->cap)
                             : desc->codec_type == SPICE_VIDEO_CODEC_TYPE_MJPEG);
        }
    }
    if (encoder == NULL) {
        FUZZ_CHECK(neg->chosen == NULL && !neg->fallback && chosen_at < 0);
        FUZZ_CHECK(multi && !has_cap(caps, SPICE_DISPLAY_CAP_CODEC_MJPEG));
    } else if (neg->fallback) {
        FUZZ_CHECK(chosen_at < 0);
        FUZZ_CHECK(neg->chosen == sv_registry_builtin_mjpeg());
        FUZZ_CHECK(!multi || has_cap(caps, SPICE_DISPLAY_CAP_CODEC_MJPEG));
        FUZZ_CHECK(encoder->codec_type == SPICE_VIDEO_CODEC_TYPE_MJPEG);
    } else {
        FUZZ_CHECK(chosen_at >= 0);
        FUZZ_CHECK(encoder->codec_type == neg->chosen->codec_type);
    }
    g_autofree char *text = sv_negotiation_describe(neg);
    FUZZ_CHECK(text != NULL);
    sv_negotiation_free(neg);
    if (encoder != NULL) {
        encoder->destroy(encoder);
    }
    FUZZ_CHECK(fake_live == live);
}

/* Fake descriptors mirroring @codecs (codec, capability, names), with
 * factories and probes that fail as the input says; some are "not built"
 * and some ask for a random capability. */
static SvVideoCodecs *mirror_with_fakes(const SvVideoCodecs *codecs, FuzzInput *in,
                                        SvEncoderDesc *fakes)
{
    SvVideoCodecs *list = sv_video_codecs_new();
    for (guint i = 0; i < sv_video_codecs_get_length(codecs); i++) {
        const SvEncoderDesc *real = sv_video_codecs_get(codecs, i);
        uint8_t how = fuzz_u8(in);
        fakes[i] = (SvEncoderDesc){
            .encoder_name = real->encoder_name,
            .codec_name = real->codec_name,
            .codec_type = real->codec_type,
            .cap = real->cap,
            .create = (how & 3) == 3 ? NULL : fake_new,
            .probe = (how & 4) ? fake_probe : NULL,
        };
        if (how & 8) {
            fakes[i].cap = how >> 4 ? (uint32_t)(how >> 2) : UINT32_MAX;
        }
        if ((how & 0x30) == 0x30) {
            fakes[i].codec_type = how >> 6;
        }
        sv_video_codecs_append(list, &fakes[i]);
    }
    return list;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init_logs();
    FuzzInput in = fuzz_input(data, size);

    uint32_t caps = fuzz_u32(&in);
    guint n_client = fuzz_u8(&in) % (MAX_CLIENT_CODECS + 1);
    /* Zeroed: client[0] names a codec type below even when n_client is 0. */
    uint8_t client[MAX_CLIENT_CODECS] = {0};
    fuzz_bytes(&in, client, n_client);
    factory_fail_bits = fuzz_u32(&in);
    probe_fail_bits = fuzz_u32(&in);
    factory_calls = probe_calls = 0;
    uint8_t flags = fuzz_u8(&in);

    /* The strings: the rest, split at the first NUL (a second NUL ends the second). */
    size_t rest = MIN(fuzz_left(&in), (size_t)MAX_STRING);
    g_autofree char *first = g_strndup((const char *)in.p, rest);
    size_t first_len = strlen(first);
    g_autofree char *second = NULL;
    if (first_len + 1 < rest) {
        second = g_strndup((const char *)in.p + first_len + 1, rest - first_len - 1);
    }
    FuzzInput tail = fuzz_input(in.p + rest, fuzz_left(&in) - rest);

    /* The names a display cap and a codec type get, whatever their value. */
    g_free(sv_display_cap_to_string(caps));
    FUZZ_CHECK(sv_video_codec_type_to_string((SpiceVideoCodecType)client[0]) != NULL);

    g_autoptr(SvVideoCodecs) codecs =
        (flags & 1) ? sv_video_codecs_new_default() : sv_video_codecs_new();
    check_parse(codecs, first);
    if (second != NULL) {
        check_parse(codecs, second);
    }
    if (sv_video_codecs_get_length(codecs) == 0) {
        return 0;
    }

    /* The client's preference, then a negotiation over fakes mirroring it. */
    g_autoptr(SvVideoCodecs) sorted = check_sort(codecs, client, n_client);
    guint n = sv_video_codecs_get_length(sorted);
    g_autofree SvEncoderDesc *fakes = g_new0(SvEncoderDesc, n);
    g_autoptr(SvVideoCodecs) mirrored = mirror_with_fakes(sorted, &tail, fakes);
    /* The fakes' own order by the same client (their codec types may differ). */
    g_autoptr(SvVideoCodecs) mirrored_sorted = check_sort(mirrored, client, n_client);
    check_negotiation(mirrored_sorted, caps);
    if (flags & 2) {
        check_negotiation(mirrored, caps ^ SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC));
    }

    /* The real spice:* entries (MJPEG, or "not built here" for the others). */
    g_autoptr(SvVideoCodecs) builtin = sv_video_codecs_new();
    for (guint i = 0; i < n; i++) {
        const SvEncoderDesc *desc = sv_video_codecs_get(sorted, i);
        if (strcmp(desc->encoder_name, "spice") == 0) {
            sv_video_codecs_append(builtin, desc);
        }
    }
    check_negotiation(builtin, caps);
    FUZZ_CHECK(fake_live == 0);
    return 0;
}
