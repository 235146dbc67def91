/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * Encoder modules: shared objects loaded at run time whose encoders join the
 * registry (include/spice-video/module.h, docs/modules.md).
 *
 * A module is checked before anything of it is used: the ABI constant is
 * read before any of its functions is called, then every field of its
 * SvModuleInfo. A module that breaks a rule is unloaded and none of its
 * encoders is registered, so a half-registered module never exists. A
 * module that loaded is never unloaded: its descriptors, option tables and
 * code stay in use by encoders and codec lists the library cannot track.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <spice-video/module.h>

#include "checked-encoder.h"
#include "registry-internal.h"

/* At most this many encoders in one module (module.h). */
#define MODULE_MAX_ENCODERS 64
/* The buffer a module's probe writes its reason into. */
#define PROBE_REASON_BYTES 256
/* Marks the ModuleEntry behind a descriptor's user_data. */
#define MODULE_ENTRY_MAGIC 0x53564d44u /* "SVMD" */

typedef struct LoadedModule LoadedModule;

/* One registered module encoder: the descriptor the registry lists, and
 * what it came from. */
typedef struct {
    guint32 magic;
    SvEncoderDesc desc;
    const SvModuleEncoder *source;
    const LoadedModule *module;
    /* Violation kinds already logged for this encoder (checked-encoder.c). */
    gint logged;
} ModuleEntry;

struct LoadedModule {
    char *real_path; /* symlinks resolved: the identity of the file */
    char *path;      /* as named (absolute, cleaned up): shown to users */
    void *handle;
    const SvModuleInfo *info;
    ModuleEntry **entries;
    size_t n_entries;
};

/* Serialises loads; guards @loaded_modules and @default_errors. */
static GMutex modules_lock;
static GPtrArray *loaded_modules; /* LoadedModule *, never freed */
static GPtrArray *default_errors; /* char * */

GQuark sv_module_error_quark(void)
{
    return g_quark_from_static_string("sv-module-error-quark");
}

const char *sv_module_get_default_dir(void)
{
    return SV_MODULE_DIR;
}

/* ---- the codecs a module may name --------------------------------------------- */

static const struct {
    const char *name;
    SpiceVideoCodecType type;
    uint32_t cap;
} module_codecs[] = {
    {"mjpeg", SPICE_VIDEO_CODEC_TYPE_MJPEG, SPICE_DISPLAY_CAP_CODEC_MJPEG},
    {"vp8", SPICE_VIDEO_CODEC_TYPE_VP8, SPICE_DISPLAY_CAP_CODEC_VP8},
    {"h264", SPICE_VIDEO_CODEC_TYPE_H264, SPICE_DISPLAY_CAP_CODEC_H264},
    {"vp9", SPICE_VIDEO_CODEC_TYPE_VP9, SPICE_DISPLAY_CAP_CODEC_VP9},
    {"h265", SPICE_VIDEO_CODEC_TYPE_H265, SPICE_DISPLAY_CAP_CODEC_H265},
};

static gboolean is_valid_name(const char *name)
{
    if (name == NULL || name[0] == '\0') {
        return FALSE;
    }
    for (const char *p = name; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && *p != '_') {
            return FALSE;
        }
    }
    return TRUE;
}

/* ---- descriptors ----------------------------------------------------------------- */

/* The entry behind @desc: our own descriptor, or a copy of it a wrapper
 * made (found by name then). */
static const ModuleEntry *entry_of(const SvEncoderDesc *desc)
{
    const ModuleEntry *entry = desc->user_data;
    if (entry != NULL && desc->module != NULL && entry->magic == MODULE_ENTRY_MAGIC) {
        return entry;
    }
    if (desc->module == NULL) {
        return NULL;
    }

    const ModuleEntry *found = NULL;
    g_mutex_lock(&modules_lock);
    for (guint m = 0; loaded_modules != NULL && m < loaded_modules->len && found == NULL; m++) {
        const LoadedModule *module = g_ptr_array_index(loaded_modules, m);
        for (size_t i = 0; i < module->n_entries; i++) {
            const SvEncoderDesc *own = &module->entries[i]->desc;
            if (strcmp(own->encoder_name, desc->encoder_name) == 0 &&
                strcmp(own->codec_name, desc->codec_name) == 0) {
                found = module->entries[i];
                break;
            }
        }
    }
    g_mutex_unlock(&modules_lock);
    return found;
}

