import {
  applyDecorators,
  Controller,
  Get,
  Headers,
  Inject,
  Optional,
  Res,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ApiJsonResponse } from '../http/api-json-response.js';
import { PublicRoute } from '../http/public-route.js';
import {
  HealthCheckService,
  type HealthCheckResult,
  HealthIndicatorService,
  type HealthIndicatorFunction,
} from '@nestjs/terminus';
import type { Response } from 'express';
import { LifecycleState } from '../lifecycle/lifecycle-state.js';
import {
  HEALTH_MODULE_OPTIONS,
  healthStatusesOnly,
  type HealthModuleOptions,
  mayReadHealthDetails,
} from './health-detail-access.js';
import { type DependencyCheck, HealthChecks } from './health-checks.js';
import { healthResultSchema } from './health-result.schema.js';

/** A probe that takes longer than this is down: kubelet's default probe timeout is 1 s, ours is set to 2 s in the charts. */
const CHECK_TIMEOUT_MS = 1_500;

/** Kubernetes probes: 200 when healthy, 503 with the failing parts named otherwise. */
/** Every probe answers with the same body, 200 or 503 (on each method: a class-level response loses to the method's default 200). */
const HealthResponses = () =>
  applyDecorators(
    ApiJsonResponse(
      200,
      'Healthy (statuses only, unless the request carries the health detail token)',
      healthResultSchema,
    ),
    ApiJsonResponse(503, 'Unhealthy: the failing indicators are under `error`', healthResultSchema),
  );

/** The caller's `Authorization` header: the health detail token unlocks messages and details. */
const Authorization = () => Headers('authorization');

@ApiTags('health')
// Probes come from the kubelet, which holds no token.
@PublicRoute()
@Controller('health')
export class HealthController {
  private startupPassed = false;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly checks: HealthChecks,
    private readonly lifecycle: LifecycleState,
    @Optional() @Inject(HEALTH_MODULE_OPTIONS) private readonly options: HealthModuleOptions = {},
  ) {}

  /**
   * The process is alive: its event loop answers and no registered liveness check finds it wedged (a hung outbox
   * relay). Deliberately independent of dependencies: restarting us would not fix them.
   */
  @Get('live')
  @HealthResponses()
  live(@Res({ passthrough: true }) res: Response, @Authorization() authorization?: string): Promise<HealthCheckResult> {
    return this.run(res, authorization, [
      () => this.indicators.check('process').up({ uptimeSeconds: Math.round(process.uptime()) }),
      ...this.indicatorsFor(this.checks.liveness),
    ]);
  }

  /** Ready for traffic: every registered dependency answers, and we are not shutting down. */
  @Get('ready')
  @HealthResponses()
  ready(
    @Res({ passthrough: true }) res: Response,
    @Authorization() authorization?: string,
  ): Promise<HealthCheckResult> {
    return this.run(res, authorization, [
      this.lifecycleIndicator(() => this.lifecycle.isShuttingDown, 'shutting down'),
      ...this.indicatorsFor(this.checks.readiness),
    ]);
  }

  /** Started: migrations applied and the application initialised. */
  @Get('startup')
  @HealthResponses()
  async startup(
    @Res({ passthrough: true }) res: Response,
    @Authorization() authorization?: string,
  ): Promise<HealthCheckResult> {
    const result = await this.run(res, authorization, [
      this.lifecycleIndicator(() => !this.lifecycle.isStarted, 'application still initialising'),
      ...(this.startupPassed ? [] : this.indicatorsFor(this.checks.startup)),
    ]);
    if (result.status === 'ok') this.startupPassed = true;
    return result;
  }

  private lifecycleIndicator(isDown: () => boolean, reason: string): HealthIndicatorFunction {
    return () =>
      isDown() ? this.indicators.check('lifecycle').down({ message: reason }) : this.indicators.check('lifecycle').up();
  }

  private indicatorsFor(checks: Map<string, DependencyCheck>): HealthIndicatorFunction[] {
    return [...checks].map(
      ([name, check]) =>
        () =>
          this.indicators.check(name).attempt(check).withTimeout(CHECK_TIMEOUT_MS),
    );
  }

  /**
   * Terminus throws 503 with the result as its body; we answer with that body instead of the generic error shape.
   * Only a caller with the detail token sees messages and details; everyone else gets the statuses.
   */
  private async run(
    res: Response,
    authorization: string | undefined,
    indicators: HealthIndicatorFunction[],
  ): Promise<HealthCheckResult> {
    const result = await this.check(res, indicators);
    return mayReadHealthDetails(authorization, this.options.detailToken) ? result : healthStatusesOnly(result);
  }

  private async check(res: Response, indicators: HealthIndicatorFunction[]): Promise<HealthCheckResult> {
    try {
      return await this.health.check(indicators);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      res.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
