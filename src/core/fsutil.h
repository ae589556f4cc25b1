/*
 * fsutil.h — small file-system helpers shared by the offset store, the file sink
 * and the PostgreSQL spool: whole writes, directory creation, directory fsync.
 * All return 0 on success, -1 with errno set.
 */
#ifndef SL_FSUTIL_H
#define SL_FSUTIL_H

#include <stddef.h>

/* write(2) until all n bytes are written (retries EINTR and short writes). */
int sl_write_all(int fd, const void *p, size_t n);
/* mkdir -p with mode 0700 for the directories it creates. */
int sl_mkdir_p(const char *dir);
/* fsync of the directory that holds `path` (makes a rename or create durable). */
int sl_fsync_parent_dir(const char *path);

#endif
