// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of qtfs-kmod/kbase, shared by both modules.
 *
 * This file is not an object of its own: client_shim.c and server_shim.c each
 * `#include` it, so that every module carries its own private copy (kbuild
 * warns when one object is linked into two modules). Nothing here is
 * exported; the symbols are resolved inside each .ko.
 *
 * Only what Rust cannot reach lives here: module_param() (a macro),
 * init_net, struct sockaddr_in and net/sock.h (none of them in the 6.12
 * bindings) and WRITE_ONCE() on socket fields. Every function is a
 * thin, policy-free wrapper; the Rust side (kbase/param.rs, kbase/net.rs)
 * owns the logic and documents the safety contracts.
 */
#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/fs_struct.h>
#include <linux/in.h>
#include <linux/kernel.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/ratelimit.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/socket.h>
#include <linux/tcp.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "kbase_shim.h"

/*
 * Module parameters. All three are strings, validated by the Rust side at
 * load (kbase/config.rs) so that every bad value gets the same kind of
 * message, naming the parameter and the value. 0444: visible, never
 * writable, so they cannot change after validation.
 */
static char *qtfs_server_ip;
module_param(qtfs_server_ip, charp, 0444);
MODULE_PARM_DESC(qtfs_server_ip, "IPv4 address of the qtfs server, dotted quad (required)");

static char *qtfs_server_port = "12345";
module_param(qtfs_server_port, charp, 0444);
MODULE_PARM_DESC(qtfs_server_port, "TCP port of the qtfs server, 1-65535 (default 12345)");

static char *qtfs_log_level = "INFO";
module_param(qtfs_log_level, charp, 0444);
MODULE_PARM_DESC(qtfs_log_level, "NONE, ERROR, WARN, INFO or DEBUG, any case (default INFO)");

const char *qtfs_shim_param_server_ip(void)
{
	return qtfs_server_ip;
}

const char *qtfs_shim_param_server_port(void)
{
	return qtfs_server_port;
}

const char *qtfs_shim_param_log_level(void)
{
	return qtfs_log_level;
}

/*
 * Server-only parameters (server_shim.c defines QTFS_SHIM_SERVER before
 * including this file). qtfs_auth_key has mode 0: not in sysfs at all, and
 * the Rust side wipes it (qtfs_shim_wipe_auth_key) once it has parsed it.
 * The client gets accessors that always say "not set".
 */
#ifdef QTFS_SHIM_SERVER
static char *qtfs_auth_key;
module_param(qtfs_auth_key, charp, 0);
MODULE_PARM_DESC(qtfs_auth_key, "pre-shared key, 64 hex digits (optional: without it every connection is refused)");

/*
 * qtfs_exports (0644): the export list, validated and applied by the Rust
 * side. The value shown in sysfs is the last one accepted. Until the
 * module's init attaches its handler (qtfs_shim_exports_attach) a value is
 * only stored (insmod parses parameters before init, which then
 * validates it); while attached, a write is handed to the handler, which
 * refuses a bad list (EINVAL, nothing changed) or swaps it in, and only
 * then is the string stored. kernel_param_lock(THIS_MODULE), which sysfs
 * holds around every set and get, serialises all of this.
 */
#define QTFS_EXPORTS_MAX 4095
static char qtfs_exports_val[QTFS_EXPORTS_MAX + 1];
static void *qtfs_exports_ctx;
static qtfs_shim_exports_fn qtfs_exports_fn;

static int qtfs_exports_set(const char *val, const struct kernel_param *kp)
{
	size_t len = strnlen(val, QTFS_EXPORTS_MAX + 1);
	int err;

	if (len > QTFS_EXPORTS_MAX) {
		pr_err("qtfs_server: invalid qtfs_exports: longer than %d bytes\n",
		       QTFS_EXPORTS_MAX);
		return -EINVAL;
	}
	if (qtfs_exports_fn) {
		err = qtfs_exports_fn(qtfs_exports_ctx, val, len);
		if (err)
			return err;
	}
	memcpy(qtfs_exports_val, val, len);
	qtfs_exports_val[len] = 0;
	/* A sysfs write ends with a newline: not part of the value shown. */
	if (len && qtfs_exports_val[len - 1] == '\n')
		qtfs_exports_val[len - 1] = 0;
	return 0;
}

static int qtfs_exports_get(char *buffer, const struct kernel_param *kp)
{
	return scnprintf(buffer, PAGE_SIZE, "%s\n", qtfs_exports_val);
}

