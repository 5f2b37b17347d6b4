import { Injectable } from '@nestjs/common';
import type { Principal, Role } from '@switchyard/auth';
import { PrismaClient } from '../generated/prisma/client.js';
import { PasswordHasher } from '../users/password-hasher.js';
import { AdminEmails } from './admin-emails.js';

/** Checks an email and password; says who they belong to, or nothing. */
@Injectable()
export class CredentialsService {
  /** Hash of a random password, made once with the same parameters as real ones. */
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly hasher: PasswordHasher,
    private readonly adminEmails: AdminEmails,
  ) {}

  /**
   * `undefined` for an unknown email and for a wrong password alike. An unknown email still costs one argon2id
   * verification (against the dummy hash), so the answer's timing does not tell which emails are registered.
   */
  async authenticate(email: string, password: string): Promise<Principal | undefined> {
    const user = await this.prisma.user.findUnique({ where: { email }, select: { id: true, passwordHash: true } });
    const passwordHash = user?.passwordHash ?? (await this.dummy());
    const matches = await this.hasher.verify(passwordHash, password);
    if (!user || !matches) return undefined;
    // Decided now, at issue time: changing ADMIN_EMAILS takes effect with the next token.
    const roles: Role[] = this.adminEmails.has(email) ? ['admin'] : ['user'];
    return { userId: user.id, roles };
  }

  private dummy(): Promise<string> {
    // A failed hash (the hashing queue full: 503) is not kept, or every later unknown email would answer 503 while
    // registered ones answer 401, telling them apart.
    this.dummyHash ??= this.hasher.hash(crypto.randomUUID()).catch((error: unknown) => {
      this.dummyHash = undefined;
      throw error;
    });
    return this.dummyHash;
  }
}
