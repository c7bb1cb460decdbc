// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of the client's VFS layer (kbase/vfsc/), #included by
 * client_shim.c.
 *
 * What is here is what Rust cannot reach: the fs_context operation table
 * (struct fs_context_operations and the fs_parameter machinery are not in
 * the 6.12 bindings), static inline helpers (i_size_write, dir_emit,
 * copy_to_iter, kmap_local_folio, readahead_folio, memalloc_nofs_save,
 * init_completion, ...) and field accessors of structures whose layout
 * Rust should not hard-code. Every function is mechanism only: which
 * option means what, what to send to the server and what to cache is
 * decided in Rust (client/).
 */
#include <linux/backing-dev.h>
#include <linux/completion.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/fs_context.h>
#include <linux/fs_struct.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/namei.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/uio.h>
#include <linux/writeback.h>
#include <linux/xattr.h>
#include <net/sock.h>

#include "kbase_shim.h"
#include "client_vfs_shim.h"

/* ---- fs_context: the mount's parameters go to Rust one by one ---- */

/* Implemented in Rust (kbase/vfs_client/mount.rs). */
int qtfs_rs_fc_init(struct fs_context *fc);
void qtfs_rs_fc_free(void *fs_private);
int qtfs_rs_fc_param(void *fs_private, const char *key, size_t key_len,
		     const char *value, size_t value_len, int has_value);
int qtfs_rs_fill_super(struct super_block *sb, void *fs_private,
		       const char *source, int silent);
int qtfs_rs_reconfigure(struct super_block *sb, void *fs_private);
void qtfs_rs_kill_sb_done(void *fs_info);

static void qtfs_shim_fc_free(struct fs_context *fc)
{
	if (fc->fs_private)
		qtfs_rs_fc_free(fc->fs_private);
	fc->fs_private = NULL;
}

static int qtfs_shim_fc_parse_param(struct fs_context *fc, struct fs_parameter *param)
{
	const char *value = NULL;
	size_t value_len = 0;
	int has_value = 0;

	if (strcmp(param->key, "source") == 0)
		return vfs_parse_fs_param_source(fc, param);
	if (param->type == fs_value_is_string) {
		value = param->string;
		value_len = param->size;
		has_value = 1;
	} else if (param->type != fs_value_is_flag) {
		return invalfc(fc, "%s: unsupported value type", param->key);
	}
	return qtfs_rs_fc_param(fc->fs_private, param->key, strlen(param->key),
				value, value_len, has_value);
}

static int qtfs_shim_fill_super_cb(struct super_block *sb, struct fs_context *fc)
{
	if (!fc->source)
		return invalfc(fc, "no source: mount -t qtfs <HOST path> <dir>");
	return qtfs_rs_fill_super(sb, fc->fs_private, fc->source,
				  fc->sb_flags & SB_SILENT);
}

static int qtfs_shim_fc_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, qtfs_shim_fill_super_cb);
}

static int qtfs_shim_fc_reconfigure(struct fs_context *fc)
{
	return qtfs_rs_reconfigure(fc->root->d_sb, fc->fs_private);
}

static const struct fs_context_operations qtfs_shim_fc_ops = {
	.free = qtfs_shim_fc_free,
	.parse_param = qtfs_shim_fc_parse_param,
	.get_tree = qtfs_shim_fc_get_tree,
	.reconfigure = qtfs_shim_fc_reconfigure,
};

int qtfs_shim_init_fs_context(struct fs_context *fc)
{
	fc->ops = &qtfs_shim_fc_ops;
	return qtfs_rs_fc_init(fc);
}

void qtfs_shim_fc_set_private(struct fs_context *fc, void *p)
{
	fc->fs_private = p;
}

void qtfs_shim_kill_sb(struct super_block *sb)
{
	void *info = sb->s_fs_info;

	kill_anon_super(sb);
	if (info)
		qtfs_rs_kill_sb_done(info);
}

/* ---- super block ---- */

