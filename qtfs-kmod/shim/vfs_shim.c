// SPDX-License-Identifier: GPL-2.0
/*
 * VFS helpers of qtfs-kmod/kbase (kbase/vfs.rs, kbase/cred.rs), #included by
 * kbase_shim.c. Each is a thin wrapper around exported VFS functions that
 * hands plain structures (no kuid_t, no timespec64, no struct kstat) to the
 * Rust side; the policy (confinement, which opens are allowed) lives in
 * Rust. struct path values are allocated here (kmalloc) so that Rust only
 * holds opaque pointers.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/delayed_call.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/poll.h>
#include <linux/workqueue.h>
#include <linux/security.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/stat.h>
#include <linux/statfs.h>
#include <linux/uidgid.h>

#include "kbase_shim.h"

/* A directory: resolved from @name (absolute), following symlinks. */
struct path *qtfs_shim_path_dir(const char *name, int *err)
{
	struct path *p = kmalloc(sizeof(*p), GFP_KERNEL);

	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = kern_path(name, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, p);
	if (*err) {
		kfree(p);
		return NULL;
	}
	return p;
}

/*
 * One component @name (NUL-terminated, no '/', not "." or "..") in the
 * directory @dir, with the current credentials (search permission on
 * @dir is checked by lookup_one_unlocked), never following a final
 * symlink. The result is on @dir's mount: a mount on it is crossed
 * (follow_down) only if @cross, else the mountpoint itself is returned.
 * A negative entry is ENOENT.
 */
struct path *qtfs_shim_path_child(const struct path *dir, const char *name, int cross, int *err)
{
	struct dentry *d;
	struct path *p;

	if (!d_can_lookup(dir->dentry)) {
		*err = -ENOTDIR;
		return NULL;
	}
	d = lookup_one_unlocked(mnt_idmap(dir->mnt), name, dir->dentry, strlen(name));
	if (IS_ERR(d)) {
		*err = PTR_ERR(d);
		return NULL;
	}
	if (d_is_negative(d)) {
		dput(d);
		*err = -ENOENT;
		return NULL;
	}
	p = kmalloc(sizeof(*p), GFP_KERNEL);
	if (!p) {
		dput(d);
		*err = -ENOMEM;
		return NULL;
	}
	p->mnt = mntget(dir->mnt);
	p->dentry = d;
	if (cross && d_mountpoint(d)) {
		*err = follow_down(p, 0);
		if (*err) {
			path_put(p);
			kfree(p);
			return NULL;
		}
	}
	*err = 0;
	return p;
}

/* Whether @p is @root or beneath it (across mounts: path_is_under). */
int qtfs_shim_path_is_under(const struct path *p, const struct path *root)
{
	return path_is_under(p, root);
}

/* Whether the dentry of @p was unlinked or moved away (unhashed). */
int qtfs_shim_path_unhashed(const struct path *p)
{
	return d_unhashed(p->dentry);
}

/* Whether @p is a directory other mounts are mounted on. */
int qtfs_shim_path_mounted(const struct path *p)
{
	return d_mountpoint(p->dentry);
}

void qtfs_shim_path_free(struct path *p)
{
	path_put(p);
	kfree(p);
}

int qtfs_shim_path_same(const struct path *a, const struct path *b)
{
	return a->dentry == b->dentry && a->mnt == b->mnt;
}

int qtfs_shim_path_is_fifo(const struct path *p)
{
	struct inode *inode = d_inode(p->dentry);

	return inode && S_ISFIFO(inode->i_mode);
}

int qtfs_shim_getattr(const struct path *p, struct qtfs_shim_attr *a)
{
	struct kstat st;
	int err;

	memset(&st, 0, sizeof(st));
	err = vfs_getattr(p, &st, STATX_BASIC_STATS | STATX_CHANGE_COOKIE,
			  AT_STATX_SYNC_AS_STAT);
	if (err)
		return err;
	a->change = (st.result_mask & STATX_CHANGE_COOKIE) ? st.change_cookie : 0;
	a->magic = p->dentry->d_sb->s_magic;
	a->generation = d_inode(p->dentry)->i_generation;
	a->mounted = d_mountpoint(p->dentry);
	a->ino = st.ino;
	a->dev = new_encode_dev(st.dev);
	a->mode = st.mode;
	a->nlink = st.nlink;
	a->uid = from_kuid_munged(&init_user_ns, st.uid);
	a->gid = from_kgid_munged(&init_user_ns, st.gid);
	a->rdev_major = MAJOR(st.rdev);
	a->rdev_minor = MINOR(st.rdev);
	a->size = st.size;
	a->blocks = st.blocks;
	a->blksize = st.blksize;
	a->atime_sec = st.atime.tv_sec;
	a->atime_nsec = st.atime.tv_nsec;
	a->mtime_sec = st.mtime.tv_sec;
	a->mtime_nsec = st.mtime.tv_nsec;
	a->ctime_sec = st.ctime.tv_sec;
	a->ctime_nsec = st.ctime.tv_nsec;
	return 0;
}

