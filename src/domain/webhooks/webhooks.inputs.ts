import { Type, type Static } from 'typebox';
import { DOCUMENTED, defineInput } from '../shared/validation.ts';
import { WEBHOOK_DESCRIPTION_MAX, WEBHOOK_ENDPOINT_STATUSES, WEBHOOK_EVENT_TYPES_MAX, WEBHOOK_URL_MAX } from './webhooks.types.ts';

const HOST_NAME = '([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\\.)*[A-Za-z]([A-Za-z0-9-]*[A-Za-z0-9])?';
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const IPV4 = `(${OCTET}\\.){3}${OCTET}`;
const Url = Type.String({
  minLength: 1,
  maxLength: WEBHOOK_URL_MAX,
  description: 'http or https; checked against private, loopback and other non-public addresses.',
  // A host name whose last label starts with a letter (the URL parser reads a numeric one as an IPv4 address), or an IPv4 address.
  [DOCUMENTED]: { pattern: `^[Hh][Tt][Tt][Pp][Ss]?://(${HOST_NAME}|${IPV4})(:[0-9]{1,4})?([/?#][^\\u0000 ]*)?$` },
});
const EventTypes = Type.Array(
  Type.String({ minLength: 1, maxLength: 100, pattern: '^(\\*|[a-z_]+\\.(\\*|[a-z_]+))$' }),
  { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES_MAX, uniqueItems: true, description: 'Event types (`charge.succeeded`), families (`order.*`) or `*`.' },
);
const Description = Type.String({ maxLength: WEBHOOK_DESCRIPTION_MAX });

export const NewWebhookEndpointInput = defineInput(
  Type.Object(
    { url: Url, event_types: EventTypes, description: Type.Optional(Description) },
    { additionalProperties: false, examples: [{ url: 'https://example.com/hooks/stoa', event_types: ['order.*', 'charge.succeeded'], description: 'fulfilment' }] },
  ),
);
export type NewWebhookEndpoint = Static<typeof NewWebhookEndpointInput.schema>;

export const WebhookEndpointPatchInput = defineInput(
  Type.Object(
    {
      url: Type.Optional(Url),
      event_types: Type.Optional(EventTypes),
      description: Type.Optional(Type.Union([Description, Type.Null()])),
      status: Type.Optional(Type.String({ enum: [...WEBHOOK_ENDPOINT_STATUSES] })),
    },
    { additionalProperties: false, minProperties: 1, examples: [{ status: 'enabled' }] },
  ),
);
export type WebhookEndpointPatch = Static<typeof WebhookEndpointPatchInput.schema>;

export const ROTATE_OVERLAP_DEFAULT_SECONDS = 86_400;
export const ROTATE_OVERLAP_MAX_SECONDS = 7 * 86_400;

export const RotateWebhookSecretInput = defineInput(
  Type.Object(
    {
      expire_previous_after_seconds: Type.Optional(
        Type.Integer({ minimum: 0, maximum: ROTATE_OVERLAP_MAX_SECONDS, description: 'How long the previous secret keeps signing (default 86400; 0 retires it at once).' }),
      ),
    },
    { additionalProperties: false, examples: [{ expire_previous_after_seconds: 86400 }] },
  ),
);
export type RotateWebhookSecret = Static<typeof RotateWebhookSecretInput.schema>;
