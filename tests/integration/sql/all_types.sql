-- all_types.sql: one database with everything a full copy must reproduce exactly.
-- Load into an empty database: psql -X -v ON_ERROR_STOP=1 -f all_types.sql
-- Small on purpose (~51k rows, a 16 MB database, loads in under a second); public.big_table
-- has ~50,000 rows so a small --split-tables-larger-than cuts it into ctid ranges.

SET client_min_messages = warning;
SET TimeZone = 'UTC';

CREATE EXTENSION hstore;
CREATE EXTENSION citext;

-- ---------------------------------------------------------------------------------------------
-- User-defined types
-- ---------------------------------------------------------------------------------------------

CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'ünïcödé mood');
CREATE TYPE address AS (street text, number int, zip varchar(10), tags text[]);
-- A composite with a user-defined field: binary COPY sends the field's type OID.
CREATE TYPE tagged AS (label mood, weight numeric, attrs hstore);
CREATE DOMAIN positive_int AS integer CHECK (VALUE > 0);
CREATE DOMAIN us_zip AS text CHECK (VALUE ~ '^[0-9]{5}$');

-- ---------------------------------------------------------------------------------------------
-- Every built-in type, with edge values and NULLs. Only types whose binary COPY form carries no
-- OID of a user-defined type, so this table can travel as COPY BINARY; arrays of user types and
-- composites are in user_types below.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE all_types (
    id              integer PRIMARY KEY,
    c_int2          int2,
    c_int4          int4,
    c_int8          int8,
    c_numeric       numeric,
    c_numeric_p     numeric(30, 10),
    c_float4        float4,
    c_float8        float8,
    c_bool          boolean,
    c_text          text,
    c_text_c        text COLLATE "C",
    c_varchar       varchar(20),
    c_varchar_any   varchar,
    c_char          char(5),
    c_qchar         "char",
    c_name          name,
    c_bytea         bytea,
    c_date          date,
    c_time          time,
    c_time3         time(3),
    c_timetz        timetz,
    c_timestamp     timestamp,
    c_timestamp0    timestamp(0),
    c_timestamptz   timestamptz,
    c_interval      interval,
    c_interval_hm   interval hour to minute,
    c_uuid          uuid,
    c_json          json,
    c_jsonb         jsonb,
    c_xml           xml,
    c_inet          inet,
    c_cidr          cidr,
    c_macaddr       macaddr,
    c_macaddr8      macaddr8,
    c_money         money,
    c_bit           bit(8),
    c_varbit        bit varying(16),
    c_point         point,
    c_line          line,
    c_lseg          lseg,
    c_box           box,
    c_path          path,
    c_polygon       polygon,
    c_circle        circle,
    c_tsvector      tsvector,
    c_tsquery       tsquery,
    c_int4range     int4range,
    c_int8range     int8range,
    c_numrange      numrange,
    c_tsrange       tsrange,
    c_tstzrange     tstzrange,
    c_daterange     daterange,
    c_int4multi     int4multirange,
    c_datemulti     datemultirange,
    c_oid           oid,
    c_pg_lsn        pg_lsn,
    c_xid8          xid8,
    c_tid           tid,
    c_int4_arr      int4[],
    c_int8_2d       int8[][],
    c_text_arr      text[],
    c_numeric_arr   numeric[],
    c_float8_arr    float8[],
    c_bool_arr      boolean[],
    c_bytea_arr     bytea[],
    c_tstz_arr      timestamptz[],
    c_uuid_arr      uuid[],
    c_jsonb_arr     jsonb[],
    c_inet_arr      inet[],
    c_int4_3d       int4[],
    c_range_arr     int4range[],
    c_mood          mood,
    c_positive      positive_int,
    c_zip           us_zip,
    c_hstore        hstore,
    c_citext        citext
);

-- Row 1: minimum / negative / special values.
INSERT INTO all_types VALUES (
    1, -32768, -2147483648, -9223372036854775808,
    '-Infinity', -99999999999999999999.9999999999, '-Infinity', '-Infinity', false,
    '', '', '', '', '', '', '', '\x',
    '-infinity', '00:00:00', '00:00:00.000', '00:00:00-15:59', '-infinity', '4713-01-01 00:00:00 BC',
    '-infinity', '-178000000 years', '-100:59',
    '00000000-0000-0000-0000-000000000000', '[]', '[]', '', '0.0.0.0/0', '0.0.0.0/0',
    '00:00:00:00:00:00', '00:00:00:00:00:00:00:00', '-92233720368547758.08',
    B'00000000', B'',
    '(-1e300,-1e300)', '{1,-1,0}', '[(0,0),(0,0)]', '(0,0),(0,0)', '[(0,0)]', '((0,0))', '<(0,0),0>',
    '', '!x', 'empty', 'empty', 'empty', 'empty', 'empty', 'empty', '{}', '{}',
    0, '0/0', '0', '(0,0)',
    '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}',
    'sad', 1, '00000', '', ''
);

