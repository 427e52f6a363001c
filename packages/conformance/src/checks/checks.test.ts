import { defineTask, parseConfig, planTopology } from "@worker-toolbox/config";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { inferService, productionConfigProblems, serviceProblems } from "./configChecks.js";
import { coverageProblems, nameProblem, sampleProblems, samplesFor } from "./contractChecks.js";
import { groupProblems, onlyMissing, topologyGroups } from "./topologyChecks.js";

const project = defineTask({
  name: "export.project.v1",
  args: z.tuple([z.number().int()]),
  result: z.null(),
  examples: [{ args: [7] }],
});
const ping = defineTask({ name: "export.ping", result: z.literal("pong") });
const foreign = defineTask({ name: "orders.place", args: z.tuple([z.string()]), result: z.null() });
const impl = (contract: typeof project | typeof ping | typeof foreign) =>
  ({ contract, handler: () => null }) as never;

describe("config checks", () => {
  it("infers the service from the tasks, the config's service first", () => {
    expect(inferService([project, ping, foreign])).toBe("export");
    expect(inferService([project], parseConfig({ service: "orders" }))).toBe("orders");
  });

  it("lists every variable production still needs, by name", () => {
    const problems = productionConfigProblems({ AMQP_URL: "amqps://u:p@broker/" }, "export");
    expect(problems).toHaveLength(2);
    expect(problems.join("\n")).toContain("WT_ENVIRONMENT_PREFIX (environment.prefix): missing");
    expect(problems.join("\n")).toContain("DATABASE_URL (database.url): missing");
    expect(
      productionConfigProblems(
        {
          AMQP_URL: "amqps://u:p@broker/",
          DATABASE_URL: "postgres://u@db/x?sslmode=require",
          WT_ENVIRONMENT_PREFIX: "prod",
        },
        "export",
      ),
    ).toEqual([]);
    // A deployment that would talk to its broker in the clear is told so in CI, with the fix.
    const plaintext = productionConfigProblems(
      {
        AMQP_URL: "amqp://u:p@broker/",
        DATABASE_URL: "postgres://u@db/x?sslmode=require",
        WT_ENVIRONMENT_PREFIX: "prod",
      },
      "export",
    );
    expect(plaintext).toEqual([
      expect.stringContaining("AMQP_URL (broker.url): not encrypted: amqp:// to broker"),
    ]);
  });

  it("takes the secrets the secret store provides as given when absent, never when malformed", () => {
    const deployment = { WT_ENVIRONMENT_PREFIX: "prod" };
    const secrets = ["AMQP_URL", "DATABASE_URL"];
    expect(productionConfigProblems(deployment, "export", secrets)).toEqual([]);
    // Without declaring them, the same environment fails: the check can fail.
    expect(productionConfigProblems(deployment, "export")).toHaveLength(2);
    const malformed = productionConfigProblems(
      { ...deployment, DATABASE_URL: "not a url" },
      "export",
      secrets,
    );
    expect(malformed.join("\n")).toContain("DATABASE_URL (database.url)");
    // Something production needs that is not a secret is still reported.
    expect(productionConfigProblems({}, "export", secrets).join("\n")).toContain("WT_ENVIRONMENT_PREFIX");
  });

  it("reports tasks of another service and a config without a service", () => {
    expect(serviceProblems("export", parseConfig({ service: "export" }), [project, ping])).toEqual([]);
    const problems = serviceProblems("export", parseConfig({}), [project, foreign]);
    expect(problems).toHaveLength(2);
    expect(problems[1]).toContain('task orders.place belongs to service "orders"');
  });
});

describe("contract checks", () => {
  it("finds contracts without handlers and handlers without contracts", () => {
    expect(coverageProblems([project, ping], [impl(project), impl(ping)])).toEqual([]);
    expect(coverageProblems([project, ping], [impl(project)])).toEqual([
      "contract export.ping has no handler: producers can send it, and it would be dead-lettered",
    ]);
    expect(coverageProblems([project], [impl(project), impl(ping), impl(ping)])).toEqual([
      "handler export.ping has no published contract: no producer can call it",
      "task export.ping is implemented 2 times",
    ]);
  });

  it("checks names against the rule and the service", () => {
    expect(nameProblem(project, "export")).toBeNull();
    expect(nameProblem(foreign, "export")).toContain('belongs to service "orders", not "export"');
  });

  it("takes samples from the option, then the examples, then no arguments", () => {
    expect(samplesFor(project, { "export.project.v1": { args: [1] } })).toEqual({
      samples: [{ args: [1] }],
      source: "samples option",
    });
    expect(samplesFor(project, undefined).source).toBe("contract examples");
    expect(samplesFor(ping, undefined)).toEqual({
      samples: [{ args: [], kwargs: {} }],
      source: "no arguments",
    });
    expect(sampleProblems(project, [{ args: ["seven"] }])).toEqual([
      'sample 0 (["seven"]): args[0]: expected number, received string',
    ]);
    expect(sampleProblems(foreign, samplesFor(foreign, undefined).samples)[0]).toContain("args");
  });
});

describe("topology groups", () => {
  const plan = planTopology(parseConfig({ service: "export", environment: { prefix: "p" } }));
  const groups = topologyGroups(plan, "export");

  it("puts every planned entity in exactly one group", () => {
    const all = [...plan.exchanges.map((e) => e.name), ...plan.queues.map((q) => q.name)];
    for (const name of all)
      expect(groups.filter((g) => g.entities.has(name)).map((g) => g.title)).toHaveLength(1);
    const bindingCount = groups.reduce(
      (n, g) => n + [...g.entities].filter((e) => e.includes(" -> ")).length,
      0,
    );
    expect(bindingCount).toBe(plan.bindings.length);
  });

  it("reports a group's mismatches and tells missing from drift", () => {
    const platform = groups[2]!;
    const missing = [
      { entity: "binding" as const, name: "p.tasks -> p.platform [#]", problem: "missing" as const },
    ];
    expect(groupProblems(platform, missing)).toEqual([
      "binding p.tasks -> p.platform [#] is missing — messages for it are not routed; run `worker-toolbox topology apply`",
    ]);
    expect(groupProblems(groups[0]!, missing)).toEqual([]);
    expect(onlyMissing(platform, missing)).toBe(true);
    const drift = [
      {
        entity: "exchange" as const,
        name: "p.tasks",
        problem: "wrong-type" as const,
        expected: "topic",
        actual: "direct",
      },
    ];
    expect(onlyMissing(groups[0]!, drift)).toBe(false);
  });
});
