/*
 * main.c — the command line: sluice run | check | --version | --help | --config-doc.
 *
 * Exit codes (DESIGN.md §2): 0 clean stop / all checks passed; 2 invalid
 * configuration or usage; 1 runtime failure / a check failed. This is the only
 * file that calls exit().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr */
#endif
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/pipeline.h"
#include "core/plugin.h"
#include "version.h"

extern char **environ;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "sluice %s — change data capture: database change log -> files, Kafka, databases\n"
            "\n"
            "usage:\n"
            "  sluice run   -c app.properties   stream changes until SIGTERM/SIGINT\n"
            "  sluice check -c app.properties   check configuration and prerequisites\n"
            "  sluice --config-doc              print every configuration key (markdown)\n"
            "  sluice --version | --help\n"
            "\n"
            "Configuration uses Debezium Server's keys (see CONFIGURATION.md); any key can be\n"
            "overridden by an environment variable, e.g. DEBEZIUM_SOURCE_DATABASE_PASSWORD.\n"
            "Exit codes: 0 clean stop, 1 runtime failure, 2 invalid configuration or usage.\n",
            SLUICE_VERSION);
}

struct secret_scan {
    const sl_conf_t *conf;
    const char *prefix;
    bool found;
};

/* Pass-through keys (librdkafka's sasl.password, ssl.key.password, ...) are not in any table
 * as secrets; judge them by name. */
static void scan_passthrough(void *ud, const char *subkey, const char *value)
{
    struct secret_scan *s = ud;
    (void)value;
    char key[512];
    snprintf(key, sizeof key, "%s%s", s->prefix, subkey);
    if ((strcasestr(subkey, "password") || strcasestr(subkey, "secret") ||
         strcasestr(subkey, "jaas")) &&
        strcmp(sl_conf_origin(s->conf, key), "environment") != 0)
        s->found = true;
}

/* A secret set in a file that other users can read is as good as published: say so once.
 * Secrets that come from the environment do not count (they are not in the file). */
static void warn_if_readable(const sl_conf_t *conf, const char *path,
                             const sl_prop_table_t *const *tables, size_t nt)
{
    struct stat st;
    if (stat(path, &st) != 0 || !(st.st_mode & (S_IRGRP | S_IROTH)))
        return;
    struct secret_scan scan = {conf, NULL, false};
    for (size_t t = 0; t < nt && !scan.found; t++) {
        for (size_t i = 0; i < tables[t]->n && !scan.found; i++) {
            const sl_prop_def_t *d = &tables[t]->defs[i];
            if (d->type == SL_PT_PASSTHROUGH) {
                char prefix[256];
                snprintf(prefix, sizeof prefix, "%.*s", (int)(strlen(d->key) - 1), d->key);
                scan.prefix = prefix;
                sl_conf_foreach_prefix(conf, prefix, scan_passthrough, &scan);
            } else if ((d->flags & SL_PF_SECRET) && sl_conf_is_set(conf, d->key) &&
                       strcmp(sl_conf_origin(conf, d->key), "environment") != 0)
                scan.found = true;
        }
    }
    if (scan.found)
        sl_warn("%s is readable by other users and holds secrets (chmod 600 %s)", path, path);
}

