/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Encoders in a child process (isolate.h, docs/replay.md "Isolated
 * encoders").
 *
 * Protocol, over a stream socketpair: every message is a 32-bit length (of
 * what follows), a type byte and a payload in host byte order (both ends are
 * the same binary on the same machine). The parent sends one request per
 * VideoEncoder call, starting with the parent's clock, and waits for one
 * MSG_REPLY, which starts with the CPU time the worker spent on it. While
 * the worker's encoder runs, its rate-control callbacks come back as
 * MSG_CB_* requests that the parent answers with MSG_CB_ANSWER before the
 * reply arrives.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <spice-video/encoders.h>
#include <spice-video/replay.h>

#include "isolate.h"

#define SEC INT64_C(1000000000)
#define DEFAULT_TIMEOUT_NS (10 * SEC)
/* A worker that closed its socket gets this long to exit before SIGKILL. */
#define REAP_GRACE_NS (2 * SEC)
/* No legitimate message comes near this: a frame of 8192 x 8192 x 4 is 256 MiB. */
#define MAX_MESSAGE_BYTES (UINT32_C(1) << 30)
/* The request's clock field when the parent's encoders use the system clock. */
#define NO_CLOCK INT64_MIN

enum {
    MSG_CREATE = 1,
    MSG_ENCODE,
    MSG_REPORT,
    MSG_SERVER_DROP,
    MSG_GET_BIT_RATE,
    MSG_GET_STATS,
    MSG_DESTROY,
    MSG_REPLY = 32,
    MSG_CB_ROUNDTRIP = 64,
    MSG_CB_SOURCE_FPS,
    MSG_CB_PLAYBACK_DELAY,
    MSG_CB_ANSWER = 96,
};

/* Which rate-control callbacks the parent's encoder was given. */
enum {
    HAVE_ROUNDTRIP = 1 << 0,
    HAVE_SOURCE_FPS = 1 << 1,
    HAVE_PLAYBACK_DELAY = 1 << 2,
};

static int64_t process_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * SEC + ts.tv_nsec;
}

/* ---- messages ---------------------------------------------------------------- */

static GByteArray *msg_new(uint8_t type)
{
    GByteArray *m = g_byte_array_sized_new(64);
    uint32_t len = 0;
    g_byte_array_append(m, (const guint8 *)&len, sizeof(len));
    g_byte_array_append(m, &type, 1);
    return m;
}

static void put(GByteArray *m, const void *data, size_t n)
{
    g_byte_array_append(m, data, (guint)n);
}

#define PUT_VALUE(m, type, value)  \
    do {                           \
        type v_ = (value);         \
        put((m), &v_, sizeof(v_)); \
    } while (0)

static void put_str(GByteArray *m, const char *s)
{
    PUT_VALUE(m, uint32_t, s != NULL ? (uint32_t)strlen(s) : UINT32_MAX);
    if (s != NULL) {
        put(m, s, strlen(s));
    }
}

typedef struct {
    uint8_t *data;
    size_t len;
    size_t pos;
    gboolean bad;
    uint8_t type;
} In;

static void in_clear(In *in)
{
    g_free(in->data);
    memset(in, 0, sizeof(*in));
}

static const void *get(In *in, size_t n)
{
    if (in->bad || in->len - in->pos < n) {
        in->bad = TRUE;
        return NULL;
    }
    const void *p = in->data + in->pos;
    in->pos += n;
    return p;
}

#define GET_FUNC(name, type)                \
    static type name(In *in)                \
    {                                       \
        type v = 0;                         \
        const void *p = get(in, sizeof(v)); \
        if (p != NULL) {                    \
            memcpy(&v, p, sizeof(v));       \
        }                                   \
        return v;                           \
    }
GET_FUNC(get_u8, uint8_t)
GET_FUNC(get_u16, uint16_t)
GET_FUNC(get_u32, uint32_t)
GET_FUNC(get_i32, int32_t)
GET_FUNC(get_u64, uint64_t)
GET_FUNC(get_i64, int64_t)
GET_FUNC(get_double, double)

/* @return a new string, or NULL (sent as NULL, or bad input). */
static char *get_str(In *in)
{
    uint32_t n = get_u32(in);
    if (n == UINT32_MAX) {
        return NULL;
    }
    const char *p = get(in, n);
    return p != NULL ? g_strndup(p, n) : NULL;
}

/* Sends @m (freed). @return FALSE on any error (EPIPE: the peer is gone). */
static gboolean send_msg(int fd, GByteArray *m)
{
    uint32_t len = m->len - (uint32_t)sizeof(uint32_t);
    memcpy(m->data, &len, sizeof(len));
    size_t done = 0;
    gboolean ok = TRUE;
    while (done < m->len) {
        /* MSG_NOSIGNAL: a dead peer is an error to report, not a SIGPIPE. */
        ssize_t n = send(fd, m->data + done, m->len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ok = FALSE;
            break;
        }
        done += (size_t)n;
    }
    g_byte_array_free(m, TRUE);
    return ok;
}

