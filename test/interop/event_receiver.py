"""Celery's own event receiver (what `celery events` and Flower run) watching TypeScript workers.

Prints READY once its queue is bound to the event exchange, then feeds every event into celery.events.state
.State until NODE sends worker-offline (or SECONDS pass), and prints one JSON line: the events seen from NODE
and what State made of the worker and its tasks.
"""
import json
import os
import time

from celery.events.receiver import EventReceiver

from interop_tasks import app

node = os.environ["NODE"]
deadline = time.monotonic() + float(os.environ.get("SECONDS", "60"))
state = app.events.State()
seen = []
alive_while_running = []


class Receiver(EventReceiver):
    def on_consume_ready(self, connection, channel, consumers, wakeup=True, **kwargs):
        print("READY", flush=True)
        super().on_consume_ready(connection, channel, consumers, wakeup=wakeup, **kwargs)


def on_event(event):
    state.event(event)
    if event.get("hostname") == node:
        seen.append(event)
        if event["type"] == "worker-heartbeat":
            alive_while_running.append(state.workers[node].alive)
        if event["type"] == "worker-offline":
            receiver.should_stop = True
    if time.monotonic() > deadline:
        receiver.should_stop = True


with app.connection_for_read() as connection:
    receiver = Receiver(connection, handlers={"*": on_event}, app=app)
    try:
        receiver.capture(limit=None, timeout=float(os.environ.get("SECONDS", "60")), wakeup=False)
    except Exception as error:  # the timeout: report what was seen
        print("STOPPED", repr(error), flush=True)

worker = state.workers.get(node)
print(
    "RESULT "
    + json.dumps(
        {
            "events": seen,
            "alive_while_running": alive_while_running,
            "worker": worker and {"alive": worker.alive, "heartbeats": len(worker.heartbeats), "freq": worker.freq,
                                  "sw_ident": worker.sw_ident, "processed": worker.processed, "active": worker.active},
            "tasks": {
                task.uuid: {"state": task.state, "name": task.name, "result": task.result, "exception": task.exception}
                for task in state.tasks.values()
                if task.worker and task.worker.hostname == node
            },
        },
        default=str,
    ),
    flush=True,
)
