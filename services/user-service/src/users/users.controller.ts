import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { openApiSchema, type Page, uuidParam, ZodValidationPipe } from '@switchyard/service-kit';
import { type CreateUserBody, createUserBody, type ListUsersQuery, listUsersQuery, type UpdateUserBody, updateUserBody } from './user.schemas.js';
import type { UserResponse } from './user.response.js';
import { UsersService } from './users.service.js';

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Post()
  @ApiOperation({ summary: 'Register a user; the password is stored only as an argon2id hash' })
  @ApiBody({ schema: openApiSchema(createUserBody) })
  @ApiResponse({ status: 201, description: 'Created' })
  @ApiResponse({ status: 400, description: 'A field is missing, has the wrong type, or is not allowed' })
  @ApiResponse({ status: 409, description: 'The email is already registered' })
  create(@Body(new ZodValidationPipe(createUserBody)) body: CreateUserBody): Promise<UserResponse> {
    return this.users.create(body);
  }

  @Get()
  @ApiOperation({ summary: 'List users, oldest first, one page at a time' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 100, default: 20 } })
  @ApiQuery({ name: 'cursor', required: false, description: '`nextCursor` of the previous page' })
  list(@Query(new ZodValidationPipe(listUsersQuery, 'query')) query: ListUsersQuery): Promise<Page<UserResponse>> {
    return this.users.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one user' })
  @ApiResponse({ status: 404, description: 'No such user' })
  get(@Param('id', uuidParam('id')) id: string): Promise<UserResponse> {
    return this.users.get(id);
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a user’s email or name' })
  @ApiBody({ schema: openApiSchema(updateUserBody) })
  update(@Param('id', uuidParam('id')) id: string, @Body(new ZodValidationPipe(updateUserBody)) body: UpdateUserBody): Promise<UserResponse> {
    return this.users.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a user' })
  async remove(@Param('id', uuidParam('id')) id: string): Promise<void> {
    await this.users.remove(id);
  }
}
