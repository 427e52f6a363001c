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