typedef enum {
    RECV_OK,
    RECV_EOF, /* closed, or an I/O error */
    RECV_TIMEOUT,
    RECV_BAD, /* not a message of this protocol */
} RecvResult;

/* Reads exactly @n bytes; @deadline_ns < 0 waits forever. */
static RecvResult read_full(int fd, void *buf, size_t n, int64_t deadline_ns)
{
    size_t done = 0;
    while (done < n) {
        if (deadline_ns >= 0) {
            int64_t left = deadline_ns - monotonic_ns();
            if (left <= 0) {
                return RECV_TIMEOUT;
            }
            struct pollfd pfd = {.fd = fd, .events = POLLIN};
            int ms = (int)MIN(left / 1000000 + 1, G_MAXINT);
            int r = poll(&pfd, 1, ms);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r < 0) {
                return RECV_EOF;
            }
            if (r == 0) {
                continue; /* the deadline check above decides */
            }
        }
        ssize_t got = read(fd, (uint8_t *)buf + done, n - done);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return RECV_EOF;
        }
        done += (size_t)got;
    }
    return RECV_OK;
}

/* Reads one message into @in (cleared first). @timeout_ns < 0: no limit. */
static RecvResult recv_msg(int fd, In *in, int64_t timeout_ns)
{
    in_clear(in);
    int64_t deadline = timeout_ns >= 0 ? monotonic_ns() + timeout_ns : -1;
    uint32_t len = 0;
    RecvResult r = read_full(fd, &len, sizeof(len), deadline);
    if (r != RECV_OK) {
        return r;
    }
    if (len < 1 || len > MAX_MESSAGE_BYTES) {
        return RECV_BAD;
    }
    in->data = g_malloc(len);
    in->len = len;
    r = read_full(fd, in->data, len, deadline);
    if (r != RECV_OK) {
        return r;
    }
    in->type = get_u8(in);
    return RECV_OK;
}

/* ---- the parent: proxy descriptors and encoders ------------------------------------ */

typedef struct {
    /* First member: the registry hands create_for this descriptor. */
    SvEncoderDesc proxy;
    const SvEncoderDesc *real;
    SvIsolate *isolate;
    char *name; /* "encoder:codec" */
} Entry;

struct SvIsolate {
    char **argv_prefix;
    int64_t timeout_ns;
    GHashTable *entries; /* real descriptor → Entry */
    char *failure;
    int64_t worker_cpu_ns;
};

typedef struct {
    VideoEncoder base;
    Entry *entry;
    VideoEncoderRateControlCbs cbs;
    SvClock clock;
    int fd;
    pid_t pid; /* 0 once reaped */
    int64_t timeout_ns;
    uint32_t frames; /* encode_frame() calls so far */
    gboolean failed;
} Proxy;

static Entry *entry_of(const SvEncoderDesc *desc)
{
    return (Entry *)((char *)desc - offsetof(Entry, proxy));
}

static void entry_free(gpointer data)
{
    Entry *e = data;
    g_free(e->name);
    g_free(e);
}

SvIsolate *sv_isolate_new(const char *const *worker_argv, int64_t timeout_ns)
{
    g_return_val_if_fail(worker_argv != NULL && worker_argv[0] != NULL, NULL);
    SvIsolate *isolate = g_new0(SvIsolate, 1);
    isolate->argv_prefix = g_strdupv((char **)worker_argv);
    isolate->timeout_ns = timeout_ns;
    const char *env = g_getenv("SV_ISOLATE_TIMEOUT_MS");
    if (env != NULL && g_ascii_strtoll(env, NULL, 10) > 0) {
        isolate->timeout_ns = g_ascii_strtoll(env, NULL, 10) * 1000000;
    }
    isolate->entries = g_hash_table_new_full(NULL, NULL, NULL, entry_free);
    return isolate;
}

void sv_isolate_free(SvIsolate *isolate)
{
    if (isolate == NULL) {
        return;
    }
    g_strfreev(isolate->argv_prefix);
    g_hash_table_destroy(isolate->entries);
    g_free(isolate->failure);
    g_free(isolate);
}

const char *sv_isolate_get_failure(const SvIsolate *isolate)
{
    return isolate->failure;
}

int64_t sv_isolate_take_worker_cpu_ns(SvIsolate *isolate)
{
    int64_t ns = isolate->worker_cpu_ns;
    isolate->worker_cpu_ns = 0;
    return ns;
}

/* Waits for the worker to end, at most @grace_ns, then kills it; never
 * leaves a zombie. @return its wait status. */
static int reap(pid_t pid, int64_t grace_ns)
{
    int status = 0;
    int64_t deadline = monotonic_ns() + grace_ns;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            return status;
        }
        if (monotonic_ns() >= deadline) {
            break;
        }
        g_usleep(2000);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

