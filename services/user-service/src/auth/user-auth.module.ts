import { type DynamicModule, Module } from '@nestjs/common';
import { AuthModule, localKeysVerifier, TokenIssuer } from '@switchyard/auth';
import type { UserServiceConfig } from '../config.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { PasswordHasher } from '../users/password-hasher.js';
import { UsersModule } from '../users/users.module.js';
import { AuthController } from './auth.controller.js';
import { CredentialsService } from './credentials.service.js';
import { SigningKeysModule } from './signing-keys.module.js';

/** user-service issues tokens (`POST /auth/token`), publishes its keys (the JWKS), and checks its own tokens. */
@Module({})
export class UserAuthModule {
  static forRoot(config: UserServiceConfig): DynamicModule {
    // One module object, imported twice: Nest makes one instance of it, so the keys are read once.
    const signingKeys = SigningKeysModule.forRoot(config);
    return {
      module: UserAuthModule,
      imports: [
        UsersModule,
        signingKeys,
        // The guard checks tokens against the keys this service publishes: no request to itself.
        AuthModule.forRootAsync({
          imports: [signingKeys],
          inject: [TokenIssuer],
          useFactory: (issuer: TokenIssuer) => localKeysVerifier(issuer.jwks()),
        }),
      ],
      controllers: [AuthController],
      providers: [
        {
          provide: CredentialsService,
          inject: [PrismaClient, PasswordHasher],
          useFactory: (prisma: PrismaClient, hasher: PasswordHasher) =>
            new CredentialsService(prisma, hasher, new Set(config.ADMIN_EMAILS)),
        },
      ],
    };
  }
}
