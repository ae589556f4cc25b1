/* placeholder, replaced in this session */
#include "core/err.h"
#include "sink/jdbc/jdbc.h"
#include <stdio.h>
static int open_(jdbc_conn_t **out, const char *url, const char *user, const char *password,
                 char *errstr, size_t errstr_size)
{
    (void)out, (void)url, (void)user, (void)password;
    snprintf(errstr, errstr_size, "jdbc sink: this target is not built yet");
    return SL_ERR_UNSUPPORTED;
}
const jdbc_target_t jdbc_target_sqlite = {.name = "sqlite", .url_prefixes = {"jdbc:sqlite:"}, .open = open_};
