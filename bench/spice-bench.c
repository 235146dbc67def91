/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * spice-bench: the command-line tool of spice-video. Like any other user of
 * the library it sees only the public headers (no config.h: bench/meson.build
 * passes the version).
 */
#include <stdio.h>
#include <string.h>

#include <spice-video/spice-video.h>

#include "bench-commands.h"

#ifndef SPICE_BENCH_VERSION
#error "SPICE_BENCH_VERSION is set by bench/meson.build"
#endif

/* Exit status for a bad command line, as for every usage error of the tool. */
#define EXIT_USAGE 2

static void print_usage(FILE *out)
{
    fputs("Usage: spice-bench TRACE [--codec C] [--net SPEC] [--json FILE] [OPTION...]\n"
          "       spice-bench COMMAND [OPTION...]\n"
          "\n"
          "Benchmarking tool for the spice-video codec layer.\n"
          "\n"
          "spice-bench TRACE replays a recorded QXL trace through the codec layer, a\n"
          "network model and a simulated client and reports bitrate, drops, latency and\n"
          "quality (replay options below).\n"
          "\n"
          "Commands:\n"
          "  list-encoders [-v|--verbose]  list every encoder:codec pair this build knows:\n"
          "                                codec, client capability it needs, rank, where\n"
          "                                it comes from (built-in or a module's path) and\n"
          "                                whether it can be used here (or why not);\n"
          "                                -v adds descriptions, modules, options and the\n"
          "                                default list\n"
          "  trace info FILE [--json]      summary of a recorded QXL trace (SPICE_REPLAY 1)\n"
          "  trace cut FILE -o OUT (--from S --to S | --events A:B)\n"
          "                                write part of a trace\n"
          "  trace cat FILE -o OUT         copy a trace, (de)compressing it by OUT's name\n"
          "  trace gen --workload NAME -o OUT\n"
          "                                write a synthetic labelled trace\n"
          "                                (spice-bench trace --help for details)\n"
          "  matrix (--traces T --codecs C --nets N | FILE.json) -o DIR [--jobs N]\n"
          "         [--shard I/N] [--repeat N] [--deterministic] [--duration S]\n"
          "         [--isolate]\n"
          "                                every combination, one JSON per run plus\n"
          "                                DIR/index.json; resumable, shardable\n"
          "  merge -o DIR SHARD-DIR...     join the results of matrix shards\n"
          "  compare BASE NEW [--threshold METRIC=V] [--format table|markdown|junit|json]\n"
          "                                per run and metric: change and verdict;\n"
          "                                exit 1 if anything regressed\n"
          "  rd TRACE --codecs C,... [--rates MBPS,...] [--qualities Q,...] [--json F]\n"
          "                                rate-distortion sweep and BD-rate\n"
          "  bd-rate A.json B.json         Bjontegaard delta rate of two RD curves\n"
          "  latency TRACE... [--codecs mjpeg,vp8,h264] [--nets lan,wan,mobile]\n"
          "          [--deterministic] [--duration S] [--seed N] [--markdown FILE]\n"
          "                                both latency policies (spice, interactive)\n"
          "                                side by side: latency by stage, frames\n"
          "                                shown, bitrate, PSNR, targets met\n"
          "  report RESULTS... -o FILE.html [--compare F] [--rd F] [--bencher F]\n"
          "         [--github-benchmark F] self-contained HTML dashboard and exports\n"
          "                                (each command has --help)\n"
          "  help                          show this help\n"
          "\n"
          "Options:\n"
          "  -h, --help                    show this help\n"
          "  --version                     show the version\n"
          "  --module FILE.so              load an encoder module (repeatable; before the\n"
          "                                command or anywhere after it, for every command;\n"
          "                                also $SPICE_VIDEO_MODULE_PATH, docs/modules.md)\n"
          "\n",
          out);
    sv_bench_replay_usage(out);
}

static void print_list_encoders_usage(FILE *out)
{
    fputs("Usage: spice-bench list-encoders [-v|--verbose]\n"
          "\n"
          "One line per encoder:codec pair: codec, required client capability, rank\n"
          "(higher comes first in the default list, 0 = only on request), where it\n"
          "comes from ('built-in' or the path of its module), and 'available' or\n"
          "'unavailable: <why>'. Modules are loaded with --module FILE.so and from\n"
          "$SPICE_VIDEO_MODULE_PATH and the installed module directory.\n"
          "\n"
          "  -v, --verbose   also print each description, the module's name and\n"
          "                  version, whether it is in the default list, and the\n"
          "                  default list itself\n",
          out);
}

