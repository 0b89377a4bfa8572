import { Counter, Histogram, type Registry } from 'prom-client';

export interface GrpcMetrics {
  started: Counter<'grpc_type' | 'grpc_service' | 'grpc_method'>;
  handled: Counter<'grpc_type' | 'grpc_service' | 'grpc_method' | 'grpc_code'>;
  seconds: Histogram<'grpc_type' | 'grpc_service' | 'grpc_method'>;
}

const byRegistry = new WeakMap<Registry, GrpcMetrics>();

/**
 * Calls per method and status, and their latency (the names of
 * go-grpc-prometheus), in the container's registry: the same `/metrics` as
 * REST. One set per registry, shared by the gRPC port and `/rpc`.
 */
export function grpcMetrics(registry: Registry): GrpcMetrics {
  let metrics = byRegistry.get(registry);
  if (!metrics) {
    const labelNames = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
    metrics = {
      started: new Counter({ name: 'grpc_server_started_total', help: 'RPCs started on the server', labelNames, registers: [registry] }),
      handled: new Counter({ name: 'grpc_server_handled_total', help: 'RPCs completed on the server, by status code', labelNames: [...labelNames, 'grpc_code'], registers: [registry] }),
      seconds: new Histogram({
        name: 'grpc_server_handling_seconds',
        help: 'RPC latency until the server finished the call (streams: until they ended)',
        labelNames,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30, 300],
        registers: [registry],
      }),
    };
    byRegistry.set(registry, metrics);
  }
  return metrics;
}
