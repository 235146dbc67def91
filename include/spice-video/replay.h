/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * replay.h: replaying a recorded QXL trace through the display model, a
 * network model and a simulated spice-gtk client, on a virtual timeline
 * driven by the trace's timestamps (docs/replay.md). This is what
 * `spice-bench TRACE --codec C` runs.
 *
 * Thread: one run per thread.
 */
#ifndef SPICE_VIDEO_REPLAY_H
#define SPICE_VIDEO_REPLAY_H

#include <stdint.h>
#include <stdio.h>

#include <glib.h>

#include <spice-video/server.h>
#include <spice-video/streamdetect.h>
#include <spice-video/sv-export.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Errors of a replay. BAD_INPUT is the user's (exit status 2). */
#define SV_REPLAY_ERROR (sv_replay_error_quark())
SV_API GQuark sv_replay_error_quark(void);

typedef enum {
    SV_REPLAY_ERROR_BAD_INPUT, /**< bad option, trace, labels or net spec */
    SV_REPLAY_ERROR_FAILED,    /**< an output could not be written, … */
} SvReplayError;

typedef struct SvReplayConfig {
    const char *trace_path;
    /** `--codec`: mjpeg, h264, vp8, vp9, h265: every built encoder of that
     *  codec in registry rank order. Ignored when video_codecs is set. */
    const char *codec;
    /** `--video-codecs`: spice syntax. NULL and no codec: spice's default. */
    const char *video_codecs;
    /** `--encoder-options`: name=value,… given to every encoder. */
    const char *encoder_options;
    SvStreamingMode streaming;
    /** `--client`: "spice-gtk" (default) or "legacy". */
    const char *client;
    /** `--net`: a profile name or spec (docs/network.md); NULL = "lan". */
    const char *net;
    /** `--deterministic`: the cost model instead of measured CPU times. */
    gboolean deterministic;
    /** `--speed X`: never run faster than X × real time (0 = as fast as possible). */
    double speed;
    uint64_t seed;
    /** Outputs; NULL = none. */
    const char *json_path;
    const char *csv_path;
    const char *labels_path;
    const char *dump_frames_dir;
    /** "y4m" (default) or "png". */
    const char *dump_format;
    /** Frames per second of the dumped side-by-side video (default 25). */
    double dump_fps;
    /** Progress line on this stream (NULL = none). */
    FILE *progress;
    /** Human summary on this stream (NULL = none). */
    FILE *summary;
    /** Stop after this much trace time (0 = all). */
    int64_t max_duration_ns;
    /** `--bit-rate`: starting bit rate of every stream, Mibit/s, as
     *  spice's SPICE_BIT_RATE (0 = spice's rules, reference 6.4). */
    double bit_rate_mbps;
    /** `--no-rate-control`: streaming encoders keep the starting bit rate,
     *  never drop and ignore reports (rate-distortion sweeps). */
    gboolean no_rate_control;
    /** `--quality Q`: MJPEG encodes every frame at JPEG quality Q (1..100),
     *  without rate control (0 = spice's rate control). */
    int fixed_quality;
    /** `--latency-policy`: how the display sets the client's playback
     *  delay (SPICE default, or INTERACTIVE; docs/latency.md). */
    SvLatencyPolicy latency_policy;
    /** `--isolate`: every encoder runs in a worker process of its own
     *  (docs/replay.md, "Isolated encoders"): a crash or hang of the encoder
     *  ends the run with an SV_REPLAY_ERROR_FAILED error naming the encoder
     *  and what happened, instead of ending the process. Default FALSE. */
    gboolean isolate;
    /** With @isolate: the command that runs a worker, NULL-terminated; the
     *  harness appends `__encoder-worker FD` and the program must then call
     *  sv_isolate_worker_main(FD). spice-bench passes itself. Required with
     *  @isolate. Ownership: the caller's, read during the run. */
    const char *const *isolate_worker_argv;
    /** With @isolate: how long a worker may take to answer any call before
     *  it is killed and the run fails, ns; 0 = 10 s (or 4 × the encoders'
     *  encode timeout if longer). */
    int64_t isolate_timeout_ns;
} SvReplayConfig;

SV_API void sv_replay_config_init(SvReplayConfig *config);

/** Headline numbers of a finished run (the JSON has everything). */
typedef struct SvReplaySummary {
    uint64_t frames;
    uint64_t shown;
    uint64_t dropped_encoder;
    uint64_t dropped_pipe;
    uint64_t late;
    uint64_t not_decoded; /**< arrived but the client's decoder produced nothing */
    uint64_t undelivered; /**< still in the pipe or on the link at the end */
    guint streams;
    double mean_bps;
    double latency_p50_ms;
    double latency_p95_ms;
    double psnr_mean;
    /** Client screen against the guest's at the end (dB; INFINITY when identical). */
    double final_psnr;
    char codec[48];
} SvReplaySummary;

/**
 * Runs one replay. Outputs are written to temporary names and renamed at
 * the end, so a failed run leaves no partial file.
 * @return FALSE with @error (SV_REPLAY_ERROR, or SV_TRACE_ERROR for a bad
 *         trace: both are bad input) on failure.
 */
SV_API gboolean sv_replay_run(const SvReplayConfig *config, SvReplaySummary *summary,
                              GError **error);

/**
 * The worker side of SvReplayConfig.isolate: serves one encoder over the
 * socket @fd (inherited from the harness) until the harness destroys it or
 * closes the socket. A program named in isolate_worker_argv calls it when
 * given `__encoder-worker FD`, and exits with its return value.
 *
 * Test hooks, read only here: $SV_ISOLATE_TEST_CRASH_AT=N raises SIGSEGV
 * before encoding frame N (1 = the first frame of the encoder),
 * $SV_ISOLATE_TEST_HANG_AT=N hangs there, $SV_ISOLATE_TEST_EXIT_AFTER=N
 * exits with status 3 after answering frame N.
 *
 * @return 0 when the encoder was destroyed or not wanted, 1 on a broken
 *         connection.
 */
SV_API int sv_isolate_worker_main(int fd);

#ifdef __cplusplus
}
#endif

#endif /* SPICE_VIDEO_REPLAY_H */
