-- name: task history and dashboard indexes
-- Applied by migrate() with search_path set to the target schema, so names here are unqualified.

-- Every state a task went through, with its time: appended by the triggers below whenever a write to
-- celery_taskmeta changes a task's status, progress meta or retry count (writes Celery itself makes
-- included). celery_taskmeta keeps only the latest state; this is the history the dashboard shows.
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
  SELECT COALESCE(error->>'type', substring(traceback from '([A-Za-z_][A-Za-z0-9_.]*)(?::[^\n]*)?\n*$'), 'unknown')
$fn$;
CREATE FUNCTION worker_toolbox_error_message(error jsonb, traceback text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT left(COALESCE(error->>'message', substring(traceback from ':\s*([^\n]*)\n*$'), ''), 300)
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

-- Statement-level triggers with transition tables: one INSERT ... SELECT per write statement (the worker
-- writes results in batches), not one per row. SECURITY DEFINER so the writers' least-privilege roles need
-- no right on the history table; the table is named through TG_TABLE_SCHEMA and the search path pinned,
-- as a definer function must.
CREATE FUNCTION worker_toolbox_record_states() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  -- The rows this statement changed: all inserted ones, or the updated ones whose state, meta or retries moved.
  changed text := CASE WHEN TG_OP = 'INSERT' THEN
      'SELECT n.*, NULL::varchar AS old_status FROM new_rows n'
    ELSE
      'SELECT n.*, o.status AS old_status FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.status IS DISTINCT FROM o.status OR n.meta IS DISTINCT FROM o.meta
           OR n.retries IS DISTINCT FROM o.retries'
    END;
BEGIN
  EXECUTE format(
    'INSERT INTO %1$I.worker_toolbox_task_states (task_id, status, at, retries, worker, meta, error)
     SELECT c.task_id, c.status, COALESCE(c.updated_at, c.date_done AT TIME ZONE ''UTC'', now()),
            c.retries, c.worker, CASE WHEN c.status = ''PROGRESS'' THEN c.meta END, c.error
       FROM (%2$s) c
      WHERE c.task_id IS NOT NULL AND c.status IS NOT NULL', TG_TABLE_SCHEMA, changed);
  -- Sorted, so concurrent writers lock the counters in the same order.
  EXECUTE format(
    'INSERT INTO %1$I.worker_toolbox_failure_counts AS f
       (hour, name, error_type, error_message, failures, first_seen, last_seen, sample_task_id)
     SELECT date_trunc(''hour'', x.at), x.name, x.error_type, x.error_message, count(*), min(x.at), max(x.at),
            (array_agg(x.task_id ORDER BY x.at DESC))[1]
       FROM (SELECT c.task_id, COALESCE(c.name, ''?'') AS name,
                    COALESCE(c.date_done AT TIME ZONE ''UTC'', now()) AS at,
                    %1$I.worker_toolbox_error_type(c.error, c.traceback) AS error_type,
                    %1$I.worker_toolbox_error_message(c.error, c.traceback) AS error_message
               FROM (%2$s) c
              WHERE c.status = ''FAILURE'' AND c.task_id IS NOT NULL
                AND c.old_status IS DISTINCT FROM ''FAILURE'') x
      GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
     ON CONFLICT (hour, name, error_type, error_message) DO UPDATE SET
       failures = f.failures + EXCLUDED.failures,
       first_seen = LEAST(f.first_seen, EXCLUDED.first_seen),
       last_seen = GREATEST(f.last_seen, EXCLUDED.last_seen),
       sample_task_id = CASE WHEN EXCLUDED.last_seen >= f.last_seen THEN EXCLUDED.sample_task_id
                             ELSE f.sample_task_id END', TG_TABLE_SCHEMA, changed);
  RETURN NULL;
END
$fn$;

CREATE TRIGGER worker_toolbox_record_inserted_states
  AFTER INSERT ON celery_taskmeta REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION worker_toolbox_record_states();
CREATE TRIGGER worker_toolbox_record_updated_states
  AFTER UPDATE ON celery_taskmeta REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION worker_toolbox_record_states();

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
-- `worker-toolbox tasks --arg` "a value inside the arguments" search matches with @>, through the GIN
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
