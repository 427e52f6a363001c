"""A Python Celery client running workflows whose steps are TypeScript tasks (service `tsint`) and Python
tasks (service `interop`), as a Celery user writes them, and reading every result through AsyncResult.

Prints one line `RESULT <json>`: per scenario, the value (or the error) Celery's result API returned.
"""
import json

from celery import chain, chord, group
from celery.utils import uuid

from interop_tasks import app

s = app.signature
TIMEOUT = 60


def outcome(result, getter=None):
    try:
        value = (getter or (lambda r: r.get(timeout=TIMEOUT)))(result)
        return {"ok": True, "value": value, "id": result.id}
    except Exception as error:  # what the caller sees
        return {"ok": False, "type": type(error).__name__, "message": str(error), "id": result.id}


out = {}
# A chain of three across both languages: TypeScript, Python, TypeScript.
out["chain"] = outcome(chain(s("tsint.add", (1, 2)), s("interop.mul", (10,)), s("tsint.add", (5,))).apply_async())
# link and link_error on TypeScript tasks.
callback_id = uuid()
linked = s("tsint.add", (2, 3)).apply_async(link=s("tsint.mul", (10,), task_id=callback_id))
out["link"] = outcome(linked)
out["link_callback"] = outcome(app.AsyncResult(callback_id))
errback_id = uuid()
failing = s("tsint.boom", ("from python",)).apply_async(
    link_error=s("interop.on_error", kwargs={"tag": "py"}, task_id=errback_id)
)
out["link_error"] = outcome(failing)
out["link_errback"] = outcome(app.AsyncResult(errback_id))
# A group of TypeScript tasks, joined by Celery's GroupResult.
out["group"] = outcome(group(s("tsint.add", (1, 1)), s("tsint.add", (2, 2))).apply_async())
# Chords: header on TypeScript with the body on Python, and the reverse (celery.chord_unlock then runs on
# the TypeScript worker, which consumes the body's queue).
out["chord_ts_header"] = outcome(chord([s("tsint.add", (1, 1)), s("tsint.add", (2, 2))])(s("interop.total")))
out["chord_py_header"] = outcome(chord([s("interop.add", (1, 1)), s("interop.add", (3, 3))])(s("tsint.total")))
# A failing step fails the rest of the chain.
out["chain_failure"] = outcome(chain(s("tsint.boom", ("stop",)), s("interop.mul", (10,))).apply_async())
print("RESULT " + json.dumps(out, default=str), flush=True)
