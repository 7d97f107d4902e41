import { randomUUID } from 'node:crypto';
import type { EventData, EventType, KeygateEvent } from './types.ts';

export type EventListener = (event: KeygateEvent) => void;

export interface EventBus {
  /**
   * Publishes an event. Safe on the request path: never awaits, never throws; listeners run
   * synchronously and must only enqueue (the webhook queue does), a listener that throws is
   * reported to `onListenerError` and the others still run.
   */
  emit<T extends EventType>(type: T, data: EventData[T], opts?: { id?: string; at?: Date }): KeygateEvent;
  /** Returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void;
}

export interface EventBusOptions {
  now?: () => Date;
  onListenerError?: (e: unknown) => void;
}

/** `evt_` + a UUID: unique per event, the receiver's deduplication key. */
export function newEventId(): string {
  return `evt_${randomUUID()}`;
}

export function createEventBus(opts: EventBusOptions = {}): EventBus {
  const now = opts.now ?? (() => new Date());
  const listeners = new Set<EventListener>();
  return {
    emit(type, data, o) {
      const event = { id: o?.id ?? newEventId(), type, at: (o?.at ?? now()).toISOString(), data } as KeygateEvent;
      for (const l of listeners) {
        try {
          l(event);
        } catch (e) {
          try { opts.onListenerError?.(e); } catch { /* reporting must not throw on the request path either */ }
        }
      }
      return event;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
  };
}
