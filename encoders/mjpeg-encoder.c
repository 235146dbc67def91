/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The built-in MJPEG encoder: every frame is a self-contained baseline JPEG
 * (libjpeg-turbo), and rate control picks a quality from a fixed ladder and a
 * frame rate, as spice-server 0.15 does (docs/mjpeg-encoder.md describes the
 * algorithm and where we differ).
 */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include <spice-video/registry.h>

#include "bitmap.h"
#include "clock.h"
#include "factory-error.h"
#include "fault.h"
#include "rate-callbacks.h"

/* The quality ladder and where evaluation starts. */
static const int quality_ladder[] = {20, 30, 40, 50, 60, 70, 80};
#define QUALITY_COUNT ((int)G_N_ELEMENTS(quality_ladder))
#define QUALITY_MAX_ID (QUALITY_COUNT - 1)
#define QUALITY_MEDIAN_ID (QUALITY_COUNT / 2) /* quality 50 */

#define MJPEG_MAX_FPS 25
#define MJPEG_MIN_FPS 1
#define DEFAULT_SOURCE_FPS MJPEG_MAX_FPS /* when get_source_fps is not given */

/* Below these rates a higher quality is not worth it. */
#define IMPROVE_QUALITY_FPS_STRICT_TH 10    /* above the median quality */
#define IMPROVE_QUALITY_FPS_PERMISSIVE_TH 5 /* at or below it */
#define AVERAGE_SIZE_WINDOW 3               /* frames in the recent-size window */
#define BIT_RATE_EVAL_MIN_NUM_FRAMES 3      /* frames needed to measure a rate */
#define SERVER_STATUS_DOWNGRADE_DROP_FACTOR_TH 0.1
#define CLIENT_POSITIVE_REPORT_TIMEOUT_MS 2000
#define CLIENT_POSITIVE_REPORT_STRICT_TIMEOUT_MS 3000 /* already at high fps and quality */
#define ADJUST_FPS_TIMEOUT_MS 500
#define MAX_CLIENT_PLAYBACK_DELAY_MS 5000
#define WARMUP_TIME_NS (3 * SV_NSEC_PER_SEC) /* decreases ignored after creation */
#define INITIAL_BUFFER_BYTES (32 * 1024)
#define PLAYBACK_LATENCY_DECREASE_FACTOR 0.5
#define VIDEO_VS_AUDIO_LATENCY_FACTOR 1.25
#define VIDEO_DELAY_TH_MS (-15)              /* "the last frame was late" */
#define DEFAULT_FPS_COMPENSATION 1.5         /* adjusted_fps / fps before any measurement */
#define SET_FALLBACK_FPS (MJPEG_MAX_FPS / 2) /* a cancelled SET evaluation lands here */

/* "Not set": spice uses 0, which a virtual clock starting at 0 can read. */
#define NO_TIME INT64_MIN

/* The largest picture side libjpeg accepts. */
#define JPEG_MAX_SIDE 65500
/* Rows handed to libjpeg per jpeg_write_scanlines() call. */
#define ROWS_PER_BATCH 16

typedef enum {
    EVAL_SET,
    EVAL_UPGRADE,
    EVAL_DOWNGRADE,
} EvalType;

typedef enum {
    EVAL_REASON_SIZE_CHANGE,
    EVAL_REASON_RATE_CHANGE,
} EvalReason;

typedef struct {
    EvalType type;
    EvalReason reason;
    uint64_t size_by_quality[QUALITY_COUNT]; /* 0: not sampled */
    /* The bounds an evaluation may not cross, and where a cancelled one lands. */
    int min_quality_id;
    uint32_t min_quality_fps;
    int max_quality_id;
    uint32_t max_quality_fps;
    /* The best rate seen while sampling, and at which index. */
    uint32_t max_sampled_fps;
    int max_sampled_fps_quality_id;
} QualityEval;

typedef struct {
    uint64_t byte_rate; /* target, bytes/s */
    int quality_id;
    uint32_t fps;
    double adjusted_fps; /* pacing rate, between fps and 2 fps */
    int64_t adjusted_fps_start_ns;
    uint64_t adjusted_fps_num_frames;

    gboolean during_quality_eval;
    QualityEval eval;

    /* Tumbling window of recent compressed sizes. */
    uint64_t sum_recent_enc_size;
    uint32_t num_recent_enc_frames;
    uint64_t last_enc_size;
    uint64_t base_enc_size;

    /* What was sent since the last rate change. */
    int64_t change_start_ns;
    uint32_t change_start_mm_time;
    int64_t last_frame_ns;
    uint32_t num_enc_frames;
    uint64_t sum_enc_size;
    gboolean was_upgraded;

    /* Client feedback. */
    int32_t max_video_latency_ms;
    uint32_t max_audio_latency_ms;

    /* Frames the server replaced in its send queue, against frames encoded. */
    uint32_t server_frames_encoded;
    uint32_t server_frames_dropped;

    gboolean warming_up; /* cleared by the first decrease after WARMUP_TIME_NS */
    int64_t warmup_start_ns;
} RateControl;

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
} ErrorManager;

typedef struct MjpegBuffer {
    VideoBuffer base;
    size_t allocated;
} MjpegBuffer;

typedef struct {
    struct jpeg_destination_mgr base;
    MjpegBuffer *buffer;
    gboolean out_of_memory;
} DestinationManager;

