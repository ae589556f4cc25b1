/*
 * file_sink.c — the `file` and `stdout` sinks: JSON Lines, one record per event.
 *
 * Each event becomes one line {"topic":"...","key":<json|null>,"value":<json|null>}.
 * submit() appends the line to a buffer (and writes the buffer out when it is
 * large); flush() writes what is left, fsyncs the file, and only then reports
 * every pending event as delivered. The stdout sink is the same code writing
 * to standard output without fsync (a pipe or terminal cannot be fsynced; its
 * reader decides durability).
 *
 * Invariants:
 *  1. An event is reported delivered only after its line has been written and
 *     fsynced (file). A failed write or fsync reports nothing: the position does
 *     not advance and a restart re-sends the events (at-least-once).
 *  2. The file never keeps a torn last line: on open, bytes after the last '\n'
 *     (a write cut short by a crash or a full disk) are truncated away.
 *  3. Rotation (debezium.sink.file.rotate.bytes) happens only right after a
 *     successful flush, so a rotated file holds only whole, durable lines.
 *  4. A full disk (ENOSPC, EDQUOT, or EFBIG under a file size limit) is an outage, not
 *     an error: the bytes written of the failed buffer are truncated away (the file ends
 *     at its last whole line again), the buffer is kept, and flush retries (1 s doubling
 *     to 30 s, for as long as it takes) until the write fits or sluice is asked to stop.
 *     Meanwhile no event is reported, so the position stays and the source waits behind
 *     the full queue. Any other write error, and every fsync error (after which the page
 *     cache's state is unknown), stops the sink for good.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/backoff.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/log.h"
#include "core/plugin.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define WRITE_THRESHOLD (1u << 20)

struct sl_sink {
    sl_sink_env_t env;
    int fd;
    bool is_stdout;
    bool do_fsync;
    bool failed; /* a write failed: the buffer's state is unknown, never retry it */
    bool full;   /* the last write found the disk full (invariant 4) */
    sl_backoff_t full_retry;
    char *path;
    int64_t rotate_bytes;
    int64_t file_size;
    sl_buf_t buf;
    sl_event_t **pending;
    size_t npending, cap_pending;
    char err[512];
};

/* Drops a torn last line (invariant 2). */
static int repair_tail(int fd, int64_t *size_out)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    off_t size = st.st_size, keep = size;
    char blk[4096];
    while (keep > 0) {
        off_t start = keep > (off_t)sizeof blk ? keep - (off_t)sizeof blk : 0;
        ssize_t r = pread(fd, blk, (size_t)(keep - start), start);
        if (r <= 0)
            return -1;
        ssize_t i = r - 1;
        while (i >= 0 && blk[i] != '\n')
            i--;
        if (i >= 0) {
            keep = start + i + 1;
            break;
        }
        keep = start;
    }
    if (keep != size) {
        sl_warn("file sink: dropping %lld bytes of an incomplete last line", (long long)(size - keep));
        if (ftruncate(fd, keep) != 0 || fsync(fd) != 0)
            return -1;
    }
    if (lseek(fd, 0, SEEK_END) < 0)
        return -1;
    *size_out = keep;
    return 0;
}

