// SPDX-License-Identifier: GPL-2.0
/* C shim of qtfs.ko (the client): the shared kbase half and the VFS half. */
#include "kbase_shim.c"
#include "client_vfs_shim.c"
