export { ApiKeysService, type ApiKeysServiceDeps } from './api-keys.service.ts';
export { ApiKeyPatchInput, NewApiKeyInput, type ApiKeyPatch, type NewApiKey } from './api-keys.inputs.ts';
export type { ApiKeyMinter, ApiKeyRepository, ApiKeyWithOwner, InsertApiKey } from './api-keys.port.ts';
export type * from './api-keys.types.ts';
export { API_KEY_DEFAULT_SORT, API_KEY_NAME_MAX, API_KEY_SORTS } from './api-keys.types.ts';