typedef struct MjpegEncoder {
    VideoEncoder base;
    VideoEncoderRateControlCbs cbs;
    SvEncoderConfig config;
    uint64_t starting_bit_rate;

    struct jpeg_compress_struct cinfo;
    ErrorManager jerr;
    DestinationManager dest;
    /* Two slots per row of a batch: a gathered (chunk-straddling) line and a
     * converted (16-bit) line. */
    uint8_t *line_buffer;
    size_t line_slot_bytes;

    RateControl rc;

    /* Stats. */
    uint64_t num_frames;
    uint64_t sum_quality;
} MjpegEncoder;

static void mjpeg_destroy(VideoEncoder *video_encoder);

/* ------------------------------------------------------------------------ */
/* Callbacks with their defaults                                            */

static int64_t encoder_now(const MjpegEncoder *encoder)
{
    return sv_clock_now_ns(&encoder->config.clock);
}

static uint32_t get_source_fps(const MjpegEncoder *encoder)
{
    return sv_cbs_source_fps(&encoder->cbs, DEFAULT_SOURCE_FPS);
}

static uint32_t get_latency_ms(const MjpegEncoder *encoder)
{
    return sv_cbs_one_way_latency_ms(&encoder->cbs);
}

static void update_client_playback_delay(MjpegEncoder *encoder, uint32_t delay_ms)
{
    sv_cbs_update_playback_delay(&encoder->cbs, delay_ms);
}

/* Wrap-safe "a is later than b" on the 32-bit mm_time clock. */
static gboolean mm_time_after(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) > 0;
}

/* ------------------------------------------------------------------------ */
/* Rate control (reference section 3)                                        */

/* Two frame transmit times plus the one-way latency, capped at 5 s. */
static uint32_t min_playback_delay_ms(const MjpegEncoder *encoder, uint64_t frame_size)
{
    uint32_t latency = get_latency_ms(encoder);
    uint64_t byte_rate = encoder->rc.byte_rate;

    if (frame_size == 0 || byte_rate == 0) {
        return latency;
    }
    uint64_t one_frame_ms = frame_size * 1000 / byte_rate;
    return (uint32_t)MIN(one_frame_ms * 2 + latency, MAX_CLIENT_PLAYBACK_DELAY_MS);
}

/* Commits a quality and frame rate and starts afresh from them. */
static void reset_quality(MjpegEncoder *encoder, int quality_id, uint32_t fps, uint64_t frame_size)
{
    RateControl *rc = &encoder->rc;
    double fps_ratio;

    rc->during_quality_eval = FALSE;
    if (rc->quality_id != quality_id) {
        rc->last_enc_size = 0;
    }
    if (rc->eval.reason == EVAL_REASON_RATE_CHANGE) {
        rc->server_frames_encoded = 0;
        rc->server_frames_dropped = 0;
    }
    rc->quality_id = quality_id;
    memset(&rc->eval, 0, sizeof(rc->eval));
    rc->eval.max_quality_id = QUALITY_MAX_ID;
    rc->eval.max_quality_fps = MJPEG_MAX_FPS;

    /* Keep the compensation found so far for the new rate. */
    fps_ratio = rc->adjusted_fps > 0 ? rc->adjusted_fps / rc->fps : DEFAULT_FPS_COMPENSATION;
    rc->fps = CLAMP(fps, MJPEG_MIN_FPS, MJPEG_MAX_FPS);
    rc->adjusted_fps = rc->fps * fps_ratio;
    rc->adjusted_fps_start_ns = NO_TIME;
    rc->adjusted_fps_num_frames = 0;
    rc->base_enc_size = frame_size;
    rc->sum_recent_enc_size = 0;
    rc->num_recent_enc_frames = 0;
}

/* Starts an evaluation; an UPGRADE may not go below where we are now, a
 * DOWNGRADE not above, and a cancelled one lands back here. */
static void start_evaluation(RateControl *rc, EvalType type, EvalReason reason)
{
    if (type == EVAL_UPGRADE) {
        rc->eval.min_quality_id = rc->quality_id;
        rc->eval.min_quality_fps = rc->fps;
    } else if (type == EVAL_DOWNGRADE) {
        rc->eval.max_quality_id = rc->quality_id;
        rc->eval.max_quality_fps = rc->fps;
    }
    rc->during_quality_eval = TRUE;
    rc->eval.type = type;
    rc->eval.reason = reason;
}

/* Cancels a running evaluation, landing on its fallback. */
static void stop_evaluation(MjpegEncoder *encoder)
{
    RateControl *rc = &encoder->rc;
    int quality_id;
    uint32_t fps;

    if (!rc->during_quality_eval) {
        return;
    }
    switch (rc->eval.type) {
    case EVAL_UPGRADE:
        quality_id = rc->eval.min_quality_id;
        fps = rc->eval.min_quality_fps;
        break;
    case EVAL_DOWNGRADE:
        quality_id = rc->eval.max_quality_id;
        fps = rc->eval.max_quality_fps;
        break;
    case EVAL_SET:
    default:
        quality_id = QUALITY_MEDIAN_ID;
        fps = SET_FALLBACK_FPS;
        break;
    }
    reset_quality(encoder, quality_id, fps, 0);
}

/* One step of the quality evaluation: sample another index next frame, or
 * settle on the best one sampled. */
