/**
 * @worker-toolbox/runtime/topology — the topology plan on a broker: `applyTopology` (the only code that
 * declares anything), `applyWorkerQueues` (a worker's own queues), `verifyTopology` (passive, by entity and
 * argument), and the RabbitMQ management API client verify and the operators' tools use.
 */
export * from "../management/index.js";
export * from "../topology/index.js";