const char *sv_encoder_desc_get_module(const SvEncoderDesc *desc)
{
    g_return_val_if_fail(desc != NULL, NULL);

    return desc->module;
}

const SvModuleInfo *sv_encoder_desc_get_module_info(const SvEncoderDesc *desc)
{
    g_return_val_if_fail(desc != NULL, NULL);

    const ModuleEntry *entry = entry_of(desc);
    return entry != NULL ? entry->module->info : NULL;
}

/* The module's probe speaks C (a buffer); the registry's speaks GError. */
static gboolean module_probe(const SvEncoderDesc *desc, GError **error)
{
    const ModuleEntry *entry = entry_of(desc);
    if (entry == NULL) {
        g_set_error_literal(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                            "not an encoder of a loaded module");
        return FALSE;
    }

    char why[PROBE_REASON_BYTES] = "";
    if (entry->source->probe(why, sizeof(why)) != 0) {
        return TRUE;
    }
    why[sizeof(why) - 1] = '\0';
    g_set_error_literal(error, SV_ENCODER_ERROR, SV_ENCODER_ERROR_UNAVAILABLE,
                        why[0] != '\0' ? why : "the module's probe failed without saying why");
    return FALSE;
}

/* Every encoder of a module is created here, so every one is checked. */
static VideoEncoder *module_create_for(const SvEncoderDesc *desc, uint64_t starting_bit_rate,
                                       VideoEncoderRateControlCbs *cbs, bitmap_ref_t bitmap_ref,
                                       bitmap_unref_t bitmap_unref, const SvEncoderConfig *config)
{
    const ModuleEntry *entry = entry_of(desc);
    g_return_val_if_fail(entry != NULL, NULL);

    const SvModuleEncoder *source = entry->source;
    VideoEncoder *inner;
    if (source->create_full != NULL && config != NULL) {
        inner = source->create_full(entry->desc.codec_type, starting_bit_rate, cbs, bitmap_ref,
                                    bitmap_unref, config);
    } else {
        inner = source->create(entry->desc.codec_type, starting_bit_rate, cbs, bitmap_ref,
                               bitmap_unref);
    }
    return sv_checked_encoder_wrap(&entry->desc, (gint *)&entry->logged, inner);
}

static ModuleEntry *entry_new(const LoadedModule *module, const SvModuleEncoder *source)
{
    ModuleEntry *entry = g_new0(ModuleEntry, 1);
    entry->magic = MODULE_ENTRY_MAGIC;
    entry->source = source;
    entry->module = module;
    entry->desc = (SvEncoderDesc){
        .encoder_name = g_strdup(source->encoder_name),
        .codec_name = g_strdup(source->codec_name),
        .codec_type = source->codec_type,
        .cap = source->cap,
        .create = source->create,
        .create_full = source->create_full,
        .probe = source->probe != NULL ? module_probe : NULL,
        .options = source->options,
        .rank = source->rank,
        .description =
            g_strdup(source->description != NULL ? source->description : "(no description)"),
        .module = module->path,
        .create_for = module_create_for,
        .user_data = entry,
    };
    return entry;
}

static void entry_free(ModuleEntry *entry)
{
    g_free((char *)entry->desc.encoder_name);
    g_free((char *)entry->desc.codec_name);
    g_free((char *)entry->desc.description);
    g_free(entry);
}

/* ---- checking a module ------------------------------------------------------------ */

