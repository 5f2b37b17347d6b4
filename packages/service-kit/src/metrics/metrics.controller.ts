import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ServiceMetrics } from '@switchyard/telemetry';
import type { Response } from 'express';
import { PublicRoute } from '../http/public-route.js';

/** `GET /metrics` for Prometheus: operational, so kept out of the OpenAPI document. */
@ApiExcludeController()
// Prometheus scrapes without a token; who may reach it is the network's business (see the NetworkPolicy).
@PublicRoute()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: ServiceMetrics) {}

  @Get()
  async scrape(@Res({ passthrough: true }) res: Response): Promise<string> {
    const { contentType, body } = await this.metrics.scrape();
    res.setHeader('Content-Type', contentType);
    return body;
  }
}
