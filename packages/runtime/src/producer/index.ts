export { createProducer } from "./createProducer.js";
export { OfflineBuffer } from "./offlineBuffer.js";
export { type PreparedSend, prepareSend } from "./prepareSend.js";
export {
  type Producer,
  type ProducerEvents,
  type ProducerOptions,
  type ProducerState,
  type SendOptions,
  type SendReceipt,
  type TaskCall,
  TRACKING_HEADER,
  type TrackingMetadata,
} from "./types.js";
