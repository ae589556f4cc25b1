/*
 * my_ddl.c — what a binlog QUERY event's statement does to tables.
 *
 * In row-based replication the only statements left in QUERY events are
 * transaction control (BEGIN, COMMIT, XA ..., SAVEPOINT) and DDL. The source needs
 * to know, for DDL, which tables it touches (to forget their cached shape and to
 * emit a schema change event with tableChanges), not a full SQL grammar: this is a
 * tokenizer that skips comments and reads the leading keywords and the (possibly
 * db-qualified, possibly `quoted`) table names of CREATE/ALTER/DROP/RENAME/TRUNCATE
 * TABLE and CREATE/ALTER/DROP DATABASE. Anything else that is not transaction
 * control is DDL without tables (CREATE INDEX names its table after ON, handled;
 * views, procedures, users: no tables).
 *
 * Invariants:
 *  1. Never reads past sql + len; names longer than 255 bytes are truncated, never
 *     overflow.
 *  2. An unrecognised statement is classified as DDL touching no table: the caller
 *     then forgets the shapes of the whole session database, which is always safe.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "source/mysql/my_source.h"

typedef struct lex {
    const char *p, *end;
} lex_t;

static void skip_space(lex_t *l)
{
    for (;;) {
        while (l->p < l->end && isspace((unsigned char)*l->p))
            l->p++;
        if (l->end - l->p >= 2 && l->p[0] == '/' && l->p[1] == '*') {
            /* versioned comments (slash-star-bang 50100 ...) carry SQL: read their inside */
            if (l->end - l->p >= 3 && l->p[2] == '!') {
                l->p += 3;
                while (l->p < l->end && isdigit((unsigned char)*l->p))
                    l->p++;
                continue;
            }
            const char *e = l->p + 2;
            while (e + 1 < l->end && !(e[0] == '*' && e[1] == '/'))
                e++;
            l->p = e + 1 < l->end ? e + 2 : l->end;
            continue;
        }
        if (l->end - l->p >= 2 && l->p[0] == '*' && l->p[1] == '/') {
            l->p += 2; /* end of a versioned comment */
            continue;
        }
        if (l->p < l->end && (*l->p == '#' || (l->end - l->p >= 3 && l->p[0] == '-' &&
                                               l->p[1] == '-' && isspace((unsigned char)l->p[2])))) {
            while (l->p < l->end && *l->p != '\n')
                l->p++;
            continue;
        }
        return;
    }
}

/* Reads a keyword or unquoted identifier into out (upper-cased if upper). */
static bool word(lex_t *l, char *out, size_t size, bool upper)
{
    skip_space(l);
    size_t n = 0;
    while (l->p < l->end && (isalnum((unsigned char)*l->p) || *l->p == '_' || *l->p == '$' ||
                             (unsigned char)*l->p >= 0x80)) {
        if (n + 1 < size)
            out[n++] = upper ? (char)toupper((unsigned char)*l->p) : *l->p;
        l->p++;
    }
    out[n] = 0;
    return n > 0;
}

static bool accept(lex_t *l, const char *kw)
{
    lex_t save = *l;
    char w[32];
    if (word(l, w, sizeof w, true) && !strcmp(w, kw))
        return true;
    *l = save;
    return false;
}

/* An identifier: `quoted` (`` doubles a backquote), "quoted", or bare. */
static bool ident(lex_t *l, char *out, size_t size)
{
    skip_space(l);
    if (l->p < l->end && (*l->p == '`' || *l->p == '"')) {
        char q = *l->p++;
        size_t n = 0;
        while (l->p < l->end) {
            if (*l->p == q) {
                if (l->p + 1 < l->end && l->p[1] == q) {
                    l->p++;
                } else {
                    l->p++;
                    break;
                }
            }
            if (n + 1 < size)
                out[n++] = *l->p;
            l->p++;
        }
        out[n] = 0;
        return true;
    }
    return word(l, out, size, false);
}

