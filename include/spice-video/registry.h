/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * registry.h: which encoders exist, spice's `video-codecs` preference
 * strings, client codec preferences, and the choice of an encoder for one
 * client (spice-server's negotiation, with the reason for every entry
 * skipped).
 */
#ifndef SPICE_VIDEO_REGISTRY_H
#define SPICE_VIDEO_REGISTRY_H

#include <spice/protocol.h>

#include <spice-video/encoders.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The bit of a display capability in a client capability mask. */
#define SV_CAP(cap) (UINT32_C(1) << (cap))

/**
 * @return the name of display capability @cap as <spice/protocol.h> spells
 *         it ("SPICE_DISPLAY_CAP_CODEC_VP9"), or "display capability N" for
 *         one this library does not name. Ownership: caller, g_free().
 */
SV_API char *sv_display_cap_to_string(uint32_t cap);

/** @return "MJPEG", "VP8", "H264", "VP9", "H265", or "?" (static strings). */
SV_API const char *sv_video_codec_type_to_string(SpiceVideoCodecType type);

/** Errors of the registry and the negotiation. */
#define SV_ENCODER_ERROR (sv_encoder_error_quark())
SV_API GQuark sv_encoder_error_quark(void);

typedef enum {
    SV_ENCODER_ERROR_NOT_BUILT,     /**< the encoder was not compiled in */
    SV_ENCODER_ERROR_UNAVAILABLE,   /**< its probe failed (e.g. element missing) */
    SV_ENCODER_ERROR_INVALID_LIST,  /**< a preference string installed nothing */
    SV_ENCODER_ERROR_INVALID_PREFS, /**< an empty client preference */
} SvEncoderError;

typedef struct SvEncoderDesc SvEncoderDesc;

/**
 * One encoder:codec pair the registry knows. Built-in descriptors are
 * static, and the registry's table (encoders/registry.c) is the only place
 * that knows which encoders were built; the descriptors of module encoders
 * are made when their module is loaded and live until the process ends.
 */
struct SvEncoderDesc {
    /** Encoder name in preference strings: "spice", "gstreamer", "x264", "vpx". */
    const char *encoder_name;
    /** Codec name in preference strings: "mjpeg", "vp8", "h264", "vp9", "h265". */
    const char *codec_name;
    /** The codec produced. */
    SpiceVideoCodecType codec_type;
    /** The client display capability this codec needs (a
     *  SPICE_DISPLAY_CAP_CODEC_* bit number, not a mask). */
    uint32_t cap;
    /** spice-compatible factory; NULL when the encoder was not built. */
    new_video_encoder_t create;
    /** Optional factory taking creation settings; preferred when set. */
    VideoEncoder *(*create_full)(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                 VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                 bitmap_unref_t bitmap_unref, const SvEncoderConfig *config);
    /** Optional run-time check ("is x264enc installed?"): FALSE with
     *  @error set to say why not. NULL means always available once built. */
    gboolean (*probe)(const SvEncoderDesc *desc, GError **error);
    /** The options this encoder accepts (NULL-terminated), or NULL. */
    const SvEncoderOption *options;
    /** > 0: part of the default ("auto") list, higher ranks first. */
    int rank;
    /** One line for `spice-bench list-encoders`. */
    const char *description;
    /** Where the descriptor came from: NULL for built-in encoders, else the
     *  path of the module that registered it (see <spice-video/module.h>). */
    const char *module;
    /** Optional factory that is given its own descriptor, for wrappers that
     *  serve several entries (checked module encoders, encoders isolated in
     *  a child process). Preferred over @create_full and @create when set;
     *  @create must still be non-NULL so the entry counts as built. */
    VideoEncoder *(*create_for)(const SvEncoderDesc *desc, uint64_t starting_bit_rate,
                                VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                bitmap_unref_t bitmap_unref, const SvEncoderConfig *config);
    /** Data for @create_for (for example the wrapped descriptor). */
    const void *user_data;
};