static int open_file(sl_sink_t *snk)
{
    snk->fd = open(snk->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (snk->fd < 0 || repair_tail(snk->fd, &snk->file_size) != 0) {
        snprintf(snk->err, sizeof snk->err, "could not open \"%s\": %s", snk->path,
                 strerror(errno));
        return SL_ERR_IO;
    }
    return SL_OK;
}

static int rotate(sl_sink_t *snk)
{
    char target[4096];
    for (unsigned i = 1;; i++) {
        snprintf(target, sizeof target, "%s.%06u", snk->path, i);
        if (access(target, F_OK) != 0)
            break;
    }
    close(snk->fd);
    snk->fd = -1;
    if (rename(snk->path, target) != 0 || sl_fsync_parent_dir(snk->path) != 0) {
        snprintf(snk->err, sizeof snk->err, "could not rotate \"%s\": %s", snk->path,
                 strerror(errno));
        return SL_ERR_IO;
    }
    sl_info("file sink: rotated to %s", target);
    return open_file(snk);
}

static int create_common(sl_sink_t **out, const sl_sink_env_t *env, bool is_stdout)
{
    sl_sink_t *snk = calloc(1, sizeof *snk);
    if (!snk)
        return SL_ERR_NOMEM;
    snk->env = *env;
    snk->is_stdout = is_stdout;
    snk->fd = -1;
    *out = snk;
    return SL_OK;
}

static void file_destroy(sl_sink_t *snk)
{
    if (!snk)
        return;
    if (snk->fd >= 0 && !snk->is_stdout)
        close(snk->fd);
    sl_buf_free(&snk->buf);
    free(snk->pending);
    free(snk->path);
    free(snk);
}

static int file_create(sl_sink_t **out, const sl_conf_t *conf, const sl_sink_env_t *env,
                       char *errstr, size_t errstr_size)
{
    int rc = create_common(out, env, false);
    if (rc != SL_OK)
        return rc;
    sl_sink_t *snk = *out;
    snk->path = strdup(sl_conf_str(conf, "debezium.sink.file.path"));
    snk->rotate_bytes = sl_conf_int(conf, "debezium.sink.file.rotate.bytes");
    snk->do_fsync = sl_conf_bool(conf, "debezium.sink.file.fsync");
    if (!snk->path)
        rc = SL_ERR_NOMEM;
    else
        rc = open_file(snk);
    if (rc != SL_OK) {
        snprintf(errstr, errstr_size, "file sink: %s", snk->err[0] ? snk->err : "out of memory");
        file_destroy(snk);
        *out = NULL;
    }
    return rc;
}

static int stdout_create(sl_sink_t **out, const sl_conf_t *conf, const sl_sink_env_t *env,
                         char *errstr, size_t errstr_size)
{
    int rc = create_common(out, env, true);
    if (rc == SL_OK)
        (*out)->fd = STDOUT_FILENO;
    return rc;
}

static bool disk_full(int err) { return err == ENOSPC || err == EDQUOT || err == EFBIG; }

static int write_buffer(sl_sink_t *snk)
{
    if (snk->failed)
        return SL_ERR_IO;
    if (snk->buf.len == 0)
        return SL_OK;
    if (sl_write_all(snk->fd, snk->buf.data, snk->buf.len) != 0) {
        int err = errno;
        snprintf(snk->err, sizeof snk->err, "could not write to %s: %s",
                 snk->is_stdout ? "standard output" : snk->path, strerror(err));
        /* invariant 4: cut the partial write so the file ends at a whole line again */
        snk->full = !snk->is_stdout && disk_full(err) && ftruncate(snk->fd, snk->file_size) == 0 &&
                    lseek(snk->fd, 0, SEEK_END) == snk->file_size;
        snk->failed = !snk->full;
        return SL_ERR_IO;
    }
    snk->file_size += (int64_t)snk->buf.len;
    snk->full = false;
    sl_buf_reset(&snk->buf);
    return SL_OK;
}

/* Writes the buffer, waiting for space while the disk is full (invariant 4). */
static int write_waiting(sl_sink_t *snk)
{
    bool waited = false;
    int rc;
    while ((rc = write_buffer(snk)) != SL_OK && snk->full) {
        if (!waited)
            sl_backoff_set(&snk->full_retry, 1000, 30000, -1);
        (void)sl_backoff_failed(&snk->full_retry, false);
        sl_warn("file sink: %s; %zu bytes wait, retrying in %lld ms", snk->err, snk->buf.len,
                (long long)snk->full_retry.delay_ms);
        waited = true;
        if (!sl_backoff_wait_sig(&snk->full_retry, snk->env.stop))
            return SL_ERR_IO; /* stopping: nothing reported, the position stays */
    }
    if (rc == SL_OK && waited)
        sl_info("file sink: %s has room again; writing resumed", snk->path);
    return rc;
}

static int file_submit(sl_sink_t *snk, sl_event_t *ev)
{
    sl_event_t **np = sl_grow_array(snk->pending, &snk->cap_pending, snk->npending + 1,
                                    sizeof *np, 1024);
    if (!np)
        return SL_ERR_NOMEM;
    snk->pending = np;
    sl_buf_t *b = &snk->buf;
    size_t mark = b->len;
    sl_buf_add(b, "{\"topic\":", 9);
    sl_json_str(b, ev->topic, ev->topic_len);
    sl_buf_add(b, ",\"key\":", 7);
    if (ev->key)
        sl_buf_add(b, ev->key, ev->key_len);
    else
        sl_buf_add(b, "null", 4);
    sl_buf_add(b, ",\"value\":", 9);
    if (ev->value)
        sl_buf_add(b, ev->value, ev->value_len);
    else
        sl_buf_add(b, "null", 4);
    sl_buf_add(b, "}\n", 2);
    if (!sl_buf_ok(b)) {
        b->oom = false;
        b->len = mark;
        return SL_ERR_NOMEM;
    }
    snk->pending[snk->npending++] = ev;
    if (b->len >= WRITE_THRESHOLD && !snk->full)
        (void)write_buffer(snk); /* an error is kept in snk->err and resurfaces in flush */
    return SL_OK;
}

static int file_flush(sl_sink_t *snk)
{
    int rc = write_waiting(snk);
    if (rc != SL_OK)
        return rc;
    if (!snk->is_stdout && snk->do_fsync && fsync(snk->fd) != 0) {
        snprintf(snk->err, sizeof snk->err, "could not fsync \"%s\": %s", snk->path,
                 strerror(errno));
        return SL_ERR_IO;
    }
    for (size_t i = 0; i < snk->npending; i++)
        snk->env.on_delivery(snk->env.opaque, snk->pending[i], SL_OK);
    snk->npending = 0;
    if (!snk->is_stdout && snk->rotate_bytes > 0 && snk->file_size >= snk->rotate_bytes)
        return rotate(snk);
    return SL_OK;
}

static int file_poll(sl_sink_t *snk, int timeout_ms) { return 0; }

static const char *file_last_error(const sl_sink_t *snk) { return snk->err; }

static int file_check(const sl_conf_t *conf, FILE *report)
{
    const char *path = sl_conf_str(conf, "debezium.sink.file.path");
    char *copy = strdup(path ? path : "");
    if (!copy)
        return 1;
    const char *dir = dirname(copy);
    int bad = access(dir, W_OK) != 0;
    fprintf(report, "%s: sink file directory \"%s\" is %swritable\n", bad ? "FAIL" : "ok", dir,
            bad ? "not " : "");
    free(copy);
    return bad;
}

static int stdout_check(const sl_conf_t *conf, FILE *report)
{
    fprintf(report, "ok: sink stdout\n");
    return 0;
}

static const sl_prop_def_t file_defs[] = {
    {"debezium.sink.file.path", SL_PT_STRING, NULL, NULL, 0, 0, SL_PF_REQUIRED,
     "JSON Lines file the events are appended to."},
    {"debezium.sink.file.rotate.bytes", SL_PT_INT, "0", NULL, 0, INT64_MAX, 0,
     "Rotate the file when it reaches this size (0 = never); the full file is renamed to "
     "<path>.<NNNNNN> with increasing numbers."},
    {"debezium.sink.file.fsync", SL_PT_BOOL, "true", NULL, 0, 0, 0,
     "fsync the file before acknowledging events. Turning it off loses the guarantee that "
     "acknowledged changes survive a power failure."},
};
static const sl_prop_table_t file_props = {"sink.file", "Sink: file", file_defs, N(file_defs)};
static const sl_prop_table_t stdout_props = {"sink.stdout", "Sink: stdout", NULL, 0};

const sl_sink_ops_t sl_sink_file = {
    .abi = SL_SINK_ABI,
    .name = "file",
    .props = &file_props,
    .create = file_create,
    .check = file_check,
    .submit = file_submit,
    .flush = file_flush,
    .poll = file_poll,
    .last_error = file_last_error,
    .destroy = file_destroy,
};

const sl_sink_ops_t sl_sink_stdout = {
    .abi = SL_SINK_ABI,
    .name = "stdout",
    .props = &stdout_props,
    .create = stdout_create,
    .check = stdout_check,
    .submit = file_submit,
    .flush = file_flush,
    .poll = file_poll,
    .last_error = file_last_error,
    .destroy = file_destroy,
};
