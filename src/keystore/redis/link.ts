import { connectCommand, connectSubscriber, type ConnectionTuning, type RedisConn, type RedisTarget } from './connection.ts';

export interface StoreLogger {
  info(o: object, m: string): void;
  warn(o: object, m: string): void;
  error(o: object, m: string): void;
}

/** The two connections of a Redis store and their joint state. */
export interface Link {
  /** For commands and scripts. */
  readonly cmd: RedisConn;
  /**
   * A promise while the very first connection attempt is still under way, else null. Calls
   * made right after start-up wait for it (bounded by the connect timeout) instead of failing
   * because the socket is not open yet; once Redis has been seen down, calls fail at once.
   */
  firstAttempt(): Promise<void> | null;
  /**
   * The command connection is ready and the subscriber is subscribed. Stricter than "a lookup
   * would work": while invalidations cannot reach us, cached answers may be stale, and a
   * caller that treats a successful lookup plus `isReady` as "recovered" must not flush too early.
   */
  isReady(): boolean;
  /**
   * Date.now() up to which every invalidation published is known to have reached us: when the
   * last PING the subscriber answered was sent (pub/sub messages and replies share the socket, in
   * order). Cached answers are no fresher than this; serve-stale counts its window from here.
   */
  syncedAt(): number;
  /** A call failed: probe now rather than at the next tick. */
  callFailed(): void;
  /** A call succeeded: if the link is down, probe now so service resumes on the first sign of life. */
  callSucceeded(): void;
  close(): Promise<void>;
}

export interface LinkEvents {
  /** A payload published on the invalidation channel. */
  message(payload: string): void;
  /** `down` when either connection is lost; `up` when both are back (subscriber re-subscribed). */
  state(s: 'up' | 'down'): void;
}

type Conn = 'command' | 'subscriber';

/** Heartbeat while up: a silent partition (no reset) is noticed within this plus the probe timeout. */
const PROBE_EVERY_MS = 1000;
/** While down, probe again this soon after the previous probe ended. */
const PROBE_DOWN_EVERY_MS = 200;

