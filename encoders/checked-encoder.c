/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Checked encoders: every result of an encoder from a module passes through
 * here before the caller sees it. The caller (spice-server, the display
 * model) trusts the VideoEncoder contract blindly: a size of 0, a NULL data
 * pointer or an unknown result code would become a malformed stream message
 * or a crash far from the module that caused it. What cannot be checked
 * here (crashes, hangs, leaks, writes out of bounds) is for process
 * isolation (spice-bench --isolate).
 */
#include "config.h"

#include <string.h>

#include "checked-encoder.h"

/* The bound on a frame's size: 4 bytes a pixel (more than any codec of the
 * five needs for a whole frame at the highest quality) plus room for
 * headers. */
#define MAX_FRAME_SLACK_BYTES (UINT64_C(1) << 20) /* 1 MiB */

static guint violations[SV_CHECK_N_KINDS];

typedef struct {
    VideoEncoder base;
    VideoEncoder *inner;
    const SvEncoderDesc *desc;
    gint *logged;
} CheckedEncoder;

uint64_t sv_checked_encoder_max_frame_bytes(uint64_t width, uint64_t height)
{
    return 4 * width * height + MAX_FRAME_SLACK_BYTES;
}

const char *sv_check_violation_to_string(SvCheckViolation kind)
{
    switch (kind) {
    case SV_CHECK_BAD_RESULT:
        return "bad-result";
    case SV_CHECK_NO_BUFFER:
        return "no-buffer";
    case SV_CHECK_NULL_DATA:
        return "null-data";
    case SV_CHECK_NULL_FREE:
        return "null-free";
    case SV_CHECK_EMPTY:
        return "empty";
    case SV_CHECK_OVERSIZE:
        return "oversize";
    case SV_CHECK_STRAY_BUFFER:
        return "stray-buffer";
    case SV_CHECK_WRONG_CODEC:
        return "wrong-codec";
    case SV_CHECK_MISSING_METHOD:
        return "missing-method";
    case SV_CHECK_N_KINDS:
        break;
    }
    return "invalid";
}

guint sv_checked_encoder_get_violations(SvCheckViolation kind)
{
    g_return_val_if_fail(kind < SV_CHECK_N_KINDS, 0);

    return (guint)g_atomic_int_get(&violations[kind]);
}

void sv_checked_encoder_reset_violations(void)
{
    for (guint i = 0; i < SV_CHECK_N_KINDS; i++) {
        g_atomic_int_set(&violations[i], 0);
    }
}

/* Counts a violation and logs the first one of its kind for @desc. A
 * g_message, not a warning: a bad module is not a bug of this library, and
 * the frame still goes out (as an image). */
G_GNUC_PRINTF(4, 5)
static void report(const SvEncoderDesc *desc, gint *logged, SvCheckViolation kind,
                   const char *format, ...)
{
    g_atomic_int_inc(&violations[kind]);

    guint bit = 1u << kind;
    if (logged != NULL && (g_atomic_int_or((guint *)logged, bit) & bit) != 0) {
        return;
    }
    va_list args;
    va_start(args, format);
    g_autofree char *what = g_strdup_vprintf(format, args);
    va_end(args);
    gboolean at_creation = kind == SV_CHECK_WRONG_CODEC || kind == SV_CHECK_MISSING_METHOD;
    g_message("module %s: %s:%s %s; %s (further problems of this kind are not logged)",
              desc->module != NULL ? desc->module : "(built-in)", desc->encoder_name,
              desc->codec_name, what,
              at_creation ? "treated as a factory that failed" : "the frame goes out as an image");
}

static void checked_destroy(VideoEncoder *encoder)
{
    CheckedEncoder *checked = (CheckedEncoder *)encoder;

    checked->inner->destroy(checked->inner);
    g_free(checked);
}

/* Releases a buffer we will not hand on, when it can be released at all. */
static void drop_buffer(VideoBuffer *buffer)
{
    if (buffer != NULL && buffer->free != NULL) {
        buffer->free(buffer);
    }
}

