import { Type, type Static } from 'typebox';
import { PLANS, ROLES } from '../shared/principal.ts';
import { defineInput, NonBlankString } from '../shared/validation.ts';
import { EMAIL_MAX, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN, USER_STATUSES } from './users.types.ts';

const Email = Type.String({ format: 'email', maxLength: EMAIL_MAX, examples: ['ada@example.com'] });
const DisplayName = NonBlankString({ minLength: 1, maxLength: NAME_MAX, examples: ['Ada Lovelace'] });
const Password = Type.String({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX, examples: ['correct horse battery staple'] });
const Privileged = {
  role: Type.Optional(Type.String({ enum: [...ROLES], description: 'Admins only.' })),
  status: Type.Optional(Type.String({ enum: [...USER_STATUSES], description: 'Admins only.' })),
  plan: Type.Optional(Type.String({ enum: [...PLANS], description: 'Admins only.' })),
};

/** Sign-up. */
export const SignUpInput = defineInput(
  Type.Object(
    { email: Email, display_name: DisplayName, password: Password },
    { additionalProperties: false, examples: [{ email: 'ada@example.com', display_name: 'Ada Lovelace', password: 'correct horse battery staple' }] },
  ),
);
export type SignUp = Static<typeof SignUpInput.schema>;

/** A whole user record as its owner or an admin replaces it (PUT). */
export const ReplaceUserInput = defineInput(
  Type.Object(
    { email: Email, display_name: DisplayName, password: Type.Optional(Password), ...Privileged },
    { additionalProperties: false, examples: [{ email: 'ada@example.com', display_name: 'Ada King' }] },
  ),
);

/** Some fields of a user (PATCH, a merge patch). */
export const PatchUserInput = defineInput(
  Type.Object(
    { email: Type.Optional(Email), display_name: Type.Optional(DisplayName), password: Type.Optional(Password), ...Privileged },
    { additionalProperties: false, minProperties: 1, examples: [{ display_name: 'Ada King' }] },
  ),
);
/** A user's changes, whole or in part: every field optional. */
export type UserUpdate = Static<typeof PatchUserInput.schema>;
