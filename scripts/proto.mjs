// The .proto contract (proto/stoa/v1): `generate` writes the TypeScript under
// src/transports/grpc/gen; `check` runs `buf lint`, `buf breaking` against the
// main branch, and fails when the committed generated code is not what the
// .proto files generate. Both use the buf binary the @bufbuild/buf npm package carries.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'node_modules', '.bin');
const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH}` };
const GEN = 'src/transports/grpc/gen';

function buf(...args) {
  try {
    execFileSync(path.join(bin, 'buf'), args, { cwd: root, env, stdio: 'inherit' });
  } catch {
    // buf has printed its findings; one line more says which step failed.
    console.error(`buf ${args[0]} failed`);
    process.exit(1);
  }
}
const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();

function files(dir, base = dir) {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full, base) : [path.relative(base, full)];
  });
}

function breaking() {
  let hasMain;
  try {
    hasMain = git('ls-tree', '-d', '--name-only', 'main', 'proto') !== '';
  } catch {
    console.log('buf breaking: no main branch here; skipped');
    return;
  }
  if (!hasMain) {
    console.log('buf breaking: main has no proto/ yet; nothing to compare with');
    return;
  }
  // In a worktree .git is a file; buf reads the repository itself.
  const gitDir = path.resolve(root, git('rev-parse', '--git-common-dir'));
  buf('breaking', '--against', `${gitDir}#branch=main`);
  console.log('buf breaking: no breaking change against main');
}

function fresh() {
  const out = mkdtempSync(path.join(tmpdir(), 'stoa-proto-'));
  try {
    buf('generate', '--output', out);
    const want = path.join(out, GEN);
    const have = path.join(root, GEN);
    const a = files(want).sort();
    const b = files(have).sort();
    const stale = [...new Set([...a, ...b])].filter((f) => !a.includes(f) || !b.includes(f) || readFileSync(path.join(want, f), 'utf8') !== readFileSync(path.join(have, f), 'utf8'));
    if (stale.length > 0) {
      console.error(`generated code is stale (run npm run proto:generate): ${stale.join(', ')}`);
      process.exit(1);
    }
    console.log('generated code is fresh');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const command = process.argv[2];
if (command === 'generate') buf('generate');
else if (command === 'check') {
  buf('lint');
  console.log('buf lint: clean');
  breaking();
  fresh();
} else {
  console.error('usage: node scripts/proto.mjs generate|check');
  process.exit(2);
}
