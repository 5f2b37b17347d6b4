import { type DynamicModule, Module } from '@nestjs/common';
import { loadSigningKey, TokenIssuer } from '@switchyard/auth';
import type { UserServiceConfig } from '../config.js';

/** The signing keys, read once at start-up: a missing or unusable key file stops the service with its reason. */
@Module({})
export class SigningKeysModule {
  static forRoot(config: UserServiceConfig): DynamicModule {
    return {
      module: SigningKeysModule,
      providers: [
        {
          provide: TokenIssuer,
          useFactory: async () =>
            new TokenIssuer(
              await loadSigningKey(config.AUTH_SIGNING_KEY_FILE),
              config.AUTH_PREVIOUS_SIGNING_KEY_FILE
                ? await loadSigningKey(config.AUTH_PREVIOUS_SIGNING_KEY_FILE)
                : undefined,
              config.AUTH_TOKEN_TTL_SECONDS,
            ),
        },
      ],
      exports: [TokenIssuer],
    };
  }
}
