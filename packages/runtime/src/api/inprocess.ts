/**
 * @worker-toolbox/runtime/inprocess — the in-process runner's parts, for the handler test kit
 * (`@worker-toolbox/testing`): one message through the worker's own admit → execute → judge, and the
 * message a call would be. Applications use `createInProcessProducer` from the root.
 */
export type { Admission, ArrivedMessage } from "../delivery/admit.js";
export { retryPolicyFor } from "../delivery/judge.js";
export type { DeadLetter, Verdict } from "../delivery/verdict.js";
export * from "../inprocess/index.js";
export { type TaskMessageOptions, taskMessageFor } from "../inprocess/taskMessage.js";
