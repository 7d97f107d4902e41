/**
 * How a lenient upstream reads a request path: the union of what common servers do on their
 * own, so that "keygate and this decoder agree" means "keygate and any of them agree".
 * - decode percent-escapes until nothing changes (frameworks that decode twice, proxy chains in
 *   which every hop decodes), IIS's `%uXXXX` included;
 * - UTF-8 read leniently: overlong forms decoded (old IIS, Java's modified UTF-8), anything else
 *   invalid becomes U+FFFD;
 * - NFKC (frameworks that normalize Unicode), then Windows best-fit look-alikes (WorstFit);
 * - `\` is `/` (IIS, Windows-hosted servers);
 * - `;params` cut off every segment (Tomcat, Spring, Jetty);
 * - dot-segments removed, clamped at the root, empty segments collapsed.
 * Returns the Unicode path, starting with `/` (the query cut off at the first `?`).
 */
export function lenientPath(target: string): string {
  let path = target;
  const q = path.indexOf('?');
  if (q !== -1) path = path.slice(0, q);
  for (let i = 0; i < 8; i++) {
    const next = lenientDecode(path);
    if (next === path) break;
    path = next;
  }
  path = path.normalize('NFKC');
  path = [...path].map((ch) => BEST_FIT.get(ch) ?? ch).join('');
  path = path.replace(/\\/g, '/');
  const out: string[] = [];
  for (const raw of path.split('/')) {
    const seg = raw.split(';', 1)[0] as string;
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  const trailing = /\/\.{0,2}(;[^/]*)?$/.test(path) && out.length > 0;
  return '/' + out.join('/') + (trailing ? '/' : '');
}

/**
 * The lenient path in the form keygate's router compares (UTF-8, unreserved characters plain,
 * everything else percent-encoded with upper-case hex), so a route decision can be taken on it.
 */
export function lenientRoutePath(target: string): string {
  return lenientPath(target)
    .split('/')
    .map((seg) => [...Buffer.from(seg, 'utf8')].map((b) => (UNRESERVED.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join(''))
    .join('/');
}

const UNRESERVED = /^[A-Za-z0-9._~-]$/;

const BEST_FIT = new Map([
  ['\u2215', '/'], ['\u2044', '/'], ['\u29f8', '/'],
  ['\u2216', '\\'], ['\u29f5', '\\'], ['\u29f9', '\\'], ['\u00a5', '\\'], ['\u20a9', '\\'],
  ['\u3002', '.'],
]);

/** One round of percent-decoding into bytes (invalid escapes kept as text), read as lenient UTF-8. */
function lenientDecode(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const u = /^[uU]([0-9a-fA-F]{4})/.exec(s.slice(i + 1, i + 6));
      if (u !== null) {
        bytes.push(...Buffer.from(String.fromCharCode(parseInt(u[1] as string, 16)), 'utf8'));
        i += 5;
        continue;
      }
      const h = /^[0-9a-fA-F]{2}/.exec(s.slice(i + 1, i + 3));
      if (h !== null) {
        bytes.push(parseInt(h[0], 16));
        i += 2;
        continue;
      }
    }
    bytes.push(...Buffer.from(s[i] as string, 'utf8'));
  }
  return lenientUtf8(bytes);
}

/** UTF-8 that also accepts overlong forms; any other invalid sequence is U+FFFD. */
function lenientUtf8(b: number[]): string {
  let out = '';
  for (let i = 0; i < b.length; ) {
    const x = b[i] as number;
    const need = x >= 0xf0 && x < 0xf8 ? 3 : x >= 0xe0 ? 2 : x >= 0xc0 ? 1 : 0;
    if (x < 0x80) {
      out += String.fromCharCode(x);
      i++;
      continue;
    }
    if (need === 0 || x >= 0xf8) {
      out += '\ufffd';
      i++;
      continue;
    }
    let cp = x & (0x3f >> need);
    let ok = true;
    for (let k = 1; k <= need; k++) {
      const y = b[i + k];
      if (y === undefined || (y & 0xc0) !== 0x80) { ok = false; break; }
      cp = (cp << 6) | (y & 0x3f);
    }
    if (!ok || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      out += '\ufffd';
      i++;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += need + 1;
  }
  return out;
}
