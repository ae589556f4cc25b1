/*
 * offsets.c — atomic file offset store (see offsets.h for the invariants).
 *
 * File layout:
 *   # sluice offsets v1
 *   key=value
 *   ...
 * The header line identifies the file; a file without it is refused rather
 * than overwritten, so a wrong path never destroys someone else's data.
 */
#include "core/offsets.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fsutil.h"

#define HEADER "# sluice offsets v1\n"
#define MAX_RECORD (1u << 20)

struct sl_offset_store {
    char *path;
    char *tmp_path;
    char *dir;
};

int sl_offset_store_open(sl_offset_store_t **out, const char *path, char *errstr,
                         size_t errstr_size)
{
    sl_offset_store_t *os = calloc(1, sizeof *os);
    if (!os)
        return SL_ERR_NOMEM;
    os->path = strdup(path);
    size_t n = strlen(path) + 5;
    os->tmp_path = malloc(n);
    char *pc = strdup(path);
    if (!os->path || !os->tmp_path || !pc) {
        free(pc);
        sl_offset_store_close(os);
        return SL_ERR_NOMEM;
    }
    snprintf(os->tmp_path, n, "%s.tmp", path);
    os->dir = strdup(dirname(pc));
    free(pc);
    if (!os->dir) {
        sl_offset_store_close(os);
        return SL_ERR_NOMEM;
    }
    if (sl_mkdir_p(os->dir) != 0) {
        snprintf(errstr, errstr_size, "could not create offsets directory \"%s\": %s", os->dir,
                 strerror(errno));
        sl_offset_store_close(os);
        return SL_ERR_IO;
    }
    *out = os;
    return SL_OK;
}

void sl_offset_store_close(sl_offset_store_t *os)
{
    if (!os)
        return;
    free(os->path);
    free(os->tmp_path);
    free(os->dir);
    free(os);
}

int sl_offset_store_load(sl_offset_store_t *os, char **text, char *errstr, size_t errstr_size)
{
    *text = NULL;
    FILE *f = fopen(os->path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return SL_OK;
        snprintf(errstr, errstr_size, "could not open offsets file \"%s\": %s", os->path,
                 strerror(errno));
        return SL_ERR_IO;
    }
    char *buf = malloc(MAX_RECORD + 1);
    if (!buf) {
        fclose(f);
        return SL_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, MAX_RECORD + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(buf);
        snprintf(errstr, errstr_size, "could not read offsets file \"%s\"", os->path);
        return SL_ERR_IO;
    }
    if (n > MAX_RECORD || n < strlen(HEADER) || memcmp(buf, HEADER, strlen(HEADER)) != 0) {
        free(buf);
        snprintf(errstr, errstr_size,
                 "\"%s\" is not a sluice offsets file (refusing to use or overwrite it)",
                 os->path);
        return SL_ERR_PROTO;
    }
    buf[n] = 0;
    memmove(buf, buf + strlen(HEADER), n - strlen(HEADER) + 1);
    *text = buf;
    return SL_OK;
}

int sl_offset_store_commit(sl_offset_store_t *os, const char *text, size_t len, char *errstr,
                           size_t errstr_size)
{
    int fd = open(os->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        goto fail;
    if (sl_write_all(fd, HEADER, strlen(HEADER)) != 0 || sl_write_all(fd, text, len) != 0 ||
        fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(os->tmp_path);
        errno = e;
        goto fail;
    }
    if (close(fd) != 0 || rename(os->tmp_path, os->path) != 0 ||
        sl_fsync_parent_dir(os->path) != 0)
        goto fail;
    return SL_OK;
fail:
    snprintf(errstr, errstr_size, "could not write offsets file \"%s\": %s", os->path,
             strerror(errno));
    return SL_ERR_IO;
}

int sl_offset_get(const char *text, const char *key, char *out, size_t out_size)
{
    size_t kl = strlen(key);
    const char *p = text;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > kl && memcmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t vl = ll - kl - 1;
            if (vl >= out_size)
                return -1;
            memcpy(out, p + kl + 1, vl);
            out[vl] = 0;
            return 0;
        }
        p = eol ? eol + 1 : NULL;
    }
    return -1;
}

const char *sl_offset_get_index(const char *text, int64_t *index, bool *snapshot_done)
{
    char v[32], *end;
    if (sl_offset_get(text, "event_index", v, sizeof v) != 0)
        return "event_index";
    errno = 0;
    *index = strtoll(v, &end, 10);
    if (errno || end == v || *end || *index < -1)
        return "event_index";
    if (sl_offset_get(text, "snapshot", v, sizeof v) != 0 ||
        (strcmp(v, "done") != 0 && strcmp(v, "incomplete") != 0))
        return "snapshot";
    *snapshot_done = strcmp(v, "done") == 0;
    return NULL;
}