static const struct kernel_param_ops qtfs_exports_ops = {
	.set = qtfs_exports_set,
	.get = qtfs_exports_get,
};
module_param_cb(qtfs_exports, &qtfs_exports_ops, NULL, 0644);
__MODULE_PARM_TYPE(qtfs_exports, "charp");
MODULE_PARM_DESC(qtfs_exports, "exported HOST directories: /dir[:ro][:crossmnt],... (writable at runtime)");

/*
 * Hands the current value to @fn and, if it accepts it, keeps @fn/@ctx as
 * the handler of later writes; returns @fn's result.
 */
int qtfs_shim_exports_attach(void *ctx, qtfs_shim_exports_fn fn)
{
	int err;

	kernel_param_lock(THIS_MODULE);
	err = fn(ctx, qtfs_exports_val, strlen(qtfs_exports_val));
	if (!err) {
		qtfs_exports_ctx = ctx;
		qtfs_exports_fn = fn;
	}
	kernel_param_unlock(THIS_MODULE);
	return err;
}

/* Forgets the handler; once this returns it is never called again. */
void qtfs_shim_exports_detach(void)
{
	kernel_param_lock(THIS_MODULE);
	qtfs_exports_fn = NULL;
	qtfs_exports_ctx = NULL;
	kernel_param_unlock(THIS_MODULE);
}

/* qtfs_root_squash (0644): requests of uid 0 run as nobody (65534). */
static bool qtfs_root_squash;
module_param(qtfs_root_squash, bool, 0644);
MODULE_PARM_DESC(qtfs_root_squash, "map uid 0 and gid 0 of clients to 65534 (default N)");

int qtfs_shim_param_root_squash(void)
{
	return READ_ONCE(qtfs_root_squash);
}

const char *qtfs_shim_param_auth_key(void)
{
	return qtfs_auth_key;
}

/* Overwrites the key string in place (the memory stays the parameter's). */
void qtfs_shim_wipe_auth_key(void)
{
	if (qtfs_auth_key)
		memzero_explicit(qtfs_auth_key, strlen(qtfs_auth_key));
}
#else
/* The client proves the same key (mode 0 and wiped, as on the server). */
static char *qtfs_auth_key;
module_param(qtfs_auth_key, charp, 0);
MODULE_PARM_DESC(qtfs_auth_key, "pre-shared key, 64 hex digits (required to mount)");

const char *qtfs_shim_param_auth_key(void)
{
	return qtfs_auth_key;
}

int qtfs_shim_exports_attach(void *ctx, qtfs_shim_exports_fn fn)
{
	return -EINVAL;
}

void qtfs_shim_exports_detach(void)
{
}

int qtfs_shim_param_root_squash(void)
{
	return 0;
}

void qtfs_shim_wipe_auth_key(void)
{
	if (qtfs_auth_key)
		memzero_explicit(qtfs_auth_key, strlen(qtfs_auth_key));
}
#endif

/*
 * One rate limit for the module's noisy per-connection lines: at most 10
 * lines per 5 seconds (the kernel's printk_ratelimit defaults).
 */
static DEFINE_RATELIMIT_STATE(qtfs_shim_rs, 5 * HZ, 10);

int qtfs_shim_ratelimit(void)
{
	return __ratelimit(&qtfs_shim_rs);
}

/*
 * Interrupting a kernel thread's interruptible waits (kbase/kthread.rs,
 * Interrupter): the thread allows SIGINT (allow_signal() is a static
 * inline), another sends it, the thread flushes it when done.
 */
void qtfs_shim_allow_sigint(void)
{
	allow_signal(SIGINT);
}

void qtfs_shim_flush_signals(void)
{
	flush_signals(current);
}

void qtfs_shim_send_sigint(struct task_struct *t)
{
	send_sig(SIGINT, t, 1);
}

/* A kernel TCP/IPv4 socket in the initial network namespace. */
int qtfs_shim_tcp_socket(struct socket **res)
{
	return sock_create_kern(&init_net, PF_INET, SOCK_STREAM, IPPROTO_TCP, res);
}

/* SO_REUSEADDR (sock_set_reuseaddr() is in net/sock.h, not in the bindings). */
void qtfs_shim_set_reuseaddr(struct socket *sock)
{
	sock_set_reuseaddr(sock->sk);
}

static void qtfs_shim_sin(struct sockaddr_in *sin, u32 addr, u16 port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(addr);
	sin->sin_port = htons(port);
}

/* @addr and @port in host byte order. */
int qtfs_shim_bind(struct socket *sock, u32 addr, u16 port)
{
	struct sockaddr_in sin;

	qtfs_shim_sin(&sin, addr, port);
	return kernel_bind(sock, (struct sockaddr *)&sin, sizeof(sin));
}

