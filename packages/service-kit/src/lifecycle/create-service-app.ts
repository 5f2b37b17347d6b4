import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { httpRequestMetrics, ServiceMetrics } from '@switchyard/telemetry';
import { Logger } from 'nestjs-pino';
import type { NextFunction, Request, Response } from 'express';
import { answerClientErrorsWithJson } from '../http/client-error-response.js';
import { HttpErrorFilter } from '../http/http-error.filter.js';
import { LifecycleState } from './lifecycle-state.js';
import { connectTransports } from './transport-connector.js';

export interface ServiceAppOptions {
  /** Service name, used as the OpenAPI title. */
  name: string;
  /** One sentence for the OpenAPI document. */
  description: string;
  version: string;
  /** Largest JSON body accepted, in bytes (413 above). */
  bodyLimitBytes: number;
  /** `API_DOCS_ENABLED`: serve the OpenAPI UI and documents at `/docs` (default true); false answers 404 there. */
  apiDocs?: boolean;
}

/**
 * Builds a service's Nest application the same way in production and in tests: JSON errors,
 * body limit, pino logger, OpenAPI at `/docs` (unless `apiDocs` is false), request durations when the app imports `MetricsModule`, and the transports
 * its modules provide a `TransportConnector` for (messaging's event consumer) connected. Listening (`app.init()` +
 * `app.startAllMicroservices()`, or `runService`) and signal handling are left to the caller.
 */
export async function createServiceApp(
  module: Type | DynamicModule,
  options: ServiceAppOptions,
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(module, { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  // First middleware, so rejected bodies (413, malformed JSON) are timed too.
  const metrics = optionalServiceMetrics(app);
  if (metrics) app.use(httpRequestMetrics(metrics.registry));
  app.useBodyParser('json', { limit: options.bodyLimitBytes });
  app.useGlobalFilters(new HttpErrorFilter());
  answerClientErrorsWithJson(app.getHttpServer());
  app.disable('x-powered-by');
  // Once shutdown has begun, tell keep-alive clients not to reuse their connection: the next request on it
  // could race the listener closing and be reset.
  const lifecycle = app.get(LifecycleState);
  app.use((_req: Request, res: Response, next: NextFunction) => {
    if (lifecycle.isShuttingDown) res.setHeader('Connection', 'close');
    next();
  });
  app.set('query parser', 'simple');

  if (options.apiDocs ?? true) serveApiDocs(app, options);
  connectTransports(app);
  return app;
}

/** OpenAPI UI at `/docs`, the document at `/docs/openapi.{json,yaml}`. */
function serveApiDocs(app: INestApplication, options: ServiceAppOptions): void {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(options.name)
      .setDescription(options.description)
      .setVersion(options.version)
      // Every operation needs a token unless it is a `@PublicRoute()` (which overrides this with `security: [{}]`).
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'bearer')
      .addSecurityRequirements('bearer')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs/openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
  });
}

/** The app's metrics when its module imports `MetricsModule`; apps without it simply are not measured. */
function optionalServiceMetrics(app: INestApplication): ServiceMetrics | undefined {
  try {
    return app.get(ServiceMetrics, { strict: false });
  } catch {
    return undefined;
  }
}