static void evaluate_quality(MjpegEncoder *encoder)
{
    RateControl *rc = &encoder->rc;
    QualityEval *eval = &rc->eval;
    uint32_t source_fps = get_source_fps(encoder);
    uint64_t size = eval->size_by_quality[rc->quality_id];
    uint32_t fps;

    if (size == 0) {
        return;
    }
    fps = (uint32_t)MIN(rc->byte_rate / size, UINT32_MAX);
    if (fps > eval->max_sampled_fps || ((fps == eval->max_sampled_fps || fps >= source_fps) &&
                                        rc->quality_id > eval->max_sampled_fps_quality_id)) {
        eval->max_sampled_fps = fps;
        eval->max_sampled_fps_quality_id = rc->quality_id;
    }

    if (rc->quality_id > QUALITY_MEDIAN_ID && fps < IMPROVE_QUALITY_FPS_STRICT_TH &&
        fps < source_fps) {
        /* A high quality that is too slow: step down. */
        gboolean sampled = eval->size_by_quality[rc->quality_id - 1] != 0;
        rc->quality_id--;
        if (!sampled) {
            return;
        }
    } else if ((fps > IMPROVE_QUALITY_FPS_PERMISSIVE_TH && fps >= 0.66 * eval->min_quality_fps) ||
               fps >= source_fps) {
        /* Fast enough: try a higher quality unless there is nothing to learn. */
        if (rc->quality_id == QUALITY_MAX_ID || rc->quality_id >= eval->max_quality_id ||
            eval->size_by_quality[rc->quality_id + 1] != 0) {
            goto finish;
        }
        if (rc->quality_id == QUALITY_MEDIAN_ID && fps < IMPROVE_QUALITY_FPS_STRICT_TH &&
            fps < source_fps) {
            goto finish;
        }
        rc->quality_id++;
        return;
    } else {
        /* Very slow: step down unless at the bottom. */
        if (rc->quality_id == 0 || rc->quality_id <= eval->min_quality_id) {
            goto finish;
        }
        gboolean sampled = eval->size_by_quality[rc->quality_id - 1] != 0;
        rc->quality_id--;
        if (!sampled) {
            return;
        }
    }

finish:;
    int final_id = rc->quality_id;
    if (eval->max_sampled_fps != 0) {
        final_id = MAX(final_id, eval->max_sampled_fps_quality_id);
    }
    uint64_t final_size = eval->size_by_quality[final_id];
    uint32_t final_fps =
        final_size != 0 ? (uint32_t)MIN(rc->byte_rate / final_size, UINT32_MAX) : MJPEG_MAX_FPS;
    if (final_id == eval->min_quality_id) {
        final_fps = MAX(final_fps, eval->min_quality_fps);
    }
    if (final_id == eval->max_quality_id) {
        final_fps = MIN(final_fps, eval->max_quality_fps);
    }
    g_debug("mjpeg %p: quality evaluation done: quality %d, fps %u (byte rate %" G_GUINT64_FORMAT
            ", frame %" G_GUINT64_FORMAT " bytes)",
            (void *)encoder, quality_ladder[final_id], final_fps, rc->byte_rate, final_size);
    reset_quality(encoder, final_id, final_fps, final_size);
    rc->sum_recent_enc_size = final_size;
    rc->num_recent_enc_frames = 1;
    update_client_playback_delay(encoder, min_playback_delay_ms(encoder, final_size));
}

/* Frames do not arrive on a regular grid: measure the rate actually encoded
 * and steer the pacing rate so that it matches fps. */
static void compensate_fps(MjpegEncoder *encoder, int64_t now)
{
    RateControl *rc = &encoder->rc;

    if (rc->during_quality_eval) {
        return;
    }
    int64_t elapsed_ms = (now - rc->adjusted_fps_start_ns) / SV_NSEC_PER_MSEC;
    if (elapsed_ms <= ADJUST_FPS_TIMEOUT_MS || elapsed_ms <= 1000.0 / rc->adjusted_fps) {
        return;
    }
    double avg_fps = (double)rc->adjusted_fps_num_frames * 1000.0 / (double)elapsed_ms;
    if (avg_fps + 0.5 < rc->fps && get_source_fps(encoder) > avg_fps) {
        double raised = avg_fps > 0 ? rc->adjusted_fps * rc->fps / avg_fps : rc->adjusted_fps * 2;
        rc->adjusted_fps = MIN(2.0 * rc->fps, raised);
    } else if (rc->fps + 0.5 < avg_fps) {
        rc->adjusted_fps = MAX((double)rc->fps, rc->adjusted_fps * rc->fps / avg_fps);
    }
    g_debug("mjpeg %p: measured %.2f fps for target %u, pacing at %.2f fps", (void *)encoder,
            avg_fps, rc->fps, rc->adjusted_fps);
    rc->adjusted_fps_start_ns = now;
    rc->adjusted_fps_num_frames = 0;
}

static void clear_rate_measurement(RateControl *rc)
{
    rc->change_start_ns = NO_TIME;
    rc->change_start_mm_time = 0;
    rc->last_frame_ns = NO_TIME;
    rc->num_enc_frames = 0;
    rc->sum_enc_size = 0;
}

static gboolean enough_frames_to_measure(const RateControl *rc)
{
    return rc->num_enc_frames > BIT_RATE_EVAL_MIN_NUM_FRAMES || rc->num_enc_frames > rc->fps;
}

/* Bytes/s sent since the last change; 0 if no time has passed. */
static uint64_t measured_byte_rate(const RateControl *rc)
{
    if (rc->change_start_ns == NO_TIME || rc->last_frame_ns == NO_TIME) {
        return 0;
    }
    double duration_s = (double)(rc->last_frame_ns - rc->change_start_ns) / SV_NSEC_PER_SEC;
    if (duration_s <= 0) {
        return 0;
    }
    double rate = (double)rc->sum_enc_size / duration_s;
    return rate >= (double)UINT64_MAX ? UINT64_MAX : (uint64_t)rate;
}

