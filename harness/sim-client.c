/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

#include <math.h>
#include <string.h>
#include <time.h>

#include <spice/protocol.h>

#include <spice-video/registry.h>

#include "quality.h"
#include "sim-client.h"
#include "sim-decoder.h"

/* spice-gtk channel-display.c: a report after this many late frames in a
 * row, even if the window is not full (STREAM_REPORT_DROP_SEQ_LEN_LIMIT). */
#define REPORT_DROP_SEQ_LEN_LIMIT 3
/* spice-gtk: a frame stamped 0 is given "now + 100 ms" (with a critical). */
#define ZERO_STAMP_WORKAROUND_MS 100
/* spice-gtk spice-session.c: a clock jump beyond this is a reset
 * (MM_TIME_DIFF_RESET_THRESH, 500 ms). */
#define MM_TIME_RESET_THRESHOLD_MS 500
/* SPICE_MSGC_DISPLAY_STREAM_REPORT's "cannot decode this stream". */
#define CANNOT_DECODE_DROPS UINT32_MAX
/* audio_delay when no audio is playing (spice-gtk: UINT_MAX). */
#define NO_AUDIO_DELAY UINT32_MAX

#define NS_PER_MS G_GINT64_CONSTANT(1000000)

G_DEFINE_QUARK(sv - sim - client - error - quark, sv_sim_client_error)

typedef struct {
    int id;
    SpiceVideoCodecType codec_type;
    SvSimDecoder *decoder; /* NULL when the client does not decode */
    uint32_t surface_id;
    SpiceRect dest;
    gboolean top_down;
    uint32_t clip_type;
    SpiceRect *clip_rects;
    guint n_clip_rects;

    /* spice-gtk's display_stream report state */
    gboolean report_active;
    uint32_t report_id;
    uint32_t report_max_window;
    int64_t report_timeout_ns;
    int64_t report_start_ns;
    uint32_t report_start_frame_time;
    uint32_t report_num_frames;
    uint32_t report_num_drops;
    uint32_t report_drops_seq_len;
} Stream;

struct SvSimClient {
    SvSimClientConfig config;
    uint32_t caps;
    /* spice-gtk's enable_adaptive_streaming: it announces STREAM_REPORT. */
    gboolean reports_enabled;

    /* The clock reads base_mm at base_ns and runs at 1 ms per ms. */
    gboolean clock_set;
    int64_t clock_base_ns;
    uint32_t clock_base_mm;

    GHashTable *streams;     /* stream id → Stream */
    GHashTable *activations; /* stream id → unique_id of its last activation */
    GHashTable *surfaces;    /* surface id → SvCanvas */
    GQueue reports;          /* SvStreamReport */
    SvSimClientStats stats;

    /* scratch buffers for painting and quality */
    uint8_t *flip;
    size_t flip_size;
    uint8_t *y_source;
    uint8_t *y_decoded;
    size_t y_size;
};

/* ---- presets ---------------------------------------------------------------------------- */

static const struct {
    const char *name;
    SvClientPreset preset;
} presets[] = {
    {"spice-gtk", SV_CLIENT_PRESET_SPICE_GTK},
    {"legacy", SV_CLIENT_PRESET_LEGACY},
};

gboolean sv_client_preset_parse(const char *name, SvClientPreset *preset, GError **error)
{
    g_return_val_if_fail(name != NULL, FALSE);
    g_return_val_if_fail(preset != NULL, FALSE);

    for (guint i = 0; i < G_N_ELEMENTS(presets); i++) {
        if (strcmp(name, presets[i].name) == 0) {
            *preset = presets[i].preset;
            return TRUE;
        }
    }
    g_set_error(error, SV_SIM_CLIENT_ERROR, SV_SIM_CLIENT_ERROR_CONFIG,
                "unknown client preset \"%s\" (expected spice-gtk or legacy)", name);
    return FALSE;
}