/* Loads and validates the configuration; on failure prints the error and returns NULL. */
static sl_conf_t *load_conf(const char *path, const sl_source_ops_t **sops,
                            const sl_sink_ops_t **kops)
{
    size_t nt;
    const sl_prop_table_t *const *tables = sl_registry_tables(&nt);
    char err[1024];
    sl_conf_t *conf = NULL;
    if (sl_conf_load(&conf, path, environ, tables, nt, err, sizeof err) != SL_OK) {
        fprintf(stderr, "sluice: %s\n", err);
        return NULL;
    }
    const char *lvl = sl_conf_str(conf, "sluice.log.level");
    if (lvl) {
        static const char *names[] = {"debug", "info", "warn", "error"};
        for (int i = 0; i < 4; i++)
            if (strcasecmp(lvl, names[i]) == 0)
                sl_log_set_level((sl_log_level_t)i);
    }
    const char *cls = sl_conf_str(conf, "debezium.source.connector.class");
    const char *type = sl_conf_str(conf, "debezium.sink.type");
    *sops = sl_registry_source(cls);
    *kops = sl_registry_sink(type);
    if (cls && !*sops) {
        fprintf(stderr,
                "sluice: %s: debezium.source.connector.class: unknown connector '%s' (use "
                "io.debezium.connector.postgresql.PostgresConnector, "
                "io.debezium.connector.mariadb.MariaDbConnector, "
                "io.debezium.connector.mysql.MySqlConnector, or the short names postgres, "
                "mariadb, mysql)\n",
                sl_conf_origin(conf, "debezium.source.connector.class"), cls);
        goto bad;
    }
    if (type && !*kops) {
        fprintf(stderr, "sluice: %s: debezium.sink.type: unknown sink '%s' (use one of:",
                sl_conf_origin(conf, "debezium.sink.type"), type);
        for (size_t i = 0; sl_sinks[i]; i++)
            fprintf(stderr, " %s", sl_sinks[i]->name);
        fprintf(stderr, ")\n");
        goto bad;
    }
    const sl_prop_table_t *active[3];
    size_t na = 0;
    active[na++] = &sl_core_props;
    if (*sops)
        active[na++] = (*sops)->props;
    if (*kops)
        active[na++] = (*kops)->props;
    sl_conf_set_active(conf, active, na);
    if (sl_conf_validate(conf, tables, nt, active, na, err, sizeof err) != SL_OK ||
        sl_core_validate(conf, err, sizeof err) != SL_OK ||
        ((*sops)->validate && (*sops)->validate(conf, err, sizeof err) != SL_OK) ||
        ((*kops)->validate && (*kops)->validate(conf, err, sizeof err) != SL_OK)) {
        fprintf(stderr, "sluice: %s\n", err);
        goto bad;
    }
    warn_if_readable(conf, path, tables, nt);
    return conf;
bad:
    sl_conf_free(conf);
    return NULL;
}

/* Events are allocated on the source thread and freed on the pipeline thread, a few kB
 * each, so the source thread's malloc arena fills and empties as the queue does. With
 * glibc's defaults the emptied top of that arena is given back to the kernel and taken
 * again moments later: a page fault per 4 kB written (bench/jdbc.sh inserts: 15% of
 * sluice's CPU in sl_event_new). Keeping up to 64 MiB of free top and growing by 16 MiB
 * at a time removes that; memory still in use is unchanged (peak RSS measured equal). */
static void tune_malloc(void)
{
#ifdef M_TRIM_THRESHOLD
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 16 << 20);
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
#endif
}

static int cmd_run(const char *path)
{
    const sl_source_ops_t *sops;
    const sl_sink_ops_t *kops;
    sl_conf_t *conf = load_conf(path, &sops, &kops);
    if (!conf)
        return 2;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN); /* past a file size limit, write() fails with EFBIG instead */

    tune_malloc();
    sl_info("sluice %s starting: source %s, sink %s", SLUICE_VERSION, sops->name, kops->name);
    char err[2048] = "";
    int rc = sl_pipeline_run(conf, sops, kops, path, &stop_requested, err, sizeof err);
    sl_conf_free(conf);
    if (rc == SL_ERR_CONFIG) {
        fprintf(stderr, "sluice: %s\n", err);
        return 2;
    }
    if (rc != SL_OK) {
        sl_error("%s", err[0] ? err : sl_err_str(rc));
        return 1;
    }
    sl_info("stopped cleanly");
    return 0;
}

static int cmd_check(const char *path)
{
    const sl_source_ops_t *sops;
    const sl_sink_ops_t *kops;
    sl_conf_t *conf = load_conf(path, &sops, &kops);
    if (!conf)
        return 2;
    printf("ok: configuration %s is valid\n", path);
    int problems = sops->check(conf, stdout) + kops->check(conf, stdout);
    if (problems)
        printf("%d problem%s found\n", problems, problems == 1 ? "" : "s");
    else
        printf("all checks passed\n");
    sl_conf_free(conf);
    return problems ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("sluice %s\n", SLUICE_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--config-doc")) {
        size_t n;
        const sl_prop_table_t *const *tables = sl_registry_tables(&n);
        sl_conf_write_markdown(stdout, tables, n);
        return 0;
    }
    if (strcmp(cmd, "run") != 0 && strcmp(cmd, "check") != 0) {
        fprintf(stderr, "sluice: unknown command \"%s\" (use run or check; see sluice --help)\n",
                cmd);
        return 2;
    }
    const char *path = NULL;
    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            path = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9))
            path = argv[i] + 9;
        else {
            fprintf(stderr, "sluice: unexpected argument \"%s\" (usage: sluice %s -c FILE)\n",
                    argv[i], cmd);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "sluice: %s needs a configuration file (sluice %s -c app.properties)\n",
                cmd, cmd);
        return 2;
    }
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "sluice: cannot read configuration file \"%s\"\n", path);
        return 2;
    }
    return !strcmp(cmd, "run") ? cmd_run(path) : cmd_check(path);
}
