import type { Driver } from './driver.ts';
import { graphqlDriver } from './graphql.ts';
import { grpcDriver } from './grpc.ts';
import { restDriver } from './rest.ts';

export type { Actor, CallOptions, Driver, FieldError, Outcome } from './driver.ts';

/** Every transport the contract runs over. GraphQL and gRPC add theirs here. */
export const DRIVERS: Driver[] = [restDriver(), graphqlDriver(), grpcDriver()];