static gboolean check_options(const char *path, const char *label, const SvEncoderOption *options,
                              GError **error)
{
    size_t n = 0;
    for (const SvEncoderOption *opt = options; opt != NULL && opt->name != NULL; opt++, n++) {
        if (n == SV_MAX_ENCODER_OPTIONS) {
            g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                        "%s: %s: more than %d options (or a table without its NULL end)", path,
                        label, SV_MAX_ENCODER_OPTIONS);
            return FALSE;
        }
        if (opt->type != SV_OPTION_INT && opt->type != SV_OPTION_BOOL &&
            opt->type != SV_OPTION_ENUM) {
            g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                        "%s: %s: option '%s' has type %d, expected an SvOptionType", path, label,
                        opt->name, (int)opt->type);
            return FALSE;
        }
        if (opt->type == SV_OPTION_ENUM &&
            (opt->choices == NULL || opt->default_value < 0 ||
             (guint)opt->default_value >= g_strv_length((char **)opt->choices))) {
            g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                        "%s: %s: enum option '%s' needs choices and a default among them", path,
                        label, opt->name);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean check_encoder(const char *path, const SvModuleInfo *info, size_t index,
                              GError **error)
{
    const SvModuleEncoder *enc = &info->encoders[index];

    if (!is_valid_name(enc->encoder_name)) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                    "%s: encoder %zu: encoder name '%s' is not made of [0-9A-Za-z_]", path, index,
                    enc->encoder_name != NULL ? enc->encoder_name : "(NULL)");
        return FALSE;
    }
    if (!is_valid_name(enc->codec_name)) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                    "%s: encoder %zu (%s): codec name '%s' is not made of [0-9A-Za-z_]", path,
                    index, enc->encoder_name, enc->codec_name != NULL ? enc->codec_name : "(NULL)");
        return FALSE;
    }
    g_autofree char *label = g_strdup_printf("%s:%s", enc->encoder_name, enc->codec_name);

    if (sv_registry_is_builtin_encoder_name(enc->encoder_name)) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_CONFLICT,
                    "%s: encoder name '%s' is already registered (a built-in encoder's name; "
                    "expected a name of the module's own)",
                    path, enc->encoder_name);
        return FALSE;
    }
    guint codec = 0;
    while (codec < G_N_ELEMENTS(module_codecs) &&
           strcmp(module_codecs[codec].name, enc->codec_name) != 0) {
        codec++;
    }
    if (codec == G_N_ELEMENTS(module_codecs)) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                    "%s: %s: unknown codec '%s' (expected mjpeg, vp8, h264, vp9 or h265)", path,
                    label, enc->codec_name);
        return FALSE;
    }
    if (enc->codec_type != module_codecs[codec].type) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                    "%s: %s: codec_type %d does not match codec '%s' (expected %d, %s)", path,
                    label, (int)enc->codec_type, enc->codec_name, (int)module_codecs[codec].type,
                    sv_video_codec_type_to_string(module_codecs[codec].type));
        return FALSE;
    }
    if (enc->cap != module_codecs[codec].cap) {
        g_autofree char *cap_name = sv_display_cap_to_string(module_codecs[codec].cap);
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                    "%s: %s: cap %" PRIu32 " does not match codec '%s' (expected %" PRIu32 ", %s)",
                    path, label, enc->cap, enc->codec_name, module_codecs[codec].cap, cap_name);
        return FALSE;
    }
    if (enc->create == NULL) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                    "%s: %s: create is NULL (a new_video_encoder_t factory is required)", path,
                    label);
        return FALSE;
    }
    if (enc->rank < 0) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                    "%s: %s: rank %d, expected 0 or more", path, label, enc->rank);
        return FALSE;
    }
    if (!check_options(path, label, enc->options, error)) {
        return FALSE;
    }
    for (size_t j = 0; j < index; j++) {
        if (strcmp(info->encoders[j].encoder_name, enc->encoder_name) == 0 &&
            strcmp(info->encoders[j].codec_name, enc->codec_name) == 0) {
            g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                        "%s: %s is listed twice (encoders %zu and %zu)", path, label, j, index);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean check_info(const char *path, const SvModuleInfo *info, GError **error)
{
    if (info == NULL) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                    "%s: " SV_MODULE_INFO_SYMBOL "() returned NULL, expected its SvModuleInfo",
                    path);
        return FALSE;
    }
    if (info->abi_version != SV_MODULE_ABI_VERSION) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_ABI,
                    "%s: SvModuleInfo.abi_version is %" PRIu32 ", expected %d (as "
                    "sv_video_module_abi)",
                    path, info->abi_version, SV_MODULE_ABI_VERSION);
        return FALSE;
    }
    if (info->name == NULL || info->name[0] == '\0' || info->version == NULL) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                    "%s: SvModuleInfo.name and .version are required (non-NULL, a non-empty name)",
                    path);
        return FALSE;
    }
    if (info->n_encoders < 1 || info->n_encoders > MODULE_MAX_ENCODERS) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                    "%s: module %s has %zu encoders, expected 1 to %d", path, info->name,
                    info->n_encoders, MODULE_MAX_ENCODERS);
        return FALSE;
    }
    if (info->encoders == NULL) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_INVALID,
                    "%s: module %s: SvModuleInfo.encoders is NULL, expected %zu encoders", path,
                    info->name, info->n_encoders);
        return FALSE;
    }
    for (size_t i = 0; i < info->n_encoders; i++) {
        if (!check_encoder(path, info, i, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

/* ---- loading ------------------------------------------------------------------------- */

static LoadedModule *find_loaded(const char *real_path)
{
    for (guint i = 0; loaded_modules != NULL && i < loaded_modules->len; i++) {
        LoadedModule *module = g_ptr_array_index(loaded_modules, i);
        if (strcmp(module->real_path, real_path) == 0) {
            return module;
        }
    }
    return NULL;
}

/* Opens @real_path and returns its SvModuleInfo, or NULL with @error set
 * and the module closed. */
static const SvModuleInfo *open_module(const char *path, const char *real_path, void **handle_out,
                                       GError **error)
{
    dlerror();
    void *handle = dlopen(real_path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *why = dlerror();
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_OPEN,
                    "%s: cannot load it as a shared object: %s", path,
                    why != NULL ? why : "unknown error");
        return NULL;
    }

    /* Nothing of the module is called before its ABI version is known. */
    const uint32_t *abi = dlsym(handle, SV_MODULE_ABI_SYMBOL);
    if (abi == NULL) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_ABI,
                    "%s: not a module (no " SV_MODULE_ABI_SYMBOL " symbol)", path);
        dlclose(handle);
        return NULL;
    }
    if (*abi != SV_MODULE_ABI_VERSION) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_ABI,
                    "%s: module ABI version %" PRIu32 ", this library supports %d", path, *abi,
                    SV_MODULE_ABI_VERSION);
        dlclose(handle);
        return NULL;
    }
    void *symbol = dlsym(handle, SV_MODULE_INFO_SYMBOL);
    if (symbol == NULL) {
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_ABI,
                    "%s: not a module (no " SV_MODULE_INFO_SYMBOL " symbol)", path);
        dlclose(handle);
        return NULL;
    }
    SvModuleInfoFunc info_func;
    /* POSIX guarantees a function pointer round-trips through dlsym's void *. */
    memcpy(&info_func, &symbol, sizeof(info_func));

    const SvModuleInfo *info = info_func();
    if (!check_info(path, info, error)) {
        dlclose(handle);
        return NULL;
    }
    *handle_out = handle;
    return info;
}