static void decrease_bit_rate(MjpegEncoder *encoder)
{
    RateControl *rc = &encoder->rc;
    uint64_t measured, step;

    stop_evaluation(encoder);
    rc->max_video_latency_ms = 0;
    rc->max_audio_latency_ms = 0;

    if (rc->warming_up) {
        if (encoder_now(encoder) - rc->warmup_start_ns < WARMUP_TIME_NS) {
            g_debug("mjpeg %p: decrease ignored during warm-up", (void *)encoder);
            return;
        }
        rc->warming_up = FALSE;
    }

    if (enough_frames_to_measure(rc)) {
        measured = measured_byte_rate(rc);
        if (measured == 0) {
            measured = rc->byte_rate;
        }
        step = rc->sum_enc_size / rc->num_enc_frames;
    } else {
        measured = rc->byte_rate;
        step = rc->byte_rate / rc->fps;
    }
    measured = MIN(rc->byte_rate, measured);
    if (step >= measured) {
        step = measured / 2;
    }
    g_debug("mjpeg %p: decrease byte rate %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT,
            (void *)encoder, rc->byte_rate, measured - step);
    rc->byte_rate = measured - step;

    clear_rate_measurement(rc);
    rc->was_upgraded = FALSE;
    start_evaluation(rc, EVAL_DOWNGRADE, EVAL_REASON_RATE_CHANGE);
}

static void increase_bit_rate(MjpegEncoder *encoder)
{
    RateControl *rc = &encoder->rc;

    if (!enough_frames_to_measure(rc)) {
        return;
    }
    uint64_t measured = measured_byte_rate(rc);
    uint64_t avg_size = rc->sum_enc_size / rc->num_enc_frames;

    stop_evaluation(encoder);
    if (measured + avg_size < rc->byte_rate) {
        g_debug("mjpeg %p: stream does not use its rate (%" G_GUINT64_FORMAT
                " of %" G_GUINT64_FORMAT " B/s), re-evaluating only",
                (void *)encoder, measured, rc->byte_rate);
    } else {
        uint64_t raised = MIN(measured, rc->byte_rate) + avg_size;
        g_debug("mjpeg %p: increase byte rate %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT,
                (void *)encoder, rc->byte_rate, raised);
        rc->byte_rate = raised;
    }
    clear_rate_measurement(rc);
    rc->was_upgraded = TRUE;
    start_evaluation(rc, EVAL_UPGRADE, EVAL_REASON_RATE_CHANGE);
}

/* Decrease when more than 10% of the recent frames were replaced in the
 * server's send queue before being encoded. */
static void process_server_drops(MjpegEncoder *encoder)
{
    RateControl *rc = &encoder->rc;
    uint32_t fps = MIN(rc->fps, get_source_fps(encoder));

    if (rc->server_frames_encoded < fps) {
        return;
    }
    double drop_factor = (double)rc->server_frames_dropped /
                         ((double)rc->server_frames_dropped + rc->server_frames_encoded);
    if (drop_factor > SERVER_STATUS_DOWNGRADE_DROP_FACTOR_TH) {
        g_debug("mjpeg %p: server drop factor %.2f", (void *)encoder, drop_factor);
        decrease_bit_rate(encoder);
    }
    rc->server_frames_encoded = 0;
    rc->server_frames_dropped = 0;
}

/* Before each frame: compare what the last frames cost with the budget. */
static void adjust_params_to_bit_rate(MjpegEncoder *encoder)
{
    RateControl *rc = &encoder->rc;
    uint64_t avg_size = 0;

    if (rc->last_enc_size == 0) {
        return;
    }
    if (rc->during_quality_eval) {
        rc->eval.size_by_quality[rc->quality_id] = rc->last_enc_size;
        evaluate_quality(encoder);
        return;
    }
    if (rc->num_recent_enc_frames == 0) {
        return;
    }
    if (rc->num_recent_enc_frames >= AVERAGE_SIZE_WINDOW || rc->num_recent_enc_frames >= rc->fps) {
        uint32_t source_fps = get_source_fps(encoder);
        avg_size = rc->sum_recent_enc_size / rc->num_recent_enc_frames;
        uint64_t new_fps = avg_size != 0 ? rc->byte_rate / avg_size : MJPEG_MAX_FPS;

        if (new_fps > rc->fps && (rc->fps < source_fps || rc->quality_id < QUALITY_MAX_ID)) {
            start_evaluation(rc, EVAL_UPGRADE, EVAL_REASON_SIZE_CHANGE);
        } else if (new_fps < rc->fps && new_fps < source_fps) {
            start_evaluation(rc, EVAL_DOWNGRADE, EVAL_REASON_SIZE_CHANGE);
        }
    }
    if (rc->during_quality_eval) {
        rc->eval.size_by_quality[rc->quality_id] = avg_size;
        evaluate_quality(encoder);
    } else {
        process_server_drops(encoder);
    }
}

static void handle_negative_report(MjpegEncoder *encoder, uint32_t report_end_mm_time)
{
    RateControl *rc = &encoder->rc;

    /* The report may describe frames from before our last change. spice
     * compares mm_times plainly; we compare them wrap-safe. */
    gboolean change_is_later = encoder->config.spice_quirks
                                   ? rc->change_start_mm_time > report_end_mm_time
                                   : mm_time_after(rc->change_start_mm_time, report_end_mm_time);
    if ((rc->change_start_mm_time == 0 || change_is_later) && !rc->was_upgraded) {
        g_debug("mjpeg %p: negative report predates the last change, ignored", (void *)encoder);
        return;
    }
    decrease_bit_rate(encoder);
}