-- Row 2: maximum / positive / special values, multibyte text, bytes with \x00.
INSERT INTO all_types VALUES (
    2, 32767, 2147483647, 9223372036854775807,
    'NaN', 99999999999999999999.9999999999, 'NaN', 'NaN', true,
    E'Grüße, 日本語, emoji 🎉🐘, tab\there, newline\nhere, CR\rhere, backslash \\ and quote '' "',
    E'\\N', 'exactly twenty chars', repeat('x', 10000), 'ab', 'Z', repeat('n', 63), '\x00ff00fe0000',
    'infinity', '24:00:00', '23:59:59.999', '24:00:00+15:59', 'infinity', '294276-12-31 23:59:59',
    'infinity', '178000000 years 11 months 30 days 23:59:59.999999', '100:59',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    '{"dup": 1, "dup": 2,   "ws" :  [1, 2.50, 1e3], "u": "\u00e9\ud83d\ude00"}',
    '{"nested": {"a": [1, 2.50, {"b": null}], "s": "🎉"}, "n": 1e3, "big": 123456789012345678901234567890}',
    '<?xml version="1.0"?><doc a="1"><child>text &amp; more</child><empty/></doc>',
    '2001:db8::ff00:42:8329/128', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff',
    '92233720368547758.07', B'11111111', B'1111111111111111',
    '(1e300,1e300)', '{0,1,-5}', '[(-1.5,2.25),(3,4)]', '(3,4),(-1.5,2.25)', '[(0,0),(1,1),(2,0)]',
    '((0,0),(4,0),(4,4),(0,4))', '<(1.5,2.5),10>',
    'a:1A fat:2B,4C cat:5D ''quoted'':6 ünïcödé:7', '!fat & (rat | cat) <-> ''mouse'':*',
    '(,)', '[-9223372036854775808,9223372036854775807)', '(,)', '(,)', '[2020-01-01 00:00+00,infinity)',
    '[-infinity,infinity]', '{[1,3), [5,7), [10,)}', '{[2020-01-01,2020-02-01), [2021-01-01,)}',
    4294967295, 'FFFFFFFF/FFFFFFFF', '18446744073709551615', '(4294967295,65535)',
    '{1,NULL,3,-2147483648}', '{{1,2,3},{4,NULL,6}}',
    '{"a,b","",NULL,"NULL","quote\"d","back\\\\slash","multi 日本"}',
    '{NaN,Infinity,-Infinity,0.0000000000000000000001,NULL}', '{NaN,Infinity,-Infinity,-0,NULL}',
    '{t,f,NULL}', '{"\\x00",NULL,"\\xdeadbeef"}', '{infinity,-infinity,"2000-01-01 00:00+00",NULL}',
    '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}', ARRAY['{"k": [1]}'::jsonb, NULL, 'null'::jsonb],
    '{192.168.0.1/24,::1,NULL}', '[0:1][-1:0][1:2]={{{1,2},{3,4}},{{5,6},{7,NULL}}}',
    '{"[1,5)",empty,NULL,"(,)"}',
    'ünïcödé mood', 2147483647, '99999',
    '"a"=>"1", "b"=>NULL, "ünï"=>"cödé", "quote\""=>"back\\slash", ""=>""',
    'MiXeD CaSe Ünïcödé'
);

