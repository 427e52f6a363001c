/**
 * The delivery pipeline every worker delivery goes through: `admit → execute → judge → settle`
 * (pipeline.ts). admit and judge decide (pure, unit-tested without a broker), execute runs the handler,
 * settle alone carries the verdict out. docs/architecture.md has the diagram.
 */
export {
  type Admission,
  type AdmitContext,
  type ArrivedMessage,
  admit,
  ETA_TOLERANCE_MS,
  notRunnable,
  type Run,
} from "./admit.js";
export { Delivery, type DeliveryState, DeliveryStateError } from "./delivery.js";
export { execute, TaskAbort } from "./execute.js";
export type { DeliveryObserver, FollowUps } from "./extensions.js";
export { followUpSender, HandlerContext, type HandlerServices } from "./handlerContext.js";
export {
  decideRetry,
  type Execution,
  type Judged,
  judge,
  type RetryDecision,
  retryPolicyFor,
} from "./judge.js";
export { DeliveryPipeline, type PipelineOptions } from "./pipeline.js";
export { delayUntilDue, publishRetry } from "./republish.js";
export { type RowWriter, Settle, type SettleOptions, storeQuietly, type WorkerStats } from "./settle.js";
export { Slots } from "./slots.js";
export * from "./verdict.js";
