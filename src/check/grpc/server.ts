import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { errorBody } from '../../errors.ts';
import type { Decider } from './contract.ts';
import type { CheckRequest, CheckResponse } from './messages.ts';
import { loadAuthorizationService } from './protos.ts';
import { toCheckInput } from './to-check-input.ts';
import { toCheckResponse } from './to-check-response.ts';

export interface GrpcCheckOptions {
  /** Makes every decision; metrics and audit (mode `envoy-grpc`) are recorded there. */
  decider: Decider;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /**
   * Called when the decider throws (a bug: refusals are values). The call is still answered,
   * with a 500 denial.
   */
  onFault?: (err: unknown) => void;
}

export interface RunningGrpcCheck {
  readonly port: number;
  /**
   * Stop accepting, let in-flight Check calls finish for up to `drainMs`, then cut whatever is
   * left (grpc-js `tryShutdown`, then `forceShutdown`).
   */
  stop(drainMs: number): Promise<void>;
}

/** The peer as `socket.remoteAddress` has it, which is what the HTTP check listener sees too. */
function peerAddress(peer: string): string {
  // grpc-js formats `${remoteAddress}:${remotePort}`; IPv6 addresses contain colons themselves.
  const i = peer.lastIndexOf(':');
  return i > 0 && /^\d+$/.test(peer.slice(i + 1)) ? peer.slice(0, i) : peer;
}

/** A refusal for a fault: the same JSON the proxy sends for an internal error. */
function faultResponse(): CheckResponse {
  return toCheckResponse({ allowed: false, status: 500, code: 'internal_error', body: errorBody('internal_error', 'Internal error', ''), headers: {}, requestId: '' });
}

/** `envoy.service.auth.v3.Authorization/Check` over HTTP/2 (Envoy ext_authz gRPC, Istio envoyExtAuthzGrpc). */
export async function startGrpcCheck(opts: GrpcCheckOptions): Promise<RunningGrpcCheck> {
  const service = loadAuthorizationService().service;
  // Channelz stays on although keygate never reads it: grpc-js 1.14 records sessions for
  // forceShutdown only in its channelz session handler, so with `grpc.enable_channelz: 0` a call
  // still running at the drain deadline outlives stop() (grpc-check-server.test.ts catches it).
  const server = new Server();
  server.addService(service, {
    Check: function check(call: ServerUnaryCall<CheckRequest, CheckResponse>, callback: sendUnaryData<CheckResponse>): void {
      Promise.resolve()
        .then(() => opts.decider.decide(toCheckInput(call.request, peerAddress(call.getPeer()))))
        .then(
          (decision) => callback(null, toCheckResponse(decision)),
          (err: unknown) => {
            opts.onFault?.(err);
            // Answer, never fail the RPC: Envoy counts a failed call as a service error, which
            // `failure_mode_allow: true` turns into an allow.
            callback(null, faultResponse());
          },
        );
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    const addr = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
    server.bindAsync(addr, ServerCredentials.createInsecure(), (err, bound) => (err === null ? resolve(bound) : reject(err)));
  });
  return {
    port,
    stop(drainMs) {
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, drainMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
