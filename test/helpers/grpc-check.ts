import { credentials, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadAuthorizationService } from '../../src/check/grpc/protos.ts';

/** A CheckResponse as a grpc-js client decodes it with the service's own loader options. */
export interface DecodedCheckResponse {
  status?: { code?: number; message?: string };
  http_response?: 'ok_response' | 'denied_response' | 'error_response';
  ok_response?: { headers?: { header: { key: string; value: string }; append?: { value: boolean }; append_action?: string }[]; headers_to_remove?: string[] };
  denied_response?: { status?: { code?: string }; headers?: { header: { key: string; value: string } }[]; body?: string };
}

export interface CheckClient {
  check(request: unknown, deadlineMs?: number): Promise<DecodedCheckResponse>;
  close(): void;
}

/** A real grpc-js client for envoy.service.auth.v3.Authorization, built from the vendored protos. */
export function checkClient(address: string): CheckClient {
  const Authorization = loadAuthorizationService();
  const client = new Authorization(address, credentials.createInsecure()) as Client & Record<string, (...a: unknown[]) => unknown>;
  return {
    check(request, deadlineMs = 10_000) {
      return new Promise((resolve, reject) => {
        const Check = client['Check'] as (req: unknown, opts: { deadline: number }, cb: (err: ServiceError | null, res: DecodedCheckResponse) => void) => void;
        Check.call(client, request, { deadline: Date.now() + deadlineMs }, (err, res) => (err === null ? resolve(res) : reject(err)));
      });
    },
    close: () => client.close(),
  };
}

/** The pieces of a decoded response tests look at, flattened. */
export function okHeaders(res: DecodedCheckResponse): Record<string, string> {
  return Object.fromEntries((res.ok_response?.headers ?? []).map((h) => [h.header.key, h.header.value]));
}

export function deniedHeaders(res: DecodedCheckResponse): Record<string, string> {
  return Object.fromEntries((res.denied_response?.headers ?? []).map((h) => [h.header.key, h.header.value]));
}