const char *sv_client_preset_to_string(SvClientPreset preset)
{
    for (guint i = 0; i < G_N_ELEMENTS(presets); i++) {
        if (presets[i].preset == preset) {
            return presets[i].name;
        }
    }
    return "?";
}

/* @return the SPICE_DISPLAY_CAP_CODEC_* bit number of @codec_type, or -1. */
static int codec_cap(SpiceVideoCodecType codec_type)
{
    switch (codec_type) {
    case SPICE_VIDEO_CODEC_TYPE_MJPEG:
        return SPICE_DISPLAY_CAP_CODEC_MJPEG;
    case SPICE_VIDEO_CODEC_TYPE_VP8:
        return SPICE_DISPLAY_CAP_CODEC_VP8;
    case SPICE_VIDEO_CODEC_TYPE_H264:
        return SPICE_DISPLAY_CAP_CODEC_H264;
    case SPICE_VIDEO_CODEC_TYPE_VP9:
        return SPICE_DISPLAY_CAP_CODEC_VP9;
    case SPICE_VIDEO_CODEC_TYPE_H265:
        return SPICE_DISPLAY_CAP_CODEC_H265;
    default:
        return -1;
    }
}

uint32_t sv_client_preset_caps(SvClientPreset preset)
{
    static const SpiceVideoCodecType gst_codecs[] = {
        SPICE_VIDEO_CODEC_TYPE_VP8,
        SPICE_VIDEO_CODEC_TYPE_H264,
        SPICE_VIDEO_CODEC_TYPE_VP9,
        SPICE_VIDEO_CODEC_TYPE_H265,
    };
    uint32_t caps;

    if (preset != SV_CLIENT_PRESET_SPICE_GTK) {
        /* An old client: MJPEG only, implied by the absence of MULTI_CODEC. */
        return 0;
    }
    caps = SV_CAP(SPICE_DISPLAY_CAP_SIZED_STREAM) | SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT) |
           SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG) |
           SV_CAP(SPICE_DISPLAY_CAP_PREF_VIDEO_CODEC_TYPE);
    for (guint i = 0; i < G_N_ELEMENTS(gst_codecs); i++) {
        if (sv_sim_decoder_probe(gst_codecs[i], NULL)) {
            caps |= SV_CAP(codec_cap(gst_codecs[i]));
        }
    }
    return caps;
}

void sv_sim_client_config_init(SvSimClientConfig *config, SvClientPreset preset)
{
    g_return_if_fail(config != NULL);

    memset(config, 0, sizeof(*config));
    config->preset = preset;
    config->display_caps = 0;
    config->decode = TRUE;
    config->measure_quality = TRUE;
    config->decode_cost_ns_per_pixel = 0.0;
}

/* ---- streams and surfaces --------------------------------------------------------------- */

static void stream_free(Stream *stream)
{
    sv_sim_decoder_free(stream->decoder);
    g_free(stream->clip_rects);
    g_free(stream);
}

static void stream_set_clip(Stream *stream, const SvMessage *message)
{
    g_clear_pointer(&stream->clip_rects, g_free);
    stream->n_clip_rects = 0;
    stream->clip_type = message->clip_type == SV_CLIP_RECTS ? SV_CLIP_RECTS : SV_CLIP_NONE;
    if (stream->clip_type == SV_CLIP_RECTS && message->n_clip_rects > 0 &&
        message->clip_rects != NULL) {
        stream->clip_rects =
            g_memdup2(message->clip_rects, (gsize)message->n_clip_rects * sizeof(SpiceRect));
        stream->n_clip_rects = message->n_clip_rects;
    }
}

static Stream *lookup_stream(SvSimClient *client, int stream_id)
{
    return g_hash_table_lookup(client->streams, GINT_TO_POINTER(stream_id));
}

