import type { DecisionContext } from '../context.ts';
import { GatewayError } from '../errors.ts';
import { bearerChallenge } from '../credentials/bearer.ts';
import type { ResourceRef } from './authorize.ts';
import { must } from '../must.ts';

/** The resource id named by the route's path parameter, percent-decoded (ids are compared decoded). */
function resourceOf(ctx: DecisionContext): ResourceRef | null {
  const { route, params } = must(ctx.match, 'matchRoute ran first');
  if (route.resource === null) return null;
  const raw = params[route.resource.param] ?? '';
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    throw new GatewayError('bad_path');
  }
  return { type: route.resource.type, id };
}

/** Stage: the principal (as narrowed by its key) must hold every action the route names; 403 names the first missing one. */
export function authorizeRoute(ctx: DecisionContext): void {
  const route = must(ctx.match, 'matchRoute ran first').route;
  if (route.public) return;
  const decision = ctx.gen.authorizer.authorize(
    must(ctx.principal, 'authenticate ran first'),
    must(ctx.key, 'authenticate ran first'),
    route.actions,
    resourceOf(ctx),
  );
  if (!decision.allowed) {
    throw new GatewayError('forbidden', `Missing permission: ${decision.missing}`, {
      headers: { 'www-authenticate': bearerChallenge('insufficient_scope', `requires ${decision.missing}`) },
    });
  }
}
