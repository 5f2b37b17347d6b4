import { Module } from '@nestjs/common';
import { PasswordHasher } from './password-hasher.js';
import { OrderStatsModule } from '../order-stats/order-stats.module.js';
import { UsersController } from './users.controller.js';
import { UsersService } from './users.service.js';

@Module({
  imports: [OrderStatsModule],
  controllers: [UsersController],
  providers: [UsersService, PasswordHasher],
  // One hasher for the whole service: the token endpoint verifies passwords with it too.
  exports: [PasswordHasher],
})
export class UsersModule {}
