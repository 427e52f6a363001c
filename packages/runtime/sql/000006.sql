-- name: result notifications carry the final row
-- A waiter (waitForResult, a ResultWatcher) woken by a final state used to read the row back: one more round
-- trip to the database for every result waited for. Now the notification of a final state (SUCCESS, FAILURE,
-- REVOKED) carries the row's readable columns under "row", and the waiter resolves from it. The note keeps
-- schema, task_id and status as before, so older listeners read it unchanged. Without "row" — a non-final
-- state, a row only Celery's pickle describes (no JSON column: Celery wrote it), or a note that would pass
-- PostgreSQL's 8,000-byte payload limit — the waiter reads the row, as before.
-- PostgreSQL has no permissions on notification channels: any role that can connect can LISTEN and would see
-- the rows. Where that is too much, `ALTER DATABASE ... SET worker_toolbox.result_notes = 'ids'` (or the same
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
