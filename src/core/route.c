/*
 * route.c — topic routing (RegexRouter); see route.h for the keys and the dialect.
 *
 * Validation compiles every transform exactly as the router will, so anything that
 * passes it works at run time. Routed topics are cached by source topic in an
 * open-addressing table (a pipeline sees one topic per table, plus heartbeats), so
 * routing an event costs one hash and one compare after the first event of a table.
 */
#include "core/route.h"

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

#define TRANSFORMS_KEY "debezium.transforms"
#define PREFIX "debezium.transforms."
#define REGEX_ROUTER "org.apache.kafka.connect.transforms.RegexRouter"

typedef struct transform {
    regex_t re;        /* ^(regex)$: the user's group n is our group n + 1 */
    char *replacement; /* as configured; parsed again at each (cached) use */
} transform_t;

typedef struct cached {
    char *from, *to; /* to: NUL-terminated, interned (route.h invariant 1) */
    size_t to_len;
} cached_t;

struct sl_router {
    transform_t *t;
    size_t n;
    cached_t *cache; /* cap slots, power of two; from == NULL: free */
    size_t cap, used;
};

static int err(char *errstr, size_t size, const char *fmt, const char *a, const char *b,
               const char *c)
{
    snprintf(errstr, size, fmt, a, b, c);
    return SL_ERR_CONFIG;
}

/* Java regex -> POSIX extended (see route.h); NULL with *why on what we refuse. */
static char *translate(const char *java, const char **why)
{
    sl_buf_t b = SL_BUF_INIT;
    bool in_bracket = false;
    for (const char *p = java; *p; p++) {
        if (in_bracket) {
            if (*p == '\\') {
                *why = "has a backslash inside [...] (POSIX brackets take it literally); write "
                       "the character itself";
                goto refuse;
            }
            in_bracket = *p != ']';
            sl_buf_addc(&b, *p);
            continue;
        }
        if (*p == '[') { /* a ']' right after "[" or "[^" is a member, not the end */
            sl_buf_addc(&b, *p);
            if (p[1] == '^')
                sl_buf_addc(&b, *++p);
            if (p[1] == ']')
                sl_buf_addc(&b, *++p);
            in_bracket = true;
            continue;
        }
        if (*p == '(' && p[1] == '?') {
            *why = "uses a (?...) group, which POSIX regular expressions do not have";
            goto refuse;
        }
        if ((*p == '?' || *p == '+') && p > java && strchr("*+?}", p[-1]) &&
            !(p - java >= 2 && p[-2] == '\\')) {
            *why = "uses a lazy or possessive quantifier, which POSIX regular expressions do not "
                   "have";
            goto refuse;
        }
        if (*p == '\\' && (p[1] == 'd' || p[1] == 'D')) {
            sl_buf_adds(&b, p[1] == 'd' ? "[0-9]" : "[^0-9]");
            p++;
            continue;
        }
        if (*p == '\\' && p[1])
            sl_buf_addc(&b, *p++);
        sl_buf_addc(&b, *p);
    }
    sl_buf_addc(&b, 0);
    if (!sl_buf_ok(&b)) {
        *why = "cannot be read: out of memory";
        goto refuse;
    }
    return b.data;
refuse:
    sl_buf_free(&b);
    return NULL;
}

/* Checks the replacement's references against the number of groups. */
static const char *check_replacement(const char *r, size_t groups)
{
    for (const char *p = r; *p; p++) {
        if (*p == '\\') {
            if (!*++p)
                return "ends with a lone backslash";
        } else if (*p == '$') {
            if (p[1] == '{')
                return "uses a named group reference ${...}, which is not supported";
            if (p[1] < '0' || p[1] > '9')
                return "has a $ not followed by a group number (write \\$ for a dollar sign)";
            if ((size_t)(p[1] - '0') > groups)
                return "refers to a group the regex does not have";
            p++;
        }
    }
    return NULL;
}

