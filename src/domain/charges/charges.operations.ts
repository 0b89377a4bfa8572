import { defineOperation } from '../shared/operation.ts';

/** Creates a charge (`ChargesService.create`): money moves at the processor, so one key must mean one charge on every transport. */
export const CREATE_CHARGE = defineOperation({ name: 'charges.create', idempotencyKey: 'required' });
