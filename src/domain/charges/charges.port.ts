import type { Page, PageRequest } from '../shared/page.ts';
import type { Charge, ChargeFilter, ChargeStatus } from './charges.types.ts';

/** What charges need from storage. */
export interface ChargeRepository {
  insert(charge: Charge): Promise<Charge>;
  findById(id: string): Promise<Charge | undefined>;
  /** Reads the charge and locks its row until the transaction ends. */
  lockById(id: string): Promise<Charge | undefined>;
  /** Moves a pending charge to its outcome; undefined when it was no longer pending. */
  settle(id: string, status: Exclude<ChargeStatus, 'pending'>, failureCode: string | null, now: Date): Promise<Charge | undefined>;
  list(filter: ChargeFilter, page: PageRequest): Promise<Page<Charge>>;
  /** Pending charges last handed to the processor before `before` (or never), oldest first. */
  pendingSubmittedBefore(before: Date, limit: number): Promise<Charge[]>;
  markSubmitted(id: string, now: Date): Promise<void>;
}

/** The raw events the processor delivered, one per webhook-id. */
export interface ProcessorEventStore {
  /** Stores the event; false when that webhook-id was already stored (a redelivery). */
  recordOnce(event: { webhookId: string; type: string; chargeId: string | null; raw: string }, now: Date): Promise<boolean>;
}

/** Hands charges to the payment processor. The outcome comes back later, through the inbound webhook. */
export interface PaymentGateway {
  /** Submits the charge; resolves once the processor accepted it (or gave up — the charge stays pending and is submitted again later). */
  submit(charge: Charge): Promise<void>;
}

/** An inbound request's headers, names in lower case (as HTTP/1.1 and HTTP/2 servers hand them over). */
export type InboundHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** Checks that an inbound processor webhook really comes from the processor. */
export interface ProcessorWebhookVerifier {
  /** The delivery's id when the signature over the raw body holds; otherwise why it is refused (`missing_headers`, …). */
  verify(rawBody: string, headers: InboundHeaders): { webhookId: string } | { refused: string };
}
