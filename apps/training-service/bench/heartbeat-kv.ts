// Heartbeat cost (issue 17, item 3): one worker heartbeat as a NATS JetStream KV put of its encoded
// WorkerInfo vs the write the training service does today on FerretDB (findOne + updateOne by _id,
// 100 registered workers), 500 of each, interleaved, min / median / p99 / max. Measurement only:
// heartbeats still go over gRPC to the database.
//   NATS_URL=... MONGODB_URI=... node --import tsx apps/training-service/bench/heartbeat-kv.ts
import { trainer } from '@medtune/contracts';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { MongoClient } from 'mongodb';
import { MongoWorkerRepository } from '../src/repo/mongo';
const stats = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return `min ${s[0]!.toFixed(2)} median ${s[Math.floor(s.length / 2)]!.toFixed(2)} p99 ${s[Math.floor(s.length * 0.99)]!.toFixed(2)} max ${s.at(-1)!.toFixed(2)} ms`; };
const nc = await connect({ servers: process.env['NATS_URL']! });
const kv = await new Kvm(nc).create(`h1beat${Date.now()}`, { history: 1, ttl: 60_000 });
const mc = new MongoClient(process.env['MONGODB_URI']!, { maxPoolSize: 1 });
await mc.connect();
const db = mc.db(`h1beat${Date.now()}`);
const repo = new MongoWorkerRepository(db, { store: 'ferretdb' });
const infos = Array.from({ length: 100 }, (_, i) => trainer.WorkerInfo.fromPartial({ workerId: `w${i}`, address: `127.0.0.1:${40000 + i}`, gpuName: 'NVIDIA H200', gpuMemoryBytes: 141e9, gpuCount: 1, backends: [1, 2], busy: true, currentJobId: `job_${i}`, versions: { torch: '2.5', transformers: '4.46' } }));
for (const info of infos) await repo.upsert({ workerId: info.workerId, info, registeredAt: new Date(), lastHeartbeat: new Date(), lost: false });
const kvT: number[] = []; const dbT: number[] = [];
for (let r = 0; r < 5; r++) for (const info of infos) {
  const data = trainer.WorkerInfo.encode(info).finish();
  let t = performance.now(); await kv.put(info.workerId, data); kvT.push(performance.now() - t);
  t = performance.now(); await repo.heartbeat(info.workerId, info, new Date()); dbT.push(performance.now() - t);
}
console.log(`heartbeat as a NATS KV put (${trainer.WorkerInfo.encode(infos[0]!).finish().length} B): ${stats(kvT)}`);
console.log(`heartbeat as the FerretDB write (findOne + updateOne by _id, 100 workers): ${stats(dbT)}`);
await mc.db(db.databaseName).dropDatabase(); await mc.close(); await kv.destroy(); await nc.close();
