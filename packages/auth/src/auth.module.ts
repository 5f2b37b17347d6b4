import { type DynamicModule, type InjectionToken, type ModuleMetadata, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ACCESS_TOKEN_VERIFIER, AuthGuard } from './auth.guard.js';
import type { AccessTokenVerifier } from './token-verifier.js';

export interface AuthModuleAsyncOptions {
  imports?: ModuleMetadata['imports'];
  inject?: InjectionToken[];
  /** The verifier the guard uses; a factory, since keys may have to be read first. */
  useFactory: (...deps: never[]) => AccessTokenVerifier | Promise<AccessTokenVerifier>;
}

@Module({})
export class AuthModule {
  /** Requires a token on every HTTP route of the app (`@PublicRoute()` opts out), checked by the verifier. */
  static forRootAsync(options: AuthModuleAsyncOptions): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        { provide: ACCESS_TOKEN_VERIFIER, useFactory: options.useFactory, inject: options.inject ?? [] },
        { provide: APP_GUARD, useClass: AuthGuard },
      ],
      exports: [ACCESS_TOKEN_VERIFIER],
    };
  }
}
