import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildConsole, type ConsoleBuild } from '../../scripts/build-console.ts';
import { adminApi } from '../helpers/admin.ts';
import { ROOT, startServe, type ServeProcess } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

/** Debian's chromium (apt): Playwright's own browser download cannot work here. */
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Screenshots of every run (gitignored); docs/img/ holds the ones docs/console.md shows. */
export const SHOTS = join(ROOT, 'test', 'console', '.shots');

export interface ConsoleRig {
  build: ConsoleBuild;
  redis: TestRedis;
  upstream: TestUpstream;
  gateway: ServeProcess;
  /** `http://127.0.0.1:<admin port>`: the console is `${adminUrl}/console/`. */
  adminUrl: string;
  /** A URL of the proxy's protected route. */
  proxyUrl: string;
  token: string;
  admin: ReturnType<typeof adminApi>;
  browser: Browser;
  stop(): Promise<void>;
}

export const ADMIN_TOKEN = 'console-admin-token-0123456789abcdef';

/**
 * Everything real: the console built from console/ by esbuild, `keygate serve` on a real Redis
 * with a real upstream behind its proxy, and Debian's chromium.
 */
export interface RigOptions {
  /** Top-level YAML appended to the config (not `roles:` or `routes:`, which the rig writes). */
  extraYaml?: string;
  /** More roles, as YAML lines under `roles:` (`auditor: { actions: [report:view] }`). */
  roles?: string[];
  /** More routes, as YAML flow mappings under `routes:`, before the catch-all `/api/*`. */
  routes?: string[];
  adminPort?: number;
}

export async function startRig(opts: RigOptions = {}): Promise<ConsoleRig> {
  const build = await buildConsole();
  const redis = await startRedis();
  const upstream = await startUpstream();
  const port = await freePort();
  // Given when the config must name the admin URL before keygate starts (an OIDC redirect URI).
  const adminPort = opts.adminPort ?? await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'keygate-console-'));
  const file = join(dir, 'keygate.yaml');
  writeFileSync(file, `
server: { port: ${port}, host: 127.0.0.1 }
admin: { port: ${adminPort}, host: 127.0.0.1, token: "${ADMIN_TOKEN}" }
store: { redis: "${redis.url}" }
upstreams: { app: { url: "${upstream.url}" } }
roles:
  viewer: { actions: [application:view] }
  key-owner: { actions: [application:view, keygate:admin:keys:own] }
${(opts.roles ?? []).map((r) => `  ${r}\n`).join('')}routes:
${(opts.routes ?? []).map((r) => `  - ${r}\n`).join('')}  - { name: app, path: "/api/*", upstream: app, action: application:view }
${opts.extraYaml ?? ''}
`);
  let gateway: ServeProcess | undefined;
  let browser: Browser | undefined;
  try {
    gateway = await startServe(file);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  } catch (e) {
    await gateway?.stop();
    await upstream.close();
    await redis.stop();
    throw e;
  }
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const g = gateway;
  const b = browser;
  return {
    build, redis, upstream, gateway: g, adminUrl, proxyUrl: `http://127.0.0.1:${port}/api/console-check`, token: ADMIN_TOKEN,
    admin: adminApi(adminUrl, ADMIN_TOKEN), browser: b,
    async stop() {
      await b.close();
      await g.stop();
      await upstream.close();
      await redis.stop();
    },
  };
}

/** What a page did that it must not: CSP violations, JavaScript dialogs (alert), uncaught errors. */
export interface PageWatch {
  csp: string[];
  dialogs: string[];
  errors: string[];
}

/**
 * A fresh browser context (no cookies) and page, watched for CSP violations both ways: the
 * `securitypolicyviolation` DOM event (an init script, which CDP runs outside the page's CSP) and
 * chromium's console report.
 */
export async function openPage(rig: ConsoleRig): Promise<{ context: BrowserContext; page: Page; watch: PageWatch }> {
  const context = await rig.browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const watch: PageWatch = { csp: [], dialogs: [], errors: [] };
  // A string, not a function: the test typechecks without the DOM library.
  await page.addInitScript({
    content: `globalThis.__csp = []; document.addEventListener('securitypolicyviolation', (e) => globalThis.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
  });
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) watch.csp.push(m.text());
  });
  page.on('dialog', (d) => {
    watch.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => watch.errors.push(e.message));
  return { context, page, watch };
}

/** CSP violations the page's own listener saw, plus the console's. */
export async function cspViolations(page: Page, watch: PageWatch): Promise<string[]> {
  const inPage = await page.evaluate('globalThis.__csp ?? []') as string[];
  return [...inPage, ...watch.csp];
}

export async function signIn(page: Page, rig: ConsoleRig, token = rig.token): Promise<void> {
  await page.goto(`${rig.adminUrl}/console/`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation { id: string; impact: string | null; help: string; nodes: string[] }

/**
 * axe-core in the page, through CDP evaluation (an injected `<script>` would be refused by the
 * very CSP under test). Returns the serious and critical violations only.
 */
export async function seriousA11y(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE);
  const result = await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
  })))`) as AxeViolation[];
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** docs/img/: the screenshots docs/console.md shows, rewritten when KEYGATE_DOC_SHOTS=1. */
export const DOC_SHOTS = join(ROOT, 'docs', 'img');

/**
 * A full-page screenshot into SHOTS; with `doc`, also docs/img/console-<name>.png when the run
 * asks for it (KEYGATE_DOC_SHOTS=1), so an ordinary test run leaves the tree clean.
 */
export async function shot(page: Page, name: string, opts: { doc?: boolean } = {}): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  if (opts.doc === true && process.env['KEYGATE_DOC_SHOTS'] === '1') {
    mkdirSync(DOC_SHOTS, { recursive: true });
    await page.screenshot({ path: join(DOC_SHOTS, `console-${name}.png`), fullPage: false });
  }
  return path;
}
