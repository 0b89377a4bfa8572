export { ApiKeysService, API_KEY_NAME_MAX, SUPPORTED_API_VERSIONS, type ApiKeysServiceDeps } from './api-keys.service.ts';
export type { ApiKeyMinter, ApiKeyRepository, ApiKeyWithOwner, InsertApiKey } from './api-keys.port.ts';
export type * from './api-keys.types.ts';
export { API_KEY_DEFAULT_SORT, API_KEY_SORTS } from './api-keys.types.ts';
