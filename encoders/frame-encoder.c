/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The shared frame encoder: spice-server 0.15's GStreamer encoder behaviour
 * (reference 4.4, 4.7-4.10) around a codec backend (codec-backend.h). Each
 * frame is converted once to I420 (or I444) with libyuv into a buffer this
 * encoder owns, so bitmaps are never referenced after encode_frame() returns
 * and bitmap_ref/bitmap_unref are never called (no zero-copy, hence none of
 * spice's pending-unref queue). docs/streaming-encoders.md describes the
 * rate control and where we differ from spice-server.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#if SV_HAVE_LIBYUV
#include <libyuv.h>
#endif

#include "bitmap.h"
#include "clock.h"
#include "factory-error.h"
#include "fault.h"
#include "frame-encoder.h"
#include "rate-callbacks.h"

/* Bit-rate state machine (reference 4.7). */
#define MIN_BIT_RATE_BPS (128 * 1024)          /* also the smallest step */
#define DEFAULT_BIT_RATE_BPS (8 * 1024 * 1024) /* when asked for 0 */
#define BIT_RATE_CUT 2                         /* congestion: halve */
#define BIT_RATE_REDUCE (4.0 / 3.0)            /* milder reduction */
#define BIT_RATE_MAX_STEP_BPS (1024 * 1024)    /* largest additive step */
#define BIT_RATE_MARGIN (4.0 / 3.0)            /* range narrow enough; backend headroom */
#define VBUFFER_SIZE_MS 300                    /* virtual buffer, ms worth of bit_rate */
#define MAX_PERIOD_NS (SV_NSEC_PER_SEC / 3)    /* longest gap between frames: 3 fps */
#define LATENCY_MARGIN 0.1                     /* jitter margin on the network latency */
#define VIDEO_BIT_RATE_MARGIN 0.05             /* restart-only backends: ignore smaller changes */
#define UP_INTERVAL_MS 2000                    /* between two increases */
#define UP_CLIENT_STABLE_MS (2 * 60 * 1000)    /* STABLE, client reports seen */
#define UP_SERVER_STABLE_MS (4 * 3600 * 1000)  /* STABLE, no client reports */
#define UP_RESET_MAX_MS 30000                  /* re-probe the maximum after this long at it */
#define RATE_CAP_COMPRESSION 10                /* cap: raw bit rate / 10 */

/* Client-report scoring (reference 4.9). */
#define VIDEO_MARGIN_GOOD 0.75
#define VIDEO_MARGIN_AVERAGE 0.5
#define VIDEO_MARGIN_BAD 0.3
#define VIDEO_DELTA_BAD 0.2
#define VIDEO_DELTA_AVERAGE 0.15
#define AUDIO_MARGIN_BAD 0.5
#define AUDIO_VIDEO_RATIO 1.25

/* Frame history (reference 4.8). */
#define HISTORY_SIZE 60
#define STATS_WINDOW_FRAMES 21 /* enough to average I and P frames */

#define MAX_ERRORS 3          /* failures since the last size change before giving up */
#define DEFAULT_SOURCE_FPS 30 /* spice's GStreamer default without get_source_fps */
#define DEFAULT_ENCODE_TIMEOUT_NS SV_NSEC_PER_SEC
#define MAX_SIDE_PIXELS 16384 /* larger pictures are refused */

#define MS_PER_SEC 1000

G_STATIC_ASSERT(STATS_WINDOW_FRAMES <= HISTORY_SIZE);

typedef struct {
    uint32_t mm_time;
    uint32_t size;        /* bytes */
    uint64_t duration_ns; /* encode time */
} FrameRecord;

typedef struct {
    uint8_t spice_format;
    uint32_t bytes_per_pixel;
    uint32_t bits_per_pixel; /* for the cap and the stats, as spice counts them */
} PixelFormat;

typedef struct FrameEncoder {
    VideoEncoder base;
    const SvCodecBackendClass *klass;
    void *backend;
    gboolean started; /* start() succeeded and nothing asked for a restart since */
    gboolean force_key_frame;
    uint32_t backend_starts;

    VideoEncoderRateControlCbs cbs;
    SvEncoderConfig config;
    int64_t encode_timeout_ns;
    gboolean yuv444;
    uint64_t starting_bit_rate;

    /* The current frame geometry; bytes_per_pixel 0 before the first frame. */
    uint32_t width;
    uint32_t height;
    PixelFormat format;
    uint32_t errors;

    /* Pixel conversion buffers, reused from frame to frame. */
    uint8_t *yuv;
    size_t yuv_bytes;
    uint8_t *gather; /* lines gathered from several chunks */
    size_t gather_bytes;
    uint8_t *argb; /* intermediate for I444 from 16/24-bit sources */
    size_t argb_bytes;
    gboolean have_first_mm_time;
    uint32_t first_mm_time;

    /* Frame history ring and the statistics window at its end. */
    FrameRecord history[HISTORY_SIZE];
    uint32_t history_first;
    uint32_t history_last;
    uint32_t stat_first;
    uint64_t stat_size_sum;
    uint64_t stat_duration_sum;
    uint32_t stat_size_max; /* 0: rescan the window */

    /* Bit-rate state machine. */
    uint64_t bit_rate;
    uint64_t video_bit_rate;
    uint64_t min_bit_rate;
    uint64_t max_bit_rate;
    uint64_t bit_rate_step;
    SvFrameRateStatus status;
    uint32_t increase_interval_ms;
    uint32_t last_change;
    int64_t vbuffer_size;
    int64_t vbuffer_free;
    gboolean have_next_frame_mm_time;
    uint32_t next_frame_mm_time;

    /* Feedback. */
    gboolean has_client_reports;
    int32_t last_video_margin;
    int32_t max_video_margin;
    uint32_t max_audio_margin;
    uint32_t server_drops;
} FrameEncoder;

static void frame_encoder_destroy(VideoEncoder *video_encoder);

/* ------------------------------------------------------------------------ */
/* Callbacks with their defaults                                            */

static int64_t encoder_now(const FrameEncoder *encoder)
{
    return sv_clock_now_ns(&encoder->config.clock);
}

/* spice divides by the source rate; 0 is taken as 1 frame/s. */
static uint32_t get_source_fps(const FrameEncoder *encoder)
{
    return MAX(sv_cbs_source_fps(&encoder->cbs, DEFAULT_SOURCE_FPS), 1);
}

static uint32_t get_network_latency_ms(const FrameEncoder *encoder)
{
    return sv_cbs_one_way_latency_ms(&encoder->cbs);
}

/* ------------------------------------------------------------------------ */
/* Frame history (reference 4.8)                                            */

static uint32_t ring_next(uint32_t index)
{
    return (index + 1) % HISTORY_SIZE;
}

static uint32_t ring_prev(uint32_t index)
{
    return (index + HISTORY_SIZE - 1) % HISTORY_SIZE;
}

static uint32_t stats_count(const FrameEncoder *encoder)
{
    return (encoder->history_last + HISTORY_SIZE - encoder->stat_first) % HISTORY_SIZE + 1;
}

static uint32_t newest_mm_time(const FrameEncoder *encoder)
{
    return encoder->history[encoder->history_last].mm_time;
}

static uint64_t average_encode_ns(const FrameEncoder *encoder)
{
    return encoder->stat_duration_sum / stats_count(encoder);
}

static uint64_t average_frame_size(const FrameEncoder *encoder)
{
    return encoder->stat_size_sum / stats_count(encoder);
}

static uint32_t maximum_frame_size(FrameEncoder *encoder)
{
    if (encoder->stat_size_max == 0) {
        for (uint32_t i = encoder->stat_first;; i = ring_next(i)) {
            encoder->stat_size_max = MAX(encoder->stat_size_max, encoder->history[i].size);
            if (i == encoder->history_last) {
                break;
            }
        }
    }
    return encoder->stat_size_max;
}

/* The window restarts from the newest frame on every rate change. */
static void reset_statistics(FrameEncoder *encoder)
{
    const FrameRecord *newest = &encoder->history[encoder->history_last];

    encoder->stat_first = encoder->history_last;
    encoder->stat_size_sum = newest->size;
    encoder->stat_duration_sum = newest->duration_ns;
    encoder->stat_size_max = newest->size;
}

static void add_frame(FrameEncoder *encoder, uint32_t mm_time, uint64_t duration_ns, uint32_t size)
{
    if (stats_count(encoder) == STATS_WINDOW_FRAMES) {
        const FrameRecord *oldest = &encoder->history[encoder->stat_first];
        encoder->stat_size_sum -= oldest->size;
        encoder->stat_duration_sum -= oldest->duration_ns;
        if (oldest->size == encoder->stat_size_max) {
            encoder->stat_size_max = 0; /* the largest is leaving: rescan when needed */
        }
        encoder->stat_first = ring_next(encoder->stat_first);
    }
    encoder->stat_size_sum += size;
    encoder->stat_duration_sum += duration_ns;
    if (encoder->stat_size_max != 0 && size > encoder->stat_size_max) {
        encoder->stat_size_max = size;
    }

    encoder->history_last = ring_next(encoder->history_last);
    if (encoder->history_last == encoder->history_first) {
        encoder->history_first = ring_next(encoder->history_first);
    }
    encoder->history[encoder->history_last] = (FrameRecord){mm_time, size, duration_ns};
}

/* Bytes of the statistics window over the time from its oldest frame to
 * when the next frame may be sent. */
static uint64_t effective_bit_rate(const FrameEncoder *encoder)
{
    uint32_t end = encoder->have_next_frame_mm_time
                       ? encoder->next_frame_mm_time
                       : newest_mm_time(encoder) + MS_PER_SEC / get_source_fps(encoder);
    uint32_t elapsed_ms = end - encoder->history[encoder->stat_first].mm_time;

    if (elapsed_ms == 0) {
        return 0;
    }
    return encoder->stat_size_sum * 8 * MS_PER_SEC / elapsed_ms;
}

/* The rate of the frames from @from to @to. The time a frame takes is up to
 * the next frame, so the last frame counts only if a later one is known. The
 * start frame is looked for strictly before the end frame. */
static uint64_t period_bit_rate(const FrameEncoder *encoder, uint32_t from, uint32_t to)
{
    uint32_t index = encoder->history_last;
    gboolean have_later = FALSE, found_end = FALSE;
    uint32_t later_mm_time = 0, end_mm_time = 0;
    uint64_t sum = 0;

    for (;;) {
        const FrameRecord *frame = &encoder->history[index];
        if (!found_end) {
            if (frame->mm_time == to) {
                found_end = TRUE;
                if (have_later) {
                    end_mm_time = later_mm_time;
                    sum = frame->size;
                } else {
                    end_mm_time = to;
                }
            } else {
                have_later = TRUE;
                later_mm_time = frame->mm_time;
            }
        } else if (frame->mm_time == from) {
            uint32_t elapsed_ms = end_mm_time - from;
            sum += frame->size;
            return elapsed_ms != 0 ? sum * 8 * MS_PER_SEC / elapsed_ms : 0;
        } else {
            sum += frame->size;
        }
        if (index == encoder->history_first) {
            g_debug("frame encoder %p: period %u-%u outside the history", (void *)encoder, from,
                    to);
            return 0;
        }
        index = ring_prev(index);
    }
}

/* ------------------------------------------------------------------------ */
/* Bit-rate state machine (reference 4.7)                                   */

/* The raw bit rate of the source: width x height x bpp x fps. spice uses
 * 32-bit products, which wrap from 1440p60 / 2160p30 upwards. */
static uint64_t raw_bit_rate(const FrameEncoder *encoder)
{
    uint32_t fps = get_source_fps(encoder);

    if (encoder->config.spice_quirks) {
        return (uint32_t)(encoder->width * encoder->height * encoder->format.bits_per_pixel * fps);
    }
    return (uint64_t)encoder->width * encoder->height * encoder->format.bits_per_pixel * fps;
}

/* No more than a 10:1 compression of the raw frames is worth sending. */
static uint64_t bit_rate_cap(const FrameEncoder *encoder)
{
    return raw_bit_rate(encoder) / RATE_CAP_COMPRESSION;
}

static const char *status_name(SvFrameRateStatus status)
{
    switch (status) {
    case SV_FRAME_RATE_DECREASING:
        return "decreasing";
    case SV_FRAME_RATE_INCREASING:
        return "increasing";
    case SV_FRAME_RATE_STABLE:
    default:
        return "stable";
    }
}

/* The backend's own target. Live-capable backends take every change now;
 * the others need a restart, which spice only does for a change of more
 * than 5%. Without @may_restart (low delay: a restart's key frame is the
 * largest frame there is) only a live change, or the target of the next
 * start, is made. */
static void set_video_bit_rate(FrameEncoder *encoder, uint64_t video_bit_rate, gboolean may_restart)
{
    if (video_bit_rate == encoder->video_bit_rate) {
        return;
    }
    if (encoder->started && encoder->klass->set_bit_rate != NULL &&
        encoder->klass->set_bit_rate(encoder->backend, video_bit_rate)) {
        g_debug("frame encoder %p: backend rate %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
                " bit/s (live)",
                (void *)encoder, encoder->video_bit_rate, video_bit_rate);
        encoder->video_bit_rate = video_bit_rate;
        return;
    }
    if (!may_restart) {
        if (!encoder->started) {
            encoder->video_bit_rate = video_bit_rate; /* the next start uses it */
        }
        return;
    }
    uint64_t diff = video_bit_rate > encoder->video_bit_rate
                        ? video_bit_rate - encoder->video_bit_rate
                        : encoder->video_bit_rate - video_bit_rate;
    if ((double)diff > (double)encoder->video_bit_rate * VIDEO_BIT_RATE_MARGIN) {
        g_debug("frame encoder %p: backend rate %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
                " bit/s (restart)",
                (void *)encoder, encoder->video_bit_rate, video_bit_rate);
        encoder->video_bit_rate = video_bit_rate;
        encoder->started = FALSE;
    }
}

/* The playback delay the client needs: send the largest and an average
 * frame, cross the network with a jitter margin, and encode. */
static uint32_t min_playback_delay_ms(FrameEncoder *encoder)
{
    uint64_t size = (uint64_t)maximum_frame_size(encoder) + average_frame_size(encoder);
    uint64_t send_ms = MS_PER_SEC * size * 8 / encoder->bit_rate;
    uint32_t net_ms = (uint32_t)(get_network_latency_ms(encoder) * (1.0 + LATENCY_MARGIN));

    return (uint32_t)MIN(send_ms + net_ms + average_encode_ns(encoder) / SV_NSEC_PER_MSEC,
                         UINT32_MAX);
}

/* The frame-dropping logic: when the next frame may be encoded. */
static void update_next_frame_mm_time(FrameEncoder *encoder)
{
    uint64_t period_ns = SV_NSEC_PER_SEC / get_source_fps(encoder);
    uint64_t min_delay_ns = average_encode_ns(encoder);

    if (min_delay_ns > period_ns) {
        g_debug("frame encoder %p: encoding takes %" G_GUINT64_FORMAT
                " ns per frame, longer than the frame period: too slow for real time",
                (void *)encoder, min_delay_ns);
    }
    min_delay_ns = MIN(min_delay_ns, (uint64_t)MAX_PERIOD_NS);
    encoder->have_next_frame_mm_time = TRUE;
    if (encoder->vbuffer_free >= 0) {
        encoder->next_frame_mm_time =
            newest_mm_time(encoder) + (uint32_t)(min_delay_ns / SV_NSEC_PER_MSEC);
        return;
    }

    /* Skip enough frames for the bit rate to pay the deficit back. */
    uint64_t deficit_ns =
        (uint64_t)(-encoder->vbuffer_free) * 8 * SV_NSEC_PER_SEC / encoder->bit_rate;
    uint64_t drops = (deficit_ns + period_ns - 1) / period_ns;
    uint64_t delay_ns = drops * period_ns + period_ns / 2;
    g_debug("frame encoder %p: %" G_GINT64_FORMAT " bytes over budget: dropping %" G_GUINT64_FORMAT
            " frames",
            (void *)encoder, -encoder->vbuffer_free, drops);
    if (delay_ns > (uint64_t)MAX_PERIOD_NS) {
        /* Too many drops: make the backend aim lower instead. */
        uint64_t with_margin = (uint64_t)((double)encoder->bit_rate * BIT_RATE_MARGIN);
        set_video_bit_rate(encoder,
                           encoder->video_bit_rate > with_margin ? with_margin : encoder->bit_rate,
                           TRUE);
        delay_ns = MAX_PERIOD_NS;
    }
    encoder->next_frame_mm_time =
        newest_mm_time(encoder) + (uint32_t)(MAX(delay_ns, min_delay_ns) / SV_NSEC_PER_MSEC);
    /* Only computed (and the round trip only asked) when the server listens. */
    if (encoder->cbs.update_client_playback_delay != NULL) {
        sv_cbs_update_playback_delay(&encoder->cbs, min_playback_delay_ms(encoder));
    }
}

static void set_bit_rate(FrameEncoder *encoder, uint64_t bit_rate)
{
    if (bit_rate == 0) {
        bit_rate = DEFAULT_BIT_RATE_BPS;
    }
    if (bit_rate == encoder->bit_rate) {
        return;
    }
    if (bit_rate < MIN_BIT_RATE_BPS) {
        bit_rate = MIN_BIT_RATE_BPS;
    } else if (bit_rate > encoder->bit_rate) {
        bit_rate = MIN(bit_rate, bit_rate_cap(encoder));
    }

    if (bit_rate < encoder->min_bit_rate) {
        encoder->min_bit_rate = bit_rate;
        encoder->bit_rate_step = 0;
    } else if (encoder->status == SV_FRAME_RATE_DECREASING && bit_rate > encoder->bit_rate) {
        /* Turned around: the last rate recovered from the congestion. On the
         * very first call bit_rate is 0, so the minimum becomes 0 (spice). */
        encoder->min_bit_rate = encoder->bit_rate;
        encoder->bit_rate_step = 0;
    } else if (encoder->status != SV_FRAME_RATE_DECREASING && bit_rate < encoder->bit_rate) {
        encoder->max_bit_rate = encoder->bit_rate - MIN_BIT_RATE_BPS;
        encoder->bit_rate_step = 0;
    }
    encoder->increase_interval_ms = UP_INTERVAL_MS;

    if (encoder->bit_rate_step == 0) {
        /* Unsigned as in spice: a maximum below the minimum gives the largest step. */
        uint64_t spread = encoder->max_bit_rate - encoder->min_bit_rate;
        encoder->bit_rate_step =
            CLAMP(spread / 10, (uint64_t)MIN_BIT_RATE_BPS, (uint64_t)BIT_RATE_MAX_STEP_BPS);
        encoder->status =
            bit_rate < encoder->bit_rate ? SV_FRAME_RATE_DECREASING : SV_FRAME_RATE_INCREASING;
        if ((double)encoder->max_bit_rate / BIT_RATE_MARGIN < (double)encoder->min_bit_rate) {
            /* The range is narrow enough: settle at its safe end. */
            bit_rate = encoder->min_bit_rate;
            encoder->status = SV_FRAME_RATE_STABLE;
            encoder->increase_interval_ms =
                encoder->has_client_reports ? UP_CLIENT_STABLE_MS : UP_SERVER_STABLE_MS;
            set_video_bit_rate(encoder, bit_rate, TRUE);
        }
    }
    g_debug("frame encoder %p: bit rate %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT
            " bit/s, %s, range %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT " step %" G_GUINT64_FORMAT,
            (void *)encoder, encoder->bit_rate, bit_rate, status_name(encoder->status),
            encoder->min_bit_rate, encoder->max_bit_rate, encoder->bit_rate_step);

    encoder->last_change = newest_mm_time(encoder);
    encoder->bit_rate = bit_rate;
    /* Resize the virtual buffer without ever adding free space to it. */
    int64_t new_size = (int64_t)(bit_rate * VBUFFER_SIZE_MS / MS_PER_SEC / 8);
    if (new_size < encoder->vbuffer_size && encoder->vbuffer_free > 0) {
        encoder->vbuffer_free = MAX(0, encoder->vbuffer_free + new_size - encoder->vbuffer_size);
    }
    encoder->vbuffer_size = new_size;
    update_next_frame_mm_time(encoder);

    /* Frames sent at the previous rate say nothing about this one. */
    reset_statistics(encoder);

    uint64_t with_margin = (uint64_t)((double)bit_rate * BIT_RATE_MARGIN);
    if (bit_rate > encoder->video_bit_rate) {
        set_video_bit_rate(encoder, with_margin, TRUE);
    } else if (encoder->config.low_delay && with_margin < encoder->video_bit_rate) {
        /* Low delay: the target comes down with the rate, so that frames
         * get smaller rather than fewer. */
        set_video_bit_rate(encoder, with_margin, FALSE);
    }
}

/* bit_rate - step. spice subtracts in uint64: 0 becomes the 8 Mibit/s
 * default and a step larger than the rate wraps to the cap. */
static uint64_t decremented_bit_rate(const FrameEncoder *encoder)
{
    if (encoder->config.spice_quirks || encoder->bit_rate > encoder->bit_rate_step) {
        return encoder->bit_rate - encoder->bit_rate_step;
    }
    return MIN_BIT_RATE_BPS;
}

/* Divides the rate by @factor, not below the minimum unless already at it. */
static void lower_bit_rate(FrameEncoder *encoder, double factor)
{
    uint64_t lowered = (uint64_t)((double)encoder->bit_rate / factor);

    if (encoder->bit_rate != encoder->min_bit_rate) {
        lowered = MAX(encoder->min_bit_rate, lowered);
    }
    set_bit_rate(encoder, lowered);
}

static void increase_bit_rate(FrameEncoder *encoder)
{
    if (effective_bit_rate(encoder) < encoder->bit_rate) {
        /* The backend does not use its budget: more would not help. */
        return;
    }
    if (encoder->bit_rate == encoder->max_bit_rate &&
        newest_mm_time(encoder) - encoder->last_change > UP_RESET_MAX_MS) {
        /* The maximum held for a while: it was probably set too low. */
        g_debug("frame encoder %p: re-probing the maximum bit rate", (void *)encoder);
        encoder->max_bit_rate = bit_rate_cap(encoder);
        encoder->status = SV_FRAME_RATE_INCREASING;
    }
    set_bit_rate(encoder, MIN(encoder->bit_rate + encoder->bit_rate_step, encoder->max_bit_rate));
}

/* Server drops since the last frame: the link is congested. FALSE if none. */
static gboolean handle_server_drops(FrameEncoder *encoder, uint32_t frame_mm_time)
{
    if (encoder->server_drops == 0) {
        return FALSE;
    }
    g_debug("frame encoder %p: %u server drops", (void *)encoder, encoder->server_drops);
    /* The virtual buffer is most likely empty by now. */
    encoder->vbuffer_free = MIN(encoder->vbuffer_free, 0);
    /* A zero-size frame so that the dropping time does not count as refill. */
    add_frame(encoder, frame_mm_time, 0, 0);
    if (encoder->server_drops >= get_source_fps(encoder)) {
        lower_bit_rate(encoder, BIT_RATE_CUT);
    } else {
        lower_bit_rate(encoder, BIT_RATE_REDUCE);
    }
    encoder->server_drops = 0;
    return TRUE;
}

static void server_increase_bit_rate(FrameEncoder *encoder, uint32_t frame_mm_time)
{
    if (!encoder->has_client_reports && encoder->server_drops == 0 &&
        frame_mm_time - encoder->last_change >= encoder->increase_interval_ms) {
        increase_bit_rate(encoder);
    }
}

/* ------------------------------------------------------------------------ */
/* Pixel conversion                                                         */

static gboolean pixel_format_for(uint8_t spice_format, PixelFormat *format)
{
    switch (spice_format) {
    case SPICE_BITMAP_FMT_32BIT:
    case SPICE_BITMAP_FMT_RGBA: /* alpha ignored */
        *format = (PixelFormat){spice_format, 4, 32};
        return TRUE;
    case SPICE_BITMAP_FMT_24BIT:
        *format = (PixelFormat){spice_format, 3, 24};
        return TRUE;
    case SPICE_BITMAP_FMT_16BIT:
        *format = (PixelFormat){spice_format, 2, 16};
        return TRUE;
    default:
        return FALSE;
    }
}

#if SV_HAVE_LIBYUV
static gboolean ensure_buffer(uint8_t **buffer, size_t *allocated, size_t needed)
{
    if (*allocated >= needed) {
        return TRUE;
    }
    uint8_t *grown = sv_fault_hit("frame.convert") ? NULL : g_try_realloc(*buffer, needed);
    if (grown == NULL) {
        return FALSE;
    }
    *buffer = grown;
    *allocated = needed;
    return TRUE;
}

/* Finds the packed source of @src: a pointer into the bitmap when all its
 * lines lie in one chunk, else the lines gathered, in memory order, into
 * encoder->gather. */
static const uint8_t *locate_lines(FrameEncoder *encoder, const SpiceBitmap *bitmap,
                                   const SpiceRect *src, uint64_t first_line, int *stride_out)
{
    uint32_t bpp = encoder->format.bytes_per_pixel;
    size_t line_bytes = (size_t)encoder->width * bpp;
    uint64_t first = first_line * bitmap->stride + (uint64_t)src->left * bpp;
    uint64_t area_bytes = (uint64_t)(encoder->height - 1) * bitmap->stride + line_bytes;
    SvChunkCursor cursor;

    sv_chunk_cursor_init(&cursor, bitmap->data);
    if (bitmap->stride <= INT_MAX) {
        const uint8_t *in_place = sv_chunk_cursor_span(&cursor, first, area_bytes);
        if (in_place != NULL) {
            *stride_out = (int)bitmap->stride;
            return in_place;
        }
    }

    /* Lines in several chunks, possibly straddling them: copy them. */
    if (!ensure_buffer(&encoder->gather, &encoder->gather_bytes, line_bytes * encoder->height)) {
        return NULL;
    }
    for (uint32_t y = 0; y < encoder->height; y++) {
        uint8_t *dst = encoder->gather + (size_t)y * line_bytes;
        const uint8_t *line =
            sv_chunk_cursor_read(&cursor, first + (uint64_t)y * bitmap->stride, line_bytes, dst);
        if (line == NULL) {
            return NULL;
        }
        if (line != dst) {
            memcpy(dst, line, line_bytes);
        }
    }
    *stride_out = (int)line_bytes;
    return encoder->gather;
}

/* Converts @src of @bitmap into encoder->yuv and describes it in @frame. */
static gboolean convert_frame(FrameEncoder *encoder, const SpiceBitmap *bitmap,
                              const SpiceRect *src, uint64_t first_line, SvYuvFrame *frame)
{
    int width = (int)encoder->width, height = (int)encoder->height;
    int chroma_width = encoder->yuv444 ? width : (width + 1) / 2;
    int chroma_height = encoder->yuv444 ? height : (height + 1) / 2;
    size_t luma_bytes = (size_t)width * height;
    size_t chroma_bytes = (size_t)chroma_width * chroma_height;
    int src_stride = 0;
    const uint8_t *pixels = locate_lines(encoder, bitmap, src, first_line, &src_stride);

    if (pixels == NULL ||
        !ensure_buffer(&encoder->yuv, &encoder->yuv_bytes, luma_bytes + 2 * chroma_bytes)) {
        return FALSE;
    }
    uint8_t *y = encoder->yuv, *u = y + luma_bytes, *v = u + chroma_bytes;
    int ret;
    if (!encoder->yuv444) {
        switch (encoder->format.spice_format) {
        case SPICE_BITMAP_FMT_24BIT:
            ret = RGB24ToI420(pixels, src_stride, y, width, u, chroma_width, v, chroma_width, width,
                              height);
            break;
        case SPICE_BITMAP_FMT_16BIT:
            /* libyuv reads the top bit as alpha, which its YUV output ignores. */
            ret = ARGB1555ToI420(pixels, src_stride, y, width, u, chroma_width, v, chroma_width,
                                 width, height);
            break;
        default:
            ret = ARGBToI420(pixels, src_stride, y, width, u, chroma_width, v, chroma_width, width,
                             height);
            break;
        }
    } else {
        const uint8_t *argb = pixels;
        int argb_stride = src_stride;
        if (encoder->format.bytes_per_pixel != 4) {
            /* libyuv has no direct 24/16-bit to I444: go through ARGB. */
            argb_stride = width * 4;
            if (!ensure_buffer(&encoder->argb, &encoder->argb_bytes,
                               (size_t)argb_stride * height)) {
                return FALSE;
            }
            ret =
                encoder->format.spice_format == SPICE_BITMAP_FMT_24BIT
                    ? RGB24ToARGB(pixels, src_stride, encoder->argb, argb_stride, width, height)
                    : ARGB1555ToARGB(pixels, src_stride, encoder->argb, argb_stride, width, height);
            if (ret != 0) {
                return FALSE;
            }
            argb = encoder->argb;
        }
        ret = ARGBToI444(argb, argb_stride, y, width, u, chroma_width, v, chroma_width, width,
                         height);
    }
    if (ret != 0) {
        return FALSE;
    }
    *frame = (SvYuvFrame){
        .planes = {y, u, v},
        .strides = {width, chroma_width, chroma_width},
        .width = encoder->width,
        .height = encoder->height,
        .yuv444 = encoder->yuv444,
    };
    return TRUE;
}
#endif

/* ------------------------------------------------------------------------ */
/* encode_frame                                                             */

static gboolean start_backend(FrameEncoder *encoder)
{
    g_autoptr(GError) error = NULL;
    SvBackendFormat format = {
        .codec = encoder->base.codec_type,
        .width = encoder->width,
        .height = encoder->height,
        .fps = get_source_fps(encoder),
        .yuv444 = encoder->yuv444,
    };

    if (!encoder->klass->start(encoder->backend, &format, encoder->video_bit_rate, &error)) {
        g_debug("frame encoder %p: %s start failed: %s", (void *)encoder, encoder->klass->name,
                error != NULL ? error->message : "no reason given");
        return FALSE;
    }
    g_debug("frame encoder %p: %s started, %ux%u%s at %u fps, %" G_GUINT64_FORMAT " bit/s",
            (void *)encoder, encoder->klass->name, format.width, format.height,
            format.yuv444 ? " I444" : " I420", format.fps, encoder->video_bit_rate);
    encoder->started = TRUE;
    encoder->force_key_frame = TRUE;
    encoder->backend_starts++;
    return TRUE;
}

/* A new size or format: the first frame sets the rate control up. */
static void frame_geometry_changed(FrameEncoder *encoder, uint32_t frame_mm_time)
{
    if (encoder->bit_rate != 0) {
        encoder->started = FALSE; /* new caps: restart */
    } else if (encoder->config.no_rate_control) {
        uint64_t rate =
            encoder->starting_bit_rate != 0 ? encoder->starting_bit_rate : DEFAULT_BIT_RATE_BPS;
        encoder->history[encoder->history_last].mm_time = frame_mm_time;
        encoder->bit_rate = encoder->video_bit_rate = rate;
        encoder->min_bit_rate = encoder->max_bit_rate = rate;
        encoder->status = SV_FRAME_RATE_STABLE;
    } else {
        encoder->history[encoder->history_last].mm_time = frame_mm_time;
        encoder->max_bit_rate = bit_rate_cap(encoder);
        encoder->min_bit_rate = MIN_BIT_RATE_BPS;
        encoder->status = SV_FRAME_RATE_DECREASING;
        set_bit_rate(encoder, encoder->starting_bit_rate);
        encoder->vbuffer_free = 0; /* slow start: the key frame goes into deficit */
    }
    encoder->errors = 0;
}

static void count_error(FrameEncoder *encoder)
{
    encoder->errors++;
    encoder->started = FALSE;
}

static VideoEncodeResults frame_encoder_encode_frame(VideoEncoder *video_encoder,
                                                     uint32_t frame_mm_time,
                                                     const SpiceBitmap *bitmap,
                                                     const SpiceRect *src, int top_down,
                                                     gpointer bitmap_opaque, VideoBuffer **outbuf)
{
    FrameEncoder *encoder = (FrameEncoder *)video_encoder;
    gboolean rate_control = !encoder->config.no_rate_control;
    PixelFormat format;

    g_return_val_if_fail(bitmap != NULL && src != NULL && outbuf != NULL,
                         VIDEO_ENCODER_FRAME_UNSUPPORTED);
    *outbuf = NULL;

    if (!sv_bitmap_src_is_valid(bitmap, src, MAX_SIDE_PIXELS)) {
        g_debug("frame encoder %p: src (%d,%d)-(%d,%d) of a %ux%u bitmap refused", (void *)encoder,
                src->left, src->top, src->right, src->bottom, bitmap->x, bitmap->y);
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }
    uint32_t width = (uint32_t)(src->right - src->left);
    uint32_t height = (uint32_t)(src->bottom - src->top);

    if (width != encoder->width || height != encoder->height ||
        bitmap->format != encoder->format.spice_format || encoder->format.bytes_per_pixel == 0) {
        g_debug("frame encoder %p: format change %ux%u:%u -> %ux%u:%u", (void *)encoder,
                encoder->width, encoder->height, encoder->format.spice_format, width, height,
                bitmap->format);
        if (!pixel_format_for(bitmap->format, &format)) {
            /* As spice: refused until the size or format changes. */
            encoder->errors = MAX_ERRORS + 1;
            return VIDEO_ENCODER_FRAME_UNSUPPORTED;
        }
        encoder->format = format;
        encoder->width = width;
        encoder->height = height;
        frame_geometry_changed(encoder, frame_mm_time);
    } else if (encoder->errors >= MAX_ERRORS) {
        if (encoder->errors == MAX_ERRORS) {
            g_debug("frame encoder %p: %s cannot encode %ux%u frames, giving up on this size",
                    (void *)encoder, encoder->klass->name, width, height);
            encoder->errors++;
        }
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }

    /* Lines are taken in memory order; only the first one depends on it. */
    uint64_t first_line = sv_bitmap_first_line(bitmap, src, top_down);
    if (!sv_bitmap_has_src_data(bitmap, src, encoder->format.bytes_per_pixel, first_line)) {
        g_debug("frame encoder %p: bitmap data too short or stride %u too small", (void *)encoder,
                bitmap->stride);
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }

    if (rate_control && (handle_server_drops(encoder, frame_mm_time) ||
                         frame_mm_time < encoder->next_frame_mm_time)) {
        return VIDEO_ENCODER_FRAME_DROP;
    }

    if (!encoder->started && !start_backend(encoder)) {
        count_error(encoder);
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }

    int64_t start_ns = encoder_now(encoder);
    SvYuvFrame frame;
#if SV_HAVE_LIBYUV
    if (!convert_frame(encoder, bitmap, src, first_line, &frame)) {
        g_debug("frame encoder %p: pixel conversion failed", (void *)encoder);
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }
#else
    /* The factory refuses to create encoders without libyuv. */
    return VIDEO_ENCODER_FRAME_UNSUPPORTED;
#endif
    if (!encoder->have_first_mm_time) {
        encoder->have_first_mm_time = TRUE;
        encoder->first_mm_time = frame_mm_time;
    }
    frame.mm_time = frame_mm_time;
    frame.pts_ns = (int64_t)(uint32_t)(frame_mm_time - encoder->first_mm_time) * SV_NSEC_PER_MSEC;
    frame.force_key_frame = encoder->force_key_frame;

    VideoBuffer *out = NULL;
    SvBackendResult result =
        encoder->klass->encode(encoder->backend, &frame, encoder->encode_timeout_ns, &out);
    if (result == SV_BACKEND_OK && out == NULL) {
        result = SV_BACKEND_ERROR;
    }
    if (result != SV_BACKEND_OK) {
        g_debug("frame encoder %p: %s %s, restarting it for the next frame", (void *)encoder,
                encoder->klass->name, result == SV_BACKEND_TIMEOUT ? "timed out" : "failed");
        if (out != NULL) {
            out->free(out);
        }
        count_error(encoder);
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }
    encoder->force_key_frame = FALSE;
    int64_t duration_ns = MAX(encoder_now(encoder) - start_ns, 0);

    uint32_t previous_mm_time = newest_mm_time(encoder);
    add_frame(encoder, frame_mm_time, (uint64_t)duration_ns, out->size);
    if (rate_control) {
        /* The virtual buffer refills at bit_rate and pays for this frame. */
        int64_t refill = (int64_t)(encoder->bit_rate *
                                   (uint32_t)(frame_mm_time - previous_mm_time) / MS_PER_SEC / 8);
        encoder->vbuffer_free =
            MIN(encoder->vbuffer_free + refill, encoder->vbuffer_size) - (int64_t)out->size;
        server_increase_bit_rate(encoder, frame_mm_time);
        update_next_frame_mm_time(encoder);
    }
    *outbuf = out;
    return VIDEO_ENCODER_FRAME_ENCODE_DONE;
}

/* ------------------------------------------------------------------------ */
/* Feedback                                                                 */

static void frame_encoder_client_stream_report(VideoEncoder *video_encoder, uint32_t num_frames,
                                               uint32_t num_drops, uint32_t start_frame_mm_time,
                                               uint32_t end_frame_mm_time, int32_t video_margin,
                                               uint32_t audio_margin)
{
    FrameEncoder *encoder = (FrameEncoder *)video_encoder;

    if (encoder->config.no_rate_control) {
        return;
    }
    encoder->has_client_reports = TRUE;
    encoder->max_video_margin = MAX(encoder->max_video_margin, video_margin);
    encoder->max_audio_margin = MAX(encoder->max_audio_margin, audio_margin);
    int64_t delta = (int64_t)video_margin - encoder->last_video_margin;
    encoder->last_video_margin = video_margin;
    uint64_t period_rate = period_bit_rate(encoder, start_frame_mm_time, end_frame_mm_time);

    g_debug("frame encoder %p: client report %u/%u drops, margins video %d/%d audio %u/%u, "
            "period %" G_GUINT64_FORMAT " bit/s%s",
            (void *)encoder, num_drops, num_frames, video_margin, encoder->max_video_margin,
            audio_margin, encoder->max_audio_margin, period_rate,
            start_frame_mm_time < encoder->last_change ? " (obsolete)" : "");
    if (encoder->status == SV_FRAME_RATE_DECREASING && start_frame_mm_time < encoder->last_change) {
        return; /* it covers frames sent before the last cut */
    }

    /* Even the largest frames should arrive a period before their time. */
    double min_margin =
        MS_PER_SEC / get_source_fps(encoder) + get_network_latency_ms(encoder) * LATENCY_MARGIN;
    double max_margin = encoder->max_video_margin;
    unsigned score;
    if (num_drops != 0) {
        score = 4;
    } else if (delta >= 0) {
        score = 0; /* bad perhaps, but getting better */
    } else if (video_margin < min_margin * VIDEO_MARGIN_BAD ||
               video_margin < max_margin * VIDEO_MARGIN_BAD) {
        score = 3;
    } else if (video_margin < min_margin || video_margin < max_margin * VIDEO_MARGIN_AVERAGE) {
        score = 2;
    } else if (video_margin < max_margin * VIDEO_MARGIN_GOOD) {
        score = 1;
    } else {
        score = 0;
    }
    /* A fast-falling margin makes it worse. */
    double abs_max_margin = ABS(max_margin);
    if (delta < -abs_max_margin * VIDEO_DELTA_BAD) {
        score += 2;
    } else if (delta < -abs_max_margin * VIDEO_DELTA_AVERAGE) {
        score += 1;
    }

    if (score > 3) {
        g_debug("frame encoder %p: score %u, cut", (void *)encoder, score);
        lower_bit_rate(encoder, BIT_RATE_CUT);
    } else if (score == 3) {
        g_debug("frame encoder %p: score 3, reduce", (void *)encoder);
        lower_bit_rate(encoder, BIT_RATE_REDUCE);
    } else if (score == 2) {
        g_debug("frame encoder %p: score 2, decrement", (void *)encoder);
        set_bit_rate(encoder, decremented_bit_rate(encoder));
    } else if (audio_margin < encoder->max_audio_margin * AUDIO_MARGIN_BAD &&
               audio_margin * AUDIO_VIDEO_RATIO < video_margin) {
        g_debug("frame encoder %p: leaving room for audio", (void *)encoder);
        set_bit_rate(encoder, decremented_bit_rate(encoder));
    } else if (score == 1 && period_rate <= encoder->bit_rate &&
               encoder->status == SV_FRAME_RATE_INCREASING) {
        g_debug("frame encoder %p: margin degraded since the increase, decrement", (void *)encoder);
        set_bit_rate(encoder, decremented_bit_rate(encoder));
    } else if (score == 0 &&
               newest_mm_time(encoder) - encoder->last_change >= encoder->increase_interval_ms) {
        increase_bit_rate(encoder);
    }
}

static void frame_encoder_notify_server_frame_drop(VideoEncoder *video_encoder)
{
    FrameEncoder *encoder = (FrameEncoder *)video_encoder;

    if (!encoder->config.no_rate_control) {
        encoder->server_drops++;
    }
}

/* ------------------------------------------------------------------------ */
/* The rest of the vtable                                                   */

static uint64_t frame_encoder_get_bit_rate(VideoEncoder *video_encoder)
{
    return effective_bit_rate((FrameEncoder *)video_encoder);
}

static void frame_encoder_get_stats(VideoEncoder *video_encoder, VideoEncoderStats *stats)
{
    FrameEncoder *encoder = (FrameEncoder *)video_encoder;

    g_return_if_fail(stats != NULL);
    stats->starting_bit_rate = encoder->starting_bit_rate;
    stats->cur_bit_rate = effective_bit_rate(encoder);
    /* The compression ratio as a quality proxy (integer division, as spice). */
    stats->avg_quality = stats->cur_bit_rate != 0
                             ? 100.0 - (double)(raw_bit_rate(encoder) / stats->cur_bit_rate)
                             : 0;
    if (stats->avg_quality < 0) {
        stats->avg_quality = 0;
    }
}

static void frame_encoder_destroy(VideoEncoder *video_encoder)
{
    FrameEncoder *encoder = (FrameEncoder *)video_encoder;

    if (encoder == NULL) {
        return;
    }
    encoder->klass->destroy(encoder->backend);
    g_free(encoder->yuv);
    g_free(encoder->gather);
    g_free(encoder->argb);
    g_free(encoder);
}

gboolean sv_frame_encoder_get_rate_state(VideoEncoder *video_encoder, SvFrameRateState *state)
{
    FrameEncoder *encoder = (FrameEncoder *)video_encoder;

    g_return_val_if_fail(state != NULL, FALSE);
    if (video_encoder == NULL || video_encoder->destroy != frame_encoder_destroy) {
        return FALSE;
    }
    *state = (SvFrameRateState){
        .bit_rate = encoder->bit_rate,
        .video_bit_rate = encoder->video_bit_rate,
        .min_bit_rate = encoder->min_bit_rate,
        .max_bit_rate = encoder->max_bit_rate,
        .bit_rate_step = encoder->bit_rate_step,
        .status = encoder->status,
        .increase_interval_ms = encoder->increase_interval_ms,
        .last_change_mm_time = encoder->last_change,
        .vbuffer_size_bytes = encoder->vbuffer_size,
        .vbuffer_free_bytes = encoder->vbuffer_free,
        .next_frame_mm_time = encoder->next_frame_mm_time,
        .errors = encoder->errors,
        .backend_starts = encoder->backend_starts,
    };
    return TRUE;
}

uint64_t sv_frame_encoder_get_period_bit_rate(VideoEncoder *video_encoder, uint32_t start_mm_time,
                                              uint32_t end_mm_time)
{
    g_return_val_if_fail(video_encoder != NULL && video_encoder->destroy == frame_encoder_destroy,
                         0);
    return period_bit_rate((FrameEncoder *)video_encoder, start_mm_time, end_mm_time);
}

/* The value of the boolean option @name, FALSE if the table has none. */
static gboolean option_enabled(const SvEncoderOption *table, const int *values, const char *name)
{
    for (guint i = 0; table != NULL && table[i].name != NULL && i < SV_MAX_ENCODER_OPTIONS; i++) {
        if (strcmp(table[i].name, name) == 0) {
            return values[i] != 0;
        }
    }
    return FALSE;
}

/* ------------------------------------------------------------------------ */
/* Output buffers for backends that copy their output                        */

typedef struct BackendBuffer {
    VideoBuffer base;
    uint8_t data[];
} BackendBuffer;

static void backend_buffer_free(VideoBuffer *buffer)
{
    free(buffer);
}

/* ------------------------------------------------------------------------ */
/* Creation checks that passed                                              */

static GMutex checks_lock;
static GHashTable *checks_passed; /* "backend/codec/o1,o2,..." -> itself */

static char *check_key(const char *backend, SpiceVideoCodecType codec, const int *options,
                       unsigned n_options)
{
    GString *key = g_string_new(NULL);

    g_string_printf(key, "%s/%d/", backend, (int)codec);
    for (unsigned i = 0; i < n_options; i++) {
        g_string_append_printf(key, "%d,", options[i]);
    }
    return g_string_free(key, FALSE);
}

gboolean sv_backend_check_known(const char *backend, SpiceVideoCodecType codec, const int *options,
                                unsigned n_options)
{
    if (sv_fault_any_armed()) {
        return FALSE;
    }
    g_autofree char *key = check_key(backend, codec, options, n_options);
    g_mutex_lock(&checks_lock);
    gboolean known = checks_passed != NULL && g_hash_table_contains(checks_passed, key);
    g_mutex_unlock(&checks_lock);
    return known;
}

void sv_backend_check_passed(const char *backend, SpiceVideoCodecType codec, const int *options,
                             unsigned n_options)
{
    char *key = check_key(backend, codec, options, n_options);

    g_mutex_lock(&checks_lock);
    if (checks_passed == NULL) {
        checks_passed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    }
    g_hash_table_add(checks_passed, key);
    g_mutex_unlock(&checks_lock);
}

VideoBuffer *sv_backend_buffer_new(size_t size)
{
    BackendBuffer *buffer;

    if (size == 0 || size > UINT32_MAX || sv_fault_hit("frame.output") ||
        (buffer = malloc(sizeof(*buffer) + size)) == NULL) {
        return NULL;
    }
    buffer->base.data = buffer->data;
    buffer->base.size = (uint32_t)size;
    buffer->base.free = backend_buffer_free;
    return &buffer->base;
}

VideoEncoder *sv_frame_encoder_new(const SvCodecBackendClass *klass,
                                   const SvEncoderOption *options_table,
                                   SpiceVideoCodecType codec_type, uint64_t starting_bit_rate,
                                   VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                   bitmap_unref_t bitmap_unref, const SvEncoderConfig *config)
{
    g_autoptr(GError) error = NULL;
    int values[SV_MAX_ENCODER_OPTIONS] = {0};

    g_return_val_if_fail(klass != NULL && klass->create != NULL && klass->start != NULL &&
                             klass->encode != NULL && klass->destroy != NULL,
                         NULL);
#if !SV_HAVE_LIBYUV
    g_debug("frame encoder: %s refused: built without libyuv", klass->name);
    sv_factory_error_set("%s: built without libyuv", klass->name);
    return NULL;
#endif
    if (!sv_encoder_options_parse(options_table, config != NULL ? config->options : NULL, values,
                                  &error)) {
        g_debug("frame encoder: %s options refused: %s", klass->name, error->message);
        sv_factory_error_set("%s", error->message);
        return NULL;
    }
    if (config != NULL && config->max_threads > 0) {
        for (guint i = 0; options_table != NULL && options_table[i].name != NULL; i++) {
            if (g_str_equal(options_table[i].name, "threads") &&
                (values[i] == 0 || values[i] > config->max_threads)) {
                values[i] = config->max_threads; /* 0 is "auto" */
            }
        }
    }
    if (config != NULL && config->fixed_speed && codec_type == SPICE_VIDEO_CODEC_TYPE_VP8) {
        for (guint i = 0; options_table != NULL && options_table[i].name != NULL; i++) {
            if (g_str_equal(options_table[i].name, "cpu-used") && values[i] > 0) {
                values[i] = -values[i]; /* libvpx: negative = that speed, not adapted */
            }
        }
    }
    void *backend = klass->create(codec_type, values, &error);
    if (backend == NULL) {
        g_debug("frame encoder: %s cannot encode codec %d: %s", klass->name, codec_type,
                error != NULL ? error->message : "no reason given");
        sv_factory_error_set("%s", error != NULL ? error->message : "no reason given");
        return NULL;
    }

    FrameEncoder *encoder = g_new0(FrameEncoder, 1);
    encoder->base.destroy = frame_encoder_destroy;
    encoder->base.encode_frame = frame_encoder_encode_frame;
    encoder->base.client_stream_report = frame_encoder_client_stream_report;
    encoder->base.notify_server_frame_drop = frame_encoder_notify_server_frame_drop;
    encoder->base.get_bit_rate = frame_encoder_get_bit_rate;
    encoder->base.get_stats = frame_encoder_get_stats;
    encoder->base.codec_type = codec_type;
    encoder->klass = klass;
    encoder->backend = backend;
    if (cbs != NULL) {
        encoder->cbs = *cbs;
    }
    if (config != NULL) {
        encoder->config = *config;
        encoder->config.options = NULL; /* not ours to keep */
    }
    encoder->encode_timeout_ns = encoder->config.encode_timeout_ns > 0
                                     ? encoder->config.encode_timeout_ns
                                     : DEFAULT_ENCODE_TIMEOUT_NS;
    encoder->yuv444 = option_enabled(options_table, values, "yuv444");
    encoder->starting_bit_rate = starting_bit_rate;
    encoder->status = SV_FRAME_RATE_DECREASING;
    /* Frames are converted synchronously: bitmaps are never kept. */
    (void)bitmap_ref;
    (void)bitmap_unref;
    return &encoder->base;
}
