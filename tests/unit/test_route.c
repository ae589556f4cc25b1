/*
 * test_route.c — unit tests for src/core/route.c (debezium.transforms, RegexRouter).
 *
 * What: routing results (groups, $0, escaped dollars, no match, chained transforms,
 * \d translation, the cache returning the same interned string), and every validation
 * message for what the router refuses. How: configurations are loaded from strings with
 * the core property table (which holds the transform keys).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"
#include "core/plugin.h"
#include "core/route.h"

static sl_conf_t *load(const char *text)
{
    const sl_prop_table_t *tables[] = {&sl_core_props};
    sl_conf_t *conf = NULL;
    char err[512];
    assert_int_equal(sl_conf_load_string(&conf, "t.properties", text, strlen(text), NULL, tables,
                                         1, err, sizeof err),
                     SL_OK);
    return conf;
}

#define ROUTER "debezium.transforms.R.type=org.apache.kafka.connect.transforms.RegexRouter\n"

static void expect_route(sl_router_t *r, const char *in, const char *want)
{
    size_t len = 0;
    const char *got = sl_router_apply(r, in, &len);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
}

static void test_routing(void **state)
{
    /* a properties file drops a backslash before an ordinary character, as Java's does:
     * the regex "inv\.public" is written inv\\.public there */
    sl_conf_t *conf = load("debezium.transforms=R,S\n" ROUTER
                           "debezium.transforms.R.regex=inv\\\\.public\\\\.(.*)\n"
                           "debezium.transforms.R.replacement=dbo.$1.\\\\$\n"
                           "debezium.transforms.S.type=org.apache.kafka.connect.transforms.RegexRouter\n"
                           "debezium.transforms.S.regex=(.*)_(\\\\d+)\\\\.\\\\$\n"
                           "debezium.transforms.S.replacement=$1-all[$0]\n");
    sl_router_t *r;
    char err[512] = "";
    assert_int_equal(sl_router_create(&r, conf, err, sizeof err), SL_OK);
    assert_non_null(r);
    expect_route(r, "inv.public.orders", "dbo.orders.$");        /* R only */
    expect_route(r, "inv.public.orders_2024", "dbo.orders-all[dbo.orders_2024.$]"); /* R then S */
    expect_route(r, "inv.other.orders", "inv.other.orders");     /* whole-topic match only */
    expect_route(r, "xinv.public.orders", "xinv.public.orders"); /* anchored at the start */
    /* the cache hands out one interned copy per topic */
    size_t l1, l2;
    assert_ptr_equal(sl_router_apply(r, "inv.public.orders", &l1),
                     sl_router_apply(r, "inv.public.orders", &l2));
    for (int i = 0; i < 500; i++) { /* growth keeps earlier entries */
        char t[64], want[64];
        snprintf(t, sizeof t, "inv.public.t%d", i);
        snprintf(want, sizeof want, "dbo.t%d.$", i);
        expect_route(r, t, want);
    }
    expect_route(r, "inv.public.orders", "dbo.orders.$");
    sl_router_free(r);
    sl_conf_free(conf);
}

static void test_none_configured(void **state)
{
    sl_conf_t *conf = load("a.b=c\n");
    sl_router_t *r = (sl_router_t *)1;
    char err[256];
    assert_int_equal(sl_router_create(&r, conf, err, sizeof err), SL_OK);
    assert_null(r);
    sl_conf_free(conf);
}

static void expect_invalid(const char *text, const char *message)
{
    sl_conf_t *conf = load(text);
    char err[512] = "";
    assert_int_equal(sl_router_validate(conf, err, sizeof err), SL_ERR_CONFIG);
    assert_string_equal(err, message);
    sl_conf_free(conf);
}

static void test_validation(void **state)
{
    expect_invalid("debezium.transforms=R\n",
                   "t.properties:1: transform 'R' has no debezium.transforms.R.type (sluice "
                   "supports org.apache.kafka.connect.transforms.RegexRouter)");
    expect_invalid("debezium.transforms=R\ndebezium.transforms.R.type=io.debezium.transforms.ByLogicalTableRouter\n",
                   "t.properties:2: debezium.transforms.R.type: unknown transform type "
                   "'io.debezium.transforms.ByLogicalTableRouter' (sluice supports "
                   "org.apache.kafka.connect.transforms.RegexRouter)");
    expect_invalid("debezium.transforms=R\n" ROUTER "debezium.transforms.R.regex=a\n",
                   "t.properties:2: debezium.transforms.R.replacement: required key is missing "
                   "(debezium.transforms.R.type needs it)");
    expect_invalid("debezium.transforms=R\n" ROUTER "debezium.transforms.R.regex=(?i)a\n"
                   "debezium.transforms.R.replacement=b\n",
                   "t.properties:3: debezium.transforms.R.regex: the regular expression uses a "
                   "(?...) group, which POSIX regular expressions do not have");
    expect_invalid("debezium.transforms=R\n" ROUTER "debezium.transforms.R.regex=a.*?b\n"
                   "debezium.transforms.R.replacement=b\n",
                   "t.properties:3: debezium.transforms.R.regex: the regular expression uses a "
                   "lazy or possessive quantifier, which POSIX regular expressions do not have");
    expect_invalid("debezium.transforms=R\n" ROUTER "debezium.transforms.R.regex=a[\\\\.]b\n"
                   "debezium.transforms.R.replacement=b\n",
                   "t.properties:3: debezium.transforms.R.regex: the regular expression has a "
                   "backslash inside [...] (POSIX brackets take it literally); write the "
                   "character itself");
    expect_invalid("debezium.transforms=R\n" ROUTER "debezium.transforms.R.regex=(a\n"
                   "debezium.transforms.R.replacement=b\n",
                   "t.properties:3: debezium.transforms.R.regex: invalid regular expression: "
                   "Unmatched ( or \\(");
    expect_invalid("debezium.transforms=R\n" ROUTER "debezium.transforms.R.regex=(x?)+\n"
                   "debezium.transforms.R.replacement=b\n",
                   "t.properties:3: debezium.transforms.R.regex: the regular expression repeats "
                   "a subexpression that can match the empty string");
    expect_invalid("debezium.transforms=R\n" ROUTER "debezium.transforms.R.regex=(a)\n"
                   "debezium.transforms.R.replacement=$2\n",
                   "t.properties:4: debezium.transforms.R.replacement: the replacement refers "
                   "to a group the regex does not have");
    expect_invalid("debezium.transforms=R\n" ROUTER "debezium.transforms.R.regex=(a)\n"
                   "debezium.transforms.R.replacement=${name}\n",
                   "t.properties:4: debezium.transforms.R.replacement: the replacement uses a "
                   "named group reference ${...}, which is not supported");
    expect_invalid("debezium.transforms=R\n" ROUTER "debezium.transforms.R.regex=a\n"
                   "debezium.transforms.R.replacement=b\n"
                   "debezium.transforms.R.predicate=IsFoo\n",
                   "t.properties:5: debezium.transforms.R.predicate: unknown key (a RegexRouter "
                   "takes type, regex and replacement; predicates are not supported)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_none_configured),
        cmocka_unit_test(test_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