/* Blocking connect, bounded by the socket's send timeout. */
int qtfs_shim_connect(struct socket *sock, u32 addr, u16 port)
{
	struct sockaddr_in sin;

	qtfs_shim_sin(&sin, addr, port);
	return kernel_connect(sock, (struct sockaddr *)&sin, sizeof(sin), 0);
}

/*
 * The peer (@peer != 0) or local address of an IPv4 socket, in host byte
 * order.
 */
int qtfs_shim_addr(struct socket *sock, int peer, u32 *addr, u16 *port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	int len;

	memset(&ss, 0, sizeof(ss));
	if (peer)
		len = kernel_getpeername(sock, (struct sockaddr *)&ss);
	else
		len = kernel_getsockname(sock, (struct sockaddr *)&ss);
	if (len < 0)
		return len;
	if (sin->sin_family != AF_INET || len < (int)sizeof(*sin))
		return -EAFNOSUPPORT;
	*addr = ntohl(sin->sin_addr.s_addr);
	*port = ntohs(sin->sin_port);
	return 0;
}

/*
 * Bound every blocking receive/accept (@rcv_ms) and send/connect (@snd_ms);
 * 0 keeps the current value. Same locking as sock_set_sndtimeo().
 */
void qtfs_shim_ack_now(struct socket *sock)
{
	tcp_sock_set_quickack(sock->sk, 1);
}

void qtfs_shim_set_timeouts(struct socket *sock, unsigned int rcv_ms,
			    unsigned int snd_ms)
{
	struct sock *sk = sock->sk;

	lock_sock(sk);
	if (rcv_ms)
		WRITE_ONCE(sk->sk_rcvtimeo, msecs_to_jiffies(rcv_ms));
	if (snd_ms)
		WRITE_ONCE(sk->sk_sndtimeo, msecs_to_jiffies(snd_ms));
	release_sock(sk);
}

/* ---- the caller ---- */

/*
 * The current task's file-system ids, groups (at most @max, the count is
 * returned) and umask.
 */
int qtfs_shim_current_creds(u32 *fsuid, u32 *fsgid, u32 *groups, int max, u32 *umask)
{
	const struct cred *c = current_cred();
	struct group_info *gi = c->group_info;
	int i, n = 0;

	*fsuid = from_kuid_munged(&init_user_ns, c->fsuid);
	*fsgid = from_kgid_munged(&init_user_ns, c->fsgid);
	if (gi) {
		n = gi->ngroups < max ? gi->ngroups : max;
		for (i = 0; i < n; i++)
			groups[i] = from_kgid_munged(&init_user_ns, gi->gid[i]);
	}
	*umask = current_umask();
	return n;
}

unsigned int qtfs_shim_nofs_save(void)
{
	return memalloc_nofs_save();
}

void qtfs_shim_nofs_restore(unsigned int flags)
{
	memalloc_nofs_restore(flags);
}

/* Socket allocations of the transport never recurse into file systems. */
void qtfs_shim_sock_nofs(struct socket *sock)
{
	sock->sk->sk_allocation = GFP_NOFS;
}

/* ---- completions ---- */

void qtfs_shim_init_completion(struct completion *c)
{
	init_completion(c);
}


/* --- the calling task's ids, as its own pid namespace sees them */

void qtfs_shim_current_pids(u32 *tgid, u32 *tid)
{
	*tgid = task_tgid_vnr(current);
	*tid = task_pid_vnr(current);
}

/* --- the status file, /proc/<dir>/status (kbase/status.rs) */

static qtfs_shim_status_fn qtfs_status_show;
static struct proc_dir_entry *qtfs_status_dir;

static int qtfs_status_seq_show(struct seq_file *m, void *v)
{
	return qtfs_status_show(m);
}

int qtfs_shim_status_create(const char *dir, qtfs_shim_status_fn show)
{
	struct proc_dir_entry *d = proc_mkdir(dir, NULL);

	if (!d)
		return -ENOMEM;
	qtfs_status_show = show;
	if (!proc_create_single("status", 0444, d, qtfs_status_seq_show)) {
		proc_remove(d);
		return -ENOMEM;
	}
	qtfs_status_dir = d;
	return 0;
}

void qtfs_shim_status_remove(void)
{
	proc_remove(qtfs_status_dir);
	qtfs_status_dir = NULL;
}

int qtfs_shim_seq_write(void *m, const void *buf, size_t len)
{
	return seq_write(m, buf, len);
}

#include "vfs_shim.c"
#include "vfs_write_shim.c"
