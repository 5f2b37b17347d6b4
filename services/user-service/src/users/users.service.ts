import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { errorBody, type Page, toPage } from '@switchyard/service-kit';
import { PrismaService } from '../database/prisma.service.js';
import { Prisma } from '../generated/prisma/client.js';
import { PasswordHasher } from './password-hasher.js';
import type { CreateUserBody, ListUsersQuery, UpdateUserBody } from './user.schemas.js';
import { toUserResponse, type UserResponse } from './user.response.js';

/** Prisma's error codes we turn into client errors. */
const UNIQUE_VIOLATION = 'P2002';
const RECORD_NOT_FOUND = 'P2025';

@Injectable()
export class UsersService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly hasher: PasswordHasher,
  ) {}

  async create(body: CreateUserBody): Promise<UserResponse> {
    const passwordHash = await this.hasher.hash(body.password);
    try {
      const user = await this.prisma.user.create({ data: { email: body.email, name: body.name, passwordHash } });
      return toUserResponse(user);
    } catch (error) {
      throw this.mapWriteError(error, body.email, undefined);
    }
  }

  async get(id: string): Promise<UserResponse> {
    const user = await this.prisma.user.findUnique({ where: { id } });
    if (!user) throw notFound(id);
    return toUserResponse(user);
  }

  /** Ordered by id (UUIDv7, so by creation): stable across pages even while users are added. */
  async list(query: ListUsersQuery): Promise<Page<UserResponse>> {
    const rows = await this.prisma.user.findMany({
      where: query.cursor ? { id: { gt: query.cursor } } : {},
      orderBy: { id: 'asc' },
      take: query.limit + 1,
    });
    return toPage(rows, query.limit, toUserResponse);
  }

  async update(id: string, body: UpdateUserBody): Promise<UserResponse> {
    try {
      const user = await this.prisma.user.update({ where: { id }, data: { email: body.email, name: body.name } });
      return toUserResponse(user);
    } catch (error) {
      throw this.mapWriteError(error, body.email, id);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.prisma.user.delete({ where: { id } });
    } catch (error) {
      throw this.mapWriteError(error, undefined, id);
    }
  }

  /** Infrastructure errors become client errors here, where we know what they mean. */
  private mapWriteError(error: unknown, email: string | undefined, id: string | undefined): unknown {
    if (error instanceof Prisma.PrismaClientKnownRequestError) {
      if (error.code === UNIQUE_VIOLATION && email !== undefined) {
        return new ConflictException(errorBody(409, `email ${email} is already registered`, [{ field: 'email', message: 'is already registered' }]));
      }
      if (error.code === RECORD_NOT_FOUND && id !== undefined) return notFound(id);
    }
    return error;
  }
}

function notFound(id: string): NotFoundException {
  return new NotFoundException(errorBody(404, `user ${id} not found`));
}
