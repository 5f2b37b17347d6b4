import { ConflictException, ForbiddenException, Injectable, NotFoundException } from '@nestjs/common';
import { UserCreatedV2, UserDeletedV1, UserUpdatedV1 } from '@switchyard/contracts';
import { addToOutbox } from '@switchyard/messaging';
import { errorBody, type Page, toPage } from '@switchyard/service-kit';
import { AdminEmails } from '../auth/admin-emails.js';
import { Prisma, PrismaClient } from '../generated/prisma/client.js';
import { OrderStatsService } from '../order-stats/order-stats.service.js';
import { PasswordHasher } from './password-hasher.js';
import type { CreateUserBody, ListUsersQuery, UpdateUserBody } from './user.schemas.js';
import { toUserResponse, type UserResponse } from './user.response.js';

/** Prisma's error codes we turn into client errors. */
const UNIQUE_VIOLATION = 'P2002';
const RECORD_NOT_FOUND = 'P2025';

/** Every write publishes its event through the outbox, in the same transaction: no event without the change, no change without the event. */
@Injectable()
export class UsersService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly hasher: PasswordHasher,
    private readonly stats: OrderStatsService,
    private readonly admins: AdminEmails,
  ) {}

  async create(body: CreateUserBody): Promise<UserResponse> {
    // Cheap checks before the deliberately slow hash: a taken email is refused at the cost of one indexed read.
    // The unique constraint stays the real guard (two sign-ups racing for one email both pass this check).
    if (await this.prisma.user.findUnique({ where: { email: body.email }, select: { id: true } })) throw emailTaken();
    const passwordHash = await this.hasher.hash(body.password);
    try {
      const user = await this.prisma.$transaction(async (tx) => {
        const created = await tx.user.create({
          data: {
            email: body.email,
            name: body.name,
            passwordHash,
            marketingOptIn: body.marketingOptIn,
            locale: body.locale,
          },
        });
        await addToOutbox(tx, UserCreatedV2, {
          userId: created.id,
          email: created.email,
          name: created.name,
          marketingOptIn: created.marketingOptIn,
          locale: created.locale,
          occurredAt: created.createdAt.toISOString(),
        });
        return created;
      });
      return toUserResponse(user);
    } catch (error) {
      throw this.mapWriteError(error, true, undefined);
    }
  }

  async get(id: string): Promise<UserResponse> {
    const user = await this.prisma.user.findUnique({ where: { id } });
    if (!user) throw notFound(id);
    return toUserResponse(user, await this.stats.forUser(id));
  }

  /** Ordered by id (UUIDv7, so by creation): stable across pages even while users are added. */
  async list(query: ListUsersQuery): Promise<Page<UserResponse>> {
    const rows = await this.prisma.user.findMany({
      where: query.cursor ? { id: { gt: query.cursor } } : {},
      orderBy: { id: 'asc' },
      take: query.limit + 1,
    });
    const stats = await this.stats.forUsers(rows.slice(0, query.limit).map((row) => row.id));
    return toPage(rows, query.limit, (user) => toUserResponse(user, stats.get(user.id)));
  }

  /** Publishes `user.updated` with the fields that really changed; an update that changes nothing publishes nothing. */
  async update(id: string, body: UpdateUserBody): Promise<UserResponse> {
    try {
      const user = await this.prisma.$transaction(async (tx) => {
        const before = await tx.user.findUnique({ where: { id } });
        if (!before) throw notFound(id);
        const changes: { email?: string; name?: string } = {};
        if (body.email !== undefined && body.email !== before.email) changes.email = body.email;
        // Moving onto a listed address would make this account an administrator at its next login.
        if (changes.email !== undefined && this.admins.has(changes.email)) throw reservedForAdministrator();
        if (body.name !== undefined && body.name !== before.name) changes.name = body.name;
        if (Object.keys(changes).length === 0) return before;
        const after = await tx.user.update({ where: { id }, data: changes });
        await addToOutbox(tx, UserUpdatedV1, { userId: id, changes, occurredAt: after.updatedAt.toISOString() });
        return after;
      });
      return toUserResponse(user, await this.stats.forUser(id));
    } catch (error) {
      throw this.mapWriteError(error, body.email !== undefined, id);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.prisma.$transaction(async (tx) => {
        await tx.user.delete({ where: { id } });
        await addToOutbox(tx, UserDeletedV1, { userId: id, occurredAt: new Date().toISOString() });
      });
    } catch (error) {
      throw this.mapWriteError(error, false, id);
    }
  }

  /** Infrastructure errors become client errors here, where we know what they mean. */
  private mapWriteError(error: unknown, writesEmail: boolean, id: string | undefined): unknown {
    if (error instanceof Prisma.PrismaClientKnownRequestError) {
      if (error.code === UNIQUE_VIOLATION && writesEmail) return emailTaken();
      if (error.code === RECORD_NOT_FOUND && id !== undefined) return notFound(id);
    }
    return error;
  }
}

/** The address itself is not echoed: the answer may end up in logs or on a shared screen. */
function emailTaken(): ConflictException {
  return new ConflictException(
    errorBody(409, 'email is already registered', [{ field: 'email', message: 'is already registered' }]),
  );
}

function reservedForAdministrator(): ForbiddenException {
  return new ForbiddenException(
    errorBody(403, 'email is reserved for an administrator account', [
      { field: 'email', message: 'is listed in ADMIN_EMAILS; no account may move onto it' },
    ]),
  );
}

function notFound(id: string): NotFoundException {
  return new NotFoundException(errorBody(404, `user ${id} not found`));
}
