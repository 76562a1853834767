// `node --import tsx --import ./bench/use-dist.mjs bench/main.ts`: the bench's own files run
// through tsx, but what they import from src/ is loaded from the build (dist/), as a deployed node
// runs it. tsx compiles with esbuild's keepNames, which wraps every function created in a
// `__name()` call: on the step path that was ~5 µs per call of the caller's CPU that no real
// node pays. `npm run bench` builds first (setup), so dist/ is current.
import { register } from 'node:module';

register('./use-dist-hooks.mjs', import.meta.url);
