export { createAccessTokens, generateSigningKey, ACCESS_TOKEN_CLOCK_SKEW_SECONDS, type AccessTokens, type SigningKeySource } from './access-tokens.ts';
export { apiKeyMinter, hashApiKey, isWellFormedApiKey } from './api-key-format.ts';
export { createAuthenticator, type Authenticator, type Credentials } from './authenticator.ts';
export { createScryptHasher } from './passwords.ts';
export { SessionsService, type RefreshTokenRepository, type RefreshTokenRecord, type TokenPair } from './sessions.service.ts';
