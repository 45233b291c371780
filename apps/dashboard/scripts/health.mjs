#!/usr/bin/env node
// Health of the dashboard gateway over HTTP: exit 0 when <url> answers 200 { status: "SERVING" }.
//   node apps/dashboard/scripts/health.mjs http://127.0.0.1:50070/healthz [--wait SECONDS]
const [url, flag, wait] = process.argv.slice(2);
const deadline = Date.now() + (flag === '--wait' ? Number(wait) || 0 : 0) * 1000;
for (;;) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    const body = await res.json();
    if (res.ok && body.status === 'SERVING') process.exit(0);
  } catch {
    // not up yet
  }
  if (Date.now() >= deadline) process.exit(1);
  await new Promise((r) => setTimeout(r, 250));
}
