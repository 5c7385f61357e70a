-- scripts/sql/demo_data.sql — demo / bench data shaped like a Django membership app.
--
--   psql -X -v ON_ERROR_STOP=1 -v scale=1 -d "$CONN" -f scripts/sql/demo_data.sql
--
-- `scale` (default 1, fractions allowed) multiplies every row count; scale 1 is
-- about 300 MB on disk, most of it in notifications_abstractemail (e-mail bodies of
-- 1-2 KB) and metrics_timeseries (a wide numeric time series). Data is generated
-- server side with generate_series and is the same on every run (fixed seed and a
-- fixed "now"), so row counts and sizes are reproducible.
--
-- Tables are created bare, filled, then get their primary keys, unique constraints,
-- foreign keys and indexes (that is how a restore builds them too), then
-- VACUUM (FREEZE, ANALYZE) so the first reader does not pay for hint bits.
-- Everything goes into schema public of the current database, replacing what was there.

\set QUIET on
\set ON_ERROR_STOP on
\if :{?scale}
\else
\set scale 1
\endif

-- Query results (setseed, setval, ...) are noise here; \echo still prints.
\o /dev/null
SET client_min_messages = warning;
SET maintenance_work_mem = '512MB';
SET max_parallel_maintenance_workers = 2;
SET synchronous_commit = off;
SELECT setseed(0.4242);

-- Row counts for this scale, as psql variables.
SELECT greatest(10,  round(40000  * :scale))::bigint AS n_users,
       greatest(10,  round(48000  * :scale))::bigint AS n_addresses,
       greatest(10,  round(56000  * :scale))::bigint AS n_memberships,
       greatest(10,  round(100000 * :scale))::bigint AS n_payments,
       greatest(10,  round(80000  * :scale))::bigint AS n_events,
       greatest(10,  round(80000  * :scale))::bigint AS n_emails,
       greatest(10,  round(10000  * :scale))::bigint AS n_po_emails,
       greatest(10,  round(20000  * :scale))::bigint AS n_po_logs,
       greatest(10,  round(330000 * :scale))::bigint AS n_metrics,
       greatest(5,   round(200    * :scale))::bigint AS n_devices
\gset

\echo '-- demo data: scale' :scale ':' :n_users 'users,' :n_emails 'e-mails,' :n_metrics 'metric rows'

DROP TABLE IF EXISTS
  post_office_log, post_office_email, notifications_abstractemail, events_event,
  payments_payment, memberships_membership, accounts_address, accounts_user,
  metrics_timeseries, wagtailcore_site CASCADE;
DROP SEQUENCE IF EXISTS payments_invoice_number_seq;

-- A fixed "now" keeps the data reproducible.
CREATE OR REPLACE FUNCTION pg_temp.demo_now() RETURNS timestamptz
  LANGUAGE sql IMMUTABLE AS $$ SELECT timestamptz '2024-06-01 12:00:00+00' $$;

-- Word lists.
CREATE TEMP TABLE demo_first_names AS
  SELECT row_number() OVER () - 1 AS i, v AS name FROM unnest(ARRAY[
    'Olivia','Liam','Emma','Noah','Amelia','Oliver','Ava','Elijah','Sophia','James',
    'Isabella','William','Mia','Benjamin','Charlotte','Lucas','Harper','Henry','Evelyn','Theo',
    'Luna','Jack','Ella','Levi','Aria','Mateo','Chloe','Leo','Nora','Ezra',
    'Hazel','Mason','Zoe','Ethan','Layla','Hugo','Lily','Arthur','Freya','Oscar',
    'Ines','Joao','Ana','Lukas','Lea','Jan','Marta','Piotr','Sara','Omar']) AS v;
CREATE TEMP TABLE demo_last_names AS
  SELECT row_number() OVER () - 1 AS i, v AS name FROM unnest(ARRAY[
    'Smith','Johnson','Williams','Brown','Jones','Garcia','Miller','Davis','Rodriguez','Martinez',
    'Hernandez','Lopez','Gonzalez','Wilson','Anderson','Thomas','Taylor','Moore','Jackson','Martin',
    'Lee','Perez','Thompson','White','Harris','Sanchez','Clark','Ramirez','Lewis','Robinson',
    'Walker','Young','Allen','King','Wright','Scott','Torres','Nguyen','Hill','Flores',
    'Green','Adams','Nelson','Baker','Hall','Rivera','Campbell','Mitchell','Carter','Roberts',
    'Müller','Schmidt','Kowalski','Nowak','Silva','Santos','Dubois','Moreau','Rossi','Bianchi']) AS v;
