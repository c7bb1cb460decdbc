// SPDX-License-Identifier: GPL-2.0
/*
 * The modifying VFS helpers of qtfs-kmod/kbase (kbase/vfs.rs), #included by
 * kbase_shim.c after vfs_shim.c. Each one does what the matching system
 * call does after its path walk (fs/namei.c do_mkdirat, do_mknodat,
 * do_symlinkat, do_linkat, do_unlinkat, do_rmdir, do_renameat2; fs/open.c,
 * fs/utimes.c, fs/xattr.c), on a parent directory the caller already holds
 * and one component name: mnt_want_write, the parent locked with
 * I_MUTEX_PARENT (lock_rename for renames), lookup_one under the lock, the
 * security_path_* hook, the vfs_* helper, and the undo in reverse order.
 * No delegation is broken (delegated_inode NULL: an NFS delegation on the
 * node makes the call fail with EWOULDBLOCK instead of waiting).
 *
 * The policy (which operations, flags and names are allowed, confinement,
 * read-only exports, squashing) is the Rust side's; the names handed here
 * are single components (no '/', not "." or "..", NUL-terminated).
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/fsnotify.h>
#include <linux/kdev_t.h>
#include <linux/mount.h>
#include <linux/namei.h>
#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>
#include <linux/sched.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/xattr.h>

#include "kbase_shim.h"

static struct path *qtfs_path_new(struct vfsmount *mnt, struct dentry *d, int *err)
{
	struct path *p = kmalloc(sizeof(*p), GFP_KERNEL);

	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	p->mnt = mntget(mnt);
	p->dentry = dget(d);
	*err = 0;
	return p;
}

/*
 * Starts a creation of @name in @dir: write access to the mount, the
 * parent locked, the (negative) dentry looked up under the lock; EEXIST if
 * the name exists. On success the caller ends with qtfs_end_create().
 */
static struct dentry *qtfs_start_create(const struct path *dir, const char *name)
{
	struct dentry *d;
	int err;

	if (!d_can_lookup(dir->dentry))
		return ERR_PTR(-ENOTDIR);
	err = mnt_want_write(dir->mnt);
	if (err)
		return ERR_PTR(err);
	inode_lock_nested(d_inode(dir->dentry), I_MUTEX_PARENT);
	d = lookup_one(mnt_idmap(dir->mnt), name, dir->dentry, strlen(name));
	if (!IS_ERR(d) && d_is_positive(d)) {
		dput(d);
		d = ERR_PTR(-EEXIST);
	}
	if (IS_ERR(d)) {
		inode_unlock(d_inode(dir->dentry));
		mnt_drop_write(dir->mnt);
	}
	return d;
}

/*
 * Ends a creation started by qtfs_start_create(): on success (@err 0) a
 * new referenced path to the created entry (looked up again if the file
 * system left the dentry negative or unhashed), else NULL with *@perr set.
 */
static struct path *qtfs_end_create(const struct path *dir, const char *name,
				    struct dentry *d, int err, int *perr)
{
	struct path *p = NULL;

	if (!err && (d_really_is_negative(d) || d_unhashed(d))) {
		struct dentry *again = lookup_one(mnt_idmap(dir->mnt), name,
						  dir->dentry, strlen(name));

		if (IS_ERR(again)) {
			err = PTR_ERR(again);
		} else if (d_is_negative(again)) {
			dput(again);
			err = -ENOENT;
		} else {
			dput(d);
			d = again;
		}
	}
	if (!err)
		p = qtfs_path_new(dir->mnt, d, &err);
	dput(d);
	inode_unlock(d_inode(dir->dentry));
	mnt_drop_write(dir->mnt);
	*perr = err;
	return p;
}

/* mkdir(2) of @name in @dir; the umask is current->fs's (see below). */
struct path *qtfs_shim_mkdir(const struct path *dir, const char *name, u32 mode, int *err)
{
	struct dentry *d = qtfs_start_create(dir, name);
	umode_t m;
	int e;

