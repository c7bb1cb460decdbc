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
const char *qtfs_shim_param_auth_key(void);
const char *qtfs_shim_param_export(void);
void qtfs_shim_wipe_auth_key(void);
int qtfs_shim_ratelimit(void);

int qtfs_shim_tcp_socket(struct socket **res);
void qtfs_shim_set_reuseaddr(struct socket *sock);
int qtfs_shim_bind(struct socket *sock, u32 addr, u16 port);
int qtfs_shim_connect(struct socket *sock, u32 addr, u16 port);
int qtfs_shim_addr(struct socket *sock, int peer, u32 *addr, u16 *port);
void qtfs_shim_set_timeouts(struct socket *sock, unsigned int rcv_ms,
			    unsigned int snd_ms);

/* the caller, allocation scope, completions */
struct completion;
int qtfs_shim_current_creds(u32 *fsuid, u32 *fsgid, u32 *groups, int max, u32 *umask);
unsigned int qtfs_shim_nofs_save(void);
void qtfs_shim_nofs_restore(unsigned int flags);
void qtfs_shim_sock_nofs(struct socket *sock);
void qtfs_shim_init_completion(struct completion *c);
int qtfs_shim_fatal_signal_pending(void);

/* vfs_shim.c */
struct path;
struct file;
struct cred;

/* Attributes as the protocol carries them. */
struct qtfs_shim_attr {
	u64 ino;
	u64 dev;
	u32 mode;
	u32 nlink;
	u32 uid;
	u32 gid;
	u32 rdev_major;
	u32 rdev_minor;
	u64 size;
	u64 blocks;
	u32 blksize;
	s64 atime_sec;
	u32 atime_nsec;
	s64 mtime_sec;
	u32 mtime_nsec;
	s64 ctime_sec;
	u32 ctime_nsec;
};

struct qtfs_shim_statfs {
	u64 blocks;
	u64 bfree;
	u64 bavail;
	u64 files;
	u64 ffree;
	u64 fsid;
	u64 flags;
	u32 bsize;
	u32 frsize;
	u32 namelen;
	u32 fs_type;
};

struct path *qtfs_shim_path_dir(const char *name, int *err);
struct path *qtfs_shim_path_child(const struct path *dir, const char *name, int *err);
void qtfs_shim_path_free(struct path *p);
int qtfs_shim_path_same(const struct path *a, const struct path *b);
int qtfs_shim_getattr(const struct path *p, struct qtfs_shim_attr *a);
int qtfs_shim_statfs(const struct path *p, struct qtfs_shim_statfs *s);
int qtfs_shim_readlink(const struct path *p, char *buf, int len);
struct file *qtfs_shim_open_read(const struct path *p, int *err);
void qtfs_shim_file_put(struct file *f);
int qtfs_shim_file_is_dir(struct file *f);
long qtfs_shim_read(struct file *f, void *buf, size_t len, u64 off);
typedef bool (*qtfs_shim_actor)(void *priv, const char *name, int namlen,
				 s64 offset, u64 ino, unsigned int d_type);
int qtfs_shim_iterate(struct file *f, u64 cookie, qtfs_shim_actor actor,
		      void *priv, s64 *end);
const struct cred *qtfs_shim_override_creds(u32 fsuid, u32 fsgid, const u32 *groups, int ngroups);
void qtfs_shim_revert_creds(const struct cred *old);

#endif
