// GENERATED from packages/runtime/sql/*.sql by migrations.test.ts. Do not edit by hand:
// change or add a sql/NNNNNN.sql file, then run
//   npx vitest run --project unit packages/runtime/src/results/migrations.test.ts -u
// Bundled as a module (not read from disk at runtime) so workers bundled with esbuild or
// similar still carry their migrations; the test keeps it identical to the files.
import type { Migration } from "./migrationTypes.js";

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "results backend",
    sql: `-- name: results backend
-- Applied by migrate() with search_path set to the target schema, so names here are unqualified.
-- Celery's database backend (celery/backends/database/models.py) must be able to read and write
-- these tables, so the Celery columns, types and names follow the DDL SQLAlchemy emits for it.

-- Celery calls nextval() client-side; the id column deliberately has no server default.
CREATE SEQUENCE task_id_sequence;

CREATE TABLE celery_taskmeta (
  id integer NOT NULL,
  task_id varchar(155),
  status varchar(50),
  result bytea,                          -- pickle of the result / exception dict (Celery reads this)
  date_done timestamp without time zone, -- naive UTC, as Celery writes it
  traceback text,
  name varchar(155),
  args bytea,                            -- JSON bytes (Celery result_extended)
  kwargs bytea,                          -- JSON bytes (Celery result_extended)
  worker varchar(155),
  retries integer,
  queue varchar(155),
  -- Toolbox columns: readable without unpickling; Celery ignores them.
  result_json jsonb,
  meta jsonb,
  error jsonb,
  started_at timestamptz,
  updated_at timestamptz,
  parent_id varchar(155),
  root_id varchar(155),
  PRIMARY KEY (id),
  UNIQUE (task_id)
);
ALTER SEQUENCE task_id_sequence OWNED BY celery_taskmeta.id;
CREATE INDEX ix_celery_taskmeta_date_done ON celery_taskmeta (date_done);
CREATE INDEX celery_taskmeta_root_id_idx ON celery_taskmeta (root_id);

CREATE SEQUENCE taskset_id_sequence;

CREATE TABLE celery_tasksetmeta (
  id integer NOT NULL,
  taskset_id varchar(155),
  result bytea,
  date_done timestamp without time zone,
  PRIMARY KEY (id),
  UNIQUE (taskset_id)
);
ALTER SEQUENCE taskset_id_sequence OWNED BY celery_tasksetmeta.id;
CREATE INDEX ix_celery_tasksetmeta_date_done ON celery_tasksetmeta (date_done);

-- Every task ever scheduled, written by the tracker from the platform queue. Results can arrive
-- before their tracking row, so there is no foreign key to celery_taskmeta.
CREATE TABLE worker_toolbox_tasks (
  task_id varchar(155) PRIMARY KEY,
  name text NOT NULL,
  args jsonb NOT NULL DEFAULT '[]',
  kwargs jsonb NOT NULL DEFAULT '{}',
  parent_id varchar(155),
  root_id varchar(155),
  eta timestamptz,
  expires timestamptz,
  retries integer NOT NULL DEFAULT 0,
  queue text,
  tracking jsonb NOT NULL DEFAULT '{}', -- extra metadata, e.g. requested_by
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX worker_toolbox_tasks_root_id_idx ON worker_toolbox_tasks (root_id);
CREATE INDEX worker_toolbox_tasks_updated_at_idx ON worker_toolbox_tasks (updated_at);

-- Wakes waitForResult() listeners on every result write, including writes made by Celery itself.
-- The payload names the schema so several schemas can share one database.
CREATE FUNCTION worker_toolbox_notify_result() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify(
    'worker_toolbox_result',
    json_build_object('schema', TG_TABLE_SCHEMA, 'task_id', NEW.task_id, 'status', NEW.status)::text
  );
  RETURN NULL;
END
$fn$;

CREATE TRIGGER worker_toolbox_notify_result
  AFTER INSERT OR UPDATE ON celery_taskmeta
  FOR EACH ROW EXECUTE FUNCTION worker_toolbox_notify_result();
`,
  },
  {
    version: 2,
    name: "task history and dashboard indexes",
    sql: `-- name: task history and dashboard indexes
-- Applied by migrate() with search_path set to the target schema, so names here are unqualified.

-- Every state a task went through before its current one, with its time: when a write to celery_taskmeta
-- changes a task's status, progress meta or retry count (writes Celery itself makes included), the triggers
-- below keep the state it replaces. The current state is the row itself, so a task stored once (the common
-- case: straight to SUCCESS) costs no history row at all; reading the history appends the current row.
CREATE TABLE worker_toolbox_task_states (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id varchar(155) NOT NULL,
  status varchar(50) NOT NULL,
  at timestamptz NOT NULL,
  retries integer,
  worker varchar(155),
  meta jsonb,   -- PROGRESS: the progress meta
  error jsonb   -- RETRY / FAILURE: the error
);
CREATE INDEX worker_toolbox_task_states_task_idx ON worker_toolbox_task_states (task_id, id);

-- A failure's error class and message as the Failures page groups them. Rows Celery (Python) wrote have no
-- error JSON, only a traceback, whose last line names the exception.
CREATE FUNCTION worker_toolbox_error_type(error jsonb, traceback text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT COALESCE(error->>'type', substring(traceback from '([A-Za-z_][A-Za-z0-9_.]*)(?::[^\\n]*)?\\n*$'), 'unknown')
$fn$;
CREATE FUNCTION worker_toolbox_error_message(error jsonb, traceback text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT left(COALESCE(error->>'message', substring(traceback from ':\\s*([^\\n]*)\\n*$'), ''), 300)
$fn$;

-- FAILURE rows counted per hour, task, error class and message, kept by the same triggers: the Failures page
-- sums at most a week of hourly rows instead of reading every failed row of the window.
CREATE TABLE worker_toolbox_failure_counts (
  hour timestamptz NOT NULL,
  name varchar(155) NOT NULL,
  error_type text NOT NULL,
  error_message text NOT NULL,
  failures integer NOT NULL,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  sample_task_id varchar(155) NOT NULL,
  PRIMARY KEY (hour, name, error_type, error_message)
);

-- Add one newly failed row to the hourly counter of its task, error class and message.
CREATE FUNCTION worker_toolbox_count_failure(failed celery_taskmeta) RETURNS void
  LANGUAGE plpgsql AS $fn$
DECLARE
  at timestamptz := COALESCE(failed.date_done AT TIME ZONE 'UTC', now());
BEGIN
  INSERT INTO worker_toolbox_failure_counts AS f
    (hour, name, error_type, error_message, failures, first_seen, last_seen, sample_task_id)
  VALUES (date_trunc('hour', at), COALESCE(failed.name, '?'),
          worker_toolbox_error_type(failed.error, failed.traceback),
          worker_toolbox_error_message(failed.error, failed.traceback), 1, at, at, failed.task_id)
  ON CONFLICT (hour, name, error_type, error_message) DO UPDATE SET
    failures = f.failures + 1,
    first_seen = LEAST(f.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(f.last_seen, EXCLUDED.last_seen),
    sample_task_id = CASE WHEN EXCLUDED.last_seen >= f.last_seen THEN EXCLUDED.sample_task_id
                          ELSE f.sample_task_id END;
END
$fn$;

-- Row triggers whose WHEN clause PostgreSQL evaluates without calling any function: the worker's usual
-- write (a new row, straight to SUCCESS) runs none of them; a failure counts itself, and an update that
-- moves a task's state, meta or retry count keeps the state it replaces. SECURITY DEFINER, so the writers'
-- least-privilege roles need no right on the history or the counters; their search path is pinned to this
-- schema (then pg_catalog, pg_temp last), as a definer function's must be.
CREATE FUNCTION worker_toolbox_result_inserted() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER AS $fn$
BEGIN
  PERFORM worker_toolbox_count_failure(NEW);
  RETURN NULL;
END
$fn$;

CREATE FUNCTION worker_toolbox_result_updated() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER AS $fn$
BEGIN
  IF OLD.task_id IS NOT NULL AND OLD.status IS NOT NULL THEN
    INSERT INTO worker_toolbox_task_states (task_id, status, at, retries, worker, meta, error)
    VALUES (OLD.task_id, OLD.status, COALESCE(OLD.updated_at, OLD.date_done AT TIME ZONE 'UTC', now()),
            OLD.retries, OLD.worker, CASE WHEN OLD.status = 'PROGRESS' THEN OLD.meta END, OLD.error);
  END IF;
  IF NEW.status = 'FAILURE' AND OLD.status IS DISTINCT FROM 'FAILURE' THEN
    PERFORM worker_toolbox_count_failure(NEW);
  END IF;
  RETURN NULL;
END
$fn$;

DO $do$ BEGIN
  EXECUTE format('ALTER FUNCTION worker_toolbox_count_failure(celery_taskmeta) SET search_path = %I, pg_catalog, pg_temp',
                 current_schema());
  EXECUTE format('ALTER FUNCTION worker_toolbox_result_inserted() SET search_path = %I, pg_catalog, pg_temp',
                 current_schema());
  EXECUTE format('ALTER FUNCTION worker_toolbox_result_updated() SET search_path = %I, pg_catalog, pg_temp',
                 current_schema());
END $do$;

CREATE TRIGGER worker_toolbox_result_inserted
  AFTER INSERT ON celery_taskmeta FOR EACH ROW WHEN (NEW.status = 'FAILURE')
  EXECUTE FUNCTION worker_toolbox_result_inserted();
CREATE TRIGGER worker_toolbox_result_updated
  AFTER UPDATE ON celery_taskmeta FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.meta IS DISTINCT FROM NEW.meta
        OR OLD.retries IS DISTINCT FROM NEW.retries)
  EXECUTE FUNCTION worker_toolbox_result_updated();

-- Wakes the dashboard when the tracker records tasks: one notification per statement (a batch), and
-- PostgreSQL folds identical notifications of one transaction into one.
CREATE FUNCTION worker_toolbox_notify_tracking() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('worker_toolbox_tracking', json_build_object('schema', TG_TABLE_SCHEMA)::text);
  RETURN NULL;
END
$fn$;

CREATE TRIGGER worker_toolbox_notify_tracking
  AFTER INSERT OR UPDATE ON worker_toolbox_tasks
  FOR EACH STATEMENT EXECUTE FUNCTION worker_toolbox_notify_tracking();

-- Every scalar anywhere inside a task's args and kwargs, as one JSON array: what the dashboard's and
-- \`worker-toolbox tasks --arg\` "a value inside the arguments" search matches with @>, through the GIN
-- index below.
CREATE FUNCTION worker_toolbox_argument_values(args jsonb, kwargs jsonb) RETURNS jsonb
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT jsonb_path_query_array(jsonb_build_array(args, kwargs),
                                'strict $.** ? (@.type() != "object" && @.type() != "array")')
$fn$;

-- The task list: newest first, keyset-paginated on (created_at, task_id), optionally by service or name.
CREATE INDEX worker_toolbox_tasks_created_idx ON worker_toolbox_tasks (created_at DESC, task_id DESC);
CREATE INDEX worker_toolbox_tasks_service_idx
  ON worker_toolbox_tasks ((split_part(name, '.', 1)), created_at DESC, task_id DESC);
CREATE INDEX worker_toolbox_tasks_name_idx ON worker_toolbox_tasks (name, created_at DESC, task_id DESC);
CREATE INDEX worker_toolbox_tasks_parent_idx ON worker_toolbox_tasks (parent_id);
CREATE INDEX worker_toolbox_tasks_values_idx
  ON worker_toolbox_tasks USING gin (worker_toolbox_argument_values(args, kwargs) jsonb_path_ops);

-- Finished tasks in a time window (rates, replaying a failure group), a state of one task name, children.
CREATE INDEX celery_taskmeta_status_done_idx ON celery_taskmeta (status, date_done);
CREATE INDEX celery_taskmeta_status_name_idx ON celery_taskmeta (status, name);
CREATE INDEX celery_taskmeta_parent_id_idx ON celery_taskmeta (parent_id);
`,
  },
  {
    version: 3,
    name: "tracking ignore_result for loss accounting",
    sql: `-- name: tracking ignore_result for loss accounting
-- \`worker-toolbox audit\` reconciles the tracking table (every task ever scheduled) with the result table. A
-- task sent with ignore_result never gets a SUCCESS row, so the tracker records the flag and the audit does
-- not count such tasks as lost. (The audit's window scan uses worker_toolbox_tasks_created_idx, 000002.)
ALTER TABLE worker_toolbox_tasks ADD COLUMN ignore_result boolean NOT NULL DEFAULT false;
`,
  },
  {
    version: 4,
    name: "replay generations",
    sql: `-- name: replay generations
-- A replayed task (\`worker-toolbox dlq replay\`, the dashboard) may get a new outcome. Each replay starts a new
-- generation of the task: writes of the new generation replace the row whatever its state, writes of an
-- older one (late duplicates of the earlier run) never change it. Rows written before this migration, and by
-- Celery itself, are generation 0. The state a replay replaces is kept by the history triggers of 000002,
-- now with its generation, and a replay that moves the row counts as a state change even when the status
-- stays the same (SUCCESS replaced by SUCCESS).
ALTER TABLE celery_taskmeta
  ADD COLUMN generation integer NOT NULL DEFAULT 0,
  ADD COLUMN replayed_at timestamptz;
ALTER TABLE worker_toolbox_task_states ADD COLUMN generation integer NOT NULL DEFAULT 0;

CREATE OR REPLACE FUNCTION worker_toolbox_result_updated() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER AS $fn$
BEGIN
  IF OLD.task_id IS NOT NULL AND OLD.status IS NOT NULL THEN
    INSERT INTO worker_toolbox_task_states (task_id, status, at, retries, worker, meta, error, generation)
    VALUES (OLD.task_id, OLD.status, COALESCE(OLD.updated_at, OLD.date_done AT TIME ZONE 'UTC', now()),
            OLD.retries, OLD.worker, CASE WHEN OLD.status = 'PROGRESS' THEN OLD.meta END, OLD.error,
            OLD.generation);
  END IF;
  IF NEW.status = 'FAILURE'
     AND (OLD.status IS DISTINCT FROM 'FAILURE' OR OLD.generation IS DISTINCT FROM NEW.generation) THEN
    PERFORM worker_toolbox_count_failure(NEW);
  END IF;
  RETURN NULL;
END
$fn$;

DO $do$ BEGIN
  EXECUTE format('ALTER FUNCTION worker_toolbox_result_updated() SET search_path = %I, pg_catalog, pg_temp',
                 current_schema());
END $do$;

DROP TRIGGER worker_toolbox_result_updated ON celery_taskmeta;
CREATE TRIGGER worker_toolbox_result_updated
  AFTER UPDATE ON celery_taskmeta FOR EACH ROW
  WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.meta IS DISTINCT FROM NEW.meta
        OR OLD.retries IS DISTINCT FROM NEW.retries OR OLD.generation IS DISTINCT FROM NEW.generation)
  EXECUTE FUNCTION worker_toolbox_result_updated();

-- What became of the replays of a window (the dashboard's Failures page): a partial index, as only replayed
-- rows have replayed_at.
CREATE INDEX celery_taskmeta_replayed_at_idx ON celery_taskmeta (replayed_at) WHERE replayed_at IS NOT NULL;
`,
  },
  {
    version: 5,
    name: "tracking group id and index",
    sql: `-- name: tracking group id and index
-- Celery sends \`group\` and \`group_index\` headers with every member of a group (and a chord's header). The
-- tracker records them on the task's tracking row, whichever language sent or runs the task, so a task shows
-- the group it belongs to and its place in it, and a group's members are found by its id. (Celery's own
-- database backend keeps neither: celery_taskmeta stays as Celery reads it.)
ALTER TABLE worker_toolbox_tasks
  ADD COLUMN group_id varchar(155),
  ADD COLUMN group_index integer;
CREATE INDEX worker_toolbox_tasks_group_id_idx ON worker_toolbox_tasks (group_id) WHERE group_id IS NOT NULL;
`,
  },
  {
    version: 6,
    name: "result notifications carry the final row",
    sql: `-- name: result notifications carry the final row
-- A waiter (waitForResult, a ResultWatcher) woken by a final state used to read the row back: one more round
-- trip to the database for every result waited for. Now the notification of a final state (SUCCESS, FAILURE,
-- REVOKED) carries the row's readable columns under "row", and the waiter resolves from it. The note keeps
-- schema, task_id and status as before, so older listeners read it unchanged. Without "row" — a non-final
-- state, a row only Celery's pickle describes (no JSON column: Celery wrote it), or a note that would pass
-- PostgreSQL's 8,000-byte payload limit — the waiter reads the row, as before.
-- PostgreSQL has no permissions on notification channels: any role that can connect can LISTEN and would see
-- the rows. Where that is too much, \`ALTER DATABASE ... SET worker_toolbox.result_notes = 'ids'\` (or the same
-- on the writing roles) keeps the notes to ids and states: waiters then read the row, as before.
CREATE OR REPLACE FUNCTION worker_toolbox_notify_result() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  note text;
BEGIN
  IF NEW.status IN ('SUCCESS', 'FAILURE', 'REVOKED')
     AND coalesce(current_setting('worker_toolbox.result_notes', true), '') <> 'ids'
     AND (NEW.result_json IS NOT NULL OR NEW.meta IS NOT NULL OR NEW.error IS NOT NULL) THEN
    note := json_build_object(
      'schema', TG_TABLE_SCHEMA, 'task_id', NEW.task_id, 'status', NEW.status,
      'row', json_build_object(
        'result_json', NEW.result_json, 'meta', NEW.meta, 'error', NEW.error, 'traceback', NEW.traceback,
        'date_done', NEW.date_done AT TIME ZONE 'UTC', 'started_at', NEW.started_at,
        'updated_at', NEW.updated_at, 'worker', NEW.worker, 'retries', NEW.retries, 'name', NEW.name,
        'parent_id', NEW.parent_id, 'root_id', NEW.root_id, 'generation', NEW.generation,
        'replayed_at', NEW.replayed_at))::text;
    IF octet_length(note) < 8000 THEN
      PERFORM pg_notify('worker_toolbox_result', note);
      RETURN NULL;
    END IF;
  END IF;
  PERFORM pg_notify(
    'worker_toolbox_result',
    json_build_object('schema', TG_TABLE_SCHEMA, 'task_id', NEW.task_id, 'status', NEW.status)::text
  );
  RETURN NULL;
END
$fn$;
`,
  },
];
