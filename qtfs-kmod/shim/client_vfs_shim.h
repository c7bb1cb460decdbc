/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prototypes of client_vfs_shim.c (the Rust side, kbase/vfsc/, declares the
 * same signatures in its `extern "C"` blocks).
 */
#ifndef QTFS_CLIENT_VFS_SHIM_H
#define QTFS_CLIENT_VFS_SHIM_H

#include <linux/types.h>

struct address_space;
struct completion;
struct delayed_call;
struct dentry;
struct dentry_operations;
struct dir_context;
struct file;
struct file_operations;
struct folio;
struct fs_context;
struct inode;
struct inode_operations;
struct address_space_operations;
struct iattr;
struct iov_iter;
struct kiocb;
struct kstat;
struct kstatfs;
struct mnt_idmap;
struct readahead_control;
struct super_block;
struct super_operations;
struct writeback_control;
struct xattr_handler;
struct qtfs_shim_iattr;

int qtfs_shim_init_fs_context(struct fs_context *fc);
void qtfs_shim_fc_set_private(struct fs_context *fc, void *p);
void qtfs_shim_kill_sb(struct super_block *sb);
int qtfs_shim_sb_setup(struct super_block *sb, unsigned long magic,
		       const struct super_operations *sops,
		       const struct dentry_operations *dops,
		       const struct xattr_handler * const *xattr,
		       void *fs_info, int read_only);
void *qtfs_shim_sb_info(struct super_block *sb);
void qtfs_shim_sb_set_root(struct super_block *sb, struct dentry *root);
int qtfs_shim_sb_rdonly(struct super_block *sb);
void qtfs_shim_statfs_fill(struct kstatfs *buf, const struct qtfs_shim_statfs *s,
			   unsigned long magic);
void *qtfs_shim_inode_private(const struct inode *inode);
void qtfs_shim_inode_set_private(struct inode *inode, void *p);
struct super_block *qtfs_shim_inode_sb(const struct inode *inode);
unsigned int qtfs_shim_inode_mode(const struct inode *inode);
u64 qtfs_shim_inode_ino(const struct inode *inode);
loff_t qtfs_shim_inode_size(const struct inode *inode);
void qtfs_shim_inode_init(struct inode *inode, u64 ino, unsigned int mode,
			  u32 rdev_major, u32 rdev_minor,
			  const struct inode_operations *iops,
			  const struct file_operations *fops,
			  const struct address_space_operations *aops);
void qtfs_shim_inode_set_attr(struct inode *inode, const struct qtfs_shim_attr *a,
			      u32 generation, int set_size);
void qtfs_shim_inode_lock(struct inode *inode);
void qtfs_shim_inode_unlock(struct inode *inode);
void qtfs_shim_inode_lock_shared(struct inode *inode);
void qtfs_shim_inode_unlock_shared(struct inode *inode);
void qtfs_shim_inode_set_size(struct inode *inode, loff_t size);
void qtfs_shim_inode_drop_nlink(struct inode *inode);
void qtfs_shim_fillattr(struct mnt_idmap *idmap, u32 request_mask,
			struct inode *inode, struct kstat *stat, u32 blksize);
void qtfs_shim_iattr_read(const struct iattr *ia, struct qtfs_shim_iattr *out);
void qtfs_shim_truncate_final(struct inode *inode);
void qtfs_shim_set_link(struct delayed_call *done, char *buf);
struct inode *qtfs_shim_dentry_inode(const struct dentry *d);
const unsigned char *qtfs_shim_dentry_name(const struct dentry *d, u32 *len);
unsigned long qtfs_shim_dentry_time(const struct dentry *d);
void qtfs_shim_dentry_set_time(struct dentry *d, unsigned long t);
unsigned long qtfs_shim_jiffies(void);
unsigned long qtfs_shim_ms_to_jiffies(unsigned int ms);
int qtfs_shim_time_before(unsigned long a, unsigned long b);
int qtfs_shim_d_in_lookup(const struct dentry *d);
void qtfs_shim_file_set_created(struct file *f);
void *qtfs_shim_file_private(const struct file *f);
void qtfs_shim_file_set_private(struct file *f, void *p);
unsigned int qtfs_shim_file_flags(const struct file *f);
u64 qtfs_shim_file_parent_ino(const struct file *f);
struct inode *qtfs_shim_file_inode(const struct file *f);
int qtfs_shim_file_check_wb_err(struct file *f);
void qtfs_shim_inode_set_wb_err(struct inode *inode, int err);
struct file *qtfs_shim_kiocb_file(const struct kiocb *k);
loff_t qtfs_shim_kiocb_pos(const struct kiocb *k);
void qtfs_shim_kiocb_set_pos(struct kiocb *k, loff_t pos);
unsigned int qtfs_shim_kiocb_flags(const struct kiocb *k);
size_t qtfs_shim_iter_count(const struct iov_iter *i);
size_t qtfs_shim_copy_to_iter(const void *buf, size_t len, struct iov_iter *i);
size_t qtfs_shim_copy_from_iter(void *buf, size_t len, struct iov_iter *i);
int qtfs_shim_write_and_wait(struct inode *inode, loff_t start, loff_t end);
int qtfs_shim_invalidate_range(struct inode *inode, loff_t start, loff_t end);
void qtfs_shim_truncate_pagecache(struct inode *inode, loff_t size);
loff_t qtfs_shim_dir_pos(const struct dir_context *ctx);
void qtfs_shim_dir_set_pos(struct dir_context *ctx, loff_t pos);
int qtfs_shim_dir_emit(struct dir_context *ctx, const char *name, int len,
		       u64 ino, unsigned int type);
loff_t qtfs_shim_folio_pos(struct folio *folio);
size_t qtfs_shim_folio_size(struct folio *folio);
struct inode *qtfs_shim_folio_inode(struct folio *folio);
void qtfs_shim_folio_fill_done(struct folio *folio, const void *data, size_t len, int err);
loff_t qtfs_shim_readahead_pos(struct readahead_control *ractl);
size_t qtfs_shim_readahead_length(struct readahead_control *ractl);
struct folio *qtfs_shim_readahead_next(struct readahead_control *ractl);
struct inode *qtfs_shim_readahead_inode(struct readahead_control *ractl);
struct file *qtfs_shim_readahead_file(struct readahead_control *ractl);
int qtfs_shim_writepages(struct address_space *mapping, struct writeback_control *wbc,
			 void *priv);

extern const struct xattr_handler * const qtfs_shim_xattr_handlers[];

struct wait_queue_head;
struct poll_table_struct;
struct wait_queue_head *qtfs_shim_waitq_new(void);
void qtfs_shim_waitq_wake(struct wait_queue_head *q, unsigned int mask);
void qtfs_shim_waitq_free(struct wait_queue_head *q);
void qtfs_shim_poll_wait(struct file *f, struct wait_queue_head *q, struct poll_table_struct *pt);
unsigned int qtfs_shim_poll_requested(struct poll_table_struct *pt);

/* The DPU's own procfs, for a made directory (client/vfs_proc.rs). */
struct file *qtfs_shim_local_dir_open(const char *path);
void qtfs_shim_local_file_put(struct file *f);
int qtfs_shim_local_dir_relay(struct file *dir, struct dir_context *to, unsigned int d_type);
int qtfs_shim_local_link_target(const char *path, char *buf, int len);

#endif
