import { Type, type Static } from 'typebox';
import { API_VERSIONS } from '../shared/api-versions.ts';
import { SCOPES } from '../shared/principal.ts';
import { defineInput, NonBlankString } from '../shared/validation.ts';
import { API_KEY_NAME_MAX } from './api-keys.types.ts';

const Name = NonBlankString({ minLength: 1, maxLength: API_KEY_NAME_MAX });

/** A new API key. The name must not be blank and `expires_at` must be in the future. */
export const NewApiKeyInput = defineInput(
  Type.Object(
    {
      name: Name,
      scopes: Type.Array(Type.String({ enum: [...SCOPES] }), { minItems: 1, uniqueItems: true }),
      expires_at: Type.Optional(Type.String({ format: 'date-time' })),
      api_version: Type.Optional(Type.String({ enum: [...API_VERSIONS], description: 'Pins the key to an API version.' })),
    },
    { additionalProperties: false, examples: [{ name: 'billing backend', scopes: ['orders:read', 'charges:write'], expires_at: '2027-06-30T00:00:00Z' }] },
  ),
);
export type NewApiKey = Static<typeof NewApiKeyInput.schema>;

/** A new name, or a pinned API version (`null` unpins). */
export const ApiKeyPatchInput = defineInput(
  Type.Object(
    {
      name: Type.Optional(Name),
      api_version: Type.Optional(Type.Union([Type.String({ enum: [...API_VERSIONS] }), Type.Null()])),
    },
    { additionalProperties: false, minProperties: 1, examples: [{ api_version: '1' }] },
  ),
);
export type ApiKeyPatch = Static<typeof ApiKeyPatchInput.schema>;
