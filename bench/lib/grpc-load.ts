/**
 * Closed-loop gRPC load for bench/grpc-check.ts: `concurrency` callers, each issuing
 * `envoy.service.auth.v3.Authorization/Check` back to back for `seconds` on one HTTP/2 channel
 * (what an Envoy worker holds), rotating over the bench secrets. A run child process:
 *   node bench/lib/grpc-load.ts <port> <secretsFile> <seconds> <concurrency> <path>
 * prints one line `GRPC_JSON {"calls","ok","denied","failed","seconds"}`. A call that is not an
 * OK decision counts as denied or failed, so a refusal can never pass as throughput.
 */
import { readFileSync } from 'node:fs';
import { checkClient } from '../../test/helpers/grpc-check.ts';

const [port, secretsFile, seconds, concurrency, path] = process.argv.slice(2);
const secrets = readFileSync(secretsFile as string, 'utf8').split('\n').filter((s) => s !== '');
const client = checkClient(`127.0.0.1:${port}`);
const request = (secret: string) => ({
  attributes: {
    source: { address: { socket_address: { address: '10.0.0.7', port_value: 40000 } } },
    request: { http: { method: 'GET', path, host: 'api.bench', scheme: 'http', protocol: 'HTTP/1.1', headers: { ':authority': 'api.bench', ':method': 'GET', ':path': path, authorization: `Bearer ${secret}`, 'user-agent': 'bench', 'x-request-id': '6f1c0f1e-2b1f-4a3c-9a52-5b0f7e1d2c3a' } } },
  },
});

let i = 0;
const counts = { calls: 0, ok: 0, denied: 0, failed: 0 };
const start = process.hrtime.bigint();
const end = Date.now() + Number(seconds) * 1000;
async function caller(): Promise<void> {
  while (Date.now() < end) {
    i = (i + 1) % secrets.length;
    try {
      const res = await client.check(request(secrets[i] as string));
      counts.calls++;
      if ((res.status?.code ?? 0) === 0 && res.http_response === 'ok_response') counts.ok++;
      else counts.denied++;
    } catch {
      counts.calls++;
      counts.failed++;
    }
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, caller));
const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
client.close();
process.stdout.write(`GRPC_JSON ${JSON.stringify({ ...counts, seconds: elapsed })}\n`);