static const char *op_name(uint8_t op)
{
    switch (op) {
    case MSG_CREATE:
        return "create";
    case MSG_ENCODE:
        return "encode_frame";
    case MSG_REPORT:
        return "client_stream_report";
    case MSG_SERVER_DROP:
        return "notify_server_frame_drop";
    case MSG_GET_BIT_RATE:
        return "get_bit_rate";
    case MSG_GET_STATS:
        return "get_stats";
    default:
        return "destroy";
    }
}

/* The worker failed during @op: end it, describe what happened once. */
static void proxy_fail(Proxy *p, uint8_t op, RecvResult why)
{
    SvIsolate *isolate = p->entry->isolate;
    p->failed = TRUE;
    int status = 0;
    if (p->pid > 0) {
        if (why == RECV_TIMEOUT || why == RECV_BAD) {
            kill(p->pid, SIGKILL);
        }
        status = reap(p->pid, REAP_GRACE_NS);
        p->pid = 0;
    }

    g_autofree char *how = NULL;
    if (why == RECV_TIMEOUT) {
        how = g_strdup_printf("did not answer within %g s (killed)", (double)p->timeout_ns / 1e9);
    } else if (why == RECV_BAD) {
        how = g_strdup("sent a malformed answer (killed)");
    } else if (WIFSIGNALED(status)) {
        how = g_strdup_printf("crashed (signal %d, %s)", WTERMSIG(status),
                              g_strsignal(WTERMSIG(status)));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && op == MSG_CREATE) {
        how =
            g_strdup_printf("could not start (%s exited with status 127)", isolate->argv_prefix[0]);
    } else if (WIFEXITED(status)) {
        how = g_strdup_printf("exited with status %d", WEXITSTATUS(status));
    } else {
        how = g_strdup("ended");
    }
    g_autofree char *where = NULL;
    if (op == MSG_ENCODE) {
        where = g_strdup_printf("at frame %u", p->frames);
    } else if (op == MSG_CREATE) {
        where = g_strdup("while it was created");
    } else {
        where = g_strdup_printf("after frame %u (%s)", p->frames, op_name(op));
    }
    char *message = g_strdup_printf("encoder %s %s %s", p->entry->name, how, where);
    g_debug("%s", message);
    if (isolate->failure == NULL) {
        isolate->failure = message;
    } else {
        g_free(message);
    }
}

static GByteArray *request_new(Proxy *p, uint8_t type)
{
    GByteArray *m = msg_new(type);
    PUT_VALUE(m, int64_t, p->clock.now_ns != NULL ? p->clock.now_ns(p->clock.opaque) : NO_CLOCK);
    return m;
}

/* Sends @req (freed) and waits for the reply in @reply, answering the
 * worker's rate-control callbacks meanwhile. @return FALSE once failed. */
static gboolean proxy_call(Proxy *p, uint8_t op, GByteArray *req, In *reply)
{
    if (p->failed) {
        g_byte_array_free(req, TRUE);
        return FALSE;
    }
    if (!send_msg(p->fd, req)) {
        proxy_fail(p, op, RECV_EOF);
        return FALSE;
    }
    for (;;) {
        RecvResult r = recv_msg(p->fd, reply, p->timeout_ns);
        if (r != RECV_OK) {
            proxy_fail(p, op, r);
            return FALSE;
        }
        GByteArray *answer = NULL;
        switch (reply->type) {
        case MSG_REPLY:
            p->entry->isolate->worker_cpu_ns += get_i64(reply);
            if (reply->bad) {
                proxy_fail(p, op, RECV_BAD);
                return FALSE;
            }
            return TRUE;
        case MSG_CB_ROUNDTRIP:
            answer = msg_new(MSG_CB_ANSWER);
            PUT_VALUE(answer, uint32_t,
                      p->cbs.get_roundtrip_ms ? p->cbs.get_roundtrip_ms(p->cbs.opaque) : 0);
            break;
        case MSG_CB_SOURCE_FPS:
            answer = msg_new(MSG_CB_ANSWER);
            PUT_VALUE(answer, uint32_t,
                      p->cbs.get_source_fps ? p->cbs.get_source_fps(p->cbs.opaque) : 0);
            break;
        case MSG_CB_PLAYBACK_DELAY: {
            uint32_t delay = get_u32(reply);
            if (p->cbs.update_client_playback_delay != NULL && !reply->bad) {
                p->cbs.update_client_playback_delay(p->cbs.opaque, delay);
            }
            answer = msg_new(MSG_CB_ANSWER);
            break;
        }
        default:
            proxy_fail(p, op, RECV_BAD);
            return FALSE;
        }
        if (!send_msg(p->fd, answer)) {
            proxy_fail(p, op, RECV_EOF);
            return FALSE;
        }
    }
}

static void proxy_destroy(VideoEncoder *encoder)
{
    Proxy *p = (Proxy *)encoder;
    if (!p->failed) {
        In reply = {0};
        proxy_call(p, MSG_DESTROY, request_new(p, MSG_DESTROY), &reply);
        in_clear(&reply);
    }
    if (p->fd >= 0) {
        close(p->fd);
    }
    if (p->pid > 0) {
        reap(p->pid, p->timeout_ns);
    }
    g_free(p);
}

