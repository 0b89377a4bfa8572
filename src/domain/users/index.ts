export { UsersService, type UsersServiceDeps, type UpdateOptions, type UserListFilter } from './users.service.ts';
export { EmailVerificationService, VERIFICATION_TOKEN_TTL_MS, type EmailVerificationServiceDeps } from './email-verification.service.ts';
export type { CredentialRevoker, EmailVerification, EmailVerificationRepository, PasswordHasher, UserRecord, UserRepository, InsertUser, UpdateUser } from './users.port.ts';
export * from './users.types.ts';
export { PatchUserInput, ReplaceUserInput, SignUpInput, type SignUp, type UserUpdate } from './users.inputs.ts';
export { AvatarsService, AvatarUpload, sniffAvatarType, AVATAR_CHUNK_MAX_BYTES, AVATAR_MAX_BYTES, type Avatar, type AvatarRepository, type AvatarType } from './avatars.ts';
