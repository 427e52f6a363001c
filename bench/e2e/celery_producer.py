"""Celery's own producer for bench/e2e.ts: `python3 bench/e2e/celery_producer.py` (BENCH_E2E: see common.mjs).

The app is configured by the module `worker-toolbox celery-config` printed (WT_CELERY_SETTINGS, on PYTHONPATH),
as the worker is. The throughput phase calls `send_task` for each task (Celery's defaults: no publisher
confirms); a round trip is `send_task(...).get()`, the way a Celery user waits for a result (the database
backend polls the row, every 0.5 s by default).
"""
import json
import os
import sys
import time

from celery import Celery

run = json.loads(os.environ["BENCH_E2E"])
app = Celery("bench")
app.config_from_object(os.environ["WT_CELERY_SETTINGS"])
TASK = "bench.payload"
WARM_SAMPLES = 10
pattern = "abcdefghijklmnopqrstuvwxyz0123456789"
payload = (pattern * (run["payloadBytes"] // len(pattern) + 1))[: run["payloadBytes"]]
warm = (0, run["warmup"])
go = (run["warmup"], run["warmup"] + run["count"])
first_round_trip = run["warmup"] + run["count"]


def report(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def send(start, end):
    with app.producer_or_acquire() as producer:
        for n in range(start, end):
            app.send_task(TASK, args=[n, payload], producer=producer)


def latency():
    ms = []
    for i in range(run["samples"] + WARM_SAMPLES):
        started = time.perf_counter()
        app.send_task(TASK, args=[first_round_trip + i, payload]).get(timeout=30)
        if i >= WARM_SAMPLES:
            ms.append((time.perf_counter() - started) * 1000)
    return ms


app.connection_for_write().ensure_connection(max_retries=3)
report({"event": "ready"})
for line in sys.stdin:
    command = line.strip()
    if command == "warm":
        send(*warm)
        report({"event": "warmed"})
    elif command == "go":
        started = time.perf_counter()
        send(*go)
        report({"event": "published", "ms": (time.perf_counter() - started) * 1000})
    elif command == "latency":
        report({"event": "latency", "ms": latency()})
    elif command == "stop":
        break