typedef struct {
    VideoBuffer base;
    uint8_t bytes[];
} ProxyBuffer;

static void proxy_buffer_free(VideoBuffer *buffer)
{
    g_free(buffer);
}

/* Copies @n bytes from @offset of @chunks' data; @return bytes copied. */
static size_t chunks_copy(const SpiceChunks *chunks, size_t offset, uint8_t *dst, size_t n)
{
    size_t done = 0;
    for (uint32_t i = 0; i < chunks->num_chunks && done < n; i++) {
        const SpiceChunk *c = &chunks->chunk[i];
        if (offset >= c->len) {
            offset -= c->len;
            continue;
        }
        size_t take = MIN(c->len - offset, n - done);
        memcpy(dst + done, c->data + offset, take);
        done += take;
        offset = 0;
    }
    return done;
}

static VideoEncodeResults proxy_encode_frame(VideoEncoder *encoder, uint32_t frame_mm_time,
                                             const SpiceBitmap *bitmap, const SpiceRect *src,
                                             int top_down, gpointer bitmap_opaque,
                                             VideoBuffer **outbuf)
{
    (void)bitmap_opaque; /* the worker encodes its own copy */
    Proxy *p = (Proxy *)encoder;
    if (p->failed || bitmap == NULL || src == NULL || bitmap->data == NULL) {
        return VIDEO_ENCODER_FRAME_UNSUPPORTED;
    }
    p->frames++;

    /* Only the lines of @src travel: they are contiguous in memory in
     * either line order, and make a bitmap of their own. */
    SpiceRect area = *src;
    uint32_t first = 0, lines = bitmap->y;
    if (src->top >= 0 && src->top < src->bottom && (uint32_t)src->bottom <= bitmap->y) {
        lines = (uint32_t)(src->bottom - src->top);
        first = top_down ? (uint32_t)src->top : bitmap->y - (uint32_t)src->bottom;
        area.top = 0;
        area.bottom = (int32_t)lines;
    }
    size_t bytes = (size_t)lines * bitmap->stride;

    GByteArray *m = request_new(p, MSG_ENCODE);
    PUT_VALUE(m, uint32_t, frame_mm_time);
    PUT_VALUE(m, uint8_t, bitmap->format);
    PUT_VALUE(m, uint8_t, bitmap->flags);
    PUT_VALUE(m, uint32_t, bitmap->x);
    PUT_VALUE(m, uint32_t, lines);
    PUT_VALUE(m, uint32_t, bitmap->stride);
    PUT_VALUE(m, uint64_t, bitmap->palette_id);
    PUT_VALUE(m, uint8_t, bitmap->palette != NULL);
    if (bitmap->palette != NULL) {
        PUT_VALUE(m, uint64_t, bitmap->palette->unique);
        PUT_VALUE(m, uint16_t, bitmap->palette->num_ents);
        put(m, bitmap->palette->ents, bitmap->palette->num_ents * sizeof(uint32_t));
    }
    PUT_VALUE(m, int32_t, area.left);
    PUT_VALUE(m, int32_t, area.top);
    PUT_VALUE(m, int32_t, area.right);
    PUT_VALUE(m, int32_t, area.bottom);
    PUT_VALUE(m, int32_t, top_down);
    PUT_VALUE(m, uint32_t, (uint32_t)bytes);
    guint at = m->len;
    g_byte_array_set_size(m, at + (guint)bytes);
    size_t got = chunks_copy(bitmap->data, (size_t)first * bitmap->stride, m->data + at, bytes);
    memset(m->data + at + got, 0, bytes - got);

    In reply = {0};
    VideoEncodeResults result = VIDEO_ENCODER_FRAME_UNSUPPORTED;
    if (proxy_call(p, MSG_ENCODE, m, &reply)) {
        int32_t r = get_i32(&reply);
        if (r == VIDEO_ENCODER_FRAME_ENCODE_DONE) {
            uint32_t size = get_u32(&reply);
            const void *data = get(&reply, size);
            if (data != NULL) {
                ProxyBuffer *b = g_malloc(sizeof(ProxyBuffer) + size);
                memcpy(b->bytes, data, size);
                b->base.data = b->bytes;
                b->base.size = size;
                b->base.free = proxy_buffer_free;
                *outbuf = &b->base;
                result = VIDEO_ENCODER_FRAME_ENCODE_DONE;
            }
        } else if (r == VIDEO_ENCODER_FRAME_DROP) {
            result = VIDEO_ENCODER_FRAME_DROP;
        }
        if (reply.bad) {
            proxy_fail(p, MSG_ENCODE, RECV_BAD);
        }
    }
    in_clear(&reply);
    return result;
}

