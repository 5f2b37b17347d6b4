import { type DynamicModule, Module } from '@nestjs/common';
import { AuthModule, localKeysVerifier, TokenIssuer } from '@switchyard/auth';
import { UsersModule } from '../users/users.module.js';
import { AuthController } from './auth.controller.js';
import { CredentialsService } from './credentials.service.js';

/** user-service issues tokens (`POST /auth/token`), publishes its keys (the JWKS), and checks its own tokens. */
@Module({})
export class UserAuthModule {
  static forRoot(issuer: TokenIssuer): DynamicModule {
    return {
      module: UserAuthModule,
      imports: [
        UsersModule,
        // The guard checks tokens against the keys this service publishes: no request to itself.
        AuthModule.forRootAsync({ useFactory: () => localKeysVerifier(issuer.jwks()) }),
      ],
      controllers: [AuthController],
      providers: [{ provide: TokenIssuer, useValue: issuer }, CredentialsService],
    };
  }
}
