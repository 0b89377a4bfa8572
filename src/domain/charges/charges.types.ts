import { MONEY_MAX } from '../shared/money.ts';
import type { SortFields, SortTerm } from '../shared/page.ts';

export const CHARGE_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type ChargeStatus = (typeof CHARGE_STATUSES)[number];

export interface Charge {
  id: string;
  userId: string;
  orderId: string | null;
  /** Minor units of `currency`. */
  amount: number;
  currency: string;
  /** The card token the processor charges (`tok_visa`, `tok_declined`, …). */
  source: string;
  description: string | null;
  status: ChargeStatus;
  failureCode: string | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface ChargeFilter {
  userId?: string | undefined;
  statuses?: readonly string[] | undefined;
  orderId?: string | undefined;
}

/** The processor's verdict on a charge, as its signed webhook reports it. */
export interface ChargeOutcome {
  /** The webhook-id: each is processed once. */
  webhookId: string;
  type: string;
  chargeId: string;
  status: 'succeeded' | 'failed';
  failureCode: string | null;
  /** The raw body, kept as received. */
  raw: string;
}

export const AMOUNT_MAX = MONEY_MAX;
export const SOURCE_MAX_LENGTH = 64;
export const DESCRIPTION_MAX_LENGTH = 500;

export const CHARGE_SORTS: SortFields<Charge> = {
  created_at: (c) => c.createdAt,
  amount: (c) => c.amount,
};
export const CHARGE_DEFAULT_SORT: readonly SortTerm[] = [{ field: 'created_at', descending: true }];

/** A charge in the API's field names: what every transport and event shows (REST adds links). */
export function presentCharge(charge: Charge) {
  return {
    id: charge.id,
    user_id: charge.userId,
    order_id: charge.orderId,
    amount: charge.amount,
    currency: charge.currency,
    source: charge.source,
    description: charge.description,
    status: charge.status,
    failure_code: charge.failureCode,
    created_at: charge.createdAt.toISOString(),
    updated_at: charge.updatedAt.toISOString(),
  };
}
