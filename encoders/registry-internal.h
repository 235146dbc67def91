/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */

/*
 * registry-internal.h: what the module loader (module.c) needs from the
 * registry. None of these load the default modules (the loader runs inside
 * that first load).
 */
#ifndef SV_REGISTRY_INTERNAL_H
#define SV_REGISTRY_INTERNAL_H

#include <spice-video/registry.h>

G_BEGIN_DECLS

/** Whether a built-in entry uses @name as its encoder name. */
gboolean sv_registry_is_builtin_encoder_name(const char *name);

/**
 * Registers @n module descriptors at once, or none: FALSE with @error
 * (SV_MODULE_ERROR_CONFLICT, message "@path: encoder E:C is already
 * registered (by M)") when one of their encoder:codec pairs is taken.
 * @param descs Ownership: stay the caller's and must live forever.
 * Thread: any.
 */
gboolean sv_registry_add(const char *path, SvEncoderDesc *const *descs, size_t n, GError **error);

G_END_DECLS

#endif /* SV_REGISTRY_INTERNAL_H */
