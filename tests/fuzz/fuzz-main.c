/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Replayer for the fuzz targets: runs LLVMFuzzerTestOneInput() once on
 * every file named on the command line, or on every file of a directory
 * (a seed corpus), so each target also runs as an ordinary test. Built
 * instead of libFuzzer's main; a crash or abort fails the test.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gboolean run_file(const char *path)
{
    g_autofree char *contents = NULL;
    gsize length = 0;
    g_autoptr(GError) error = NULL;
    if (!g_file_get_contents(path, &contents, &length, &error)) {
        fprintf(stderr, "%s\n", error->message);
        return FALSE;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)contents, length);
    return TRUE;
}

static int compare_names(const void *a, const void *b)
{
    return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv)
{
    guint runs = 0;
    for (int i = 1; i < argc; i++) {
        if (!g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
            if (!run_file(argv[i])) {
                return 1;
            }
            runs++;
            continue;
        }
        g_autoptr(GError) error = NULL;
        g_autoptr(GDir) dir = g_dir_open(argv[i], 0, &error);
        if (dir == NULL) {
            fprintf(stderr, "%s\n", error->message);
            return 1;
        }
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        for (const char *name; (name = g_dir_read_name(dir)) != NULL;) {
            g_ptr_array_add(names, g_build_filename(argv[i], name, NULL));
        }
        /* The same order on every run. */
        qsort(names->pdata, names->len, sizeof(gpointer), compare_names);
        for (guint k = 0; k < names->len; k++) {
            if (!run_file(g_ptr_array_index(names, k))) {
                return 1;
            }
            runs++;
        }
    }
    printf("%u inputs replayed\n", runs);
    return runs > 0 ? 0 : 1;
}
