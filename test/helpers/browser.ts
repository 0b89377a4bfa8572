import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where Chromium usually is: STOA_CHROMIUM_PATH first, then Debian's and Google's paths. */
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'];

/**
 * The Chromium to drive, or why there is none. `STOA_CHROMIUM_PATH` must point
 * at an existing file when set. Without a browser a local run skips with the
 * reason; under CI (CI=true) the caller fails instead.
 */
export function findChromium(): { path: string } | { missing: string } {
  const configured = process.env.STOA_CHROMIUM_PATH;
  if (configured) return existsSync(configured) ? { path: configured } : { missing: `STOA_CHROMIUM_PATH=${configured} does not exist` };
  const found = CANDIDATES.find((p) => existsSync(p));
  return found ? { path: found } : { missing: `no Chromium found (looked at ${CANDIDATES.join(', ')}); install Debian's chromium or set STOA_CHROMIUM_PATH` };
}

/** Flags that keep Chromium quiet on a machine without outside network. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** The folder a test writes its screenshots to: STOA_TEST_OUTPUT, else test-results/<name>. */
export function outputDir(name: string): string {
  const dir = process.env.STOA_TEST_OUTPUT ? `${process.env.STOA_TEST_OUTPUT}/${name}` : fileURLToPath(new URL(`../../test-results/${name}/`, import.meta.url));
  mkdirSync(dir, { recursive: true });
  return dir;
}