static gboolean load_locked(const char *path, GError **error)
{
    g_autofree char *real_path = realpath(path, NULL);
    if (real_path == NULL) {
        int errsv = errno;
        g_set_error(error, SV_MODULE_ERROR, SV_MODULE_ERROR_OPEN, "%s: %s", path,
                    g_strerror(errsv));
        return FALSE;
    }
    if (find_loaded(real_path) != NULL) {
        g_debug("module %s is already loaded", path);
        return TRUE;
    }

    void *handle = NULL;
    const SvModuleInfo *info = open_module(path, real_path, &handle, error);
    if (info == NULL) {
        return FALSE;
    }

    LoadedModule *module = g_new0(LoadedModule, 1);
    module->real_path = g_steal_pointer(&real_path);
    module->path = g_canonicalize_filename(path, NULL);
    module->handle = handle;
    module->info = info;
    module->n_entries = info->n_encoders;
    module->entries = g_new0(ModuleEntry *, module->n_entries);
    for (size_t i = 0; i < module->n_entries; i++) {
        module->entries[i] = entry_new(module, &info->encoders[i]);
    }

    /* The registry checks the pairs against every other module and
     * registers all of them, or none. */
    g_autofree SvEncoderDesc **descs = g_new(SvEncoderDesc *, module->n_entries);
    for (size_t i = 0; i < module->n_entries; i++) {
        descs[i] = &module->entries[i]->desc;
    }
    if (!sv_registry_add(path, descs, module->n_entries, error)) {
        for (size_t i = 0; i < module->n_entries; i++) {
            entry_free(module->entries[i]);
        }
        g_free(module->entries);
        g_free(module->real_path);
        g_free(module->path);
        g_free(module);
        dlclose(handle);
        return FALSE;
    }

    if (loaded_modules == NULL) {
        loaded_modules = g_ptr_array_new();
    }
    g_ptr_array_add(loaded_modules, module);

    g_autoptr(GString) names = g_string_new(NULL);
    for (size_t i = 0; i < module->n_entries; i++) {
        g_string_append_printf(names, "%s%s:%s", i > 0 ? ", " : "",
                               module->entries[i]->desc.encoder_name,
                               module->entries[i]->desc.codec_name);
    }
    g_info("loaded module %s %s from %s: %s", info->name, info->version, module->path, names->str);
    return TRUE;
}

