import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * A real OpenID Connect provider (the `oidc-provider` package) on loopback, as in
 * test/console/sso.test.ts: one account, whose interaction (login and consent) the provider's
 * server answers itself, as the person would by typing a password.
 */
export interface TestIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

export async function startIdp(opts: { redirectUri: string; sub: string; email: string }): Promise<TestIdp> {
  const clientId = 'keygate-console';
  const clientSecret = 'journey-client-secret-0123456789abcdef';
  let provider: Provider | undefined;
  const server: Server = createServer((req, res) => {
    if (provider === undefined) return void res.writeHead(503).end();
    if (req.url?.startsWith('/interaction/')) {
      const p = provider;
      void (async () => {
        const details = await p.interactionDetails(req, res);
        const grant = new p.Grant({ accountId: opts.sub, clientId: String(details.params['client_id']) });
        grant.addOIDCScope(String(details.params['scope']));
        const grantId = await grant.save();
        await p.interactionFinished(req, res, { login: { accountId: opts.sub }, consent: { grantId } }, { mergeWithLastSubmission: false });
      })().catch((e: unknown) => res.writeHead(500).end(String(e)));
      return;
    }
    provider.callback()(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [opts.redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
    async findAccount(_ctx, id) {
      return { accountId: id, claims: () => ({ sub: id, email: opts.email, email_verified: true }) };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: { devInteractions: { enabled: false } },
    cookies: { keys: ['journey-idp-cookie-key-0123456789abcdef'] },
    pkce: { required: () => true },
  });
  return {
    issuer, clientId, clientSecret,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
