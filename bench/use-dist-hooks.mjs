// Resolve hook for use-dist.mjs: a module under src/ resolves to its build under dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SRC = new URL('../src/', import.meta.url).href;
const DIST = new URL('../dist/', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (!resolved.url.startsWith(SRC) || !resolved.url.endsWith('.ts')) return resolved;
  const built = `${DIST}${resolved.url.slice(SRC.length, -'.ts'.length)}.js`;
  if (!existsSync(fileURLToPath(built))) throw new Error(`${built} is missing: run npm run build first`);
  return { url: built, format: 'module', shortCircuit: true };
}
