/**
 * The front end's files, bundled by esbuild from apps/dashboard/web (Preact + uPlot + Pico CSS)
 * into memory when the gateway starts (about a second): nothing to build or forget beforehand.
 * Run as a script (`tsx apps/dashboard/src/assets.ts <dir>`) it writes the same files to a
 * directory, which is how CI checks that the front end builds.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** One served file. */
export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  /** Content-hashed name: cacheable for ever. */
  readonly immutable: boolean;
}

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web');
const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8', '.map': 'application/json' };

/** Bundles the front end; returns URL path → file. */
export async function bundleWeb(options: { minify?: boolean } = {}): Promise<Map<string, Asset>> {
  const out = await build({
    entryPoints: { app: path.join(WEB, 'src/main.tsx') },
    bundle: true,
    write: false,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: options.minify ?? true,
    sourcemap: 'linked',
    entryNames: '[name]-[hash]',
    outdir: '/assets',
    logLevel: 'silent',
    loader: { '.css': 'css' },
  });
  // The run page's early requests, inlined into the HTML as a classic script (boot.ts).
  const boot = await build({
    entryPoints: [path.join(WEB, 'src/boot.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2022',
    minify: options.minify ?? true,
    logLevel: 'silent',
  });
  const bootJs = boot.outputFiles[0]!.text.trim().replace(/<\/script/gi, '<\\/script');
  const files = new Map<string, Asset>();
  let js = '';
  let css = '';
  for (const f of out.outputFiles) {
    const name = f.path.slice(f.path.indexOf('/assets/'));
    const ext = path.extname(name);
    files.set(name, { body: Buffer.from(f.contents), type: TYPES[ext] ?? 'application/octet-stream', immutable: true });
    if (ext === '.js') js = name;
    if (ext === '.css') css = name;
  }
  const html = `<!doctype html>
<html lang="en" data-theme="light">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>medtune</title>
<script>${bootJs}</script>
<link rel="modulepreload" href="${js}">
${css ? `<link rel="stylesheet" href="${css}">` : ''}
</head>
<body>
<div id="app"></div>
<script type="module" src="${js}"></script>
</body>
</html>
`;
  files.set('/index.html', { body: Buffer.from(html), type: TYPES['.html']!, immutable: false });
  return files;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? 'apps/dashboard/dist/web';
  const t0 = performance.now();
  const files = await bundleWeb();
  for (const [p, a] of files) {
    const target = path.join(dir, p);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, a.body);
  }
  console.log(`dashboard: ${files.size} files in ${dir} (${Math.round(performance.now() - t0)} ms)`);
}
