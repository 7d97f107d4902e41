import type { RequestContext } from '../context.ts';
import { GatewayError } from '../errors.ts';
import { bearerChallenge } from '../credentials/bearer.ts';

/** Stage: the principal must hold every action the route names; 403 names the first missing one. */
export function authorizeRoute(ctx: RequestContext): void {
  const route = ctx.match!.route; // matchRoute ran first
  if (route.public) return;
  const decision = ctx.gen.authorizer.authorize(ctx.principal!, route.actions); // authenticate ran first
  if (!decision.allowed) {
    throw new GatewayError('forbidden', `Missing permission: ${decision.missing}`, {
      headers: { 'www-authenticate': bearerChallenge('insufficient_scope', `requires ${decision.missing}`) },
    });
  }
}
