import { text } from 'node:stream/consumers';
import { hashSecret } from '../credentials/hash.ts';
import { EXIT, type CommandResult } from './exit-codes.ts';

/** stdin → `sha256:<hex>`. The secret is read from stdin so it never lands in shell history or `ps`. */
export async function hashKeyCommand(): Promise<CommandResult> {
  // A trailing newline from `echo` or a terminal is not part of the secret.
  const secret = (await text(process.stdin)).replace(/\r?\n$/, '');
  if (secret.length === 0) {
    process.stderr.write('keygate: hash-key: no secret on stdin\n');
    return EXIT.usage;
  }
  process.stdout.write(`sha256:${hashSecret(secret)}\n`);
  return EXIT.ok;
}
