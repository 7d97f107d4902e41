/** The decision seam the gRPC service adapts to: the one every check shape shares (src/check/decide.ts). */
export type { CheckDecision, CheckInput, CheckMode, Decider } from '../decide.ts';
