/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * module.h: encoders in shared objects loaded at run time.
 *
 * A module is a shared object that exports two symbols:
 *
 * - `sv_video_module_abi` (const uint32_t): the SV_MODULE_ABI_VERSION it was
 *   built against. The loader reads it before calling anything in the
 *   module and refuses the module when it differs from its own.
 * - `sv_video_module_info` (function): returns the module's SvModuleInfo,
 *   one descriptor per encoder:codec pair it provides.
 *
 * SV_VIDEO_MODULE_DEFINE() defines both. The encoders are registered under
 * their names (`openh264:h264`), so preference strings, negotiation and
 * `spice-bench list-encoders` treat them like built-in ones. Their factory has
 * spice-server's `new_video_encoder_t` signature, so an encoder written for
 * spice-server's VideoEncoder interface becomes a module with a few lines of
 * glue (docs/modules.md, encoders/modules/openh264/).
 *
 * Everything a module encoder returns is checked (result codes, buffer,
 * size): a bad result becomes VIDEO_ENCODER_FRAME_UNSUPPORTED with a logged
 * reason, and the frame goes out as an image.
 */
#ifndef SPICE_VIDEO_MODULE_H
#define SPICE_VIDEO_MODULE_H

#include <spice-video/encoders.h>
#include <spice-video/registry.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The module ABI this header describes. Bumped on any change to the
 *  structures below, to SvEncoderConfig, SvEncoderOption or the VideoEncoder
 *  vtable. */
#define SV_MODULE_ABI_VERSION 1

/** Names of the two symbols a module exports. */
#define SV_MODULE_ABI_SYMBOL "sv_video_module_abi"
#define SV_MODULE_INFO_SYMBOL "sv_video_module_info"

/** The environment variable listing module directories (or files),
 *  separated by ':'. Searched before the installed module directory. */
#define SV_MODULE_PATH_ENV "SPICE_VIDEO_MODULE_PATH"

/** One encoder:codec pair provided by a module. */
typedef struct SvModuleEncoder {
    /** Encoder name in preference strings, [0-9A-Za-z_]+; must not be one
     *  of the built-in names (spice, gstreamer, x264, vpx). */
    const char *encoder_name;
    /** Codec name: "mjpeg", "vp8", "h264", "vp9" or "h265". */
    const char *codec_name;
    /** The codec produced; must match codec_name. */
    SpiceVideoCodecType codec_type;
    /** The client display capability the codec needs (SPICE_DISPLAY_CAP_CODEC_*
     *  bit number); must match codec_type. */
    uint32_t cap;
    /** spice-server's factory. Required. */
    new_video_encoder_t create;
    /** Optional factory with creation settings (options, clock, fixed
     *  quality); used instead of @create when set. */
    VideoEncoder *(*create_full)(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                 VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                 bitmap_unref_t bitmap_unref, const SvEncoderConfig *config);
    /** Optional run-time check: returns non-zero when the encoder can be
     *  used here; otherwise writes why not (NUL-terminated) into @why. */
    int (*probe)(char *why, size_t why_size);
    /** Options accepted in SvEncoderConfig.options (NULL-terminated table),
     *  or NULL. */
    const SvEncoderOption *options;
    /** > 0: part of the default ("auto") list after the built-in encoders of
     *  higher rank; 0: only when named. */
    int rank;
    /** One line for `spice-bench list-encoders`. */
    const char *description;
} SvModuleEncoder;

/** What a module provides. */
typedef struct SvModuleInfo {
    /** SV_MODULE_ABI_VERSION, again (checked before the encoders are read). */
    uint32_t abi_version;
    /** Module name and version, for logs and list-encoders. */
    const char *name;
    const char *version;
    /** The encoders, @n_encoders of them (at most 64). */
    const SvModuleEncoder *encoders;
    size_t n_encoders;
} SvModuleInfo;

/** The type of `sv_video_module_info`. Called once, after the ABI check,
 *  while the registry is loading modules: it must not call the registry. */
typedef const SvModuleInfo *(*SvModuleInfoFunc)(void);