int qtfs_shim_statfs(const struct path *p, struct qtfs_shim_statfs *s)
{
	struct kstatfs st;
	int err;

	memset(&st, 0, sizeof(st));
	err = vfs_statfs(p, &st);
	if (err)
		return err;
	s->blocks = st.f_blocks;
	s->bfree = st.f_bfree;
	s->bavail = st.f_bavail;
	s->files = st.f_files;
	s->ffree = st.f_ffree;
	s->fsid = (u64)(u32)st.f_fsid.val[0] | ((u64)(u32)st.f_fsid.val[1] << 32);
	s->flags = st.f_flags;
	s->bsize = st.f_bsize;
	s->frsize = st.f_frsize;
	s->namelen = st.f_namelen;
	s->fs_type = st.f_type;
	return 0;
}

/* The target of the symlink @p into @buf; its length, or -errno. */
int qtfs_shim_readlink(const struct path *p, char *buf, int len)
{
	DEFINE_DELAYED_CALL(done);
	const char *link;
	int err, n;

	if (!d_is_symlink(p->dentry))
		return -EINVAL;
	err = security_inode_readlink(p->dentry);
	if (err)
		return err;
	link = vfs_get_link(p->dentry, &done);
	if (IS_ERR(link))
		return PTR_ERR(link);
	n = strlen(link);
	if (n > len) {
		do_delayed_call(&done);
		return -ENAMETOOLONG;
	}
	memcpy(buf, link, n);
	do_delayed_call(&done);
	return n;
}

void qtfs_shim_file_put(struct file *f)
{
	fput(f);
}

void qtfs_shim_file_put_sync(struct file *f)
{
	__fput_sync(f);
}

int qtfs_shim_file_is_dir(struct file *f)
{
	return S_ISDIR(file_inode(f)->i_mode);
}

int qtfs_shim_file_is_fifo(struct file *f)
{
	return S_ISFIFO(file_inode(f)->i_mode);
}

/* fcntl(F_SETFL, O_NONBLOCK) of an open file: f_flags under f_lock, as setfl(). */
void qtfs_shim_file_set_nonblock(struct file *f)
{
	spin_lock(&f->f_lock);
	f->f_flags |= O_NONBLOCK;
	spin_unlock(&f->f_lock);
}

/*
 * Files with only ->read or ->write, which copy to and from user memory
 * themselves (/proc/<pid>/cmdline, environ, oom_score_adj, attr/...):
 * kernel_read()/kernel_write() refuse them, and a worker thread has no
 * user memory. The server keeps the address space of the process that
 * loaded it (insmod or qtfsctl, gone once the load returns: no task runs
 * in it any more) and its workers borrow it for such a call
 * (kthread_use_mm, as vhost and io_uring workers borrow a process's), map
 * an anonymous buffer in it, let the file copy through that, and unmap
 * it. Without that address space (a load from a kernel thread) these
 * files are EINVAL, as before.
 */
static struct mm_struct *qtfs_bounce_mm;

/* Poll watches send their events from qtfs_poll_wq, not from system_wq:
 * a send may wait (up to the socket's send timeout) for a slow peer. */
static struct workqueue_struct *qtfs_poll_wq;

int qtfs_shim_server_vfs_init(void)
{
	qtfs_poll_wq = alloc_workqueue("qtfs_poll", WQ_UNBOUND, 0);
	if (!qtfs_poll_wq)
		return -ENOMEM;
	qtfs_bounce_mm = get_task_mm(current);
	return 0;
}

void qtfs_shim_server_vfs_exit(void)
{
	if (qtfs_bounce_mm)
		mmput(qtfs_bounce_mm);
	qtfs_bounce_mm = NULL;
	if (qtfs_poll_wq)
		destroy_workqueue(qtfs_poll_wq);
	qtfs_poll_wq = NULL;
}

static long qtfs_shim_bounce(struct file *f, void *buf, size_t len, loff_t *pos, bool write)
{
	unsigned long size = PAGE_ALIGN(max_t(size_t, len, 1));
	unsigned long uaddr;
	long ret;

	if (!qtfs_bounce_mm || current->mm || !(current->flags & PF_KTHREAD))
		return -EINVAL;
	kthread_use_mm(qtfs_bounce_mm);
	uaddr = vm_mmap(NULL, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(uaddr)) {
		ret = (long)uaddr;
		goto out;
	}
	if (write) {
		ret = copy_to_user((void __user *)uaddr, buf, len) ? -EFAULT :
			f->f_op->write(f, (const char __user *)uaddr, len, pos);
	} else {
		ret = f->f_op->read(f, (char __user *)uaddr, len, pos);
		if (ret > 0 && copy_from_user(buf, (const void __user *)uaddr, ret))
			ret = -EFAULT;
	}
	vm_munmap(uaddr, size);
out:
	kthread_unuse_mm(qtfs_bounce_mm);
	return ret;
}