static void handle_positive_report(MjpegEncoder *encoder, uint32_t report_start_mm_time)
{
    RateControl *rc = &encoder->rc;

    if (rc->during_quality_eval && rc->eval.reason == EVAL_REASON_RATE_CHANGE) {
        return;
    }
    uint32_t source_fps = get_source_fps(encoder);
    int32_t stable_ms = ((rc->fps > IMPROVE_QUALITY_FPS_STRICT_TH || rc->fps >= source_fps) &&
                         rc->quality_id > QUALITY_MEDIAN_ID)
                            ? CLIENT_POSITIVE_REPORT_STRICT_TIMEOUT_MS
                            : CLIENT_POSITIVE_REPORT_TIMEOUT_MS;
    /* spice subtracts unsigned, so a period that starts before the change
     * looks very long and stable; we take it as not stable yet. */
    uint32_t elapsed = report_start_mm_time - rc->change_start_mm_time;
    gboolean stable = encoder->config.spice_quirks ? elapsed >= (uint32_t)stable_ms
                                                   : (int32_t)elapsed >= stable_ms;
    if (rc->change_start_mm_time == 0 || !stable) {
        return;
    }
    increase_bit_rate(encoder);
}

static void mjpeg_client_stream_report(VideoEncoder *video_encoder, uint32_t num_frames,
                                       uint32_t num_drops, uint32_t start_frame_mm_time,
                                       uint32_t end_frame_mm_time, int32_t end_frame_delay,
                                       uint32_t audio_delay)
{
    MjpegEncoder *encoder = (MjpegEncoder *)video_encoder;
    RateControl *rc = &encoder->rc;
    gboolean delay_small = FALSE;

    g_debug("mjpeg %p: report frames %u drops %u mm_time %u-%u delay %d audio %u", (void *)encoder,
            num_frames, num_drops, start_frame_mm_time, end_frame_mm_time, end_frame_delay,
            audio_delay);
    if (encoder->config.fixed_quality > 0) {
        return;
    }
    if (rc->during_quality_eval && rc->eval.type == EVAL_DOWNGRADE &&
        rc->eval.reason == EVAL_REASON_RATE_CHANGE) {
        return;
    }

    uint64_t avg_size =
        rc->num_recent_enc_frames != 0 ? rc->sum_recent_enc_size / rc->num_recent_enc_frames : 0;
    uint32_t min_delay = min_playback_delay_ms(encoder, avg_size);
    /* spice-server compares the unsigned delay with the signed report, so a
     * late (negative) frame never raises the playback delay; we compare signed. */
    gboolean needs_more_delay = encoder->config.spice_quirks
                                    ? min_delay > (uint32_t)end_frame_delay
                                    : (int64_t)min_delay > (int64_t)end_frame_delay;
    if (needs_more_delay) {
        if (rc->quality_id != QUALITY_MAX_ID ||
            rc->fps < MIN(get_source_fps(encoder), MJPEG_MAX_FPS) || end_frame_delay < 0) {
            delay_small = TRUE;
            update_client_playback_delay(encoder, min_delay);
        }
    }

    if (end_frame_delay > 0 &&
        audio_delay < PLAYBACK_LATENCY_DECREASE_FACTOR * rc->max_audio_latency_ms &&
        end_frame_delay > VIDEO_VS_AUDIO_LATENCY_FACTOR * audio_delay) {
        /* Video is hogging the link at audio's expense. */
        handle_negative_report(encoder, end_frame_mm_time);
        return;
    }
    if (end_frame_delay < VIDEO_DELAY_TH_MS) {
        handle_negative_report(encoder, end_frame_mm_time);
        return;
    }
    rc->max_video_latency_ms = MAX(rc->max_video_latency_ms, end_frame_delay);
    rc->max_audio_latency_ms = MAX(rc->max_audio_latency_ms, audio_delay);
    if ((end_frame_delay < PLAYBACK_LATENCY_DECREASE_FACTOR * rc->max_video_latency_ms &&
         delay_small) ||
        end_frame_delay < 0.25 * rc->max_video_latency_ms) {
        handle_negative_report(encoder, end_frame_mm_time);
    } else if (num_drops == 0) {
        handle_positive_report(encoder, start_frame_mm_time);
    }
}

static void mjpeg_notify_server_frame_drop(VideoEncoder *video_encoder)
{
    MjpegEncoder *encoder = (MjpegEncoder *)video_encoder;

    if (encoder->config.fixed_quality > 0) {
        return;
    }
    encoder->rc.server_frames_dropped++;
    process_server_drops(encoder);
}

/* ------------------------------------------------------------------------ */
/* Output buffers and libjpeg plumbing                                       */

static void mjpeg_buffer_free(VideoBuffer *video_buffer)
{
    MjpegBuffer *buffer = (MjpegBuffer *)video_buffer;

    free(buffer->base.data);
    g_free(buffer);
}

static MjpegBuffer *mjpeg_buffer_new(size_t bytes)
{
    MjpegBuffer *buffer = sv_fault_hit("mjpeg.buffer") ? NULL : g_try_new0(MjpegBuffer, 1);

    if (buffer == NULL) {
        return NULL;
    }
    buffer->base.data = malloc(bytes);
    if (buffer->base.data == NULL) {
        g_free(buffer);
        return NULL;
    }
    buffer->allocated = bytes;
    buffer->base.free = mjpeg_buffer_free;
    return buffer;
}

static void dest_init(j_compress_ptr cinfo)
{
    DestinationManager *dest = (DestinationManager *)cinfo->dest;

    dest->base.next_output_byte = dest->buffer->base.data;
    dest->base.free_in_buffer = dest->buffer->allocated;
}

