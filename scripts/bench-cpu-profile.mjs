/**
 * Preload of `bench:gateway`'s BENCH_PROFILE (`NODE_OPTIONS=--import …/bench-cpu-profile.mjs`;
 * Node refuses `--cpu-prof` in NODE_OPTIONS): samples the process with the inspector's profiler and
 * writes `<BENCH_PROFILE_DIR>/<pid>.cpuprofile` when it exits (Chrome DevTools, speedscope). An
 * in-process inspector session answers synchronously, so the profile can be taken in `exit`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';

const dir = process.env['BENCH_PROFILE_DIR'];
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  process.on('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `${String(process.pid)}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
