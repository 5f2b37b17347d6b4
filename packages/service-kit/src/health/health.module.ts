import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LifecycleState } from '../lifecycle/lifecycle-state.js';
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
export class HealthModule {}
