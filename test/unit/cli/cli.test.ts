import { commandPaths } from "@worker-toolbox/cli";
import { describe, expect, it } from "vitest";
import { runCliCaptured } from "../../support/cli.js";

const run = runCliCaptured;

describe("worker-toolbox config check", () => {
  it("lists every missing variable in one message and exits 2 in production mode", async () => {
    const result = await run(["config", "check"], { WT_MODE: "production" });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(
      "error CONFIG_INVALID: Invalid configuration (mode production): 3 problems",
    );
    for (const variable of ["WT_ENVIRONMENT_PREFIX", "AMQP_URL", "DATABASE_URL"]) {
      expect(result.stderr).toMatch(new RegExp(`\\(${variable}\\): missing; required in production mode`));
    }
  });

  it("prints the resolved config with the passwords masked", async () => {
    const env = {
      WT_MODE: "production",
      WT_ENVIRONMENT_PREFIX: "staging",
      AMQP_URL: "amqps://worker:hunter2@rabbit:5671/tasks",
      DATABASE_URL: "postgres://worker:pgsecret@db:5432/tasks?sslmode=verify-full",
      WT_BROKER_TLS_PASSPHRASE: "keypass",
    };
    const text = await run(["config", "check", "--offline", "--service", "export"], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^broker\.url +amqps:\/\/worker:\*\*\*@rabbit:5671\/tasks +AMQP_URL$/m);
    expect(text.stdout).toMatch(/^service +export +WT_SERVICE$/m);
    expect(text.stdout).toMatch(/^broker\.tls\.passphrase +\*\*\* +WT_BROKER_TLS_PASSPHRASE$/m);

    const json = await run(["config", "check", "--offline", "--json"], env);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.database.url).toBe("postgres://worker:***@db:5432/tasks?sslmode=verify-full");
    expect(parsed.environment.prefix).toBe("staging");
    for (const secret of ["hunter2", "pgsecret", "keypass"]) {
      expect(text.stdout + json.stdout).not.toContain(secret);
    }
  });

  it("lets flags override the environment", async () => {
    const result = await run(
      ["config", "check", "--offline", "--json", "--env-prefix", "qa", "--amqp-url", "amqp://h:5672/"],
      {
        WT_MODE: "development",
        WT_ENVIRONMENT_PREFIX: "staging",
      },
    );
    expect(JSON.parse(result.stdout)).toMatchObject({
      environment: { prefix: "qa" },
      broker: { url: "amqp://h:5672/" },
    });
  });

  it("validates per role: a producer needs no DATABASE_URL, a worker names what it lacks", async () => {
    const env = { WT_MODE: "production", WT_ENVIRONMENT_PREFIX: "prod", AMQP_URL: "amqps://u:p@mq:5671/" };
    const producer = await run(["config", "check", "--offline", "--role", "producer"], env);
    expect(producer.code).toBe(0);
    expect(producer.stdout).toContain("Configuration OK for role producer");
    const worker = await run(["config", "check", "--offline", "--role", "worker"], env);
    expect(worker.code).toBe(2);
    expect(worker.stderr).toContain(
      "(DATABASE_URL): missing; required in production mode (no default on purpose), needed by a worker",
    );
    expect(worker.stderr).toContain("(WT_SERVICE): missing; needed by a worker");
  });

  it("masks a password in a malformed URL it rejects", async () => {
    for (const url of [
      "worker:hunter2@rabbit:5672/",
      "amqp:/worker:hunter2@rabbit",
      "amqp://worker:hunter2@",
    ]) {
      const result = await run(["config", "check", "--offline"], { AMQP_URL: url });
      expect(result.code, url).toBe(2);
      expect(result.stderr).toContain("broker.url (AMQP_URL)");
      expect(result.stderr + result.stdout).not.toContain("hunter2");
    }
  });

  it("reports an unreadable config file as a config error (exit 2)", async () => {
    const result = await run(["config", "check", "--config", "/nonexistent/wt.json"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "error CONFIG_FILE_UNREADABLE: Cannot read config file /nonexistent/wt.json",
    );
  });
});

describe("worker-toolbox topology plan", () => {
  it("prints the plan as a tree and as JSON without a broker", async () => {
    const text = await run(["topology", "plan", "--env-prefix", "staging", "--service", "export"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("staging.tasks (topic)");
    expect(text.stdout).toContain("└─ # → staging.platform");
    // Celery's control exchange, the queue each worker process binds to it and the events exchange are
    // part of the plan.
    expect(text.stdout).toContain("staging.celery.pidbox (fanout)");
    expect(text.stdout).toContain("{worker}.staging.celery.pidbox");
    expect(text.stdout).toContain("staging.celeryev (topic)");
    const json = await run([
      "topology",
      "plan",
      "--json",
      "--env-prefix",
      "staging",
      "--service",
      "export",
      "--service",
      "billing",
    ]);
    const plan = JSON.parse(json.stdout);
    expect(plan.queues.map((queue: { name: string }) => queue.name)).toEqual(
      expect.arrayContaining(["staging.billing", "staging.export", "staging.platform"]),
    );
    expect(plan.workerQueues).toEqual([
      expect.objectContaining({ role: "control", service: "billing", exchange: "staging.celery.pidbox" }),
      expect.objectContaining({
        role: "control",
        service: "export",
        name: "{worker}.staging.celery.pidbox",
        durable: false,
        exclusive: true,
        arguments: { "x-message-ttl": 300_000 },
      }),
    ]);
  });

  it("rejects a reserved service name with exit 2", async () => {
    const result = await run(["topology", "plan", "--service", "platform"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Service name "platform" cannot be planned');
  });
});

describe("worker-toolbox usage", () => {
  it("has --help on every command", async () => {
    const paths = await commandPaths();
    expect(paths).toEqual(
      expect.arrayContaining([
        ["config", "check"],
        ["topology", "plan"],
        ["topology", "apply"],
        ["topology", "verify"],
      ]),
    );
    for (const path of [[], ...paths]) {
      const result = await run([...path, "--help"]);
      expect(result.code, path.join(" ")).toBe(0);
      expect(result.stdout).toContain(`worker-toolbox ${path.join(" ")}`.trim());
      expect(result.stdout).toContain("--help");
    }
  }, 60_000); // one CLI run per command: seconds under a loaded machine, not vitest's default 5

  it("exits 2 on an unknown flag, an unknown command and a missing command", async () => {
    const flag = await run(["config", "check", "--bogus-flag"]);
    expect(flag).toMatchObject({ code: 2, stdout: "" });
    expect(flag.stderr).toMatch(/Unknown arguments?: bogus-flag/);
    expect((await run(["frobnicate"])).code).toBe(2);
    const missing = await run(["topology"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("name a topology command");
  });
});
