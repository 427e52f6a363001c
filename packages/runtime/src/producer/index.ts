export { createProducer } from "./createProducer.js";
export { OfflineBuffer } from "./offlineBuffer.js";
export { type PreparedSend, prepareSend } from "./prepareSend.js";
export type {
  Producer,
  ProducerEvents,
  ProducerOptions,
  ProducerState,
  SendOptions,
  SendReceipt,
  TaskCall,
  TrackingMetadata,
} from "./types.js";