/** Errors of sv_module_load(). */
#define SV_MODULE_ERROR (sv_module_error_quark())
SV_API GQuark sv_module_error_quark(void);

typedef enum {
    SV_MODULE_ERROR_OPEN,     /**< the file could not be found or loaded */
    SV_MODULE_ERROR_ABI,      /**< not a module, or built for another ABI version */
    SV_MODULE_ERROR_INVALID,  /**< its SvModuleInfo breaks a rule above */
    SV_MODULE_ERROR_CONFLICT, /**< a name it registers is taken */
} SvModuleError;

#if defined(__GNUC__)
#define SV_MODULE_EXPORT __attribute__((visibility("default")))
#else
#define SV_MODULE_EXPORT
#endif

/* The two symbols have C linkage in a C++ module too (and the constant
 * external linkage, which a namespace-scope const lacks in C++). */
#ifdef __cplusplus
#define SV_MODULE_EXTERN_C extern "C"
#else
#define SV_MODULE_EXTERN_C
#endif

/**
 * Defines a module's two exported symbols from a static SvModuleInfo.
 * Use it once, at file scope, in C or C++.
 */
#define SV_VIDEO_MODULE_DEFINE(info)                                                    \
    SV_MODULE_EXTERN_C SV_MODULE_EXPORT const uint32_t sv_video_module_abi =            \
        SV_MODULE_ABI_VERSION;                                                          \
    SV_MODULE_EXTERN_C SV_MODULE_EXPORT const SvModuleInfo *sv_video_module_info(void); \
    const SvModuleInfo *sv_video_module_info(void)                                      \
    {                                                                                   \
        return &(info);                                                                 \
    }

/**
 * Loads the module at @path and registers its encoders. Loading the same
 * file twice is a no-op that succeeds.
 *
 * @return FALSE with @error saying what is wrong, the file named ("FILE:
 *         module ABI version 2, this library supports 1", "FILE: encoder
 *         name 'x264' is already registered", "FILE: not a module (no
 *         sv_video_module_abi symbol)"); nothing of the module is registered
 *         then and it is unloaded.
 */
SV_API gboolean sv_module_load(const char *path, GError **error);

/**
 * Loads every `*.so` of the directories (or files) in @path (':'-separated),
 * in name order. Errors are collected, not fatal.
 *
 * @param diagnostics optional; one message per module that failed, as
 *        g_ptr_array_new_with_free_func(g_free).
 * @return number of modules loaded.
 */
SV_API guint sv_module_load_path(const char *path, GPtrArray *diagnostics);

/**
 * Loads the modules of $SPICE_VIDEO_MODULE_PATH and of the installed module
 * directory (SV_MODULE_DIR, `<libdir>/spice-video/modules`), once per
 * process; later calls do nothing. The variable is ignored in set-user-ID
 * and set-group-ID programs (secure_getenv()). The registry calls it the first time it
 * is used, so a program only calls it to see the failures early.
 * Failures are logged with g_warning() and kept for sv_module_get_errors().
 */
SV_API void sv_module_load_default(void);

/** @return the installed module directory compiled into this library. */
SV_API const char *sv_module_get_default_dir(void);

/**
 * @return the failures of sv_module_load_default() so far, each one line.
 *         Ownership: the library's; valid until the next load.
 */
SV_API const GPtrArray *sv_module_get_errors(void);

/**
 * @return where @desc came from: NULL for built-in encoders, else the path
 *         of the module that registered it (library-owned).
 */
SV_API const char *sv_encoder_desc_get_module(const SvEncoderDesc *desc);

/**
 * @return the SvModuleInfo (name, version) of the module that registered
 *         @desc, or NULL for built-in encoders. Ownership: the module's;
 *         valid until the process ends (modules are never unloaded).
 */
SV_API const SvModuleInfo *sv_encoder_desc_get_module_info(const SvEncoderDesc *desc);

#ifdef __cplusplus
}
#endif

#endif /* SPICE_VIDEO_MODULE_H */