static SvCanvas *lookup_surface(void *opaque, uint32_t surface_id)
{
    SvSimClient *client = opaque;
    return g_hash_table_lookup(client->surfaces, GUINT_TO_POINTER(surface_id));
}

/* ---- clock ------------------------------------------------------------------------------ */

/* Milliseconds in @delta_ns, rounded towards minus infinity. */
static int64_t floor_ms(int64_t delta_ns)
{
    return delta_ns >= 0 ? delta_ns / NS_PER_MS : -((-delta_ns + NS_PER_MS - 1) / NS_PER_MS);
}

uint32_t sv_sim_client_mm_time(const SvSimClient *client, int64_t now_ns)
{
    g_return_val_if_fail(client != NULL, 0);
    /* Before the first MAIN_INIT the clock runs from 0 at time 0. */
    return client->clock_base_mm + (uint32_t)floor_ms(now_ns - client->clock_base_ns);
}

void sv_sim_client_set_mm_time(SvSimClient *client, int64_t now_ns, uint32_t mm_time)
{
    g_return_if_fail(client != NULL);

    uint32_t old_time = sv_sim_client_mm_time(client, now_ns);
    int32_t jump = (int32_t)(mm_time - old_time);

    /* spice_session_set_mm_time(): the reset only reschedules the decoders'
     * queued frames; the margins of later frames follow the new clock. */
    if (client->clock_set && (jump > MM_TIME_RESET_THRESHOLD_MS || jump < 0)) {
        g_debug("client mm_time reset: %u -> %u (%+d ms)", old_time, mm_time, jump);
        client->stats.mm_time_resets++;
    }
    client->clock_set = TRUE;
    client->clock_base_ns = now_ns;
    client->clock_base_mm = mm_time;
}

int64_t sv_sim_client_due_ns(const SvSimClient *client, uint32_t mm_time)
{
    g_return_val_if_fail(client != NULL, 0);
    return client->clock_base_ns + (int64_t)(int32_t)(mm_time - client->clock_base_mm) * NS_PER_MS;
}

/* ---- reports ---------------------------------------------------------------------------- */

static void queue_report(SvSimClient *client, const SvStreamReport *report)
{
    g_queue_push_tail(&client->reports, g_memdup2(report, sizeof(*report)));
    client->stats.reports++;
}

/* spice-gtk report_invalid_stream(): sent only by a client with STREAM_REPORT. */
static void report_cannot_decode(SvSimClient *client, int stream_id)
{
    if (!client->reports_enabled) {
        return;
    }
    SvStreamReport report = {
        .stream_id = (uint32_t)stream_id,
        .unique_id =
            GPOINTER_TO_UINT(g_hash_table_lookup(client->activations, GINT_TO_POINTER(stream_id))),
        .num_frames = 0,
        .num_drops = CANNOT_DECODE_DROPS,
    };
    g_debug("stream %d: cannot-decode report", stream_id);
    queue_report(client, &report);
    client->stats.cannot_decode_reports++;
}

/* spice-gtk display_update_stream_report(), with the caller's clock. */
static void update_stream_report(SvSimClient *client, Stream *stream, int64_t now_ns,
                                 uint32_t frame_time, int32_t margin_ms)
{
    if (!client->reports_enabled || !stream->report_active) {
        return;
    }
    if (stream->report_num_frames == 0) {
        stream->report_start_frame_time = frame_time;
        stream->report_start_ns = now_ns;
    }
    stream->report_num_frames++;
    if (margin_ms < 0) {
        stream->report_num_drops++;
        stream->report_drops_seq_len++;
    } else {
        stream->report_drops_seq_len = 0;
    }
    if (stream->report_num_frames >= stream->report_max_window ||
        now_ns - stream->report_start_ns >= stream->report_timeout_ns ||
        stream->report_drops_seq_len >= REPORT_DROP_SEQ_LEN_LIMIT) {
        SvStreamReport report = {
            .stream_id = (uint32_t)stream->id,
            .unique_id = stream->report_id,
            .start_frame_mm_time = stream->report_start_frame_time,
            .end_frame_mm_time = frame_time,
            .num_frames = stream->report_num_frames,
            .num_drops = stream->report_num_drops,
            .last_frame_delay = margin_ms,
            .audio_delay = NO_AUDIO_DELAY,
        };
        queue_report(client, &report);
        stream->report_start_ns = 0;
        stream->report_start_frame_time = 0;
        stream->report_num_frames = 0;
        stream->report_num_drops = 0;
        stream->report_drops_seq_len = 0;
    }
}

