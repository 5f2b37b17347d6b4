import { type DynamicModule, Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LifecycleState } from '../lifecycle/lifecycle-state.js';
import { HEALTH_MODULE_OPTIONS, type HealthModuleOptions } from './health-detail-access.js';
import { HealthChecks } from './health-checks.js';
import { HealthController } from './health.controller.js';

/** `/health/live`, `/health/ready`, `/health/startup`; global so any module can register its checks. */
@Global()
@Module({
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [HealthChecks, LifecycleState],
  exports: [HealthChecks, LifecycleState],
})
export class HealthModule {
  /** With options (the detail token); importing `HealthModule` alone shows statuses only, to everyone. */
  static forRoot(options: HealthModuleOptions): DynamicModule {
    return { module: HealthModule, providers: [{ provide: HEALTH_MODULE_OPTIONS, useValue: options }] };
  }
}
