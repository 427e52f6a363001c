-- name: tracking ignore_result for loss accounting
-- `worker-toolbox audit` reconciles the tracking table (every task ever scheduled) with the result table. A
-- task sent with ignore_result never gets a SUCCESS row, so the tracker records the flag and the audit does
-- not count such tasks as lost. (The audit's window scan uses worker_toolbox_tasks_created_idx, 000002.)
ALTER TABLE worker_toolbox_tasks ADD COLUMN ignore_result boolean NOT NULL DEFAULT false;
