/**
 * Headless Chromium for tests: Debian's `chromium` (installed by scripts/setup.mjs), driven by
 * playwright-core. Nothing downloads a browser. Background networking is switched off, or
 * Chromium keeps calling home on a network that cannot answer.
 */
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.WFMESH_CHROMIUM ?? '/usr/bin/chromium';

/** Why no browser can run here, or undefined when one can. */
export function chromiumMissing(): string | undefined {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
    return undefined;
  } catch {
    return `no Chromium at ${CHROMIUM_PATH}: run \`node scripts/setup.mjs\` as root on Debian (apt-get install chromium), or set WFMESH_CHROMIUM`;
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}
