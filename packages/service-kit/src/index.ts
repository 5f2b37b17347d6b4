export { baseConfigShape, ConfigError, loadConfig, metricsPortSetting, portSetting } from './config/load-config.js';
export { ApiErrorResponses, ApiJsonResponse } from './http/api-json-response.js';
export { errorBody, errorBodySchema } from './http/error-body.js';
export type { ErrorBody, FieldProblem } from './http/error-body.js';
export { HttpErrorFilter } from './http/http-error.filter.js';
export { PUBLIC_ROUTE, PublicRoute } from './http/public-route.js';
export { openApiSchema } from './http/openapi-schema.js';
export { RetryLaterException } from './http/retry-later.exception.js';
export { fieldProblems, ZodValidationPipe } from './http/zod-validation.pipe.js';
export { HealthChecks } from './health/health-checks.js';
export type { DependencyCheck } from './health/health-checks.js';
export { HealthModule } from './health/health.module.js';
export type { HealthModuleOptions } from './health/health-detail-access.js';
export type { HealthResult } from './health/health-result.schema.js';
export { createServiceApp } from './lifecycle/create-service-app.js';
export type { ServiceAppOptions } from './lifecycle/create-service-app.js';
export { LifecycleState } from './lifecycle/lifecycle-state.js';
export { runService } from './lifecycle/run-service.js';
export type { RunServiceOptions } from './lifecycle/run-service.js';
export { startMain } from './lifecycle/start-main.js';
export { TransportConnector } from './lifecycle/transport-connector.js';
export {
  DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_DELAY_MS,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  postgresConnectionOptions,
  postgresTimeoutsOf,
} from './database/postgres-connection-options.js';
export type {
  PostgresConnectionOptions,
  PostgresTimeouts,
  PostgresTimeoutsConfig,
} from './database/postgres-connection-options.js';
export { registerDatabaseChecks } from './health/database-checks.js';
export type { DatabaseChecksOptions } from './health/database-checks.js';
export { uuidParam } from './http/id-param.js';
export {
  DEFAULT_PAGE_SIZE,
  encodeCursor,
  MAX_PAGE_SIZE,
  pageSchema,
  paginationQueryShape,
  toPage,
} from './http/pagination.js';
export type { Page } from './http/pagination.js';
export { MetricsModule } from './metrics/metrics.module.js';
export { MetricsServer } from './metrics/metrics-server.js';
export type { MetricsModuleOptions } from './metrics/metrics.module.js';
