import { describe, expect, it } from 'vitest';
import { runInNewContext } from 'node:vm';
import { compactHeap } from '../../../src/memory/compact-heap.ts';

describe('compactHeap (issue 12: idle RSS after start-up)', () => {
  it('collects without leaving a gc global, or the flag that makes one, behind', () => {
    const had = 'gc' in globalThis;
    const env = process.env['KEYGATE_NODE_FLAGS'];
    delete process.env['KEYGATE_NODE_FLAGS'];
    try {
      expect(compactHeap()).toBe(true);
    } finally {
      if (env !== undefined) process.env['KEYGATE_NODE_FLAGS'] = env;
    }
    expect('gc' in globalThis).toBe(had);
    // --expose-gc was cleared again: a context made now has no gc either.
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });

  it('does nothing with KEYGATE_NODE_FLAGS=off', () => {
    const env = process.env['KEYGATE_NODE_FLAGS'];
    process.env['KEYGATE_NODE_FLAGS'] = 'off';
    try {
      expect(compactHeap()).toBe(false);
    } finally {
      if (env === undefined) delete process.env['KEYGATE_NODE_FLAGS'];
      else process.env['KEYGATE_NODE_FLAGS'] = env;
    }
  });
});