/**
 * Every encoder:codec pair the registry knows, built or not: the built-in
 * table in its order, then the encoders of loaded modules in load order
 * (<spice-video/module.h>; the first call loads the default modules).
 * @param n_out out: number of entries.
 * @return a NULL-terminated array; Ownership: the library's. Loading a
 *         module replaces the array the next call returns; one returned
 *         before stays valid forever but does not list the modules loaded
 *         since. Thread: any.
 */
SV_API const SvEncoderDesc *const *sv_registry_list(size_t *n_out);

/**
 * @return the descriptor named @encoder_name:@codec_name, built or not, or
 *         NULL. Names are case-sensitive, as in spice-server.
 */
SV_API const SvEncoderDesc *sv_registry_find(const char *encoder_name, const char *codec_name);

/** @return the built-in MJPEG descriptor ("spice:mjpeg"), the last resort. */
SV_API const SvEncoderDesc *sv_registry_builtin_mjpeg(void);

/**
 * Whether @desc can create encoders here: compiled in and its probe passes.
 * @return FALSE with @error (SV_ENCODER_ERROR_NOT_BUILT or _UNAVAILABLE) saying why.
 */
SV_API gboolean sv_encoder_desc_is_available(const SvEncoderDesc *desc, GError **error);

/** An ordered list of encoder:codec entries (spice's codec list). Duplicates allowed. */
typedef struct SvVideoCodecs SvVideoCodecs;

/** @return a new empty list; free with sv_video_codecs_free(). */
SV_API SvVideoCodecs *sv_video_codecs_new(void);

/**
 * @return the default list (what `auto` means): the built encoders with a
 *         rank, highest first. With GStreamer this is spice-server 0.15's
 *         `spice:mjpeg;gstreamer:mjpeg;gstreamer:h264;gstreamer:vp8;gstreamer:vp9`,
 *         without it `spice:mjpeg`.
 */
SV_API SvVideoCodecs *sv_video_codecs_new_default(void);

/** @return a copy of @codecs. */
SV_API SvVideoCodecs *sv_video_codecs_copy(const SvVideoCodecs *codecs);

SV_API void sv_video_codecs_free(SvVideoCodecs *codecs);

/** Number of entries. */
SV_API guint sv_video_codecs_get_length(const SvVideoCodecs *codecs);

/** @return entry @index (< length). Ownership: static descriptor. */
SV_API const SvEncoderDesc *sv_video_codecs_get(const SvVideoCodecs *codecs, guint index);

/**
 * Appends @desc, which must outlive the list (tests use this to add fake
 * encoders; the parser uses it for registry entries).
 */
SV_API void sv_video_codecs_append(SvVideoCodecs *codecs, const SvEncoderDesc *desc);

/**
 * Replaces the contents of @codecs with a spice `video-codecs` preference
 * string (`enc:codec;enc:codec;…`, or exactly `auto`), with spice-server's
 * rules: `;` runs are skipped, each entry must be `[0-9A-Za-z_]+:[0-9A-Za-z_]+`,
 * unknown or unbuilt entries are counted invalid and skipped, duplicates and
 * order are kept. If no entry is valid the list is left unchanged.
 *
 * @param diagnostics optional; one message is appended per invalid entry
 *        ("unknown video encoder foo", "invalid encoder:codec value spice&:mjpeg", …),
 *        each also logged with g_message. Ownership: the caller's array,
 *        created with g_ptr_array_new_with_free_func(g_free).
 * @return -1 if nothing was installed (@error set, list unchanged), else the
 *         number of invalid entries (0 when all were valid).
 */
SV_API int sv_video_codecs_parse(SvVideoCodecs *codecs, const char *string, GPtrArray *diagnostics,
                                 GError **error);

/**
 * @return the list as `enc:codec` pairs joined by `;`, no trailing `;`
 *         (parses back to the same list). Ownership: caller, g_free().
 */
SV_API char *sv_video_codecs_to_string(const SvVideoCodecs *codecs);

