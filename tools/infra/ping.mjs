// A real protocol round trip, used by infra.sh to decide that a server is ready:
//   node tools/infra/ping.mjs nats  nats://127.0.0.1:4222     (CONNECT + PING/PONG, JetStream on)
//   node tools/infra/ping.mjs mongo mongodb://127.0.0.1:27017/ ({ ping: 1 } on admin)
// Exits 0 when the server answers within 2 s, else 1 with the reason on stdout.
// Plain .mjs so that it runs with node alone, before anything else of ours is set up.
import { connect } from '@nats-io/transport-node';
import { MongoClient } from 'mongodb';

const TIMEOUT_MS = 2000;

async function pingNats(url) {
  // With authorization on, infra.sh hands the admin role's credentials over the environment.
  const user = process.env.MEDTUNE_PING_NATS_USER;
  const auth = user ? { user, pass: process.env.MEDTUNE_PING_NATS_PASSWORD ?? '' } : {};
  const nc = await connect({ servers: url, timeout: TIMEOUT_MS, reconnect: false, name: 'medtune-infra-ping', ...auth });
  try {
    await nc.flush();
    // A NATS without JetStream answers pings but breaks every service; say so here.
    if (!nc.info?.jetstream) throw new Error('the server answers but JetStream is not enabled');
  } finally {
    await nc.close();
  }
}

async function pingMongo(uri) {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: TIMEOUT_MS, connectTimeoutMS: TIMEOUT_MS, appName: 'medtune-infra-ping' });
  try {
    const res = await client.db('admin').command({ ping: 1 });
    if (res.ok !== 1) throw new Error(`ping answered ${JSON.stringify(res)}`);
  } finally {
    await client.close();
  }
}

const [kind, url] = process.argv.slice(2);
const pings = { nats: pingNats, mongo: pingMongo };
if (!pings[kind] || !url) {
  console.log('usage: node tools/infra/ping.mjs nats|mongo URL');
  process.exit(2);
}
try {
  await pings[kind](url);
  process.exit(0);
} catch (err) {
  console.log(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
