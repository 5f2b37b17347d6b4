import { type DynamicModule, Global, Injectable, Logger, Module, type OnApplicationBootstrap } from '@nestjs/common';
import type { UserServiceConfig } from '../config.js';
import { PrismaClient } from '../generated/prisma/client.js';

/**
 * The addresses `ADMIN_EMAILS` lists. Emails are not verified, so a listed address is an administrator's only once
 * its account exists: nobody may change their email to a listed address, and a start with a listed address that no
 * account holds warns (whoever signs up with it first becomes an administrator).
 */
export class AdminEmails {
  private readonly emails: ReadonlySet<string>;

  constructor(emails: readonly string[]) {
    this.emails = new Set(emails);
  }

  has(email: string): boolean {
    return this.emails.has(email);
  }

  list(): string[] {
    return [...this.emails];
  }
}

@Injectable()
class UnclaimedAdminEmailsWarning implements OnApplicationBootstrap {
  private readonly logger = new Logger('AdminEmails');

  constructor(
    private readonly admins: AdminEmails,
    private readonly prisma: PrismaClient,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const listed = this.admins.list();
    if (listed.length === 0) return;
    const claimed = await this.prisma.user
      .findMany({ where: { email: { in: listed } }, select: { email: true } })
      .catch(() => undefined); // no database yet: readiness reports that; this warning is best effort
    if (!claimed) return;
    const unclaimed = listed.filter((email) => !claimed.some((user) => user.email === email));
    if (unclaimed.length > 0) {
      this.logger.warn(
        `ADMIN_EMAILS lists ${unclaimed.length} address(es) no account has yet: whoever signs up with one first ` +
          'becomes an administrator. Sign the administrator up before listing the address.',
      );
    }
  }
}

/** Global: the users service refuses email changes to listed addresses; the credentials service grants the role. */
@Global()
@Module({})
export class AdminEmailsModule {
  static forRoot(config: Pick<UserServiceConfig, 'ADMIN_EMAILS'>): DynamicModule {
    return {
      module: AdminEmailsModule,
      providers: [
        { provide: AdminEmails, useValue: new AdminEmails(config.ADMIN_EMAILS) },
        UnclaimedAdminEmailsWarning,
      ],
      exports: [AdminEmails],
    };
  }
}
