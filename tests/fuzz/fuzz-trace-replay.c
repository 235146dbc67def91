/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Fuzz target for a trace replayed into the display: any bytes (plain,
 * zstd or gzip) through the trace reader, each event converted and applied
 * to a display (spice:mjpeg, the trace's own timestamps kept monotonic) the
 * way spice-bench does (harness/trace-commands.c), with one client that
 * takes its whole pipe after every event. Surfaces larger than 512x512 and
 * blobs over 1 MiB are skipped so that executions stay fast. Checks: a
 * refused event says SV_DISPLAY_ERROR or SV_TRACE_ERROR in one line, draw
 * sequence numbers count the applied draws, every client message is well
 * formed; ASan/LSan and UBSan catch the rest. Linked with fuzz-main.c it
 * replays the trace-reader seeds (tests/fuzz/trace-reader/) as a test.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include <spice-video/spice-video.h>
#include <spice-video/trace.h>

#include "fuzz-common.h"
#include "trace-commands.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 256
#define MAX_SURFACE_PIXELS (512 * 512)
#define MAX_BLOB_BYTES (1024 * 1024)

static gboolean too_big(const SvTraceEvent *ev)
{
    uint64_t w = 0, h = 0;
    if (ev->kind == SV_TRACE_KIND_COMMAND && ev->type == SV_TRACE_CMD_SURFACE) {
        w = ev->surface.width;
        h = ev->surface.height;
    } else if (ev->primary.present) {
        w = ev->primary.width;
        h = ev->primary.height;
    }
    return w * h > MAX_SURFACE_PIXELS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_init_logs();
    g_autoptr(GError) error = NULL;
    g_autoptr(SvTraceReader) reader = sv_trace_reader_new_from_data("fuzz", data, size, &error);
    if (reader == NULL) {
        return 0;
    }
    sv_trace_reader_set_max_blob_bytes(reader, MAX_BLOB_BYTES);

    SvDisplayConfig config;
    sv_display_config_init(&config);
    config.video_codecs = "spice:mjpeg";
    config.detector.mode = SV_STREAMING_MODE_ALL;
    SvDisplay *display = sv_display_new(&config, NULL);
    FUZZ_CHECK(display != NULL);
    SvClientConfig cc = {
        .name = "fuzz",
        .display_caps =
            SV_CAP(SPICE_DISPLAY_CAP_STREAM_REPORT) | SV_CAP(SPICE_DISPLAY_CAP_MULTI_CODEC) |
            SV_CAP(SPICE_DISPLAY_CAP_CODEC_MJPEG) | SV_CAP(SPICE_DISPLAY_CAP_SIZED_STREAM),
    };
    SvDisplayClient *client = sv_display_add_client(display, 0, &cc, NULL);
    FUZZ_CHECK(client != NULL);
    SvCommandConverter *conv = sv_command_converter_new();

    int64_t now = 0;
    uint64_t draws = 0;
    const SvTraceEvent *ev;
    for (guint n = 0; n < MAX_EVENTS && (ev = sv_trace_reader_next(reader, &error)) != NULL; n++) {
        if (too_big(ev)) {
            continue;
        }
        now = MAX(now, (int64_t)MIN(ev->timestamp_ns, (uint64_t)G_MAXINT64 / 2));
        if (sv_display_next_timeout_ns(display) <= now) {
            sv_display_tick(display, now);
        }
        sv_display_begin_pass(display);
        SvApplied applied = SV_APPLIED_NOTHING;
        uint64_t seq = 0;
        g_autoptr(GError) apply_error = NULL;
        if (sv_trace_apply_event(display, conv, ev, now, &applied, &seq, &apply_error)) {
            FUZZ_CHECK(apply_error == NULL);
            if (applied == SV_APPLIED_DRAW) {
                FUZZ_CHECK(seq == draws);
                draws++;
            }
        } else {
            FUZZ_CHECK(apply_error != NULL);
            if (g_getenv("SV_FUZZ_VERBOSE") != NULL) {
                fprintf(stderr, "refused (%s): %s\n", g_quark_to_string(apply_error->domain),
                        apply_error->message);
            }
            FUZZ_CHECK(apply_error->domain == SV_DISPLAY_ERROR ||
                       apply_error->domain == SV_TRACE_ERROR);
            FUZZ_CHECK(strchr(apply_error->message, '\n') == NULL);
        }
        SvMessage *m;
        while ((m = sv_display_client_pop(display, client, now)) != NULL) {
            FUZZ_CHECK(m->wire_bytes >= 6);
            FUZZ_CHECK(m->type != SV_MSG_STREAM_DATA || (m->data != NULL && m->data_size > 0));
            sv_display_message_free(m);
        }
    }
    sv_command_converter_free(conv);
    sv_display_free(display);
    return 0;
}