gboolean sv_sim_client_pop_report(SvSimClient *client, SvStreamReport *report)
{
    g_return_val_if_fail(client != NULL, FALSE);
    g_return_val_if_fail(report != NULL, FALSE);

    SvStreamReport *next = g_queue_pop_head(&client->reports);
    if (next == NULL) {
        return FALSE;
    }
    *report = *next;
    g_free(next);
    return TRUE;
}

/* ---- life --------------------------------------------------------------------------------- */

SvSimClient *sv_sim_client_new(const SvSimClientConfig *config, GError **error)
{
    g_return_val_if_fail(config != NULL, NULL);

    if (config->preset != SV_CLIENT_PRESET_SPICE_GTK && config->preset != SV_CLIENT_PRESET_LEGACY) {
        g_set_error(error, SV_SIM_CLIENT_ERROR, SV_SIM_CLIENT_ERROR_CONFIG,
                    "unknown client preset %d", (int)config->preset);
        return NULL;
    }
    if (!(config->decode_cost_ns_per_pixel >= 0.0) || isinf(config->decode_cost_ns_per_pixel)) {
        g_set_error(error, SV_SIM_CLIENT_ERROR, SV_SIM_CLIENT_ERROR_CONFIG,
                    "decode cost %g ns per pixel is not a finite value >= 0",
                    config->decode_cost_ns_per_pixel);
        return NULL;
    }
    SvSimClient *client = g_new0(SvSimClient, 1);
    client->config = *config;
    client->caps =
        config->display_caps != 0 ? config->display_caps : sv_client_preset_caps(config->preset);
    client->reports_enabled = (client->caps & SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT)) != 0;
    client->streams =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)stream_free);
    client->activations = g_hash_table_new(g_direct_hash, g_direct_equal);
    client->surfaces =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify)sv_canvas_free);
    g_queue_init(&client->reports);
    g_debug("simulated client %s: display caps 0x%x, stream reports %s",
            sv_client_preset_to_string(config->preset), client->caps,
            client->reports_enabled ? "on" : "off");
    return client;
}

void sv_sim_client_free(SvSimClient *client)
{
    if (client == NULL) {
        return;
    }
    g_hash_table_unref(client->streams);
    g_hash_table_unref(client->activations);
    g_hash_table_unref(client->surfaces);
    g_queue_clear_full(&client->reports, g_free);
    g_free(client->flip);
    g_free(client->y_source);
    g_free(client->y_decoded);
    g_free(client);
}

uint32_t sv_sim_client_get_caps(const SvSimClient *client)
{
    g_return_val_if_fail(client != NULL, 0);
    return client->caps;
}

SvCanvas *sv_sim_client_get_screen(SvSimClient *client)
{
    g_return_val_if_fail(client != NULL, NULL);
    /* spice's primary surface is surface 0. */
    return lookup_surface(client, 0);
}

void sv_sim_client_get_stats(const SvSimClient *client, SvSimClientStats *stats)
{
    g_return_if_fail(client != NULL);
    g_return_if_fail(stats != NULL);
    *stats = client->stats;
}

/* ---- message handlers --------------------------------------------------------------------- */

static gboolean invalid_message(GError **error, const SvMessage *message, const char *what)
{
    g_set_error(error, SV_SIM_CLIENT_ERROR, SV_SIM_CLIENT_ERROR_INVALID_MESSAGE,
                "message of type %d: %s", (int)message->type, what);
    return FALSE;
}

