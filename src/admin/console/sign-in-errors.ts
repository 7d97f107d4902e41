/**
 * Why a person's OpenID Connect sign-in failed, as the console shows it (issue 15). The callback
 * and the login redirect are navigations of a person's browser, so a failure sends the browser
 * back to the console's sign-in screen with only the code, `/console/#/sign-in?error=<code>`;
 * the console shows the message below for it. Nothing the provider wrote (`error_description`,
 * an exception's text) reaches the page: it goes to the gateway log. The codes are stable
 * (docs/errors.md, "Console sign-in"); data only, so the console's bundle can import it.
 */
export const SIGN_IN_ERRORS = {
  oidc_no_login: 'No sign-in was in progress in this browser. Start again with "Sign in with SSO".',
  oidc_login_expired: 'This sign-in expired or was already used. Start again with "Sign in with SSO".',
  oidc_state_mismatch: 'The identity provider\'s answer did not match the sign-in this browser started, so it was refused. Start again with "Sign in with SSO".',
  oidc_denied: 'The sign-in was cancelled or consent was not given at the identity provider.',
  oidc_provider_error: 'The identity provider reported an error and did not sign you in. Try again, or ask your administrator.',
  oidc_verification_failed: 'The identity provider\'s answer could not be verified, so you were not signed in. Try again, or ask your administrator.',
  oidc_unavailable: 'The identity provider could not be reached. Try again in a moment.',
  oidc_email_unverified: 'The identity provider does not say your email address is verified.',
  oidc_claim_missing: 'The identity provider did not say who you are (the configured claim is missing).',
  oidc_unknown_user: 'You have no account in keygate yet. Ask an administrator to create your user.',
  oidc_not_user: 'This identity belongs to a service account; only people sign in to the console.',
  oidc_user_disabled: 'Your keygate account is disabled. Ask an administrator.',
  oidc_name_invalid: 'Your identity cannot be used as a keygate user name. Ask an administrator.',
  oidc_principal_conflict: 'A keygate principal with your name exists but is not yours. Ask an administrator.',
  oidc_no_admin_access: 'Your keygate account has no console permissions. Ask an administrator for a role.',
  oidc_store_unavailable: 'keygate could not open a session (its store is unavailable). Try again in a moment.',
  oidc_internal_error: 'The sign-in failed inside keygate. Try again; the gateway log says more.',
} as const;

export type SignInErrorCode = keyof typeof SIGN_IN_ERRORS;

/** Where a failed sign-in sends the browser: the console's sign-in screen, with the code only. */
export function signInFailedLocation(code: SignInErrorCode): string {
  return `/console/#/sign-in?error=${code}`;
}

export function isSignInErrorCode(s: string): s is SignInErrorCode {
  return Object.hasOwn(SIGN_IN_ERRORS, s);
}
