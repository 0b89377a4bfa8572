import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('the GraphQL transport imports no other transport', () => {
  it('npm run lint refuses an import of REST (or another transport) from src/transports/graphql', async () => {
    const eslint = new ESLint({ cwd: root });
    for (const line of ["import '../../rest/schemas/orders.ts';", "import '../../../transports/rest/problem.ts';", "import '../ws/channels.ws.ts';", "import '../../sse/events.sse.ts';"]) {
      const [result] = await eslint.lintText(`${line}\n`, { filePath: `${root}/src/transports/graphql/resolvers/layer-probe.ts` });
      assert.equal(result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').length, 1, line);
    }
    const [allowed] = await eslint.lintText("import '../../../platform/representations/index.ts';\n", { filePath: `${root}/src/transports/graphql/resolvers/layer-probe.ts` });
    assert.equal(allowed!.messages.filter((m) => m.ruleId === 'no-restricted-imports').length, 0);
  });

  it('no module under src/transports/graphql names another transport', () => {
    const dir = join(root, 'src/transports/graphql');
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length > 5);
    for (const file of files) assert.doesNotMatch(readFileSync(join(dir, file), 'utf8'), /from '[^']*\/(rest|ws|sse|grpc)\//, file);
  });
});