static void proxy_client_stream_report(VideoEncoder *encoder, uint32_t num_frames,
                                       uint32_t num_drops, uint32_t start_frame_mm_time,
                                       uint32_t end_frame_mm_time, int32_t end_frame_delay,
                                       uint32_t audio_delay)
{
    Proxy *p = (Proxy *)encoder;
    GByteArray *m = request_new(p, MSG_REPORT);
    PUT_VALUE(m, uint32_t, num_frames);
    PUT_VALUE(m, uint32_t, num_drops);
    PUT_VALUE(m, uint32_t, start_frame_mm_time);
    PUT_VALUE(m, uint32_t, end_frame_mm_time);
    PUT_VALUE(m, int32_t, end_frame_delay);
    PUT_VALUE(m, uint32_t, audio_delay);
    In reply = {0};
    proxy_call(p, MSG_REPORT, m, &reply);
    in_clear(&reply);
}

static void proxy_notify_server_frame_drop(VideoEncoder *encoder)
{
    Proxy *p = (Proxy *)encoder;
    In reply = {0};
    proxy_call(p, MSG_SERVER_DROP, request_new(p, MSG_SERVER_DROP), &reply);
    in_clear(&reply);
}

static uint64_t proxy_get_bit_rate(VideoEncoder *encoder)
{
    Proxy *p = (Proxy *)encoder;
    In reply = {0};
    uint64_t rate = 0;
    if (proxy_call(p, MSG_GET_BIT_RATE, request_new(p, MSG_GET_BIT_RATE), &reply)) {
        rate = get_u64(&reply);
    }
    in_clear(&reply);
    return rate;
}

static void proxy_get_stats(VideoEncoder *encoder, VideoEncoderStats *stats)
{
    Proxy *p = (Proxy *)encoder;
    In reply = {0};
    memset(stats, 0, sizeof(*stats));
    stats->avg_quality = NAN;
    if (proxy_call(p, MSG_GET_STATS, request_new(p, MSG_GET_STATS), &reply)) {
        stats->starting_bit_rate = get_u64(&reply);
        stats->cur_bit_rate = get_u64(&reply);
        stats->avg_quality = get_double(&reply);
    }
    in_clear(&reply);
}

/* Starts a worker on a new socketpair. @return FALSE if it could not. */
static gboolean proxy_spawn(Proxy *p)
{
    SvIsolate *isolate = p->entry->isolate;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        g_message("encoder %s: socketpair: %s", p->entry->name, g_strerror(errno));
        return FALSE;
    }
    /* Everything the child needs is built before fork(): between fork and
     * exec only async-signal-safe calls are allowed (the parent has
     * GStreamer threads). */
    char fd_arg[16];
    snprintf(fd_arg, sizeof(fd_arg), "%d", sv[1]);
    guint n = g_strv_length(isolate->argv_prefix);
    char **argv = g_new0(char *, n + 3);
    for (guint i = 0; i < n; i++) {
        argv[i] = isolate->argv_prefix[i];
    }
    argv[n] = (char *)"__encoder-worker";
    argv[n + 1] = fd_arg;
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

    pid_t pid = fork();
    if (pid == 0) {
        /* The worker must not write into the parent's stdout (JSON may go
         * there) nor read its stdin (the trace may come from there). */
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
        }
        fcntl(sv[1], F_SETFD, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    int fork_errno = errno;
    g_free(argv);
    if (devnull >= 0) {
        close(devnull);
    }
    close(sv[1]);
    if (pid < 0) {
        g_message("encoder %s: fork: %s", p->entry->name, g_strerror(fork_errno));
        close(sv[0]);
        return FALSE;
    }
    p->fd = sv[0];
    p->pid = pid;
    return TRUE;
}

