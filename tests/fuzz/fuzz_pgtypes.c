/*
 * fuzz_pgtypes.c — libFuzzer target for the PostgreSQL value converters.
 *
 * Input: byte 0 picks the type OID (builtins and their arrays), byte 1 the typmod
 * (low nibble) and decimal.handling.mode (high nibble); the rest is the value's
 * text form as the server would send it. Checks: no crash, no out-of-bounds, a
 * failed conversion appends nothing, the buffer stays NUL-terminated.
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "source/pg/pgtypes.h"

static const uint32_t oids[] = {16,   17,   18,   20,   21,   23,   25,   26,   114,  700,  701,
                                790,  1082, 1083, 1114, 1184, 1186, 1266, 1560, 1562, 1700, 2950,
                                1000, 1001, 1005, 1007, 1009, 1016, 1021, 1022, 1115, 1182, 1183,
                                1185, 1187, 1231, 1270, 1561, 1563, 600,  1017, 603,  1020};
static const int32_t mods[] = {-1, 0, 3, 6, 1, 8, ((10 << 16) | 2) + 4, ((5 << 16) | 0) + 4,
                               ((3 << 16) | (0x7ff & -2)) + 4};

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    if (n < 2)
        return 0;
    uint32_t oid = oids[d[0] % (sizeof oids / sizeof *oids)];
    int32_t mod = mods[(d[1] & 15) % (sizeof mods / sizeof *mods)];
    sl_pgtype_opts_t o = {(d[1] >> 4) % 3};
    sl_pgconv_t *c;
    if (sl_pgconv_new(&c, oid, mod, NULL, NULL, &o, NULL, 0) != SL_OK)
        return 0;
    sl_buf_t b = SL_BUF_INIT;
    sl_buf_adds(&b, "x");
    char *t = malloc(n - 2 ? n - 2 : 1); /* exact size: ASan catches any over-read */
    memcpy(t, d + 2, n - 2);
    int rc = sl_pgconv_value(c, &b, t, n - 2);
    if (rc != SL_OK && (b.len != 1 || b.data[1] != 0))
        abort();
    if (b.data[b.len] != 0)
        abort();
    sl_pgconv_unavailable(c, &b);
    sl_pgconv_schema(c, &b, "f", true);
    free(t);
    sl_buf_free(&b);
    sl_pgconv_free(c);
    return 0;
}