	if (IS_ERR(d)) {
		*err = PTR_ERR(d);
		return NULL;
	}
	m = mode_strip_umask(d_inode(dir->dentry), mode & (S_IRWXUGO | S_ISVTX));
	e = security_path_mkdir(dir, d, m);
	if (!e)
		e = vfs_mkdir(mnt_idmap(dir->mnt), d_inode(dir->dentry), d, m);
	return qtfs_end_create(dir, name, d, e, err);
}

/*
 * mknod(2) of @name in @dir: @mode carries the type (S_IFREG, S_IFCHR,
 * S_IFBLK, S_IFIFO or S_IFSOCK, checked by the caller) and the permissions;
 * @major/@minor the device of a device node.
 */
struct path *qtfs_shim_mknod(const struct path *dir, const char *name, u32 mode,
			     u32 major, u32 minor, int *err)
{
	struct mnt_idmap *idmap = mnt_idmap(dir->mnt);
	struct inode *dinode = d_inode(dir->dentry);
	struct dentry *d;
	umode_t m;
	dev_t dev = 0;
	int e;

	if (major > (1U << (32 - MINORBITS)) - 1 || minor > MINORMASK) {
		*err = -EINVAL;
		return NULL;
	}
	d = qtfs_start_create(dir, name);
	if (IS_ERR(d)) {
		*err = PTR_ERR(d);
		return NULL;
	}
	m = mode_strip_umask(dinode, mode);
	if (S_ISCHR(m) || S_ISBLK(m))
		dev = MKDEV(major, minor);
	e = security_path_mknod(dir, d, m, new_encode_dev(dev));
	if (!e) {
		switch (m & S_IFMT) {
		case S_IFREG:
			e = vfs_create(idmap, dinode, d, m, true);
			break;
		case S_IFCHR:
		case S_IFBLK:
		case S_IFIFO:
		case S_IFSOCK:
			e = vfs_mknod(idmap, dinode, d, m, dev);
			break;
		default:
			e = -EINVAL;
		}
	}
	return qtfs_end_create(dir, name, d, e, err);
}

/* symlink(2): @name in @dir pointing to @target (NUL-terminated). */
struct path *qtfs_shim_symlink(const struct path *dir, const char *name,
			       const char *target, int *err)
{
	struct dentry *d = qtfs_start_create(dir, name);
	int e;

	if (IS_ERR(d)) {
		*err = PTR_ERR(d);
		return NULL;
	}
	e = security_path_symlink(dir, d, target);
	if (!e)
		e = vfs_symlink(mnt_idmap(dir->mnt), d_inode(dir->dentry), d, target);
	return qtfs_end_create(dir, name, d, e, err);
}

/*
 * The hard-link check of may_linkat() (fs/namei.c) as with
 * fs.protected_hardlinks=1, whatever the sysctl says (it is not exported):
 * only the owner (or CAP_FOWNER) may link a file that is special, setuid,
 * executable setgid, or not both readable and writable by the caller.
 */
static int qtfs_may_link(struct mnt_idmap *idmap, struct inode *inode)
{
	umode_t mode = inode->i_mode;

	if (!vfsuid_valid(i_uid_into_vfsuid(idmap, inode)) ||
	    !vfsgid_valid(i_gid_into_vfsgid(idmap, inode)))
		return -EOVERFLOW;
	if (inode_owner_or_capable(idmap, inode))
		return 0;
	if (S_ISREG(mode) && !(mode & S_ISUID) &&
	    (mode & (S_ISGID | S_IXGRP)) != (S_ISGID | S_IXGRP) &&
	    !inode_permission(idmap, inode, MAY_READ | MAY_WRITE))
		return 0;
	return -EPERM;
}

/* link(2): a new name @name in @dir for @old (same mount, else EXDEV). */
struct path *qtfs_shim_link(const struct path *old, const struct path *dir,
			    const char *name, int *err)
{
	struct mnt_idmap *idmap = mnt_idmap(dir->mnt);
	struct dentry *d;
	int e;

	if (old->mnt != dir->mnt) {
		*err = -EXDEV;
		return NULL;
	}
	if (d_is_dir(old->dentry)) {
		*err = -EPERM;
		return NULL;
	}
	e = qtfs_may_link(idmap, d_inode(old->dentry));
	if (e) {
		*err = e;
		return NULL;
	}
	d = qtfs_start_create(dir, name);
	if (IS_ERR(d)) {
		*err = PTR_ERR(d);
		return NULL;
	}
	e = security_path_link(old->dentry, dir, d);
	if (!e)
		e = vfs_link(old->dentry, idmap, d_inode(dir->dentry), d, NULL);
	return qtfs_end_create(dir, name, d, e, err);
}

