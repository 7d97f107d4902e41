/**
 * The decision seam the gRPC service adapts to. Declared here, word for word as agreed with the
 * HTTP check listener's `src/check/decide.ts`, only until that file is merged; then this module
 * re-exports it (one definition).
 */
export type CheckMode = 'nginx' | 'forward' | 'envoy-http' | 'envoy-grpc';
export interface CheckInput {
  mode: CheckMode;
  method: string | undefined;
  uri: string | undefined;
  host?: string;
  proto?: string;
  headers: Record<string, string | string[] | undefined>;
  body?: Buffer | null;
  clientAddress: string;
}
export type CheckDecision =
  | { allowed: true; identity: Record<string, string>; removeHeaders: string[]; requestId: string }
  | { allowed: false; status: number; code: string; body: string; headers: Record<string, string>; requestId: string };
export interface Decider {
  decide(input: CheckInput): Promise<CheckDecision>;
}