CREATE TEMP TABLE demo_words AS
  SELECT row_number() OVER () - 1 AS i, v AS w FROM unnest(string_to_array(
    'your membership renewal account payment receipt invoice thank you for being part of our '
    'community we are happy to let know that the next event starts soon please confirm details '
    'below if have any questions reply this email team support club season ticket access card '
    'updated profile password security notice new login from device location was this not '
    'contact us immediately offer discount members only weekend workshop schedule venue parking '
    'reminder due date amount charged successfully failed retry update method billing address '
    'newsletter highlights stories volunteers coaches training session booking cancelled moved',
    ' ')) AS v;
SELECT count(*) AS n_words FROM demo_words \gset

-- 400 paragraphs of 3-7 sentences of 6-14 words, reused to build e-mail bodies.
CREATE TEMP TABLE demo_paragraphs AS
  WITH sentences AS (
    SELECT p, s, string_agg(w.w, ' ' ORDER BY k) AS txt
    FROM generate_series(0, 399) AS p
    CROSS JOIN LATERAL generate_series(1, 3 + (p * 7) % 5) AS s
    CROSS JOIN LATERAL generate_series(1, 6 + (p * 13 + s * 5) % 9) AS k
    JOIN demo_words w ON w.i = (hashint8(p * 1000 + s * 20 + k) & 2147483647) % :n_words
    GROUP BY p, s)
  SELECT p AS i, string_agg(upper(left(txt, 1)) || substr(txt, 2) || '.', ' ' ORDER BY s) AS txt
  FROM sentences
  GROUP BY p;
CREATE UNIQUE INDEX ON demo_paragraphs (i);
ANALYZE demo_first_names, demo_last_names, demo_words, demo_paragraphs;

-- ------------------------------------------------------------------ schema

CREATE SEQUENCE payments_invoice_number_seq START 100000;

CREATE TABLE wagtailcore_site (
  id              integer GENERATED BY DEFAULT AS IDENTITY,
  hostname        varchar(255) NOT NULL,
  port            integer NOT NULL DEFAULT 80,
  site_name       varchar(255) NOT NULL,
  root_page_id    integer NOT NULL,
  is_default_site boolean NOT NULL DEFAULT false
);

CREATE TABLE accounts_user (
  id            bigint GENERATED BY DEFAULT AS IDENTITY,
  email         varchar(254) NOT NULL,
  first_name    varchar(150) NOT NULL,
  last_name     varchar(150) NOT NULL,
  phone         varchar(32),
  password      varchar(128) NOT NULL,
  date_of_birth date,
  last_login    timestamptz,
  last_login_ip inet,
  date_joined   timestamptz NOT NULL,
  is_active     boolean NOT NULL DEFAULT true,
  is_staff      boolean NOT NULL DEFAULT false
);

CREATE TABLE accounts_address (
  id          bigint GENERATED BY DEFAULT AS IDENTITY,
  user_id     bigint NOT NULL,
  line1       varchar(255) NOT NULL,
  line2       varchar(255) NOT NULL DEFAULT '',
  city        varchar(100) NOT NULL,
  postcode    varchar(16) NOT NULL,
  country     char(2) NOT NULL,
  is_primary  boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL
);

CREATE TABLE memberships_membership (
  id          bigint GENERATED BY DEFAULT AS IDENTITY,
  user_id     bigint NOT NULL,
  plan        varchar(32) NOT NULL,
  status      varchar(16) NOT NULL,
  price       numeric(10,2) NOT NULL,
  started_at  timestamptz NOT NULL,
  ends_at     timestamptz,
  auto_renew  boolean NOT NULL DEFAULT true
);

