import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import * as bindings from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { SchemaContainer, SchemaEngine, SchemaFilter } from '@prisma/schema-engine-wasm/schema_engine_bg';
import { createEnginePool } from './engine-pool.js';
import { createScratchDatabase, type ScratchDatabase } from './ensure-database.js';

/** No externally managed tables or enums: every object in the database belongs to the migrations. */
export const NO_FILTERS: SchemaFilter = { externalTables: [], externalEnums: [] };

/** An error reported by Prisma's schema engine (`code` is Prisma's error code, e.g. `P3009`, when it has one). */
export class SchemaEngineError extends Error {
  override readonly name = 'SchemaEngineError';
  readonly code: string | undefined;

  constructor(message: string, code: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

let lastPanicMessage: string | undefined;
let bindingsReady: Promise<void> | undefined;

/**
 * Instantiates the engine's Wasm module once per process. The package's own entry point imports the `.wasm` file as
 * an ES module, which Node cannot do, so the wasm-bindgen glue (`schema_engine_bg.js`) is wired up by hand.
 */
function loadBindings(): Promise<void> {
  bindingsReady ??= (async () => {
    // The engine reports Rust panics through this global before trapping; without it the reason is lost.
    const registry = { set_message: (message: string) => void (lastPanicMessage = message) };
    Object.assign(globalThis, { PRISMA_WASM_PANIC_REGISTRY: registry });
    const require = createRequire(import.meta.url);
    const wasmPath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg').replace(/\.js$/, '.wasm');
    const module = await WebAssembly.compile(await readFile(wasmPath));
    const instance = await WebAssembly.instantiate(module, { './schema_engine_bg.js': { ...bindings } });
    bindings.__wbg_set_wasm(instance.exports);
    const start = instance.exports['__wbindgen_start'];
    if (typeof start !== 'function') throw new Error('@prisma/schema-engine-wasm has no __wbindgen_start export');
    start();
  })();
  bindingsReady.catch(() => (bindingsReady = undefined));
  return bindingsReady;
}

/**
 * Connects the engine to `databaseUrl` through @prisma/adapter-pg, and gives it a fresh scratch database each time
 * it asks for a shadow database. PrismaPg's own `connectToShadowDb` cannot be used: it creates the shadow database
 * but, given a connection string, its pool still connects to the main database (pg lets `connectionString` override
 * `database`), so migrations would be replayed into the real database.
 */
class EngineAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName = '@prisma/adapter-pg';
  private readonly cleanups: Array<() => Promise<void>> = [];

  constructor(private readonly databaseUrl: string) {}

  async connect(): Promise<SqlDriverAdapter> {
    return this.open(this.databaseUrl);
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    // A new database every time: the engine replays migrations without resetting the shadow database first.
    const scratch: ScratchDatabase = await createScratchDatabase(this.databaseUrl, 'shadow');
    this.cleanups.push(() => scratch.drop());
    return this.open(scratch.url, () => scratch.drop());
  }

  /** Releases every connection the engine opened and drops the shadow databases it did not dispose of. */
  async close(): Promise<void> {
    const results = await Promise.allSettled(this.cleanups.map((cleanup) => cleanup()));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  private async open(url: string, afterDispose?: () => Promise<void>): Promise<SqlDriverAdapter> {
    const adapter = await new PrismaPg(createEnginePool(url), { disposeExternalPool: true }).connect();
    let disposed: Promise<void> | undefined;
    // Idempotent: the engine disposes some connections itself, and close() disposes whatever is left.
    const dispose = (): Promise<void> =>
      (disposed ??= (async () => {
        await adapter.dispose();
        await afterDispose?.();
      })());
    this.cleanups.push(dispose);
    return {
      provider: adapter.provider,
      adapterName: adapter.adapterName,
      queryRaw: (query) => adapter.queryRaw(query),
      executeRaw: (query) => adapter.executeRaw(query),
      executeScript: (script) => adapter.executeScript(script),
      startTransaction: (isolationLevel) => adapter.startTransaction(isolationLevel),
      getConnectionInfo: () => adapter.getConnectionInfo(),
      dispose,
    };
  }
}

export interface SchemaEngineOptions {
  /** The database the engine works on (migrations table, applied migrations, introspection). */
  databaseUrl: string;
  /** The Prisma schema files; the engine reads the datasource block (provider, schemas) from them. */
  schemaFiles: SchemaContainer[];
}

/**
 * Runs `work` with a schema engine connected to `databaseUrl`, then frees the engine and closes its connections,
 * whatever happens. Engine failures come out as {@link SchemaEngineError}.
 */
export async function withSchemaEngine<T>(
  options: SchemaEngineOptions,
  work: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  await loadBindings();
  const factory = new EngineAdapterFactory(options.databaseUrl);
  let engine: SchemaEngine | undefined;
  const release = async (): Promise<void> => {
    engine?.free();
    engine = undefined;
    await factory.close();
  };
  let result: T;
  try {
    const datamodels = options.schemaFiles.map((file): [string, string] => [file.path, file.content]);
    // Engine log lines (JSON) are dropped: errors carry everything a caller needs.
    engine = await bindings.SchemaEngine.new({ datamodels }, () => {}, bindMigrationAwareSqlAdapterFactory(factory));
    result = await work(engine);
  } catch (error) {
    await release().catch(() => {}); // the engine's error is the one worth reporting
    throw toSchemaEngineError(error);
  }
  await release();
  return result;
}

/** Trims the engine's Rust span trace from its messages and keeps the Prisma error code. */
function toSchemaEngineError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof SchemaEngineError) return error;
  if (error instanceof WebAssembly.RuntimeError) {
    return new SchemaEngineError(`The schema engine crashed: ${lastPanicMessage ?? error.message}`, undefined, {
      cause: error,
    });
  }
  const message = error.message.split(/\n\s+0: /)[0]?.trim() || error.message;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  return new SchemaEngineError(message, code, { cause: error });
}
