/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * server-private.h: the display model's internal types, shared by
 * display.c (surfaces, tree, stream decisions), agent.c (stream agents,
 * rate control, reports) and pipe.c (send pipes, marshalling, wire sizes).
 * Internal: not installed. Tests may include it for the test hooks at the
 * end.
 */
#ifndef SV_SERVER_PRIVATE_H
#define SV_SERVER_PRIVATE_H

#include <pixman.h>

#include <spice-video/server.h>

#define SV_NS_PER_MS INT64_C(1000000)

#define WIRE_HEADER_BYTES 6     /* mini header: type u16 + size u32 */
#define REPORT_MAX_WINDOW 5     /* RED_STREAM_CLIENT_REPORT_WINDOW, frames */
#define REPORT_TIMEOUT_MS 1000  /* RED_STREAM_CLIENT_REPORT_TIMEOUT */
#define MAX_REPORT_STREAM_ID 50 /* NUM_STREAMS: a report for id >= 50 disconnects */
#define CHANNEL_CAPACITY 0.8    /* RED_STREAM_CHANNEL_CAPACITY: video share */
/* RED_STREAM_DEFAULT_HIGH_START_BIT_RATE and _LOW_, bit/s */
#define HIGH_START_BIT_RATE (10.0 * 1024 * 1024)
#define LOW_START_BIT_RATE (2.5 * 1024 * 1024)

/* INTERACTIVE latency policy (latency.c, docs/latency.md). */
#define SV_LATENCY_FRAMES 32  /* frames remembered per agent */
#define SV_LATENCY_SAMPLES 64 /* report samples remembered per display */
#define SV_LATENCY_ENCODES 64 /* encode times remembered per display */

/* A stream frame taken from a pipe. */
typedef struct SvLatencyFrame {
    gboolean used;
    uint32_t stamp;         /* its mm_time */
    uint64_t seq;           /* its drawable */
    int64_t popped_ns;      /* when it was marshalled (encoded) */
    uint32_t clock_id;      /* the client clock it went out under */
    uint32_t clock_latency; /* that clock's latency, ms */
    int64_t sent_ns;        /* when its last byte left the link, 0: not known */
} SvLatencyFrame;

/* A setting of a client's clock: MAIN_INIT or a MULTI_MEDIA_TIME taken. The
 * client sets its clock to server mm_time − latency when the message
 * arrives, so the clock lags the server by latency + the message's transit
 * (its wait on the link + the one-way delay). */
#define SV_LATENCY_CLOCKS 8
typedef struct SvLatencyClock {
    uint32_t id;
    uint32_t latency_ms;
    uint32_t mm_time; /* the value sent */
    int64_t value_ns; /* when the value was computed */
    int64_t link_ns;  /* from value_ns to the last byte leaving (or to the take) */
    gboolean known;   /* FALSE: the clock follows audio */
} SvLatencyClock;

/* A message taken from the pipe whose last byte has not left yet. */
#define SV_LATENCY_ON_LINK 256
#define SV_LATENCY_RATE_SAMPLES 16
typedef struct {
    const SvMessage *message; /* identity only; never dereferenced */
    uint64_t bytes;
    int64_t taken_ns;
} SvLatencyOnLink;

/* What a client's report says the path needs. */
typedef struct SvLatencySample {
    int64_t time_ns;
    uint32_t delay_ms; /* the frame's delay from its stamp to its arrival */
} SvLatencySample;

typedef struct SvLatencyState {
    SvLatencySample samples[SV_LATENCY_SAMPLES];
    guint n_samples, next_sample;
    int64_t encode_ns[SV_LATENCY_ENCODES];
    guint n_encodes, next_encode;
    int64_t last_change_ns; /* last latency change, INT64_MIN: none */
    int64_t last_late_ns;   /* last raise for a late frame, INT64_MIN: none */
    uint64_t raises, lowerings, backoffs, link_skips;
} SvLatencyState;

typedef struct SvSurface SvSurface;
typedef struct SvDrawable SvDrawable;
typedef struct SvAgent SvAgent;
typedef struct SvPipeItem SvPipeItem;

/* A copy of an SvImage whose pixels the display owns. */
typedef struct SvImageCopy {
    SvImage image;
    SpiceChunks *chunks; /* one chunk over pixels */
    uint8_t *pixels;
    size_t pixels_cap; /* bytes allocated at pixels */
    SpicePalette *palette;
} SvImageCopy;

