/** The dashboard's front end: layout, session, and routes. */
import '@picocss/pico/css/pico.min.css';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get } from './http';
import { ComparePage } from './pages/compare';
import { DatasetsPage, DatasetVersionPage } from './pages/datasets';
import { ComparisonPage, EvaluationsPage } from './pages/evaluations';
import { ModelPage, ModelsPage, VersionPage } from './pages/registry';
import { RunPage } from './pages/run';
import { RunsPage } from './pages/runs';
import { onLinkClick, useLocation } from './router';
import { SessionContext, SignIn, type Session } from './ui';

function Page({ url }: { url: URL }) {
  const p = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (p[0] === 'runs' && p[1]) return <RunPage runId={p[1]} raw={url.searchParams.get('points') === 'raw'} />;
  if (p[0] === 'compare') return <ComparePage url={url} />;
  if (p[0] === 'evaluations') return <EvaluationsPage />;
  if (p[0] === 'comparisons' && p[1]) return <ComparisonPage id={p[1]} />;
  if (p[0] === 'models' && p[1] && p[2] === 'versions' && p[3]) return <VersionPage name={p[1]} version={Number(p[3])} />;
  if (p[0] === 'models' && p[1]) return <ModelPage name={p[1]} />;
  if (p[0] === 'models') return <ModelsPage />;
  if (p[0] === 'datasets' && p[1]) return <DatasetVersionPage digest={p[1]} />;
  if (p[0] === 'datasets') return <DatasetsPage />;
  return <RunsPage url={url} />;
}

function App() {
  const url = useLocation();
  const [session, setSession] = useState<Session>({ authRequired: false, signedIn: false });
  useEffect(() => void get<Session>('/session').then(setSession, () => undefined), []);
  const nav = (href: string, label: string) => (
    <li>
      <a href={href} aria-current={url.pathname === href || (href !== '/' && url.pathname.startsWith(href)) ? 'page' : undefined}>
        {label}
      </a>
    </li>
  );
  return (
    <SessionContext.Provider value={{ session, setSession }}>
      <div onClick={onLinkClick}>
        <header class="container-fluid">
          <nav>
            <ul>
              <li>
                <strong>medtune</strong>
              </li>
              {nav('/', 'Runs')}
              {nav('/evaluations', 'Evaluations')}
              {nav('/models', 'Models')}
              {nav('/datasets', 'Datasets')}
            </ul>
            <ul>
              <li>
                <SignIn />
              </li>
            </ul>
          </nav>
        </header>
        <main class="container-fluid">
          <Page url={url} />
        </main>
      </div>
    </SessionContext.Provider>
  );
}

// Marks read by bench/web (where a first render's time goes).
performance.mark('medtune:app-start');
render(<App />, document.getElementById('app')!);