CREATE TABLE payments_payment (
  id              bigint GENERATED BY DEFAULT AS IDENTITY,
  user_id         bigint NOT NULL,
  membership_id   bigint,
  invoice_number  bigint NOT NULL DEFAULT nextval('payments_invoice_number_seq'),
  reference       uuid NOT NULL,
  amount          numeric(12,2) NOT NULL,
  currency        char(3) NOT NULL,
  status          varchar(16) NOT NULL,
  provider        varchar(32) NOT NULL,
  meta            jsonb NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL
);
ALTER SEQUENCE payments_invoice_number_seq OWNED BY payments_payment.invoice_number;

CREATE TABLE events_event (
  id          bigint GENERATED BY DEFAULT AS IDENTITY,
  user_id     bigint,
  kind        varchar(64) NOT NULL,
  tags        text[] NOT NULL DEFAULT '{}',
  payload     jsonb NOT NULL,
  created_at  timestamptz NOT NULL
);

CREATE TABLE notifications_abstractemail (
  id          bigint GENERATED BY DEFAULT AS IDENTITY,
  user_id     bigint,
  to_email    varchar(254) NOT NULL,
  from_email  varchar(254) NOT NULL,
  subject     varchar(255) NOT NULL,
  body        text NOT NULL,
  template    varchar(64) NOT NULL,
  status      smallint NOT NULL,
  created_at  timestamptz NOT NULL,
  sent_at     timestamptz
);

CREATE TABLE post_office_email (
  id              bigint GENERATED BY DEFAULT AS IDENTITY,
  from_email      varchar(254) NOT NULL,
  "to"            text NOT NULL,
  cc              text NOT NULL DEFAULT '',
  bcc             text NOT NULL DEFAULT '',
  subject         varchar(989) NOT NULL,
  message         text NOT NULL,
  html_message    text NOT NULL,
  status          smallint,
  priority        smallint,
  created         timestamptz NOT NULL,
  last_updated    timestamptz NOT NULL,
  scheduled_time  timestamptz,
  context         jsonb
);

CREATE TABLE post_office_log (
  id              bigint GENERATED BY DEFAULT AS IDENTITY,
  email_id        bigint NOT NULL,
  date            timestamptz NOT NULL,
  status          smallint NOT NULL,
  exception_type  varchar(255) NOT NULL DEFAULT '',
  message         text NOT NULL
);

CREATE TABLE metrics_timeseries (
  ts            timestamptz NOT NULL,
  device_id     integer NOT NULL,
  cpu_pct       double precision,
  mem_pct       double precision,
  load_1m       double precision,
  disk_read_bps double precision,
  disk_write_bps double precision,
  net_in_bps    double precision,
  net_out_bps   double precision,
  temperature_c double precision,
  humidity_pct  double precision,
  voltage_v     double precision,
  current_a     double precision,
  power_w       double precision,
  energy_kwh    numeric(14,4),
  battery_pct   numeric(5,2),
  status        smallint NOT NULL DEFAULT 0
);

-- ------------------------------------------------------------------ data

\echo '-- loading wagtailcore_site'
INSERT INTO wagtailcore_site (id, hostname, port, site_name, root_page_id, is_default_site) VALUES
  (1, 'www.example-club.org', 443, 'Example Club', 3, true),
  (2, 'members.example-club.org', 443, 'Members area', 40, false),
  (3, 'shop.example-club.org', 443, 'Club shop', 112, false),
  (4, 'localhost', 8000, 'Local development', 3, false);

\echo '-- loading accounts_user'
INSERT INTO accounts_user (id, email, first_name, last_name, phone, password, date_of_birth,
                           last_login, last_login_ip, date_joined, is_active, is_staff)
SELECT g,
       lower(f.name) || '.' || lower(replace(l.name, 'ü', 'u')) || g || '@' ||
         (ARRAY['gmail.com','outlook.com','yahoo.co.uk','icloud.com','proton.me','example.org'])[1 + g % 6],
       f.name, l.name,
       CASE WHEN g % 7 = 0 THEN NULL
            ELSE '+44 7' || lpad(((hashint8(g) & 2147483647) % 1000000000)::text, 9, '0') END,
       'pbkdf2_sha256$600000$' || substr(md5(g::text), 1, 22) || '$' ||
         encode(decode(md5('pw' || g) || md5('salt' || g), 'hex'), 'base64'),
       CASE WHEN g % 5 = 0 THEN NULL ELSE date '1950-01-01' + (hashint8(g * 3) & 2147483647) % 20000 END,
       CASE WHEN g % 4 = 0 THEN NULL ELSE pg_temp.demo_now() - random() * interval '400 days' END,
       CASE WHEN g % 4 = 0 THEN NULL
            ELSE ('10.' || (g / 65536) % 256 || '.' || (g / 256) % 256 || '.' || g % 254 + 1)::inet END,
       pg_temp.demo_now() - interval '5 years' * (1 - g::float8 / :n_users) - random() * interval '1 day',
       g % 23 <> 0,
       g % 997 = 0
