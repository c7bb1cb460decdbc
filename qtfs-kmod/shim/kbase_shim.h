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
typedef int (*qtfs_shim_exports_fn)(void *ctx, const char *val, size_t len);
int qtfs_shim_exports_attach(void *ctx, qtfs_shim_exports_fn fn);
void qtfs_shim_exports_detach(void);
int qtfs_shim_param_root_squash(void);
void qtfs_shim_wipe_auth_key(void);
int qtfs_shim_ratelimit(void);

void qtfs_shim_current_pids(u32 *tgid, u32 *tid);

typedef int (*qtfs_shim_status_fn)(void *seq_file);
int qtfs_shim_status_create(const char *dir, qtfs_shim_status_fn show);
void qtfs_shim_status_remove(void);
int qtfs_shim_seq_write(void *m, const void *buf, size_t len);

struct task_struct;
void qtfs_shim_allow_sigint(void);
void qtfs_shim_flush_signals(void);
void qtfs_shim_send_sigint(struct task_struct *t);

int qtfs_shim_tcp_socket(struct socket **res);
void qtfs_shim_set_reuseaddr(struct socket *sock);
int qtfs_shim_bind(struct socket *sock, u32 addr, u16 port);
int qtfs_shim_connect(struct socket *sock, u32 addr, u16 port);
int qtfs_shim_addr(struct socket *sock, int peer, u32 *addr, u16 *port);
void qtfs_shim_ack_now(struct socket *sock);
void qtfs_shim_set_timeouts(struct socket *sock, unsigned int rcv_ms,
			    unsigned int snd_ms);

/* the caller, allocation scope, completions */
struct completion;
int qtfs_shim_current_creds(u32 *fsuid, u32 *fsgid, u32 *groups, int max, u32 *umask);
unsigned int qtfs_shim_nofs_save(void);
void qtfs_shim_nofs_restore(unsigned int flags);
void qtfs_shim_sock_nofs(struct socket *sock);
void qtfs_shim_init_completion(struct completion *c);

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
	u64 change;
	u64 magic;
	u32 generation;
	u32 mounted;
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
struct path *qtfs_shim_path_child(const struct path *dir, const char *name, int cross, int *err);
int qtfs_shim_path_is_under(const struct path *p, const struct path *root);
int qtfs_shim_path_unhashed(const struct path *p);
int qtfs_shim_path_mounted(const struct path *p);
void qtfs_shim_path_free(struct path *p);
int qtfs_shim_path_same(const struct path *a, const struct path *b);
int qtfs_shim_getattr(const struct path *p, struct qtfs_shim_attr *a);
int qtfs_shim_path_is_fifo(const struct path *p);
int qtfs_shim_statfs(const struct path *p, struct qtfs_shim_statfs *s);
int qtfs_shim_readlink(const struct path *p, char *buf, int len);
void qtfs_shim_file_put(struct file *f);
void qtfs_shim_file_put_sync(struct file *f);
int qtfs_shim_file_is_dir(struct file *f);
int qtfs_shim_file_is_fifo(struct file *f);
void qtfs_shim_file_set_nonblock(struct file *f);
long qtfs_shim_read(struct file *f, void *buf, size_t len, u64 off);
typedef bool (*qtfs_shim_actor)(void *priv, const char *name, int namlen,
				 s64 offset, u64 ino, unsigned int d_type);
int qtfs_shim_iterate(struct file *f, u64 cookie, qtfs_shim_actor actor,
		      void *priv, s64 *end);
const struct cred *qtfs_shim_override_creds(u32 fsuid, u32 fsgid, const u32 *groups, int ngroups);
void qtfs_shim_revert_creds(const struct cred *old);

/* vfs_write_shim.c */
/* qtfs_shim_setattr's @valid bits. */
#define QTFS_SA_MODE	1
#define QTFS_SA_UID	2
#define QTFS_SA_GID	4
#define QTFS_SA_TIMES	8
struct path *qtfs_shim_mkdir(const struct path *dir, const char *name, u32 mode, int *err);
struct path *qtfs_shim_mknod(const struct path *dir, const char *name, u32 mode,
			     u32 major, u32 minor, int *err);
struct path *qtfs_shim_symlink(const struct path *dir, const char *name,
			       const char *target, int *err);
struct path *qtfs_shim_link(const struct path *old, const struct path *dir,
			    const char *name, int *err);
int qtfs_shim_remove(const struct path *dir, const char *name, int is_dir);
int qtfs_shim_rename(const struct path *odir, const char *oname,
		     const struct path *ndir, const char *nname, unsigned int flags);
int qtfs_shim_path_stale(const struct path *p);
int qtfs_shim_server_vfs_init(void);
void qtfs_shim_server_vfs_exit(void);

struct qtfs_poll_watch;
typedef void (*qtfs_shim_poll_fire_fn)(void *ctx);
struct qtfs_poll_watch *qtfs_shim_poll_watch_new(qtfs_shim_poll_fire_fn fire, void *ctx);
unsigned int qtfs_shim_poll_arm(struct qtfs_poll_watch *w, struct file *f, unsigned int events);
unsigned int qtfs_shim_poll_now(struct file *f);
void qtfs_shim_poll_disarm(struct qtfs_poll_watch *w);
void qtfs_shim_poll_watch_free(struct qtfs_poll_watch *w);
struct file *qtfs_shim_open(const struct path *p, int flags, int *err);
struct file *qtfs_shim_create(const struct path *dir, const char *name, int flags,
			      u32 mode, int *err);
int qtfs_shim_file_truncate(struct file *f, u64 size, int open);
int qtfs_shim_truncate(const struct path *p, u64 size);
int qtfs_shim_setattr(const struct path *p, u32 valid, u32 mode, u32 uid, u32 gid,
		      s64 atime_sec, u32 atime_nsec, s64 mtime_sec, u32 mtime_nsec);
long qtfs_shim_write(struct file *f, const void *buf, size_t len, u64 off);
int qtfs_shim_fallocate(struct file *f, int mode, u64 off, u64 len);
int qtfs_shim_fsync(struct file *f, int datasync);
s64 qtfs_shim_llseek(struct file *f, s64 offset, int whence);
struct path *qtfs_shim_file_path(struct file *f, int *err);
struct path *qtfs_shim_path_clone(const struct path *p, int *err);
long qtfs_shim_getxattr(const struct path *p, const char *name, void *buf, size_t size);
long qtfs_shim_listxattr(const struct path *p, char *buf, size_t size);
int qtfs_shim_setxattr(const struct path *p, const char *name, const void *val,
		       size_t size, int flags);
int qtfs_shim_removexattr(const struct path *p, const char *name);
int qtfs_shim_unshare_fs(void);
u32 qtfs_shim_set_umask(u32 umask);

#endif
