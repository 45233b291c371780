/**
 * Inlined into the page's HTML as a classic script (bundled apart from the app): on a run page it
 * starts the two requests the first chart needs — the run and its loss curve, downsampled to the
 * chart's pixel width — before the app bundle has even arrived, so the data fetch overlaps the
 * bundle's download and parse instead of following it. The app takes them over (once).
 */
import { curvePoints, type Boot } from './boot-shared';

const m = /^\/runs\/([^/]+)\/?$/.exec(location.pathname);
if (m && new URLSearchParams(location.search).get('points') !== 'raw') {
  const id = m[1]!;
  const points = curvePoints(window.innerWidth);
  const json = (r: Promise<Response>) => r.then(async (res) => ({ ok: res.ok, status: res.status, body: (await res.json().catch(() => ({}))) as unknown }));
  const boot: Boot = {
    path: id,
    points,
    run: json(fetch(`/api/runs/${id}`)),
    loss: json(fetch(`/api/runs/${id}/history?key=loss&max_points=${points}`)),
  };
  window.medtuneBoot = boot;
  // An unused boot (a page that fails before taking it) must not log unhandled rejections.
  boot.run.catch(() => undefined);
  boot.loss.catch(() => undefined);
}
