"""A Python Celery app for the interop test: configured only by `worker-toolbox celery-config`.

The settings module is named by WT_CELERY_SETTINGS (written by the test into a temp dir on PYTHONPATH).
The task writes a file: the side effect that proves a Python worker ran a task a TypeScript producer sent.
"""
import json
import os

from celery import Celery

app = Celery("interop")
app.config_from_object(os.environ["WT_CELERY_SETTINGS"])


@app.task(name="interop.touch")
def touch(path, value, tag=None):
    with open(path + ".tmp", "w") as out:
        json.dump(
            {
                "value": value,
                "tag": tag,
                "id": touch.request.id,
                "root_id": touch.request.root_id,
                "parent_id": touch.request.parent_id,
                "headers": {"x-wt-tracking": (touch.request.get("x-wt-tracking"))},
            },
            out,
        )
    os.rename(path + ".tmp", path)
    return {"written": path, "value": value}


# Canvas building blocks (test/interop/canvas.int.test.ts): the same tasks exist as TypeScript
# contracts, so a workflow's steps can run in either language.
@app.task(name="interop.add")
def add(a, b):
    return a + b


@app.task(name="interop.mul")
def mul(a, b):
    return a * b


@app.task(name="interop.total")
def total(values):
    return sum(values)


@app.task(name="interop.boom")
def boom(message):
    raise ValueError(message)


# One positional parameter: Celery calls errbacks like this "old style", as a task with the failed
# task's id (an errback taking more positional parameters would be called inline with request, exc,
# traceback, which only a Python worker running the failed task itself can do).
@app.task(name="interop.on_error")
def on_error(task_id, *, tag=None):
    return {"failed": task_id, "tag": tag}