FROM generate_series(1, :n_users) AS g
JOIN demo_first_names f ON f.i = g % 50
JOIN demo_last_names  l ON l.i = (g / 50) % 60;

\echo '-- loading accounts_address'
INSERT INTO accounts_address (id, user_id, line1, line2, city, postcode, country, is_primary, created_at)
SELECT g,
       1 + (g - 1) % :n_users,
       (1 + g % 250) || ' ' || (ARRAY['High Street','Station Road','Church Lane','Victoria Road',
         'Green Lane','Manor Road','Park Avenue','Mill Lane','Queens Road','Kings Road'])[1 + g % 10],
       CASE WHEN g % 3 = 0 THEN 'Flat ' || (1 + g % 40) ELSE '' END,
       (ARRAY['London','Manchester','Bristol','Leeds','Glasgow','Cardiff','Lisbon','Berlin','Warsaw','Lyon'])[1 + (g / 7) % 10],
       upper(substr(md5(g::text), 1, 3)) || ' ' || (g % 10) || upper(substr(md5(g::text), 4, 2)),
       (ARRAY['GB','GB','GB','GB','GB','GB','PT','DE','PL','FR'])[1 + (g / 7) % 10],
       g <= :n_users,
       pg_temp.demo_now() - random() * interval '5 years'
FROM generate_series(1, :n_addresses) AS g;

\echo '-- loading memberships_membership'
INSERT INTO memberships_membership (id, user_id, plan, status, price, started_at, ends_at, auto_renew)
SELECT g, u, p.plan, p.status, p.price, p.started, p.started + interval '1 year', g % 5 <> 0
FROM generate_series(1, :n_memberships) AS g
CROSS JOIN LATERAL (SELECT 1 + (hashint8(g) & 2147483647) % :n_users AS u) AS uu
CROSS JOIN LATERAL (
  SELECT (ARRAY['basic','standard','family','student','premium'])[1 + g % 5] AS plan,
         (ARRAY['active','active','active','expired','cancelled','pending'])[1 + g % 6] AS status,
         (ARRAY[9.99, 19.99, 34.50, 5.00, 49.00])[1 + g % 5]::numeric(10,2) AS price,
         pg_temp.demo_now() - random() * interval '4 years' AS started) AS p;

\echo '-- loading payments_payment'
INSERT INTO payments_payment (id, user_id, membership_id, invoice_number, reference, amount, currency,
                              status, provider, meta, created_at)
SELECT g, m.user_id, m.id, 100000 + g,
       md5('payment' || g)::uuid,
       round((m.price * (1 + g % 3))::numeric, 2),
       (ARRAY['GBP','GBP','GBP','EUR','EUR','USD'])[1 + g % 6],
       (ARRAY['succeeded','succeeded','succeeded','succeeded','failed','refunded','pending'])[1 + g % 7],
       (ARRAY['stripe','stripe','gocardless','paypal'])[1 + g % 4],
       jsonb_build_object(
         'ip', (g % 223 + 1) || '.' || (g / 7) % 256 || '.' || (g / 1789) % 256 || '.' || g % 254 + 1,
         'card_last4', lpad(((hashint8(g * 7) & 2147483647) % 10000)::text, 4, '0'),
         'card_brand', (ARRAY['visa','mastercard','amex','maestro'])[1 + g % 4],
         'user_agent', (ARRAY['Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)',
                               'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0',
                               'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15',
                               'okhttp/4.12.0'])[1 + g % 4],
         'attempt', 1 + g % 3,
         'three_ds', g % 2 = 0),
       m.started_at + (g % 12) * interval '1 month' + random() * interval '1 day'
FROM generate_series(1, :n_payments) AS g
JOIN memberships_membership m ON m.id = 1 + (hashint8(g) & 2147483647) % :n_memberships;
SELECT setval('payments_invoice_number_seq', 100000 + :n_payments);

