import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import {
  CurrentPrincipal,
  type Principal,
  PublicRoute,
  requireRole,
  requireSelf,
  requireSelfOrAdmin,
} from '@switchyard/auth';
import {
  ApiErrorResponses,
  ApiJsonResponse,
  openApiSchema,
  uuidParam,
  ZodValidationPipe,
} from '@switchyard/service-kit';
import {
  type CreateUserBody,
  createUserBody,
  type ListUsersQuery,
  listUsersQuery,
  type UpdateUserBody,
  updateUserBody,
} from './user.schemas.js';
import { RateLimited } from '../abuse-limits/index.js';
import { userPage, type UserPage, type UserResponse, userResponse } from './user.response.js';
import { UsersService } from './users.service.js';

const BAD_BODY = 'A field is missing, has the wrong type, or is not allowed';
const BAD_ID = 'The id is not a UUID';
const NO_TOKEN = 'No valid access token';
const NOT_YOURS = 'The id is not the caller’s own (admins may read any user)';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  /** Sign-up: open to anyone (rate limits guard it). */
  @Post()
  @PublicRoute()
  @RateLimited('sign-up')
  @ApiOperation({ summary: 'Register a user; the password is stored only as an argon2id hash' })
  @ApiBody({ schema: openApiSchema(createUserBody) })
  @ApiJsonResponse(201, 'Created', userResponse)
  @ApiErrorResponses({ 400: BAD_BODY, 409: 'The email is already registered', 503: 'Too many password hashes queued' })
  create(@Body(new ZodValidationPipe(createUserBody)) body: CreateUserBody): Promise<UserResponse> {
    return this.users.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'List users, oldest first, one page at a time (admin only)' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } })
  @ApiQuery({ name: 'cursor', required: false, description: '`nextCursor` of the previous page' })
  @ApiJsonResponse(200, 'One page of users', userPage)
  @ApiErrorResponses({ 400: 'limit or cursor is not valid', 401: NO_TOKEN, 403: 'The caller is not an admin' })
  list(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodValidationPipe(listUsersQuery, 'query')) query: ListUsersQuery,
  ): Promise<UserPage> {
    requireRole(principal, 'admin', 'listing users');
    return this.users.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one user' })
  @ApiJsonResponse(200, 'The user', userResponse)
  @ApiErrorResponses({ 400: BAD_ID, 401: NO_TOKEN, 403: NOT_YOURS, 404: 'No such user' })
  get(@CurrentPrincipal() principal: Principal, @Param('id', uuidParam('id')) id: string): Promise<UserResponse> {
    requireSelfOrAdmin(principal, id, 'reading a user');
    return this.users.get(id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a user’s email or name' })
  @ApiBody({ schema: openApiSchema(updateUserBody) })
  @ApiJsonResponse(200, 'The changed user', userResponse)
  @ApiErrorResponses({
    400: BAD_BODY,
    401: NO_TOKEN,
    403: 'The id is not the caller’s own',
    404: 'No such user',
    409: 'The email is already registered',
  })
  update(
    @CurrentPrincipal() principal: Principal,
    @Param('id', uuidParam('id')) id: string,
    @Body(new ZodValidationPipe(updateUserBody)) body: UpdateUserBody,
  ): Promise<UserResponse> {
    requireSelf(principal, id, 'changing a user');
    return this.users.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user' })
  @ApiResponse({ status: 204, description: 'Deleted (no body)' })
  @ApiErrorResponses({ 400: BAD_ID, 401: NO_TOKEN, 403: 'The id is not the caller’s own', 404: 'No such user' })
  async remove(@CurrentPrincipal() principal: Principal, @Param('id', uuidParam('id')) id: string): Promise<void> {
    requireSelf(principal, id, 'deleting a user');
    await this.users.remove(id);
  }
}