/*
 * unlink(2) (@is_dir 0) or rmdir(2) (@is_dir 1) of @name in @dir. The
 * inode's last reference is dropped after the parent is unlocked, as
 * do_unlinkat() does.
 */
int qtfs_shim_remove(const struct path *dir, const char *name, int is_dir)
{
	struct mnt_idmap *idmap = mnt_idmap(dir->mnt);
	struct inode *dinode = d_inode(dir->dentry);
	struct inode *inode = NULL;
	struct dentry *d;
	int err;

	if (!d_can_lookup(dir->dentry))
		return -ENOTDIR;
	err = mnt_want_write(dir->mnt);
	if (err)
		return err;
	inode_lock_nested(dinode, I_MUTEX_PARENT);
	d = lookup_one(idmap, name, dir->dentry, strlen(name));
	if (IS_ERR(d)) {
		err = PTR_ERR(d);
		goto unlock;
	}
	if (d_is_negative(d)) {
		err = -ENOENT;
		goto put;
	}
	if (is_dir) {
		err = security_path_rmdir(dir, d);
		if (!err)
			err = vfs_rmdir(idmap, dinode, d);
	} else {
		inode = d_inode(d);
		ihold(inode);
		err = security_path_unlink(dir, d);
		if (!err)
			err = vfs_unlink(idmap, dinode, d, NULL);
	}
put:
	dput(d);
unlock:
	inode_unlock(dinode);
	if (inode)
		iput(inode);
	mnt_drop_write(dir->mnt);
	return err;
}

/*
 * renameat2(2) of @oname in @odir to @nname in @ndir with @flags
 * (RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT; the caller checked
 * the combination). Both directories on one mount, else EXDEV.
 */
int qtfs_shim_rename(const struct path *odir, const char *oname,
		     const struct path *ndir, const char *nname, unsigned int flags)
{
	struct mnt_idmap *idmap = mnt_idmap(odir->mnt);
	struct renamedata rd = {};
	struct dentry *trap, *old, *new;
	int err;

	if (odir->mnt != ndir->mnt)
		return -EXDEV;
	if (!d_can_lookup(odir->dentry) || !d_can_lookup(ndir->dentry))
		return -ENOTDIR;
	if ((flags & RENAME_WHITEOUT) && !capable(CAP_MKNOD))
		return -EPERM;
	err = mnt_want_write(odir->mnt);
	if (err)
		return err;
	trap = lock_rename(ndir->dentry, odir->dentry);
	if (IS_ERR(trap)) {
		err = PTR_ERR(trap);
		goto drop;
	}
	old = lookup_one(idmap, oname, odir->dentry, strlen(oname));
	if (IS_ERR(old)) {
		err = PTR_ERR(old);
		goto unlock;
	}
	err = -ENOENT;
	if (d_is_negative(old))
		goto put_old;
	new = lookup_one(idmap, nname, ndir->dentry, strlen(nname));
	if (IS_ERR(new)) {
		err = PTR_ERR(new);
		goto put_old;
	}
	err = -EEXIST;
	if ((flags & RENAME_NOREPLACE) && d_is_positive(new))
		goto put_new;
	err = -ENOENT;
	if ((flags & RENAME_EXCHANGE) && d_is_negative(new))
		goto put_new;
	err = -EINVAL;
	if (old == trap)
		goto put_new;
	err = (flags & RENAME_EXCHANGE) ? -EINVAL : -ENOTEMPTY;
	if (new == trap)
		goto put_new;
	err = security_path_rename(odir, old, ndir, new, flags);
	if (err)
		goto put_new;
	rd.old_mnt_idmap = idmap;
	rd.old_dir = d_inode(odir->dentry);
	rd.old_dentry = old;
	rd.new_mnt_idmap = idmap;
	rd.new_dir = d_inode(ndir->dentry);
	rd.new_dentry = new;
	rd.delegated_inode = NULL;
	rd.flags = flags;
	err = vfs_rename(&rd);
put_new:
	dput(new);
put_old:
	dput(old);
unlock:
	unlock_rename(ndir->dentry, odir->dentry);
drop:
	mnt_drop_write(odir->mnt);
	return err;
}

