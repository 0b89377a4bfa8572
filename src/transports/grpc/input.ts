import { isFieldSet, type DescMessage, type MessageShape } from '@bufbuild/protobuf';

/**
 * A request message as the canonical input the domain validates (snake_case,
 * as REST v2): proto3 cannot tell an empty string from an absent one, so an
 * unset scalar is left out, and the domain's declaration reports it the way
 * REST does (`required`).
 */
export function canonicalInput<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of schema.fields) {
    if (isFieldSet(message, field)) out[field.name] = (message as Record<string, unknown>)[field.localName];
  }
  return out;
}
