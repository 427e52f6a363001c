"""Celery's remote control, as a Python operator uses it, against a TypeScript worker.

NODE names the worker; RUNNING is a task running on it, QUEUED (comma-separated) tasks waiting behind it. Prints one line each:
  INSPECT {ping, registered, active, reserved, stats, active_queues}  what app.control.inspect() returns
  REVOKE  {queued, running}                                            the replies to the two revokes
  REVOKED {revoked}                                                    inspect().revoked() afterwards
Every call names the worker as destination, so each returns on its reply instead of waiting out the timeout.
"""
import json
import os

from interop_tasks import app

node = os.environ["NODE"]
inspect = app.control.inspect(destination=[node], timeout=5.0)


def dump(label, value):
    print(label, json.dumps(value, default=str), flush=True)


dump(
    "INSPECT",
    {
        "ping": inspect.ping(),
        "registered": inspect.registered(),
        "active": inspect.active(),
        "reserved": inspect.reserved(),
        "stats": inspect.stats(),
        "active_queues": inspect.active_queues(),
    },
)
# The queued task as a Celery user revokes it; the running one as AsyncResult.revoke(terminate=True) does.
queued = app.control.revoke(os.environ["QUEUED"].split(","), destination=[node], reply=True, timeout=5.0)
# AsyncResult.revoke cannot name a destination: with wait=True it collects replies for `timeout` seconds.
running = app.AsyncResult(os.environ["RUNNING"]).revoke(terminate=True, wait=True, timeout=1.0)
dump("REVOKE", {"queued": queued, "running": running})
dump("REVOKED", {"revoked": inspect.revoked()})
