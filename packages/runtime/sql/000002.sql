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

-- Statement-level triggers with transition tables: one INSERT ... SELECT per write statement (the worker
-- writes results in batches), not one per row. SECURITY DEFINER so the writers' least-privilege roles need
-- no right on the history table; the table is named through TG_TABLE_SCHEMA and the search path pinned,
-- as a definer function must.
CREATE FUNCTION worker_toolbox_record_states() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    EXECUTE format(
      'INSERT INTO %I.worker_toolbox_task_states (task_id, status, at, retries, worker, meta, error)
       SELECT n.task_id, n.status, COALESCE(n.updated_at, n.date_done AT TIME ZONE ''UTC'', now()),
              n.retries, n.worker, CASE WHEN n.status = ''PROGRESS'' THEN n.meta END, n.error
         FROM new_rows n
        WHERE n.task_id IS NOT NULL AND n.status IS NOT NULL', TG_TABLE_SCHEMA);
  ELSE
    EXECUTE format(
      'INSERT INTO %I.worker_toolbox_task_states (task_id, status, at, retries, worker, meta, error)
       SELECT n.task_id, n.status, COALESCE(n.updated_at, n.date_done AT TIME ZONE ''UTC'', now()),
              n.retries, n.worker, CASE WHEN n.status = ''PROGRESS'' THEN n.meta END, n.error
         FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.task_id IS NOT NULL AND n.status IS NOT NULL
          AND (n.status IS DISTINCT FROM o.status OR n.meta IS DISTINCT FROM o.meta
               OR n.retries IS DISTINCT FROM o.retries)', TG_TABLE_SCHEMA);
  END IF;
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

-- Failures in a time window (grouping, rates), a state of one task name, and children of a task.
CREATE INDEX celery_taskmeta_status_done_idx ON celery_taskmeta (status, date_done);
CREATE INDEX celery_taskmeta_status_name_idx ON celery_taskmeta (status, name);
CREATE INDEX celery_taskmeta_parent_id_idx ON celery_taskmeta (parent_id);
