// SPDX-License-Identifier: GPL-2.0
/* C shim of qtfs_server.ko: the shared kbase half, nothing more yet. */
#include "kbase_shim.c"
