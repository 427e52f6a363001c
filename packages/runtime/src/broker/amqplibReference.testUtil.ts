/**
 * For the tests of our own AMQP codecs (publishFrames.ts encodes, contentHeader.ts decodes): amqplib's codec,
 * the reference they must equal (not exported by amqplib: loaded from its files), and a Celery message's headers
 * as our producer and Celery send them.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const lib = join(dirname(require.resolve("amqplib")), "lib");

/** amqplib's lib/<name>.js. */
// biome-ignore lint/suspicious/noExplicitAny: amqplib's internal modules have no types.
export const amqplibModule = (name: "defs" | "codec" | "frame" | "api_args"): any =>
  require(join(lib, `${name}.js`));

export const celeryTaskId = "6f1d3c2a-8e4b-4f7a-9c1d-2b3e4f5a6b7c";

/** A Celery protocol v2 message's headers (Celery 5.6's set, as our producer sends it). */
export const celeryHeaders = {
  lang: "py",
  task: "svc.task",
  id: celeryTaskId,
  shadow: null,
  eta: "2026-12-05T17:00:00.000000+00:00",
  expires: null,
  group: null,
  group_index: null,
  retries: 3,
  timelimit: [30, null],
  root_id: celeryTaskId,
  parent_id: null,
  argsrepr: "(1, 'ünïcödé ✓')",
  kwargsrepr: "{}",
  origin: "123@host",
  ignore_result: false,
  replaced_task_nesting: 0,
  stamped_headers: null,
  stamps: {},
};

/** The basic properties our producer sends with those headers. */
export const celeryProperties = {
  contentType: "application/json",
  contentEncoding: "utf-8",
  correlationId: celeryTaskId,
  deliveryMode: 2,
  priority: 0,
  headers: celeryHeaders,
};
