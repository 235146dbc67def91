/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * sim-client.h: the simulated SPICE client of the replay harness. It
 * behaves like spice-gtk (reference 6.3 and 6.5): its mm_time clock is set
 * from the server's MULTI_MEDIA_TIME messages and then runs on its own; each
 * stream frame's margin (stamp − client mm_time) is taken at arrival, before
 * decoding; late frames (margin < 0) count as drops in the stream reports;
 * reports go out on a full window (5 frames), on the timeout (1 s) or after
 * 3 consecutive late frames; a "cannot decode" report answers a stream it
 * cannot build a decoder for, an unknown stream id, or a frame the decoder
 * refuses.
 *
 * Frames are decoded with the decoders spice-gtk uses: libjpeg-turbo for
 * MJPEG; GStreamer avdec_h264, vp8dec, vp9dec, avdec_h265. Ordinary draws
 * are rendered with the same canvas code as the server, so the client's
 * primary surface is the screen the user would see.
 *
 * Thread: one thread at a time.
 */
#ifndef SV_HARNESS_SIM_CLIENT_H
#define SV_HARNESS_SIM_CLIENT_H

#include <stdint.h>

#include <glib.h>

#include <spice-video/server.h>

G_BEGIN_DECLS

/** Client capability presets (`--client`). */
typedef enum {
    /** spice-gtk 0.42: MULTI_CODEC, every codec with a decoder installed
     *  here, STREAM_REPORT, SIZED_STREAM; adaptive streaming on. */
    SV_CLIENT_PRESET_SPICE_GTK,
    /** An old client: MJPEG only (no MULTI_CODEC), no stream reports. */
    SV_CLIENT_PRESET_LEGACY,
} SvClientPreset;

/** Errors of the simulated client: bad presets and configurations, messages it cannot read. */
#define SV_SIM_CLIENT_ERROR (sv_sim_client_error_quark())
GQuark sv_sim_client_error_quark(void);

typedef enum {
    SV_SIM_CLIENT_ERROR_CONFIG,          /**< unknown preset name, bad configuration value */
    SV_SIM_CLIENT_ERROR_INVALID_MESSAGE, /**< a message the client cannot interpret at all */
} SvSimClientError;

/** @param name "spice-gtk" or "legacy". */
gboolean sv_client_preset_parse(const char *name, SvClientPreset *preset, GError **error);
const char *sv_client_preset_to_string(SvClientPreset preset);

typedef struct SvSimClientConfig {
    SvClientPreset preset;
    /** Display capabilities to announce (SV_CAP bits); 0 = the preset's. */
    uint32_t display_caps;
    /** FALSE: frames are not decoded (no quality, no decode time). */
    gboolean decode;
    /** Compute PSNR/SSIM of each decoded frame against its source. */
    gboolean measure_quality;
    /**
     * 0: decode time is the measured CPU time of each decode. Otherwise the
     * decode time charged is this many ns per source pixel (deterministic
     * runs, docs/metrics.md).
     */
    double decode_cost_ns_per_pixel;
} SvSimClientConfig;

/** Fills @config for @preset, with decoding and quality on. */
void sv_sim_client_config_init(SvSimClientConfig *config, SvClientPreset preset);

/** @return the display capabilities @preset announces, given the decoders installed here. */
uint32_t sv_client_preset_caps(SvClientPreset preset);

typedef struct SvSimClient SvSimClient;

SvSimClient *sv_sim_client_new(const SvSimClientConfig *config, GError **error);
void sv_sim_client_free(SvSimClient *client);
uint32_t sv_sim_client_get_caps(const SvSimClient *client);

/** MAIN_INIT: sets the client clock to @mm_time at @now_ns. */
void sv_sim_client_set_mm_time(SvSimClient *client, int64_t now_ns, uint32_t mm_time);
/** @return the client's mm_time at @now_ns. */
uint32_t sv_sim_client_mm_time(const SvSimClient *client, int64_t now_ns);
/** @return the caller time (ns) at which the client clock reads @mm_time. */
int64_t sv_sim_client_due_ns(const SvSimClient *client, uint32_t mm_time);

/** What the client did with one message. */
typedef struct SvSimResult {
    gboolean is_frame; /**< a STREAM_DATA message */
    int stream_id;
    uint64_t drawable_seq;
    uint32_t mm_time;
    int32_t margin_ms;      /**< stamp − client mm_time at arrival */
    gboolean late;          /**< margin < 0: counted as a drop in reports */
    gboolean decoded;       /**< the decoder produced a picture */
    int64_t decode_ns;      /**< charged decode time */
    int64_t due_ns;         /**< when the client shows it (its clock reaches the stamp) */
    double psnr_y;          /**< vs the source, dB; NAN if not measured */
    double ssim_y;          /**< NAN if not measured */
    uint32_t width, height; /**< decoded size */
    const char *problem;    /**< static text when something went wrong, else NULL */
} SvSimResult;

/**
 * The client receives @message at @now_ns (its last byte arrived): clock
 * updates, stream creation (decoder set-up), frame margin, decode, report
 * window, painting into its screen.
 * @return FALSE with @error only for a message it cannot interpret at all
 *         (the caller's bug); decoder failures are reported in @result and
 *         with a cannot-decode report, as spice-gtk does.
 */
gboolean sv_sim_client_receive(SvSimClient *client, int64_t now_ns, const SvMessage *message,
                               SvSimResult *result, GError **error);

/**
 * Takes the next message the client wants to send (a stream report).
 * @return FALSE when there is none.
 */
gboolean sv_sim_client_pop_report(SvSimClient *client, SvStreamReport *report);

/** The client's primary surface (its screen), or NULL before it exists. */
SvCanvas *sv_sim_client_get_screen(SvSimClient *client);

/** Counters. */
typedef struct SvSimClientStats {
    uint64_t frames; /**< STREAM_DATA received */
    uint64_t late;   /**< with margin < 0 */
    uint64_t decoded;
    uint64_t decode_errors;
    uint64_t reports; /**< STREAM_REPORT messages queued, cannot-decode ones included */
    uint64_t cannot_decode_reports; /**< of those, (0, 0xFFFFFFFF) ones */
    int64_t decode_cpu_ns;          /**< measured, even in deterministic runs */
    /** Clock changes spice-gtk treats as a reset (> 500 ms forward, or backwards). */
    uint64_t mm_time_resets;
} SvSimClientStats;

void sv_sim_client_get_stats(const SvSimClient *client, SvSimClientStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvSimClient, sv_sim_client_free)

G_END_DECLS

#endif /* SV_HARNESS_SIM_CLIENT_H */
