/**
 * @worker-toolbox/runtime/protocol — the wire: Celery protocol v2 messages (encode, decode, Kombu JSON and
 * its value types), the envelope (every header name the toolbox writes or reads, the strip list, the
 * dead-letter stamp), trace context, canvas signatures as Celery writes them, and Celery's remote-control
 * (pidbox) commands, the revocation among them.
 */
export {
  type ApplyContext,
  applySignature,
  type CanvasPlan,
  type CelerySignatureDict,
  CHORD_UNLOCK,
  contractsOf,
  type PlannedMessage,
  planCanvas,
  toCelerySignature,
} from "../canvas/index.js";
export {
  type ControlRequest,
  controlReply,
  decodeControlRequest,
  encodeControlRequest,
  isForNode,
} from "../control/pidbox.js";
export { type PreparedSend, prepareSend } from "../producer/prepareSend.js";
export * from "../protocol/index.js";
export { decodeRevoke, encodeRevoke, type RevokeMessage } from "../worker/revocations.js";
