import type { Driver } from './driver.ts';
import { graphqlDriver } from './graphql.ts';
import { grpcDriver } from './grpc.ts';
import { restDriver } from './rest.ts';
import { sseDriver } from './sse.ts';
import { webSocketDriver } from './websocket.ts';

export type { Actor, CallOptions, Driver, FieldError, Outcome } from './driver.ts';

/**
 * Every transport the contract runs over. SSE and WebSocket carry only the
 * event feed: they express `events.read`, make their cases' writes over
 * REST, and skip every other table.
 */
export const DRIVERS: Driver[] = [restDriver(), graphqlDriver(), grpcDriver(), sseDriver(), webSocketDriver()];
