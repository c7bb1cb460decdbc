// SPDX-License-Identifier: GPL-2.0
/* C shim of qtfs_server.ko: the shared kbase half with the server-only parameters. */
#define QTFS_SHIM_SERVER
#include "kbase_shim.c"
