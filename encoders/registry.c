/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The codec registry: the one table of encoder:codec descriptors, spice's
 * `video-codecs` preference strings, client codec preferences and the choice
 * of an encoder for one client (reference 2.4 to 2.8).
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <spice-video/module.h>
#include <spice-video/registry.h>

#include "factory-error.h"
#include "gstreamer-encoder.h"
#include "native-encoders.h"
#include "registry-internal.h"

GQuark sv_encoder_error_quark(void)
{
    return g_quark_from_static_string("sv-encoder-error-quark");
}

/* ---- the table ---------------------------------------------------------------
 *
 * Every built-in encoder:codec pair a preference string may name, built or
 * not (the encoders of loaded modules follow them, see below). An
 * encoder that is not compiled in keeps its entry with a NULL factory, so the
 * parser can tell "unsupported" (known but not built) from "unknown", and
 * `spice-bench list-encoders` can say what is missing. Optional encoders set
 * their factory (and probe) here, behind their `SV_HAVE_*` from config.h, and
 * nowhere else.
 *
 * Ranks order the default ("auto") list; 0 keeps an entry out of it (opt-in).
 * With GStreamer the default is spice-server 0.15's
 * `spice:mjpeg;gstreamer:mjpeg;gstreamer:h264;gstreamer:vp8;gstreamer:vp9`.
 */

static const SvEncoderDesc spice_mjpeg = {
    .encoder_name = "spice",
    .codec_name = "mjpeg",
    .codec_type = SPICE_VIDEO_CODEC_TYPE_MJPEG,
    .cap = SPICE_DISPLAY_CAP_CODEC_MJPEG,
    .create = sv_mjpeg_encoder_new,
    .create_full = sv_mjpeg_encoder_new_full,
    .rank = 100,
    .description = "built-in MJPEG encoder (libjpeg-turbo) with spice-server's rate control",
};

/* spice-server resolves the encoder and codec names separately, so it
 * accepts `spice:vp8` and the like; the MJPEG factory then refuses them when
 * a stream starts. These entries keep that: they parse, and their probe
 * says why they never produce an encoder. */
static gboolean builtin_mjpeg_only(const SvEncoderDesc *desc, GError **error)
{
    g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                "the built-in encoder only produces MJPEG, not %s", desc->codec_name);
    return FALSE;
}

#define SPICE_NON_MJPEG(codec, type, capability)                                      \
    static const SvEncoderDesc spice_##codec = {                                      \
        .encoder_name = "spice",                                                      \
        .codec_name = #codec,                                                         \
        .codec_type = (type),                                                         \
        .cap = (capability),                                                          \
        .create = sv_mjpeg_encoder_new,                                               \
        .probe = builtin_mjpeg_only,                                                  \
        .description = "accepted by spice-server's parser; never creates an encoder", \
    }
SPICE_NON_MJPEG(vp8, SPICE_VIDEO_CODEC_TYPE_VP8, SPICE_DISPLAY_CAP_CODEC_VP8);
SPICE_NON_MJPEG(h264, SPICE_VIDEO_CODEC_TYPE_H264, SPICE_DISPLAY_CAP_CODEC_H264);
SPICE_NON_MJPEG(vp9, SPICE_VIDEO_CODEC_TYPE_VP9, SPICE_DISPLAY_CAP_CODEC_VP9);
SPICE_NON_MJPEG(h265, SPICE_VIDEO_CODEC_TYPE_H265, SPICE_DISPLAY_CAP_CODEC_H265);
#undef SPICE_NON_MJPEG

/* The GStreamer encoders (gstreamer-encoder.c): built when config.h has
 * SV_HAVE_GST_ENCODERS (GStreamer and libyuv); each probe then checks at run
 * time that the codec's element is installed ("x264enc not installed"). */
static const SvEncoderDesc gstreamer_mjpeg = {
    .encoder_name = "gstreamer",
    .codec_name = "mjpeg",
    .codec_type = SPICE_VIDEO_CODEC_TYPE_MJPEG,
    .cap = SPICE_DISPLAY_CAP_CODEC_MJPEG,
#if SV_HAVE_GST_ENCODERS
    .create = sv_gstreamer_encoder_new,
    .create_full = sv_gstreamer_encoder_new_full,
    .probe = sv_gstreamer_probe,
    .options = sv_gstreamer_mjpeg_options,
#endif
    .rank = 90,
    .description = "GStreamer MJPEG pipeline (avenc_mjpeg)",
};