/* Compiles transform `name` from its keys; errors name the key and where it was set. */
static int compile(transform_t *t, const sl_conf_t *conf, const char *name, char *errstr,
                   size_t errstr_size)
{
    char type_key[256], regex_key[256], repl_key[256];
    snprintf(type_key, sizeof type_key, PREFIX "%s.type", name);
    snprintf(regex_key, sizeof regex_key, PREFIX "%s.regex", name);
    snprintf(repl_key, sizeof repl_key, PREFIX "%s.replacement", name);
    const char *type = sl_conf_is_set(conf, type_key) ? sl_conf_str(conf, type_key) : NULL;
    if (!type)
        return err(errstr, errstr_size, "%s: transform '%s' has no %s (sluice supports " REGEX_ROUTER ")",
                   sl_conf_origin(conf, TRANSFORMS_KEY), name, type_key);
    if (strcmp(type, REGEX_ROUTER) != 0)
        return err(errstr, errstr_size,
                   "%s: %s: unknown transform type '%s' (sluice supports " REGEX_ROUTER ")",
                   sl_conf_origin(conf, type_key), type_key, type);
    const char *regex = sl_conf_is_set(conf, regex_key) ? sl_conf_str(conf, regex_key) : NULL;
    const char *repl = sl_conf_is_set(conf, repl_key) ? sl_conf_str(conf, repl_key) : NULL;
    if (!regex || !repl)
        return err(errstr, errstr_size, "%s: %s: required key is missing (%s needs it)",
                   sl_conf_origin(conf, type_key), !regex ? regex_key : repl_key, type_key);
    const char *why = NULL;
    char *posix = translate(regex, &why);
    if (!posix)
        return err(errstr, errstr_size, "%s: %s: the regular expression %s",
                   sl_conf_origin(conf, regex_key), regex_key, why);
    const char *cost = sl_regex_problem(posix);
    if (cost) {
        free(posix);
        return err(errstr, errstr_size, "%s: %s: the regular expression %s",
                   sl_conf_origin(conf, regex_key), regex_key, cost);
    }
    size_t len = strlen(posix);
    char *anchored = malloc(len + 5);
    if (!anchored) {
        free(posix);
        return SL_ERR_NOMEM;
    }
    snprintf(anchored, len + 5, "^(%s)$", posix);
    free(posix);
    int rc = regcomp(&t->re, anchored, REG_EXTENDED);
    free(anchored);
    if (rc != 0) {
        char msg[200];
        regerror(rc, &t->re, msg, sizeof msg);
        return err(errstr, errstr_size, "%s: %s: invalid regular expression: %s",
                   sl_conf_origin(conf, regex_key), regex_key, msg);
    }
    if ((why = check_replacement(repl, t->re.re_nsub - 1))) {
        regfree(&t->re);
        return err(errstr, errstr_size, "%s: %s: the replacement %s",
                   sl_conf_origin(conf, repl_key), repl_key, why);
    }
    if (!(t->replacement = strdup(repl))) {
        regfree(&t->re);
        return SL_ERR_NOMEM;
    }
    return SL_OK;
}

/* Every key under debezium.transforms.<name>. must be one a RegexRouter reads. */
struct subkeys {
    const char *bad;
    char buf[256];
};
static void check_subkey(void *ud, const char *subkey, const char *value)
{
    struct subkeys *s = ud;
    const char *dot = strchr(subkey, '.');
    if (s->bad || !dot)
        return;
    if (strcmp(dot + 1, "type") && strcmp(dot + 1, "regex") && strcmp(dot + 1, "replacement")) {
        snprintf(s->buf, sizeof s->buf, PREFIX "%s", subkey);
        s->bad = s->buf;
    }
}

static void router_free_transforms(transform_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        regfree(&t[i].re);
        free(t[i].replacement);
    }
    free(t);
}

