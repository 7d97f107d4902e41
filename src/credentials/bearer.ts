/** `WWW-Authenticate` challenges (RFC 6750 §3). */
export const BEARER_CHALLENGE = 'Bearer realm="keygate"';

/** The challenge for a refused bearer credential, with an RFC 6750 error code. */
export function bearerChallenge(error: 'invalid_token' | 'insufficient_scope', description: string): string {
  return `${BEARER_CHALLENGE}, error="${error}", error_description="${description}"`;
}