/* The buffer is full: double it. */
static boolean dest_empty(j_compress_ptr cinfo)
{
    DestinationManager *dest = (DestinationManager *)cinfo->dest;
    MjpegBuffer *buffer = dest->buffer;
    size_t used = buffer->allocated;
    /* VideoBuffer.size is 32-bit. */
    uint8_t *grown = used <= UINT32_MAX / 2 && !sv_fault_hit("mjpeg.grow")
                         ? realloc(buffer->base.data, used * 2)
                         : NULL;

    if (grown == NULL) {
        dest->out_of_memory = TRUE;
        ERREXIT(cinfo, JERR_OUT_OF_MEMORY);
    }
    buffer->base.data = grown;
    buffer->allocated = used * 2;
    dest->base.next_output_byte = grown + used;
    dest->base.free_in_buffer = used;
    return TRUE;
}

static void dest_term(j_compress_ptr cinfo)
{
    DestinationManager *dest = (DestinationManager *)cinfo->dest;

    dest->buffer->base.size = (uint32_t)(dest->buffer->allocated - dest->base.free_in_buffer);
}

static void error_exit(j_common_ptr cinfo)
{
    ErrorManager *err = (ErrorManager *)cinfo->err;
    char message[JMSG_LENGTH_MAX];

    cinfo->err->format_message(cinfo, message);
    g_debug("mjpeg: libjpeg error: %s", message);
    longjmp(err->jump, 1);
}

static void output_message(j_common_ptr cinfo)
{
    char message[JMSG_LENGTH_MAX];

    cinfo->err->format_message(cinfo, message);
    g_debug("mjpeg: libjpeg: %s", message);
}

/* ------------------------------------------------------------------------ */
/* Frame input                                                              */

typedef struct {
    int bytes_per_pixel;
    J_COLOR_SPACE color_space; /* of what we hand to libjpeg */
    gboolean expand_16bit;
} InputFormat;

static gboolean input_format_for(uint8_t spice_format, InputFormat *format)
{
    switch (spice_format) {
    case SPICE_BITMAP_FMT_32BIT:
    case SPICE_BITMAP_FMT_RGBA: /* alpha ignored */
        *format = (InputFormat){4, JCS_EXT_BGRX, FALSE};
        return TRUE;
    case SPICE_BITMAP_FMT_24BIT:
        *format = (InputFormat){3, JCS_EXT_BGR, FALSE};
        return TRUE;
    case SPICE_BITMAP_FMT_16BIT:
        *format = (InputFormat){2, JCS_EXT_RGB, TRUE};
        return TRUE;
    default:
        return FALSE;
    }
}

/* x1r5g5b5 little-endian to 8-bit R,G,B by bit replication. */
static void expand_16bit_line(const uint8_t *src, uint8_t *dst, uint32_t width)
{
    for (uint32_t i = 0; i < width; i++) {
        unsigned pixel = src[2 * i] | (unsigned)src[2 * i + 1] << 8;
        unsigned r = (pixel >> 10) & 0x1f, g = (pixel >> 5) & 0x1f, b = pixel & 0x1f;
        dst[3 * i] = (uint8_t)(r << 3 | r >> 2);
        dst[3 * i + 1] = (uint8_t)(g << 3 | g >> 2);
        dst[3 * i + 2] = (uint8_t)(b << 3 | b >> 2);
    }
}

static gboolean ensure_line_buffer(MjpegEncoder *encoder, size_t slot_bytes)
{
    if (encoder->line_slot_bytes >= slot_bytes) {
        return TRUE;
    }
    uint8_t *grown = sv_fault_hit("mjpeg.lines")
                         ? NULL
                         : g_try_realloc(encoder->line_buffer, slot_bytes * 2 * ROWS_PER_BATCH);
    if (grown == NULL) {
        return FALSE;
    }
    encoder->line_buffer = grown;
    encoder->line_slot_bytes = slot_bytes;
    return TRUE;
}

/* ------------------------------------------------------------------------ */
/* encode_frame                                                             */

/* The rate-control part of a frame: FALSE means drop it. */
static gboolean rate_control_start_frame(MjpegEncoder *encoder, uint32_t frame_mm_time)
{
    RateControl *rc = &encoder->rc;
    int64_t now = encoder_now(encoder);

    if (rc->adjusted_fps_start_ns == NO_TIME) {
        rc->adjusted_fps_start_ns = now;
    }
    compensate_fps(encoder, now);
    /* No previous frame since the last rate change: nothing to pace against. */
    if (rc->last_frame_ns != NO_TIME &&
        (double)(now - rc->last_frame_ns) < SV_NSEC_PER_SEC / rc->adjusted_fps) {
        return FALSE;
    }
    adjust_params_to_bit_rate(encoder);
    if (!rc->during_quality_eval || rc->eval.reason == EVAL_REASON_SIZE_CHANGE) {
        if (rc->change_start_ns == NO_TIME) {
            rc->change_start_ns = now;
        }
        if (rc->change_start_mm_time == 0) {
            rc->change_start_mm_time = frame_mm_time;
        }
        rc->last_frame_ns = now;
    }
    return TRUE;
}

static void rate_control_end_frame(MjpegEncoder *encoder, uint64_t size)
{
    RateControl *rc = &encoder->rc;

    rc->last_enc_size = size;
    rc->server_frames_encoded++;
    if (rc->during_quality_eval && rc->eval.reason != EVAL_REASON_SIZE_CHANGE) {
        return;
    }
    if (!rc->during_quality_eval) {
        if (rc->num_recent_enc_frames >= AVERAGE_SIZE_WINDOW) {
            rc->num_recent_enc_frames = 0;
            rc->sum_recent_enc_size = 0;
        }
        rc->sum_recent_enc_size += size;
        rc->num_recent_enc_frames++;
        rc->adjusted_fps_num_frames++;
    }
    rc->sum_enc_size += size;
    rc->num_enc_frames++;
}

