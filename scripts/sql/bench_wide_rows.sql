-- scripts/sql/bench_wide_rows.sql — the wide-rows source of scripts/bench.sh --wide-rows.
--
--   psql -v mb=300 -f scripts/sql/bench_wide_rows.sql
--
-- One table, public.wide, with three rows: id 1 holds a bytea of MB MiB, id 2 a text of 2/3 of
-- that, id 3 a jsonb of 1/6 of it (300, 200 and 50 MiB at the default); the other columns are
-- small. The values look random (md5 output, the text and the jsonb as base64) and do not
-- repeat within 4 MiB, so neither zstd's nor gzip's window finds them compressible; they are
-- built from one 4 MiB block of md5 output rotated by a different offset per piece, which
-- takes seconds, not minutes. The big columns are STORAGE EXTERNAL: TOASTed out of line
-- without a pglz attempt that would only burn time on data like this.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE TABLE public.wide (
  id int PRIMARY KEY,
  kind text NOT NULL,
  b bytea,
  t text,
  j jsonb,
  note text,
  created timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.wide
  ALTER COLUMN b SET STORAGE EXTERNAL,
  ALTER COLUMN t SET STORAGE EXTERNAL,
  ALTER COLUMN j SET STORAGE EXTERNAL;
CREATE INDEX wide_kind_idx ON public.wide (kind);

-- 4 MiB of md5 output, and 4 MiB of base64 text of another 3 MiB of it.
CREATE TEMP TABLE wide_base AS
SELECT (SELECT string_agg(decode(md5(g::text || ':pgsluice-bytes'), 'hex'), ''::bytea)
          FROM generate_series(1, 262144) g) AS blk,
       (SELECT translate(encode(string_agg(decode(md5(g::text || ':pgsluice-text'), 'hex'), ''::bytea),
                                'base64'), E'\n', '')
          FROM generate_series(1, 196608) g) AS txt;

-- wide_bytes(n, seed) / wide_text(n, seed): n bytes, the base block rotated by a different
-- offset per 4 MiB piece.
CREATE FUNCTION pg_temp.wide_bytes(n bigint, seed int) RETURNS bytea LANGUAGE sql AS $f$
  SELECT substring(string_agg(substring(blk FROM o + 1) || substring(blk FOR o), ''::bytea) FOR n::int)
  FROM wide_base,
       LATERAL (SELECT ((i * 7919 + seed) * 16) % length(blk) AS o
                FROM generate_series(0, (n / length(blk))::int) i) r
$f$;
CREATE FUNCTION pg_temp.wide_text(n bigint, seed int) RETURNS text LANGUAGE sql AS $f$
  SELECT left(string_agg(substring(txt FROM o + 1) || left(txt, o), ''), n::int)
  FROM wide_base,
       LATERAL (SELECT ((i * 7919 + seed) * 4) % length(txt) AS o
                FROM generate_series(0, (n / length(txt))::int) i) r
$f$;

INSERT INTO public.wide (id, kind, b, note)
SELECT 1, 'bytea', pg_temp.wide_bytes((:mb * 1048576)::bigint, 1), 'the big bytea';
INSERT INTO public.wide (id, kind, t, note)
SELECT 2, 'text', pg_temp.wide_text((:mb * 1048576 * 2 / 3)::bigint, 2), 'the big text';
INSERT INTO public.wide (id, kind, j, note)
SELECT 3, 'jsonb',
       jsonb_build_object('id', 3, 'tags', jsonb_build_array('a', 'b'),
                          'blob', pg_temp.wide_text((:mb * 1048576 / 6)::bigint, 3)),
       'the big jsonb';

ANALYZE public.wide;