static VideoEncoder *isolated_create(const SvEncoderDesc *desc, uint64_t starting_bit_rate,
                                     VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                     bitmap_unref_t bitmap_unref, const SvEncoderConfig *config)
{
    (void)bitmap_ref; /* the parent's bitmap is copied, never kept */
    (void)bitmap_unref;
    Entry *e = entry_of(desc);
    SvIsolate *isolate = e->isolate;
    if (isolate->failure != NULL) {
        return NULL; /* the run is ending with that failure */
    }
    Proxy *p = g_new0(Proxy, 1);
    p->entry = e;
    p->fd = -1;
    if (cbs != NULL) {
        p->cbs = *cbs;
    }
    SvEncoderConfig none = {0};
    if (config == NULL) {
        config = &none;
    }
    p->clock = config->clock;
    p->timeout_ns = isolate->timeout_ns;
    if (p->timeout_ns <= 0) {
        p->timeout_ns = MAX(DEFAULT_TIMEOUT_NS, 4 * config->encode_timeout_ns);
    }
    p->base.destroy = proxy_destroy;
    p->base.encode_frame = proxy_encode_frame;
    p->base.client_stream_report = proxy_client_stream_report;
    p->base.notify_server_frame_drop = proxy_notify_server_frame_drop;
    p->base.get_bit_rate = proxy_get_bit_rate;
    p->base.get_stats = proxy_get_stats;
    p->base.codec_type = desc->codec_type;
    if (!proxy_spawn(p)) {
        g_free(p);
        return NULL;
    }

    GByteArray *m = request_new(p, MSG_CREATE);
    put_str(m, e->real->encoder_name);
    put_str(m, e->real->codec_name);
    PUT_VALUE(m, uint32_t, (uint32_t)e->real->codec_type);
    PUT_VALUE(m, uint64_t, starting_bit_rate);
    PUT_VALUE(m, uint8_t,
              (p->cbs.get_roundtrip_ms ? HAVE_ROUNDTRIP : 0) |
                  (p->cbs.get_source_fps ? HAVE_SOURCE_FPS : 0) |
                  (p->cbs.update_client_playback_delay ? HAVE_PLAYBACK_DELAY : 0));
    PUT_VALUE(m, int32_t, config->fixed_quality);
    PUT_VALUE(m, uint8_t, config->spice_quirks != 0);
    put_str(m, config->options);
    PUT_VALUE(m, uint8_t, config->no_rate_control != 0);
    PUT_VALUE(m, int64_t, config->encode_timeout_ns);
    PUT_VALUE(m, int32_t, config->max_threads);
    PUT_VALUE(m, uint8_t, config->fixed_speed != 0);
    PUT_VALUE(m, uint8_t, config->low_delay != 0);

    In reply = {0};
    gboolean created = FALSE;
    if (proxy_call(p, MSG_CREATE, m, &reply)) {
        created = get_u8(&reply) != 0;
        p->base.codec_type = (SpiceVideoCodecType)get_u32(&reply);
    }
    in_clear(&reply);
    if (!created) {
        /* The factory said no (or the worker failed): closing the socket
         * ends the worker. */
        close(p->fd);
        if (p->pid > 0) {
            reap(p->pid, p->timeout_ns);
        }
        g_free(p);
        return NULL;
    }
    return &p->base;
}

static gboolean isolated_probe(const SvEncoderDesc *desc, GError **error)
{
    const SvEncoderDesc *real = entry_of(desc)->real;
    return real->probe(real, error);
}

SvVideoCodecs *sv_isolate_wrap_codecs(SvIsolate *isolate, const SvVideoCodecs *codecs)
{
    SvVideoCodecs *wrapped = sv_video_codecs_new();
    for (guint i = 0; i < sv_video_codecs_get_length(codecs); i++) {
        const SvEncoderDesc *real = sv_video_codecs_get(codecs, i);
        Entry *e = g_hash_table_lookup(isolate->entries, real);
        if (e == NULL) {
            e = g_new0(Entry, 1);
            e->real = real;
            e->isolate = isolate;
            e->name = g_strdup_printf("%s:%s", real->encoder_name, real->codec_name);
            e->proxy = *real;
            /* Same names, codec, capability and rank; create stays the
             * real one so availability reads the same. */
            e->proxy.create_full = NULL;
            e->proxy.probe = real->probe != NULL ? isolated_probe : NULL;
            e->proxy.create_for = isolated_create;
            e->proxy.user_data = real;
            g_hash_table_insert(isolate->entries, (gpointer)real, e);
        }
        sv_video_codecs_append(wrapped, &e->proxy);
    }
    return wrapped;
}

/* ---- the worker ------------------------------------------------------------------------ */

typedef struct {
    int fd;
    VideoEncoder *encoder;
    int64_t now_ns; /* the parent's clock at the current request */
    uint32_t frames;
    long crash_at, hang_at, exit_after;
} Worker;

/* The frame the worker's encoder sees: one chunk, refcounted. */
typedef struct {
    gint refs;
    SpiceBitmap bitmap;
    SpicePalette *palette;
    SpiceChunks *chunks;
} WorkerFrame;

static void worker_frame_ref(gpointer data)
{
    g_atomic_int_inc(&((WorkerFrame *)data)->refs);
}

static void worker_frame_unref(gpointer data)
{
    WorkerFrame *f = data;
    if (g_atomic_int_dec_and_test(&f->refs)) {
        if (f->chunks != NULL) {
            g_free(f->chunks->chunk[0].data);
        }
        g_free(f->chunks);
        g_free(f->palette);
        g_free(f);
    }
}

static void worker_die(void)
{
    /* The parent is gone or broken: nothing to answer to. */
    _exit(1);
}

static void worker_call_parent(Worker *w, GByteArray *m, In *answer)
{
    if (!send_msg(w->fd, m) || recv_msg(w->fd, answer, -1) != RECV_OK ||
        answer->type != MSG_CB_ANSWER) {
        worker_die();
    }
}

static uint32_t worker_get_roundtrip_ms(void *opaque)
{
    Worker *w = opaque;
    In answer = {0};
    worker_call_parent(w, msg_new(MSG_CB_ROUNDTRIP), &answer);
    uint32_t v = get_u32(&answer);
    in_clear(&answer);
    return v;
}

static uint32_t worker_get_source_fps(void *opaque)
{
    Worker *w = opaque;
    In answer = {0};
    worker_call_parent(w, msg_new(MSG_CB_SOURCE_FPS), &answer);
    uint32_t v = get_u32(&answer);
    in_clear(&answer);
    return v;
}

