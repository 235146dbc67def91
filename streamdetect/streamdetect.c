/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */
/* TEMPORARY STUB: stream detection is being written. */
#include "config.h"
