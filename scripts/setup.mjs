#!/usr/bin/env node
// Brings a clone to a runnable state, doing only what is missing:
//   1. node_modules (npm ci, or npm install when there is no lock file),
//   2. the TypeScript build in dist/ (when any source is newer than it),
//   3. nats-server: NATS_SERVER_BIN, then PATH, then `apt-get install -y nats-server` as root on
//      Debian/Ubuntu; otherwise it says how to install it and exits 1.
//   4. Chromium, for the dashboard's browser test: WFMESH_CHROMIUM, then /usr/bin/chromium, then
//      `apt-get install -y chromium` as root on Debian/Ubuntu; otherwise a warning (that one test
//      then skips, saying why). Never a browser download. `--no-chromium` skips this step.
// Uses only Node's own modules, so it runs before anything is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, accessSync, constants } from 'node:fs';
import { join, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const quiet = process.argv.includes('--quiet');
const skipNats = process.argv.includes('--no-nats');
const skipChromium = process.argv.includes('--no-chromium');
const say = (msg) => { if (!quiet) process.stderr.write(`[setup] ${msg}\n`); };
const fail = (msg) => { process.stderr.write(`[setup] ${msg}\n`); process.exit(1); };

function run(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit', ...opts });
  if (res.error) fail(`${cmd} ${args.join(' ')} could not start: ${res.error.message}`);
  return res.status ?? 1;
}

function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

// 1. Dependencies.
const lock = join(root, 'package-lock.json');
const installedMarker = join(root, 'node_modules', '.package-lock.json');
const depsStale = !existsSync(installedMarker)
  || statSync(join(root, 'package.json')).mtimeMs > statSync(installedMarker).mtimeMs
  || (existsSync(lock) && statSync(lock).mtimeMs > statSync(installedMarker).mtimeMs);
if (depsStale) {
  say('installing node modules');
  if (run('npm', existsSync(lock) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund']) !== 0) {
    fail('npm could not install the dependencies (see above).');
  }
}

// 2. Build.
const builtEntry = join(root, 'dist', 'cli', 'main.js');
const builtAt = existsSync(builtEntry) ? statSync(builtEntry).mtimeMs : 0;
const sourceAt = Math.max(newestMtime(join(root, 'src')), statSync(join(root, 'tsconfig.json')).mtimeMs,
  statSync(join(root, 'tsconfig.build.json')).mtimeMs);
if (sourceAt > builtAt) {
  say('building (tsc)');
  if (run('npm', ['run', '-s', 'build']) !== 0) fail('the TypeScript build failed (see above).');
}

// 3. nats-server.
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try { accessSync(p, constants.X_OK); return p; } catch { /* keep looking */ }
  }
  return undefined;
}

if (!skipNats) {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) {
    if (!existsSync(fromEnv)) fail(`NATS_SERVER_BIN=${fromEnv} does not exist.`);
  } else if (!onPath('nats-server')) {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (isRoot && onPath('apt-get')) {
      say('nats-server not found: installing it with apt-get');
      run('apt-get', ['update', '-qq'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      const status = run('apt-get', ['install', '-y', '-qq', 'nats-server'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      if (status !== 0 || !onPath('nats-server')) fail('apt-get could not install nats-server (see above).');
    } else {
      fail([
        'nats-server is required and was not found on PATH.',
        '  Debian/Ubuntu:  sudo apt-get install -y nats-server',
        '  macOS:          brew install nats-server',
        '  Anywhere else:  https://docs.nats.io/running-a-nats-service/introduction/installation',
        'or point NATS_SERVER_BIN at a nats-server binary.',
      ].join('\n'));
    }
  }
}
// 4. Chromium (Debian's package; the dashboard test drives it with playwright-core).
if (!skipChromium) {
  const chromium = process.env.WFMESH_CHROMIUM ?? '/usr/bin/chromium';
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!existsSync(chromium)) {
    if (!process.env.WFMESH_CHROMIUM && isRoot && onPath('apt-get')) {
      say('chromium not found: installing it with apt-get (for the dashboard test)');
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      run('apt-get', ['update', '-qq'], { env });
      const status = run('apt-get', ['install', '-y', '-qq', 'chromium'], { env });
      if (status !== 0 || !existsSync(chromium)) say('warning: apt-get could not install chromium; the dashboard browser test will skip');
    } else {
      say(`note: no Chromium at ${chromium} (install Debian's \`chromium\`, or set WFMESH_CHROMIUM); the dashboard browser test will skip`);
    }
  }
}

say('ready');