static void worker_update_playback_delay(void *opaque, uint32_t delay_ms)
{
    Worker *w = opaque;
    In answer = {0};
    GByteArray *m = msg_new(MSG_CB_PLAYBACK_DELAY);
    PUT_VALUE(m, uint32_t, delay_ms);
    worker_call_parent(w, m, &answer);
    in_clear(&answer);
}

/* The registry's choice of factory (call_factory in encoders/registry.c). */
static VideoEncoder *worker_call_factory(const SvEncoderDesc *desc, uint64_t bit_rate,
                                         VideoEncoderRateControlCbs *cbs,
                                         const SvEncoderConfig *config)
{
    if (desc->create_for != NULL) {
        return desc->create_for(desc, bit_rate, cbs, worker_frame_ref, worker_frame_unref, config);
    }
    if (desc->create_full != NULL) {
        return desc->create_full(desc->codec_type, bit_rate, cbs, worker_frame_ref,
                                 worker_frame_unref, config);
    }
    return desc->create(desc->codec_type, bit_rate, cbs, worker_frame_ref, worker_frame_unref);
}

/* The parent's time: encoders with threads of their own may read it. */
static int64_t worker_now(void *opaque)
{
    return __atomic_load_n(&((Worker *)opaque)->now_ns, __ATOMIC_RELAXED);
}

static void worker_create(Worker *w, In *in, int64_t now, GByteArray *reply)
{
    g_autofree char *encoder_name = get_str(in);
    g_autofree char *codec_name = get_str(in);
    uint32_t codec_type = get_u32(in);
    uint64_t bit_rate = get_u64(in);
    uint8_t have = get_u8(in);
    SvEncoderConfig config = {0};
    config.fixed_quality = get_i32(in);
    config.spice_quirks = get_u8(in);
    g_autofree char *options = get_str(in);
    config.options = options;
    config.no_rate_control = get_u8(in);
    config.encode_timeout_ns = get_i64(in);
    config.max_threads = get_i32(in);
    config.fixed_speed = get_u8(in);
    config.low_delay = get_u8(in);
    if (now != NO_CLOCK) {
        config.clock = (SvClock){.now_ns = worker_now, .opaque = w};
    }
    VideoEncoderRateControlCbs cbs = {
        .opaque = w,
        .get_roundtrip_ms = (have & HAVE_ROUNDTRIP) ? worker_get_roundtrip_ms : NULL,
        .get_source_fps = (have & HAVE_SOURCE_FPS) ? worker_get_source_fps : NULL,
        .update_client_playback_delay =
            (have & HAVE_PLAYBACK_DELAY) ? worker_update_playback_delay : NULL,
    };
    const SvEncoderDesc *desc = NULL;
    if (!in->bad && w->encoder == NULL && encoder_name != NULL && codec_name != NULL) {
        desc = sv_registry_find(encoder_name, codec_name);
    }
    if (desc != NULL && desc->codec_type == (SpiceVideoCodecType)codec_type &&
        sv_encoder_desc_is_available(desc, NULL)) {
        w->encoder = worker_call_factory(desc, bit_rate, &cbs, &config);
    }
    PUT_VALUE(reply, uint8_t, w->encoder != NULL);
    PUT_VALUE(reply, uint32_t, w->encoder != NULL ? (uint32_t)w->encoder->codec_type : codec_type);
}

