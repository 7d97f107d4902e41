import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';

export type RelayMode =
  /** Bytes pass both ways at once. */
  | { kind: 'pass' }
  /** Replies (target → client) are held for `ms` before they are passed on. */
  | { kind: 'delay'; ms: number }
  /**
   * Nothing passes either way and nothing is closed: a silent partition (a dropped route, a
   * firewall that drops instead of rejecting). Held bytes flow again when the mode changes.
   */
  | { kind: 'blackhole' };

export interface TestRelay {
  /** `127.0.0.1:<port>` of the relay's listening side. */
  port: number;
  url: string;
  set(mode: RelayMode): void;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/**
 * A TCP relay on a free loopback port in front of `targetPort`, whose forwarding the test
 * controls: the network faults a real socket cannot be asked for (no reset, no FIN, just
 * silence or lateness). Order of bytes is kept in every mode.
 */
export async function startRelay(targetPort: number): Promise<TestRelay> {
  let mode: RelayMode = { kind: 'pass' };
  let accepted = 0;
  const pipes = new Set<{ flush(): void; destroy(): void }>();

  /** One direction: bytes wait in `held` while blackholed, or for their delay. */
  function direction(from: Socket, to: Socket, isReply: boolean) {
    const held: Buffer[] = [];
    let timers = new Set<NodeJS.Timeout>();
    /** Delayed chunks leave in arrival order: each waits for its own time and for those before it. */
    let chain = Promise.resolve();
    function send(chunk: Buffer): void {
      if (mode.kind === 'blackhole') return void held.push(chunk);
      if (mode.kind === 'delay' && isReply) {
        const ms = mode.ms;
        const due = new Promise<void>((r) => {
          const t = setTimeout(() => { timers.delete(t); r(); }, ms);
          timers.add(t);
        });
        chain = chain.then(() => due).then(() => { if (!to.destroyed) to.write(chunk); });
        return;
      }
      chain = chain.then(() => { if (!to.destroyed) to.write(chunk); });
    }
    from.on('data', send);
    return {
      flush() {
        const queued = held.splice(0);
        for (const c of queued) send(c);
      },
      destroy() {
        for (const t of timers) clearTimeout(t);
        timers = new Set();
      },
    };
  }

  const server = createServer((client) => {
    accepted++;
    const target = createConnection({ port: targetPort, host: '127.0.0.1' });
    const a = direction(client, target, false);
    const b = direction(target, client, true);
    const entry = {
      flush: () => { a.flush(); b.flush(); },
      destroy: () => { a.destroy(); b.destroy(); client.destroy(); target.destroy(); },
    };
    pipes.add(entry);
    const end = () => { pipes.delete(entry); entry.destroy(); };
    client.on('error', end).on('close', end);
    target.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    set(next) {
      mode = next;
      if (next.kind !== 'blackhole') for (const p of pipes) p.flush();
    },
    accepted: () => accepted,
    async close() {
      for (const p of [...pipes]) p.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