static VideoEncodeResults checked_encode_frame(VideoEncoder *encoder, uint32_t frame_mm_time,
                                               const SpiceBitmap *bitmap, const SpiceRect *src,
                                               int top_down, gpointer bitmap_opaque,
                                               VideoBuffer **outbuf)
{
    CheckedEncoder *checked = (CheckedEncoder *)encoder;
    const SvEncoderDesc *desc = checked->desc;
    VideoBuffer *buffer = NULL;

    /* Read the result as an int: a module may return any value. */
    int result = checked->inner->encode_frame(checked->inner, frame_mm_time, bitmap, src, top_down,
                                              bitmap_opaque, &buffer);

    if (result != VIDEO_ENCODER_FRAME_ENCODE_DONE) {
        if (result != VIDEO_ENCODER_FRAME_UNSUPPORTED && result != VIDEO_ENCODER_FRAME_DROP) {
            report(desc, checked->logged, SV_CHECK_BAD_RESULT, "returned result code %d", result);
            drop_buffer(buffer);
            return VIDEO_ENCODER_FRAME_UNSUPPORTED;
        }
        if (buffer != NULL) {
            report(desc, checked->logged, SV_CHECK_STRAY_BUFFER, "returned %s with a buffer",
                   result == VIDEO_ENCODER_FRAME_DROP ? "DROP" : "UNSUPPORTED");
            drop_buffer(buffer);
            return VIDEO_ENCODER_FRAME_UNSUPPORTED;
        }
        return (VideoEncodeResults)result;
    }

    if (buffer == NULL) {
        report(desc, checked->logged, SV_CHECK_NO_BUFFER, "returned ENCODE_DONE without a buffer");
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }
    if (buffer->free == NULL) {
        /* Nothing can release it: leaked, but the caller never sees it. */
        report(desc, checked->logged, SV_CHECK_NULL_FREE,
               "returned ENCODE_DONE with a buffer whose free is NULL");
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }
    if (buffer->data == NULL) {
        report(desc, checked->logged, SV_CHECK_NULL_DATA,
               "returned ENCODE_DONE with NULL data (size %" PRIu32 ")", buffer->size);
        drop_buffer(buffer);
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }
    if (buffer->size == 0) {
        report(desc, checked->logged, SV_CHECK_EMPTY, "returned ENCODE_DONE with size 0");
        drop_buffer(buffer);
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }

    uint64_t width = 0;
    uint64_t height = 0;
    if (src != NULL && src->right > src->left && src->bottom > src->top) {
        width = (uint64_t)((int64_t)src->right - src->left);
        height = (uint64_t)((int64_t)src->bottom - src->top);
    } else if (bitmap != NULL) {
        width = bitmap->x;
        height = bitmap->y;
    }
    uint64_t max_bytes = sv_checked_encoder_max_frame_bytes(width, height);
    if (buffer->size > max_bytes) {
        report(desc, checked->logged, SV_CHECK_OVERSIZE,
               "returned ENCODE_DONE with size %" PRIu32 " for a %" PRIu64 "x%" PRIu64
               " frame (at most %" PRIu64 " bytes expected)",
               buffer->size, width, height, max_bytes);
        drop_buffer(buffer);
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }

    *outbuf = buffer;
    return VIDEO_ENCODER_FRAME_ENCODE_DONE;
}

static void checked_client_stream_report(VideoEncoder *encoder, uint32_t num_frames,
                                         uint32_t num_drops, uint32_t start_frame_mm_time,
                                         uint32_t end_frame_mm_time, int32_t end_frame_delay,
                                         uint32_t audio_delay)
{
    CheckedEncoder *checked = (CheckedEncoder *)encoder;

    checked->inner->client_stream_report(checked->inner, num_frames, num_drops, start_frame_mm_time,
                                         end_frame_mm_time, end_frame_delay, audio_delay);
}

static void checked_notify_server_frame_drop(VideoEncoder *encoder)
{
    CheckedEncoder *checked = (CheckedEncoder *)encoder;

    checked->inner->notify_server_frame_drop(checked->inner);
}

static uint64_t checked_get_bit_rate(VideoEncoder *encoder)
{
    CheckedEncoder *checked = (CheckedEncoder *)encoder;

    return checked->inner->get_bit_rate(checked->inner);
}

static void checked_get_stats(VideoEncoder *encoder, VideoEncoderStats *stats)
{
    CheckedEncoder *checked = (CheckedEncoder *)encoder;

    checked->inner->get_stats(checked->inner, stats);
}

VideoEncoder *sv_checked_encoder_wrap(const SvEncoderDesc *desc, gint *logged, VideoEncoder *inner)
{
    g_return_val_if_fail(desc != NULL, NULL);

    if (inner == NULL) {
        return NULL;
    }
    const char *missing = inner->destroy == NULL                    ? "destroy"
                          : inner->encode_frame == NULL             ? "encode_frame"
                          : inner->client_stream_report == NULL     ? "client_stream_report"
                          : inner->notify_server_frame_drop == NULL ? "notify_server_frame_drop"
                          : inner->get_bit_rate == NULL             ? "get_bit_rate"
                          : inner->get_stats == NULL                ? "get_stats"
                                                                    : NULL;
    if (missing != NULL) {
        report(desc, logged, SV_CHECK_MISSING_METHOD, "created an encoder without a %s method",
               missing);
        if (inner->destroy != NULL) {
            inner->destroy(inner);
        }
        return NULL;
    }
    if (inner->codec_type != desc->codec_type) {
        report(desc, logged, SV_CHECK_WRONG_CODEC,
               "created an encoder of codec %s (%d) when %s was asked for",
               sv_video_codec_type_to_string(inner->codec_type), (int)inner->codec_type,
               sv_video_codec_type_to_string(desc->codec_type));
        inner->destroy(inner);
        return NULL;
    }

    CheckedEncoder *checked = g_new0(CheckedEncoder, 1);
    checked->base.destroy = checked_destroy;
    checked->base.encode_frame = checked_encode_frame;
    checked->base.client_stream_report = checked_client_stream_report;
    checked->base.notify_server_frame_drop = checked_notify_server_frame_drop;
    checked->base.get_bit_rate = checked_get_bit_rate;
    checked->base.get_stats = checked_get_stats;
    checked->base.codec_type = inner->codec_type;
    checked->inner = inner;
    checked->desc = desc;
    checked->logged = logged;
    return &checked->base;
}
