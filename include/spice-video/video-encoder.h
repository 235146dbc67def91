/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * video-encoder.h: the VideoEncoder contract of spice-server 0.15.
 *
 * Every type, member order and signature here is the one spice-server 0.15's
 * `server/video-encoder.h` has, so a spice-server build can put any factory
 * of this library in its codec table unchanged. tests/headers/test-abi.c pins
 * the layout on x86-64.
 *
 * Threading, for every method below: one encoder instance is only ever used
 * from one thread at a time (in spice-server, the display worker thread of
 * the channel that owns the stream). Different instances are independent and
 * may be used from different threads at once.
 */
#ifndef SPICE_VIDEO_VIDEO_ENCODER_H
#define SPICE_VIDEO_VIDEO_ENCODER_H

#include <inttypes.h>

#include <glib.h>
#include <spice/enums.h>

#include <spice-video/spice-draw.h>
#include <spice-video/sv-export.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct VideoBuffer VideoBuffer;

/**
 * One compressed frame, returned by encode_frame() with
 * VIDEO_ENCODER_FRAME_ENCODE_DONE.
 *
 * Ownership: the encoder allocates it and hands it to the caller, who calls
 * `buffer->free(buffer)` exactly once, when the bytes are no longer needed
 * (spice-server does so after they were written to the socket). Buffers may
 * outlive the encode_frame() call that made them and several may be
 * outstanding at once; an encoder never reuses a buffer that was not freed.
 * free() may be called after the encoder was destroyed.
 */
struct VideoBuffer {
    /** First byte of the compressed frame. */
    uint8_t *data;
    /** Number of bytes at data. */
    uint32_t size;
    /** Releases the buffer and everything it holds. Thread: any, exactly once. */
    void (*free)(VideoBuffer *buffer);
};

/** What encode_frame() did with a frame. */
typedef enum {
    /** The frame cannot be encoded (format, layout, size, internal error):
     *  the caller sends it as an ordinary image. *outbuf is not set. */
    VIDEO_ENCODER_FRAME_UNSUPPORTED = -1,
    /** Rate control skipped the frame: nothing is sent for it and the caller
     *  treats the drawable as handled. *outbuf is not set. */
    VIDEO_ENCODER_FRAME_DROP,
    /** *outbuf holds one compressed frame, owned by the caller. */
    VIDEO_ENCODER_FRAME_ENCODE_DONE,
} VideoEncodeResults;

/** Statistics of one encoder, filled by get_stats(). */
typedef struct VideoEncoderStats {
    /** Bit rate given to the factory, bit/s. */
    uint64_t starting_bit_rate;
    /** Current bit rate, bit/s: the MJPEG encoder's target, or the measured
     *  rate for encoders that measure it. */
    uint64_t cur_bit_rate;
    /** MJPEG: mean JPEG quality of the frames started (NaN before the first
     *  frame, as in spice-server). Other encoders document their own. */
    double avg_quality;
} VideoEncoderStats;

typedef struct VideoEncoder VideoEncoder;

/** An encoder instance: a table of methods plus the codec it produces. */
struct VideoEncoder {
    /**
     * Releases the encoder. Buffers it returned stay valid until freed.
     * Thread: the encoder's thread (spice: the display worker).
     * @param encoder the encoder; invalid afterwards.
     */
    void (*destroy)(VideoEncoder *encoder);

    /**
     * Compresses the @src area of @bitmap into one frame. May block while
     * the frame is compressed. Thread: the encoder's thread.
     *
     * @param encoder the encoder.
     * @param frame_mm_time the frame's multimedia time stamp, ms.
     * @param bitmap the source frame. Valid only during the call: an encoder
     *        that keeps pointers into it afterwards takes a reference with
     *        bitmap_ref(bitmap_opaque) and later drops it with
     *        bitmap_unref(bitmap_opaque), both from this thread.
     * @param src the area to encode, in visual (top-down) coordinates; the
     *        frame is (right - left) x (bottom - top) pixels.
     * @param top_down non-zero if the first line in memory is the visual top.
     *        Lines are emitted in memory order: a bottom-up source gives an
     *        upside-down frame, which the client flips because the stream was
     *        announced without the top-down flag.
     * @param bitmap_opaque the argument for bitmap_ref / bitmap_unref.
     * @param outbuf out: the compressed frame, only with ENCODE_DONE.
     *        Ownership: transferred to the caller (see VideoBuffer).
     * @return a VideoEncodeResults value, never anything else.
     */
    VideoEncodeResults (*encode_frame)(VideoEncoder *encoder, uint32_t frame_mm_time,
                                       const SpiceBitmap *bitmap, const SpiceRect *src,
                                       int top_down, gpointer bitmap_opaque, VideoBuffer **outbuf);

