import { describe, expect, it } from 'vitest';
import { routePathParams, routePathProblem } from '../../../src/config/route-path.ts';

describe('routePathProblem', () => {
  it.each([
    ['/', null],
    ['/health', null],
    ['/docs/', null],
    ['/*', null],
    ['/api/applications/:appId/*', null],
    ['/orgs/:org/members/:_user2', null],
    ['health', 'must start with "/"'],
    ['', 'must start with "/"'],
    ['/a/*/b', '"*" is only allowed as the last segment'],
    ['/a/b*', '"*" must be a whole segment (in "b*")'],
    ['/a/:x*', '"*" must be a whole segment (in ":x*")'],
    ['/a//b', 'empty segment ("//")'],
    ['//', 'empty segment ("//")'],
    ['/a/:', 'parameter ":" must be ":" and a name of letters, digits and "_" (not starting with a digit)'],
    ['/a/:9', 'parameter ":9" must be ":" and a name of letters, digits and "_" (not starting with a digit)'],
    ['/a/:app-id', 'parameter ":app-id" must be ":" and a name of letters, digits and "_" (not starting with a digit)'],
    ['/a/:id/b/:id', 'parameter ":id" appears twice'],
  ])('%j → %j', (path, problem) => {
    expect(routePathProblem(path)).toBe(problem);
  });

  it('lists the parameters of a valid pattern', () => {
    expect(routePathParams('/a/:org/b/:id/*')).toEqual(['org', 'id']);
  });
});
