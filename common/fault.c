/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Fault injection (fault.h). The armed points live in a short list behind
 * a mutex; sv_fault_state_ lets every point skip it while nothing is armed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fault.h"

/* Keep in step with docs/hardening.md, "Fault injection". */
const char *const sv_fault_points[] = {
    "mjpeg.create",  /* jpeg_create_compress: libjpeg's memory manager out of memory */
    "mjpeg.buffer",  /* the output buffer of a frame cannot be allocated */
    "mjpeg.grow",    /* growing the output buffer (realloc) fails inside libjpeg */
    "mjpeg.lines",   /* the line buffer (chunk gathering, 16-bit expansion) */
    "frame.convert", /* the libyuv conversion buffers of the frame encoder */
    "frame.output",  /* sv_backend_buffer_new: a backend's output buffer */
    "x264.open",     /* x264_encoder_open returns NULL */
    "x264.picture",  /* x264_picture_alloc fails (odd 4:2:0 sizes) */
    "x264.encode",   /* x264_encoder_encode returns an error */
    "vpx.init",      /* vpx_codec_enc_init fails */
    "vpx.image",     /* vpx_img_wrap returns NULL */
    "vpx.encode",    /* vpx_codec_encode fails */
    "gst.element",   /* gst_element_factory_make returns NULL */
    "gst.playing",   /* the pipeline's change to PLAYING returns GST_STATE_CHANGE_FAILURE */
    "gst.encode",    /* the encoder element posts an error on the bus */
    NULL,
};

typedef struct {
    const char *name; /* from sv_fault_points[] */
    guint nth;
    guint count; /* 0: no end */
    guint hits;
    guint fired;
} Armed;

atomic_int sv_fault_state_ = -1;

static GMutex lock;
static GArray *armed; /* Armed, under lock */

static const char *known_point(const char *name, gsize length)
{
    for (guint i = 0; sv_fault_points[i] != NULL; i++) {
        if (strlen(sv_fault_points[i]) == length &&
            strncmp(sv_fault_points[i], name, length) == 0) {
            return sv_fault_points[i];
        }
    }
    return NULL;
}

/* Under lock. */
static Armed *find_armed(const char *name)
{
    for (guint i = 0; armed != NULL && i < armed->len; i++) {
        Armed *entry = &g_array_index(armed, Armed, i);
        if (strcmp(entry->name, name) == 0) {
            return entry;
        }
    }
    return NULL;
}

/* Under lock. */
static void arm_locked(const char *point, guint nth, guint count)
{
    Armed *entry = find_armed(point);

    if (entry == NULL) {
        if (armed == NULL) {
            armed = g_array_new(FALSE, TRUE, sizeof(Armed));
        }
        g_array_set_size(armed, armed->len + 1);
        entry = &g_array_index(armed, Armed, armed->len - 1);
    }
    *entry = (Armed){.name = point, .nth = MAX(nth, 1), .count = count};
    atomic_store_explicit(&sv_fault_state_, (int)armed->len, memory_order_relaxed);
}

/* Parses one SPEC (fault.h) and arms it. Under lock. */
static gboolean arm_one_locked(const char *spec, gsize length, GError **error)
{
    gsize name_length = strcspn(spec, "@,");
    const char *point = known_point(spec, MIN(name_length, length));
    guint64 nth = 1, count = 0;

    if (point == NULL) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "unknown fault point '%.*s'",
                    (int)MIN(name_length, length), spec);
        return FALSE;
    }
    if (name_length < length) {
        /* "@N", "@N+" or "@NxC" */
        const char *p = spec + name_length + 1, *end = spec + length;
        char *after;

        nth = g_ascii_strtoull(p, &after, 10);
        if (after == p || nth == 0 || nth > G_MAXUINT) {
            goto bad;
        }
        if (after == end) {
            count = 1;
        } else if (*after == '+' && after + 1 == end) {
            count = 0;
        } else if (*after == 'x') {
            p = after + 1;
            count = g_ascii_strtoull(p, &after, 10);
            if (after == p || after != end || count == 0 || count > G_MAXUINT) {
                goto bad;
            }
        } else {
            goto bad;
        }
    }
    arm_locked(point, (guint)nth, (guint)count);
    return TRUE;

bad:
    g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                "bad fault spec '%.*s' (NAME, NAME@N, NAME@N+ or NAME@NxC)", (int)length, spec);
    return FALSE;
}

/* Under lock. */
static gboolean arm_spec_locked(const char *spec, GError **error)
{
    const char *p = spec;

    while (*p != '\0') {
        gsize length = strcspn(p, ",");
        if (length > 0 && !arm_one_locked(p, length, error)) {
            return FALSE;
        }
        p += length;
        if (*p == ',') {
            p++;
        }
    }
    return TRUE;
}

/* Reads SV_FAULTS once; every entry point goes through here first. */
static void ensure_init_locked(void)
{
    if (atomic_load_explicit(&sv_fault_state_, memory_order_relaxed) >= 0) {
        return;
    }
    atomic_store_explicit(&sv_fault_state_, 0, memory_order_relaxed);
    const char *spec = g_getenv("SV_FAULTS");
    if (spec != NULL && *spec != '\0') {
        g_autoptr(GError) error = NULL;
        if (!arm_spec_locked(spec, &error)) {
            g_warning("SV_FAULTS: %s; ignoring it and what follows", error->message);
        }
    }
}

gboolean sv_fault_hit_slow_(const char *name)
{
    gboolean fire = FALSE;

    g_return_val_if_fail(name != NULL, FALSE);
    g_mutex_lock(&lock);
    ensure_init_locked();
    Armed *entry = find_armed(name);
    if (entry != NULL) {
        entry->hits++;
        fire = entry->hits >= entry->nth &&
               (entry->count == 0 || entry->hits - entry->nth < entry->count);
        if (fire) {
            entry->fired++;
        }
    }
    g_mutex_unlock(&lock);
    if (fire) {
        g_debug("fault %s injected", name);
    }
    return fire;
}

void sv_fault_arm(const char *name, guint nth, guint count)
{
    g_return_if_fail(name != NULL && nth >= 1);
    const char *point = known_point(name, strlen(name));
    g_return_if_fail(point != NULL);

    g_mutex_lock(&lock);
    ensure_init_locked();
    arm_locked(point, nth, count);
    g_mutex_unlock(&lock);
}

gboolean sv_fault_arm_spec(const char *spec, GError **error)
{
    g_return_val_if_fail(spec != NULL, FALSE);

    g_mutex_lock(&lock);
    ensure_init_locked();
    gboolean ok = arm_spec_locked(spec, error);
    g_mutex_unlock(&lock);
    return ok;
}

void sv_fault_reset(void)
{
    g_mutex_lock(&lock);
    ensure_init_locked();
    if (armed != NULL) {
        g_array_set_size(armed, 0);
    }
    atomic_store_explicit(&sv_fault_state_, 0, memory_order_relaxed);
    g_mutex_unlock(&lock);
}

guint sv_fault_fired(const char *name)
{
    g_return_val_if_fail(name != NULL, 0);

    g_mutex_lock(&lock);
    ensure_init_locked();
    Armed *entry = find_armed(name);
    guint fired = entry != NULL ? entry->fired : 0;
    g_mutex_unlock(&lock);
    return fired;
}
