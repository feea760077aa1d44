/**
 * `npm run nats:clean`: deletes the JetStream streams that tests and benchmarks of this repository
 * left on a NATS server (NATS_URL, default the local one). Each run of them makes streams under a
 * random prefix of its own and the processes under test own their streams' lifetime, so nothing
 * deletes them at the end; on a CI machine they pile up run after run (hundreds of streams, their
 * files on disk). Only names of that shape go (`T`, `B`, `REPL`, `LIVE`, `ECT`, `DRILL`, `BFLOOR_`
 * + 8 hex digits, then `_<DOMAIN>` or nothing), and only streams created over `--older-than`
 * minutes ago (default 10), so a run in progress keeps its own. `.ci/run` runs it before the tests.
 */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { natsConnectionOptions } from '@hub/core/events/bus-nats';

const TEST_STREAM = /^(T|B|REPL|LIVE|ECT|DRILL|BFLOOR_)[0-9A-F]{8}(_[A-Z]+)?$/;

const arg = process.argv.indexOf('--older-than');
const minutes = arg >= 0 ? Number(process.argv[arg + 1]) : 10;
if (!Number.isFinite(minutes) || minutes < 0) throw new Error('--older-than takes minutes (a number >= 0)');
const before = Date.now() - minutes * 60_000;

const nc = await connect(natsConnectionOptions(process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222', 'hub-nats-clean'));
try {
  const jsm = await jetstreamManager(nc);
  let deleted = 0;
  let kept = 0;
  for await (const info of jsm.streams.list()) {
    if (!TEST_STREAM.test(info.config.name)) continue;
    if (Date.parse(info.created) > before) {
      kept += 1;
      continue;
    }
    await jsm.streams.delete(info.config.name);
    deleted += 1;
  }
  console.log(`nats:clean: ${deleted} test streams deleted, ${kept} younger than ${minutes} min kept`);
} finally {
  await nc.close();
}
