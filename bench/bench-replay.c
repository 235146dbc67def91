/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * `spice-bench TRACE [OPTION…]`: replay a recorded trace through the codec
 * layer, a network model and a simulated client (replay.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <spice-video/spice-video.h>

#include "bench-commands.h"

#define EXIT_USAGE 2

void sv_bench_replay_usage(FILE *out)
{
    fputs("Usage: spice-bench TRACE [OPTION...]\n"
          "\n"
          "Replays a recorded QXL trace (SPICE_REPLAY 1; plain, .zst or .gz) through the\n"
          "display model, the chosen encoders, a network model and a simulated spice-gtk\n"
          "client, on a virtual timeline that follows the trace's timestamps, and reports\n"
          "what the client would have got: bitrate, frames shown / dropped / late,\n"
          "latency by stage, PSNR/SSIM, stream detection and the negotiated encoder.\n"
          "\n"
          "Codec and streaming:\n"
          "  --codec C               mjpeg, h264, vp8, vp9 or h265: every built encoder of\n"
          "                          that codec (spice's own first)\n"
          "  --video-codecs LIST     a spice preference string, e.g.\n"
          "                          'spice:mjpeg;gstreamer:h264' (default: spice's list)\n"
          "  --encoder-options OPTS  name=value,... for the encoders (list-encoders -v)\n"
          "  --bit-rate MBPS         starting bit rate of every stream in Mibit/s, as\n"
          "                          spice's SPICE_BIT_RATE (default: spice's rules)\n"
          "  --no-rate-control       streaming encoders keep the starting bit rate, never\n"
          "                          drop, ignore reports (rate-distortion sweeps)\n"
          "  --quality Q             MJPEG at fixed JPEG quality Q (1-100), no rate control\n"
          "  --streaming MODE        off, all or filter (default: filter, as spice)\n"
          "  --client PRESET         spice-gtk (default: every codec with a decoder here,\n"
          "                          stream reports) or legacy (MJPEG only, no reports)\n"
          "  --latency-policy P      spice (default: the playback delay starts at 400 ms\n"
          "                          and only grows, as spice-server) or interactive\n"
          "                          (follows what the path needs; docs/latency.md)\n"
          "  --isolate               run every encoder in a child process: a crash or hang\n"
          "                          of the encoder ends the run with an error (exit 1)\n"
          "                          instead of ending spice-bench\n"
          "Network:\n"
          "  --net SPEC              lan (default), wifi, wan, dsl, mobile, satellite, or\n"
          "                          bw=5M,rtt=80ms,jitter=10ms,queue=256k[,up=1M]\n"
          "                          [,loss=0.01][,trace=MAHIMAHI-FILE]; a name may be\n"
          "                          followed by overrides: wan,jitter=5ms\n"
          "Timing:\n"
          "  --deterministic         charge encode/decode/render time from a fixed cost\n"
          "                          model: identical JSON on any machine\n"
          "  --speed X               run no faster than X times real time (default: as\n"
          "                          fast as possible)\n"
          "  --duration S            replay only the first S seconds of the trace\n"
          "  --seed N                seed of jitter, loss and report ids (default 1)\n"
          "Output:\n"
          "  --json FILE             the full report (schema in docs/metrics.md; - = stdout)\n"
          "  --csv FILE              one row per stream frame\n"
          "  --labels FILE           labels from 'trace gen' (time to detect, false streams)\n"
          "  --dump-frames DIR       guest and client screens side by side\n"
          "  --dump-format F         y4m (default, one video) or png (one file per frame)\n"
          "  --dump-fps N            frames per second of the dump (default 25)\n"
          "  -q, --quiet             no summary table\n"
          "  --progress / --no-progress\n"
          "                          progress line on stderr (default: when a terminal)\n"
          "  -h, --help              show this help\n"
          "\n"
          "Exit status: 0 on success, 2 for bad input (options, trace, labels), 1 for\n"
          "other failures. Output files are complete or absent, never partial.\n",
          out);
}

static gboolean parse_double(const char *opt, const char *value, double min, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod(value, &end);
    if (errno != 0 || end == value || *end != '\0' || !(v >= min) || v > 1e9) {
        fprintf(stderr, "spice-bench: %s: '%s' is not a number >= %g\n", opt, value, min);
        return FALSE;
    }
    *out = v;
    return TRUE;
}

/* `spice-bench __encoder-worker FD`: a worker of --isolate (replay.h),
 * which spice-bench hands to the replay command. The older form
 * `spice-bench - __encoder-worker FD` is accepted too. */
static gboolean is_worker_command(int argc, char **argv, const char **fd_arg)
{
    for (int i = 0; i < MIN(argc, 2); i++) {
        if (strcmp(argv[i], "__encoder-worker") == 0 && i + 1 < argc &&
            (i == 0 || strcmp(argv[0], "-") == 0)) {
            *fd_arg = argv[i + 1];
            return TRUE;
        }
    }
    return FALSE;
}

static int encoder_worker_main(const char *fd_arg)
{
    char *end = NULL;
    long fd = strtol(fd_arg, &end, 10);
    if (end == fd_arg || *end != '\0' || fd < 3 || fd > G_MAXINT) {
        fprintf(stderr, "spice-bench: __encoder-worker: '%s' is not a socket\n", fd_arg);
        return EXIT_USAGE;
    }
    return sv_isolate_worker_main((int)fd);
}

int sv_bench_replay_main(int argc, char **argv)
{
    const char *worker_fd = NULL;
    if (is_worker_command(argc, argv, &worker_fd)) {
        return encoder_worker_main(worker_fd);
    }

    SvReplayConfig cfg;
    sv_replay_config_init(&cfg);
    gboolean quiet = FALSE;
    int progress = -1;
    double duration = 0;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            sv_bench_replay_usage(stdout);
            return 0;
        }
        if (strcmp(a, "--no-rate-control") == 0) {
            cfg.no_rate_control = TRUE;
            continue;
        }
        if (strcmp(a, "--deterministic") == 0) {
            cfg.deterministic = TRUE;
            continue;
        }
        if (strcmp(a, "--isolate") == 0) {
            cfg.isolate = TRUE;
            continue;
        }
        if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = TRUE;
            continue;
        }
        if (strcmp(a, "--progress") == 0 || strcmp(a, "--no-progress") == 0) {
            progress = strcmp(a, "--progress") == 0;
            continue;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (cfg.trace_path != NULL) {
                fprintf(stderr, "spice-bench: one trace per run ('%s' and '%s' given)\n",
                        cfg.trace_path, a);
                return EXIT_USAGE;
            }
            cfg.trace_path = a;
            continue;
        }
        static const char *const with_value[] = {
            "--codec",       "--video-codecs", "--encoder-options",
            "--streaming",   "--client",       "--net",
            "--speed",       "--seed",         "--json",
            "--csv",         "--labels",       "--dump-frames",
            "--dump-format", "--dump-fps",     "--duration",
            "--bit-rate",    "--quality",      "--latency-policy",
        };
        gboolean known = FALSE;
        for (guint k = 0; k < G_N_ELEMENTS(with_value); k++) {
            known = known || strcmp(a, with_value[k]) == 0;
        }
        if (!known) {
            fprintf(stderr, "spice-bench: unknown option '%s' (see spice-bench --help)\n", a);
            return EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "spice-bench: %s needs a value\n", a);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--codec") == 0) {
            cfg.codec = v;
        } else if (strcmp(a, "--video-codecs") == 0) {
            cfg.video_codecs = v;
        } else if (strcmp(a, "--encoder-options") == 0) {
            cfg.encoder_options = v;
        } else if (strcmp(a, "--streaming") == 0) {
            if (strcmp(v, "off") == 0) {
                cfg.streaming = SV_STREAMING_MODE_OFF;
            } else if (strcmp(v, "all") == 0) {
                cfg.streaming = SV_STREAMING_MODE_ALL;
            } else if (strcmp(v, "filter") == 0) {
                cfg.streaming = SV_STREAMING_MODE_FILTER;
            } else {
                fprintf(stderr, "spice-bench: --streaming: '%s', expected off, all or filter\n", v);
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--client") == 0) {
            cfg.client = v;
        } else if (strcmp(a, "--latency-policy") == 0) {
            if (!sv_latency_policy_from_string(v, &cfg.latency_policy)) {
                fprintf(stderr,
                        "spice-bench: --latency-policy: '%s', expected spice or interactive\n", v);
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--net") == 0) {
            cfg.net = v;
        } else if (strcmp(a, "--speed") == 0) {
            if (!parse_double(a, v, 0.001, &cfg.speed)) {
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--seed") == 0) {
            char *end = NULL;
            errno = 0;
            guint64 seed = g_ascii_strtoull(v, &end, 10);
            if (errno != 0 || end == v || *end != '\0') {
                fprintf(stderr, "spice-bench: --seed: '%s' is not a non-negative integer\n", v);
                return EXIT_USAGE;
            }
            cfg.seed = seed;
        } else if (strcmp(a, "--json") == 0) {
            cfg.json_path = v;
        } else if (strcmp(a, "--csv") == 0) {
            cfg.csv_path = v;
        } else if (strcmp(a, "--labels") == 0) {
            cfg.labels_path = v;
        } else if (strcmp(a, "--dump-frames") == 0) {
            cfg.dump_frames_dir = v;
        } else if (strcmp(a, "--dump-format") == 0) {
            if (strcmp(v, "y4m") != 0 && strcmp(v, "png") != 0) {
                fprintf(stderr, "spice-bench: --dump-format: '%s', expected y4m or png\n", v);
                return EXIT_USAGE;
            }
            cfg.dump_format = v;
        } else if (strcmp(a, "--dump-fps") == 0) {
            if (!parse_double(a, v, 0.1, &cfg.dump_fps)) {
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--bit-rate") == 0) {
            if (!parse_double(a, v, 0.001, &cfg.bit_rate_mbps)) {
                return EXIT_USAGE;
            }
        } else if (strcmp(a, "--quality") == 0) {
            char *end = NULL;
            errno = 0;
            long q = strtol(v, &end, 10);
            if (errno != 0 || end == v || *end != '\0' || q < 1 || q > 100) {
                fprintf(stderr, "spice-bench: --quality: '%s' is not an integer from 1 to 100\n",
                        v);
                return EXIT_USAGE;
            }
            cfg.fixed_quality = (int)q;
        } else if (strcmp(a, "--duration") == 0) {
            if (!parse_double(a, v, 0.001, &duration)) {
                return EXIT_USAGE;
            }
            cfg.max_duration_ns = (int64_t)(duration * 1e9);
        }
    }
    if (cfg.trace_path == NULL) {
        fprintf(stderr, "spice-bench: no trace given (see spice-bench --help)\n");
        return EXIT_USAGE;
    }
    if (cfg.codec != NULL && cfg.video_codecs != NULL) {
        fprintf(stderr, "spice-bench: --codec and --video-codecs exclude each other\n");
        return EXIT_USAGE;
    }
    gboolean json_stdout = cfg.json_path != NULL && strcmp(cfg.json_path, "-") == 0;
    cfg.summary = quiet ? NULL : (json_stdout ? stderr : stdout);
    if (progress == 1 || (progress == -1 && isatty(STDERR_FILENO))) {
        cfg.progress = stderr;
    }

    /* Workers are this very program, whatever its name or directory. */
    g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
    const char *worker_argv[] = {self != NULL ? self : "/proc/self/exe", NULL};
    cfg.isolate_worker_argv = worker_argv;

    g_autoptr(GError) error = NULL;
    if (!sv_replay_run(&cfg, NULL, &error)) {
        fprintf(stderr, "spice-bench: %s\n", error->message);
        gboolean bad_input =
            (error->domain == SV_REPLAY_ERROR && error->code == SV_REPLAY_ERROR_BAD_INPUT) ||
            error->domain == SV_TRACE_ERROR;
        return bad_input ? EXIT_USAGE : 1;
    }
    return 0;
}
