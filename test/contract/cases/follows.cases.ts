import { ref, type Table } from '../case.ts';

export const FOLLOWS: Table = {
  area: 'follows',
  cases: [
    {
      name: 'refuses following yourself',
      actor: 'ada',
      operation: 'follows.create',
      input: { user_id: ref('ada.id') },
      expect: { error: 'VALIDATION_FAILED', fields: [{ field: 'user_id', code: 'cannot_follow_self' }] },
    },
    { name: 'follows another user', actor: 'newcomer', operation: 'follows.create', input: { user_id: ref('bob.id') }, expect: { ok: true } },
    {
      name: 'following again is no error',
      actor: 'newcomer',
      operation: 'follows.create',
      given: [{ actor: 'newcomer', operation: 'follows.create', input: { user_id: ref('bob.id') } }],
      input: { user_id: ref('bob.id') },
      expect: { ok: true },
    },
    { name: 'answers NOT_FOUND for following an unknown user', actor: 'ada', operation: 'follows.create', input: { user_id: 'usr_00000000000000000000000000' }, expect: { error: 'NOT_FOUND' } },
    { name: 'needs a caller to follow', actor: 'anonymous', operation: 'follows.create', input: { user_id: ref('bob.id') }, expect: { error: 'UNAUTHENTICATED' } },
    { name: 'needs users:write for an API key to follow', actor: 'adaReadOnlyKey', operation: 'follows.create', input: { user_id: ref('bob.id') }, expect: { error: 'INSUFFICIENT_SCOPE', details: { required_scope: 'users:write' } } },
    {
      name: 'unfollows, also someone not followed',
      actor: 'newcomer',
      operation: 'follows.delete',
      given: [
        { actor: 'newcomer', operation: 'follows.create', input: { user_id: ref('bob.id') } },
        { actor: 'newcomer', operation: 'follows.delete', input: { user_id: ref('bob.id') } },
      ],
      input: { user_id: ref('bob.id') },
      expect: { ok: true },
    },
  ],
};