-- Row 3: small / subnormal / fractional values; -0; non-default array lower bound.
INSERT INTO all_types VALUES (
    3, 0, 0, 0,
    ('0.' || repeat('0', 900) || '1')::numeric, 0.0000000001, '-0', '-0', NULL,
    'ok', 'ok', 'ok', 'ok', 'a', E'\\', 'name with spaces', '\x00',
    '2000-02-29', '12:34:56.789012', '12:34:56.789', '12:34:56.789012+05:30',
    '2000-02-29 12:34:56.789012', '2000-02-29 12:34:56', '2000-02-29 12:34:56.789012+05:30',
    '-1 mons +2 days -03:04:05.000006', '-0:01',
    '123e4567-e89b-12d3-a456-426614174000', 'null', 'null', 'fragment <a/>text<b>x</b>',
    '10.0.0.1', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', '0.01',
    B'10101010', B'1',
    '(1.17549435e-38,4.9e-324)', '{1e-300,1e300,1}', '[(1,2),(3,4)]', '(1,1),(0,0)', '((1,2),(3,4),(5,6))',
    '((0,0),(1,1),(1,0))', '<(0,0),0.000001>',
    '''it''''s'' simple ''two words'':3', 'a & b',
    '[1,2)', '[1,2)', '[0.000001,1e20]', '[2000-01-01 00:00,2000-01-01 00:00]',
    '(-infinity,2000-01-01 00:00+00]', '[2000-02-28,2000-03-01)', '{[1,2)}', '{(,)}',
    16384, '16/B374D848', '12345', '(1,1)',
    '[0:2]={7,8,9}', '{{-9223372036854775808},{9223372036854775807}}', '{""}', '{0.0,-0.0}',
    '{1.17549435e-38,4.9e-324}', '{}', '{"\\x"}', '{"2000-01-01 00:00+00"}', '{}', '{}', '{}',
    '{{{1}}}', '{}',
    'ok', 42, '00501', 'a=>b', ''
);

-- Row 4: NULL in every nullable column.
INSERT INTO all_types (id) VALUES (4);

-- Rows 5..304: ordinary varied values.
INSERT INTO all_types
SELECT i,
       (i % 32767)::int2, i * 7919, i::int8 * 1000000007,
       (i * 3.14159265358979)::numeric * 10 ^ (i % 40 - 20), round(i / 7.0, 10), i / 3.0::float4, i / 7.0::float8,
       i % 2 = 0,
       'row ' || i || ' ' || repeat('ü', i % 7), 'c' || i, left('v' || md5(i::text), 20),
       md5(i::text), lpad(i::text, 5, '0'), chr(65 + i % 26), 'n' || i, decode(md5(i::text), 'hex'),
       date '2000-01-01' + i, time '00:00' + i * interval '1 minute', time '00:00:00.123' + i * interval '1 s',
       (time '10:00' + i * interval '1 second')::timetz, timestamp '2000-01-01' + i * interval '1 hour 1 second',
       timestamp '2020-06-01' + i * interval '1 day', timestamptz '2000-01-01 00:00+00' + i * interval '37 minutes',
       i * interval '1 day 1 hour 1 minute 1.5 second', i * interval '1 minute',
       md5(i::text)::uuid, json_build_object('i', i, 'sq', i * i), jsonb_build_object('i', i, 'tags', jsonb_build_array('t' || i % 5, i % 3 = 0)),
       xmlelement(name row, xmlattributes(i AS n), 'value ' || i),
       ('10.' || i % 256 || '.' || (i / 256) % 256 || '.1')::inet, ('10.' || i % 256 || '.0.0/16')::cidr,
       ('08:00:2b:00:' || lpad(to_hex(i / 256), 2, '0') || ':' || lpad(to_hex(i % 256), 2, '0'))::macaddr,
       ('08:00:2b:00:00:00:' || lpad(to_hex(i / 256), 2, '0') || ':' || lpad(to_hex(i % 256), 2, '0'))::macaddr8,
       (i * 1.25)::numeric::money, (i % 256)::bit(8), ((i % 65536)::bit(16))::varbit,
       point(i, -i), line(point(0, 0), point(i, i + 1)), lseg(point(0, i), point(i, 0)), box(point(0, 0), point(i, i)),
       path(polygon(box(point(0, 0), point(i, i)))), polygon(box(point(0, 0), point(i, 1))), circle(point(i, i), i),
       to_tsvector('english', 'The quick brown fox number ' || i), to_tsquery('english', 'fox & ' || 'n' || i),
       int4range(i, i + 10), int8range(i, NULL), numrange(i / 3.0, i), tsrange(timestamp '2000-01-01' + i * interval '1 day', NULL),
       tstzrange(timestamptz '2000-01-01 00:00+00', timestamptz '2000-01-01 00:00+00' + i * interval '1 day', '[]'),
       daterange(date '2000-01-01', date '2000-01-01' + i), int4multirange(int4range(0, i), int4range(i + 5, i + 6)),
       datemultirange(daterange(date '2000-01-01', date '2000-01-01' + i)),
       i::oid, (i || '/' || to_hex(i * 4096))::pg_lsn, i::text::xid8, ('(' || i || ',' || i % 100 || ')')::tid,
       ARRAY[i, i + 1, NULL], ARRAY[ARRAY[i::int8, -i], ARRAY[NULL, 0]], ARRAY['t' || i, NULL, ''],
       ARRAY[i / 3.0, NULL], ARRAY[i / 3.0::float8, 'NaN'], ARRAY[i % 2 = 0], ARRAY[decode(md5(i::text), 'hex')],
       ARRAY[timestamptz '2000-01-01 00:00+00' + i * interval '1 s'], ARRAY[md5(i::text)::uuid], ARRAY[jsonb_build_object('i', i)],
       ARRAY[('192.168.' || i % 256 || '.1')::inet], NULL, ARRAY[int4range(i, i + 1)],
       (ARRAY['sad', 'ok', 'happy', 'ünïcödé mood'])[1 + i % 4]::mood,
       i, lpad(i::text, 5, '0'),
       hstore(ARRAY['k1', 'k2'], ARRAY[i::text, NULL]),
       'User' || i || '@Example.COM'
