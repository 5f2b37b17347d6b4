import { Controller } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { type EventData, UserCreatedV2, UserDeletedV1, UserUpdatedV1 } from '@switchyard/contracts';
import { type EventContext, ConsumeEvent } from '@switchyard/messaging';
import type { Prisma } from '../generated/prisma/client.js';
import { CustomerProfilesService } from './customer-profiles.service.js';

/** User events keep the customer profiles. Each runs in the inbox transaction (`ctx.tx`): one effect per event. */
@Controller()
export class UserEventsController {
  constructor(private readonly profiles: CustomerProfilesService) {}

  /** Written against the latest version; v1 events arrive upcast with the documented defaults. */
  @ConsumeEvent(UserCreatedV2)
  async onUserCreated(
    @Payload() event: EventData<typeof UserCreatedV2>,
    @Ctx() ctx: EventContext<Prisma.TransactionClient>,
  ): Promise<void> {
    await this.profiles.applyUserCreated(ctx.tx, event);
  }

  @ConsumeEvent(UserUpdatedV1)
  async onUserUpdated(
    @Payload() event: EventData<typeof UserUpdatedV1>,
    @Ctx() ctx: EventContext<Prisma.TransactionClient>,
  ): Promise<void> {
    await this.profiles.applyUserUpdated(ctx.tx, event);
  }

  @ConsumeEvent(UserDeletedV1)
  async onUserDeleted(
    @Payload() event: EventData<typeof UserDeletedV1>,
    @Ctx() ctx: EventContext<Prisma.TransactionClient>,
  ): Promise<void> {
    await this.profiles.applyUserDeleted(ctx.tx, event, ctx.correlationId ?? ctx.eventId);
  }
}
