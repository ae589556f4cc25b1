/*
 * pg_spool.c — in-progress transactions streamed by pgoutput v2, kept on disk
 * until they commit.
 *
 * With streaming 'on', the server sends the changes of a large transaction in
 * chunks (Stream Start ... Stream Stop) before it commits, interleaved with
 * other transactions. Nothing of it may reach a sink before Stream Commit, and
 * memory must not grow with the transaction, so each top-level transaction's
 * messages are appended to a file of its own: records of
 *   [u32 length][u64 lsn][message bytes]   (host byte order; the file never
 *                                            outlives this process's run)
 * Stream Abort of a subtransaction truncates the file back to where that
 * subtransaction's first change was written (as PostgreSQL's own apply worker
 * does); abort of the top-level transaction deletes the file. Stream Commit
 * replays the file in order and deletes it.
 *
 * Invariants:
 *  1. Memory is O(open transactions + subtransactions), never O(changes).
 *  2. subs[] of a transaction is ordered by file offset; truncating at one
 *     subtransaction also forgets every subtransaction recorded after it
 *     (they are nested in it or later, and aborted with it).
 *  3. The spool directory is emptied at open: after a restart the server
 *     streams every uncommitted transaction again from its beginning.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsutil.h"
#include "source/pg/pg_source.h"

#define MAX_RECORD (1u << 30)

typedef struct sub {
    uint32_t subxid;
    off_t off;
} sub_t;

typedef struct xact {
    uint32_t xid;
    int fd;
    off_t size;
    sub_t *subs;
    size_t nsubs, cap;
    struct xact *next;
} xact_t;

struct pg_spool {
    char *dir;
    xact_t *list;
};

static void xact_path(const struct pg_spool *sp, uint32_t xid, char *out, size_t n)
{
    snprintf(out, n, "%s/xid-%u.spool", sp->dir, xid);
}

void pg_spool_reset(struct pg_spool *sp)
{
    while (sp->list) {
        xact_t *x = sp->list;
        sp->list = x->next;
        char path[4096];
        xact_path(sp, x->xid, path, sizeof path);
        close(x->fd);
        unlink(path);
        free(x->subs);
        free(x);
    }
    DIR *d = opendir(sp->dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 6 && !strcmp(e->d_name + n - 6, ".spool") && !strncmp(e->d_name, "xid-", 4)) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", sp->dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

int pg_spool_open(struct pg_spool **out, const char *dir, char *errstr, size_t errstr_size)
{
    struct pg_spool *sp = calloc(1, sizeof *sp);
    if (!sp || !(sp->dir = strdup(dir))) {
        free(sp);
        return SL_ERR_NOMEM;
    }
    if (sl_mkdir_p(dir) != 0) {
        snprintf(errstr, errstr_size, "could not create spool directory \"%s\": %s", dir,
                 strerror(errno));
        free(sp->dir);
        free(sp);
        return SL_ERR_IO;
    }
    pg_spool_reset(sp);
    *out = sp;
    return SL_OK;
}

void pg_spool_close(struct pg_spool *sp)
{
    if (!sp)
        return;
    pg_spool_reset(sp);
    free(sp->dir);
    free(sp);
}

static xact_t *find(struct pg_spool *sp, uint32_t xid, xact_t ***link)
{
    xact_t **l = &sp->list;
    for (; *l; l = &(*l)->next)
        if ((*l)->xid == xid) {
            if (link)
                *link = l;
            return *l;
        }
    return NULL;
}

static void drop(struct pg_spool *sp, uint32_t xid)
{
    xact_t **link;
    xact_t *x = find(sp, xid, &link);
    if (!x)
        return;
    *link = x->next;
    char path[4096];
    xact_path(sp, xid, path, sizeof path);
    close(x->fd);
    unlink(path);
    free(x->subs);
    free(x);
}

int pg_spool_append(struct pg_spool *sp, uint32_t xid, uint32_t subxid, uint64_t lsn,
                    const uint8_t *msg, size_t len)
{
    if (len > MAX_RECORD)
        return SL_ERR_TOO_BIG;
    xact_t *x = find(sp, xid, NULL);
    if (!x) {
        x = calloc(1, sizeof *x);
        if (!x)
            return SL_ERR_NOMEM;
        char path[4096];
        xact_path(sp, xid, path, sizeof path);
        x->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (x->fd < 0) {
            free(x);
            return SL_ERR_IO;
        }
        x->xid = xid;
        x->next = sp->list;
        sp->list = x;
    }
    bool known = subxid == xid;
    for (size_t i = 0; i < x->nsubs && !known; i++)
        known = x->subs[i].subxid == subxid;
    if (!known) {
        if (x->nsubs == x->cap) {
            size_t ncap = x->cap ? x->cap * 2 : 8;
            sub_t *ns = realloc(x->subs, ncap * sizeof *ns);
            if (!ns)
                return SL_ERR_NOMEM;
            x->subs = ns;
            x->cap = ncap;
        }
        x->subs[x->nsubs++] = (sub_t){subxid, x->size};
    }
    uint8_t hdr[12];
    uint32_t l32 = (uint32_t)len;
    memcpy(hdr, &l32, 4);
    memcpy(hdr + 4, &lsn, 8);
    struct iovec_like {
        const void *p;
        size_t n;
    } parts[2] = {{hdr, sizeof hdr}, {msg, len}};
    for (int i = 0; i < 2; i++) {
        const char *p = parts[i].p;
        size_t n = parts[i].n;
        while (n) {
            ssize_t w = pwrite(x->fd, p, n, x->size);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return SL_ERR_IO;
            }
            p += w;
            n -= (size_t)w;
            x->size += w;
        }
    }
    return SL_OK;
}

int pg_spool_abort(struct pg_spool *sp, uint32_t xid, uint32_t subxid)
{
    if (subxid == xid || subxid == 0) {
        drop(sp, xid);
        return SL_OK;
    }
    xact_t *x = find(sp, xid, NULL);
    if (!x)
        return SL_OK;
    for (size_t i = 0; i < x->nsubs; i++) {
        if (x->subs[i].subxid == subxid) {
            x->size = x->subs[i].off;
            x->nsubs = i;
            if (ftruncate(x->fd, x->size) != 0)
                return SL_ERR_IO;
            break;
        }
    }
    return SL_OK;
}

int pg_spool_replay(struct pg_spool *sp, uint32_t xid,
                    int (*fn)(void *ud, uint64_t lsn, const uint8_t *msg, size_t len), void *ud)
{
    xact_t *x = find(sp, xid, NULL);
    if (!x)
        return SL_OK; /* a streamed transaction with no captured change */
    int rc = SL_OK;
    size_t cap = 1 << 16;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return SL_ERR_NOMEM;
    off_t off = 0;
    while (rc == SL_OK && off < x->size) {
        uint8_t hdr[12];
        if (pread(x->fd, hdr, sizeof hdr, off) != (ssize_t)sizeof hdr) {
            rc = SL_ERR_IO;
            break;
        }
        uint32_t len;
        uint64_t lsn;
        memcpy(&len, hdr, 4);
        memcpy(&lsn, hdr + 4, 8);
        if (len > MAX_RECORD || off + 12 + (off_t)len > x->size) {
            rc = SL_ERR_PROTO;
            break;
        }
        if (len > cap) {
            uint8_t *nb = realloc(buf, len);
            if (!nb) {
                rc = SL_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = len;
        }
        if (pread(x->fd, buf, len, off + 12) != (ssize_t)len) {
            rc = SL_ERR_IO;
            break;
        }
        off += 12 + (off_t)len;
        rc = fn(ud, lsn, buf, len);
    }
    free(buf);
    if (rc == SL_OK)
        drop(sp, xid);
    return rc;
}
