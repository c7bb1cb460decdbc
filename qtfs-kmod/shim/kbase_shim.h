/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The functions of kbase_shim.c, called from Rust (kbase/param.rs and
 * kbase/net.rs declare the same signatures in their `extern "C"` blocks).
 */
#ifndef QTFS_KBASE_SHIM_H
#define QTFS_KBASE_SHIM_H

#include <linux/types.h>

struct socket;

const char *qtfs_shim_param_server_ip(void);
const char *qtfs_shim_param_server_port(void);
const char *qtfs_shim_param_log_level(void);

int qtfs_shim_tcp_socket(struct socket **res);
void qtfs_shim_set_reuseaddr(struct socket *sock);
int qtfs_shim_bind(struct socket *sock, u32 addr, u16 port);
int qtfs_shim_connect(struct socket *sock, u32 addr, u16 port);
int qtfs_shim_addr(struct socket *sock, int peer, u32 *addr, u16 *port);
void qtfs_shim_set_timeouts(struct socket *sock, unsigned int rcv_ms,
			    unsigned int snd_ms);

#endif
