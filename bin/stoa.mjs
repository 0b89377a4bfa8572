#!/usr/bin/env node
// Runs the bundle that `npm install` built (dist/stoa.mjs) while it is newer than every source file; otherwise
// runs the TypeScript sources directly through tsx, so an edited checkout never runs stale code.
import { readdirSync, statSync } from 'node:fs';

const bundle = new URL('../dist/stoa.mjs', import.meta.url);

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const child = new URL(entry.name + (entry.isDirectory() ? '/' : ''), dir);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(child) : statSync(child).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  try {
    return statSync(bundle).mtimeMs >= newestSource(new URL('../src/', import.meta.url));
  } catch {
    return false;
  }
}

if (process.env.STOA_RUN_SOURCES !== 'true' && bundleIsFresh()) {
  process.setSourceMapsEnabled(true);
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
