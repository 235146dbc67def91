/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * How much CPU the display model itself costs next to the encoder and the
 * LZ4 image sizing: the corpus video trace through spice:mjpeg, one client
 * that takes every message at once. Prints the process CPU time spent in
 * display calls, encode_frame() and LZ4, and the share left (the model's
 * overhead: copies, tree, rendering, pipes). The trace reader and the
 * trace-to-command conversion (harness) are outside the measured calls.
 * Usage: bench-server-display [TRACE] [REPEATS] [VIDEO-CODECS].
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <spice-video/server.h>
#include <spice-video/trace.h>

#include "trace-commands.h"

static int64_t process_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : SV_CORPORA_DIR "/video-photos-640-cut.spice.zst";
    int repeats = argc > 2 ? atoi(argv[2]) : 3;
    const char *codecs = argc > 3 ? argv[3] : "spice:mjpeg";
    int64_t in_display = 0, total0 = process_cpu_ns();
    SvDisplayStats sum = {0};
    uint64_t frames = 0;

    for (int r = 0; r < repeats; r++) {
        GError *error = NULL;
        SvDisplayConfig config;
        sv_display_config_init(&config);
        config.video_codecs = codecs;
        SvDisplay *display = sv_display_new(&config, &error);
        SvClientConfig cc = {
            .name = "bench",
            .display_caps =
                SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT) | SV_CAP(SPICE_DISPLAY_CAP_SIZED_STREAM) |
                SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG) |
                SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP8) | SV_CAP(SPICE_DISPLAY_CAP_CODEC_VP9) |
                SV_CAP(SPICE_DISPLAY_CAP_CODEC_H264)};
        SvDisplayClient *client = sv_display_add_client(display, 0, &cc, &error);
        SvTraceReader *reader = sv_trace_reader_new(path, &error);
        if (reader == NULL) {
            fprintf(stderr, "%s\n", error->message);
            return 2;
        }
        SvCommandConverter *conv = sv_command_converter_new();
        const SvTraceEvent *ev;
        while ((ev = sv_trace_reader_next(reader, &error)) != NULL) {
            int64_t now = (int64_t)ev->timestamp_ns;
            const SvDrawCommand *cmd = NULL;
            if (ev->kind == SV_TRACE_KIND_COMMAND && ev->type == SV_TRACE_CMD_DRAW) {
                cmd = sv_command_converter_draw(conv, &ev->draw, &error);
                if (cmd == NULL) {
                    fprintf(stderr, "%s\n", error->message);
                    return 2;
                }
            }
            int64_t t0 = process_cpu_ns();
            if (sv_display_next_timeout_ns(display) <= now) {
                sv_display_tick(display, now);
            }
            sv_display_begin_pass(display);
            gboolean ok = cmd ? sv_display_draw(display, now, cmd, NULL, &error)
                              : sv_trace_apply_event(display, conv, ev, now, NULL, NULL, &error);
            if (!ok) {
                fprintf(stderr, "%s\n", error->message);
                return 2;
            }
            SvMessage *m;
            while ((m = sv_display_client_pop(display, client, now)) != NULL) {
                frames += m->type == SV_MSG_STREAM_DATA;
                sv_display_message_free(m);
            }
            in_display += process_cpu_ns() - t0;
        }
        SvDisplayStats stats;
        sv_display_get_stats(display, &stats);
        sum.encode_ns += stats.encode_ns;
        sum.lz4_ns += stats.lz4_ns;
        sum.render_ns += stats.render_ns;
        int64_t t0 = process_cpu_ns();
        sv_command_converter_free(conv);
        sv_trace_reader_free(reader);
        sv_display_free(display);
        in_display += process_cpu_ns() - t0;
    }
    int64_t total = process_cpu_ns() - total0;
    double other = (double)in_display - (double)sum.encode_ns - (double)sum.lz4_ns;
    printf("%s: runs %d, stream frames %" G_GUINT64_FORMAT "\n", codecs, repeats, frames);
    printf("process CPU: total %.1f ms (trace reading included), in display calls %.1f ms\n",
           total / 1e6, in_display / 1e6);
    printf("  encode_frame %.1f ms, LZ4 %.1f ms, render %.1f ms\n", sum.encode_ns / 1e6,
           sum.lz4_ns / 1e6, sum.render_ns / 1e6);
    printf("display-model overhead (outside encode and LZ4): %.1f ms = %.2f %% of display CPU\n",
           other / 1e6, 100.0 * other / (double)in_display);
    return 0;
}
