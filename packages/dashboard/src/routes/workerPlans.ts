import { entityNames } from "@worker-toolbox/config";
import {
  QUEUE_COMMANDS,
  type QueueCommand,
  WORKER_COMMANDS,
  WORKER_REPLY_MS,
  type WorkerCommand,
  type WorkerReply,
} from "../actions.js";
import type { DashboardServices } from "../createDashboard.js";
import { serviceOfQueue, type WorkerQueues } from "../workers/workerQueues.js";
import { badRequest, one, type Planner } from "./plan.js";

/** The worker's own page, where its queue actions start and land. */
export const workerPath = (node: string) => `/workers/${encodeURIComponent(node)}`;

const WORKER_QUESTIONS: Record<WorkerCommand, (node: string) => string> = {
  pool_grow: (node) => `Grow the pool of ${node} by one (one more task at a time)?`,
  pool_shrink: (node) => `Shrink the pool of ${node} by one (running tasks finish first)?`,
  shutdown: (node) =>
    `Shut down ${node}? It stops taking tasks, lets running ones finish, returns the rest to the queue and exits.`,
};

/** Remote control of one worker from the Workers page: pool_grow, pool_shrink or shutdown. */
export function workerPlan({ actions }: DashboardServices): Planner {
  return async (fields) => {
    const node = one(fields, "node");
    const command = one(fields, "command") as WorkerCommand;
    if (!node) throw badRequest("name the worker");
    if (!WORKER_COMMANDS.includes(command)) throw badRequest(`choose one of ${WORKER_COMMANDS.join(", ")}`);
    return {
      question: WORKER_QUESTIONS[command](node),
      details: [],
      cancel: "/workers",
      danger: command === "shutdown",
      run: async () => {
        const reply = await actions.workerCommand(node, command);
        const late =
          command === "shutdown"
            ? " (a Celery worker shuts down without answering: watch it go offline here)"
            : "";
        return { message: replyMessage(node, reply, late), to: "/workers" };
      },
    };
  };
}

/** The largest AMQP queue name (a short string). */
const MAX_QUEUE_NAME = 255;

/**
 * Add or cancel a consumer of one worker from its page (Celery's add_consumer / cancel_consumer). The worker
 * checks and decides; its answer, a refusal's reason included, is what the page then says.
 */
export function queuePlan(services: DashboardServices): Planner {
  return async (fields) => {
    const node = one(fields, "node");
    const command = one(fields, "command") as QueueCommand;
    const queue = one(fields, "queue");
    if (!node) throw badRequest("name the worker");
    if (!QUEUE_COMMANDS.includes(command)) throw badRequest(`choose one of ${QUEUE_COMMANDS.join(", ")}`);
    if (!queue) throw badRequest("name the queue");
    if (queue.length > MAX_QUEUE_NAME)
      throw badRequest(`a queue name has at most ${MAX_QUEUE_NAME} characters`);
    const { question, danger } =
      command === "add_consumer"
        ? { question: addQuestion(services, node, queue), danger: false }
        : await cancelQuestion(services, node, queue);
    return {
      question,
      details: [],
      cancel: workerPath(node),
      danger,
      run: async () => {
        const reply = await services.actions.queueCommand(node, command, queue);
        // Other open pages of this worker ask for its queues again.
        services.feed.publish("workers");
        return { message: replyMessage(node, reply), to: workerPath(node) };
      },
    };
  };
}

/**
 * A toolbox worker's service and its queue: from its heartbeats, else from a service queue it consumes
 * (a worker that sends no events); undefined for a Celery worker, or one out of rotation without events.
 */
export function ownQueue(
  services: DashboardServices,
  node: string,
  queues?: WorkerQueues,
): { service: string; queue: string } | undefined {
  const prefix = services.config.environment.prefix;
  const heard = services.workers.get(node)?.service;
  if (heard) return { service: heard, queue: entityNames(prefix).serviceQueue(heard) };
  for (const { name } of queues?.answered ? queues.queues : []) {
    const service = serviceOfQueue(prefix, name);
    if (service) return { service, queue: name };
  }
  return undefined;
}

function addQuestion(services: DashboardServices, node: string, queue: string): string {
  if (ownQueue(services, node)?.queue === queue)
    return `Put ${node} back in rotation: consume ${queue}, its service's queue, again?`;
  return (
    `Make ${node} consume ${queue} as well? A worker-toolbox worker checks the queue first: it must exist ` +
    "already (the worker never declares one) and must not be another queue of the toolbox; if it refuses, " +
    "its reason is shown. (A Celery worker declares a missing queue with a direct exchange of the same name.)"
  );
}

async function cancelQuestion(
  services: DashboardServices,
  node: string,
  queue: string,
): Promise<{ question: string; danger: boolean }> {
  // Whichever worker it is: without a consumer of its service's queue, it is out of that service's rotation.
  const service = serviceOfQueue(services.config.environment.prefix, queue);
  if (service) {
    const others = services.workers
      .list()
      .filter((worker) => worker.online && worker.service === service && worker.hostname !== node).length;
    return {
      question:
        `Stop ${node} consuming ${queue}, the queue of service ${service}? This takes the worker out of ` +
        `rotation: it takes no new ${service} tasks until a consumer of ${queue} is added again (here, or ` +
        `worker-toolbox control add_consumer ${queue}). ` +
        (others === 0
          ? `No other ${service} worker is online (sending heartbeats): new ${service} tasks wait in the queue.`
          : `${others} other ${service} worker(s) online keep taking them.`) +
        " Tasks it holds still run.",
      danger: true,
    };
  }
  const current = await services.workerQueues(node);
  const last = current.answered && current.queues.length === 1 && current.queues[0]!.name === queue;
  return last
    ? {
        question: `Stop ${node} consuming ${queue}, the only queue it consumes? This takes it out of rotation: it takes no tasks at all until a consumer is added again. Tasks it holds still run.`,
        danger: true,
      }
    : {
        question: `Stop ${node} consuming ${queue}? Tasks it already took still run and are acknowledged; the rest stay in ${queue}.`,
        danger: false,
      };
}

/** `node: <ok>`, `node: error: <why>`, or that it did not answer in time. */
function replyMessage(node: string, reply: WorkerReply | undefined, late = ""): string {
  const answer = reply?.ok ?? reply?.error;
  if (answer === undefined) return `${node} did not answer within ${WORKER_REPLY_MS / 1_000} s${late}.`;
  return `${node}: ${reply?.error === undefined ? "" : "error: "}${String(answer)}`;
}