static gboolean codec_announced(const SvSimClient *client, SpiceVideoCodecType codec_type)
{
    int cap = codec_cap(codec_type);

    /* Without MULTI_CODEC a client takes MJPEG, and only MJPEG. */
    if (!(client->caps & SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC))) {
        return codec_type == SPICE_VIDEO_CODEC_TYPE_MJPEG;
    }
    return cap >= 0 && (client->caps & SV_CAP(cap)) != 0;
}

static void handle_stream_create(SvSimClient *client, const SvMessage *message, SvSimResult *result)
{
    g_autoptr(GError) error = NULL;
    SvSimDecoder *decoder = NULL;
    gboolean ok;

    /* spice-gtk refuses (with a critical) a create for a slot in use; the
     * server never sends one, so a newer stream simply replaces the old. */
    if (g_hash_table_remove(client->streams, GINT_TO_POINTER(message->stream_id))) {
        g_debug("stream %d created again: the old one is dropped", message->stream_id);
    }
    g_hash_table_remove(client->activations, GINT_TO_POINTER(message->stream_id));

    if (codec_cap(message->codec_type) < 0) {
        g_set_error(&error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_UNAVAILABLE,
                    "no decoder for codec type %u", message->codec_type);
        ok = FALSE;
    } else if (!codec_announced(client, message->codec_type)) {
        g_set_error(&error, SV_SIM_DECODER_ERROR, SV_SIM_DECODER_ERROR_UNAVAILABLE,
                    "codec type %u was not announced by this client", message->codec_type);
        ok = FALSE;
    } else if (client->config.decode) {
        decoder = sv_sim_decoder_new(message->codec_type, &error);
        ok = decoder != NULL;
    } else {
        ok = sv_sim_decoder_probe(message->codec_type, &error);
    }
    if (!ok) {
        g_message("stream %d: could not create a video decoder for codec %u (%s): %s",
                  message->stream_id, message->codec_type,
                  sv_video_codec_type_to_string(message->codec_type), error->message);
        result->problem = "could not create a video decoder";
        report_cannot_decode(client, message->stream_id);
        return;
    }

    Stream *stream = g_new0(Stream, 1);
    stream->id = message->stream_id;
    stream->codec_type = message->codec_type;
    stream->decoder = decoder;
    stream->surface_id = message->surface_id;
    stream->dest = message->dest;
    stream->top_down = message->top_down;
    stream_set_clip(stream, message);
    g_hash_table_insert(client->streams, GINT_TO_POINTER(stream->id), stream);
    g_debug("stream %d: %s %ux%u", stream->id, sv_video_codec_type_to_string(stream->codec_type),
            message->width, message->height);
}

static void handle_activate_report(SvSimClient *client, const SvMessage *message,
                                   SvSimResult *result)
{
    Stream *stream = lookup_stream(client, message->stream_id);

    g_hash_table_insert(client->activations, GINT_TO_POINTER(message->stream_id),
                        GUINT_TO_POINTER(message->unique_id));
    if (stream == NULL) {
        result->problem = "unknown stream";
        report_cannot_decode(client, message->stream_id);
        return;
    }
    stream->report_active = TRUE;
    stream->report_id = message->unique_id;
    stream->report_max_window = message->max_window_size;
    stream->report_timeout_ns = (int64_t)message->timeout_ms * NS_PER_MS;
    stream->report_start_ns = 0;
    stream->report_start_frame_time = 0;
    stream->report_num_frames = 0;
    stream->report_num_drops = 0;
    stream->report_drops_seq_len = 0;
}

static int64_t process_cpu_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * G_GINT64_CONSTANT(1000000000) + ts.tv_nsec;
}

