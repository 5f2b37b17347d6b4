import { Global, Inject, Module, type OnModuleInit } from '@nestjs/common';
import { HealthChecks, registerDatabaseChecks } from '@switchyard/service-kit';
import { fileURLToPath } from 'node:url';
import type { UserServiceConfig } from '../config.js';
import { SERVICE_CONFIG } from '../service-config.token.js';
import { PrismaService } from './prisma.service.js';

/** The service's schema; its migrations sit beside it (same relative place from `src/` and `dist/`). */
export const SCHEMA_PATH = fileURLToPath(new URL('../../prisma/schema.prisma', import.meta.url));

@Global()
@Module({ providers: [PrismaService], exports: [PrismaService] })
export class DatabaseModule implements OnModuleInit {
  constructor(
    private readonly prisma: PrismaService,
    private readonly checks: HealthChecks,
    @Inject(SERVICE_CONFIG) private readonly config: UserServiceConfig,
  ) {}

  onModuleInit(): void {
    registerDatabaseChecks(this.checks, {
      ping: () => this.prisma.$queryRaw`SELECT 1`,
      databaseUrl: this.config.DATABASE_URL,
      schemaPath: SCHEMA_PATH,
    });
  }
}