/* Whether @f needs qtfs_shim_bounce() to be read (@write: written). */
static bool qtfs_shim_needs_bounce(struct file *f, bool write)
{
	if (write)
		return !f->f_op->write_iter && f->f_op->write;
	return !f->f_op->read_iter && f->f_op->read && f->f_op->read != seq_read;
}

/*
 * Reads @len bytes at @off into the kernel buffer @buf; a file not open
 * for reading is EBADF, as read(2) (kernel_read WARNs). kernel_read() needs
 * ->read_iter; many procfs files (/proc/<pid>/status and the other
 * single_open ones) only have ->read = seq_read, which is itself a thin
 * wrapper around seq_read_iter() on the file's seq_file: call that with a
 * kernel iterator, as seq_read() does with a user one. Files with another
 * ->read go through qtfs_shim_bounce().
 */
long qtfs_shim_read(struct file *f, void *buf, size_t len, u64 off)
{
	loff_t pos = off;

	if (!(f->f_mode & FMODE_READ))
		return -EBADF;
	if (off > (u64)LLONG_MAX)
		return -EINVAL;
	if (!f->f_op->read_iter && f->f_op->read == seq_read) {
		struct kvec kv = { .iov_base = buf, .iov_len = len };
		struct kiocb kiocb;
		struct iov_iter iter;
		ssize_t ret;

		init_sync_kiocb(&kiocb, f);
		kiocb.ki_pos = pos;
		iov_iter_kvec(&iter, ITER_DEST, &kv, 1, len);
		ret = seq_read_iter(&kiocb, &iter);
		return ret;
	}
	if (qtfs_shim_needs_bounce(f, false)) {
		long ret;

		if (!(f->f_mode & FMODE_CAN_READ))
			return -EINVAL;
		ret = rw_verify_area(READ, f, &pos, len);
		if (ret)
			return ret;
		return qtfs_shim_bounce(f, buf, len, &pos, false);
	}
	return kernel_read(f, buf, len, &pos);
}

struct qtfs_shim_dirctx {
	struct dir_context ctx;
	qtfs_shim_actor actor;
	void *priv;
};

static bool qtfs_shim_filldir(struct dir_context *ctx, const char *name,
			      int namlen, loff_t offset, u64 ino,
			      unsigned int d_type)
{
	struct qtfs_shim_dirctx *q = container_of(ctx, struct qtfs_shim_dirctx, ctx);

	return q->actor(q->priv, name, namlen, offset, ino, d_type);
}

/*
 * Lists the directory @f from position @cookie, calling @actor per entry
 * (with the entry's own position) until it returns false or the end;
 * *@end is the position after the last entry accepted.
 */
int qtfs_shim_iterate(struct file *f, u64 cookie, qtfs_shim_actor actor,
		      void *priv, s64 *end)
{
	struct qtfs_shim_dirctx q = {
		.ctx.actor = qtfs_shim_filldir,
		.actor = actor,
		.priv = priv,
	};
	int err;

	if (cookie > (u64)LLONG_MAX)
		return -EINVAL;
	if (f->f_pos != (loff_t)cookie) {
		loff_t r = vfs_llseek(f, cookie, SEEK_SET);

		if (r < 0)
			return r;
	}
	err = iterate_dir(f, &q.ctx);
	*end = q.ctx.pos;
	return err;
}

/*
 * Runs the calling thread as @fsuid/@fsgid with @groups (until
 * qtfs_shim_revert_creds): a prepared copy of its credentials with the
 * file-system ids, the euid/egid (some checks use them) and the groups
 * replaced; capabilities as below. Returns the
 * credentials to restore, or an ERR_PTR.
 */
