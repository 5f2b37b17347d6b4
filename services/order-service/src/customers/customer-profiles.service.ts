import { Injectable, NotFoundException } from '@nestjs/common';
import { errorBody } from '@switchyard/service-kit';
import { PrismaService } from '../database/prisma.service.js';
import { toCustomerResponse, type CustomerResponse } from './customer.response.js';

/** What order-service knows about a user; written only by user events (the messaging issue), never by a public endpoint. */
export interface CustomerProfileData {
  userId: string;
  email: string;
  name: string;
}

@Injectable()
export class CustomerProfilesService {
  constructor(private readonly prisma: PrismaService) {}

  async get(userId: string): Promise<CustomerResponse> {
    const profile = await this.prisma.customerProfile.findUnique({ where: { userId } });
    if (!profile) throw new NotFoundException(errorBody(404, `customer ${userId} not found`));
    return toCustomerResponse(profile);
  }

  /** Creates or refreshes the local copy of a user. */
  async upsert(data: CustomerProfileData): Promise<CustomerResponse> {
    const profile = await this.prisma.customerProfile.upsert({
      where: { userId: data.userId },
      create: data,
      update: { email: data.email, name: data.name },
    });
    return toCustomerResponse(profile);
  }

  /** Keeps the profile (past orders refer to it) but refuses new orders for it. */
  async markDeleted(userId: string, at: Date): Promise<void> {
    await this.prisma.customerProfile.updateMany({ where: { userId, deletedAt: null }, data: { deletedAt: at } });
  }
}