/*
 * open(2) of an existing node @p with @flags (the caller dropped O_CREAT,
 * O_EXCL and the flags it does not support), as may_open() and do_open()
 * check it: a symlink is ELOOP, a directory cannot be opened for writing,
 * devices not on a nodev mount, append-only inodes only for appending, the
 * permission for the access mode (and MAY_WRITE for O_TRUNC), O_NOATIME
 * for the owner only; O_TRUNC truncates a regular file after the open. A
 * FIFO open may block until a peer opens the other end (interruptible).
 */
int qtfs_shim_path_stale(const struct path *p)
{
	struct dentry *d = p->dentry, *parent, *again;
	struct name_snapshot name;
	int stale;

	/* Only file systems that revalidate (procfs, kernfs) have names that
	 * die under an open: an unlinked tmpfs file is still openable through
	 * /proc/<pid>/fd, so unhashed alone is not stale. */
	if (!(d->d_flags & DCACHE_OP_REVALIDATE) || IS_ROOT(d))
		return 0;
	if (d->d_op->d_revalidate(d, 0) > 0)
		return 0;
	/*
	 * Some say "look me up again" every time (/proc/<pid>/net, whose
	 * entries follow the task's network namespace): the name is stale only
	 * if it now stands for another file, or for none.
	 */
	parent = dget_parent(d);
	take_dentry_name_snapshot(&name, d);
	again = lookup_one_unlocked(mnt_idmap(p->mnt), name.name.name, parent, name.name.len);
	release_dentry_name_snapshot(&name);
	dput(parent);
	if (IS_ERR(again))
		return 1;
	stale = d_really_is_negative(again) || d_inode(again)->i_ino != d_inode(d)->i_ino ||
		d_inode(again)->i_sb != d_inode(d)->i_sb;
	dput(again);
	return stale;
}

struct file *qtfs_shim_open(const struct path *p, int flags, int *err)
{
	struct mnt_idmap *idmap = mnt_idmap(p->mnt);
	struct inode *inode = d_inode(p->dentry);
	int acc = MAY_OPEN | ACC_MODE(flags);
	struct file *f;
	int e;

	if (d_is_symlink(p->dentry)) {
		*err = -ELOOP;
		return NULL;
	}
	switch (inode->i_mode & S_IFMT) {
	case S_IFDIR:
		if (acc & MAY_WRITE || flags & O_TRUNC) {
			*err = -EISDIR;
			return NULL;
		}
		break;
	case S_IFBLK:
	case S_IFCHR:
		if ((p->mnt->mnt_flags & MNT_NODEV) ||
		    (p->mnt->mnt_sb->s_iflags & SB_I_NODEV)) {
			*err = -EACCES;
			return NULL;
		}
		fallthrough;
	case S_IFIFO:
	case S_IFSOCK:
		flags &= ~O_TRUNC;
		break;
	default:
		if (flags & O_TRUNC)
			acc |= MAY_WRITE;
	}
	if ((flags & O_DIRECTORY) && !S_ISDIR(inode->i_mode)) {
		*err = -ENOTDIR;
		return NULL;
	}
	if (flags & O_APPEND)
		acc |= MAY_APPEND;
	e = inode_permission(idmap, inode, acc);
	if (!e && IS_APPEND(inode)) {
		if ((flags & O_ACCMODE) != O_RDONLY && !(flags & O_APPEND))
			e = -EPERM;
		if (flags & O_TRUNC)
			e = -EPERM;
	}
	if (!e && (flags & O_NOATIME) && !inode_owner_or_capable(idmap, inode))
		e = -EPERM;
	if (e) {
		*err = e;
		return NULL;
	}
	f = dentry_open(p, (flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY)) | O_LARGEFILE,
			current_cred());
	if (IS_ERR(f)) {
		*err = PTR_ERR(f);
		return NULL;
	}
	if (flags & O_TRUNC) {
		e = qtfs_shim_file_truncate(f, 0, 1);
		if (e) {
			fput(f);
			*err = e;
			return NULL;
		}
	}
	*err = 0;
	return f;
}

