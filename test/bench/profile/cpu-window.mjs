// Preloaded into a vw process (NODE_OPTIONS=--import=…/cpu-window.mjs; node refuses --cpu-prof in
// NODE_OPTIONS): samples its main thread for a window of steady state and writes a .cpuprofile that
// summarize.ts reads. VW_PROFILE_DIR (required), VW_PROFILE_START_MS (default 20 s after start),
// VW_PROFILE_MS (default 30 s).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.VW_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  const post = (method, params = {}) => new Promise((resolve, reject) => session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))));
  setTimeout(async () => {
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
    await post('Profiler.start');
    setTimeout(async () => {
      const { profile } = await post('Profiler.stop');
      writeFileSync(join(dir, `vw-${process.argv.slice(2).join('-') || 'node'}-${process.pid}.cpuprofile`), JSON.stringify(profile));
    }, Number(process.env.VW_PROFILE_MS ?? 30_000)).unref();
  }, Number(process.env.VW_PROFILE_START_MS ?? 20_000)).unref();
}