/* Compresses the lines; FALSE on any failure (the caller returns UNSUPPORTED). */
static gboolean compress_lines(MjpegEncoder *encoder, const SpiceBitmap *bitmap,
                               const SpiceRect *src, const InputFormat *format, uint64_t first_line,
                               int quality, MjpegBuffer *buffer)
{
    struct jpeg_compress_struct *cinfo = &encoder->cinfo;
    uint32_t width = (uint32_t)(src->right - src->left);
    uint32_t height = (uint32_t)(src->bottom - src->top);
    size_t line_bytes = (size_t)width * format->bytes_per_pixel;
    size_t row_bytes = (size_t)width * 3; /* converted 16-bit rows */
    size_t slot_bytes = MAX(line_bytes, row_bytes);
    SvChunkCursor cursor;
    JSAMPROW rows[ROWS_PER_BATCH];

    if (!ensure_line_buffer(encoder, slot_bytes)) {
        return FALSE;
    }
    sv_chunk_cursor_init(&cursor, bitmap->data);
    encoder->dest.buffer = buffer;
    encoder->dest.out_of_memory = FALSE;

    if (setjmp(encoder->jerr.jump)) {
        jpeg_abort_compress(cinfo);
        return FALSE;
    }
    cinfo->image_width = width;
    cinfo->image_height = height;
    cinfo->input_components = format->color_space == JCS_EXT_BGRX ? 4 : 3;
    cinfo->in_color_space = format->color_space;
    jpeg_set_defaults(cinfo);
    cinfo->dct_method = JDCT_IFAST;
    jpeg_set_quality(cinfo, quality, TRUE);
    /* Every frame carries its tables: each one decodes on its own. */
    jpeg_start_compress(cinfo, TRUE);

    uint64_t line = first_line;
    while (cinfo->next_scanline < cinfo->image_height) {
        uint32_t batch = MIN(ROWS_PER_BATCH, cinfo->image_height - cinfo->next_scanline);
        for (uint32_t i = 0; i < batch; i++, line++) {
            uint8_t *slot = encoder->line_buffer + 2 * i * slot_bytes;
            uint64_t offset = line * bitmap->stride + (uint64_t)src->left * format->bytes_per_pixel;
            const uint8_t *data = sv_chunk_cursor_read(&cursor, offset, line_bytes, slot);
            if (data == NULL) {
                jpeg_abort_compress(cinfo);
                return FALSE;
            }
            if (format->expand_16bit) {
                expand_16bit_line(data, slot + slot_bytes, width);
                data = slot + slot_bytes;
            }
            rows[i] = (JSAMPROW)data;
        }
        jpeg_write_scanlines(cinfo, rows, batch);
    }
    jpeg_finish_compress(cinfo);
    return TRUE;
}

static VideoEncodeResults mjpeg_encode_frame(VideoEncoder *video_encoder, uint32_t frame_mm_time,
                                             const SpiceBitmap *bitmap, const SpiceRect *src,
                                             int top_down, gpointer bitmap_opaque,
                                             VideoBuffer **outbuf)
{
    MjpegEncoder *encoder = (MjpegEncoder *)video_encoder;
    RateControl *rc = &encoder->rc;
    gboolean fixed = encoder->config.fixed_quality > 0;
    InputFormat format;

    g_return_val_if_fail(bitmap != NULL && src != NULL && outbuf != NULL,
                         VIDEO_ENCODER_FRAME_UNSUPPORTED);

    /* spice allocates the buffer before pacing; a dropped frame needs none. */
    if (!fixed && !rate_control_start_frame(encoder, frame_mm_time)) {
        return VIDEO_ENCODER_FRAME_DROP;
    }
    /* Size the first guess on the last frame rather than always 32 KiB. */
    size_t initial = MAX(INITIAL_BUFFER_BYTES, rc->last_enc_size + rc->last_enc_size / 4);
    MjpegBuffer *buffer = mjpeg_buffer_new(initial);
    if (buffer == NULL) {
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }
    if (!input_format_for(bitmap->format, &format)) {
        g_debug("mjpeg %p: bitmap format %u unsupported", (void *)encoder, bitmap->format);
        mjpeg_buffer_free(&buffer->base);
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }
    int quality = fixed ? MIN(encoder->config.fixed_quality, 100) : quality_ladder[rc->quality_id];
    encoder->num_frames++;
    encoder->sum_quality += quality;

    /* Lines are emitted in memory order; only the first one depends on it. */
    gboolean ok = sv_bitmap_src_is_valid(bitmap, src, JPEG_MAX_SIDE);
    uint64_t first_line = 0;
    if (ok) {
        first_line = sv_bitmap_first_line(bitmap, src, top_down);
        ok = sv_bitmap_has_src_data(bitmap, src, format.bytes_per_pixel, first_line) &&
             compress_lines(encoder, bitmap, src, &format, first_line, quality, buffer);
    }
    if (!ok) {
        g_debug("mjpeg %p: frame %ux%u src (%d,%d)-(%d,%d) cannot be encoded", (void *)encoder,
                bitmap->x, bitmap->y, src->left, src->top, src->right, src->bottom);
        mjpeg_buffer_free(&buffer->base);
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }
    if (!fixed) {
        rate_control_end_frame(encoder, buffer->base.size);
    } else {
        rc->last_enc_size = buffer->base.size;
    }
    *outbuf = &buffer->base;
    return VIDEO_ENCODER_FRAME_ENCODE_DONE;
}

/* ------------------------------------------------------------------------ */
/* The rest of the vtable                                                   */

