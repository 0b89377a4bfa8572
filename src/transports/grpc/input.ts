import { isFieldSet, type DescMessage, type MessageShape } from '@bufbuild/protobuf';

/**
 * A request message as the canonical input the domain validates (snake_case,
 * as REST v2): a field the client did not set is left out, so the domain's
 * declaration reports it as REST does (`required`). Input fields are declared
 * `optional` (explicit presence): an empty string is then sent and checked as
 * one (`too_short`), where a plain proto3 field could not tell it from absent.
 */
export function canonicalInput<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of schema.fields) {
    if (isFieldSet(message, field)) out[field.name] = (message as Record<string, unknown>)[field.localName];
  }
  return out;
}