static void worker_test_hooks_before(Worker *w)
{
    if (w->crash_at > 0 && w->frames == (uint32_t)w->crash_at) {
        /* No core file for a crash on purpose. */
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    if (w->hang_at > 0 && w->frames == (uint32_t)w->hang_at) {
        for (;;) {
            pause();
        }
    }
}

static void worker_encode(Worker *w, In *in, GByteArray *reply)
{
    uint32_t mm_time = get_u32(in);
    WorkerFrame *f = g_new0(WorkerFrame, 1);
    f->refs = 1;
    SpiceBitmap *b = &f->bitmap;
    b->format = get_u8(in);
    b->flags = get_u8(in);
    b->x = get_u32(in);
    b->y = get_u32(in);
    b->stride = get_u32(in);
    b->palette_id = get_u64(in);
    if (get_u8(in)) {
        uint64_t unique = get_u64(in);
        uint16_t n = get_u16(in);
        const void *ents = get(in, (size_t)n * sizeof(uint32_t));
        f->palette = g_malloc0(sizeof(SpicePalette) + (size_t)n * sizeof(uint32_t));
        f->palette->unique = unique;
        if (ents != NULL) {
            f->palette->num_ents = n;
            memcpy(f->palette->ents, ents, (size_t)n * sizeof(uint32_t));
        }
        b->palette = f->palette;
    }
    SpiceRect src;
    src.left = get_i32(in);
    src.top = get_i32(in);
    src.right = get_i32(in);
    src.bottom = get_i32(in);
    int top_down = get_i32(in);
    uint32_t size = get_u32(in);
    const void *data = get(in, size);
    f->chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    f->chunks->data_size = size;
    f->chunks->num_chunks = 1;
    f->chunks->chunk[0].data = g_memdup2(data != NULL ? data : "", data != NULL ? size : 1);
    f->chunks->chunk[0].len = data != NULL ? size : 0;
    b->data = f->chunks;

    w->frames++;
    worker_test_hooks_before(w);
    VideoBuffer *out = NULL;
    VideoEncodeResults r = VIDEO_ENCODER_FRAME_UNSUPPORTED;
    if (!in->bad && w->encoder != NULL) {
        r = w->encoder->encode_frame(w->encoder, mm_time, b, &src, top_down, f, &out);
    }
    worker_frame_unref(f);
    PUT_VALUE(reply, int32_t, (int32_t)r);
    if (r == VIDEO_ENCODER_FRAME_ENCODE_DONE && out != NULL) {
        PUT_VALUE(reply, uint32_t, out->size);
        put(reply, out->data, out->size);
        out->free(out);
    } else if (r == VIDEO_ENCODER_FRAME_ENCODE_DONE) {
        /* Done without a buffer breaks the contract: say UNSUPPORTED. */
        int32_t unsupported = VIDEO_ENCODER_FRAME_UNSUPPORTED;
        memcpy(reply->data + reply->len - sizeof(int32_t), &unsupported, sizeof(int32_t));
    }
}

static long env_long(const char *name)
{
    const char *v = g_getenv(name);
    return v != NULL ? strtol(v, NULL, 10) : 0;
}

int sv_isolate_worker_main(int fd)
{
#ifdef __linux__
    /* A worker outliving a killed parent would hang on forever. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1) {
        return 1;
    }
#endif
    Worker w = {.fd = fd};
    /* Test hooks (docs/replay.md): honoured only here, in a worker. */
    w.crash_at = env_long("SV_ISOLATE_TEST_CRASH_AT");
    w.hang_at = env_long("SV_ISOLATE_TEST_HANG_AT");
    w.exit_after = env_long("SV_ISOLATE_TEST_EXIT_AFTER");

    In in = {0};
    int status = 1;
    for (;;) {
        if (recv_msg(fd, &in, -1) != RECV_OK) {
            /* The parent closed the socket: it did not want the encoder. */
            status = 0;
            break;
        }
        int64_t now = get_i64(&in);
        if (now != NO_CLOCK) {
            __atomic_store_n(&w.now_ns, now, __ATOMIC_RELAXED);
        }
        int64_t cpu0 = process_cpu_ns();
        GByteArray *reply = msg_new(MSG_REPLY);
        guint cpu_at = reply->len;
        PUT_VALUE(reply, int64_t, 0);
        gboolean done = FALSE;
        switch (in.type) {
        case MSG_CREATE:
            worker_create(&w, &in, now, reply);
            break;
        case MSG_ENCODE:
            worker_encode(&w, &in, reply);
            break;
        case MSG_REPORT: {
            uint32_t frames = get_u32(&in), drops = get_u32(&in);
            uint32_t start = get_u32(&in), end = get_u32(&in);
            int32_t delay = get_i32(&in);
            uint32_t audio = get_u32(&in);
            if (w.encoder != NULL && !in.bad) {
                w.encoder->client_stream_report(w.encoder, frames, drops, start, end, delay, audio);
            }
            break;
        }
        case MSG_SERVER_DROP:
            if (w.encoder != NULL) {
                w.encoder->notify_server_frame_drop(w.encoder);
            }
            break;
        case MSG_GET_BIT_RATE:
            PUT_VALUE(reply, uint64_t, w.encoder != NULL ? w.encoder->get_bit_rate(w.encoder) : 0);
            break;
        case MSG_GET_STATS: {
            VideoEncoderStats stats = {0};
            if (w.encoder != NULL) {
                w.encoder->get_stats(w.encoder, &stats);
            }
            PUT_VALUE(reply, uint64_t, stats.starting_bit_rate);
            PUT_VALUE(reply, uint64_t, stats.cur_bit_rate);
            PUT_VALUE(reply, double, stats.avg_quality);
            break;
        }
        case MSG_DESTROY:
            if (w.encoder != NULL) {
                w.encoder->destroy(w.encoder);
                w.encoder = NULL;
            }
            done = TRUE;
            break;
        default:
            g_byte_array_free(reply, TRUE);
            in_clear(&in);
            return 1;
        }
        int64_t cpu = process_cpu_ns() - cpu0;
        memcpy(reply->data + cpu_at, &cpu, sizeof(cpu));
        if (!send_msg(fd, reply)) {
            break;
        }
        if (done) {
            status = 0;
            break;
        }
        if (in.type == MSG_ENCODE && w.exit_after > 0 && w.frames == (uint32_t)w.exit_after) {
            _exit(3);
        }
    }
    in_clear(&in);
    if (w.encoder != NULL) {
        w.encoder->destroy(w.encoder);
        status = 0;
    }
    close(fd);
    return status;
}
