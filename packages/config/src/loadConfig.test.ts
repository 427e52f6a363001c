import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { brokerUrls } from "./brokerUrls.js";
import { configError } from "./configError.testUtil.js";
import { loadConfig } from "./loadConfig.js";

describe("loadConfig", () => {
  it("fills the development preset when development mode is asked for", () => {
    const config = loadConfig({ env: { WT_MODE: "development" }, file: false });
    expect(config.mode).toBe("development");
    expect(config.environment.prefix).toBe("dev");
    expect(config.broker.url).toMatch(/^amqp:\/\/guest:guest@127\.0\.0\.1:5672/);
    expect(config.database.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:5432/);
    expect(config.worker.prefetch).toBe(20);
    expect(config.queue.type).toBe("quorum");
  });

  it("with no mode named, assumes no local broker or database: both are missing, with the ways to get them", () => {
    const error = configError(() => loadConfig({ env: {}, file: false }));
    expect(error.issues.map((issue) => issue.envVar).sort()).toEqual(["AMQP_URL", "DATABASE_URL"]);
    expect(error.message).toContain("(mode development): 2 problems");
    expect(error.message).toContain(
      "broker.url (AMQP_URL): missing; no mode was named, so no local default is assumed: set it, or set " +
        "WT_MODE=development to use amqp://guest:***@127.0.0.1:5672/, or run `worker-toolbox dev` (it starts a " +
        "broker and a database)",
    );
    // Settings that open no connection keep their development defaults.
    const named = loadConfig({
      env: { AMQP_URL: "amqp://h/", DATABASE_URL: "postgres://h/db" },
      file: false,
    });
    expect(named).toMatchObject({ mode: "development", environment: { prefix: "dev" } });
    // Code that states its config, or a caller that never connects, may ask for the local defaults.
    expect(loadConfig({ env: {}, file: false, localDefaults: true }).broker.url).toMatch(/127\.0\.0\.1:5672/);
  });

  it("in production lists every missing variable in one error, with the env var and an example", () => {
    const error = configError(() => loadConfig({ env: { WT_MODE: "production" }, file: false }));
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.issues.map((issue) => issue.envVar).sort()).toEqual([
      "AMQP_URL",
      "DATABASE_URL",
      "WT_ENVIRONMENT_PREFIX",
    ]);
    expect(error.message).toContain("required in production mode");
    expect(error.message).toContain("example: AMQP_URL=amqps://");
  });

  it("the health endpoint listens on loopback in development, everywhere in production, or where told", () => {
    expect(loadConfig({ env: {}, file: false, localDefaults: true }).worker.healthHost).toBe("127.0.0.1");
    expect(loadConfig({ env: { WT_MODE: "test" }, file: false }).worker.healthHost).toBe("127.0.0.1");
    const production = {
      WT_MODE: "production",
      WT_ENVIRONMENT_PREFIX: "prod",
      AMQP_URL: "amqps://u:p@rabbit/",
      DATABASE_URL: "postgres://u:p@db/tasks?sslmode=verify-full",
    };
    expect(loadConfig({ env: production, file: false }).worker.healthHost).toBeUndefined();
    const told = { ...production, WT_WORKER_HEALTH_HOST: "10.0.0.7" };
    expect(loadConfig({ env: told, file: false }).worker.healthHost).toBe("10.0.0.7");
  });

  it("NODE_ENV=production selects production mode", () => {
    const error = configError(() => loadConfig({ env: { NODE_ENV: "production" }, file: false }));
    expect(error.issues).toHaveLength(3);
  });

  it("coerces env values by field type and names the variable of a bad one", () => {
    const config = loadConfig({
      env: {
        WT_MODE: "development",
        WT_WORKER_PREFETCH: "50",
        WT_BROKER_TLS_REJECT_UNAUTHORIZED: "false",
        WT_QUEUE_DELAY_RUNGS_MS: "1000,5000",
      },
      file: false,
    });
    expect(config.worker.prefetch).toBe(50);
    expect(config.broker.tls.rejectUnauthorized).toBe(false);
    expect(config.queue.delayRungsMs).toEqual([1000, 5000]);

    const error = configError(() =>
      loadConfig({
        env: { WT_MODE: "test", WT_WORKER_PREFETCH: "lots", WT_QUEUE_TYPE: "stream" },
        file: false,
      }),
    );
    expect(error.issues.map((issue) => issue.envVar).sort()).toEqual(["WT_QUEUE_TYPE", "WT_WORKER_PREFETCH"]);
    expect(error.message).toContain('got "lots"');
    expect(error.message).toContain("[from env WT_WORKER_PREFETCH]");
  });

  it("reads a map field (per-service monitor thresholds) from one JSON variable, and names it when invalid", () => {
    const config = loadConfig({
      env: {
        WT_MODE: "development",
        WT_MONITOR_SERVICES: '{"exports": {"maxDepth": 5}, "billing": {"minConsumers": 0}}',
      },
      file: false,
    });
    expect(config.monitor.services).toEqual({ exports: { maxDepth: 5 }, billing: { minConsumers: 0 } });

    const notJson = configError(() =>
      loadConfig({ env: { WT_MODE: "test", WT_MONITOR_SERVICES: "exports=5" }, file: false }),
    );
    expect(notJson.issues.map((issue) => issue.envVar)).toEqual(["WT_MONITOR_SERVICES"]);
    expect(notJson.message).toContain("is not valid JSON");
    expect(notJson.message).toContain(`example: WT_MONITOR_SERVICES='{"export":{"maxDepth":50000`);

    const badField = configError(() =>
      loadConfig({
        env: { WT_MODE: "test", WT_MONITOR_SERVICES: '{"exports": {"maxDepht": 5}}' },
        file: false,
      }),
    );
    expect(badField.message).toContain("monitor.services.exports");
  });

  it("reports an unknown WT_ variable with a suggestion (typo guard)", () => {
    const error = configError(() => loadConfig({ env: { WT_WORKER_PREFECH: "5" }, file: false }));
    expect(error.issues[0]?.message).toContain("did you mean WT_WORKER_PREFETCH?");
  });

  it("never prints a password", () => {
    const error = configError(() =>
      loadConfig({
        env: { AMQP_URL: "http://admin:hunter2@broker:5672/", DATABASE_URL: "mysql://u:hunter2@db/x" },
        file: false,
      }),
    );
    expect(error.message).not.toContain("hunter2");
    expect(error.message).toContain("admin:***@");
    expect(error.issues).toHaveLength(2);
  });

  it("applies defaults < preset < file < env < overrides", () => {
    const dir = mkdtempSync(join(tmpdir(), "wt-config-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "config.json");
    writeFileSync(
      file,
      JSON.stringify({ worker: { prefetch: 7, concurrency: 3 }, environment: { prefix: "filed" } }),
    );
    const config = loadConfig({
      env: { WT_MODE: "development", WT_CONFIG_FILE: file, WT_WORKER_CONCURRENCY: "4" },
      overrides: { environment: { prefix: "override" } },
    });
    expect(config.worker.prefetch).toBe(7);
    expect(config.worker.concurrency).toBe(4);
    expect(config.environment.prefix).toBe("override");
  });

  it("rejects unknown keys in a config file and says which file", () => {
    const dir = mkdtempSync(join(tmpdir(), "wt-config-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ worker: { prefech: 7 } }));
    const error = configError(() => loadConfig({ env: { WT_MODE: "development" }, file }));
    expect(error.issues[0]).toMatchObject({ path: "worker.prefech", source: `file ${file}` });
    expect(error.issues[0]?.message).toContain("did you mean prefetch?");
  });

  it("an unreadable config file is its own error code", () => {
    expect(() => loadConfig({ env: {}, file: "/nonexistent/wt.json" })).toThrow(
      expect.objectContaining({ code: "CONFIG_FILE_UNREADABLE" }),
    );
  });

  describe("per role: each demands what it uses", () => {
    const production = { WT_MODE: "production", WT_ENVIRONMENT_PREFIX: "prod", AMQP_URL: "amqps://u:p@mq/" };

    it("a producer-only process needs no DATABASE_URL in production", () => {
      const config = loadConfig({ env: production, file: false, role: "producer" });
      expect(config.database.url).toBeUndefined();
      expect(config.broker.url).toBe("amqps://u:p@mq/");
    });

    it("a worker needs DATABASE_URL and a service, the tracker DATABASE_URL, and each says who needs it", () => {
      const worker = configError(() => loadConfig({ env: production, file: false, role: "worker" }));
      expect(worker.issues.map((issue) => issue.path).sort()).toEqual(["database.url", "service"]);
      expect(worker.message).toContain(
        "DATABASE_URL): missing; required in production mode (no default on purpose), needed by a worker",
      );
      expect(worker.message).toContain("WT_SERVICE): missing; needed by a worker");

      const tracker = configError(() => loadConfig({ env: production, file: false, role: "tracker" }));
      expect(tracker.issues.map((issue) => issue.envVar)).toEqual(["DATABASE_URL"]);
      expect(tracker.message).toContain("needed by the tracker");

      // The default role is the command-line tools, which need both servers (as before roles existed).
      const tools = configError(() => loadConfig({ env: production, file: false }));
      expect(tools.issues.map((issue) => issue.envVar)).toEqual(["DATABASE_URL"]);
    });

    it("every role needs the broker and the prefix", () => {
      for (const role of ["producer", "worker", "tracker", "tools"] as const) {
        const error = configError(() => loadConfig({ env: { WT_MODE: "production" }, file: false, role }));
        expect(error.issues.map((issue) => issue.envVar)).toEqual(
          expect.arrayContaining(["AMQP_URL", "WT_ENVIRONMENT_PREFIX"]),
        );
      }
    });

    it("development fills the database for every role; a worker still needs its service", () => {
      const development = { WT_MODE: "development" };
      expect(loadConfig({ env: development, file: false, role: "producer" }).database.url).toMatch(
        /^postgres:/,
      );
      const error = configError(() => loadConfig({ env: development, file: false, role: "worker" }));
      expect(error.issues.map((issue) => issue.path)).toEqual(["service"]);
    });
  });

  describe("several broker URLs", () => {
    it("reads a comma-separated AMQP_URL and a JSON array in a config file", () => {
      const list = "amqp://u:p@a:5672/v,amqp://u:p@b:5673/v";
      expect(brokerUrls(loadConfig({ env: { AMQP_URL: list }, file: false, role: "producer" }))).toEqual([
        "amqp://u:p@a:5672/v",
        "amqp://u:p@b:5673/v",
      ]);
      const fromArray = loadConfig({
        env: {},
        file: false,
        role: "producer",
        overrides: { broker: { url: ["amqp://u:p@a:5672/v", "amqp://u:p@b:5673/v"] } },
      });
      expect(brokerUrls(fromArray)).toEqual(["amqp://u:p@a:5672/v", "amqp://u:p@b:5673/v"]);
    });

    it("takes one management API per node, comma-separated, and names a bad one", () => {
      const list = "http://u:p@a:15672/,http://u:p@b:15673/";
      expect(
        loadConfig({ env: { RABBITMQ_MANAGEMENT_URL: list }, file: false, localDefaults: true }).broker
          .managementUrl,
      ).toBe(list);
      const bad = configError(() =>
        loadConfig({
          env: { RABBITMQ_MANAGEMENT_URL: "http://u:Secret1@a/,amqp://u:Secret1@b/" },
          file: false,
        }),
      );
      expect(bad.message).toContain("must be an http:// or https:// URL, or several separated by commas");
      expect(bad.message).not.toContain("Secret1");
    });

    it("a comma inside a password does not split the list", () => {
      const config = loadConfig({
        env: { AMQP_URL: "amqp://u:a,b@a/,amqp://u:a,b@b/" },
        file: false,
        role: "producer",
      });
      expect(brokerUrls(config)).toEqual(["amqp://u:a,b@a/", "amqp://u:a,b@b/"]);
    });

    it("names the bad node, a vhost that differs and a node given twice, every password masked", () => {
      const bad = configError(() =>
        loadConfig({ env: { AMQP_URL: "amqp://u:Secret1@a/,http://u:Secret1@b/" }, file: false }),
      );
      expect(bad.message).toContain("node 2 must be an amqp:// or amqps:// URL");
      expect(bad.message).not.toContain("Secret1");
      const vhosts = configError(() =>
        loadConfig({ env: { AMQP_URL: "amqp://u:Secret1@a/one,amqp://u:Secret1@b/two" }, file: false }),
      );
      expect(vhosts.message).toContain("same vhost");
      expect(vhosts.message).not.toContain("Secret1");
      const twice = configError(() =>
        loadConfig({ env: { AMQP_URL: "amqp://u:p@a/,amqp://u:p@a/" }, file: false }),
      );
      expect(twice.message).toContain("names the same node twice");
    });
  });

  it("rejects an unknown mode and validates as production", () => {
    const error = configError(() => loadConfig({ env: { WT_MODE: "prod" }, file: false }));
    expect(error.issues.map((issue) => issue.path)).toContain("mode");
    expect(error.issues.map((issue) => issue.path)).toContain("broker.url");
  });
});
