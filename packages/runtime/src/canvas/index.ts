/** Celery's canvas over task contracts: signatures, chain, group, chord, link and linkError. */

export {
  type ApplyContext,
  applySignature,
  CHORD_UNLOCK,
  type PlannedMessage,
} from "./applySignature.js";
export { type CelerySignatureDict, toCelerySignature } from "./celerySignature.js";
export { type CanvasPlan, type CanvasReceipt, contractsOf, planCanvas } from "./planCanvas.js";
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