/*
 * open(2) with O_CREAT of @name in @dir (file_open_root: the whole open
 * path, so O_EXCL, O_TRUNC, the umask and default ACLs, permissions and
 * O_NOFOLLOW behave exactly as a local open). @flags are the caller's,
 * O_CREAT and O_NOFOLLOW added here.
 */
struct file *qtfs_shim_create(const struct path *dir, const char *name, int flags,
			      u32 mode, int *err)
{
	struct file *f;

	if (!d_can_lookup(dir->dentry)) {
		*err = -ENOTDIR;
		return NULL;
	}
	f = file_open_root(dir, name, flags | O_CREAT | O_NOFOLLOW | O_LARGEFILE,
			   mode & S_IALLUGO);
	if (IS_ERR(f)) {
		*err = PTR_ERR(f);
		return NULL;
	}
	*err = 0;
	return f;
}

/*
 * ftruncate(2) of the open file @f to @size (what do_ftruncate() and
 * do_truncate() do; @open: the truncation of an O_TRUNC open, which
 * updates the times even if the size does not change). The set-id bits
 * are dropped as a local truncate drops them.
 */
int qtfs_shim_file_truncate(struct file *f, u64 size, int open)
{
	struct inode *inode = file_inode(f);
	struct mnt_idmap *idmap = file_mnt_idmap(f);
	struct iattr ia = {};
	int err, kill;

	if (size > (u64)LLONG_MAX)
		return -EINVAL;
	if (S_ISDIR(inode->i_mode))
		return -EISDIR;
	if (!S_ISREG(inode->i_mode) || !(f->f_mode & FMODE_WRITE))
		return -EINVAL;
	if (IS_APPEND(inode))
		return -EPERM;
	sb_start_write(inode->i_sb);
	ia.ia_size = size;
	ia.ia_valid = ATTR_SIZE | ATTR_MTIME | ATTR_CTIME | ATTR_FILE | (open ? ATTR_OPEN : 0);
	ia.ia_file = f;
	inode_lock(inode);
	kill = setattr_should_drop_suidgid(idmap, inode);
	if (kill)
		ia.ia_valid |= kill | ATTR_FORCE;
	err = notify_change(idmap, f->f_path.dentry, &ia, NULL);
	inode_unlock(inode);
	sb_end_write(inode->i_sb);
	return err;
}

/* truncate(2) of @p (write permission checked). */
int qtfs_shim_truncate(const struct path *p, u64 size)
{
	if (size > (u64)LLONG_MAX)
		return -EINVAL;
	return vfs_truncate(p, size);
}

/*
 * chmod/chown/utimensat of @p in one notify_change(): @valid holds
 * QTFS_SA_* bits; the times as utimensat() takes them (nsec UTIME_NOW or
 * UTIME_OMIT allowed; both NOW is a "touch", which write permission
 * allows). A chown of a non-directory drops set-id bits and file
 * capabilities, as chown_common() does.
 */