/* The picture in visual order: spice-gtk flips a stream that is not top-down. */
static const uint8_t *visual_pixels(SvSimClient *client, const Stream *stream,
                                    const SvSimPicture *picture, int32_t *stride)
{
    if (stream->top_down) {
        *stride = picture->stride;
        return picture->data;
    }
    size_t line = (size_t)picture->width * 4;
    size_t needed = line * picture->height;
    if (needed > client->flip_size) {
        g_free(client->flip);
        client->flip = g_malloc(needed);
        client->flip_size = needed;
    }
    for (uint32_t y = 0; y < picture->height; y++) {
        memcpy(client->flip + (size_t)y * line,
               picture->data + (size_t)(picture->height - 1 - y) * picture->stride, line);
    }
    *stride = (int32_t)line;
    return client->flip;
}

static void paint_frame(SvSimClient *client, const Stream *stream, const SvMessage *message,
                        const uint8_t *pixels, int32_t stride, const SvSimPicture *picture)
{
    SvCanvas *canvas = lookup_surface(client, stream->surface_id);
    const SpiceRect *dest = message->sized ? &message->dest : &stream->dest;

    if (canvas == NULL || dest->right <= dest->left || dest->bottom <= dest->top) {
        return;
    }
    if (stream->clip_type == SV_CLIP_RECTS) {
        /* An empty region: nothing of the stream is visible. */
        if (stream->n_clip_rects == 0) {
            return;
        }
        sv_canvas_put_frame(canvas, pixels, stride, picture->width, picture->height, dest,
                            stream->clip_rects, stream->n_clip_rects);
    } else {
        sv_canvas_put_frame(canvas, pixels, stride, picture->width, picture->height, dest, NULL, 0);
    }
}

static void measure_quality(SvSimClient *client, const SvMessage *message, const uint8_t *pixels,
                            int32_t stride, const SvSimPicture *picture, SvSimResult *result)
{
    const SpiceRect *area = &message->source_area;

    if (message->source == NULL || area->right <= area->left || area->bottom <= area->top) {
        return;
    }
    uint32_t width = (uint32_t)(area->right - area->left);
    uint32_t height = (uint32_t)(area->bottom - area->top);
    /* H.264 and H.265 in 4:2:0 pad an odd size by one pixel: compare the
     * source's area, the top-left part of the picture. */
    if (picture->width < width || picture->height < height) {
        result->problem = "decoded picture smaller than its source";
        return;
    }
    size_t needed = (size_t)width * height;
    if (needed > client->y_size) {
        g_free(client->y_source);
        g_free(client->y_decoded);
        client->y_source = g_malloc(needed);
        client->y_decoded = g_malloc(needed);
        client->y_size = needed;
    }
    if (!sv_quality_bitmap_to_y(message->source, area, client->y_source, (int32_t)width)) {
        result->problem = "source bitmap format not readable for quality";
        return;
    }
    sv_quality_bgrx_to_y(pixels, stride, width, height, client->y_decoded, (int32_t)width);
    result->psnr_y = sv_quality_psnr(client->y_source, (int32_t)width, client->y_decoded,
                                     (int32_t)width, width, height);
    result->ssim_y = sv_quality_ssim(client->y_source, (int32_t)width, client->y_decoded,
                                     (int32_t)width, width, height);
}