int qtfs_shim_sb_setup(struct super_block *sb, unsigned long magic,
		       const struct super_operations *sops,
		       const struct dentry_operations *dops,
		       const struct xattr_handler * const *xattr,
		       void *fs_info, int read_only)
{
	int err;

	sb->s_magic = magic;
	sb->s_op = sops;
	sb->s_d_op = dops;
	sb->s_xattr = xattr;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_time_gran = 1;
	sb->s_fs_info = fs_info;
	if (read_only)
		sb->s_flags |= SB_RDONLY;
	/*
	 * The VFS then leaves the umask to the file system: the client sends
	 * it with each create and the HOST applies it, unless a default ACL of
	 * the directory replaces it. No ACL is cached here (no get_acl), so
	 * local permission checks use the mode bits; the HOST checks ACLs.
	 */
	sb->s_flags |= SB_POSIXACL;
	/* A backing device of our own, so the flusher writes dirty pages. */
	err = super_setup_bdi(sb);
	if (err)
		return err;
	sb->s_bdi->ra_pages = (1024 * 1024) / PAGE_SIZE;
	sb->s_bdi->io_pages = sb->s_bdi->ra_pages;
	return 0;
}

void *qtfs_shim_sb_info(struct super_block *sb)
{
	return sb->s_fs_info;
}

void qtfs_shim_sb_set_root(struct super_block *sb, struct dentry *root)
{
	sb->s_root = root;
}

int qtfs_shim_sb_rdonly(struct super_block *sb)
{
	return sb_rdonly(sb);
}

void qtfs_shim_statfs_fill(struct kstatfs *buf, const struct qtfs_shim_statfs *s,
			   unsigned long magic)
{
	buf->f_type = magic;
	buf->f_bsize = s->bsize;
	buf->f_frsize = s->frsize;
	buf->f_blocks = s->blocks;
	buf->f_bfree = s->bfree;
	buf->f_bavail = s->bavail;
	buf->f_files = s->files;
	buf->f_ffree = s->ffree;
	buf->f_namelen = s->namelen;
	buf->f_fsid.val[0] = (u32)s->fsid;
	buf->f_fsid.val[1] = (u32)(s->fsid >> 32);
}

/* ---- inodes ---- */

void *qtfs_shim_inode_private(const struct inode *inode)
{
	return inode->i_private;
}

void qtfs_shim_inode_set_private(struct inode *inode, void *p)
{
	inode->i_private = p;
}

struct super_block *qtfs_shim_inode_sb(const struct inode *inode)
{
	return inode->i_sb;
}

unsigned int qtfs_shim_inode_mode(const struct inode *inode)
{
	return inode->i_mode;
}

u64 qtfs_shim_inode_ino(const struct inode *inode)
{
	return inode->i_ino;
}

loff_t qtfs_shim_inode_size(const struct inode *inode)
{
	return i_size_read(inode);
}



/*
 * First set-up of a new inode (I_NEW): type, operations and, for device
 * nodes and sockets (and FIFOs without @fops), the kernel's own
 * special-file operations.
 */
void qtfs_shim_inode_init(struct inode *inode, u64 ino, unsigned int mode,
			  u32 rdev_major, u32 rdev_minor,
			  const struct inode_operations *iops,
			  const struct file_operations *fops,
			  const struct address_space_operations *aops)
{
	inode->i_ino = ino;
	inode->i_mode = mode;
	inode->i_op = iops;
	if (S_ISCHR(mode) || S_ISBLK(mode) || (S_ISFIFO(mode) && !fops) || S_ISSOCK(mode)) {
		init_special_inode(inode, mode, MKDEV(rdev_major, rdev_minor));
		return;
	}
	inode->i_fop = fops;
	if (aops)
		inode->i_mapping->a_ops = aops;
	if (S_ISLNK(mode))
		inode_nohighmem(inode);
}

/*
 * Copies the server's attributes into the inode (the type never changes:
 * the caller checked it). @set_size: also i_size (not while local writes
 * are in flight, and never for pseudo files).
 */
