import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
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

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @RateLimited('sign-up')
  @ApiOperation({ summary: 'Register a user; the password is stored only as an argon2id hash' })
  @ApiBody({ schema: openApiSchema(createUserBody) })
  @ApiJsonResponse(201, 'Created', userResponse)
  @ApiErrorResponses({ 400: BAD_BODY, 409: 'The email is already registered', 503: 'Too many password hashes queued' })
  create(@Body(new ZodValidationPipe(createUserBody)) body: CreateUserBody): Promise<UserResponse> {
    return this.users.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'List users, oldest first, one page at a time' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } })
  @ApiQuery({ name: 'cursor', required: false, description: '`nextCursor` of the previous page' })
  @ApiJsonResponse(200, 'One page of users', userPage)
  @ApiErrorResponses({ 400: 'limit or cursor is not valid' })
  list(@Query(new ZodValidationPipe(listUsersQuery, 'query')) query: ListUsersQuery): Promise<UserPage> {
    return this.users.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one user' })
  @ApiJsonResponse(200, 'The user', userResponse)
  @ApiErrorResponses({ 400: BAD_ID, 404: 'No such user' })
  get(@Param('id', uuidParam('id')) id: string): Promise<UserResponse> {
    return this.users.get(id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a user’s email or name' })
  @ApiBody({ schema: openApiSchema(updateUserBody) })
  @ApiJsonResponse(200, 'The changed user', userResponse)
  @ApiErrorResponses({ 400: BAD_BODY, 404: 'No such user', 409: 'The email is already registered' })
  update(
    @Param('id', uuidParam('id')) id: string,
    @Body(new ZodValidationPipe(updateUserBody)) body: UpdateUserBody,
  ): Promise<UserResponse> {
    return this.users.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user' })
  @ApiResponse({ status: 204, description: 'Deleted (no body)' })
  @ApiErrorResponses({ 400: BAD_ID, 404: 'No such user' })
  async remove(@Param('id', uuidParam('id')) id: string): Promise<void> {
    await this.users.remove(id);
  }
}