static void handle_stream_data(SvSimClient *client, int64_t now_ns, const SvMessage *message,
                               SvSimResult *result)
{
    Stream *stream = lookup_stream(client, message->stream_id);
    uint32_t now_mm = sv_sim_client_mm_time(client, now_ns);
    uint32_t stamp = message->mm_time;

    result->is_frame = TRUE;
    client->stats.frames++;
    if (stamp == 0) {
        g_debug("stream %d: frame with an invalid 0 timestamp", message->stream_id);
        stamp = now_mm + ZERO_STAMP_WORKAROUND_MS;
        result->problem = "frame stamped 0";
    }
    /* The margin is taken at arrival, before decoding. */
    int32_t margin = (int32_t)(stamp - now_mm);
    result->mm_time = stamp;
    result->margin_ms = margin;
    result->late = margin < 0;
    result->due_ns = sv_sim_client_due_ns(client, stamp);
    if (result->late) {
        client->stats.late++;
    }
    if (stream == NULL) {
        result->problem = "frame of an unknown stream";
        report_cannot_decode(client, message->stream_id);
        return;
    }

    if (stream->decoder != NULL) {
        g_autoptr(GError) error = NULL;
        SvSimPicture picture;
        int64_t cpu_start = process_cpu_ns();
        gboolean ok = sv_sim_decoder_decode(stream->decoder, message->data, message->data_size,
                                            &picture, &error);
        int64_t cpu_ns = process_cpu_ns() - cpu_start;

        client->stats.decode_cpu_ns += cpu_ns;
        if (!ok) {
            /* spice-gtk: queue_frame() failed → destroy the stream and tell the server. */
            g_message("stream %d: the decoder refused a frame: %s", stream->id, error->message);
            client->stats.decode_errors++;
            result->problem = "the decoder refused the frame";
            int id = stream->id;
            g_hash_table_remove(client->streams, GINT_TO_POINTER(id));
            report_cannot_decode(client, id);
            return;
        }
        result->decoded = TRUE;
        result->width = picture.width;
        result->height = picture.height;
        client->stats.decoded++;
        if (client->config.decode_cost_ns_per_pixel > 0.0) {
            /* Per pixel of the frame as sent (a decoder may pad an odd size). */
            gboolean sent_size = message->width > 0 && message->height > 0;
            double pixels = sent_size ? (double)message->width * message->height
                                      : (double)picture.width * picture.height;
            result->decode_ns = (int64_t)llround(client->config.decode_cost_ns_per_pixel * pixels);
        } else {
            result->decode_ns = cpu_ns;
        }

        int32_t stride = 0;
        const uint8_t *pixels = visual_pixels(client, stream, &picture, &stride);
        paint_frame(client, stream, message, pixels, stride, &picture);
        if (client->config.measure_quality) {
            measure_quality(client, message, pixels, stride, &picture, result);
        }
    }

    update_stream_report(client, stream, now_ns, stamp, margin);
}

static void handle_stream_clip(SvSimClient *client, const SvMessage *message, SvSimResult *result)
{
    Stream *stream = lookup_stream(client, message->stream_id);

    if (stream == NULL) {
        result->problem = "unknown stream";
        report_cannot_decode(client, message->stream_id);
        return;
    }
    stream_set_clip(stream, message);
}

static gboolean handle_surface_create(SvSimClient *client, const SvMessage *message,
                                      SvSimResult *result, GError **error)
{
    uint32_t width = message->width;
    uint32_t height = message->height;

    if (width == 0 || height == 0) {
        /* The creation size, when the display did not put it in width/height. */
        width = message->dest.right > 0 ? (uint32_t)message->dest.right : 0;
        height = message->dest.bottom > 0 ? (uint32_t)message->dest.bottom : 0;
    }
    SvCanvas *canvas = sv_canvas_new(width, height, SPICE_SURFACE_FMT_32_xRGB, error);
    if (canvas == NULL) {
        return FALSE;
    }
    if (g_hash_table_contains(client->surfaces, GUINT_TO_POINTER(message->surface_id))) {
        result->problem = "surface created twice";
    }
    g_hash_table_insert(client->surfaces, GUINT_TO_POINTER(message->surface_id), canvas);
    return TRUE;
}

static void handle_draw(SvSimClient *client, const SvMessage *message, SvSimResult *result)
{
    const SvDrawCommand *draw = message->draw;
    SvCanvas *canvas = lookup_surface(client, draw->surface_id);

    result->drawable_seq = message->drawable_seq;
    result->mm_time = message->mm_time;
    if (canvas == NULL) {
        result->problem = "drawing on an unknown surface";
        return;
    }
    sv_canvas_draw(canvas, draw, lookup_surface, client);
}

