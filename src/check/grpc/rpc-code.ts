/**
 * `google.rpc.Code` values (proto/google/rpc/code.proto; a unit test checks these numbers
 * against it). Envoy only distinguishes OK from not OK; the specific code is for whoever reads
 * Envoy's debug logs or a grpcurl transcript.
 */
export const RpcCode = {
  OK: 0,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** An HTTP refusal status → its code, per the HTTP mappings code.proto documents. */
export function rpcCodeForStatus(status: number): number {
  switch (status) {
    case 401: return RpcCode.UNAUTHENTICATED;
    case 403: return RpcCode.PERMISSION_DENIED;
    case 404: return RpcCode.NOT_FOUND;
    case 408: case 504: return RpcCode.DEADLINE_EXCEEDED;
    case 429: return RpcCode.RESOURCE_EXHAUSTED;
    case 502: case 503: return RpcCode.UNAVAILABLE;
    default:
      if (status >= 500) return RpcCode.INTERNAL;
      if (status >= 400) return RpcCode.INVALID_ARGUMENT;
      // Never OK: a refusal whose status is not an error status must still deny.
      return RpcCode.PERMISSION_DENIED;
  }
}
