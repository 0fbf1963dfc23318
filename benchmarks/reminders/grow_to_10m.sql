-- Grow the reminder benchmark's database by 9,000,000 future pending reminders
-- (to ~10M pending) and EXPLAIN the claim query twice. Run after
-- benchmarks/reminders/run.py --pending 1000000 … (which leaves the database):
--   psql postgres://postgres@127.0.0.1:5432/taskbeat_bench_reminders -f benchmarks/reminders/grow_to_10m.sql
\timing on
INSERT INTO reminders_app_reminder (id, task_ref, kind, base_at, fire_at, status, cancel_reason, attempts, created_at, updated_at, owner_id, task_id)
SELECT gen_random_uuid(), t.task_ref, 'custom', f.at, f.at, 'pending', '', 0, now(), now(), t.owner_id, t.task_id
FROM generate_series(1, 3000000) g
CROSS JOIN LATERAL (SELECT now() + interval '2 days' + make_interval(secs => ((g::bigint * 7919) % (60 * 86400))::int) AS at) f
CROSS JOIN (SELECT task_ref, owner_id, task_id FROM reminders_app_reminder LIMIT 1) t;
INSERT INTO reminders_app_reminder (id, task_ref, kind, base_at, fire_at, status, cancel_reason, attempts, created_at, updated_at, owner_id, task_id)
SELECT gen_random_uuid(), t.task_ref, 'custom', f.at, f.at, 'pending', '', 0, now(), now(), t.owner_id, t.task_id
FROM generate_series(1, 3000000) g
CROSS JOIN LATERAL (SELECT now() + interval '2 days' + make_interval(secs => ((g::bigint * 7907) % (60 * 86400))::int) AS at) f
CROSS JOIN (SELECT task_ref, owner_id, task_id FROM reminders_app_reminder LIMIT 1) t;
INSERT INTO reminders_app_reminder (id, task_ref, kind, base_at, fire_at, status, cancel_reason, attempts, created_at, updated_at, owner_id, task_id)
SELECT gen_random_uuid(), t.task_ref, 'custom', f.at, f.at, 'pending', '', 0, now(), now(), t.owner_id, t.task_id
FROM generate_series(1, 3000000) g
CROSS JOIN LATERAL (SELECT now() + interval '2 days' + make_interval(secs => ((g::bigint * 7901) % (60 * 86400))::int) AS at) f
CROSS JOIN (SELECT task_ref, owner_id, task_id FROM reminders_app_reminder LIMIT 1) t;
ANALYZE reminders_app_reminder;
SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) AS total, pg_size_pretty(pg_total_relation_size('reminders_app_reminder')) FROM reminders_app_reminder;
EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM reminders_app_reminder WHERE status = 'pending' AND fire_at <= now() + interval '25 seconds' ORDER BY fire_at LIMIT 500 FOR UPDATE SKIP LOCKED;
EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM reminders_app_reminder WHERE status = 'pending' AND fire_at <= now() + interval '25 seconds' ORDER BY fire_at LIMIT 500 FOR UPDATE SKIP LOCKED;
