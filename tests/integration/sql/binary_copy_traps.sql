-- binary_copy_traps.sql: values that pg_dump (text COPY) copies correctly but a plain
-- COPY ... (FORMAT binary) from one cluster to another does not. One table per trap, so a test
-- can select them with -t. Observed with PostgreSQL 15.18; see the notes on each table.
-- Load into an empty database: psql -X -v ON_ERROR_STOP=1 -f binary_copy_traps.sql

SET client_min_messages = warning;

CREATE EXTENSION isn;
CREATE EXTENSION seg;

-- 1. An empty tsquery (what to_tsquery returns for stop words only) is sent in binary as zero
--    items, and tsqueryrecv rejects that: COPY FROM fails with
--    "malformed tsquery: operand not found". Text COPY round-trips it.
CREATE TABLE trap_empty_tsquery (id integer PRIMARY KEY, q tsquery);
INSERT INTO trap_empty_tsquery VALUES
    (1, ''),
    (2, to_tsquery('english', 'the & a')),
    (3, 'fat & rat'),
    (4, NULL);

-- 2. reg* types are OIDs on the wire. Binary COPY loads the source OIDs unchanged, so values that
--    name user objects silently point to nothing (shown as a bare number) or to another object
--    in the target. Built-in objects (pg_class, int4, now, simple) have fixed OIDs and survive.
--    Text COPY sends names, which the target resolves again.
CREATE SCHEMA trap_schema;
CREATE TYPE trap_schema.trap_enum AS ENUM ('x', 'y');
CREATE TABLE trap_schema.trap_target (id int);
CREATE FUNCTION trap_schema.trap_fn(integer) RETURNS integer LANGUAGE sql AS 'SELECT $1';
CREATE TEXT SEARCH CONFIGURATION trap_schema.trap_cfg (COPY = pg_catalog.simple);
CREATE TABLE trap_reg_oids (
    id      integer PRIMARY KEY,
    rel     regclass,
    typ     regtype,
    proc    regproc,
    func    regprocedure,
    nsp     regnamespace,
    cfg     regconfig
);
INSERT INTO trap_reg_oids VALUES
    (1, 'trap_schema.trap_target', 'trap_schema.trap_enum', 'trap_schema.trap_fn',
        'trap_schema.trap_fn(integer)', 'trap_schema', 'trap_schema.trap_cfg'),
    (2, 'pg_class', 'int4', 'now', 'now()', 'public', 'simple'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL);

-- 3. Types with no binary send/recv functions: COPY TO (FORMAT binary) fails with
--    "no binary output function available for type ...". In contrib: isn (isbn, isbn13, ean13,
--    issn, ismn, upc), seg, intarray's query_int; built in: aclitem.
CREATE TABLE trap_no_binary_io (
    id      integer PRIMARY KEY,
    book    isbn13,
    code    ean13,
    span    seg,
    acl     aclitem[]
);
INSERT INTO trap_no_binary_io VALUES
    (1, '978-0-393-04002-9', '4006381333931', '1.5 .. 2.5', '{postgres=arwdDxt/postgres,=r/postgres}'),
    (2, NULL, NULL, '<1', '{}'),
    (3, NULL, NULL, NULL, NULL);
