import type { RequestView } from '../context.ts';
import { GatewayError } from '../errors.ts';

/**
 * The single value of a header read from the raw header list. Node keeps only the first of
 * duplicate `Authorization` headers in `req.headers`, while an upstream may read the last one,
 * so a credential header sent twice is refused rather than guessed at.
 */
export function singleRawHeader(req: RequestView, lowerName: string): string | undefined {
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) {
      if (value !== undefined) throw new GatewayError('invalid_request', `Duplicate ${lowerName} header`);
      value = raw[i + 1] as string;
    }
  }
  return value;
}
