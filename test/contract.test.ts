import { after, before, describe, it } from 'node:test';
import { TABLES } from './contract/cases/index.ts';
import { DRIVERS } from './contract/drivers/index.ts';
import { runCase } from './contract/run.ts';
import { contractWorld, type ContractWorld } from './contract/world.ts';

/**
 * Rows marked `pendingUntilMerged` describe the unified field codes that
 * another branch brings; until it is merged they run as todos. Set this to
 * false (and drop the marks) once it is.
 */
const PENDING_AS_TODO = true;

for (const driver of DRIVERS) {
  describe(`the contract over ${driver.name}`, () => {
    let world: ContractWorld;
    before(async () => {
      world = await contractWorld();
      await driver.setup(world);
    });
    after(() => world.close());

    for (const table of TABLES) {
      describe(table.area, () => {
        for (const c of table.cases) {
          const todo = PENDING_AS_TODO && c.pendingUntilMerged ? 'pending until the unified field codes are merged' : undefined;
          it(`${c.actor} ${c.operation}: ${c.name}`, { todo }, () => runCase(driver, world, c));
        }
      });
    }
  });
}
