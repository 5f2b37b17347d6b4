import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { type EventData, OrderCancelledV1, OrderPlacedV1 } from '@switchyard/contracts';
import { type EventContext, ConsumeEvent } from '@switchyard/messaging';
import type { Prisma } from '../generated/prisma/client.js';
import { OrderStatsService } from './order-stats.service.js';

/** Order events keep the users' order statistics. Each runs in the inbox transaction (`ctx.tx`): one effect per event. */
@Controller()
export class OrderEventsController {
  constructor(private readonly stats: OrderStatsService) {}

  @ConsumeEvent(OrderPlacedV1)
  async onOrderPlaced(
    @Payload() event: EventData<typeof OrderPlacedV1>,
    @Ctx() ctx: EventContext<Prisma.TransactionClient>,
  ): Promise<void> {
    await this.stats.recordPlaced(ctx.tx, event);
  }

  @ConsumeEvent(OrderCancelledV1)
  async onOrderCancelled(
    @Payload() event: EventData<typeof OrderCancelledV1>,
    @Ctx() ctx: EventContext<Prisma.TransactionClient>,
  ): Promise<void> {
    await this.stats.recordCancelled(ctx.tx, event);
  }
}
