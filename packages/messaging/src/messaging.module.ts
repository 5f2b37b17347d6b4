import { type ConfigurableModuleAsyncOptions, ConfigurableModuleBuilder, Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TransportConnector } from '@switchyard/service-kit';
import { EventTransportConnector } from './event-transport-connector.js';
import { MESSAGING_OPTIONS, type MessagingModuleOptions } from './messaging-options.js';
import { MessagingRuntime } from './messaging-runtime.js';

const { ConfigurableModuleClass } = new ConfigurableModuleBuilder<MessagingModuleOptions>({
  optionsInjectionToken: MESSAGING_OPTIONS,
})
  .setClassMethodName('forRoot')
  .build();

/** What `MessagingModule.forRootAsync` takes: `{ imports?, inject, useFactory }` returning `MessagingModuleOptions`. */
export type MessagingModuleAsyncOptions = ConfigurableModuleAsyncOptions<MessagingModuleOptions>;

/**
 * A service's messaging in one call (golevelup's nestjs-rabbitmq builds its module the same way):
 *
 * ```ts
 * MessagingModule.forRootAsync({
 *   inject: [PrismaClient],
 *   useFactory: (prisma: PrismaClient) => ({
 *     service: 'order-service',
 *     config, // the service's environment, composed with `messagingConfigShape`
 *     consumer: { queue: 'order-service.user-events', transaction: (work) => prisma.$transaction(work) },
 *   }),
 * })
 * ```
 *
 * It holds the outbox relay, the publisher and both broker connections (`MessagingRuntime`), and provides
 * service-kit's `TransportConnector`, through which `createServiceApp` connects the event consumer. Global, so
 * handlers and the transport can reach them.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    MessagingRuntime,
    EventTransportConnector,
    { provide: TransportConnector, useExisting: EventTransportConnector },
  ],
  exports: [MessagingRuntime, TransportConnector],
})
export class MessagingModule extends ConfigurableModuleClass {}