int sl_router_create(sl_router_t **out, const sl_conf_t *conf, char *errstr, size_t errstr_size)
{
    *out = NULL;
    struct subkeys s = {0};
    sl_conf_foreach_prefix(conf, PREFIX, check_subkey, &s);
    if (s.bad)
        return err(errstr, errstr_size,
                   "%s: %s: unknown key (a RegexRouter takes type, regex and replacement%s)",
                   sl_conf_origin(conf, s.bad), s.bad,
                   strstr(s.bad, ".predicate") || strstr(s.bad, ".negate")
                       ? "; predicates are not supported"
                       : "");
    char **names = sl_conf_list(conf, TRANSFORMS_KEY);
    if (!names || !names[0]) {
        sl_conf_list_free(names);
        return SL_OK;
    }
    size_t n = 0;
    while (names[n])
        n++;
    sl_router_t *r = calloc(1, sizeof *r);
    transform_t *t = calloc(n, sizeof *t);
    int rc = r && t ? SL_OK : SL_ERR_NOMEM;
    size_t built = 0;
    for (; rc == SL_OK && built < n; built++)
        if ((rc = compile(&t[built], conf, names[built], errstr, errstr_size)) != SL_OK)
            break;
    sl_conf_list_free(names);
    if (rc != SL_OK) {
        router_free_transforms(t, built);
        free(r);
        if (rc == SL_ERR_NOMEM)
            snprintf(errstr, errstr_size, "out of memory");
        return rc;
    }
    r->t = t;
    r->n = n;
    *out = r;
    return SL_OK;
}

int sl_router_validate(const sl_conf_t *conf, char *errstr, size_t errstr_size)
{
    sl_router_t *r;
    int rc = sl_router_create(&r, conf, errstr, errstr_size);
    sl_router_free(r);
    return rc;
}

/* Applies transform t to `in`, appending the result to b. */
static void apply_one(const transform_t *t, const char *in, sl_buf_t *b)
{
    regmatch_t m[10];
    if (regexec(&t->re, in, 10, m, 0) != 0) {
        sl_buf_adds(b, in);
        return;
    }
    for (const char *p = t->replacement; *p; p++) {
        if (*p == '\\') {
            sl_buf_addc(b, *++p);
        } else if (*p == '$') {
            int g = *++p - '0';
            regmatch_t *gm = &m[g == 0 ? 0 : g + 1];
            if (gm->rm_so >= 0)
                sl_buf_add(b, in + gm->rm_so, (size_t)(gm->rm_eo - gm->rm_so));
        } else {
            sl_buf_addc(b, *p);
        }
    }
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static cached_t *slot_of(cached_t *cache, size_t cap, const char *topic)
{
    for (size_t i = hash(topic) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!cache[i].from || strcmp(cache[i].from, topic) == 0)
            return &cache[i];
}

static bool grow(sl_router_t *r)
{
    size_t cap = r->cap ? r->cap * 2 : 64;
    cached_t *c = calloc(cap, sizeof *c);
    if (!c)
        return false;
    for (size_t i = 0; i < r->cap; i++)
        if (r->cache[i].from)
            *slot_of(c, cap, r->cache[i].from) = r->cache[i];
    free(r->cache);
    r->cache = c;
    r->cap = cap;
    return true;
}

const char *sl_router_apply(sl_router_t *r, const char *topic, size_t *len)
{
    if (r->cap) {
        cached_t *hit = slot_of(r->cache, r->cap, topic);
        if (hit->from) {
            *len = hit->to_len;
            return hit->to;
        }
    }
    if ((r->used + 1) * 2 > r->cap && !grow(r))
        return NULL;
    sl_buf_t a = SL_BUF_INIT, b = SL_BUF_INIT;
    sl_buf_adds(&a, topic);
    sl_buf_addc(&a, 0);
    for (size_t i = 0; i < r->n && sl_buf_ok(&a); i++) {
        sl_buf_reset(&b);
        apply_one(&r->t[i], a.data, &b);
        sl_buf_addc(&b, 0);
        sl_buf_t tmp = a;
        a = b;
        b = tmp;
    }
    sl_buf_free(&b);
    char *from = strdup(topic);
    if (!sl_buf_ok(&a) || !from) {
        sl_buf_free(&a);
        free(from);
        return NULL;
    }
    cached_t *c = slot_of(r->cache, r->cap, topic);
    *c = (cached_t){from, a.data, a.len - 1};
    r->used++;
    *len = c->to_len;
    return c->to;
}

void sl_router_free(sl_router_t *r)
{
    if (!r)
        return;
    router_free_transforms(r->t, r->n);
    for (size_t i = 0; i < r->cap; i++) {
        free(r->cache[i].from);
        free(r->cache[i].to);
    }
    free(r->cache);
    free(r);
}
