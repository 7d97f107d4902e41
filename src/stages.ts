import type { DecisionContext } from './context.ts';

/** One step of the request chain: reads and extends the context, throws a GatewayError to refuse. */
export type Stage = (ctx: DecisionContext) => void | Promise<void>;

/**
 * Runs stages in order. Stays synchronous while every stage is (a cached key never awaits), and
 * continues asynchronously from the first stage that returns a promise.
 */
export function runStages(stages: readonly Stage[], ctx: DecisionContext, from = 0): void | Promise<void> {
  for (let i = from; i < stages.length; i++) {
    const r = (stages[i] as Stage)(ctx);
    if (r !== undefined) return r.then(() => runStages(stages, ctx, i + 1));
  }
}

/** Groups the authentication stages so their time is measured as one (keygate_auth_duration_seconds). */
export function timedAuth(stages: readonly Stage[]): Stage {
  return function authenticateAndAuthorize(ctx) {
    if (ctx.match?.route.public === true) return;
    const t0 = process.hrtime.bigint();
    const done = () => { ctx.authNs = process.hrtime.bigint() - t0; };
    let r: void | Promise<void>;
    try {
      r = runStages(stages, ctx);
    } catch (e) {
      done();
      throw e;
    }
    if (r === undefined) return done();
    return r.finally(done);
  };
}