static void handle_image(SvSimClient *client, const SvMessage *message, SvSimResult *result)
{
    SvCanvas *canvas = lookup_surface(client, message->surface_id);
    const SpiceRect *dest = &message->dest;

    if (canvas == NULL) {
        result->problem = "image for an unknown surface";
        return;
    }
    if (dest->right <= dest->left || dest->bottom <= dest->top) {
        return;
    }
    sv_canvas_put_frame(canvas, message->pixels, message->pixels_stride,
                        (uint32_t)(dest->right - dest->left), (uint32_t)(dest->bottom - dest->top),
                        dest, NULL, 0);
}

gboolean sv_sim_client_receive(SvSimClient *client, int64_t now_ns, const SvMessage *message,
                               SvSimResult *result, GError **error)
{
    SvSimResult dummy;

    g_return_val_if_fail(client != NULL, FALSE);
    g_return_val_if_fail(message != NULL, FALSE);

    if (result == NULL) {
        result = &dummy;
    }
    memset(result, 0, sizeof(*result));
    result->stream_id = message->stream_id;
    result->drawable_seq = message->drawable_seq;
    result->psnr_y = NAN;
    result->ssim_y = NAN;

    switch (message->type) {
    case SV_MSG_STREAM_CREATE:
    case SV_MSG_STREAM_DATA:
    case SV_MSG_STREAM_CLIP:
    case SV_MSG_STREAM_DESTROY:
    case SV_MSG_STREAM_ACTIVATE_REPORT:
        if (message->stream_id < 0) {
            return invalid_message(error, message, "no stream id");
        }
        break;
    default:
        break;
    }

    switch (message->type) {
    case SV_MSG_SURFACE_CREATE:
        return handle_surface_create(client, message, result, error);
    case SV_MSG_SURFACE_DESTROY:
        g_hash_table_remove(client->surfaces, GUINT_TO_POINTER(message->surface_id));
        return TRUE;
    case SV_MSG_DRAW:
    case SV_MSG_UPGRADE:
        if (message->draw == NULL) {
            return invalid_message(error, message, "no drawing");
        }
        handle_draw(client, message, result);
        return TRUE;
    case SV_MSG_IMAGE:
        if (message->pixels == NULL) {
            return invalid_message(error, message, "no pixels");
        }
        handle_image(client, message, result);
        return TRUE;
    case SV_MSG_STREAM_CREATE:
        handle_stream_create(client, message, result);
        return TRUE;
    case SV_MSG_STREAM_DATA:
        if (message->data == NULL && message->data_size > 0) {
            return invalid_message(error, message, "data_size without data");
        }
        handle_stream_data(client, now_ns, message, result);
        return TRUE;
    case SV_MSG_STREAM_CLIP:
        handle_stream_clip(client, message, result);
        return TRUE;
    case SV_MSG_STREAM_DESTROY:
        /* spice-gtk destroy_stream(): an unknown id is ignored. */
        g_hash_table_remove(client->streams, GINT_TO_POINTER(message->stream_id));
        return TRUE;
    case SV_MSG_STREAM_DESTROY_ALL:
        g_hash_table_remove_all(client->streams);
        return TRUE;
    case SV_MSG_STREAM_ACTIVATE_REPORT:
        handle_activate_report(client, message, result);
        return TRUE;
    case SV_MSG_MULTI_MEDIA_TIME:
        result->mm_time = message->mm_time;
        sv_sim_client_set_mm_time(client, now_ns, message->mm_time);
        return TRUE;
    case SV_MSG_PLAYBACK_LATENCY:
        /* No audio is simulated: the clock follows MULTI_MEDIA_TIME only. */
        return TRUE;
    }
    return invalid_message(error, message, "unknown message type");
}
