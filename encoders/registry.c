/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */
/* TEMPORARY STUB: being replaced by the real registry. */
#include "config.h"

#include <spice-video/registry.h>
