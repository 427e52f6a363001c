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
];
