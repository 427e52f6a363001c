/**
 * The runtime an operator command uses (ops, results, topology, the broker connection and the CLI's
 * one-shot connect), imported by a command's handler when it runs: a command module must not import
 * pg or amqplib statically, or its `--help` would load them (see commands/index.ts).
 */
export async function loadOpsRuntime() {
  const [broker, ops, results, topology, cliBroker] = await Promise.all([
    import("@worker-toolbox/runtime/broker"),
    import("@worker-toolbox/runtime/ops"),
    import("@worker-toolbox/runtime/results"),
    import("@worker-toolbox/runtime/topology"),
    import("./broker.js"),
  ]);
  return { ...broker, ...ops, ...results, ...topology, ...cliBroker };
}

export type OpsRuntime = Awaited<ReturnType<typeof loadOpsRuntime>>;