\echo '-- loading events_event'
INSERT INTO events_event (id, user_id, kind, tags, payload, created_at)
SELECT g,
       CASE WHEN g % 10 = 0 THEN NULL ELSE 1 + (hashint8(g) & 2147483647) % :n_users END,
       k.kind,
       ARRAY[k.kind, (ARRAY['web','ios','android','api'])[1 + g % 4]],
       jsonb_build_object(
         'session_id', md5('s' || g / 5),
         'path', '/' || (ARRAY['account','events','shop','membership','news'])[1 + g % 5] || '/' || g % 1000 || '/',
         'referrer', CASE WHEN g % 3 = 0 THEN 'https://www.google.com/' ELSE NULL END,
         'duration_ms', (hashint8(g) & 2147483647) % 5000,
         'device', jsonb_build_object('os', (ARRAY['iOS','Android','Windows','macOS','Linux'])[1 + g % 5],
                                      'version', (g % 17) || '.' || (g % 5),
                                      'screen', (ARRAY['390x844','1920x1080','1440x900','412x915'])[1 + g % 4]),
         'items', CASE WHEN k.kind = 'checkout'
                       THEN jsonb_build_array(jsonb_build_object('sku', 'SKU-' || g % 500, 'qty', 1 + g % 3,
                                                                 'price', (g % 5000) / 100.0))
                       ELSE '[]'::jsonb END),
       pg_temp.demo_now() - interval '2 years' * (1 - g::float8 / :n_events)
FROM generate_series(1, :n_events) AS g
CROSS JOIN LATERAL (SELECT (ARRAY['page_view','page_view','page_view','login','logout','search',
                                  'checkout','event_booked','profile_updated'])[1 + g % 9] AS kind) AS k;

\echo '-- loading notifications_abstractemail'
INSERT INTO notifications_abstractemail (id, user_id, to_email, from_email, subject, body, template,
                                         status, created_at, sent_at)
SELECT g, u.id, u.email, 'no-reply@example-club.org', t.subject,
       'Hi ' || u.first_name || E',\n\n' || p1.txt || E'\n\n' || p2.txt || E'\n\n' ||
         CASE WHEN g % 2 = 0 THEN p3.txt || E'\n\n' ELSE '' END ||
         'Manage your membership: https://members.example-club.org/account/' || u.id ||
         '/?token=' || md5('tok' || g) || md5('tok2' || g) || E'\n\n' ||
         E'Kind regards,\nThe Example Club team\n\n--\nYou receive this e-mail because you are a member of Example Club. ' ||
         'Unsubscribe: https://members.example-club.org/unsubscribe/' || md5('unsub' || u.id) || E'\n',
       t.template,
       CASE WHEN g % 50 = 0 THEN 2 ELSE 1 END,
       c.created,
       CASE WHEN g % 50 = 0 THEN NULL ELSE c.created + random() * interval '5 minutes' END
FROM generate_series(1, :n_emails) AS g
JOIN accounts_user u ON u.id = 1 + (hashint8(g) & 2147483647) % :n_users
JOIN demo_paragraphs p1 ON p1.i = g % 400
JOIN demo_paragraphs p2 ON p2.i = (g * 7 + 13) % 400
JOIN demo_paragraphs p3 ON p3.i = (g * 31 + 101) % 400
CROSS JOIN LATERAL (
  SELECT (ARRAY['Your membership receipt','Your membership is about to renew','Welcome to Example Club',
                'Your booking is confirmed','Password reset requested','New login to your account',
                'This month at Example Club','Payment failed: please update your card'])[1 + g % 8] AS subject,
         (ARRAY['receipt','renewal','welcome','booking','password_reset','new_login','newsletter',
                'payment_failed'])[1 + g % 8] AS template) AS t
CROSS JOIN LATERAL (SELECT pg_temp.demo_now() - interval '3 years' * (1 - g::float8 / :n_emails) AS created) AS c;

\echo '-- loading post_office_email'
INSERT INTO post_office_email (id, from_email, "to", subject, message, html_message, status, priority,
                               created, last_updated, scheduled_time, context)
