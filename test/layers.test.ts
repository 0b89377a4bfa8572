import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('..', import.meta.url));
const eslint = new ESLint({ cwd: root });

/** The rule ids ESLint reports for `code` placed at `file`. */
async function violations(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}/${file}` });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layers, as npm run lint enforces them', () => {
  const forbiddenInDomain = [
    "import 'fastify';",
    "import '@fastify/cors';",
    "import 'pg';",
    "import 'ioredis';",
    "import 'kysely';",
    "import 'graphql';",
    "import '@grpc/grpc-js';",
    "import 'ws';",
    "import '../../platform/auth/index.ts';",
    "import '../../infra/db/database.ts';",
    "import '../../transports/rest/problem.ts';",
  ];
  for (const line of forbiddenInDomain) {
    it(`refuses ${line} in src/domain`, async () => {
      assert.equal((await violations('src/domain/users/layer-probe.ts', `${line}\n`)).length, 1);
    });
  }

  for (const line of ["import 'fastify';", "import 'graphql';", "import '@grpc/grpc-js';", "import 'ws';", "import '../../transports/rest/problem.ts';"]) {
    it(`refuses ${line} in src/platform`, async () => {
      assert.equal((await violations('src/platform/auth/layer-probe.ts', `${line}\n`)).length, 1);
    });
  }

  it('allows the domain its own modules and the platform the domain', async () => {
    assert.deepEqual(await violations('src/domain/users/layer-probe.ts', "import '../shared/errors.ts';\nimport { randomBytes } from 'node:crypto';\nvoid randomBytes;\n"), []);
    assert.deepEqual(await violations('src/platform/auth/layer-probe.ts', "import '../../domain/shared/errors.ts';\n"), []);
    assert.deepEqual(await violations('src/transports/rest/layer-probe.ts', "import 'fastify';\nimport '../../platform/auth/index.ts';\n"), []);
  });
});