/**
 * Re-sorts @server by a client's PREFERRED_VIDEO_CODEC_TYPE message: a
 * stable sort by the rank of each entry's codec in @client_codecs (first
 * listed = best); codecs the client did not list keep their server order at
 * the end. Out-of-range and repeated client values are ignored.
 *
 * @return the client's list (free with sv_video_codecs_free()), or NULL with
 *         @error set if @num_codecs is 0 (spice ignores such a message).
 */
SV_API SvVideoCodecs *sv_video_codecs_sort_for_client(const SvVideoCodecs *server,
                                                      const uint8_t *client_codecs,
                                                      guint num_codecs, GError **error);

/** Why an entry was or was not used for a client. */
typedef enum {
    SV_NEGOTIATION_CHOSEN,              /**< this entry's encoder was created */
    SV_NEGOTIATION_SKIP_NOT_MJPEG,      /**< client lacks MULTI_CODEC: MJPEG only */
    SV_NEGOTIATION_SKIP_NO_CAPABILITY,  /**< client lacks the codec's capability */
    SV_NEGOTIATION_SKIP_NOT_BUILT,      /**< encoder not compiled in */
    SV_NEGOTIATION_SKIP_UNAVAILABLE,    /**< probe failed (message says why) */
    SV_NEGOTIATION_SKIP_FACTORY_FAILED, /**< factory returned NULL */
    SV_NEGOTIATION_NOT_TRIED,           /**< an earlier entry was chosen */
} SvNegotiationVerdict;

/** One entry considered. */
typedef struct SvNegotiationStep {
    const SvEncoderDesc *desc;
    SvNegotiationVerdict verdict;
    /** Human-readable reason, e.g. "client lacks SPICE_DISPLAY_CAP_CODEC_VP9". */
    char *message;
} SvNegotiationStep;

/** What sv_video_codecs_create_encoder() decided and why. */
typedef struct SvNegotiation {
    /** The entry whose encoder was created, or NULL if none. */
    const SvEncoderDesc *chosen;
    /** TRUE when no list entry worked and the built-in MJPEG last resort was used. */
    gboolean fallback;
    /** One step per list entry, in list order. */
    SvNegotiationStep *steps;
    guint n_steps;
} SvNegotiation;

SV_API void sv_negotiation_free(SvNegotiation *negotiation);

/**
 * @return a multi-line account of @negotiation ("gstreamer:vp9: skipped,
 *         client lacks …"). Ownership: caller, g_free().
 */
SV_API char *sv_negotiation_describe(const SvNegotiation *negotiation);

/** @return a short name for @verdict ("chosen", "no-capability", …). */
SV_API const char *sv_negotiation_verdict_to_string(SvNegotiationVerdict verdict);

/**
 * Creates the encoder for one client exactly as spice-server does
 * (reference 2.8): walk @codecs in order; without MULTI_CODEC only MJPEG
 * entries qualify; with it the entry's capability is required; the first
 * factory that returns an encoder wins. If none does and the client lacks
 * MULTI_CODEC or has CODEC_MJPEG, the built-in MJPEG encoder is created.
 *
 * @param codecs the client's sorted list, or the server's.
 * @param client_caps the client's display capabilities, SV_CAP() bits.
 * @param cbs copied by the encoder.
 * @param config may be NULL.
 * @param negotiation_out optional: what was tried and why; free with
 *        sv_negotiation_free().
 * @return the encoder (Ownership: caller, destroy()) or NULL when the client
 *         gets no encoder (its frames go out as images).
 */
SV_API VideoEncoder *sv_video_codecs_create_encoder(const SvVideoCodecs *codecs,
                                                    uint32_t client_caps,
                                                    uint64_t starting_bit_rate,
                                                    VideoEncoderRateControlCbs *cbs,
                                                    bitmap_ref_t bitmap_ref,
                                                    bitmap_unref_t bitmap_unref,
                                                    const SvEncoderConfig *config,
                                                    SvNegotiation **negotiation_out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvVideoCodecs, sv_video_codecs_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvNegotiation, sv_negotiation_free)

#ifdef __cplusplus
}
#endif

#endif /* SPICE_VIDEO_REGISTRY_H */