SELECT g, 'Example Club <no-reply@example-club.org>', u.email, 'Event reminder: ' || p1.txt::varchar(60),
       'Hello ' || u.first_name || E',\n\n' || p1.txt || E'\n\n' || p2.txt,
       '<html><body><p>Hello ' || u.first_name || '</p><p>' || p1.txt || '</p><p>' || p2.txt ||
         '</p></body></html>',
       (ARRAY[0, 0, 0, 1, 2])[1 + g % 5], (ARRAY[0, 1, 2, 3])[1 + g % 4],
       c.created, c.created + interval '2 minutes',
       CASE WHEN g % 10 = 0 THEN c.created + interval '1 day' ELSE NULL END,
       CASE WHEN g % 2 = 0 THEN jsonb_build_object('user_id', u.id, 'event', 'EVT-' || g % 300) ELSE NULL END
FROM generate_series(1, :n_po_emails) AS g
JOIN accounts_user u ON u.id = 1 + (hashint8(g * 5) & 2147483647) % :n_users
JOIN demo_paragraphs p1 ON p1.i = (g * 3) % 400
JOIN demo_paragraphs p2 ON p2.i = (g * 11 + 7) % 400
CROSS JOIN LATERAL (SELECT pg_temp.demo_now() - interval '2 years' * (1 - g::float8 / :n_po_emails) AS created) AS c;

\echo '-- loading post_office_log'
INSERT INTO post_office_log (id, email_id, date, status, exception_type, message)
SELECT g, e, pg_temp.demo_now() - interval '2 years' * (1 - e::float8 / :n_po_emails),
       CASE WHEN g % 9 = 0 THEN 1 ELSE 0 END,
       CASE WHEN g % 9 = 0 THEN 'SMTPRecipientsRefused' ELSE '' END,
       CASE WHEN g % 9 = 0 THEN '{''user' || e || '@example.org'': (550, b''5.1.1 User unknown'')}'
            ELSE '' END
FROM generate_series(1, :n_po_logs) AS g
CROSS JOIN LATERAL (SELECT 1 + (g - 1) % :n_po_emails AS e) AS ee;

\echo '-- loading metrics_timeseries'
INSERT INTO metrics_timeseries (ts, device_id, cpu_pct, mem_pct, load_1m, disk_read_bps, disk_write_bps,
                                net_in_bps, net_out_bps, temperature_c, humidity_pct, voltage_v,
                                current_a, power_w, energy_kwh, battery_pct, status)
SELECT pg_temp.demo_now() - (g / :n_devices) * interval '1 minute',
       1 + g % :n_devices,
       50 + 40 * sin(g / 977.0) + random() * 10,
       30 + random() * 60,
       random() * 4,
       random() * 5e7,
       random() * 2e7,
       random() * 1e8,
       random() * 3e7,
       18 + 8 * sin(g / 1440.0) + random(),
       40 + random() * 30,
       229 + random() * 3,
       random() * 16,
       random() * 3600,
       round((g / :n_devices) * 0.0123 + random()::numeric, 4),
       round((100 - (g / :n_devices) % 100 + random())::numeric, 2),
       CASE WHEN g % 1000 = 0 THEN 2 WHEN g % 97 = 0 THEN 1 ELSE 0 END
FROM generate_series(0, :n_metrics - 1) AS g;

-- ------------------------------------------------------------------ constraints and indexes

\echo '-- primary keys, unique constraints, indexes, foreign keys'
ALTER TABLE wagtailcore_site ADD PRIMARY KEY (id),
  ADD CONSTRAINT wagtailcore_site_hostname_port_uniq UNIQUE (hostname, port);
CREATE INDEX wagtailcore_site_hostname_idx ON wagtailcore_site (hostname);

ALTER TABLE accounts_user ADD PRIMARY KEY (id),
  ADD CONSTRAINT accounts_user_email_key UNIQUE (email);
CREATE INDEX accounts_user_email_like ON accounts_user (email varchar_pattern_ops);
CREATE INDEX accounts_user_date_joined_idx ON accounts_user (date_joined);

ALTER TABLE accounts_address ADD PRIMARY KEY (id);
CREATE INDEX accounts_address_user_id_idx ON accounts_address (user_id);

ALTER TABLE memberships_membership ADD PRIMARY KEY (id);
CREATE INDEX memberships_membership_user_id_idx ON memberships_membership (user_id);
CREATE INDEX memberships_membership_status_idx ON memberships_membership (status) WHERE status <> 'expired';

