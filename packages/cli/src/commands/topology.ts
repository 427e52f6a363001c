import { type Connection, planTopology, type ToolboxConfig, type TopologyPlan } from "@worker-toolbox/config";
import type { Argv } from "yargs";
import { type CommandContext, type GlobalOptions, servicesFrom } from "../context.js";
import { branches, json } from "../output.js";
import type { CommandBody } from "./table.js";

type TopologyArgs = GlobalOptions & {
  json?: boolean;
  skipBindings?: boolean;
  yes?: boolean;
  force?: boolean;
  dryRun?: boolean;
};

/** `worker-toolbox topology …`: print, declare and verify the RabbitMQ topology. */
export function topologyCommands(ctx: CommandContext): CommandBody {
  const json = (inner: Argv) =>
    inner.option("json", { type: "boolean", default: false, describe: "Print JSON instead of text" });
  return {
    builder: (yargs: Argv) =>
      yargs
        .command({
          command: "plan",
          describe: "Print the topology the config implies (no broker needed)",
          builder: (inner: Argv) =>
            json(inner).example("$0 topology plan --service export --service billing", "plan two services"),
          handler: (argv) => plan(ctx, argv as TopologyArgs),
        })
        .command({
          command: "apply",
          describe: "Declare the planned exchanges, queues and bindings (idempotent)",
          builder: (inner: Argv) => inner.example("$0 topology apply --service export", "declare it"),
          handler: (argv) => apply(ctx, argv as TopologyArgs),
        })
        .command({
          command: "verify",
          describe:
            "Check, without changing anything, that the broker matches the plan; exit 1 naming each difference",
          builder: (inner: Argv) =>
            json(inner)
              .option("skip-bindings", {
                type: "boolean",
                default: false,
                describe: "Accept that bindings cannot be checked (no management API) instead of failing",
              })
              .example("$0 topology verify --service export", "check it"),
          handler: (argv) => verify(ctx, argv as TopologyArgs),
        })
        .command({
          command: "prune",
          describe:
            "Delete bindings, queues and exchanges under the prefix that no plan has (what verify reports as " +
            "extra); services present on the broker are kept",
          builder: (inner: Argv) =>
            json(inner)
              .option("yes", { type: "boolean", default: false, describe: "Really delete them" })
              .option("dry-run", { type: "boolean", default: false, describe: "Only list what would go" })
              .option("force", {
                type: "boolean",
                default: false,
                describe:
                  "Also delete extra queues that hold messages (the messages go too) and bound exchanges",
              })
              .example("$0 topology prune --service export --dry-run", "what is extra?")
              .example("$0 topology prune --service export --yes", "remove it"),
          handler: (argv) => prune(ctx, argv as TopologyArgs),
        })
        .demandCommand(1, "name a topology command (see --help)"),
  };
}

function load(
  ctx: CommandContext,
  argv: TopologyArgs,
  uses: readonly Connection[] = ["broker"],
): { config: ToolboxConfig; plan: TopologyPlan } {
  const config = ctx.loadConfig(argv, { uses });
  return { config, plan: planTopology(config, servicesFrom(argv, config)) };
}

function plan(ctx: CommandContext, argv: TopologyArgs): void {
  // Planning needs no broker: no URL has to be set for it.
  const { plan } = load(ctx, argv, []);
  if (argv.json) {
    ctx.print(json(plan));
    return;
  }
  ctx.print(renderPlan(plan));
}

/** Exchanges with their bindings as a tree, then each queue with its arguments. */
export function renderPlan(plan: TopologyPlan): string {
  const lines = [`Topology of environment "${plan.prefix}"`, "", "Exchanges and bindings:"];
  for (const exchange of plan.exchanges) {
    lines.push(`  ${exchange.name} (${exchange.type}) — ${exchange.purpose}`);
    const bound = plan.bindings.filter((binding) => binding.exchange === exchange.name);
    for (const [branch, binding] of branches(bound)) {
      const headers = Object.entries(binding.arguments).map(([key, value]) => `${key}=${value}`);
      const key = headers.length > 0 ? `{${headers.join(", ")}}` : binding.routingKey || '""';
      lines.push(`    ${branch}${key} → ${binding.queue}`);
    }
  }
  lines.push("", "Queues:");
  for (const queue of plan.queues) {
    lines.push(`  ${queue.name} — ${queue.purpose}`);
    const args = Object.entries(queue.arguments).map(([key, value]) => `${key}=${value}`);
    lines.push(`      ${args.join(", ")}`);
  }
  if (plan.workerQueues.length > 0) {
    lines.push(
      "",
      "Declared by each worker process for itself (exclusive to its connection, deleted with it):",
    );
    for (const queue of plan.workerQueues) {
      lines.push(`  ${queue.name} — ${queue.purpose}`, `      bound to ${queue.exchange}`);
    }
  }
  return lines.join("\n");
}