gboolean sv_module_load(const char *path, GError **error)
{
    g_return_val_if_fail(path != NULL, FALSE);
    g_return_val_if_fail(error == NULL || *error == NULL, FALSE);

    g_mutex_lock(&modules_lock);
    gboolean loaded = load_locked(path, error);
    g_mutex_unlock(&modules_lock);
    return loaded;
}

static int compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads one file, counting it or adding its failure to @diagnostics. */
static void load_one(const char *file, GPtrArray *diagnostics, guint *n_loaded)
{
    g_autoptr(GError) error = NULL;
    if (sv_module_load(file, &error)) {
        (*n_loaded)++;
    } else if (diagnostics != NULL) {
        g_ptr_array_add(diagnostics, g_strdup(error->message));
    }
}

guint sv_module_load_path(const char *path, GPtrArray *diagnostics)
{
    g_return_val_if_fail(path != NULL, 0);

    g_auto(GStrv) parts = g_strsplit(path, G_SEARCHPATH_SEPARATOR_S, -1);
    guint n_loaded = 0;

    for (char **part = parts; *part != NULL; part++) {
        if ((*part)[0] == '\0') {
            continue;
        }
        if (!g_file_test(*part, G_FILE_TEST_IS_DIR)) {
            if (g_file_test(*part, G_FILE_TEST_EXISTS)) {
                load_one(*part, diagnostics, &n_loaded);
            } else {
                /* Module directories are optional, the installed one too. */
                g_debug("module path entry %s does not exist", *part);
            }
            continue;
        }

        g_autoptr(GError) error = NULL;
        g_autoptr(GDir) dir = g_dir_open(*part, 0, &error);
        if (dir == NULL) {
            if (diagnostics != NULL) {
                g_ptr_array_add(diagnostics,
                                g_strdup_printf("%s: cannot list the module directory: %s", *part,
                                                error->message));
            }
            continue;
        }
        g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
        const char *name;
        while ((name = g_dir_read_name(dir)) != NULL) {
            if (g_str_has_suffix(name, ".so")) {
                g_ptr_array_add(files, g_build_filename(*part, name, NULL));
            }
        }
        g_ptr_array_sort(files, compare_strings);
        for (guint i = 0; i < files->len; i++) {
            load_one(g_ptr_array_index(files, i), diagnostics, &n_loaded);
        }
    }
    return n_loaded;
}

static gpointer load_default_once(gpointer data)
{
    GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
    /* Not in set-user-ID or set-group-ID programs: the environment must not
     * choose the code they run. */
    const char *env = secure_getenv(SV_MODULE_PATH_ENV);

    if (env != NULL && env[0] != '\0') {
        sv_module_load_path(env, errors);
    }
    sv_module_load_path(SV_MODULE_DIR, errors);
    for (guint i = 0; i < errors->len; i++) {
        g_warning("encoder module not loaded: %s", (const char *)g_ptr_array_index(errors, i));
    }

    g_mutex_lock(&modules_lock);
    default_errors = errors;
    g_mutex_unlock(&modules_lock);
    return NULL;
}

void sv_module_load_default(void)
{
    static GOnce once = G_ONCE_INIT;

    g_once(&once, load_default_once, NULL);
}

const GPtrArray *sv_module_get_errors(void)
{
    static GPtrArray *none;

    g_mutex_lock(&modules_lock);
    const GPtrArray *errors = default_errors;
    if (errors == NULL) {
        if (none == NULL) {
            none = g_ptr_array_new();
        }
        errors = none;
    }
    g_mutex_unlock(&modules_lock);
    return errors;
}