int qtfs_shim_setattr(const struct path *p, u32 valid, u32 mode, u32 uid, u32 gid,
		      s64 atime_sec, u32 atime_nsec, s64 mtime_sec, u32 mtime_nsec)
{
	struct mnt_idmap *idmap = mnt_idmap(p->mnt);
	struct inode *inode = d_inode(p->dentry);
	struct iattr ia = {};
	int err;

	if (valid & QTFS_SA_UID) {
		kuid_t k = make_kuid(&init_user_ns, uid);

		if (!uid_valid(k))
			return -EINVAL;
		ia.ia_vfsuid = VFSUIDT_INIT(k);
		ia.ia_valid |= ATTR_UID;
	}
	if (valid & QTFS_SA_GID) {
		kgid_t k = make_kgid(&init_user_ns, gid);

		if (!gid_valid(k))
			return -EINVAL;
		ia.ia_vfsgid = VFSGIDT_INIT(k);
		ia.ia_valid |= ATTR_GID;
	}
	if (valid & QTFS_SA_TIMES) {
		bool a_now = atime_nsec == UTIME_NOW, m_now = mtime_nsec == UTIME_NOW;

		ia.ia_valid |= ATTR_CTIME | ATTR_MTIME | ATTR_ATIME;
		if (a_now && m_now) {
			ia.ia_valid |= ATTR_TOUCH;
		} else {
			if (atime_nsec == UTIME_OMIT) {
				ia.ia_valid &= ~ATTR_ATIME;
			} else if (!a_now) {
				ia.ia_atime.tv_sec = atime_sec;
				ia.ia_atime.tv_nsec = atime_nsec;
				ia.ia_valid |= ATTR_ATIME_SET;
			}
			if (mtime_nsec == UTIME_OMIT) {
				ia.ia_valid &= ~ATTR_MTIME;
			} else if (!m_now) {
				ia.ia_mtime.tv_sec = mtime_sec;
				ia.ia_mtime.tv_nsec = mtime_nsec;
				ia.ia_valid |= ATTR_MTIME_SET;
			}
			ia.ia_valid |= ATTR_TIMES_SET;
		}
	}
	err = mnt_want_write(p->mnt);
	if (err)
		return err;
	inode_lock(inode);
	if (valid & QTFS_SA_MODE) {
		ia.ia_mode = (mode & S_IALLUGO) | (inode->i_mode & ~S_IALLUGO);
		ia.ia_valid |= ATTR_MODE | ATTR_CTIME;
	}
	/*
	 * A chown of a non-directory drops the set-id bits, as nfsd_setattr()
	 * does it: with a new mode in the same call by clearing them in that
	 * mode (notify_change() BUG()s on ATTR_MODE with ATTR_KILL_S*ID),
	 * else with ATTR_KILL_SUID/SGID.
	 */
	if ((ia.ia_valid & (ATTR_UID | ATTR_GID)) && !S_ISDIR(inode->i_mode)) {
		ia.ia_valid |= ATTR_KILL_PRIV;
		if (ia.ia_valid & ATTR_MODE) {
			ia.ia_mode &= ~S_ISGID;
			if (ia.ia_mode & S_IXUGO)
				ia.ia_mode &= ~S_ISUID;
		} else {
			ia.ia_valid |= ATTR_KILL_SUID | ATTR_KILL_SGID;
		}
	}
	if (ia.ia_valid)
		err = notify_change(idmap, p->dentry, &ia, NULL);
	inode_unlock(inode);
	mnt_drop_write(p->mnt);
	return err;
}

/*
 * Bytes written (kernel_write: set-id bits dropped, O_APPEND honoured).
 * A file not open for writing is EBADF, as write(2) (kernel_write WARNs).
 */
long qtfs_shim_write(struct file *f, const void *buf, size_t len, u64 off)
{
	loff_t pos = off;

	if (!(f->f_mode & FMODE_WRITE))
		return -EBADF;
	if (off > (u64)LLONG_MAX)
		return -EINVAL;
	if (qtfs_shim_needs_bounce(f, true)) {
		ssize_t ret;

		if (!(f->f_mode & FMODE_CAN_WRITE))
			return -EINVAL;
		/* As vfs_write(): the checks kernel_write() would make. */
		ret = rw_verify_area(WRITE, f, &pos, len);
		if (ret)
			return ret;
		file_start_write(f);
		ret = qtfs_shim_bounce(f, (void *)buf, len, &pos, true);
		if (ret > 0)
			fsnotify_modify(f);
		file_end_write(f);
		return ret;
	}
	return kernel_write(f, buf, len, &pos);
}

