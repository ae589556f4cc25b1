/*
 * registry.c — the sources and sinks compiled into this binary.
 *
 * The only file that names them. Adding a sink is: a folder under src/sink/,
 * one sl_sink_ops_t, one line here.
 */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "core/plugin.h"

extern const sl_source_ops_t sl_source_postgres;
extern const sl_source_ops_t sl_source_mysql;
extern const sl_sink_ops_t sl_sink_file;
extern const sl_sink_ops_t sl_sink_stdout;
extern const sl_sink_ops_t sl_sink_kafka;
extern const sl_sink_ops_t sl_sink_jdbc;

const sl_source_ops_t *const sl_sources[] = {&sl_source_postgres, &sl_source_mysql, NULL};
const sl_sink_ops_t *const sl_sinks[] = {&sl_sink_file, &sl_sink_stdout, &sl_sink_kafka, &sl_sink_jdbc,
                                         NULL};

const sl_source_ops_t *sl_registry_source(const char *connector_class)
{
    if (!connector_class)
        return NULL;
    for (size_t i = 0; sl_sources[i]; i++)
        for (size_t j = 0; sl_sources[i]->classes[j]; j++)
            if (strcasecmp(sl_sources[i]->classes[j], connector_class) == 0)
                return sl_sources[i]->abi == SL_SOURCE_ABI ? sl_sources[i] : NULL;
    return NULL;
}

const sl_sink_ops_t *sl_registry_sink(const char *type)
{
    if (!type)
        return NULL;
    for (size_t i = 0; sl_sinks[i]; i++)
        if (strcasecmp(sl_sinks[i]->name, type) == 0)
            return sl_sinks[i]->abi == SL_SINK_ABI ? sl_sinks[i] : NULL;
    return NULL;
}

const sl_prop_table_t *const *sl_registry_tables(size_t *n)
{
    static const sl_prop_table_t *tables[16];
    static size_t count;
    if (count == 0) {
        tables[count++] = &sl_core_props;
        for (size_t i = 0; sl_sources[i]; i++)
            tables[count++] = sl_sources[i]->props;
        for (size_t i = 0; sl_sinks[i]; i++)
            if (sl_sinks[i]->props->n)
                tables[count++] = sl_sinks[i]->props;
        tables[count] = NULL;
    }
    *n = count;
    return tables;
}