export function openLink(
  target: RedisTarget, tuning: ConnectionTuning, channel: string, logger: StoreLogger, events: LinkEvents,
): Link {
  const cmd = connectCommand(target, tuning);
  const sub = connectSubscriber(cmd);
  const up = { command: false, subscriber: false };
  let state: 'initial' | 'up' | 'down' = 'initial';
  /**
   * False after a PING went unanswered within the command timeout on an open connection: a
   * stall (slow command, fork, paused VM, SIGSTOP) or a partition that sent no reset. ioredis
   * only reports sockets that close, so without this the link would call such a store "up".
   */
  let responsive = true;
  let syncedAt = Date.now();
  let probing = false;
  let probeTimer: NodeJS.Timeout | undefined;
  const probeTimeoutMs = tuning.commandTimeoutMs ?? 1000;
  let closing = false;
  let lastError: string | undefined;
  /** Bumped when the subscriber drops, so a SUBSCRIBE answered for an older socket counts for nothing. */
  let subEpoch = 0;

  let endFirstAttempt = (): void => {};
  const first = new Promise<void>((resolve) => (endFirstAttempt = resolve));
  const firstTimer = setTimeout(firstAttemptOver, (tuning.connectTimeoutMs ?? 2000) + 500);
  firstTimer.unref();

  function reached(which: Conn): void {
    up[which] = true;
    // A fresh connection that answered its handshake (and SUBSCRIBE) is responsive by proof.
    responsive = true;
    if (which === 'subscriber') syncedAt = Date.now();
    settle('redis store reconnected');
  }

  function settle(recoveredMessage: string): void {
    if (closing || !up.command || !up.subscriber || !responsive || state === 'up') return;
    const was = state;
    state = 'up';
    endFirstAttempt();
    logger.info({ store: 'redis' }, was === 'down' ? recoveredMessage : 'redis store connected');
    // Only a recovery is news: the first connect has nothing for caches to flush.
    if (was === 'down') events.state('up');
  }

  function lost(which: Conn): void {
    up[which] = false;
    if (which === 'subscriber') subEpoch++;
    goDown(which, was => (was === 'up' ? 'redis store connection lost' : 'redis store cannot connect'));
  }

  function goDown(which: Conn | 'probe', message: (was: typeof state) => string): void {
    if (closing || state === 'down') return;
    const was = state;
    state = 'down';
    endFirstAttempt();
    logger.warn({ store: 'redis', connection: which, err: lastError }, message(was));
    events.state('down');
    schedule(0);
  }

  /** Resolves with whether `c` answered PING within the probe timeout. */
  function ping(c: RedisConn): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), probeTimeoutMs);
      c.ping().then(
        () => { clearTimeout(timer); resolve(true); },
        (e: unknown) => { clearTimeout(timer); lastError = e instanceof Error ? e.message : String(e); resolve(false); },
      );
    });
  }

  /**
   * One PING on each connection. Only open connections are probed: a closed one is ioredis's to
   * reconnect, and `lost` has already said so.
   */
  async function probe(): Promise<void> {
    if (probing || closing) return;
    if (cmd.status !== 'ready' || sub.status !== 'ready' || !up.subscriber) return void schedule();
    probing = true;
    const sentAt = Date.now();
    const epoch = subEpoch;
    const [a, b] = await Promise.all([ping(cmd), ping(sub)]);
    probing = false;
    if (closing) return;
    if (a && b) {
      if (epoch === subEpoch) syncedAt = Math.max(syncedAt, sentAt);
      responsive = true;
      settle('redis store answers again');
    } else {
      lastError = `no PING reply within ${probeTimeoutMs} ms on the ${a ? 'subscriber' : 'command'} connection`;
      responsive = false;
      goDown('probe', () => 'redis store stopped answering');
    }
    schedule();
  }

  function schedule(delayMs?: number): void {
    if (closing) return;
    clearTimeout(probeTimer);
    probeTimer = setTimeout(() => void probe(), delayMs ?? (state === 'up' ? PROBE_EVERY_MS : PROBE_DOWN_EVERY_MS));
    probeTimer.unref();
  }
  schedule();

  /**
   * The first attempt ran out of time without a `close` to report it: through Sentinel, ioredis
   * keeps asking the sentinels (none reachable, or a wrong sentinel password) without ever
   * opening a socket to close. Say so once, as `lost` does, or the store is down without a word.
   */
  function firstAttemptOver(): void {
    endFirstAttempt();
    if (closing || state !== 'initial') return;
    state = 'down';
    logger.warn({ store: 'redis', err: lastError }, 'redis store cannot connect');
    events.state('down');
  }

  /**
   * Connection errors are followed by `close`, which reports the last one. Logging each here
   * would repeat it every 2 s while Redis stays down. (Command errors reject their call instead.)
   * Cluster's "Failed to refresh slots cache." says nothing by itself: the last node's error
   * (refused, WRONGPASS, …) comes with it.
   */
  function redisErrorListener(e: Error): void {
    const node: unknown = (e as { lastNodeError?: unknown }).lastNodeError;
    lastError = node instanceof Error ? `${e.message} Last node error: ${node.message}` : e.message;
  }

  cmd.on('ready', () => reached('command'));
  cmd.on('close', () => lost('command'));
  cmd.on('end', () => lost('command'));
  cmd.on('error', redisErrorListener);

  sub.on('ready', () => {
    const epoch = subEpoch;
    sub.subscribe(channel).then(
      () => {
        if (epoch === subEpoch) reached('subscriber');
      },
      (e: unknown) => {
        lastError = e instanceof Error ? e.message : String(e);
        if (closing || epoch !== subEpoch) return;
        logger.error({ store: 'redis', err: lastError }, 'redis store could not subscribe to invalidations; reconnecting');
        // A fresh connection gets a fresh `ready`, hence another attempt.
        sub.disconnect(true);
      },
    );
  });
  sub.on('close', () => lost('subscriber'));
  sub.on('end', () => lost('subscriber'));
  sub.on('error', redisErrorListener);
  sub.on('message', (ch: string, payload: string) => {
    if (ch === channel) events.message(payload);
  });

  async function quit(c: RedisConn): Promise<void> {
    if (c.status === 'ready') {
      try {
        await c.quit();
      } catch {
        // Closing anyway.
      }
    }
    c.disconnect();
  }

  return {
    cmd,
    firstAttempt: () => (state === 'initial' ? first : null),
    // The command socket can die a moment before its `close` event: `state` knows from the subscriber.
    isReady: () => state === 'up' && cmd.status === 'ready',
    syncedAt: () => syncedAt,
    callFailed: () => { if (!probing) schedule(0); },
    callSucceeded: () => { if (state !== 'up' && !probing) schedule(0); },
    async close() {
      if (closing) return;
      closing = true;
      clearTimeout(firstTimer);
      clearTimeout(probeTimer);
      endFirstAttempt();
      await Promise.all([quit(cmd), quit(sub)]);
    },
  };
}
