/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * isolate.h: encoders run in a child process (`spice-bench TRACE --isolate`,
 * docs/replay.md). Each encoder the display creates through a wrapped codec
 * list is a proxy VideoEncoder whose methods are forwarded over a socket to
 * a worker process running the real encoder. A crash, an exit or a hang of
 * the worker makes the proxy fail: it records one error line, answers
 * UNSUPPORTED from then on, and the replay ends with that error.
 *
 * Thread: an SvIsolate and its encoders are used from one thread.
 */
#ifndef SV_HARNESS_ISOLATE_H
#define SV_HARNESS_ISOLATE_H

#include <stdint.h>

#include <glib.h>

#include <spice-video/registry.h>

typedef struct SvIsolate SvIsolate;

/**
 * @param worker_argv the command that runs a worker: `__encoder-worker FD`
 *        is appended to it (see sv_isolate_worker_main()). Copied.
 * @param timeout_ns how long the parent waits for any answer of a worker
 *        before it kills it; 0 = 10 s, or 4 × the encoders' encode timeout
 *        if that is longer. $SV_ISOLATE_TIMEOUT_MS (a test hook) overrides it.
 * @return a new set of proxies; free with sv_isolate_free() after every
 *         encoder created through it was destroyed.
 */
SvIsolate *sv_isolate_new(const char *const *worker_argv, int64_t timeout_ns);

/** Kills and reaps any worker still running, frees the proxy descriptors. */
void sv_isolate_free(SvIsolate *isolate);

/**
 * @return a copy of @codecs whose entries are proxy descriptors (same names,
 *         codec, capability and rank) creating their encoders in a worker.
 *         The descriptors belong to @isolate. Ownership: caller,
 *         sv_video_codecs_free().
 */
SvVideoCodecs *sv_isolate_wrap_codecs(SvIsolate *isolate, const SvVideoCodecs *codecs);

/**
 * @return the first failure of a worker ("encoder gstreamer:vp8 crashed
 *         (signal 11) at frame 17"), or NULL. Ownership: @isolate's.
 */
const char *sv_isolate_get_failure(const SvIsolate *isolate);

/**
 * @return the CPU time the workers reported since the last call (their
 *         process CPU time while they handled requests), ns.
 */
int64_t sv_isolate_take_worker_cpu_ns(SvIsolate *isolate);

#endif /* SV_HARNESS_ISOLATE_H */
