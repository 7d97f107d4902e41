/**
 * Closed-loop gRPC load for bench/grpc-check.ts: `concurrency` callers, each issuing
 * `envoy.service.auth.v3.Authorization/Check` back to back for `seconds` on one HTTP/2
 * connection (what an Envoy worker holds), rotating over the bench secrets. Run as a child:
 *   node bench/lib/grpc-load.ts <port> <secretsFile> <seconds> <concurrency> <path>
 * and it prints one line `GRPC_JSON {"calls","ok","denied","failed","seconds"}`.
 *
 * Requests are serialized once, up front, from the vendored protos (the service's own loader
 * options), and sent over node:http2 as gRPC framing by hand: a grpc-js client costs about as
 * much CPU per call as the server it measures, and on a 2-core VM the load core would saturate
 * long before keygate's does. Each answer is decoded with the same protos, and only an OK
 * decision counts as ok: a refusal can never pass as throughput.
 */
import { connect, constants } from 'node:http2';
import { readFileSync } from 'node:fs';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { LOADER_OPTIONS } from '../../src/check/grpc/protos.ts';

const [port, secretsFile, seconds, concurrency, path] = process.argv.slice(2);
const def = loadSync('envoy/service/auth/v3/external_auth.proto', LOADER_OPTIONS);
const found = (def['envoy.service.auth.v3.Authorization'] as unknown as Record<string, MethodDefinition<unknown, { status?: { code?: number }; http_response?: string }>>)['Check'];
if (found === undefined) throw new Error('Check not in the protos');
const check = found;
const secrets = readFileSync(secretsFile as string, 'utf8').split('\n').filter((s) => s !== '');
const frames = secrets.map((secret) => {
  const msg = check.requestSerialize({
    attributes: {
      source: { address: { socket_address: { address: '10.0.0.7', port_value: 40000 } } },
      request: { http: { method: 'GET', path, host: 'api.bench', scheme: 'http', protocol: 'HTTP/1.1', headers: { ':authority': 'api.bench', ':method': 'GET', ':path': path, authorization: `Bearer ${secret}`, 'user-agent': 'bench', 'x-request-id': '6f1c0f1e-2b1f-4a3c-9a52-5b0f7e1d2c3a' } } },
    },
  });
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
});
const HEADERS = {
  [constants.HTTP2_HEADER_METHOD]: 'POST',
  [constants.HTTP2_HEADER_PATH]: check.path,
  [constants.HTTP2_HEADER_SCHEME]: 'http',
  [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
  te: 'trailers',
};

const session = connect(`http://127.0.0.1:${port}`);
session.on('error', () => {});
const counts = { calls: 0, ok: 0, denied: 0, failed: 0 };
let i = 0;

function call(): Promise<void> {
  return new Promise((resolve) => {
    i = (i + 1) % frames.length;
    const stream = session.request(HEADERS, { endStream: false });
    const chunks: Buffer[] = [];
    let grpcStatus = '';
    stream.on('trailers', (t) => (grpcStatus = String(t['grpc-status'] ?? '')));
    stream.on('response', (h) => { if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']); });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {});
    stream.on('close', () => {
      counts.calls++;
      const body = Buffer.concat(chunks);
      if (grpcStatus !== '0' || body.length < 5) counts.failed++;
      else {
        const res = check.responseDeserialize(body.subarray(5));
        if ((res.status?.code ?? 0) === 0 && res.http_response === 'ok_response') counts.ok++;
        else counts.denied++;
      }
      resolve();
    });
    stream.end(frames[i]);
  });
}

const start = process.hrtime.bigint();
const end = Date.now() + Number(seconds) * 1000;
async function caller(): Promise<void> {
  while (Date.now() < end) await call();
}
await Promise.all(Array.from({ length: Number(concurrency) }, caller));
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
session.close();
process.stdout.write(`GRPC_JSON ${JSON.stringify({ ...counts, seconds: elapsed })}\n`);