/* [db.]table */
static bool table_ref(lex_t *l, const char *session_db, my_table_ref_t *t)
{
    char a[256];
    if (!ident(l, a, sizeof a))
        return false;
    skip_space(l);
    if (l->p < l->end && *l->p == '.') {
        l->p++;
        snprintf(t->db, sizeof t->db, "%s", a);
        return ident(l, t->name, sizeof t->name);
    }
    snprintf(t->db, sizeof t->db, "%s", session_db);
    snprintf(t->name, sizeof t->name, "%s", a);
    return true;
}

static bool comma(lex_t *l)
{
    skip_space(l);
    if (l->p < l->end && *l->p == ',') {
        l->p++;
        return true;
    }
    return false;
}

static void add(my_ddl_t *d, const my_table_ref_t *t)
{
    if (d->ntables < MY_DDL_MAX_TABLES)
        d->tables[d->ntables++] = *t;
}

bool my_ddl_parse(const char *sql, size_t len, const char *session_db, my_ddl_t *d)
{
    memset(d, 0, sizeof *d);
    d->sql = sql;
    d->sql_len = len;
    snprintf(d->db, sizeof d->db, "%s", session_db ? session_db : "");
    lex_t l = {sql, sql + len};
    char w[32];
    if (!word(&l, w, sizeof w, true))
        return false;
    static const char *const not_ddl[] = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE",
                                          "XA", "SET", "INSERT", "UPDATE", "DELETE", "REPLACE",
                                          "LOAD", "CALL", "DO", "SELECT", "FLUSH", NULL};
    for (int i = 0; not_ddl[i]; i++)
        if (!strcmp(w, not_ddl[i]))
            return false;
    my_table_ref_t t;
    if (!strcmp(w, "CREATE") || !strcmp(w, "ALTER") || !strcmp(w, "DROP")) {
        const char *type = !strcmp(w, "CREATE") ? "CREATE" : !strcmp(w, "ALTER") ? "ALTER" : "DROP";
        if (accept(&l, "OR"))
            accept(&l, "REPLACE");
        accept(&l, "ONLINE");
        accept(&l, "IGNORE");
        accept(&l, "TEMPORARY");
        if (accept(&l, "DATABASE") || accept(&l, "SCHEMA")) {
            d->database_level = true;
            if (accept(&l, "IF")) {
                accept(&l, "NOT");
                accept(&l, "EXISTS");
            }
            char db[256];
            if (ident(&l, db, sizeof db))
                snprintf(d->db, sizeof d->db, "%s", db);
            return true;
        }
        if (accept(&l, "TABLE")) {
            d->type = type;
            if (accept(&l, "IF")) {
                accept(&l, "NOT");
                accept(&l, "EXISTS");
            }
            do {
                if (!table_ref(&l, d->db, &t))
                    break;
                add(d, &t);
            } while (!strcmp(type, "DROP") && comma(&l));
        } else {
            /* CREATE [UNIQUE|FULLTEXT|SPATIAL] INDEX name ON table: changes no columns */
            if (!accept(&l, "UNIQUE") && !accept(&l, "FULLTEXT"))
                accept(&l, "SPATIAL");
            if (accept(&l, "INDEX")) {
                char idx[256];
                ident(&l, idx, sizeof idx);
                if (accept(&l, "ON") && table_ref(&l, d->db, &t)) {
                    d->type = "ALTER";
                    add(d, &t);
                }
            }
        }
    } else if (!strcmp(w, "RENAME")) {
        if (accept(&l, "TABLE")) {
            d->type = "ALTER";
            do {
                my_table_ref_t to;
                if (!table_ref(&l, d->db, &t) || !accept(&l, "TO") || !table_ref(&l, d->db, &to))
                    break;
                add(d, &t);
                add(d, &to);
            } while (comma(&l));
        }
    } else if (!strcmp(w, "TRUNCATE")) {
        accept(&l, "TABLE");
        if (table_ref(&l, d->db, &t)) {
            d->type = "ALTER";
            add(d, &t);
        }
    }
    if (d->ntables && d->tables[0].db[0])
        snprintf(d->db, sizeof d->db, "%s", d->tables[0].db);
    return true;
}
