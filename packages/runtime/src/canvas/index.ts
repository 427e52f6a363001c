/** Celery's canvas over task contracts: signatures, chain, group, chord, link and linkError. */
export { type CelerySignatureDict, toCelerySignature } from "./celerySignature.js";
export {
  type CanvasPlan,
  type CanvasReceipt,
  CHORD_UNLOCK,
  contractsOf,
  type PlannedMessage,
  planCanvas,
} from "./planCanvas.js";
export {
  type AnySignature,
  type CompleteSignature,
  type Fed,
  immutable,
  type OutOf,
  partial,
  type Signature,
  type SignatureMode,
  type SignatureOptions,
  signature,
} from "./signature.js";
export { type Canvas, type Chain, type Chord, chain, chord, type Group, group } from "./workflows.js";