static const SvEncoderDesc gstreamer_h264 = {
    .encoder_name = "gstreamer",
    .codec_name = "h264",
    .codec_type = SPICE_VIDEO_CODEC_TYPE_H264,
    .cap = SPICE_DISPLAY_CAP_CODEC_H264,
#if SV_HAVE_GST_ENCODERS
    .create = sv_gstreamer_encoder_new,
    .create_full = sv_gstreamer_encoder_new_full,
    .probe = sv_gstreamer_probe,
    .options = sv_gstreamer_h264_options,
#endif
    .rank = 80,
    .description = "GStreamer H.264 pipeline (x264enc)",
};

static const SvEncoderDesc gstreamer_vp8 = {
    .encoder_name = "gstreamer",
    .codec_name = "vp8",
    .codec_type = SPICE_VIDEO_CODEC_TYPE_VP8,
    .cap = SPICE_DISPLAY_CAP_CODEC_VP8,
#if SV_HAVE_GST_ENCODERS
    .create = sv_gstreamer_encoder_new,
    .create_full = sv_gstreamer_encoder_new_full,
    .probe = sv_gstreamer_probe,
    .options = sv_gstreamer_vp8_options,
#endif
    .rank = 70,
    .description = "GStreamer VP8 pipeline (vp8enc)",
};

static const SvEncoderDesc gstreamer_vp9 = {
    .encoder_name = "gstreamer",
    .codec_name = "vp9",
    .codec_type = SPICE_VIDEO_CODEC_TYPE_VP9,
    .cap = SPICE_DISPLAY_CAP_CODEC_VP9,
#if SV_HAVE_GST_ENCODERS
    .create = sv_gstreamer_encoder_new,
    .create_full = sv_gstreamer_encoder_new_full,
    .probe = sv_gstreamer_probe,
    .options = sv_gstreamer_vp9_options,
#endif
    .rank = 60,
    .description = "GStreamer VP9 pipeline (vp9enc)",
};

/* spice-server 0.15 has no GStreamer H.265 encoder: opt-in only. */
static const SvEncoderDesc gstreamer_h265 = {
    .encoder_name = "gstreamer",
    .codec_name = "h265",
    .codec_type = SPICE_VIDEO_CODEC_TYPE_H265,
    .cap = SPICE_DISPLAY_CAP_CODEC_H265,
#if SV_HAVE_GST_ENCODERS
    .create = sv_gstreamer_encoder_new,
    .create_full = sv_gstreamer_encoder_new_full,
    .probe = sv_gstreamer_probe,
    .options = sv_gstreamer_h265_options,
#endif
    .rank = 0,
    .description = "GStreamer H.265 pipeline (x265enc, zero-latency settings)",
};

static const SvEncoderDesc x264_h264 = {
    .encoder_name = "x264",
    .codec_name = "h264",
    .codec_type = SPICE_VIDEO_CODEC_TYPE_H264,
    .cap = SPICE_DISPLAY_CAP_CODEC_H264,
#if SV_HAVE_X264
    .create = sv_x264_encoder_new,
    .create_full = sv_x264_encoder_new_full,
    .options = sv_x264_options,
#endif
    .rank = 0,
    .description = "native H.264 encoder (libx264)",
};

static const SvEncoderDesc vpx_vp8 = {
    .encoder_name = "vpx",
    .codec_name = "vp8",
    .codec_type = SPICE_VIDEO_CODEC_TYPE_VP8,
    .cap = SPICE_DISPLAY_CAP_CODEC_VP8,
#if SV_HAVE_VPX
    .create = sv_vpx_encoder_new,
    .create_full = sv_vpx_encoder_new_full,
    .options = sv_vpx_vp8_options,
#endif
    .rank = 0,
    .description = "native VP8 encoder (libvpx)",
};

static const SvEncoderDesc vpx_vp9 = {
    .encoder_name = "vpx",
    .codec_name = "vp9",
    .codec_type = SPICE_VIDEO_CODEC_TYPE_VP9,
    .cap = SPICE_DISPLAY_CAP_CODEC_VP9,
#if SV_HAVE_VPX
    .create = sv_vpx_encoder_new,
    .create_full = sv_vpx_encoder_new_full,
    .options = sv_vpx_vp9_options,
#endif
    .rank = 0,
    .description = "native VP9 encoder (libvpx)",
};

