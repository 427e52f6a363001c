-- name: tracking group id and index
-- Celery sends `group` and `group_index` headers with every member of a group (and a chord's header). The
-- tracker records them on the task's tracking row, whichever language sent or runs the task, so a task shows
-- the group it belongs to and its place in it, and a group's members are found by its id. (Celery's own
-- database backend keeps neither: celery_taskmeta stays as Celery reads it.)
ALTER TABLE worker_toolbox_tasks
  ADD COLUMN group_id varchar(155),
  ADD COLUMN group_index integer;
CREATE INDEX worker_toolbox_tasks_group_id_idx ON worker_toolbox_tasks (group_id) WHERE group_id IS NOT NULL;
