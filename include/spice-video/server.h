/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * server.h: the display-channel model a SPICE server owns (reference
 * sections 5.7-5.13 and 6): surfaces with their pixels, the drawable tree,
 * video streams found by the stream detector, one stream agent per stream
 * and client (encoder chosen by negotiation, starting bit rate, rate-control
 * callbacks, client reports), and one send pipe per client with spice's
 * replacement semantics.
 *
 * Nothing here knows about traces, networks or simulated clients: a caller
 * feeds QXL-like commands (SvDrawCommand) with their time, adds clients
 * with their capabilities, takes each client's next outgoing message when
 * its link can send, and delivers the client's messages (reports, codec
 * preferences, pings). Time is always passed in (`now_ns`, monotonic
 * nanoseconds); the encoders see the same clock, so a caller may run the
 * display on a virtual timeline.
 *
 * Thread: a display, its clients and its messages are used from one thread
 * at a time (spice's display worker).
 */
#ifndef SPICE_VIDEO_SERVER_H
#define SPICE_VIDEO_SERVER_H

#include <stdint.h>
#include <stdio.h>

#include <glib.h>

#include <spice-video/encoders.h>
#include <spice-video/registry.h>
#include <spice-video/spice-draw.h>
#include <spice-video/streamdetect.h>
#include <spice-video/sv-export.h>
#include <spice-video/video-encoder.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------
 * Commands
 * ------------------------------------------------------------------------- */

typedef struct SvPoint {
    int32_t x;
    int32_t y;
} SvPoint;

/**
 * An image a command refers to. BITMAP: @bitmap describes the pixels (its
 * chunks are read during the call only; the display copies what it keeps).
 * SURFACE: pixels of surface @surface_id. OTHER: a compressed image the
 * display cannot decode (QUIC, LZ…); only its size is known.
 */
typedef struct SvImage {
    SvSourceType type;
    uint64_t id;     /**< the guest's image id (cache key); 0 if none */
    uint32_t width;  /**< descriptor width */
    uint32_t height; /**< descriptor height */
    SpiceBitmap bitmap;
    uint32_t surface_id;
    uint64_t payload_bytes; /**< OTHER: bytes of the compressed payload */
} SvImage;

/** Brush types, QXL values. */
#define SV_BRUSH_NONE 0
#define SV_BRUSH_SOLID 1
#define SV_BRUSH_PATTERN 2

typedef struct SvBrush {
    uint32_t type;          /**< SV_BRUSH_* */
    uint32_t color;         /**< SOLID: 0xAARRGGBB / 0x00RRGGBB as the guest sent it */
    const SvImage *pattern; /**< PATTERN; may be NULL */
    SvPoint pattern_origin; /**< PATTERN */
} SvBrush;

/** Clip types, QXL values. */
#define SV_CLIP_NONE 0
#define SV_CLIP_RECTS 1

/**
 * One QXL drawing command (QXL_CMD_DRAW) in the form the display needs.
 * Rectangles use SpiceRect (right and bottom exclusive). Which members a
 * @type uses follows QXL: FILL brush/rop_descriptor/mask; OPAQUE src, brush,
 * rop_descriptor; COPY and BLEND src, src_area, rop_descriptor, scale_mode,
 * mask; COPY_BITS src_pos; TRANSPARENT src, src_color; ALPHA_BLEND src,
 * alpha, alpha_flags; COMPOSITE src, mask, composite_flags, transforms;
 * ROP3 src, brush, rop3; STROKE and TEXT brush (approximated, see
 * docs/server.md).
 */
typedef struct SvDrawCommand {
    uint32_t type;       /**< QXL_DRAW_* (COPY = 3) */
    uint32_t surface_id; /**< destination; 0 = primary */
    SpiceRect bbox;
    uint32_t clip_type;          /**< SV_CLIP_* */
    uint32_t n_clip_rects;       /**< RECTS */
    const SpiceRect *clip_rects; /**< RECTS: the visible parts of bbox */
    uint32_t effect;             /**< QXL_EFFECT_* (OPAQUE = 1) */
    /** Surfaces this drawing reads (-1 = unused) and the areas read. */
    int32_t surfaces_dest[3];
    SpiceRect surfaces_rects[3];

    const SvImage *src; /**< NULL when none */
    SpiceRect src_area;
    SvBrush brush;
    uint32_t rop_descriptor; /**< SPICE_ROPD_* (OP_PUT = 8) */
    uint32_t rop3;
    uint32_t scale_mode; /**< SPICE_IMAGE_SCALE_MODE_* */
    const SvImage *mask; /**< NULL when none */
    uint32_t mask_flags;
    SvPoint mask_pos;
    SvPoint src_pos; /**< COPY_BITS: source top-left on the same surface */

    uint32_t src_color; /**< TRANSPARENT: the colour that is not drawn */
    uint32_t true_color;
    uint32_t alpha_flags; /**< ALPHA_BLEND: SPICE_ALPHA_FLAGS_* */
    uint32_t alpha;       /**< ALPHA_BLEND: 0..255 */
    uint32_t composite_flags;
    gboolean has_src_transform;
    int32_t src_transform[6]; /**< 16.16 fixed point, row major 2×3 */
    gboolean has_mask_transform;
    int32_t mask_transform[6];
    SvPoint src_origin;
    SvPoint mask_origin;
    /** STROKE / TEXT: bytes of path or glyph data (for the message size). */
    uint64_t payload_bytes;
} SvDrawCommand;

/* ---------------------------------------------------------------------------
 * Canvas: pixels of one surface, drawn with pixman
 * ------------------------------------------------------------------------- */

/**
 * A surface's pixels: 32-bit xRGB (B, G, R, X bytes in memory), top-down,
 * whatever the guest's format. The display keeps one per surface; a
 * simulated client keeps its own to reconstruct the screen it would show.
 */
typedef struct SvCanvas SvCanvas;

/** Finds the canvas of surface @surface_id (for copies between surfaces); NULL if none. */
typedef SvCanvas *(*SvCanvasLookup)(void *opaque, uint32_t surface_id);

/**
 * @param format SPICE_SURFACE_FMT_* of the guest surface (kept for reference;
 *        the pixels are always stored as 32-bit xRGB).
 * @return a black canvas, or NULL with @error for absurd sizes (0 or
 *         > 16384 in either dimension). Ownership: caller, sv_canvas_free().
 */
SV_API SvCanvas *sv_canvas_new(uint32_t width, uint32_t height, uint32_t format, GError **error);
SV_API void sv_canvas_free(SvCanvas *canvas);
SV_API uint32_t sv_canvas_get_width(const SvCanvas *canvas);
SV_API uint32_t sv_canvas_get_height(const SvCanvas *canvas);
SV_API uint32_t sv_canvas_get_format(const SvCanvas *canvas);
/** @return the first byte of the top line; lines are sv_canvas_get_stride() bytes apart. */
SV_API uint8_t *sv_canvas_get_data(SvCanvas *canvas);
SV_API const uint8_t *sv_canvas_get_const_data(const SvCanvas *canvas);
SV_API int32_t sv_canvas_get_stride(const SvCanvas *canvas);

/**
 * Loads the whole surface from guest memory: @data is the lowest address of
 * |@stride| × height bytes; @stride is the distance between lines, negative
 * when the first line in memory is the bottom of the picture (the guest's
 * layout); pixels in @format (SPICE_SURFACE_FMT_32_xRGB, 32_ARGB, 16_565,
 * 16_555, 8_A). The caller checks the size.
 */
SV_API void sv_canvas_load(SvCanvas *canvas, const uint8_t *data, int32_t stride, uint32_t format);

/**
 * Renders @cmd into @canvas (the destination surface). Sources that are
 * surfaces are found with @lookup (may be NULL when there are none).
 * Exact for FILL, COPY, OPAQUE, BLEND, COPY_BITS, TRANSPARENT, ALPHA_BLEND,
 * COMPOSITE, BLACKNESS, WHITENESS, INVERS with bitmap or surface sources;
 * approximated (documented in docs/server.md) for ROP3, STROKE and TEXT
 * and for images of type OTHER, whose pixels are unknown.
 * @return TRUE if the drawing was exact, FALSE if it was approximated.
 */
SV_API gboolean sv_canvas_draw(SvCanvas *canvas, const SvDrawCommand *cmd, SvCanvasLookup lookup,
                               void *lookup_opaque);

/**
 * Paints a decoded video frame (@width × @height, 32-bit xRGB, top-down,
 * @stride bytes per line) scaled to @dest, limited to the @n_clip rectangles
 * of @clip (NULL / 0: no clip, the whole of @dest).
 */
SV_API void sv_canvas_put_frame(SvCanvas *canvas, const uint8_t *pixels, int32_t stride,
                                uint32_t width, uint32_t height, const SpiceRect *dest,
                                const SpiceRect *clip, guint n_clip);

/**
 * Copies @area of @canvas into @out (32-bit xRGB, top-down, @out_stride
 * bytes per line); @area must lie inside the canvas.
 */
SV_API void sv_canvas_read(const SvCanvas *canvas, const SpiceRect *area, uint8_t *out,
                           int32_t out_stride);

/* ---------------------------------------------------------------------------
 * Display
 * ------------------------------------------------------------------------- */

/**
 * How the display sets the clients' playback delay (docs/latency.md).
 * SPICE (default): spice-server's behaviour (reference 6.5): the mm_time
 * latency starts at 400 ms and only ever grows; with audio active,
 * PLAYBACK_LATENCY messages instead.
 * INTERACTIVE: a low-latency policy that works with a stock spice-gtk
 * client: the latency follows what the path needs (round trip / 2 + encode
 * time p95 + a jitter margin, corrected by the client's reported margins),
 * lowered as well as raised; a frame waiting in the pipe is always replaced
 * by a newer frame of its stream (counted as a server drop), and optionally a
 * frame is not encoded while the previous one is still on the link; queueing delay
 * measured through sv_display_client_sent() makes the encoder back off
 * before frames are late. With audio active the latency behaves as SPICE.
 */
typedef enum {
    SV_LATENCY_POLICY_SPICE = 0,
    SV_LATENCY_POLICY_INTERACTIVE = 1,
} SvLatencyPolicy;

/** @return "spice" or "interactive". */
SV_API const char *sv_latency_policy_to_string(SvLatencyPolicy policy);
/** Parses "spice" or "interactive"; FALSE for anything else. */
SV_API gboolean sv_latency_policy_from_string(const char *name, SvLatencyPolicy *policy);

/** Display settings. sv_display_config_init() gives spice-server 0.15's. */
typedef struct SvDisplayConfig {
    /** Stream detection: mode and thresholds (reference 5.1-5.2). */
    SvStreamDetectorConfig detector;
    /** The server's `video-codecs` string (spice syntax), NULL = spice's
     *  default list. */
    const char *video_codecs;
    /** Given to every encoder; its clock is replaced by the display's. */
    SvEncoderConfig encoder;
    /** SPICE_BIT_RATE in Mibit/s (0 = unset); sv_display_config_init()
     *  reads the environment variable as spice does (reference 6.4). */
    double spice_bit_rate_mbps;
    /** Guest commands are not pulled while a pipe holds more items (50). */
    guint max_pipe_size;
    /** Starting mm_time latency, ms (400). */
    uint32_t mm_time_latency_ms;
    SvLatencyPolicy latency_policy;
    /** Audio playback is active: playback-delay updates go out as
     *  PLAYBACK_LATENCY and the mm_time latency is left alone (6.5). */
    gboolean audio_active;
    /**
     * Fix for reference 8 item 10b: when a frame whose region differs (a
     * larger or sized frame) supersedes an unsent frame of the same stream,
     * report the drop to the encoder too. FALSE = spice's behaviour.
     */
    gboolean report_superseded_drops;
    /** Upper bound on drawables kept in the tree per surface before the
     *  oldest are retired (spice: its drawable pool, 1000). */
    guint max_tree_drawables;
    /** Seed of the generator of stream-report unique ids (spice: rand()),
     *  so that runs are reproducible (0 by default). */
    uint32_t random_seed;
    /** INTERACTIVE policy: the jitter margin, ms (20): added to the path
     *  floor, kept above the largest delay the clients' reports show when
     *  lowering, and added to a deficit when raising (docs/latency.md). */
    uint32_t jitter_margin_ms;
    /** INTERACTIVE policy: the client clock's lag behind the server clock
     *  (latency + the clock message's transit) never goes below this, ms
     *  (0: only the path floor, round trip / 2 + encode p95 + jitter margin,
     *  applies). */
    uint32_t interactive_floor_ms;
    /** INTERACTIVE policy: a stream frame reaching the head of the pipe
     *  while the previous frame of its stream has not left the link yet
     *  (sv_display_client_sent() not called for it) is not encoded and
     *  counts as a server drop (FALSE by default; docs/latency.md). Active
     *  only once the caller has called sv_display_client_sent(), which it
     *  must then call for every message; a frame not reported within 1 s
     *  stops blocking. */
    gboolean interactive_skip_busy_link;
    /** INTERACTIVE policy, link budget: a client's pipe gives no message
     *  while the messages it gave that have not left the link yet
     *  (sv_display_client_sent()) would take more than this to leave at
     *  the link's measured delivery rate, ms (10). Messages then wait in
     *  the pipe, where a newer frame or image replaces them, instead of in
     *  socket and network queues. 0 = never hold. Active once the caller
     *  calls sv_display_client_sent(), which it must then do for every
     *  message (docs/latency.md). */
    uint32_t interactive_link_budget_ms;
    /** INTERACTIVE policy: a stream's encoder may aim at most at this
     *  share of the link's measured delivery rate, percent (75). Above it,
     *  while the link budget held a message in the last second, a frame
     *  sent notifies the encoder of a server drop (at most one per second),
     *  which lowers its rate: frames then leave in a fraction of the frame
     *  interval, and a key frame or a burst of jitter does not queue behind
     *  the others. Not for spice's MJPEG encoder, nor for an encoder whose
     *  frames are sized for more than twice its aim (docs/latency.md). 0 =
     *  no cap. Needs the same sv_display_client_sent() reports as the link
     *  budget. */
    uint32_t interactive_link_share_pct;
    /** When set, the encode time a STREAM_DATA message reports
     *  (SvMessage.encode_cpu_ns, which the INTERACTIVE floor uses) is this
     *  function's value for the frame instead of the measured CPU time:
     *  reproducible runs (spice-bench --deterministic). NULL: measured. */
    int64_t (*encode_cost_ns)(void *data, SpiceVideoCodecType codec, uint64_t pixels);
    void *encode_cost_data;
} SvDisplayConfig;

SV_API void sv_display_config_init(SvDisplayConfig *config);

typedef struct SvDisplay SvDisplay;
typedef struct SvDisplayClient SvDisplayClient;

/** Errors of the display: bad commands and client protocol violations. */
#define SV_DISPLAY_ERROR (sv_display_error_quark())
SV_API GQuark sv_display_error_quark(void);

typedef enum {
    SV_DISPLAY_ERROR_INVALID_COMMAND, /**< unknown surface, absurd size, bad rectangle */
    SV_DISPLAY_ERROR_CONFIG,          /**< bad configuration value */
    SV_DISPLAY_ERROR_DISCONNECT,      /**< the client must be disconnected (6.7 step 1) */
} SvDisplayError;

/** What happened in the display, for logs and metrics (sv_display_set_event_func()). */
typedef enum {
    SV_DISPLAY_EVENT_STREAM_CREATED, /**< stream_id, drawable_seq, width, height, dest, input_fps */
    SV_DISPLAY_EVENT_STREAM_STOPPED, /**< stream_id, reason */
    SV_DISPLAY_EVENT_STREAM_DETACHED, /**< stream_id, reason */
    SV_DISPLAY_EVENT_AGENT_CREATED, /**< client, stream_id, codec_type, encoder_name, bit_rate, text
                                       = negotiation */
    SV_DISPLAY_EVENT_SERVER_DROP,   /**< client, stream_id, drawable_seq: unsent frame superseded */
    SV_DISPLAY_EVENT_ENCODER_DROP,  /**< client, stream_id, drawable_seq: encode_frame said DROP */
    SV_DISPLAY_EVENT_FRAME_AS_IMAGE,    /**< client, stream_id, drawable_seq, text = why */
    SV_DISPLAY_EVENT_REPORT,            /**< client, stream_id, text = what was done with it */
    SV_DISPLAY_EVENT_ENCODER_DESTROYED, /**< client, stream_id (cannot-decode report) */
    SV_DISPLAY_EVENT_LATENCY_CHANGED,   /**< value = new mm_time latency, ms */
    SV_DISPLAY_EVENT_PLAYBACK_DELAY, /**< client, stream_id, value = delay asked by the encoder, ms
                                      */
} SvDisplayEventType;

typedef struct SvDisplayEvent {
    SvDisplayEventType type;
    int64_t time_ns;
    SvDisplayClient *client; /**< NULL for display-wide events */
    int stream_id;           /**< -1 when none */
    uint64_t drawable_seq;   /**< sequence number of the drawable concerned */
    uint32_t width, height;
    SpiceRect dest;
    uint32_t input_fps;
    SvStreamReason reason;
    SpiceVideoCodecType codec_type;
    const char *encoder_name; /**< "spice:mjpeg"… */
    uint64_t bit_rate;
    uint64_t value;
    const char *text; /**< may be NULL; valid during the call */
} SvDisplayEvent;

typedef void (*SvDisplayEventFunc)(void *opaque, const SvDisplayEvent *event);

/**
 * @return a display without surfaces or clients, or NULL with @error if
 *         @config is invalid (bad `video_codecs` string: spice's diagnostics).
 * Ownership: caller, sv_display_free().
 */
SV_API SvDisplay *sv_display_new(const SvDisplayConfig *config, GError **error);
/** Frees the display, its clients, agents (encoders), pipes and surfaces. */
SV_API void sv_display_free(SvDisplay *display);
SV_API void sv_display_set_event_func(SvDisplay *display, SvDisplayEventFunc func, void *opaque);
SV_API const SvDisplayConfig *sv_display_get_config(const SvDisplay *display);

/** The stream detector the display drives (read-only use: explain, get_stream). */
SV_API SvStreamDetector *sv_display_get_detector(SvDisplay *display);

/**
 * Creates a surface. @primary: the primary surface (id 0 in spice; there is
 * at most one). @data/@stride: initial pixels (NULL: black) as for
 * sv_canvas_load(): |@stride| × @height bytes from @data, @stride negative
 * for bottom-up; a stride shorter than a line is refused.
 */
SV_API gboolean sv_display_create_surface(SvDisplay *display, int64_t now_ns, uint32_t surface_id,
                                          uint32_t width, uint32_t height, uint32_t format,
                                          gboolean primary, const uint8_t *data, int32_t stride,
                                          GError **error);
/** Destroys a surface; destroying the primary runs reference 5.13's rules. */
SV_API gboolean sv_display_destroy_surface(SvDisplay *display, int64_t now_ns, uint32_t surface_id,
                                           GError **error);
/** Device reset: every surface goes; clients get STREAM_DESTROY_ALL. */
SV_API void sv_display_destroy_surfaces(SvDisplay *display, int64_t now_ns);

/**
 * Starts a new command-processing pass (spice's generation counter, 6.6):
 * frames fetched in one pass do not count as server drops of each other.
 */
SV_API void sv_display_begin_pass(SvDisplay *display);

/**
 * Adds a drawing command at @now_ns: renders it, updates the tree, runs
 * stream detection, queues it (or a stream frame) on every client's pipe.
 * @param seq_out if not NULL, the drawable's sequence number (0, 1, 2…
 *        over all draws of this display).
 * @return FALSE with @error (SV_DISPLAY_ERROR_INVALID_COMMAND) for a command
 *         the display refuses (unknown surface, …); the display is unchanged.
 */
SV_API gboolean sv_display_draw(SvDisplay *display, int64_t now_ns, const SvDrawCommand *cmd,
                                uint64_t *seq_out, GError **error);

/** The guest reads @area of @surface_id back (QXL UPDATE command or message). */
SV_API gboolean sv_display_update_area(SvDisplay *display, int64_t now_ns, uint32_t surface_id,
                                       const SpiceRect *area, GError **error);

/** Stream timeouts (reference 5.13); call at least at sv_display_next_timeout_ns(). */
SV_API void sv_display_tick(SvDisplay *display, int64_t now_ns);
/** @return the next time sv_display_tick() has work, INT64_MAX if none. */
SV_API int64_t sv_display_next_timeout_ns(const SvDisplay *display);

/** @return FALSE while any client's pipe holds more than max_pipe_size items (6.6). */
SV_API gboolean sv_display_can_pull_commands(const SvDisplay *display);

/** Stops every stream (as a codec-list change does). */
SV_API void sv_display_stop_all_streams(SvDisplay *display, int64_t now_ns);
/** Changes the streaming mode (only later drawables see it). */
SV_API void sv_display_set_streaming_mode(SvDisplay *display, SvStreamingMode mode);
/** Replaces the codec list (spice syntax); stops all streams. */
SV_API gboolean sv_display_set_video_codecs(SvDisplay *display, int64_t now_ns,
                                            const char *video_codecs, GError **error);
/** Audio playback starts or stops (reference 6.5). */
SV_API void sv_display_set_audio_active(SvDisplay *display, int64_t now_ns, gboolean active);

/** The primary surface's canvas (the guest's screen), or NULL. */
SV_API SvCanvas *sv_display_get_primary(SvDisplay *display);
/** Any surface's canvas, or NULL. */
SV_API SvCanvas *sv_display_get_surface(SvDisplay *display, uint32_t surface_id);

/** @return the current mm_time latency, ms (6.5). */
SV_API uint32_t sv_display_get_mm_time_latency(const SvDisplay *display);
/** @return the server mm_time at @now_ns (ms, wraps at 2^32). */
SV_API uint32_t sv_display_mm_time(const SvDisplay *display, int64_t now_ns);

/* ---------------------------------------------------------------------------
 * Clients
 * ------------------------------------------------------------------------- */

/** A client as the display sees it when it connects. */
typedef struct SvClientConfig {
    const char *name; /**< for logs and events; copied */
    /** Display-channel capabilities, SV_CAP() bits (MULTI_CODEC,
     *  CODEC_*, STREAM_REPORT, SIZED_STREAM…). */
    uint32_t display_caps;
    /** Main channel: result of the network test, bit/s; 0 = no result. */
    uint64_t network_test_bps;
    /** Main channel: the client is in low-bandwidth mode (test < 10 Mibit/s). */
    gboolean low_bandwidth;
    /** Playback channel has SPICE_PLAYBACK_CAP_LATENCY. */
    gboolean playback_latency_cap;
} SvClientConfig;

/**
 * Connects a client: its pipe gets the surfaces, a picture of the primary,
 * and an agent for every existing stream (reference 6.1).
 * Ownership: the display's; valid until sv_display_remove_client().
 */
SV_API SvDisplayClient *sv_display_add_client(SvDisplay *display, int64_t now_ns,
                                              const SvClientConfig *config, GError **error);
SV_API void sv_display_remove_client(SvDisplay *display, SvDisplayClient *client);
SV_API const char *sv_display_client_get_name(const SvDisplayClient *client);

/** Message types on the wire (server → client). */
typedef enum {
    SV_MSG_SURFACE_CREATE,
    SV_MSG_SURFACE_DESTROY,
    SV_MSG_DRAW, /**< a drawable, its image sent as an ordinary image */
    SV_MSG_STREAM_CREATE,
    SV_MSG_STREAM_DATA, /**< STREAM_DATA or STREAM_DATA_SIZED */
    SV_MSG_STREAM_CLIP,
    SV_MSG_STREAM_DESTROY,
    SV_MSG_STREAM_DESTROY_ALL,
    SV_MSG_STREAM_ACTIVATE_REPORT,
    SV_MSG_UPGRADE,          /**< lossless copy of a stream's last frame (upgrade item) */
    SV_MSG_IMAGE,            /**< lossless image of a screen area (upgrade by screenshot) */
    SV_MSG_MULTI_MEDIA_TIME, /**< main channel: client clock = server mm_time − latency */
    SV_MSG_PLAYBACK_LATENCY, /**< playback channel */
} SvMessageType;

/** Why a stream's frame went out as an ordinary image. */
typedef enum {
    SV_FRAME_AS_STREAM = 0,       /**< it did not: STREAM_DATA */
    SV_FRAME_NOT_STREAMED,        /**< the drawable has no stream */
    SV_FRAME_NO_ENCODER,          /**< this client's agent has no encoder */
    SV_FRAME_SIZED_NOT_SUPPORTED, /**< sized frame, client lacks SIZED_STREAM */
    SV_FRAME_UNSUPPORTED,         /**< encode_frame() said UNSUPPORTED */
} SvFrameDisposition;

/**
 * One outgoing message. The display fills it when the caller takes it
 * (marshalling: stream frames are encoded at that point, as spice does).
 * Everything it points to stays valid until sv_display_message_free().
 */
typedef struct SvMessage {
    SvMessageType type;
    uint16_t wire_type;  /**< SPICE_MSG_* */
    uint64_t wire_bytes; /**< header + payload as spice would write it */
    int64_t queued_ns;   /**< when it entered the pipe */
    uint32_t surface_id;
    int stream_id;    /**< stream messages; -1 otherwise */
    uint32_t mm_time; /**< STREAM_DATA, DRAW: the frame's stamp; MULTI_MEDIA_TIME: the time */

    /* DRAW, UPGRADE: the drawable (pixels retained), its sequence number and time */
    const SvDrawCommand *draw;
    uint64_t drawable_seq;
    int64_t drawable_time_ns; /**< when the display received it */
    SvFrameDisposition disposition;
    uint64_t image_raw_bytes; /**< DRAW/UPGRADE/IMAGE: uncompressed image bytes */
    uint64_t image_lz4_bytes; /**< … and their LZ4 size (the size estimate on the wire) */

    /* STREAM_CREATE */
    SpiceVideoCodecType codec_type;
    uint32_t width, height; /**< stream size; STREAM_DATA sized: this frame's size */
    SpiceRect dest;         /**< STREAM_CREATE, sized STREAM_DATA: destination */
    gboolean top_down;

    /* STREAM_DATA */
    gboolean sized;
    const uint8_t *data;
    uint32_t data_size;
    int64_t encode_cpu_ns;     /**< thread CPU time of encode_frame() */
    const SpiceBitmap *source; /**< the frame's source pixels (quality metrics) */
    SpiceRect source_area;

    /* STREAM_CLIP, STREAM_CREATE, DRAW: clip (NONE or RECTS) */
    uint32_t clip_type;
    guint n_clip_rects;
    const SpiceRect *clip_rects;

    /* STREAM_ACTIVATE_REPORT */
    uint32_t unique_id;
    uint32_t max_window_size;
    uint32_t timeout_ms;

    /* IMAGE: pixels of @dest, 32-bit xRGB top-down */
    const uint8_t *pixels;
    int32_t pixels_stride;

    /* MULTI_MEDIA_TIME / PLAYBACK_LATENCY */
    uint32_t latency_ms;
} SvMessage;

/** @return "stream-data"… */
SV_API const char *sv_message_type_to_string(SvMessageType type);
SV_API const char *sv_frame_disposition_to_string(SvFrameDisposition disposition);

/**
 * Whether @client's pipe may give a message at @now_ns. Always TRUE under
 * the SPICE policy; under INTERACTIVE, FALSE while the link budget is
 * spent (SvDisplayConfig.interactive_link_budget_ms): call
 * sv_display_client_pop() only when TRUE, and ask again after the next
 * sv_display_client_sent().
 */
SV_API gboolean sv_display_client_may_send(SvDisplay *display, SvDisplayClient *client,
                                           int64_t now_ns);

/** @return items waiting in @client's pipe (not yet marshalled). */
SV_API guint sv_display_client_pipe_length(const SvDisplayClient *client);

/**
 * Takes @client's next message at @now_ns, when its link can send. Stream
 * frames are encoded now; a frame the encoder drops produces no message
 * (an ENCODER_DROP event) and the next item is taken.
 * @return the message (Ownership: caller, sv_display_message_free()), or
 *         NULL when the pipe is empty.
 */
SV_API SvMessage *sv_display_client_pop(SvDisplay *display, SvDisplayClient *client,
                                        int64_t now_ns);
SV_API void sv_display_message_free(SvMessage *message);

/** SPICE_MSGC_DISPLAY_STREAM_REPORT (reference 6.2). */
typedef struct SvStreamReport {
    uint32_t stream_id;
    uint32_t unique_id;
    uint32_t start_frame_mm_time;
    uint32_t end_frame_mm_time;
    uint32_t num_frames;
    uint32_t num_drops;
    int32_t last_frame_delay;
    uint32_t audio_delay;
} SvStreamReport;

/**
 * Handles a stream report exactly as reference 6.7 says.
 * @return FALSE with SV_DISPLAY_ERROR_DISCONNECT when the client must be
 *         disconnected (stream id out of range); the caller then removes it.
 */
SV_API gboolean sv_display_client_stream_report(SvDisplay *display, SvDisplayClient *client,
                                                int64_t now_ns, const SvStreamReport *report,
                                                GError **error);

/** PREFERRED_VIDEO_CODEC_TYPE: re-sorts the codec list for @client, stops all streams. */
SV_API void sv_display_client_preferred_codecs(SvDisplay *display, SvDisplayClient *client,
                                               int64_t now_ns, const uint8_t *codecs,
                                               guint n_codecs);

/**
 * The last byte of @message (as returned by sv_display_client_pop(), still
 * valid) left for the network at @sent_ns: what a server learns when its
 * socket write completes. Optional under the SPICE policy; the INTERACTIVE
 * policy measures queueing delay (time from the frame's encode to this
 * moment) with it.
 */
SV_API void sv_display_client_sent(SvDisplay *display, SvDisplayClient *client,
                                   const SvMessage *message, int64_t sent_ns);

/** A ping answer: the display channel's round trip is the minimum measured (6.4). */
SV_API void sv_display_client_ping(SvDisplay *display, SvDisplayClient *client,
                                   int64_t roundtrip_ns);

/** One stream agent, for queries and tests. */
typedef struct SvAgentInfo {
    guint stream_id;
    gboolean has_encoder;
    SpiceVideoCodecType codec_type;
    const char *encoder_name; /**< "gstreamer:vp8"…, NULL without encoder */
    uint64_t starting_bit_rate;
    uint64_t bit_rate; /**< the encoder's get_bit_rate() now */
    VideoEncoderStats stats;
    uint32_t report_id;
    uint32_t playback_delay_ms;
    uint64_t frames_encoded;
    uint64_t frames_dropped_by_encoder;
    uint64_t server_drops; /**< notify_server_frame_drop() calls */
    uint64_t frames_as_images;
    uint64_t reports_forwarded;
} SvAgentInfo;

/** @return FALSE if @client has no agent for @stream_id. */
SV_API gboolean sv_display_client_get_agent(SvDisplay *display, SvDisplayClient *client,
                                            guint stream_id, SvAgentInfo *info);
/** @return the negotiation record of @client's agent for @stream_id, or NULL. */
SV_API const SvNegotiation *sv_display_client_get_negotiation(SvDisplay *display,
                                                              SvDisplayClient *client,
                                                              guint stream_id);

/** Counters over the display's life. */
typedef struct SvDisplayStats {
    uint64_t draws;
    uint64_t draws_by_type[16];
    uint64_t streams_created;
    uint64_t streams_stopped;
    uint64_t upgrades;
    uint64_t screenshots;
    uint64_t tree_drawables; /**< in the tree now */
    uint64_t render_ns;      /**< CPU time spent rendering */
    uint64_t lz4_ns;         /**< CPU time spent sizing images with LZ4 */
    uint64_t encode_ns;      /**< CPU time in encode_frame() */
} SvDisplayStats;

SV_API void sv_display_get_stats(const SvDisplay *display, SvDisplayStats *stats);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvDisplay, sv_display_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SvCanvas, sv_canvas_free)

#ifdef __cplusplus
}
#endif

#endif /* SPICE_VIDEO_SERVER_H */