typedef struct SvPixelBuffer {
    uint8_t *data;
    size_t size;
} SvPixelBuffer;

/* A DRAW item of one drawable in one client's pipe. */
typedef struct SvDrawableLink {
    SvDisplayClient *client;
    SvPipeItem *item;
} SvDrawableLink;

struct SvDrawable {
    int refs;
    SvDisplay *display; /* NULL once the display is freed */
    GList live_link;    /* display->live */
    uint64_t seq;
    int64_t time_ns;
    uint32_t mm_time;
    uint32_t generation; /* command-processing pass */
    SvStreamDetectorDrawable sd;
    SvDrawCommand cmd; /* deep copy: pointers below */
    SvImageCopy *src, *mask, *pattern;
    SpiceRect *clip_rects;
    pixman_region32_t
        region;         /* visible region in the tree (bbox ∩ clip, minus later opaque ones) */
    SvSurface *surface; /* NULL once out of the tree */
    GList tree_link;    /* surface->tree (head = oldest) */
    gboolean in_tree;
    GList pending_link;         /* pending_surface->pending */
    SvSurface *pending_surface; /* NULL when rendered or dropped */
    gboolean depends_on_surfaces;
    /* A later drawing read its area (COPY_BITS source, surface source,
     * dependency): a client must get it before that drawing, so it stays
     * in the pipes even when covered (spice's shadows). */
    gboolean read_by_later;
    GArray *links; /* SvDrawableLink: DRAW items in pipes */
    /* LZ4 size estimate of the image, computed once */
    gboolean sized_done;
    uint64_t image_raw_bytes;
    uint64_t image_lz4_bytes;
};

struct SvSurface {
    uint32_t id;
    gboolean primary;
    SvCanvas *canvas;
    uint32_t format;
    GQueue tree; /* SvDrawable via tree_link; head = oldest (bottom) */
    /* Drawables not yet rendered into canvas, oldest first (references):
     * rendering is lazy, as in spice (docs/server.md, "Rendering"). */
    GQueue pending;
};

struct SvAgent {
    int refs;
    SvDisplayClient *client;
    guint stream_id;
    VideoEncoder *encoder;
    SvNegotiation *negotiation;
    SpiceVideoCodecType codec_type;
    char *encoder_name; /* "spice:mjpeg"…, NULL without encoder */
    uint64_t starting_bit_rate;
    uint32_t last_source_fps;
    pixman_region32_t vis_region;
    pixman_region32_t clip;
    uint32_t report_id;
    uint32_t playback_delay_ms;
    uint64_t frames_encoded;
    uint64_t frames_dropped_by_encoder;
    uint64_t server_drops;
    uint64_t frames_as_images;
    uint64_t reports_forwarded;
    gboolean stopped;
    /* INTERACTIVE policy (latency.c): the stream frames taken lately, with
     * the client clock's latency they went out under and when. */
    SvLatencyFrame lat_frames[SV_LATENCY_FRAMES];
    guint lat_next;
    int64_t lat_last_qdelay_ns; /* queueing delay of the last frame sent, -1: none */
    int64_t lat_last_backoff_ns;
    double lat_frame_bytes; /* moving average of its frames' wire bytes (0: none yet) */
    gboolean lat_in_flight; /* a frame was taken and has not left the link */
    uint64_t lat_in_flight_seq;
};

typedef enum {
    ITEM_SURFACE_CREATE,
    ITEM_SURFACE_DESTROY,
    ITEM_DRAW,
    ITEM_STREAM_CREATE,
    ITEM_STREAM_CLIP,
    ITEM_STREAM_DESTROY,
    ITEM_STREAM_DESTROY_ALL,
    ITEM_ACTIVATE_REPORT,
    ITEM_UPGRADE,
    ITEM_IMAGE,
    ITEM_MULTI_MEDIA_TIME,
    ITEM_PLAYBACK_LATENCY,
} SvPipeItemType;

struct SvPipeItem {
    GList link; /* in client->pipe; link.data = this */
    SvPipeItemType type;
    int64_t queued_ns;
    uint32_t surface_id;
    uint32_t width, height, format;
    int stream_id;
    SvDrawable *drawable; /* DRAW, UPGRADE (a reference) */
    SvAgent *agent;       /* STREAM_CREATE, STREAM_DESTROY (a reference) */
    /* STREAM_CREATE */
    SpiceVideoCodecType codec_type;
    SpiceRect dest;
    gboolean top_down;
    /* STREAM_CLIP, STREAM_CREATE, UPGRADE */
    uint32_t clip_type;
    guint n_rects;
    SpiceRect *rects;
    /* ACTIVATE_REPORT */
    uint32_t unique_id;
    /* IMAGE */
    uint8_t *pixels;
    int32_t stride;
    /* MULTI_MEDIA_TIME / PLAYBACK_LATENCY: the latency, ms; SURFACE_CREATE: primary */
    uint32_t value;
    /* MULTI_MEDIA_TIME: the time sent (server mm_time − latency when queued) */
    uint32_t mm_time;
};

