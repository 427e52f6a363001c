"""The Python Celery side of bench/celery.ts and bench/e2e.ts: no-op tasks on the toolbox topology.

Configured by the module `worker-toolbox celery-config` printed (named by WT_CELERY_SETTINGS, on PYTHONPATH),
with one change for a like-for-like comparison: no STARTED row per task (the toolbox worker writes only
the final row). Late acks, reject on worker lost, JSON, the database result backend on the same
PostgreSQL and the prefetch all come from the printed settings.
"""
import os

from celery import Celery
from celery.signals import worker_ready

app = Celery("bench")
app.config_from_object(os.environ["WT_CELERY_SETTINGS"])
app.conf.task_track_started = False


@app.task(name="bench.noop")
def noop(n):
    return n


@app.task(name="bench.payload")
def payload(n, _payload):
    """The end-to-end bench's task (bench/e2e.ts): returns its first argument."""
    return n


@worker_ready.connect
def _announce(**_kwargs):
    # The parent samples the idle resident set when it reads this line. Straight to fd 1: the worker
    # redirects sys.stdout into its logger.
    os.write(1, b'{"event": "ready"}\n')
