/** Writes the schema's SDL to docs/schema.graphql (the committed copy the breaking-change test compares against). */
import { writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { buildStoaSchema } from '../src/transports/graphql/schema/index.ts';

const target = new URL('../docs/schema.graphql', import.meta.url);
writeFileSync(target, printSchema(buildStoaSchema()) + '\n');
console.log(`wrote ${target.pathname}`);
