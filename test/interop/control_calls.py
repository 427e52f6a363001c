"""Celery's remote control calls, as a Python operator makes them, against one worker.

NODE names the worker. Each argument is a JSON list [kind, method, kwargs]: kind "inspect" calls
app.control.inspect(destination=[NODE]).<method>(**kwargs), kind "control" calls
app.control.<method>(destination=[NODE], reply=True, **kwargs), kind "send" calls app.send_task(**kwargs) and
returns the task id. Prints `RESULT<i> <json>` for the i-th call
(what Celery returned), in order. Every call names the worker, so it returns on its reply.
"""
import json
import os
import sys

from interop_tasks import app

node = os.environ["NODE"]
timeout = float(os.environ.get("TIMEOUT", "5.0"))

for index, call in enumerate(sys.argv[1:]):
    kind, method, kwargs = json.loads(call)
    if kind == "send":
        result = app.send_task(**kwargs).id
    elif kind == "inspect":
        result = getattr(app.control.inspect(destination=[node], timeout=timeout), method)(**kwargs)
    else:
        result = getattr(app.control, method)(destination=[node], reply=True, timeout=timeout, **kwargs)
    print(f"RESULT{index}", json.dumps(result, default=str), flush=True)
