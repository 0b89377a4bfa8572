export * from './orders.types.ts';
export * from './orders.port.ts';
export * from './orders.service.ts';
export * from './orders.operations.ts';
export * from './orders.inputs.ts';
