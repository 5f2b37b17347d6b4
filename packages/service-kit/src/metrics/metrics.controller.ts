import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { ServiceMetrics } from '@switchyard/telemetry';
import type { Response } from 'express';

/** `GET /metrics` for Prometheus: operational, so kept out of the OpenAPI document. */
@ApiExcludeController()
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
