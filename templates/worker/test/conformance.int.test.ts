import { describeWorkerConformance } from "@worker-toolbox/conformance";
import { tasks } from "../src/tasks/index.js";

// Proves this service is wired right against a real RabbitMQ and PostgreSQL (AMQP_URL, DATABASE_URL):
// topology, contracts, a round trip per task example, retries and dead-lettering.
describeWorkerConformance({ tasks });
