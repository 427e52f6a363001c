export {
  type CeleryEvent,
  decodeEventBody,
  decodeWorkerEvent,
  EVENT_EXCHANGE_OPTIONS,
  EVENT_EXCHANGE_TYPE,
  type EventMessage,
  EventSource,
  encodeWorkerEvent,
  eventMessage,
  eventRoutingKey,
  heartbeatExpiresAt,
  type TaskEventFields,
  type TaskEventType,
  utcoffset,
  WORKER_EVENTS_KEY,
  type WorkerEvent,
  type WorkerEventType,
} from "./celeryEvents.js";
export {
  CELERY_HEADERS,
  type NewTaskMessageInit,
  newTaskMessage,
  retryMessage,
  type TaskMessage,
} from "./celeryMessage.js";
export { decodeTaskMessage, type IncomingProperties } from "./decodeTaskMessage.js";
export { type EncodeOptions, encodeTaskMessage, type PublishProperties } from "./encodeTaskMessage.js";
export {
  type DeadLetterReason,
  type DeadLetterStamp,
  H,
  isHopHeader,
  readDeadLetterStamp,
  resendHeaders,
  stampDeadLetter,
  trackingMetadata,
} from "./envelope.js";
export { formatIsoDateTime, parseIsoDateTime } from "./isoDateTime.js";
export { decodeJson, encodeJson } from "./kombuJson.js";
export { argsRepr, kwargsRepr, pythonRepr } from "./repr.js";
export {
  childTraceparent,
  formatTraceparent,
  parseTraceparent,
  rootTraceId,
  startTraceparent,
  type TraceContext,
  traceIdOf,
} from "./traceContext.js";
export { CeleryDate, CeleryDecimal, CeleryTime } from "./values.js";