void qtfs_shim_inode_set_attr(struct inode *inode, const struct qtfs_shim_attr *a,
			      u32 generation, int set_size)
{
	struct timespec64 ts;

	inode->i_mode = (inode->i_mode & S_IFMT) | (a->mode & ~S_IFMT);
	i_uid_write(inode, a->uid);
	i_gid_write(inode, a->gid);
	set_nlink(inode, a->nlink);
	inode->i_generation = generation;
	inode->i_blocks = a->blocks;
	ts.tv_sec = a->atime_sec;
	ts.tv_nsec = a->atime_nsec;
	inode_set_atime_to_ts(inode, ts);
	ts.tv_sec = a->mtime_sec;
	ts.tv_nsec = a->mtime_nsec;
	inode_set_mtime_to_ts(inode, ts);
	ts.tv_sec = a->ctime_sec;
	ts.tv_nsec = a->ctime_nsec;
	inode_set_ctime_to_ts(inode, ts);
	if (set_size)
		i_size_write(inode, a->size);
}

void qtfs_shim_inode_lock(struct inode *inode)
{
	inode_lock(inode);
}

void qtfs_shim_inode_lock_shared(struct inode *inode)
{
	inode_lock_shared(inode);
}

void qtfs_shim_inode_unlock_shared(struct inode *inode)
{
	inode_unlock_shared(inode);
}

void qtfs_shim_inode_unlock(struct inode *inode)
{
	inode_unlock(inode);
}

void qtfs_shim_inode_set_size(struct inode *inode, loff_t size)
{
	i_size_write(inode, size);
}

void qtfs_shim_inode_drop_nlink(struct inode *inode)
{
	if (inode->i_nlink)
		drop_nlink(inode);
}


/* stat(2) from the cached attributes. */
void qtfs_shim_fillattr(struct mnt_idmap *idmap, u32 request_mask,
			struct inode *inode, struct kstat *stat, u32 blksize)
{
	generic_fillattr(idmap, request_mask, inode, stat);
	if (blksize)
		stat->blksize = blksize;
}

/* What a setattr request asks for, in plain fields. */
struct qtfs_shim_iattr {
	unsigned int valid;
	unsigned int mode;
	u32 uid;
	u32 gid;
	s64 size;
	s64 atime_sec;
	u32 atime_nsec;
	s64 mtime_sec;
	u32 mtime_nsec;
	struct file *file;
};

void qtfs_shim_iattr_read(const struct iattr *ia, struct qtfs_shim_iattr *out)
{
	out->valid = ia->ia_valid;
	out->mode = ia->ia_mode;
	out->uid = from_kuid_munged(&init_user_ns, vfsuid_into_kuid(ia->ia_vfsuid));
	out->gid = from_kgid_munged(&init_user_ns, vfsgid_into_kgid(ia->ia_vfsgid));
	out->size = ia->ia_size;
	out->atime_sec = ia->ia_atime.tv_sec;
	out->atime_nsec = ia->ia_atime.tv_nsec;
	out->mtime_sec = ia->ia_mtime.tv_sec;
	out->mtime_nsec = ia->ia_mtime.tv_nsec;
	out->file = (ia->ia_valid & ATTR_FILE) ? ia->ia_file : NULL;
}

void qtfs_shim_truncate_final(struct inode *inode)
{
	truncate_inode_pages_final(&inode->i_data);
}

/* A symlink target kmalloc'ed by Rust, freed when the walk is done. */
void qtfs_shim_set_link(struct delayed_call *done, char *buf)
{
	set_delayed_call(done, kfree_link, buf);
}

/* ---- dentries ---- */

struct inode *qtfs_shim_dentry_inode(const struct dentry *d)
{
	return d_inode(d);
}

const unsigned char *qtfs_shim_dentry_name(const struct dentry *d, u32 *len)
{
	*len = d->d_name.len;
	return d->d_name.name;
}

unsigned long qtfs_shim_dentry_time(const struct dentry *d)
{
	return READ_ONCE(d->d_time);
}

void qtfs_shim_dentry_set_time(struct dentry *d, unsigned long t)
{
	WRITE_ONCE(d->d_time, t);
}

unsigned long qtfs_shim_jiffies(void)
{
	return jiffies;
}

unsigned long qtfs_shim_ms_to_jiffies(unsigned int ms)
{
	return msecs_to_jiffies(ms);
}

int qtfs_shim_time_before(unsigned long a, unsigned long b)
{
	return time_before(a, b);
}

