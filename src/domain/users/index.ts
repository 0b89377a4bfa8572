export { UsersService, type UsersServiceDeps, type UpdateOptions, type UserListFilter } from './users.service.ts';
export type { CredentialRevoker, PasswordHasher, UserRecord, UserRepository, InsertUser, UpdateUser } from './users.port.ts';
export * from './users.types.ts';
export { PatchUserInput, ReplaceUserInput, SignUpInput, type SignUp, type UserUpdate } from './users.inputs.ts';