// apply and verify import the broker client on use: `topology plan` needs none (see commands/index.ts).
const brokerModules = () => Promise.all([import("@worker-toolbox/runtime/topology"), import("../broker.js")]);

async function apply(ctx: CommandContext, argv: TopologyArgs): Promise<void> {
  const { config, plan } = load(ctx, argv);
  const [{ applyTopology }, { connectOnce }] = await brokerModules();
  const connection = await connectOnce(config);
  try {
    const channel = await connection.createChannel();
    channel.on("error", () => {}); // A 406 rejects the pending declare, which carries the details.
    const applied = await applyTopology(channel, plan);
    await channel.close().catch(() => {});
    ctx.print(`Declared the topology of "${plan.prefix}" (asserting what exists changes nothing):`);
    for (const name of applied.exchanges) ctx.print(`  exchange ${name}`);
    for (const name of applied.queues) ctx.print(`  queue    ${name}`);
    for (const name of applied.bindings) ctx.print(`  binding  ${name}`);
  } finally {
    await connection.close().catch(() => {});
  }
}

async function verify(ctx: CommandContext, argv: TopologyArgs): Promise<void> {
  const { config, plan } = load(ctx, argv);
  const [
    { configVhost, createManagementClient, describeMismatch, managementUrls, verifyTopology },
    { connectOnce },
  ] = await brokerModules();
  const connection = await connectOnce(config);
  const result = await verifyTopology({
    connection,
    managementClient: createManagementClient({ url: managementUrls(config) }),
    vhost: configVhost(config),
    plan,
  }).finally(() => connection.close().catch(() => {}));
  if (argv.json) ctx.print(json({ prefix: plan.prefix, ...result }));
  else {
    const counts = `${plan.exchanges.length} exchanges, ${plan.queues.length} queues, ${plan.bindings.length} bindings`;
    const bindings = result.bindingsChecked === "skipped" ? "; bindings NOT checked" : "";
    if (result.ok) ctx.print(`The broker matches the topology of "${plan.prefix}" (${counts}${bindings}).`);
    else {
      ctx.print(`The broker differs from the topology of "${plan.prefix}" (${result.mismatches.length}):`);
      for (const mismatch of result.mismatches) ctx.print(`  - ${describeMismatch(mismatch)}`);
    }
  }
  if (result.bindingsChecked === "skipped") {
    // Unchecked bindings are the drift this command exists to catch (a missing platform binding loses
    // tracking silently), so they fail the check unless the caller accepts it explicitly.
    ctx.warn(
      `${argv.skipBindings ? "warning" : "error"}: bindings were not checked: ${result.skippedReason}`,
    );
    if (!argv.skipBindings) {
      ctx.warn(
        "  enable the rabbitmq_management plugin or set RABBITMQ_MANAGEMENT_URL, or pass --skip-bindings",
      );
      ctx.fail(1);
    }
  }
  if (!result.ok) ctx.fail(1);
}

async function prune(ctx: CommandContext, argv: TopologyArgs): Promise<void> {
  if (!argv.yes && !argv.dryRun) {
    ctx.warn(
      "Refusing to delete without --yes. See what would go with --dry-run (or `worker-toolbox topology verify`).",
    );
    ctx.fail(2);
    return;
  }
  const { config, plan } = load(ctx, argv);
  const [[{ createManagementClient, deriveManagementUrl, pruneTopology }, { connectOnce }], { vhostOf }] =
    await Promise.all([brokerModules(), import("@worker-toolbox/runtime/broker")]);
  const client = createManagementClient({
    url: deriveManagementUrl(config.broker.url, config.broker.managementUrl),
  });
  const connection = await connectOnce(config);
  try {
    const result = await pruneTopology({
      connection,
      client,
      vhost: vhostOf(config.broker.url),
      plan,
      force: argv.force === true,
      dryRun: argv.dryRun === true,
    });
    if (argv.json) ctx.print(json({ prefix: plan.prefix, ...result }));
    else {
      if (result.removed.length === 0 && result.kept.length === 0)
        ctx.print(`Nothing under "${plan.prefix}" is outside the plan.`);
      for (const extra of result.removed) ctx.print(`  removed ${extra.entity} ${extra.name}`);
      for (const { extra, reason } of result.kept)
        ctx.print(`  kept    ${extra.entity} ${extra.name}: ${reason}`);
    }
    if (!argv.dryRun && result.kept.length > 0) ctx.fail(1);
  } finally {
    await connection.close().catch(() => {});
  }
}