int qtfs_shim_d_in_lookup(const struct dentry *d)
{
	return d_in_lookup(d);
}

/* ---- files ---- */

void qtfs_shim_file_set_created(struct file *f)
{
	f->f_mode |= FMODE_CREATED;
}


void *qtfs_shim_file_private(const struct file *f)
{
	return f->private_data;
}

void qtfs_shim_file_set_private(struct file *f, void *p)
{
	f->private_data = p;
}

unsigned int qtfs_shim_file_flags(const struct file *f)
{
	return f->f_flags;
}

u64 qtfs_shim_file_parent_ino(const struct file *f)
{
	return d_parent_ino(f->f_path.dentry);
}

struct inode *qtfs_shim_file_inode(const struct file *f)
{
	return file_inode(f);
}

void qtfs_shim_inode_set_wb_err(struct inode *inode, int err)
{
	mapping_set_error(inode->i_mapping, err);
}

int qtfs_shim_file_check_wb_err(struct file *f)
{
	return file_check_and_advance_wb_err(f);
}

struct file *qtfs_shim_kiocb_file(const struct kiocb *k)
{
	return k->ki_filp;
}

loff_t qtfs_shim_kiocb_pos(const struct kiocb *k)
{
	return k->ki_pos;
}

void qtfs_shim_kiocb_set_pos(struct kiocb *k, loff_t pos)
{
	k->ki_pos = pos;
}

/* 1: O_DIRECT, 2: O_APPEND (IOCB_APPEND), 4: O_DSYNC/O_SYNC semantics. */
unsigned int qtfs_shim_kiocb_flags(const struct kiocb *k)
{
	unsigned int r = 0;

	if (k->ki_flags & IOCB_DIRECT)
		r |= 1;
	if (k->ki_flags & IOCB_APPEND)
		r |= 2;
	if (k->ki_flags & IOCB_DSYNC)
		r |= 4;
	if ((k->ki_flags & IOCB_NOWAIT) || (k->ki_filp->f_flags & O_NONBLOCK))
		r |= 8;
	return r;
}

size_t qtfs_shim_iter_count(const struct iov_iter *i)
{
	return iov_iter_count(i);
}

size_t qtfs_shim_copy_to_iter(const void *buf, size_t len, struct iov_iter *i)
{
	return copy_to_iter(buf, len, i);
}

size_t qtfs_shim_copy_from_iter(void *buf, size_t len, struct iov_iter *i)
{
	return copy_from_iter(buf, len, i);
}


/* Cached pages of [start, end] written back and waited for. */
int qtfs_shim_write_and_wait(struct inode *inode, loff_t start, loff_t end)
{
	return filemap_write_and_wait_range(inode->i_mapping, start, end);
}

/* Cached pages of [start, end] dropped (after they were written back). */
int qtfs_shim_invalidate_range(struct inode *inode, loff_t start, loff_t end)
{
	if (!inode->i_mapping->nrpages)
		return 0;
	return invalidate_inode_pages2_range(inode->i_mapping, start >> PAGE_SHIFT,
					     end >> PAGE_SHIFT);
}

void qtfs_shim_truncate_pagecache(struct inode *inode, loff_t size)
{
	truncate_setsize(inode, size);
}


/* ---- directories ---- */

loff_t qtfs_shim_dir_pos(const struct dir_context *ctx)
{
	return ctx->pos;
}

void qtfs_shim_dir_set_pos(struct dir_context *ctx, loff_t pos)
{
	ctx->pos = pos;
}

int qtfs_shim_dir_emit(struct dir_context *ctx, const char *name, int len,
		       u64 ino, unsigned int type)
{
	return dir_emit(ctx, name, len, ino, type);
}

/* ---- folios ---- */

loff_t qtfs_shim_folio_pos(struct folio *folio)
{
	return folio_pos(folio);
}

size_t qtfs_shim_folio_size(struct folio *folio)
{
	return folio_size(folio);
}

struct inode *qtfs_shim_folio_inode(struct folio *folio)
{
	return folio->mapping->host;
}

