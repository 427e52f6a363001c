/**
 * @worker-toolbox/runtime/results — the result backend on PostgreSQL: Celery-compatible `celery_taskmeta`
 * plus JSON columns, the tracking table, migrations, least-privilege grants, pruning, writes and reads.
 */
export * from "../results/index.js";
