/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * The openh264 module (loaded with sv_module_load) on a natural 720p BGRx
 * sequence, one thread, fixed bit rate, against x264:h264 with the same
 * settings: frames per second of CPU time (conversion to I420 included)
 * and the bit rate reached. The module's path is the first argument or
 * $SV_OPENH264_MODULE. Figures: docs/openh264-module.md.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <spice-video/module.h>
#include <spice-video/registry.h>

#define WIDTH 1280
#define HEIGHT 720
#define N_PICTURES 30
#define N_FRAMES 240
#define FPS 30
#define BIT_RATE (4u * 1000u * 1000u)

static uint32_t source_fps(void *opaque)
{
    return FPS;
}

static void bitmap_nop(gpointer data)
{
}

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static guint8 to_u8(double v)
{
    return (guint8)CLAMP(lround(v), 0, 255);
}

/* Natural-looking content (as tests/encoders/test-streaming-decode.c):
 * drifting gradients, a moving soft blob, a fine texture. BGRx, top-down. */
static guint8 *picture_new(guint index)
{
    guint8 *pixels = g_malloc((gsize)WIDTH * HEIGHT * 4);
    double bx = WIDTH * (0.3 + 0.4 * sin(index * 0.2));
    double by = HEIGHT * (0.5 + 0.3 * cos(index * 0.15));
    double sigma = 0.15 * WIDTH;

    for (guint y = 0; y < HEIGHT; y++) {
        for (guint x = 0; x < WIDTH; x++) {
            double u = fmod((x + index * 2.5) / WIDTH, 1.0), v = (double)y / HEIGHT;
            double d2 = ((x - bx) * (x - bx) + (y - by) * (y - by)) / (2 * sigma * sigma);
            double blob = 90.0 * exp(-d2), texture = ((x * 7 + y * 13) % 11) - 5.0;
            guint8 *px = pixels + ((gsize)y * WIDTH + x) * 4;

            px[0] = to_u8(200 - 120 * (0.5 * u + 0.5 * v) + texture);
            px[1] = to_u8(50 + 140 * v + 0.5 * blob + texture);
            px[2] = to_u8(40 + 150 * u + blob + texture);
            px[3] = 0xff;
        }
    }
    return pixels;
}

static void run(const char *encoder_name, const char *options, guint8 *const *pictures)
{
    const SvEncoderDesc *desc = sv_registry_find(encoder_name, "h264");
    g_autoptr(GError) error = NULL;
    VideoEncoderRateControlCbs cbs = {.get_source_fps = source_fps};
    SvEncoderConfig config = {.options = options, .no_rate_control = TRUE, .max_threads = 1};
    SpiceChunks *chunks = g_malloc0(sizeof(SpiceChunks) + sizeof(SpiceChunk));
    SpiceBitmap bitmap = {
        .format = SPICE_BITMAP_FMT_32BIT,
        .flags = SPICE_BITMAP_FLAGS_TOP_DOWN,
        .x = WIDTH,
        .y = HEIGHT,
        .stride = WIDTH * 4,
        .data = chunks,
    };
    SpiceRect src = {0, 0, WIDTH, HEIGHT};
    guint64 bytes = 0;
    guint n_encoded = 0;

    if (desc == NULL || !sv_encoder_desc_is_available(desc, &error)) {
        printf("%-9s %-22s not available here\n", encoder_name, options);
        g_free(chunks);
        return;
    }
    VideoEncoder *encoder =
        desc->create_full(desc->codec_type, BIT_RATE, &cbs, bitmap_nop, bitmap_nop, &config);
    g_assert_nonnull(encoder);
    chunks->num_chunks = 1;
    chunks->data_size = chunks->chunk[0].len = WIDTH * HEIGHT * 4;
    double start = cpu_seconds();
    for (guint i = 0; i < N_FRAMES; i++) {
        VideoBuffer *buf = NULL;

        chunks->chunk[0].data = pictures[i % N_PICTURES];
        if (encoder->encode_frame(encoder, 1000 + i * (1000 / FPS), &bitmap, &src, TRUE, NULL,
                                  &buf) == VIDEO_ENCODER_FRAME_ENCODE_DONE) {
            bytes += buf->size;
            n_encoded++;
            buf->free(buf);
        }
    }
    double seconds = cpu_seconds() - start;
    encoder->destroy(encoder);
    g_free(chunks);
    printf("%-9s %-22s %6.1f fps  %5.2f ms/frame  %6.0f kbit/s (target %u)\n", encoder_name,
           options, n_encoded / seconds, seconds * 1000.0 / N_FRAMES,
           n_encoded > 0 ? bytes * 8.0 * FPS / n_encoded / 1000.0 : 0.0, BIT_RATE / 1000);
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : g_getenv("SV_OPENH264_MODULE");
    g_autoptr(GError) error = NULL;
    guint8 *pictures[N_PICTURES];

    if (path == NULL || !sv_module_load(path, &error)) {
        g_printerr("cannot load the openh264 module: %s\n",
                   error != NULL ? error->message : "give its path (or $SV_OPENH264_MODULE)");
        return 1;
    }
    for (guint i = 0; i < N_PICTURES; i++) {
        pictures[i] = picture_new(i);
    }
    printf("%ux%u natural sequence, %u frames, one thread, %u kbit/s, CPU time with the "
           "conversion to I420\n",
           WIDTH, HEIGHT, N_FRAMES, BIT_RATE / 1000);
    run("openh264", "complexity=low", pictures);
    run("openh264", "complexity=medium", pictures);
    run("openh264", "complexity=high", pictures);
    run("openh264", "usage=screen", pictures);
    run("x264", "preset=ultrafast", pictures);
    run("x264", "preset=veryfast", pictures);
    for (guint i = 0; i < N_PICTURES; i++) {
        g_free(pictures[i]);
    }
    return 0;
}