ALTER TABLE payments_payment ADD PRIMARY KEY (id),
  ADD CONSTRAINT payments_payment_reference_key UNIQUE (reference),
  ADD CONSTRAINT payments_payment_invoice_number_key UNIQUE (invoice_number),
  ADD CONSTRAINT payments_payment_amount_check CHECK (amount >= 0);
CREATE INDEX payments_payment_user_id_idx ON payments_payment (user_id);
CREATE INDEX payments_payment_membership_id_idx ON payments_payment (membership_id);
CREATE INDEX payments_payment_created_at_idx ON payments_payment (created_at);

ALTER TABLE events_event ADD PRIMARY KEY (id);
CREATE INDEX events_event_user_id_idx ON events_event (user_id);
CREATE INDEX events_event_kind_created_idx ON events_event (kind, created_at);

ALTER TABLE notifications_abstractemail ADD PRIMARY KEY (id);
CREATE INDEX notifications_abstractemail_user_id_idx ON notifications_abstractemail (user_id);
CREATE INDEX notifications_abstractemail_to_email_idx ON notifications_abstractemail (to_email);
CREATE INDEX notifications_abstractemail_sent_at_idx ON notifications_abstractemail (sent_at);

ALTER TABLE post_office_email ADD PRIMARY KEY (id);
CREATE INDEX post_office_email_status_idx ON post_office_email (status);
CREATE INDEX post_office_email_created_idx ON post_office_email (created);
CREATE INDEX post_office_email_last_updated_idx ON post_office_email (last_updated);
CREATE INDEX post_office_email_scheduled_time_idx ON post_office_email (scheduled_time);

ALTER TABLE post_office_log ADD PRIMARY KEY (id);
CREATE INDEX post_office_log_email_id_idx ON post_office_log (email_id);

ALTER TABLE metrics_timeseries ADD PRIMARY KEY (device_id, ts);
CREATE INDEX metrics_timeseries_ts_brin ON metrics_timeseries USING brin (ts);

ALTER TABLE accounts_address
  ADD CONSTRAINT accounts_address_user_id_fk FOREIGN KEY (user_id) REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE memberships_membership
  ADD CONSTRAINT memberships_membership_user_id_fk FOREIGN KEY (user_id) REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE payments_payment
  ADD CONSTRAINT payments_payment_user_id_fk FOREIGN KEY (user_id) REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED,
  ADD CONSTRAINT payments_payment_membership_id_fk FOREIGN KEY (membership_id) REFERENCES memberships_membership (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE events_event
  ADD CONSTRAINT events_event_user_id_fk FOREIGN KEY (user_id) REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE notifications_abstractemail
  ADD CONSTRAINT notifications_abstractemail_user_id_fk FOREIGN KEY (user_id) REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED;
ALTER TABLE post_office_log
  ADD CONSTRAINT post_office_log_email_id_fk FOREIGN KEY (email_id) REFERENCES post_office_email (id) DEFERRABLE INITIALLY DEFERRED;

-- Identity sequences continue after the generated ids.
SELECT setval(pg_get_serial_sequence('wagtailcore_site', 'id'), 4),
       setval(pg_get_serial_sequence('accounts_user', 'id'), :n_users),
       setval(pg_get_serial_sequence('accounts_address', 'id'), :n_addresses),
       setval(pg_get_serial_sequence('memberships_membership', 'id'), :n_memberships),
       setval(pg_get_serial_sequence('payments_payment', 'id'), :n_payments),
       setval(pg_get_serial_sequence('events_event', 'id'), :n_events),
       setval(pg_get_serial_sequence('notifications_abstractemail', 'id'), :n_emails),
       setval(pg_get_serial_sequence('post_office_email', 'id'), :n_po_emails),
       setval(pg_get_serial_sequence('post_office_log', 'id'), :n_po_logs);

COMMENT ON TABLE notifications_abstractemail IS 'Every e-mail sent to a member (the big one)';
COMMENT ON COLUMN accounts_user.email IS 'Login e-mail address (personal data)';

\echo '-- VACUUM (FREEZE, ANALYZE)'
VACUUM (FREEZE, ANALYZE);
\o
\echo '-- demo data done'