struct SvDisplayClient {
    SvDisplay *display;
    char *name;
    SvClientConfig config;
    GQueue pipe;           /* SvPipeItem via link; head = next to send */
    SvVideoCodecs *codecs; /* client-sorted list, NULL = the display's */
    uint8_t *pref_codecs;  /* PREFERRED_VIDEO_CODEC_TYPE, NULL if none */
    guint n_pref_codecs;
    SvAgent **agents; /* max_streams entries */
    uint64_t max_stream_bit_rate;
    gboolean have_rtt;
    uint32_t min_rtt_ms;
    uint32_t max_playback_delay_ms;
    SvAgent *max_delay_agent;
    /* INTERACTIVE policy: the settings of this client's clock, the last
     * one taken is clocks[clock_last]. */
    SvLatencyClock clocks[SV_LATENCY_CLOCKS];
    guint clock_last;
    uint32_t clock_next_id;
    gboolean lat_sent_seen; /* the caller calls sv_display_client_sent() */
    /* INTERACTIVE link budget: the messages taken and not yet reported
     * sent, oldest first (a ring), their bytes, and delivery-rate samples. */
    SvLatencyOnLink on_link[SV_LATENCY_ON_LINK];
    guint on_link_head, on_link_len;
    uint64_t on_link_bytes;
    int64_t last_sent_ns;
    double rate_samples[SV_LATENCY_RATE_SAMPLES]; /* bit/s */
    uint64_t rate_acc_bytes;                      /* a sample being gathered */
    int64_t rate_acc_start_ns;
    guint rate_next, n_rate_samples;
    gboolean link_budget_off; /* the caller stopped reporting */
    int64_t last_hold_ns;     /* the budget last held a message (INT64_MIN: never) */
};

struct SvDisplay {
    SvDisplayConfig config;
    char *video_codecs_string;
    SvVideoCodecs *codecs;
    SvStreamDetector *detector;
    guint max_streams;
    GHashTable *surfaces; /* id -> SvSurface */
    SvSurface *primary;
    GPtrArray *clients;
    GList *live; /* every SvDrawable not yet freed */
    uint64_t next_seq;
    uint32_t generation;
    int64_t now_ns;
    uint32_t mm_time_latency_ms;
    GRand *rand;
    SvDisplayEventFunc event_func;
    void *event_opaque;
    SvDisplayStats stats;
    /* the add in progress: drawables removed unsent from pipes (10b fix) */
    GArray *superseded;               /* SvDrawableLink, item = the drawable */
    SvDrawable *replacing;            /* the add in progress: its REPLACED predecessor */
    gboolean replace_at_old_position; /* …whose pipe position the new frame takes */
    gboolean resetting; /* device reset: streams end without their own STREAM_DESTROY */
    GArray *pixel_pool; /* SvPixelBuffer: freed pixel buffers for reuse */
    uint8_t *lz4_buf;   /* scratch for the LZ4 size estimates */
    size_t lz4_cap;
    SvLatencyState lat; /* INTERACTIVE policy */
};

/* ---- display.c ---- */
void sv_display_emit(SvDisplay *display, SvDisplayEvent *event);
void sv_drawable_ref(SvDrawable *drawable);
void sv_drawable_unref(SvDrawable *drawable);
SvDrawable *sv_drawable_get_current(SvDisplay *display, guint stream_id);
int64_t sv_cpu_time_ns(void);

/* ---- agent.c ---- */
SvAgent *sv_agent_new(SvDisplay *display, SvDisplayClient *client, guint stream_id,
                      SvDrawable *current, uint64_t streams_area);
void sv_agent_ref(SvAgent *agent);
void sv_agent_unref(SvAgent *agent);
void sv_agent_destroy_encoder(SvAgent *agent);
void sv_agent_stop(SvDisplay *display, SvAgent *agent);
void sv_agent_detach(SvDisplay *display, SvAgent *agent, SvDrawable *current, gboolean upgrade);
void sv_display_client_update_codecs(SvDisplay *display, SvDisplayClient *client);