FROM generate_series(5, 304) AS i;

-- Composites and arrays of user-defined types: their binary form carries the OIDs of the user
-- types (record_send, array_send), which differ between source and target. PostgreSQL 15 accepts
-- a mismatch when either OID is not built in, but a copier may prefer text COPY for them.
CREATE TABLE user_types (
    id              integer PRIMARY KEY,
    u_mood_arr      mood[],
    u_address       address,
    u_address_arr   address[],
    u_tagged        tagged,
    u_hstore_arr    hstore[],
    u_citext_arr    citext[],
    u_positive_arr  positive_int[]
);
INSERT INTO user_types VALUES
    (1, '{}', ROW(NULL, NULL, NULL, NULL), '{}', ROW(NULL, NULL, NULL), '{}', '{}', '{}'),
    (2, '{happy,NULL,sad,"ünïcödé mood"}',
        ROW('Main St, "Apt" 1', 42, '12345', ARRAY['a', NULL, 'b,c']),
        ARRAY[ROW('A', 1, '1', '{}')::address, NULL, ROW(NULL, NULL, NULL, NULL)::address],
        ROW('happy', 1.5, 'k=>v, "key with space"=>NULL'),
        ARRAY['a=>1'::hstore, NULL, ''::hstore], '{AbC,NULL,aBc}', '{1,NULL,2147483647}'),
    (3, '{ok}', ROW('', 0, '', '{}'), '{}', ROW('ok', 'NaN', ''), '{}', '{""}', '[0:0]={7}'),
    (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO user_types
SELECT i,
       ARRAY[(ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::mood, 'ok'],
       ROW('Street ' || i, i, lpad(i::text, 5, '0'), ARRAY['x' || i])::address,
       ARRAY[ROW('S' || i, i, NULL, NULL)::address],
       ROW((ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::mood, i / 4.0, hstore('k', i::text))::tagged,
       ARRAY[hstore('i', i::text)], ARRAY[('Tag' || i)::citext], ARRAY[i, i + 1]::positive_int[]
FROM generate_series(5, 104) AS i;

-- ---------------------------------------------------------------------------------------------
-- Quoted mixed-case names
-- ---------------------------------------------------------------------------------------------

CREATE SCHEMA "MixedSchema";
CREATE TABLE "MixedSchema"."Weird Table" (
    id          serial PRIMARY KEY,
    "Col.Dot"   text,
    "UPPER"     integer,
    "select"    boolean,
    "it's ""q"" col" text,
    "日本語"     text
);
INSERT INTO "MixedSchema"."Weird Table" ("Col.Dot", "UPPER", "select", "it's ""q"" col", "日本語")
SELECT 'dot ' || i, i * 10, i % 2 = 1, 'q' || i, '名前' || i FROM generate_series(1, 25) AS i;

-- Same name in two cases: a filter must tell public."CaseTable" from public.casetable.
CREATE TABLE "CaseTable" (id int PRIMARY KEY, v text);
CREATE TABLE casetable (id int PRIMARY KEY, v text);
INSERT INTO "CaseTable" SELECT i, 'upper ' || i FROM generate_series(1, 5) AS i;
INSERT INTO casetable SELECT i, 'lower ' || i FROM generate_series(1, 7) AS i;

-- ---------------------------------------------------------------------------------------------
-- Identity and generated columns; a dropped column; a column added with a default later
-- ---------------------------------------------------------------------------------------------

CREATE TABLE identity_generated (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    by_default  bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 1000 INCREMENT BY 10),
    price       numeric(10, 2) NOT NULL,
    qty         integer NOT NULL,
    total       numeric GENERATED ALWAYS AS (price * qty) STORED,
    label       text
);
INSERT INTO identity_generated (price, qty, label)
SELECT i * 1.5, i % 7, 'item ' || i FROM generate_series(1, 100) AS i;
INSERT INTO identity_generated (by_default, price, qty, label) VALUES (5, 9.99, 3, 'explicit by-default id');
-- A gap in the identity sequence that a copy must keep (next id is 106, not 102).
SELECT nextval(pg_get_serial_sequence('identity_generated', 'id')) FROM generate_series(1, 4);
INSERT INTO identity_generated (price, qty, label) VALUES (1, 1, 'after gap');

CREATE TABLE dropped_column (
    id      integer PRIMARY KEY,
    keep_a  text,
    gone    text,
    keep_b  integer
);
INSERT INTO dropped_column SELECT i, 'a' || i, repeat('gone', 10), i * 2 FROM generate_series(1, 60) AS i;
ALTER TABLE dropped_column DROP COLUMN gone;
INSERT INTO dropped_column SELECT i, 'a' || i, i * 2 FROM generate_series(61, 80) AS i;
-- A "fast default": rows above get the value from the catalogue, not from their tuples.
ALTER TABLE dropped_column ADD COLUMN added_later text NOT NULL DEFAULT 'fast default';
ALTER TABLE dropped_column ADD COLUMN added_volatile timestamptz DEFAULT '2001-02-03 04:05:06+00';
INSERT INTO dropped_column (id, keep_a, keep_b, added_later) VALUES (81, 'a81', 162, 'explicit');

-- ---------------------------------------------------------------------------------------------
-- Partitioning: range partitions, a DEFAULT, a sub-partitioned one, a leaf with another column
-- order (attached), a dropped column in the parent
-- ---------------------------------------------------------------------------------------------

CREATE TABLE measurements (
    id          bigint NOT NULL,
    measured_on date NOT NULL,
    region      text NOT NULL,
    obsolete    int,
    value       double precision,
    PRIMARY KEY (id, measured_on, region)
) PARTITION BY RANGE (measured_on);
ALTER TABLE measurements DROP COLUMN obsolete;

CREATE TABLE measurements_2022 PARTITION OF measurements
    FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');
-- Built standalone with a different physical column order, then attached.
CREATE TABLE measurements_2023 (
    value       double precision,
    region      text NOT NULL,
    id          bigint NOT NULL,
    measured_on date NOT NULL
);
ALTER TABLE measurements ATTACH PARTITION measurements_2023
    FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE measurements_2024 PARTITION OF measurements
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (region);
CREATE TABLE measurements_2024_eu PARTITION OF measurements_2024 FOR VALUES IN ('eu');
CREATE TABLE measurements_2024_other PARTITION OF measurements_2024 DEFAULT;
CREATE TABLE measurements_default PARTITION OF measurements DEFAULT;

INSERT INTO measurements (id, measured_on, region, value)
SELECT i, date '2021-07-01' + (i * 3) % 1460, (ARRAY['eu', 'us', 'apac'])[1 + i % 3], i / 10.0
FROM generate_series(1, 600) AS i;

-- ---------------------------------------------------------------------------------------------
-- Unlogged table; table inheritance (copy must read parents with ONLY)
-- ---------------------------------------------------------------------------------------------

CREATE UNLOGGED TABLE unlogged_cache (key text PRIMARY KEY, value jsonb, expires timestamptz);
INSERT INTO unlogged_cache
SELECT 'key' || i, jsonb_build_object('v', i), timestamptz '2030-01-01 00:00+00' + i * interval '1 minute'
FROM generate_series(1, 50) AS i;

CREATE TABLE inherit_parent (id int, note text);
CREATE TABLE inherit_child (extra int) INHERITS (inherit_parent);
INSERT INTO inherit_parent VALUES (1, 'parent row'), (2, 'parent row 2');
INSERT INTO inherit_child VALUES (3, 'child row', 30);

-- ---------------------------------------------------------------------------------------------
-- Foreign keys: a normal one, and a DEFERRABLE INITIALLY DEFERRED cycle; a NOT VALID FK and a
-- NOT VALID CHECK with rows that violate them
-- ---------------------------------------------------------------------------------------------

CREATE TABLE customers (id integer PRIMARY KEY, email citext UNIQUE NOT NULL, name text);
CREATE TABLE orders (
    id          integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    amount      numeric(12, 2) NOT NULL,
    status      mood NOT NULL DEFAULT 'ok',
    placed_at   timestamptz NOT NULL
);
INSERT INTO customers SELECT i, 'Customer' || i || '@Example.com', 'Customer ' || i FROM generate_series(1, 40) AS i;
INSERT INTO orders
SELECT i, 1 + i % 40, (i * 13.37)::numeric(12, 2), (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::mood,
       timestamptz '2024-01-01 00:00+00' + i * interval '5 hours'
FROM generate_series(1, 200) AS i;

CREATE TABLE employees (id integer PRIMARY KEY, name text NOT NULL, department_id integer NOT NULL);
CREATE TABLE departments (id integer PRIMARY KEY, name text NOT NULL, head_id integer NOT NULL);
ALTER TABLE employees ADD CONSTRAINT employees_department_fk FOREIGN KEY (department_id)
    REFERENCES departments (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE departments ADD CONSTRAINT departments_head_fk FOREIGN KEY (head_id)
    REFERENCES employees (id) DEFERRABLE INITIALLY DEFERRED;
BEGIN;
INSERT INTO employees SELECT i, 'Employee ' || i, 1 + i % 4 FROM generate_series(1, 30) AS i;
INSERT INTO departments SELECT i, 'Department ' || i, i FROM generate_series(1, 4) AS i;
COMMIT;

CREATE TABLE legacy_rows (id integer PRIMARY KEY, customer_id integer, qty integer);
INSERT INTO legacy_rows VALUES (1, 1, 5), (2, 9999, -1), (3, NULL, 0);
ALTER TABLE legacy_rows ADD CONSTRAINT legacy_rows_customer_fk FOREIGN KEY (customer_id)
    REFERENCES customers (id) NOT VALID;
ALTER TABLE legacy_rows ADD CONSTRAINT legacy_rows_qty_check CHECK (qty >= 0) NOT VALID;

-- ---------------------------------------------------------------------------------------------
-- Sequences
-- ---------------------------------------------------------------------------------------------

CREATE SEQUENCE seq_advanced;
SELECT setval('seq_advanced', 12345);
CREATE SEQUENCE seq_fresh START WITH 100;  -- never called: is_called = false
CREATE SEQUENCE seq_not_called;
SELECT setval('seq_not_called', 42, false);
CREATE SEQUENCE seq_descending INCREMENT BY -3 MINVALUE -1000 MAXVALUE 10 START WITH 10 CYCLE;
SELECT nextval('seq_descending') FROM generate_series(1, 5);
CREATE SEQUENCE "MixedSchema"."Mixed Seq" AS smallint;
SELECT setval('"MixedSchema"."Mixed Seq"', 32000);

-- ---------------------------------------------------------------------------------------------
-- Large objects: ~100 KB of binary bytes (incl. \x00), a small one, an empty one
-- ---------------------------------------------------------------------------------------------

SELECT lo_from_bytea(424241, (SELECT string_agg(decode(md5(i::text), 'hex'), ''::bytea ORDER BY i)
                         FROM generate_series(1, 6400) AS i));
SELECT lo_from_bytea(424242, convert_to('small large object: Grüße', 'UTF8'));
SELECT lo_from_bytea(424243, '\x');
COMMENT ON LARGE OBJECT 424242 IS 'a large object with a comment';
CREATE TABLE documents (id integer PRIMARY KEY, title text, content oid);
INSERT INTO documents VALUES (1, 'small', 424242), (2, 'empty', 424243);

-- ---------------------------------------------------------------------------------------------
-- Views, a materialized view, a trigger, CHECK constraints, comments
-- ---------------------------------------------------------------------------------------------

CREATE VIEW customer_totals AS
    SELECT c.id, c.email, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS total
    FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
    GROUP BY c.id, c.email;

CREATE MATERIALIZED VIEW order_stats AS
    SELECT status, count(*) AS n, sum(amount) AS total FROM orders GROUP BY status;
CREATE UNIQUE INDEX order_stats_status_idx ON order_stats (status);

-- A trigger that changes rows: a copy that fires it while loading changes the data.
CREATE TABLE audited (id integer PRIMARY KEY, note text NOT NULL, touched integer NOT NULL DEFAULT 0);
CREATE TABLE audit_log (id bigserial PRIMARY KEY, audited_id integer, action text, logged_note text);
CREATE FUNCTION audited_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.touched := NEW.touched + 1;
    INSERT INTO audit_log (audited_id, action, logged_note) VALUES (NEW.id, TG_OP, NEW.note);
    RETURN NEW;
END
$$;
CREATE TRIGGER audited_touch BEFORE INSERT OR UPDATE ON audited
    FOR EACH ROW EXECUTE FUNCTION audited_touch();
INSERT INTO audited (id, note) SELECT i, 'note ' || i FROM generate_series(1, 20) AS i;
UPDATE audited SET note = note || ' (edited)' WHERE id <= 5;

CREATE TABLE checked (
    id      integer PRIMARY KEY,
    qty     integer NOT NULL CHECK (qty >= 0),
    lo      integer,
    hi      integer,
    CONSTRAINT checked_range CHECK (lo IS NULL OR hi IS NULL OR lo <= hi)
);
INSERT INTO checked SELECT i, i % 10, i, i + (i % 3) FROM generate_series(1, 30) AS i;
INSERT INTO checked VALUES (31, 0, NULL, 5);

COMMENT ON TABLE orders IS 'Orders, one row per checkout; comment with ''quotes'' and ünïcödé';
COMMENT ON COLUMN orders.amount IS 'Amount in EUR';
COMMENT ON SCHEMA "MixedSchema" IS 'Mixed-case schema';

-- ---------------------------------------------------------------------------------------------
-- Indexes of several kinds, an exclusion constraint
-- ---------------------------------------------------------------------------------------------

CREATE TABLE indexed (
    id          integer PRIMARY KEY,
    email       text NOT NULL,
    active      boolean NOT NULL,
    doc         jsonb,
    period      int4range,
    words       tsvector,
    created_at  timestamptz NOT NULL,
    EXCLUDE USING gist (period WITH &&)
);
INSERT INTO indexed
SELECT i, 'user' || i || '@example.org', i % 4 <> 0, jsonb_build_object('i', i, 'k', 'v' || i % 10),
       int4range(i * 10, i * 10 + 5), to_tsvector('simple', 'word' || i || ' common'),
       timestamptz '2024-01-01 00:00+00' + i * interval '1 day'
FROM generate_series(1, 150) AS i;
CREATE UNIQUE INDEX indexed_email_key ON indexed (email);
CREATE INDEX indexed_active_partial ON indexed (created_at) WHERE active;
CREATE INDEX indexed_lower_email ON indexed (lower(email));
CREATE INDEX indexed_doc_gin ON indexed USING gin (doc jsonb_path_ops);
CREATE INDEX indexed_period_gist ON indexed USING gist (period);
CREATE INDEX indexed_words_gin ON indexed USING gin (words);
CREATE INDEX indexed_created_brin ON indexed USING brin (created_at);
CREATE INDEX indexed_email_hash ON indexed USING hash (email);
CREATE INDEX indexed_multi_desc ON indexed (active, created_at DESC NULLS LAST) INCLUDE (email);

-- ---------------------------------------------------------------------------------------------
-- Empty table; the big table (50,000 rows) for ctid-range splitting
-- ---------------------------------------------------------------------------------------------

CREATE TABLE empty_table (id integer PRIMARY KEY, v text);

CREATE TABLE big_table (id int8 NOT NULL, payload text NOT NULL);
INSERT INTO big_table SELECT i, md5(i::text) || ' ' || repeat(chr(97 + i % 26), i % 40)
FROM generate_series(1, 50000) AS i;
ALTER TABLE big_table ADD PRIMARY KEY (id);
-- Holes in the pages: ranges must not lose rows around dead tuples.
DELETE FROM big_table WHERE id % 97 = 0;
UPDATE big_table SET payload = payload || ' updated' WHERE id % 101 = 0;

-- Statistics as a real database has them, where size estimates come from.
ANALYZE big_table, all_types;
