-- Golden type test for the MySQL/MariaDB source (MariaDB 10.11): one column of
-- every type Debezium's MySQL/MariaDB connectors map, and rows of interesting
-- values:
--   id 1  ordinary values, non-ASCII text (é ü ß in latin1 columns, emoji and CJK
--         in utf8mb4 ones)
--   id 2  extreme values: the minimum of every signed and the maximum of every
--         unsigned integer type, widest decimals, FLOAT/DOUBLE near their
--         limits, BIT all ones, empty strings and binaries, the ends of the
--         temporal ranges, SET with all members, nested JSON
--   id 3  every nullable column NULL
--   id 4  text with quotes, backslashes, tab, newline, CR; NUL bytes in binaries
--   id 5  the other ends: maximum of every signed and zero of every unsigned
--         integer type, the other temporal limits, empty SET, JSON scalars
-- and a table of zero dates (inserted with sql_mode='', which allows them).
--
-- Run it with a utf8mb4 client connection (it says SET NAMES itself), e.g.
-- my_sql_file tests/data/golden/my_types.sql (tests/integration/lib.sh).
-- TIMESTAMP values are given in UTC (time_zone '+00:00').

SET NAMES utf8mb4;
SET SESSION time_zone = '+00:00';
SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

DROP DATABASE IF EXISTS inv;
CREATE DATABASE inv CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
USE inv;

CREATE TABLE types (
    id               INT NOT NULL PRIMARY KEY,
    c_tinyint        TINYINT,
    c_tinyint_u      TINYINT UNSIGNED,
    c_smallint       SMALLINT,
    c_smallint_u     SMALLINT UNSIGNED,
    c_mediumint      MEDIUMINT,
    c_mediumint_u    MEDIUMINT UNSIGNED,
    c_int            INT,
    c_int_u          INT UNSIGNED,
    c_bigint         BIGINT,
    c_bigint_u       BIGINT UNSIGNED,
    c_bool           BOOLEAN,
    c_decimal        DECIMAL(10, 2),
    c_decimal_wide   DECIMAL(65, 30),
    c_decimal_u      DECIMAL(5, 0) UNSIGNED,
    c_float          FLOAT,
    c_double         DOUBLE,
    c_bit1           BIT(1),
    c_bit13          BIT(13),
    c_char_latin1    CHAR(5) CHARACTER SET latin1,
    c_varchar_latin1 VARCHAR(40) CHARACTER SET latin1,
    c_varchar_utf8   VARCHAR(40) CHARACTER SET utf8mb4,
    c_text           TEXT CHARACTER SET utf8mb4,
    c_tinytext       TINYTEXT,
    c_mediumtext     MEDIUMTEXT,
    c_longtext       LONGTEXT,
    c_binary         BINARY(4),
    c_varbinary      VARBINARY(10),
    c_blob           BLOB,
    c_tinyblob       TINYBLOB,
    c_longblob       LONGBLOB,
    c_date           DATE,
    c_datetime       DATETIME,
    c_datetime3      DATETIME(3),
    c_datetime6      DATETIME(6),
    c_timestamp      TIMESTAMP NULL,
    c_timestamp6     TIMESTAMP(6) NULL,
    c_time           TIME,
    c_time6          TIME(6),
    c_year           YEAR,
    c_enum           ENUM('a', 'b', 'c d'),
    c_set            SET('x', 'y', 'z'),
    c_json           JSON,
    c_geometry       GEOMETRY,
    c_point          POINT
) ENGINE = InnoDB;

INSERT INTO types VALUES
-- 1: ordinary values
(1,
 -12, 200, -1234, 60000, -123456, 16000000, -123456789, 4000000000,
 -1234567890123, 12345678901234567890, TRUE,
 12345.67, 3.141592653589793238462643383279, 42,
 3.14159, 2.718281828459045,
 b'1', b'1010101010101',
 'éüß', 'Grüße aus Köln, café', '😀 emoji, 漢字 CJK', 'Ünïcödé text 🚀 中文 한국어',
 'tiny', 'medium text', 'long text',
 X'DEADBEEF', X'0102030405', X'CAFEBABE00', X'7F', X'0123456789ABCDEF',
 '2024-02-29', '2024-02-29 13:45:30', '2024-02-29 13:45:30.123', '2024-02-29 13:45:30.123456',
 '2024-02-29 13:45:30', '2024-02-29 13:45:30.123456',
 '13:45:30', '13:45:30.123456', 2024,
 'b', 'x,z',
 '{"a": [1, 2, 3], "b": "text", "c": {"d": true}}',
 ST_GeomFromText('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))'),
 ST_PointFromText('POINT(1.5 2.5)')),