static const SvEncoderDesc *const registry[] = {
    &spice_mjpeg,    &gstreamer_mjpeg, &gstreamer_h264, &gstreamer_vp8, &gstreamer_vp9,
    &gstreamer_h265, &x264_h264,       &vpx_vp8,        &vpx_vp9,       &spice_vp8,
    &spice_h264,     &spice_vp9,       &spice_h265,     NULL,
};

#define BUILTIN_LENGTH (G_N_ELEMENTS(registry) - 1)

/* ---- module entries ------------------------------------------------------------
 *
 * The encoders of loaded modules (module.c) are appended to the built-in
 * table. The list the registry hands out is a NULL-terminated array of both;
 * adding modules replaces it with a longer copy under @registry_lock. The
 * arrays replaced are kept, never freed, so a pointer sv_registry_list()
 * returned earlier stays valid (it just lacks the modules loaded since), and
 * readers only hold the lock long enough to take the current array.
 */
static GMutex registry_lock;
static const SvEncoderDesc *const *current_list = registry;
static size_t current_length = BUILTIN_LENGTH;
/* The arrays replaced, kept alive for earlier callers. */
static GPtrArray *retired_lists;

static const SvEncoderDesc *const *registry_snapshot(size_t *n_out)
{
    g_mutex_lock(&registry_lock);
    const SvEncoderDesc *const *list = current_list;
    *n_out = current_length;
    g_mutex_unlock(&registry_lock);
    return list;
}

static const SvEncoderDesc *find_in(const SvEncoderDesc *const *list, size_t n,
                                    const char *encoder_name, const char *codec_name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i]->encoder_name, encoder_name) == 0 &&
            strcmp(list[i]->codec_name, codec_name) == 0) {
            return list[i];
        }
    }
    return NULL;
}

gboolean sv_registry_is_builtin_encoder_name(const char *name)
{
    for (size_t i = 0; i < BUILTIN_LENGTH; i++) {
        if (strcmp(registry[i]->encoder_name, name) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

gboolean sv_registry_add(const char *path, SvEncoderDesc *const *descs, size_t n, GError **error)
{
    g_return_val_if_fail(path != NULL, FALSE);
    g_return_val_if_fail(descs != NULL || n == 0, FALSE);

    g_mutex_lock(&registry_lock);
    for (size_t i = 0; i < n; i++) {
        const SvEncoderDesc *taken =
            find_in(current_list, current_length, descs[i]->encoder_name, descs[i]->codec_name);
        if (taken != NULL) {
            g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_CONFLICT,
                        "%s: encoder %s:%s is already registered (%s)", path,
                        descs[i]->encoder_name, descs[i]->codec_name,
                        taken->module != NULL ? taken->module : "built-in");
            g_mutex_unlock(&registry_lock);
            return FALSE;
        }
    }

    const SvEncoderDesc **list = g_new(const SvEncoderDesc *, current_length + n + 1);
    memcpy(list, current_list, current_length * sizeof(*list));
    memcpy(list + current_length, descs, n * sizeof(*list));
    list[current_length + n] = NULL;
    if (current_list != registry) {
        if (retired_lists == NULL) {
            retired_lists = g_ptr_array_new();
        }
        g_ptr_array_add(retired_lists, (gpointer)current_list);
    }
    current_list = list;
    current_length += n;
    g_mutex_unlock(&registry_lock);
    return TRUE;
}

/* ---- lookups ------------------------------------------------------------------- */

const SvEncoderDesc *const *sv_registry_list(size_t *n_out)
{
    g_return_val_if_fail(n_out != NULL, NULL);

    sv_module_load_default();
    return registry_snapshot(n_out);
}

const SvEncoderDesc *sv_registry_find(const char *encoder_name, const char *codec_name)
{
    g_return_val_if_fail(encoder_name != NULL, NULL);
    g_return_val_if_fail(codec_name != NULL, NULL);

    sv_module_load_default();
    size_t n = 0;
    const SvEncoderDesc *const *list = registry_snapshot(&n);
    return find_in(list, n, encoder_name, codec_name);
}

const SvEncoderDesc *sv_registry_builtin_mjpeg(void)
{
    return &spice_mjpeg;
}

/* The known names are the ones the table and the loaded modules use, so a
 * new entry is enough to teach the parser a new name. */
static gboolean is_known_encoder_name(const char *name)
{
    size_t n = 0;
    const SvEncoderDesc *const *list = registry_snapshot(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i]->encoder_name, name) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean is_known_codec_name(const char *name)
{
    size_t n = 0;
    const SvEncoderDesc *const *list = registry_snapshot(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i]->codec_name, name) == 0) {
            return TRUE;
        }
    }
    return FALSE;
}

