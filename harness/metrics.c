/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* SPDX-FileCopyrightText: 2026 The spice-video authors */
/* placeholder */
typedef int sv_placeholder_metrics;
