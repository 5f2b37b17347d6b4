import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { SERVICE_CONFIG } from '../service-config.token.js';
import type { OrderServiceConfig } from '../config.js';

/** The order database, through Prisma's query compiler and the pg driver adapter (no engine binary). */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(@Inject(SERVICE_CONFIG) config: OrderServiceConfig) {
    // 'minimal' keeps call arguments (which can include a password hash) out of error messages, and so out of logs.
    super({ adapter: new PrismaPg({ connectionString: config.DATABASE_URL, max: config.DATABASE_POOL_MAX }), errorFormat: 'minimal' });
  }

  /** After the HTTP listener has drained (Nest closes it before shutdown hooks), so in-flight requests still have their database. */
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