/* "built-in", or the path of the module the entry came from. */
static const char *encoder_origin(const SvEncoderDesc *desc)
{
    const char *module = sv_encoder_desc_get_module(desc);
    return module != NULL ? module : "built-in";
}

static gboolean list_contains(const SvVideoCodecs *codecs, const SvEncoderDesc *desc)
{
    for (guint i = 0; i < sv_video_codecs_get_length(codecs); i++) {
        if (sv_video_codecs_get(codecs, i) == desc) {
            return TRUE;
        }
    }
    return FALSE;
}

static int list_encoders(int argc, char **argv)
{
    gboolean verbose = FALSE;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
            verbose = TRUE;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_list_encoders_usage(stdout);
            return 0;
        } else {
            fprintf(stderr,
                    "spice-bench: unknown option '%s' for list-encoders (expected: -v, "
                    "--verbose)\n",
                    argv[i]);
            return EXIT_USAGE;
        }
    }

    size_t n = 0;
    const SvEncoderDesc *const *descs = sv_registry_list(&n);
    g_autoptr(SvVideoCodecs) defaults = sv_video_codecs_new_default();
    g_auto(GStrv) names = g_new0(char *, n + 1);
    g_auto(GStrv) caps = g_new0(char *, n + 1);
    int name_width = 0;
    int cap_width = 0;
    int origin_width = 0;

    for (size_t i = 0; i < n; i++) {
        names[i] = g_strdup_printf("%s:%s", descs[i]->encoder_name, descs[i]->codec_name);
        caps[i] = sv_display_cap_to_string(descs[i]->cap);
        name_width = MAX(name_width, (int)strlen(names[i]));
        cap_width = MAX(cap_width, (int)strlen(caps[i]));
        origin_width = MAX(origin_width, (int)strlen(encoder_origin(descs[i])));
    }

    for (size_t i = 0; i < n; i++) {
        const SvEncoderDesc *desc = descs[i];
        g_autoptr(GError) error = NULL;

        printf("%-*s  %-5s  %-*s  rank %3d  %-*s  ", name_width, names[i],
               sv_video_codec_type_to_string(desc->codec_type), cap_width, caps[i], desc->rank,
               origin_width, encoder_origin(desc));
        if (sv_encoder_desc_is_available(desc, &error)) {
            printf("available\n");
        } else {
            printf("unavailable: %s\n", error->message);
        }
        if (verbose) {
            printf("    %s\n", desc->description != NULL ? desc->description : "(no description)");
            const SvModuleInfo *module = sv_encoder_desc_get_module_info(desc);
            if (module != NULL) {
                printf("    module: %s %s (%s)\n", module->name, module->version,
                       sv_encoder_desc_get_module(desc));
            } else if (sv_encoder_desc_get_module(desc) == NULL) {
                printf("    built into libspice-video\n");
            }
            printf("    in the default list: %s\n", list_contains(defaults, desc) ? "yes" : "no");
            if (desc->options == NULL || desc->options[0].name == NULL) {
                printf("    options: none\n");
            }
            for (const SvEncoderOption *opt = desc->options; opt != NULL && opt->name != NULL;
                 opt++) {
                if (opt == desc->options) {
                    printf("    options:\n");
                }
                g_autofree char *kind = NULL;
                if (opt->type == SV_OPTION_BOOL) {
                    kind =
                        g_strdup_printf("bool, default %s", opt->default_value ? "true" : "false");
                } else if (opt->type == SV_OPTION_ENUM) {
                    g_autofree char *choices = g_strjoinv("|", (char **)opt->choices);
                    kind = g_strdup_printf("one of %s, default %s", choices,
                                           opt->choices[opt->default_value]);
                } else {
                    kind = g_strdup_printf("int %d..%d, default %d", opt->min, opt->max,
                                           opt->default_value);
                }
                printf("      %s (%s)\n        %s\n", opt->name, kind,
                       opt->help != NULL ? opt->help : "");
            }
        }
    }

    if (verbose) {
        g_autofree char *default_string = sv_video_codecs_to_string(defaults);
        printf("\ndefault list (auto): %s\n", default_string);
    }
    return 0;
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return EXIT_USAGE;
    }

    const char *command = argv[1];
    if (strcmp(command, "list-encoders") == 0) {
        return list_encoders(argc - 1, argv + 1);
    }
    if (strcmp(command, "trace") == 0) {
        return sv_bench_trace_main(argc - 1, argv + 1);
    }
    if (strcmp(command, "matrix") == 0) {
        return sv_bench_matrix_main(argc - 1, argv + 1);
    }
    if (strcmp(command, "merge") == 0) {
        return sv_bench_merge_main(argc - 1, argv + 1);
    }
    if (strcmp(command, "compare") == 0) {
        return sv_bench_compare_main(argc - 1, argv + 1);
    }
    if (strcmp(command, "rd") == 0) {
        return sv_bench_rd_main(argc - 1, argv + 1);
    }
    if (strcmp(command, "bd-rate") == 0) {
        return sv_bench_bd_rate_main(argc - 1, argv + 1);
    }
    if (strcmp(command, "latency") == 0) {
        return sv_bench_latency_main(argc - 1, argv + 1);
    }
    if (strcmp(command, "report") == 0) {
        return sv_bench_report_main(argc - 1, argv + 1);
    }
    if (strcmp(command, "help") == 0 || strcmp(command, "-h") == 0 ||
        strcmp(command, "--help") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(command, "--version") == 0) {
        printf("spice-bench %s\n", SPICE_BENCH_VERSION);
        return 0;
    }
    if (strcmp(command, "__encoder-worker") == 0) {
        /* Hidden: an encoder worker of `--isolate` (docs/replay.md). */
        return sv_bench_replay_main(argc - 1, argv + 1);
    }
    if (strcmp(command, "-") == 0 ||
        (command[0] != '-' && g_file_test(command, G_FILE_TEST_EXISTS))) {
        /* A trace to replay; its options follow. */
        return sv_bench_replay_main(argc - 1, argv + 1);
    }
    if (command[0] != '-') {
        fprintf(stderr,
                "spice-bench: '%s' is neither a command (list-encoders, trace, matrix, merge, "
                "compare, rd, bd-rate, report, latency, help) nor a trace file\n",
                command);
        return EXIT_USAGE;
    }
    fprintf(stderr,
            "spice-bench: unknown option '%s' (expected a trace or a command: list-encoders, "
            "trace, matrix, merge, compare, rd, bd-rate, report, latency, help)\n",
            command);
    return EXIT_USAGE;
}

