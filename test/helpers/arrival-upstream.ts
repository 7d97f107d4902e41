/**
 * An upstream in a process of its own that records when each request arrived (Date.now()), so a
 * busy test process (a load generator) cannot blur the timestamps. `GET /__arrivals?path=/x`
 * answers with the list; every other request gets 200 `ok`. Run as a script by
 * {@link startArrivalUpstream}; stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

export interface ArrivalUpstream {
  url: string;
  arrivals(path: string): Promise<number[]>;
  stop(): Promise<void>;
}

export async function startArrivalUpstream(): Promise<ArrivalUpstream> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(import.meta.url)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /^listening (\d+)$/m.exec(out);
      if (m !== null) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`arrival upstream exited (${code})`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async arrivals(path) {
      const res = await request(`${url}/__arrivals?path=${encodeURIComponent(path)}`);
      return (await res.body.json()) as number[];
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seen = new Map<string, number[]>();
  const server = createServer((req, res) => {
    const at = Date.now();
    const [path = '', query = ''] = (req.url ?? '').split('?');
    if (path === '/__arrivals') {
      const body = JSON.stringify(seen.get(new URLSearchParams(query).get('path') ?? '') ?? []);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      return;
    }
    let list = seen.get(path);
    if (list === undefined) seen.set(path, (list = []));
    list.push(at);
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-length': '2' }).end('ok'));
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