gboolean sv_encoder_desc_is_available(const SvEncoderDesc *desc, GError **error)
{
    g_return_val_if_fail(desc != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    sv_module_load_default();
    if (desc->create == NULL) {
        g_set_error_literal(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_NOT_BUILT,
                            "not compiled into this build of spice-video");
        return FALSE;
    }
    if (desc->probe == NULL) {
        return TRUE;
    }

    GError *probe_error = NULL;
    if (desc->probe(desc, &probe_error)) {
        g_clear_error(&probe_error);
        return TRUE;
    }
    /* Keep the probe's words but promise callers our domain and code. */
    g_set_error_literal(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                        probe_error != NULL ? probe_error->message
                                            : "its run-time check failed without saying why");
    g_clear_error(&probe_error);
    return FALSE;
}

/* ---- codec lists -------------------------------------------------------------- */

struct SvVideoCodecs {
    /* const SvEncoderDesc *, not owned */
    GPtrArray *entries;
};

SvVideoCodecs *sv_video_codecs_new(void)
{
    sv_module_load_default();
    SvVideoCodecs *codecs = g_new0(SvVideoCodecs, 1);
    codecs->entries = g_ptr_array_new();
    return codecs;
}

typedef struct {
    const SvEncoderDesc *desc;
    int key;     /* sorted ascending */
    guint index; /* original position: ties keep their order */
} SortItem;

static int sort_item_compare(const void *a, const void *b)
{
    const SortItem *ia = a;
    const SortItem *ib = b;

    if (ia->key != ib->key) {
        return ia->key < ib->key ? -1 : 1;
    }
    return ia->index < ib->index ? -1 : ia->index > ib->index;
}

/* Sorts @items by key, keeping the original order among equal keys (qsort
 * alone is not stable) and writes them into @codecs. */
static void sort_items_into(SortItem *items, guint n_items, SvVideoCodecs *codecs)
{
    if (n_items > 0) {
        qsort(items, n_items, sizeof(*items), sort_item_compare);
    }
    for (guint i = 0; i < n_items; i++) {
        g_ptr_array_add(codecs->entries, (gpointer)items[i].desc);
    }
}

SvVideoCodecs *sv_video_codecs_new_default(void)
{
    SvVideoCodecs *codecs = sv_video_codecs_new();
    size_t n = 0;
    const SvEncoderDesc *const *list = registry_snapshot(&n);
    g_autofree SortItem *items = g_new(SortItem, n);
    guint n_items = 0;

    /* Module entries follow the built-in ones in @list, so at equal rank
     * the built-in encoder comes first. */
    for (size_t i = 0; i < n; i++) {
        if (list[i]->create != NULL && list[i]->rank > 0) {
            items[n_items] = (SortItem){list[i], -list[i]->rank, n_items};
            n_items++;
        }
    }
    sort_items_into(items, n_items, codecs);
    return codecs;
}

SvVideoCodecs *sv_video_codecs_copy(const SvVideoCodecs *codecs)
{
    g_return_val_if_fail(codecs != NULL, NULL);

    SvVideoCodecs *copy = g_new0(SvVideoCodecs, 1);
    copy->entries = g_ptr_array_copy(codecs->entries, NULL, NULL);
    return copy;
}

void sv_video_codecs_free(SvVideoCodecs *codecs)
{
    if (codecs == NULL) {
        return;
    }
    g_ptr_array_unref(codecs->entries);
    g_free(codecs);
}

guint sv_video_codecs_get_length(const SvVideoCodecs *codecs)
{
    g_return_val_if_fail(codecs != NULL, 0);

    return codecs->entries->len;
}

const SvEncoderDesc *sv_video_codecs_get(const SvVideoCodecs *codecs, guint index)
{
    g_return_val_if_fail(codecs != NULL, NULL);
    g_return_val_if_fail(index < codecs->entries->len, NULL);

    return g_ptr_array_index(codecs->entries, index);
}

void sv_video_codecs_append(SvVideoCodecs *codecs, const SvEncoderDesc *desc)
{
    g_return_if_fail(codecs != NULL);
    g_return_if_fail(desc != NULL);

    g_ptr_array_add(codecs->entries, (gpointer)desc);
}

char *sv_video_codecs_to_string(const SvVideoCodecs *codecs)
{
    g_return_val_if_fail(codecs != NULL, NULL);

    GString *str = g_string_new(NULL);
    for (guint i = 0; i < codecs->entries->len; i++) {
        const SvEncoderDesc *desc = g_ptr_array_index(codecs->entries, i);
        g_string_append_printf(str, "%s%s:%s", i > 0 ? ";" : "", desc->encoder_name,
                               desc->codec_name);
    }
    return g_string_free(str, FALSE);
}

/* ---- preference strings -------------------------------------------------------- */

G_GNUC_PRINTF(2, 3)
static void add_diagnostic(GPtrArray *diagnostics, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    char *message = g_strdup_vprintf(format, args);
    va_end(args);

    g_message("%s", message);
    if (diagnostics != NULL) {
        g_ptr_array_add(diagnostics, message);
    } else {
        g_free(message);
    }
}

/* Length of the run of [0-9A-Za-z_] at @s. */
static size_t name_span(const char *s)
{
    size_t n = 0;
    while (g_ascii_isalnum(s[n]) || s[n] == '_') {
        n++;
    }
    return n;
}

/* One entry: the text from @entry to @end (a ';' or the terminator). Returns
 * the descriptor to install, or NULL after reporting why not. */
static const SvEncoderDesc *parse_entry(const char *entry, const char *end, GPtrArray *diagnostics)
{
    size_t encoder_len = name_span(entry);
    const char *codec = entry + encoder_len + 1;
    size_t codec_len = 0;

    if (encoder_len > 0 && entry[encoder_len] == ':') {
        codec_len = name_span(codec);
    }
    if (codec_len == 0 || codec + codec_len != end) {
        add_diagnostic(diagnostics, "invalid encoder:codec value %.*s", (int)(end - entry), entry);
        return NULL;
    }

    g_autofree char *encoder_name = g_strndup(entry, encoder_len);
    g_autofree char *codec_name = g_strndup(codec, codec_len);

    if (!is_known_encoder_name(encoder_name)) {
        add_diagnostic(diagnostics, "unknown video encoder %s", encoder_name);
        return NULL;
    }
    if (!is_known_codec_name(codec_name)) {
        add_diagnostic(diagnostics, "unknown video codec %s", codec_name);
        return NULL;
    }
    /* A pair the table lacks (x264:vp8) is as unusable as one not built. */
    const SvEncoderDesc *desc = sv_registry_find(encoder_name, codec_name);
    if (desc == NULL || desc->create == NULL) {
        add_diagnostic(diagnostics, "unsupported video encoder %s", encoder_name);
        return NULL;
    }
    return desc;
}

int sv_video_codecs_parse(SvVideoCodecs *codecs, const char *string, GPtrArray *diagnostics,
                          GError **error)
{
    g_return_val_if_fail(codecs != NULL, -1);
    g_return_val_if_fail(string != NULL, -1);
    g_return_val_if_fail(error == NULL || *error == NULL, -1);

    g_autoptr(SvVideoCodecs) parsed = NULL;
    int n_invalid = 0;

    sv_module_load_default();
    if (strcmp(string, "auto") == 0) {
        /* Only the exact string: "auto;" is an ordinary (invalid) entry. */
        parsed = sv_video_codecs_new_default();
    } else {
        parsed = sv_video_codecs_new();
        const char *p = string;
        for (;;) {
            while (*p == ';') {
                p++;
            }
            if (*p == '\0') {
                break;
            }
            const char *end = strchr(p, ';');
            if (end == NULL) {
                end = p + strlen(p);
            }
            const SvEncoderDesc *desc = parse_entry(p, end, diagnostics);
            if (desc != NULL) {
                g_ptr_array_add(parsed->entries, (gpointer)desc);
            } else {
                n_invalid++;
            }
            p = end;
        }
    }

    if (parsed->entries->len == 0) {
        g_set_error(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_INVALID_LIST,
                    "Failed to set video codecs from '%s'", string);
        return -1;
    }

    GPtrArray *old = codecs->entries;
    codecs->entries = g_steal_pointer(&parsed->entries);
    parsed->entries = old;
    return n_invalid;
}

/* ---- client preferences ------------------------------------------------------- */

/* The rank of a codec the client did not list: after every listed one. */
#define CLIENT_RANK_UNLISTED 0x7f7f7f7f

SvVideoCodecs *sv_video_codecs_sort_for_client(const SvVideoCodecs *server,
                                               const uint8_t *client_codecs, guint num_codecs,
                                               GError **error)
{
    g_return_val_if_fail(server != NULL, NULL);
    g_return_val_if_fail(client_codecs != NULL || num_codecs == 0, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);

    if (num_codecs == 0) {
        g_set_error_literal(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_INVALID_PREFS,
                            "the client's codec preference lists no codec");
        return NULL;
    }

    int rank[SPICE_VIDEO_CODEC_TYPE_ENUM_END];
    int next_rank = 1;
    for (guint i = 0; i < G_N_ELEMENTS(rank); i++) {
        rank[i] = CLIENT_RANK_UNLISTED;
    }
    for (guint i = 0; i < num_codecs; i++) {
        uint8_t type = client_codecs[i];
        if (type < SPICE_VIDEO_CODEC_TYPE_MJPEG || type >= SPICE_VIDEO_CODEC_TYPE_ENUM_END) {
            g_debug("client codec preference: ignoring unknown codec type %u", type);
            continue;
        }
        if (rank[type] != CLIENT_RANK_UNLISTED) {
            g_debug("client codec preference: ignoring repeated codec type %u", type);
            continue;
        }
        rank[type] = next_rank++;
    }

    guint n_items = server->entries->len;
    g_autofree SortItem *items = g_new(SortItem, n_items);
    for (guint i = 0; i < n_items; i++) {
        const SvEncoderDesc *desc = g_ptr_array_index(server->entries, i);
        guint type = desc->codec_type;
        int key = type < G_N_ELEMENTS(rank) ? rank[type] : CLIENT_RANK_UNLISTED;
        items[i] = (SortItem){desc, key, i};
    }

    SvVideoCodecs *sorted = sv_video_codecs_new();
    sort_items_into(items, n_items, sorted);
    return sorted;
}

/* ---- negotiation ---------------------------------------------------------------- */

static gboolean caps_have(uint32_t client_caps, uint32_t cap)
{
    return cap < 32 && (client_caps & SV_CAP(cap)) != 0;
}

/* Spelled as in <spice/protocol.h>, so users can search for it. */
char *sv_display_cap_to_string(uint32_t cap)
{
    switch (cap) {
    case SPICE_DISPLAY_CAP_MULTI_CODEC:
        return g_strdup("SPICE_DISPLAY_CAP_MULTI_CODEC");
    case SPICE_DISPLAY_CAP_CODEC_MJPEG:
        return g_strdup("SPICE_DISPLAY_CAP_CODEC_MJPEG");
    case SPICE_DISPLAY_CAP_CODEC_VP8:
        return g_strdup("SPICE_DISPLAY_CAP_CODEC_VP8");
    case SPICE_DISPLAY_CAP_CODEC_H264:
        return g_strdup("SPICE_DISPLAY_CAP_CODEC_H264");
    case SPICE_DISPLAY_CAP_CODEC_VP9:
        return g_strdup("SPICE_DISPLAY_CAP_CODEC_VP9");
    case SPICE_DISPLAY_CAP_CODEC_H265:
        return g_strdup("SPICE_DISPLAY_CAP_CODEC_H265");
    default:
        return g_strdup_printf("display capability %u", cap);
    }
}

const char *sv_video_codec_type_to_string(SpiceVideoCodecType type)
{
    switch (type) {
    case SPICE_VIDEO_CODEC_TYPE_MJPEG:
        return "MJPEG";
    case SPICE_VIDEO_CODEC_TYPE_VP8:
        return "VP8";
    case SPICE_VIDEO_CODEC_TYPE_H264:
        return "H264";
    case SPICE_VIDEO_CODEC_TYPE_VP9:
        return "VP9";
    case SPICE_VIDEO_CODEC_TYPE_H265:
        return "H265";
    default:
        return "?";
    }
}

const char *sv_negotiation_verdict_to_string(SvNegotiationVerdict verdict)
{
    switch (verdict) {
    case SV_NEGOTIATION_CHOSEN:
        return "chosen";
    case SV_NEGOTIATION_SKIP_NOT_MJPEG:
        return "not-mjpeg";
    case SV_NEGOTIATION_SKIP_NO_CAPABILITY:
        return "no-capability";
    case SV_NEGOTIATION_SKIP_NOT_BUILT:
        return "not-built";
    case SV_NEGOTIATION_SKIP_UNAVAILABLE:
        return "unavailable";
    case SV_NEGOTIATION_SKIP_FACTORY_FAILED:
        return "factory-failed";
    case SV_NEGOTIATION_NOT_TRIED:
        return "not-tried";
    }
    return "invalid";
}

void sv_negotiation_free(SvNegotiation *negotiation)
{
    if (negotiation == NULL) {
        return;
    }
    for (guint i = 0; i < negotiation->n_steps; i++) {
        g_free(negotiation->steps[i].message);
    }
    g_free(negotiation->steps);
    g_free(negotiation);
}

char *sv_negotiation_describe(const SvNegotiation *negotiation)
{
    g_return_val_if_fail(negotiation != NULL, NULL);

    GString *str = g_string_new(NULL);
    if (negotiation->n_steps == 0) {
        g_string_append(str, "(empty codec list)\n");
    }
    for (guint i = 0; i < negotiation->n_steps; i++) {
        const SvNegotiationStep *step = &negotiation->steps[i];

        g_string_append_printf(str, "%u. %s:%s: ", i + 1, step->desc->encoder_name,
                               step->desc->codec_name);
        switch (step->verdict) {
        case SV_NEGOTIATION_CHOSEN:
            g_string_append(str, "chosen\n");
            break;
        case SV_NEGOTIATION_NOT_TRIED:
            g_string_append(str, "not tried\n");
            break;
        default:
            g_string_append_printf(str, "skipped (%s): %s\n",
                                   sv_negotiation_verdict_to_string(step->verdict), step->message);
            break;
        }
    }
    if (negotiation->chosen == NULL) {
        g_string_append(str, "result: no encoder; the client gets stream frames as images\n");
    } else if (negotiation->fallback) {
        g_string_append_printf(str, "result: %s:%s, the built-in last resort\n",
                               negotiation->chosen->encoder_name, negotiation->chosen->codec_name);
    } else {
        g_string_append_printf(str, "result: %s:%s\n", negotiation->chosen->encoder_name,
                               negotiation->chosen->codec_name);
    }
    return g_string_free(str, FALSE);
}

static VideoEncoder *call_factory(const SvEncoderDesc *desc, uint64_t starting_bit_rate,
                                  VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                  bitmap_unref_t bitmap_unref, const SvEncoderConfig *config)
{
    if (desc->create_for != NULL) {
        return desc->create_for(desc, starting_bit_rate, cbs, bitmap_ref, bitmap_unref, config);
    }
    if (desc->create_full != NULL && config != NULL) {
        return desc->create_full(desc->codec_type, starting_bit_rate, cbs, bitmap_ref, bitmap_unref,
                                 config);
    }
    return desc->create(desc->codec_type, starting_bit_rate, cbs, bitmap_ref, bitmap_unref);
}

/* Whether @desc may be tried for this client; if not, @verdict and @message
 * say why. */
static gboolean entry_may_be_tried(const SvEncoderDesc *desc, uint32_t client_caps,
                                   SvNegotiationVerdict *verdict, char **message)
{
    if (!caps_have(client_caps, SPICE_DISPLAY_CAP_MULTI_CODEC)) {
        /* Clients from before multi-codec support decode MJPEG only. */
        if (desc->codec_type != SPICE_VIDEO_CODEC_TYPE_MJPEG) {
            *verdict = SV_NEGOTIATION_SKIP_NOT_MJPEG;
            *message = g_strdup("client lacks SPICE_DISPLAY_CAP_MULTI_CODEC and only "
                                "decodes MJPEG");
            return FALSE;
        }
    } else if (!caps_have(client_caps, desc->cap)) {
        g_autofree char *name = sv_display_cap_to_string(desc->cap);
        *verdict = SV_NEGOTIATION_SKIP_NO_CAPABILITY;
        *message = g_strdup_printf("client lacks %s", name);
        return FALSE;
    }

    g_autoptr(GError) error = NULL;
    if (!sv_encoder_desc_is_available(desc, &error)) {
        *verdict = g_error_matches(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_NOT_BUILT)
                       ? SV_NEGOTIATION_SKIP_NOT_BUILT
                       : SV_NEGOTIATION_SKIP_UNAVAILABLE;
        *message = g_strdup(error->message);
        return FALSE;
    }
    return TRUE;
}

VideoEncoder *sv_video_codecs_create_encoder(const SvVideoCodecs *codecs, uint32_t client_caps,
                                             uint64_t starting_bit_rate,
                                             VideoEncoderRateControlCbs *cbs,
                                             bitmap_ref_t bitmap_ref, bitmap_unref_t bitmap_unref,
                                             const SvEncoderConfig *config,
                                             SvNegotiation **negotiation_out)
{
    g_return_val_if_fail(codecs != NULL, NULL);

    sv_module_load_default();
    g_autoptr(SvNegotiation) negotiation = g_new0(SvNegotiation, 1);
    VideoEncoder *encoder = NULL;
    guint n_skipped = 0;

    negotiation->n_steps = codecs->entries->len;
    negotiation->steps = g_new0(SvNegotiationStep, negotiation->n_steps);

    for (guint i = 0; i < negotiation->n_steps; i++) {
        SvNegotiationStep *step = &negotiation->steps[i];
        step->desc = g_ptr_array_index(codecs->entries, i);

        if (encoder != NULL) {
            step->verdict = SV_NEGOTIATION_NOT_TRIED;
            step->message = g_strdup("an earlier entry was chosen");
            continue;
        }
        if (entry_may_be_tried(step->desc, client_caps, &step->verdict, &step->message)) {
            sv_factory_error_clear();
            encoder =
                call_factory(step->desc, starting_bit_rate, cbs, bitmap_ref, bitmap_unref, config);
            g_autofree char *reason = sv_factory_error_take();
            if (encoder != NULL) {
                step->verdict = SV_NEGOTIATION_CHOSEN;
                step->message = g_strdup("encoder created");
                negotiation->chosen = step->desc;
                continue;
            }
            step->verdict = SV_NEGOTIATION_SKIP_FACTORY_FAILED;
            step->message = reason != NULL
                                ? g_strdup_printf("the factory returned no encoder: %s", reason)
                                : g_strdup("the factory returned no encoder");
        }
        n_skipped++;
        g_debug("skipping video encoder %s:%s (%s): %s", step->desc->encoder_name,
                step->desc->codec_name, sv_negotiation_verdict_to_string(step->verdict),
                step->message);
    }

    if (encoder != NULL) {
        g_info("video encoder %s:%s chosen (%u list entries skipped before it)",
               negotiation->chosen->encoder_name, negotiation->chosen->codec_name, n_skipped);
    } else if (!caps_have(client_caps, SPICE_DISPLAY_CAP_MULTI_CODEC) ||
               caps_have(client_caps, SPICE_DISPLAY_CAP_CODEC_MJPEG)) {
        /* The last resort, whatever the list says: every client decodes MJPEG
         * unless it says otherwise. */
        const SvEncoderDesc *builtin = sv_registry_builtin_mjpeg();
        sv_factory_error_clear();
        encoder = call_factory(builtin, starting_bit_rate, cbs, bitmap_ref, bitmap_unref, config);
        g_autofree char *reason = sv_factory_error_take();
        if (encoder != NULL) {
            negotiation->chosen = builtin;
            negotiation->fallback = TRUE;
            g_info("video encoder %s:%s chosen as the last resort (none of the %u list "
                   "entries could be used)",
                   builtin->encoder_name, builtin->codec_name, negotiation->n_steps);
        } else {
            g_warning("the built-in %s:%s encoder could not be created (%s): the client gets "
                      "stream frames as images",
                      builtin->encoder_name, builtin->codec_name,
                      reason != NULL ? reason : "no reason given");
        }
    } else {
        g_info("no video encoder for this client: none of the %u list entries could be used "
               "and it lacks SPICE_DISPLAY_CAP_CODEC_MJPEG; stream frames go as images",
               negotiation->n_steps);
    }

    if (negotiation_out != NULL) {
        *negotiation_out = g_steal_pointer(&negotiation);
    }
    return encoder;
}
