/// <reference types="vite/client" />
import { readFileSync } from "node:fs";
import { parseEnv } from "node:util";
import { describeWorkerConformance } from "@worker-toolbox/conformance";
import { tasks } from "../src/tasks/index.js";

// What production runs with: deploy/production.env plus the secrets its secret store provides.
const deployment = parseEnv(readFileSync(new URL("../deploy/production.env", import.meta.url), "utf8"));

// Proves this service is wired right against a real RabbitMQ and PostgreSQL: config, contracts, topology,
// routing, a round trip per task example, retries, dead-lettering, shutdown. It uses AMQP_URL and
// DATABASE_URL when set, else starts throwaway servers (@worker-toolbox/testing: needs rabbitmq-server and
// postgresql installed).
// contractModules: every contract defined in src/tasks/ must be in the task list (a dropped one would be
// dead-lettered at runtime).
describeWorkerConformance({
  tasks,
  contractModules: import.meta.glob("../src/tasks/**/*.ts", { eager: true }),
  productionEnv: { ...deployment, AMQP_URL: process.env.AMQP_URL, DATABASE_URL: process.env.DATABASE_URL },
  productionSecrets: ["AMQP_URL", "DATABASE_URL"],
});