/* ---- pipe.c ---- */
SvPipeItem *sv_pipe_item_new(SvPipeItemType type, int64_t now_ns);
void sv_pipe_item_free(SvPipeItem *item);
void sv_pipe_push(SvDisplayClient *client, SvPipeItem *item);
/* Queues @drawable as a DRAW item, before @before (NULL: at the tail). */
void sv_pipe_add_drawable(SvDisplayClient *client, SvDrawable *drawable, SvPipeItem *before,
                          int64_t now_ns);
/* The DRAW item of @drawable in @client's pipe, or NULL. */
SvPipeItem *sv_pipe_find_drawable(SvDisplayClient *client, SvDrawable *drawable);
/* Removes (and frees) one item from @client's pipe. */
void sv_pipe_remove(SvDisplayClient *client, SvPipeItem *item);
void sv_pipe_clear(SvDisplayClient *client);
void sv_pipe_queue_clip(SvDisplayClient *client, guint stream_id, const pixman_region32_t *clip,
                        int64_t now_ns);
void sv_pipe_queue_image(SvDisplay *display, SvDisplayClient *client, SvSurface *surface,
                         const pixman_box32_t *box, int64_t now_ns);
/* The drawable's image size estimate (LZ4 of its raw pixels), cached. */
void sv_drawable_size_image(SvDisplay *display, SvDrawable *drawable);
/* LZ4 size of @size bytes at @data (timed into stats.lz4_ns). */
uint64_t sv_display_lz4_size(SvDisplay *display, const uint8_t *data, size_t size);

/* ---- latency.c (INTERACTIVE policy; all are no-ops under SPICE) ---- */
/* TRUE when the INTERACTIVE rules own the mm_time latency (not under audio). */
gboolean sv_latency_owns_clock(const SvDisplay *display);
gboolean sv_latency_is_interactive(const SvDisplay *display);
void sv_latency_init(SvDisplay *display);
void sv_latency_client_added(SvDisplay *display, SvDisplayClient *client);
/* @message was just taken from @client's pipe. */
void sv_latency_message_taken(SvDisplay *display, SvDisplayClient *client,
                              const SvMessage *message);
/* Whether @client's pipe may give a message now (link budget). */
gboolean sv_latency_may_send(SvDisplay *display, SvDisplayClient *client, int64_t now_ns);
/* An unsent frame of @agent was superseded: a server drop. Under SPICE,
 * and INTERACTIVE without the link budget, the encoder always hears of it;
 * with the budget at most once per back-off interval. TRUE if notified. */
gboolean sv_latency_superseded(SvDisplay *display, SvDisplayClient *client, SvAgent *agent);
/* Whether the frame of @agent at the head of the pipe is skipped (busy link). */
gboolean sv_latency_skip_frame(SvDisplay *display, SvDisplayClient *client, SvAgent *agent);
/* The last_frame_delay the encoder is given: the client's under SPICE. */
int32_t sv_latency_forwarded_delay(SvDisplay *display, SvAgent *agent,
                                   const SvStreamReport *report);
/* The num_drops the encoder is given: the client's under SPICE. */
uint32_t sv_latency_forwarded_drops(SvDisplay *display, SvDisplayClient *client, SvAgent *agent,
                                    const SvStreamReport *report);
void sv_latency_report(SvDisplay *display, SvDisplayClient *client, SvAgent *agent,
                       const SvStreamReport *report);
void sv_latency_ping(SvDisplay *display, SvDisplayClient *client);
void sv_latency_audio_changed(SvDisplay *display, gboolean active);
void sv_latency_sent(SvDisplay *display, SvDisplayClient *client, const SvMessage *message,
                     int64_t sent_ns);
/* Counts a server drop on @agent's encoder (notify_server_frame_drop()). */
void sv_agent_notify_server_drop(SvAgent *agent);

/* ---- test hooks ---- */
/* Replaces the display's codec list (fake encoders in tests); @codecs is copied. */
void sv_display_set_codecs_for_testing(SvDisplay *display, const SvVideoCodecs *codecs);
/* The encoder of @client's agent for @stream_id, or NULL. */
VideoEncoder *sv_display_client_get_encoder_for_testing(SvDisplayClient *client, guint stream_id);

/* Renders @surface's pending drawables into its canvas (before reading it). */
void sv_surface_flush(SvDisplay *display, SvSurface *surface);

#endif /* SV_SERVER_PRIVATE_H */
