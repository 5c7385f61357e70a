-- scripts/sql/bench_many_tables.sql — the many-small-tables source of scripts/bench.sh --tables N.
--
--   psql -v tables=N -f scripts/sql/bench_many_tables.sql
--
-- N tables public.t_00001 .. t_N of 10 rows each: an int primary key, a second, indexed text
-- column, a timestamptz with a default; every 10th table also has a foreign key to the one
-- before it. Plus public.parts, list-partitioned into 500 leaves (parts_001 .. parts_500),
-- 50,000 rows. Generated server-side; the DO blocks commit every 500 tables so no transaction
-- holds more than a few thousand locks.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET bench.tables = :'tables';

DO $$
DECLARE
  n int := current_setting('bench.tables')::int;
  w int := greatest(5, length(n::text));
  name text;
  prev text;
BEGIN
  FOR i IN 1..n LOOP
    name := format('t_%s', lpad(i::text, w, '0'));
    IF i % 10 = 0 THEN
      prev := format('t_%s', lpad((i - 1)::text, w, '0'));
      EXECUTE format('CREATE TABLE public.%I (id int PRIMARY KEY, label text NOT NULL,
          created timestamptz NOT NULL DEFAULT now(), prev_id int REFERENCES public.%I (id))',
        name, prev);
      EXECUTE format('INSERT INTO public.%I (id, label, prev_id)
          SELECT g, md5(%L || g), g FROM generate_series(1, 10) g', name, name);
    ELSE
      EXECUTE format('CREATE TABLE public.%I (id int PRIMARY KEY, label text NOT NULL,
          created timestamptz NOT NULL DEFAULT now())', name);
      EXECUTE format('INSERT INTO public.%I (id, label)
          SELECT g, md5(%L || g) FROM generate_series(1, 10) g', name, name);
    END IF;
    EXECUTE format('CREATE INDEX %I ON public.%I (label)', name || '_label_idx', name);
    IF i % 500 = 0 THEN
      COMMIT;
    END IF;
  END LOOP;
END
$$;

CREATE TABLE public.parts (
  id int NOT NULL,
  part int NOT NULL,
  payload text,
  created timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (part, id)
) PARTITION BY LIST (part);
CREATE INDEX parts_created_idx ON public.parts (created);

DO $$
BEGIN
  FOR p IN 1..500 LOOP
    EXECUTE format('CREATE TABLE public.%I PARTITION OF public.parts FOR VALUES IN (%s)',
      'parts_' || lpad(p::text, 3, '0'), p);
  END LOOP;
END
$$;

INSERT INTO public.parts (id, part, payload)
SELECT g, (g - 1) % 500 + 1, md5(g::text) FROM generate_series(1, 50000) g;

-- Vacuumed and analyzed as a production database is, so that autovacuum does not work on
-- the new catalogue rows during the first timed runs.
VACUUM ANALYZE;