    /**
     * Hands the encoder one client STREAM_REPORT. Thread: the encoder's
     * thread; may call update_client_playback_delay synchronously.
     *
     * @param num_frames frames that reached the client in the period.
     * @param num_drops frames of those the client dropped (late).
     * @param start_frame_mm_time mm_time of the first frame of the period.
     * @param end_frame_mm_time mm_time of the last frame of the period.
     * @param end_frame_delay how long before its play time the last frame
     *        arrived, ms; negative when it was late.
     * @param audio_delay audio playback latency, ms, or UINT32_MAX when no
     *        audio is tracked.
     */
    void (*client_stream_report)(VideoEncoder *encoder, uint32_t num_frames, uint32_t num_drops,
                                 uint32_t start_frame_mm_time, uint32_t end_frame_mm_time,
                                 int32_t end_frame_delay, uint32_t audio_delay);

    /**
     * Tells the encoder the server discarded one frame of this stream
     * before encoding it, because a newer one replaced it in the send queue.
     * Thread: the encoder's thread.
     */
    void (*notify_server_frame_drop)(VideoEncoder *encoder);

    /** @return the current bit rate, bit/s. Thread: the encoder's thread. */
    uint64_t (*get_bit_rate)(VideoEncoder *encoder);

    /**
     * Fills @stats. Thread: the encoder's thread.
     * @param stats out; Ownership: the caller's.
     */
    void (*get_stats)(VideoEncoder *encoder, VideoEncoderStats *stats);

    /** The codec this encoder emits. */
    SpiceVideoCodecType codec_type;
};

/**
 * Rate-control callbacks, copied by value into the encoder at creation.
 * Every function pointer may be NULL; the encoder then uses its default
 * (round trip 0 ms; source fps 25 for MJPEG; no playback-delay updates).
 * They are called synchronously from inside the encoder's methods.
 */
typedef struct VideoEncoderRateControlCbs {
    /** The argument of each callback. */
    void *opaque;
    /** @return the measured round trip to the client, ms. */
    uint32_t (*get_roundtrip_ms)(void *opaque);
    /** @return the input frame rate, frames/s, before any drop. */
    uint32_t (*get_source_fps)(void *opaque);
    /** Tells the server the playback delay, ms, this stream needs. */
    void (*update_client_playback_delay)(void *opaque, uint32_t delay_ms);
} VideoEncoderRateControlCbs;

/** Takes a reference on the object behind bitmap_opaque. Thread: the
 *  encoder's caller thread only. */
typedef void (*bitmap_ref_t)(gpointer data);
/** Drops a reference taken with bitmap_ref_t. Same thread rule. */
typedef void (*bitmap_unref_t)(gpointer data);

/**
 * An encoder factory.
 *
 * @param codec_type the codec wanted; a factory that cannot produce it
 *        returns NULL.
 * @param starting_bit_rate first estimate of the available rate, bit/s.
 * @param cbs rate-control callbacks; copied, so it may be freed on return.
 * @param bitmap_ref, bitmap_unref see bitmap_ref_t.
 * @return a new encoder, destroyed with its destroy() method; or NULL when
 *         this factory cannot serve the codec here (the server then tries
 *         the next entry of its codec list).
 */
typedef VideoEncoder *(*new_video_encoder_t)(SpiceVideoCodecType codec_type,
                                             uint64_t starting_bit_rate,
                                             VideoEncoderRateControlCbs *cbs,
                                             bitmap_ref_t bitmap_ref, bitmap_unref_t bitmap_unref);

#ifdef __cplusplus
}
#endif

#endif /* SPICE_VIDEO_VIDEO_ENCODER_H */