-- 2: extreme values
(2,
 -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295,
 -9223372036854775808, 18446744073709551615, FALSE,
 -99999999.99, -99999999999999999999999999999999999.999999999999999999999999999999, 99999,
 3.4e38, 1e308,
 b'1', b'1111111111111',
 '', '', '', '',
 '', '', '',
 '', '', '', '', '',
 '1000-01-01', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999', '9999-12-31 23:59:59.999999',
 '2038-01-19 03:14:07', '2038-01-19 03:14:07.999999',
 '-838:59:59', '12:34:56.789012', 2155,
 'c d', 'x,y,z',
 '{"nested": {"arr": [1, -2.5, 1e300, 18446744073709551615, -9223372036854775808, true, false, null], "unicode": "é ü ß 😀 中文", "escaped": "\\u00e9 \\" \\\\ \\n"}, "empty": {}, "list": [[], [{}], [[1]]]}',
 ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 1 1, 2 4), POLYGON((0 0, 1 0, 1 1, 0 0)))'),
 ST_PointFromText('POINT(-180 -90)')),
-- 3: all NULL
(3,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL,
 NULL, NULL, NULL,
 NULL, NULL,
 NULL, NULL,
 NULL, NULL, NULL, NULL,
 NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL,
 NULL, NULL,
 NULL, NULL, NULL,
 NULL, NULL,
 NULL,
 NULL,
 NULL),
-- 4: quotes, backslashes, control characters, NUL bytes
(4,
 0, 0, 0, 0, 0, 0, 0, 0,
 0, 0, NULL,
 0.00, 0.000000000000000000000000000001, 0,
 0, -0.0,
 b'0', b'0000000000001',
 'a''b\\', 'it''s "quoted" \\ back\\slash', 'tab\there\nnewline\r\nCRLF', 'single '' double " backslash \\ tab \t newline \n end',
 '\\', '\'', '"',
 X'00000000', 'a\0b\0', X'00FF00FF', X'00', X'5C00275C',
 NULL, NULL, NULL, NULL,
 NULL, NULL,
 NULL, NULL, NULL,
 NULL, NULL,
 '{"q": "it''s \\"quoted\\"", "bs": "a\\\\b", "ctl": "tab\\tnl\\n", "nul": "\\u0000"}',
 NULL,
 NULL),
-- 5: the other ends
(5,
 127, 0, 32767, 0, 8388607, 0, 2147483647, 0,
 9223372036854775807, 0, TRUE,
 99999999.99, 99999999999999999999999999999999999.999999999999999999999999999999, 0,
 -3.4e38, 2.2250738585072014e-308,
 b'0', b'0000000000000',
 'ABCDE', REPEAT('x', 40), REPEAT('😀', 40), REPEAT('ab', 1000),
 REPEAT('t', 255), REPEAT('m', 70000), REPEAT('l', 100000),
 X'FFFFFFFF', X'FFFFFFFFFFFFFFFFFFFF', REPEAT(X'AB', 1000), REPEAT(X'FF', 255), REPEAT(X'01', 100000),
 '9999-12-31', '1000-01-01 00:00:00', '1000-01-01 00:00:00.000', '1000-01-01 00:00:00.000000',
 '1970-01-01 00:00:01', '1970-01-01 00:00:01.000001',
 '838:59:59', '-00:00:00.000001', 1901,
 'a', '',
 '"just a string"',
 ST_GeomFromText('POINT(0 0)'),
 ST_PointFromText('POINT(0 0)'));

-- Zero dates: only accepted without NO_ZERO_DATE / NO_ZERO_IN_DATE / strict mode.
CREATE TABLE zero_dates (
    id  INT NOT NULL PRIMARY KEY,
    d   DATE NOT NULL,
    dn  DATE NULL,
    dt  DATETIME NOT NULL,
    dtn DATETIME NULL
) ENGINE = InnoDB;

SET SESSION sql_mode = '';
INSERT INTO zero_dates VALUES
 (1, '0000-00-00', '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00'),
 (2, '2024-00-00', '2024-02-00', '2024-00-15 10:00:00', '0000-01-01 00:00:00'),
 (3, '2024-01-15', NULL, '2024-01-15 10:20:30', NULL);
SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';
