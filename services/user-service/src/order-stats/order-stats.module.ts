import { Module } from '@nestjs/common';
import { OrderEventsController } from './order-events.controller.js';
import { OrderStatsService } from './order-stats.service.js';

@Module({ controllers: [OrderEventsController], providers: [OrderStatsService], exports: [OrderStatsService] })
export class OrderStatsModule {}