/* fallocate(2) on an open file; vfs_fallocate checks the mode and access. */
int qtfs_shim_fallocate(struct file *f, int mode, u64 off, u64 len)
{
	if (off > (u64)LLONG_MAX || len > (u64)LLONG_MAX)
		return -EINVAL;
	return vfs_fallocate(f, mode, off, len);
}

int qtfs_shim_fsync(struct file *f, int datasync)
{
	return vfs_fsync_range(f, 0, LLONG_MAX, datasync);
}

s64 qtfs_shim_llseek(struct file *f, s64 offset, int whence)
{
	return vfs_llseek(f, offset, whence);
}

/* Another reference to @p, as a new path. */
struct path *qtfs_shim_path_clone(const struct path *p, int *err)
{
	return qtfs_path_new(p->mnt, p->dentry, err);
}

/* The path of an open file, referenced like qtfs_shim_path_dir's. */
struct path *qtfs_shim_file_path(struct file *f, int *err)
{
	return qtfs_path_new(f->f_path.mnt, f->f_path.dentry, err);
}

/*
 * getxattr(2): the value of @name into @buf (@size 0: only its size).
 * POSIX ACLs through vfs_get_acl() as do_get_acl() does (ids in the
 * initial namespace; the server's mounts are not idmapped).
 */
long qtfs_shim_getxattr(const struct path *p, const char *name, void *buf, size_t size)
{
	struct mnt_idmap *idmap = mnt_idmap(p->mnt);

	if (is_posix_acl_xattr(name)) {
		struct posix_acl *acl = vfs_get_acl(idmap, p->dentry, name);
		long n;

		if (IS_ERR(acl))
			return PTR_ERR(acl);
		n = posix_acl_to_xattr(&init_user_ns, acl, size ? buf : NULL, size);
		posix_acl_release(acl);
		return n;
	}
	return vfs_getxattr(idmap, p->dentry, name, size ? buf : NULL, size);
}

/* listxattr(2) into @buf (@size 0: only the size). */
long qtfs_shim_listxattr(const struct path *p, char *buf, size_t size)
{
	return vfs_listxattr(p->dentry, size ? buf : NULL, size);
}

/* setxattr(2); POSIX ACLs through vfs_set_acl() as do_set_acl() does. */
int qtfs_shim_setxattr(const struct path *p, const char *name, const void *val,
		       size_t size, int flags)
{
	struct mnt_idmap *idmap = mnt_idmap(p->mnt);
	int err = mnt_want_write(p->mnt);

	if (err)
		return err;
	if (is_posix_acl_xattr(name)) {
		struct posix_acl *acl = NULL;

		if (size)
			acl = posix_acl_from_xattr(&init_user_ns, val, size);
		if (IS_ERR(acl)) {
			err = PTR_ERR(acl);
		} else {
			err = vfs_set_acl(idmap, p->dentry, name, acl);
			posix_acl_release(acl);
		}
	} else {
		err = vfs_setxattr(idmap, p->dentry, name, val, size, flags);
	}
	mnt_drop_write(p->mnt);
	return err;
}

/* removexattr(2); POSIX ACLs through vfs_remove_acl(). */
int qtfs_shim_removexattr(const struct path *p, const char *name)
{
	struct mnt_idmap *idmap = mnt_idmap(p->mnt);
	int err = mnt_want_write(p->mnt);

	if (err)
		return err;
	if (is_posix_acl_xattr(name))
		err = vfs_remove_acl(idmap, p->dentry, name);
	else
		err = vfs_removexattr(idmap, p->dentry, name);
	mnt_drop_write(p->mnt);
	return err;
}

/*
 * Gives the calling kernel thread a struct fs_struct of its own (kernel
 * threads share init's), so that qtfs_shim_set_umask() changes only it.
 */
int qtfs_shim_unshare_fs(void)
{
	return unshare_fs_struct();
}

/*
 * Sets the calling thread's umask (what posix_acl_create() and
 * mode_strip_umask() read); returns the previous one. Only after
 * qtfs_shim_unshare_fs() on this thread.
 */
u32 qtfs_shim_set_umask(u32 umask)
{
	u32 old = current->fs->umask;

	current->fs->umask = umask & S_IRWXUGO;
	return old;
}