/*
 * Fills the locked folio with @len bytes of @data and zeroes the rest;
 * marks it up to date unless @err, then unlocks it.
 */
void qtfs_shim_folio_fill_done(struct folio *folio, const void *data, size_t len, int err)
{
	size_t size = folio_size(folio);

	if (!err) {
		if (len > size)
			len = size;
		if (len)
			memcpy_to_folio(folio, 0, data, len);
		if (len < size)
			folio_zero_segment(folio, len, size);
		folio_mark_uptodate(folio);
	}
	folio_unlock(folio);
}

/* Implemented in Rust (kbase/vfs_client/aops.rs). */
int qtfs_rs_write_folio_cb(void *priv, struct inode *inode, const void *data,
			   size_t len, loff_t pos);

/* The readahead window: its start and length in bytes. */
loff_t qtfs_shim_readahead_pos(struct readahead_control *ractl)
{
	return readahead_pos(ractl);
}

size_t qtfs_shim_readahead_length(struct readahead_control *ractl)
{
	return readahead_length(ractl);
}

/* The window's next folio, locked (NULL at the end). */
struct folio *qtfs_shim_readahead_next(struct readahead_control *ractl)
{
	return readahead_folio(ractl);
}

struct inode *qtfs_shim_readahead_inode(struct readahead_control *ractl)
{
	return ractl->mapping->host;
}

struct file *qtfs_shim_readahead_file(struct readahead_control *ractl)
{
	return ractl->file;
}

/*
 * Writes back every dirty folio that @wbc selects: each is handed to Rust
 * mapped, up to EOF, under writeback; an error is recorded in the mapping
 * (reported at fsync or close) and the folio is not redirtied.
 */
int qtfs_shim_writepages(struct address_space *mapping, struct writeback_control *wbc,
			 void *priv)
{
	struct inode *inode = mapping->host;
	struct folio *folio = NULL;
	int err = 0;

	while ((folio = writeback_iter(mapping, wbc, folio, &err))) {
		loff_t pos = folio_pos(folio);
		loff_t isize = i_size_read(inode);
		size_t len = folio_size(folio);
		void *addr;

		if (pos >= isize) {
			folio_unlock(folio);
			continue;
		}
		if (pos + len > isize)
			len = isize - pos;
		folio_start_writeback(folio);
		folio_unlock(folio);
		addr = kmap_local_folio(folio, 0);
		err = qtfs_rs_write_folio_cb(priv, inode, addr, len, pos);
		kunmap_local(addr);
		if (err)
			mapping_set_error(mapping, err);
		folio_end_writeback(folio);
	}
	return err;
}


/* ---- extended attributes ---- */

/* Implemented in Rust (kbase/vfsc/mount.rs, remote_fs_entry_points!). */
int qtfs_rs_xattr_get(struct inode *inode, const char *name, void *buf, size_t size);
int qtfs_rs_xattr_set(struct inode *inode, const char *name, const void *value,
		      size_t size, int flags);

static int qtfs_shim_xattr_get(const struct xattr_handler *h, struct dentry *d,
			       struct inode *inode, const char *name, void *buf,
			       size_t size)
{
	return qtfs_rs_xattr_get(inode, xattr_full_name(h, name), buf, size);
}

/* @value NULL: remove (XATTR_REPLACE set by the VFS). */
static int qtfs_shim_xattr_set(const struct xattr_handler *h, struct mnt_idmap *idmap,
			       struct dentry *d, struct inode *inode, const char *name,
			       const void *value, size_t size, int flags)
{
	return qtfs_rs_xattr_set(inode, xattr_full_name(h, name), value, size, flags);
}

static const struct xattr_handler qtfs_shim_xattr_user = {
	.prefix = XATTR_USER_PREFIX,
	.get = qtfs_shim_xattr_get,
	.set = qtfs_shim_xattr_set,
};

static const struct xattr_handler qtfs_shim_xattr_trusted = {
	.prefix = XATTR_TRUSTED_PREFIX,
	.get = qtfs_shim_xattr_get,
	.set = qtfs_shim_xattr_set,
};

