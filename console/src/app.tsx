import { useEffect, useRef, useState } from 'preact/hooks';
import { api, may, whenSessionLost, type ConsoleConfig, type Session } from './api.ts';
import { href, navigate, useRoute, type Route } from './router.ts';
import { signInFailure } from './sign-in-failure.ts';
import { ApiKeys } from './screens/api-keys.tsx';
import { Groups } from './screens/groups.tsx';
import { History } from './screens/history.tsx';
import { KeyPage } from './screens/key.tsx';
import { MyKeys } from './screens/me.tsx';
import { PrincipalPage } from './screens/principal.tsx';
import { Principals } from './screens/principals.tsx';
import { SignIn } from './screens/signin.tsx';
import { SessionContext } from './session.ts';
import { ErrorText, Loading } from './ui/bits.tsx';

/** The console: the session decides between sign-in and the screens; the hash picks the screen. */
export function App() {
  const [config, setConfig] = useState<ConsoleConfig | undefined>(undefined);
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [ended, setEnded] = useState(false);
  const route = useRoute();
  useEffect(() => {
    whenSessionLost(() => {
      setEnded(true);
      setSession(null);
    });
    api.config().then(setConfig, setError);
    api.session().then(setSession, (e: unknown) => {
      setError(e);
      setSession(null);
    });
  }, []);

  if (session === undefined) return <main id="main"><Loading what="the console" /></main>;
  if (session === null || config === undefined) {
    return (
      <>
        <ErrorText error={error} />
        <SignIn
          config={config}
          notice={ended ? 'Your session ended (signed out elsewhere, idle or too old). Sign in again.' : ''}
          failure={signInFailure(route)}
          onSignedIn={(s) => {
            setEnded(false);
            setSession(s);
            // A failed SSO attempt brought the browser to #/sign-in; signed in now, start at the start.
            if (route.parts[0] === 'sign-in') navigate(href([]));
          }}
        />
      </>
    );
  }
  return (
    <SessionContext.Provider value={{ session, config }}>
      <Shell
        session={session}
        config={config}
        onSignedOut={() => {
          setEnded(false);
          setSession(null);
        }}
      />
    </SessionContext.Provider>
  );
}

function Shell(props: { session: Session; config: ConsoleConfig; onSignedOut: () => void }) {
  const route = useRoute();
  const can = (a: string) => may(props.session.permissions, a);
  const admin = can('keygate:admin:principals:read');
  const screen = pick(route, admin);
  useEffect(() => {
    document.title = `${screen.title} · keygate console`;
  }, [screen.title]);
  // A hash change swaps the screen without a page load: move focus to it, as a load would, so
  // keyboard and screen-reader users start at the new screen rather than on a vanished link.
  const where = route.parts.join('/');
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById('main')?.focus();
  }, [where]);
  async function signOut() {
    try {
      await api.signOut();
    } finally {
      props.onSignedOut();
    }
  }
  const nav: { to: string; label: string; show: boolean }[] = [
    { to: 'principals', label: 'Principals', show: admin },
    { to: 'keys', label: 'API keys', show: admin && can('keygate:admin:keys:read') },
    { to: 'groups', label: 'Groups', show: can('keygate:admin:groups:read') },
    { to: 'history', label: 'Request history', show: can('keygate:admin:audit:read') },
    { to: 'me', label: 'My keys', show: props.session.principal !== null },
  ];
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <span class="brand">keygate</span>
        <nav aria-label="Main">
          <ul>
            {nav.filter((n) => n.show).map((n) => (
              <li key={n.to}>
                <a href={href([n.to])} aria-current={screen.section === n.to ? 'page' : undefined}>{n.label}</a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">{props.session.principal?.name ?? 'admin token'}</span>
        <button type="button" class="secondary" onClick={signOut}>Sign out</button>
      </header>
      <main id="main" tabIndex={-1}>{screen.view}</main>
      <footer class="muted">keygate {props.config.version}</footer>
    </>
  );
}

function pick(route: Route, admin: boolean): { section: string; title: string; view: preact.JSX.Element } {
  const [first = admin ? 'principals' : 'me', id] = route.parts;
  switch (first) {
    case 'principals':
      return id === undefined
        ? { section: first, title: 'Principals', view: <Principals /> }
        : { section: first, title: 'Principal', view: <PrincipalPage key={id} id={id} /> };
    case 'keys':
      if (id !== undefined) return { section: admin ? 'principals' : 'me', title: 'Key', view: <KeyPage key={id} id={id} /> };
      if (admin) return { section: first, title: 'API keys', view: <ApiKeys /> };
      break;
    case 'groups':
      return { section: first, title: 'Groups', view: <Groups /> };
    case 'history':
      return { section: first, title: 'Request history', view: <History query={route.query} /> };
    case 'me':
      return { section: first, title: 'My keys', view: <MyKeys /> };
    case 'sign-in':
      // Already signed in (with a token, say) when an SSO attempt failed: say so, then go on.
      return {
        section: '', title: 'Sign-in failed',
        view: <><h1>Sign-in with SSO failed</h1><p role="alert">{signInFailure(route) ?? 'No sign-in failed.'}</p><p><a href={href([])}>Go to the start</a>.</p></>,
      };
  }
  return { section: '', title: 'Not found', view: <><h1>Not found</h1><p>No such page. <a href={href([])}>Go to the start</a>.</p></> };
}
