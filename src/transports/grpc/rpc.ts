import type { DescFile, DescService } from '@bufbuild/protobuf';
import type { ConnectRouter, Interceptor } from '@connectrpc/connect';
import type { Logger } from 'pino';
import type { Container } from '../../container.ts';
import { file_google_rpc_error_details } from './gen/google/rpc/error_details_pb.ts';
import { file_grpc_health_v1_health, Health } from './gen/grpc/health/v1/health_pb.ts';
import { file_grpc_reflection_v1_reflection, ServerReflection } from './gen/grpc/reflection/v1/reflection_pb.ts';
import { file_grpc_reflection_v1alpha_reflection, ServerReflection as ServerReflectionAlpha } from './gen/grpc/reflection/v1alpha/reflection_pb.ts';
import { ChatService, file_stoa_v1_chat } from './gen/stoa/v1/chat_pb.ts';
import { file_stoa_v1_orders, OrderService } from './gen/stoa/v1/orders_pb.ts';
import { file_stoa_v1_users, UserService } from './gen/stoa/v1/users_pb.ts';
import { stoaInterceptor, type MethodPolicy } from './interceptors.ts';
import { grpcMetrics } from './metrics.ts';
import { chatService } from './services/chat.ts';
import { healthService } from './services/health.ts';
import { orderService } from './services/orders.ts';
import { reflectionServices } from './services/reflection.ts';
import { userService } from './services/users.ts';

/** Stoa's own services: what health reports on by name and reflection lists. */
export const STOA_SERVICES: readonly DescService[] = [UserService, OrderService, ChatService];
const TOOLING: readonly DescService[] = [Health, ServerReflection, ServerReflectionAlpha];
// error_details.proto too: a reflecting client can then decode the details of every status.
const FILES: readonly DescFile[] = [file_google_rpc_error_details, file_stoa_v1_users, file_stoa_v1_orders, file_stoa_v1_chat, file_grpc_health_v1_health, file_grpc_reflection_v1_reflection, file_grpc_reflection_v1alpha_reflection];

const TOOL: MethodPolicy = { auth: 'none', unlimited: true };
const PAGED: MethodPolicy = { auth: 'required', fields: { limit: 'page_size', cursor: 'page_token' } };

/** Per method: its caller requirement and rate-limit class (not listed: a caller required, a read). */
const POLICIES: Record<string, MethodPolicy> = {
  'stoa.v1.UserService/CreateUser': { auth: 'none', write: true },
  'stoa.v1.UserService/DeleteUser': { auth: 'required', write: true },
  'stoa.v1.UserService/UploadAvatar': { auth: 'required', write: true },
  'stoa.v1.UserService/ListUsers': PAGED,
  'stoa.v1.OrderService/ListOrders': PAGED,
  'stoa.v1.ChatService/Chat': { auth: 'required', fields: { channel: 'room' } },
  'grpc.health.v1.Health/Check': TOOL,
  'grpc.health.v1.Health/Watch': TOOL,
  'grpc.reflection.v1.ServerReflection/ServerReflectionInfo': TOOL,
  'grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo': TOOL,
};

/** The gRPC services of one process: implementations and interceptors shared by the gRPC port and /rpc, and the shutdown of their streams. */
export interface Rpc {
  /** Each service with its one implementation (Connect's shape; the gRPC port serves it through grpc-js). */
  services: ReadonlyArray<{ service: DescService; impl: object }>;
  routes(router: ConnectRouter): void;
  interceptors: Interceptor[];
  /** Ends every open server stream with UNAVAILABLE. */
  shutdownStreams(): void;
}

export function createRpc(container: Container, logger: Logger): Rpc {
  const shutdown = new AbortController();
  const names = STOA_SERVICES.map((s) => s.typeName);
  const reflection = reflectionServices(FILES, [...names, ...TOOLING.map((s) => s.typeName)]);
  const services = [
    { service: UserService, impl: userService(container) },
    { service: OrderService, impl: orderService(container) },
    { service: ChatService, impl: chatService(container) },
    { service: Health, impl: healthService(container.readiness, [...names, Health.typeName]) },
    { service: ServerReflection, impl: reflection.v1 },
    { service: ServerReflectionAlpha, impl: reflection.v1alpha },
  ];
  return {
    services,
    routes(router) {
      for (const { service, impl } of services) router.service(service, impl as never);
    },
    interceptors: [
      stoaInterceptor({
        authenticator: container.authenticator,
        rateLimiting: container.rateLimiting,
        clock: container.clock,
        logger,
        metrics: grpcMetrics(container.metrics),
        policies: POLICIES,
        shutdown: shutdown.signal,
        statementDeadline: container.statementDeadline,
        maxDeadlineMs: container.config.grpc.maxDeadlineMs,
      }),
    ],
    shutdownStreams: () => shutdown.abort(),
  };
}