static const struct xattr_handler qtfs_shim_xattr_security = {
	.prefix = XATTR_SECURITY_PREFIX,
	.get = qtfs_shim_xattr_get,
	.set = qtfs_shim_xattr_set,
};

/* The name spaces qtfs passes to the server (POSIX ACLs are not mapped). */
const struct xattr_handler * const qtfs_shim_xattr_handlers[] = {
	&qtfs_shim_xattr_user,
	&qtfs_shim_xattr_trusted,
	&qtfs_shim_xattr_security,
	NULL,
};

/* --- poll: the per-open wait queue and poll_table helpers (vfsc::WaitQueue,
 * vfsc::PollTable), static inlines in <linux/poll.h> and <linux/wait.h> */

wait_queue_head_t *qtfs_shim_waitq_new(void)
{
	wait_queue_head_t *q = kmalloc(sizeof(*q), GFP_KERNEL);

	if (q)
		init_waitqueue_head(q);
	return q;
}

void qtfs_shim_waitq_wake(wait_queue_head_t *q, unsigned int mask)
{
	wake_up_interruptible_poll(q, (__force __poll_t)mask);
}

void qtfs_shim_waitq_free(wait_queue_head_t *q)
{
	kfree(q);
}

void qtfs_shim_poll_wait(struct file *f, wait_queue_head_t *q, poll_table *pt)
{
	poll_wait(f, q, pt);
}

unsigned int qtfs_shim_poll_requested(poll_table *pt)
{
	return (__force unsigned int)poll_requested_events(pt);
}

/*
 * The DPU's own procfs, for the caller's own directory of a `-o proc`
 * mount with rules inside it (client/vfs_proc.rs): its listing is the
 * DPU's, and its magic links read as the DPU's.
 */

/* Opens the DPU's directory @path for listing, as the caller (ERR_PTR). */
struct file *qtfs_shim_local_dir_open(const char *path)
{
	return filp_open(path, O_RDONLY | O_DIRECTORY | O_LARGEFILE, 0);
}

void qtfs_shim_local_file_put(struct file *f)
{
	fput(f);
}

struct qtfs_relay_ctx {
	struct dir_context ctx;
	struct dir_context *to;
	unsigned int d_type;
};

static bool qtfs_relay_actor(struct dir_context *ctx, const char *name, int len,
			     loff_t pos, u64 ino, unsigned int d_type)
{
	struct qtfs_relay_ctx *r = container_of(ctx, struct qtfs_relay_ctx, ctx);
	bool dot = (len == 1 && name[0] == '.') ||
		   (len == 2 && name[0] == '.' && name[1] == '.');

	return r->to->actor(r->to, name, len, pos, ino, dot ? d_type : r->d_type);
}

/*
 * Lists @dir into @to from @to's position, each entry but "." and ".."
 * with type @d_type (what our lookup makes of it); @to's position follows.
 */
int qtfs_shim_local_dir_relay(struct file *dir, struct dir_context *to, unsigned int d_type)
{
	struct qtfs_relay_ctx r = {
		.ctx.actor = qtfs_relay_actor,
		.ctx.pos = to->pos,
		.to = to,
		.d_type = d_type,
	};
	int err;

	dir->f_pos = to->pos;
	err = iterate_dir(dir, &r.ctx);
	to->pos = r.ctx.pos;
	return err;
}

/*
 * If @path (absolute, as the caller resolves it) is a symlink, what
 * readlink(2) of it gives: for a procfs magic link (exe, cwd, root) the
 * path of what it leads to, as proc_pid_readlink() prints it. Into @buf;
 * the length, 0 if it is not a symlink, or a negative errno.
 */
int qtfs_shim_local_link_target(const char *path, char *buf, int len)
{
	struct path p;
	char *s;
	int err, n;

	err = kern_path(path, 0, &p);
	if (err)
		return err;
	n = d_is_symlink(p.dentry);
	path_put(&p);
	if (!n)
		return 0;
	err = kern_path(path, LOOKUP_FOLLOW, &p);
	if (err)
		return err;
	s = d_path(&p, buf, len);
	path_put(&p);
	if (IS_ERR(s))
		return PTR_ERR(s);
	n = strlen(s);
	memmove(buf, s, n);
	return n;
}