const struct cred *qtfs_shim_override_creds(u32 fsuid, u32 fsgid, const u32 *groups, int ngroups)
{
	struct cred *new;
	struct group_info *gi;
	const struct cred *old;
	kuid_t uid = make_kuid(&init_user_ns, fsuid);
	kgid_t gid = make_kgid(&init_user_ns, fsgid);
	int i;

	if (!uid_valid(uid) || !gid_valid(gid))
		return ERR_PTR(-EINVAL);
	gi = groups_alloc(ngroups);
	if (!gi)
		return ERR_PTR(-ENOMEM);
	for (i = 0; i < ngroups; i++) {
		kgid_t g = make_kgid(&init_user_ns, groups[i]);

		if (!gid_valid(g)) {
			put_group_info(gi);
			return ERR_PTR(-EINVAL);
		}
		gi->gid[i] = g;
	}
	groups_sort(gi);
	new = prepare_creds();
	if (!new) {
		put_group_info(gi);
		return ERR_PTR(-ENOMEM);
	}
	new->fsuid = uid;
	new->euid = uid;
	new->fsgid = gid;
	new->egid = gid;
	set_groups(new, gi);
	put_group_info(gi);
	/*
	 * uid 0 keeps only the file-system capabilities (CAP_FS_SET: chown,
	 * mknod, dac_override, dac_read_search, fowner, fsetid,
	 * mac_override, linux_immutable), as nfsd's cap_raise_nfsd_set()
	 * does; anyone else none.
	 */
	if (fsuid == 0)
		new->cap_effective = cap_raise_fs_set(CAP_EMPTY_SET, new->cap_permitted);
	else
		cap_clear(new->cap_effective);
	new->cap_permitted = new->cap_effective;
	cap_clear(new->cap_inheritable);
	cap_clear(new->cap_ambient);
	old = override_creds(new);
	put_cred(new);
	return old;
}

void qtfs_shim_revert_creds(const struct cred *old)
{
	revert_creds(old);
}

/*
 * Poll watches (kbase/vfs.rs `Watched`): waits on an open file's wait
 * queues, as epoll does, and on each wake-up runs a Rust callback in
 * process context (system_wq), where it polls the file again and decides.
 * A file that registers on more than QTFS_POLL_HEADS queues (none of
 * procfs, kernfs, pipes, sockets and ttys do) is watched on the first
 * ones only; files that free their queues (POLLFREE: signalfd, binder)
 * are not opened through qtfs.
 */
#define QTFS_POLL_HEADS 2

struct qtfs_poll_entry {
	wait_queue_entry_t wait;
	wait_queue_head_t *head;
	struct qtfs_poll_watch *w;
};

struct qtfs_poll_watch {
	poll_table pt;
	spinlock_t lock;		/* entries and n, against disarm */
	struct qtfs_poll_entry e[QTFS_POLL_HEADS];
	int n;
	struct work_struct work;
	qtfs_shim_poll_fire_fn fire;
	void *ctx;
};

static void qtfs_poll_work_fn(struct work_struct *work)
{
	struct qtfs_poll_watch *w = container_of(work, struct qtfs_poll_watch, work);

	w->fire(w->ctx);
}

static int qtfs_poll_wake(wait_queue_entry_t *wait, unsigned int mode, int sync, void *key)
{
	struct qtfs_poll_entry *e = container_of(wait, struct qtfs_poll_entry, wait);

	queue_work(qtfs_poll_wq ? qtfs_poll_wq : system_wq, &e->w->work);
	return 0;
}

static void qtfs_poll_queue(struct file *f, wait_queue_head_t *head, poll_table *pt)
{
	struct qtfs_poll_watch *w = container_of(pt, struct qtfs_poll_watch, pt);
	struct qtfs_poll_entry *e;

	spin_lock(&w->lock);
	if (w->n < QTFS_POLL_HEADS) {
		e = &w->e[w->n++];
		e->w = w;
		e->head = head;
		init_waitqueue_func_entry(&e->wait, qtfs_poll_wake);
		add_wait_queue(head, &e->wait);
	}
	spin_unlock(&w->lock);
}

struct qtfs_poll_watch *qtfs_shim_poll_watch_new(qtfs_shim_poll_fire_fn fire, void *ctx)
{
	struct qtfs_poll_watch *w = kzalloc(sizeof(*w), GFP_KERNEL);

	if (!w)
		return NULL;
	spin_lock_init(&w->lock);
	INIT_WORK(&w->work, qtfs_poll_work_fn);
	w->fire = fire;
	w->ctx = ctx;
	return w;
}

unsigned int qtfs_shim_poll_arm(struct qtfs_poll_watch *w, struct file *f, unsigned int events)
{
	init_poll_funcptr(&w->pt, qtfs_poll_queue);
	w->pt._key = (__force __poll_t)events | EPOLLERR | EPOLLHUP;
	return (__force unsigned int)vfs_poll(f, &w->pt);
}

unsigned int qtfs_shim_poll_now(struct file *f)
{
	return (__force unsigned int)vfs_poll(f, NULL);
}

void qtfs_shim_poll_disarm(struct qtfs_poll_watch *w)
{
	int i;

	spin_lock(&w->lock);
	for (i = 0; i < w->n; i++)
		remove_wait_queue(w->e[i].head, &w->e[i].wait);
	w->n = 0;
	spin_unlock(&w->lock);
}

void qtfs_shim_poll_watch_free(struct qtfs_poll_watch *w)
{
	/* No wake-up can queue the work once the entries are gone. */
	qtfs_shim_poll_disarm(w);
	cancel_work_sync(&w->work);
	kfree(w);
}
