/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/**
 * netsim.h: the network model of the replay harness (docs/network.md).
 *
 * One SvLink carries one direction of one client's connection, as a TCP
 * stream over a bottleneck: bytes written by the sender wait in the socket
 * buffer and the bottleneck queue, leave at the link rate (constant, or the
 * delivery opportunities of a mahimahi trace), then take the one-way delay
 * plus jitter to arrive. Delivery is in order and lossless; a loss rate
 * shows up as extra delay (one retransmission round trip), as with TCP.
 * The sender cannot write while its backlog (bytes written but not yet on
 * the wire) exceeds socket buffer + bottleneck queue: the server's send side
 * stops, as a real socket would block.
 *
 * Everything is in virtual time (ns); nothing sleeps. Deterministic for a
 * given seed.
 */
#ifndef SV_HARNESS_NETSIM_H
#define SV_HARNESS_NETSIM_H

#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

/** Errors of sv_net_profile_parse() and sv_link_new(). An unreadable trace
 *  file is reported in G_FILE_ERROR instead. */
#define SV_NET_ERROR (sv_net_error_quark())
GQuark sv_net_error_quark(void);

typedef enum {
    SV_NET_ERROR_SPEC,  /**< a bad --net specification or profile */
    SV_NET_ERROR_TRACE, /**< a malformed mahimahi trace */
} SvNetError;

/** A network profile: one named set of numbers (docs/network.md). */
typedef struct SvNetProfile {
    char name[64];                /**< "lan", "wan", … or "custom" */
    uint64_t bandwidth_bps;       /**< server → client rate (ignored with a trace) */
    uint64_t uplink_bps;          /**< client → server rate */
    int64_t one_way_delay_ns;     /**< propagation delay, each direction (rtt / 2) */
    int64_t jitter_ns;            /**< extra delay drawn uniformly in [0, jitter] per message */
    uint64_t queue_bytes;         /**< bottleneck queue */
    uint64_t socket_buffer_bytes; /**< the sender's socket buffer */
    double loss;                  /**< 0..1: probability a message needs a retransmission */
    char trace_path[1024];        /**< mahimahi delivery trace for the downlink, "" if none */
} SvNetProfile;

/**
 * Parses a profile: a name (`lan`, `wifi`, `wan`, `dsl`, `mobile`,
 * `satellite`), optionally followed by overrides, or only overrides on top
 * of `lan`: `bw=5M,rtt=80ms,jitter=10ms,queue=256k,up=1M,loss=0.01,
 * sockbuf=128k,trace=FILE`. Units: bit/s with k/M/G (SI), times in
 * ns/us/ms/s, sizes in bytes with k/M (KiB/MiB).
 * @return FALSE with a one-line @error naming the bad field.
 */
gboolean sv_net_profile_parse(const char *spec, SvNetProfile *profile, GError **error);

/** @return the NULL-terminated list of named profiles. */
const char *const *sv_net_profile_names(void);

/** @return "wan: 20 Mbit/s down, 5 Mbit/s up, rtt 40 ms, jitter 2 ms, queue 256 KiB". g_free(). */
char *sv_net_profile_describe(const SvNetProfile *profile);

typedef struct SvLink SvLink;

typedef enum {
    SV_LINK_DOWN, /**< server → client: bandwidth_bps or the trace */
    SV_LINK_UP,   /**< client → server: uplink_bps */
} SvLinkDirection;

/**
 * @return a link, or NULL with @error (unreadable or malformed mahimahi
 *         trace: "FILE: line N: expected a millisecond timestamp").
 */
SvLink *sv_link_new(const SvNetProfile *profile, SvLinkDirection direction, uint64_t seed,
                    GError **error);
void sv_link_free(SvLink *link);

/** @return TRUE if the sender may write at @now_ns (backlog below the limit). */
gboolean sv_link_can_send(SvLink *link, int64_t now_ns);

/**
 * Writes a message of @bytes at @now_ns. @payload is returned by
 * sv_link_receive() when the message's last byte arrives. A write is
 * accepted whole even if it takes the backlog past the limit (like a
 * blocking write that completes).
 */
void sv_link_send(SvLink *link, int64_t now_ns, uint64_t bytes, gpointer payload);

/**
 * sv_link_send(), and the time the message's last byte will leave the
 * sender (enter the wire): what a server learns when its socket write
 * completes. It is the @sent_ns that sv_link_receive() returns for this
 * message, never after its arrival, never before @now_ns.
 */
int64_t sv_link_send_timed(SvLink *link, int64_t now_ns, uint64_t bytes, gpointer payload);

/**
 * @return the next time something changes on the link (a message arrives
 *         or the backlog falls below the limit so the sender may write
 *         again) after @now_ns, or INT64_MAX when idle.
 */
int64_t sv_link_next_event_ns(SvLink *link, int64_t now_ns);

/**
 * @return the oldest message whose last byte arrived at or before @now_ns,
 *         with its arrival time and the time its last byte left the sender
 *         (entered the wire); NULL if none.
 */
gpointer sv_link_receive(SvLink *link, int64_t now_ns, int64_t *arrival_ns, int64_t *sent_ns);

/** @return bytes written but not yet arrived. */
uint64_t sv_link_bytes_in_flight(const SvLink *link);

/** @return bytes written but not yet on the wire (socket buffer + queue). */
uint64_t sv_link_backlog_bytes(const SvLink *link, int64_t now_ns);

/** @return the capacity at @t_ns, bit/s (averaged over 100 ms for a trace). */
uint64_t sv_link_capacity_bps(const SvLink *link, int64_t t_ns);

/** Totals. */
typedef struct SvLinkStats {
    uint64_t messages;
    uint64_t bytes;
    uint64_t retransmissions;
    int64_t busy_ns; /**< time the wire was transmitting */
} SvLinkStats;

void sv_link_get_stats(const SvLink *link, SvLinkStats *stats);

G_END_DECLS

#endif /* SV_HARNESS_NETSIM_H */
