import { SIGN_IN_ERRORS, isSignInErrorCode } from '../../src/admin/console/sign-in-errors.ts';
import type { Route } from './router.ts';

/**
 * The message for `#/sign-in?error=<code>`, where keygate sends a browser whose SSO sign-in
 * failed. Only the code comes from the URL, and only a known code picks a message: whatever else
 * is in the address is never shown (a crafted link cannot put words on the sign-in screen).
 */
export function signInFailure(route: Route): string | undefined {
  if (route.parts[0] !== 'sign-in') return undefined;
  const code = route.query.get('error');
  if (code === null) return undefined;
  return isSignInErrorCode(code) ? SIGN_IN_ERRORS[code] : 'The sign-in failed. Try again, or ask your administrator.';
}
