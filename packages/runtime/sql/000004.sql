-- name: replay generations
-- A replayed task (`worker-toolbox dlq replay`, the dashboard) may get a new outcome. Each replay starts a new
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