static uint64_t mjpeg_get_bit_rate(VideoEncoder *video_encoder)
{
    MjpegEncoder *encoder = (MjpegEncoder *)video_encoder;

    return encoder->rc.byte_rate * 8;
}

static void mjpeg_get_stats(VideoEncoder *video_encoder, VideoEncoderStats *stats)
{
    MjpegEncoder *encoder = (MjpegEncoder *)video_encoder;

    g_return_if_fail(stats != NULL);
    stats->starting_bit_rate = encoder->starting_bit_rate;
    stats->cur_bit_rate = mjpeg_get_bit_rate(video_encoder);
    /* NaN before the first frame, as spice-server reports it. */
    stats->avg_quality =
        encoder->num_frames != 0 ? (double)encoder->sum_quality / (double)encoder->num_frames : NAN;
}

static void mjpeg_destroy(VideoEncoder *video_encoder)
{
    MjpegEncoder *encoder = (MjpegEncoder *)video_encoder;

    if (encoder == NULL) {
        return;
    }
    jpeg_destroy_compress(&encoder->cinfo);
    g_free(encoder->line_buffer);
    g_free(encoder);
}

gboolean sv_mjpeg_encoder_get_rate_state(VideoEncoder *video_encoder, SvMjpegRateState *state)
{
    MjpegEncoder *encoder = (MjpegEncoder *)video_encoder;

    g_return_val_if_fail(state != NULL, FALSE);
    if (video_encoder == NULL || video_encoder->destroy != mjpeg_destroy) {
        return FALSE;
    }
    state->quality_index = encoder->rc.quality_id;
    state->quality = encoder->config.fixed_quality > 0 ? encoder->config.fixed_quality
                                                       : quality_ladder[encoder->rc.quality_id];
    state->fps = encoder->rc.fps;
    state->adjusted_fps = encoder->rc.adjusted_fps;
    state->byte_rate = encoder->rc.byte_rate;
    state->evaluating = encoder->rc.during_quality_eval;
    state->warming_up = encoder->rc.warming_up &&
                        encoder_now(encoder) - encoder->rc.warmup_start_ns < WARMUP_TIME_NS;
    return TRUE;
}

VideoEncoder *sv_mjpeg_encoder_new_full(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                        VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                        bitmap_unref_t bitmap_unref, const SvEncoderConfig *config)
{
    MjpegEncoder *encoder;

    if (codec_type != SPICE_VIDEO_CODEC_TYPE_MJPEG) {
        g_debug("mjpeg: codec type %d refused: MJPEG only", codec_type);
        sv_factory_error_set("the built-in encoder only produces MJPEG, not %s",
                             sv_video_codec_type_to_string(codec_type));
        return NULL;
    }
    if (config != NULL && (config->fixed_quality < 0 || config->fixed_quality > 100)) {
        g_debug("mjpeg: fixed quality %d out of range 0..100", config->fixed_quality);
        sv_factory_error_set("mjpeg: fixed quality %d out of range 0..100", config->fixed_quality);
        return NULL;
    }
    encoder = g_new0(MjpegEncoder, 1);
    encoder->base.destroy = mjpeg_destroy;
    encoder->base.encode_frame = mjpeg_encode_frame;
    encoder->base.client_stream_report = mjpeg_client_stream_report;
    encoder->base.notify_server_frame_drop = mjpeg_notify_server_frame_drop;
    encoder->base.get_bit_rate = mjpeg_get_bit_rate;
    encoder->base.get_stats = mjpeg_get_stats;
    encoder->base.codec_type = SPICE_VIDEO_CODEC_TYPE_MJPEG;
    if (cbs != NULL) {
        encoder->cbs = *cbs;
    }
    if (config != NULL) {
        encoder->config = *config;
    }
    encoder->starting_bit_rate = starting_bit_rate;

    encoder->cinfo.err = jpeg_std_error(&encoder->jerr.base);
    encoder->jerr.base.error_exit = error_exit;
    encoder->jerr.base.output_message = output_message;
    /* libjpeg reports an allocation failure in jpeg_create_compress through
     * error_exit, which jumps here: the factory then fails. */
    if (setjmp(encoder->jerr.jump)) {
        jpeg_destroy_compress(&encoder->cinfo);
        sv_factory_error_set("mjpeg: libjpeg cannot create a compressor");
        g_free(encoder);
        return NULL;
    }
    if (sv_fault_hit("mjpeg.create")) {
        /* What libjpeg's memory manager does when it cannot allocate. */
        ERREXIT(&encoder->cinfo, JERR_OUT_OF_MEMORY);
    }
    jpeg_create_compress(&encoder->cinfo);
    encoder->dest.base.init_destination = dest_init;
    encoder->dest.base.empty_output_buffer = dest_empty;
    encoder->dest.base.term_destination = dest_term;
    encoder->cinfo.dest = &encoder->dest.base;

    /* Start at the median quality and 5 fps, then evaluate the ladder. */
    encoder->rc.byte_rate = starting_bit_rate / 8;
    clear_rate_measurement(&encoder->rc);
    reset_quality(encoder, QUALITY_MEDIAN_ID, 5, 0);
    start_evaluation(&encoder->rc, EVAL_SET, EVAL_REASON_RATE_CHANGE);
    encoder->rc.warming_up = TRUE;
    encoder->rc.warmup_start_ns = encoder_now(encoder);
    (void)bitmap_ref;
    (void)bitmap_unref;
    return &encoder->base;
}

VideoEncoder *sv_mjpeg_encoder_new(SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                   VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                   bitmap_unref_t bitmap_unref)
{
    return sv_mjpeg_encoder_new_full(codec_type, starting_bit_rate, cbs, bitmap_ref, bitmap_unref,
                                     NULL);
}
