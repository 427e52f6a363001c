import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findCeleryPython } from "../../support/celeryPython.js";
import { runCliCaptured } from "../../support/cli.js";

const env = {
  WT_ENVIRONMENT_PREFIX: "staging",
  AMQP_URL: "amqp://worker:secret@rabbit:5672/",
  DATABASE_URL: "postgres://worker:secret@db:5432/tasks",
};
const celery = findCeleryPython();
const dir = mkdtempSync(join(tmpdir(), "wt-celery-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("worker-toolbox celery-config", () => {
  it("routes each service's tasks to its queue, by name, in the JSON form", async () => {
    const run = await runCliCaptured(
      ["celery-config", "--service", "export", "--service", "mail", "--format", "json"],
      env,
    );
    expect(run.code).toBe(0);
    const settings = JSON.parse(run.stdout);
    expect(settings.task_routes).toEqual({
      "export.*": {
        queue: "staging.export",
        exchange: "staging.tasks",
        exchange_type: "topic",
        routing_key: "$task_name",
      },
      "mail.*": {
        queue: "staging.mail",
        exchange: "staging.tasks",
        exchange_type: "topic",
        routing_key: "$task_name",
      },
    });
    expect(settings.task_queues.map((queue: { name: string }) => queue.name)).toEqual([
      "staging.export",
      "staging.mail",
    ]);
  });

  it("prints result_extended as database.resultExtended says (on unless turned off)", async () => {
    const json = async (extra: Record<string, string>) => {
      const run = await runCliCaptured(["celery-config", "--service", "export", "--format", "json"], {
        ...env,
        ...extra,
      });
      expect(run.code, run.stderr).toBe(0);
      return JSON.parse(run.stdout).result_extended;
    };
    expect(await json({})).toBe(true);
    expect(await json({ WT_DATABASE_RESULT_EXTENDED: "false" })).toBe(false);
    const python = await runCliCaptured(["celery-config", "--service", "export"], {
      ...env,
      WT_DATABASE_RESULT_EXTENDED: "false",
    });
    expect(python.stdout).toMatch(/^result_extended = False$/m);
  });

  // Celery's fallback_chord_unlock reads router.route(...)['queue']: a route without a queue is a KeyError.
  it.skipIf(!celery.found)(
    "the Python router names a queue with the planned arguments, for any service",
    async () => {
      const run = await runCliCaptured(["celery-config", "--service", "export"], env);
      expect(run.code).toBe(0);
      writeFileSync(join(dir, "wt_settings.py"), run.stdout);
      const script = [
        "import json, wt_settings as s",
        "out = {}",
        "for name in ['export.project.v2', 'mail.send', 'celery.chord_unlock', 'not a task']:",
        "    r = s.route_by_task_name(name, (), {}, {})",
        "    out[name] = r and dict(r, queue={'name': r['queue'].name, 'rk': r['queue'].routing_key,",
        "        'args': r['queue'].queue_arguments, 'exchange': r['queue'].exchange.name})",
        "print(json.dumps(out))",
      ].join("\n");
      const python = spawnSync(celery.found ? celery.python : "", ["-c", script], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, PYTHONPATH: dir, PYTHONDONTWRITEBYTECODE: "1" },
      });
      expect(python.stderr).toBe("");
      const routes = JSON.parse(python.stdout);
      const queueArgs = (service: string) => ({
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": "staging.dead",
        "x-dead-letter-routing-key": service,
        "x-delivery-limit": 10,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
      });
      expect(routes["export.project.v2"]).toEqual({
        queue: {
          name: "staging.export",
          rk: "export.#",
          args: queueArgs("export"),
          exchange: "staging.tasks",
        },
        exchange: "staging.tasks",
        exchange_type: "topic",
        routing_key: "export.project.v2",
      });
      // A service not passed with --service still gets its planned queue (declaring it is no drift).
      expect(routes["mail.send"].queue).toEqual({
        name: "staging.mail",
        rk: "mail.#",
        args: queueArgs("mail"),
        exchange: "staging.tasks",
      });
      expect(routes["celery.chord_unlock"]).toBeNull();
      expect(routes["not a task"]).toBeNull();
    },
  );
});
