/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * codec-backend.h: what a streaming codec (GStreamer pipeline, libx264,
 * libvpx) provides to the shared frame encoder (frame-encoder.h).
 *
 * The frame encoder owns everything spice-server's GStreamer encoder does
 * around the codec: the VideoEncoder contract, conversion of every bitmap
 * format to I420 (or I444) with libyuv, the bit-rate state machine, the
 * virtual buffer, frame history, client reports and server drops (reference
 * section 4). A backend only turns planar YUV frames into compressed frames
 * at the bit rate it is given. Internal: not installed.
 *
 * Bitstream contract, for every backend (what spice-gtk's decoders expect):
 *  - H.264 / H.265: Annex-B byte-stream; one complete access unit per output
 *    buffer; the first output of a start() is an IDR with its SPS/PPS (and
 *    VPS for H.265).
 *  - VP8 / VP9: one raw frame per buffer (no IVF container); the first
 *    output of a start() is a key frame.
 *  - MJPEG: one self-contained JPEG per buffer.
 *  - One output per input, no reordering, no look-ahead.
 *
 * Threading: all calls come from the frame encoder's thread. A backend may
 * run threads of its own.
 */
#ifndef SV_ENCODERS_CODEC_BACKEND_H
#define SV_ENCODERS_CODEC_BACKEND_H

#include <spice-video/registry.h>

/* What start() sets up for. */
typedef struct SvBackendFormat {
    SpiceVideoCodecType codec;
    uint32_t width; /* pixels, any value >= 1 (odd sizes included) */
    uint32_t height;
    uint32_t fps;    /* source frame-rate estimate, >= 1 */
    gboolean yuv444; /* planes are I444 instead of I420 */
} SvBackendFormat;

/* One planar frame. I420: chroma planes are ((width+1)/2) x ((height+1)/2);
 * I444: full size. BT.601 limited range, as libyuv's ARGBToI420 produces. */
typedef struct SvYuvFrame {
    const uint8_t *planes[3]; /* Y, U, V */
    int strides[3];           /* bytes */
    uint32_t width;
    uint32_t height;
    gboolean yuv444;
    uint32_t mm_time; /* the frame's mm_time, ms */
    int64_t pts_ns;   /* mm_time in ns, relative to the first frame */
    gboolean force_key_frame;
} SvYuvFrame;

typedef enum {
    SV_BACKEND_OK,      /* *out holds one compressed frame */
    SV_BACKEND_TIMEOUT, /* no output within the timeout; the backend is restarted */
    SV_BACKEND_ERROR,   /* the frame failed; the backend is restarted */
} SvBackendResult;

typedef struct SvCodecBackendClass SvCodecBackendClass;

struct SvCodecBackendClass {
    /* For logs: "gstreamer", "x264", "vpx". */
    const char *name;

    /* Creates an idle backend for @codec, or NULL with @error (codec not
     * supported, element missing…). @options are the values parsed from the
     * descriptor's option table (SV_MAX_ENCODER_OPTIONS entries). */
    void *(*create)(SpiceVideoCodecType codec, const int *options, GError **error);

    /* (Re)starts encoding for @format at @bit_rate_bps (the rate the codec
     * itself should aim at). Called before the first frame, after a size or
     * format change, after a TIMEOUT/ERROR, and when set_bit_rate() said a
     * restart is needed. Drops any state of a previous start. */
    gboolean (*start)(void *backend, const SvBackendFormat *format, uint64_t bit_rate_bps,
                      GError **error);

    /* Changes the target of a started backend. TRUE if applied live; FALSE
     * if it can only take effect through a new start() (spice restarts such
     * pipelines only for changes above 5%). */
    gboolean (*set_bit_rate)(void *backend, uint64_t bit_rate_bps);

    /* Encodes one frame, waiting at most @timeout_ns for the output.
     * Ownership of *out: transferred to the caller (VideoBuffer contract). */
    SvBackendResult (*encode)(void *backend, const SvYuvFrame *frame, int64_t timeout_ns,
                              VideoBuffer **out);

    /* Frees everything; buffers already returned stay valid. */
    void (*destroy)(void *backend);
};

/*
 * A VideoBuffer with room for @size bytes at ->data, in one allocation that
 * its free() releases (independent of any backend, so it may outlive it).
 * ->size is set to @size. NULL if @size is 0, above UINT32_MAX, or memory
 * runs out. Defined in frame-encoder.c.
 */
VideoBuffer *sv_backend_buffer_new(size_t size);

/*
 * The creation check of a backend (its library opened once at a small size,
 * as spice's throw-away pipeline) costs milliseconds; its success is
 * remembered per process for each backend, codec and option values.
 * sv_backend_check_known() says whether an earlier check with the same
 * @options (@n_options values) passed; never while a fault point is armed,
 * so fault tests always reach the library. sv_backend_check_passed()
 * records a success. Thread: any. Defined in frame-encoder.c.
 */
gboolean sv_backend_check_known(const char *backend, SpiceVideoCodecType codec, const int *options,
                                unsigned n_options);
void sv_backend_check_passed(const char *backend, SpiceVideoCodecType codec, const int *options,
                             unsigned n_options);

#endif /* SV_ENCODERS_CODEC_BACKEND_H */