/*
 * Loads the modules of every `--module FILE` / `--module=FILE` in @argv,
 * wherever it is (before the command, among a command's or a replay's
 * options), and removes those arguments so the commands never see them.
 * The files are also put first in SPICE_VIDEO_MODULE_PATH, so the processes
 * a command starts (matrix jobs, isolated encoders) load them too.
 * @return 0, or EXIT_USAGE after one line on stderr.
 */
static int load_module_options(int *argc, char **argv)
{
    g_autoptr(GPtrArray) files = g_ptr_array_new();
    int kept = 1;

    for (int i = 1; i < *argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            /* Everything after it belongs to the command, verbatim. */
            while (i < *argc) {
                argv[kept++] = argv[i++];
            }
            break;
        }
        if (strcmp(arg, "--module") == 0) {
            if (i + 1 >= *argc || argv[i + 1][0] == '\0') {
                fprintf(stderr, "spice-bench: --module needs a value (a module file, FILE.so)\n");
                return EXIT_USAGE;
            }
            g_ptr_array_add(files, argv[++i]);
        } else if (g_str_has_prefix(arg, "--module=")) {
            if (arg[strlen("--module=")] == '\0') {
                fprintf(stderr, "spice-bench: --module needs a value (a module file, FILE.so)\n");
                return EXIT_USAGE;
            }
            g_ptr_array_add(files, (char *)arg + strlen("--module="));
        } else {
            argv[kept++] = argv[i];
        }
    }
    *argc = kept;
    argv[kept] = NULL;

    g_autoptr(GString) search_path = g_string_new(NULL);
    for (guint i = 0; i < files->len; i++) {
        const char *file = g_ptr_array_index(files, i);
        g_autoptr(GError) error = NULL;
        if (!sv_module_load(file, &error)) {
            /* The message starts with the file's name. */
            fprintf(stderr, "spice-bench: %s\n", error->message);
            return EXIT_USAGE;
        }
        g_autofree char *absolute = g_canonicalize_filename(file, NULL);
        g_string_append_printf(search_path, "%s%s", absolute, G_SEARCHPATH_SEPARATOR_S);
    }
    if (files->len > 0) {
        const char *inherited = g_getenv(SV_MODULE_PATH_ENV);
        if (inherited != NULL) {
            g_string_append(search_path, inherited);
        }
        g_setenv(SV_MODULE_PATH_ENV, search_path->str, TRUE);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int status = load_module_options(&argc, argv);
    if (status != 0) {
        return status;
    }
    status = run(argc, argv);

    /* A full disk or a closed pipe must not pass for success. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "spice-bench: error writing the output\n");
        return status != 0 ? status : 1;
    }
    return status;
}
