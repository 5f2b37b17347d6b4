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
  /** The migration being applied when the error happened, if any. */
  readonly migrationName: string | undefined;

  constructor(message: string, details: { code?: string; migrationName?: string; cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.code = details.code;
    this.migrationName = details.migrationName;
  }
}

/** The slice of the WebAssembly JS API used here: the project's `lib` (es2024, no DOM) does not declare it. */
interface WebAssemblyApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(
    module: object,
    imports: Record<string, Record<string, unknown>>,
  ): Promise<{ exports: Record<string, unknown> }>;
  // Instances typed by their literal name so that `instanceof` does not narrow every other Error away.
  RuntimeError: abstract new (...args: never[]) => { readonly name: 'RuntimeError'; readonly message: string };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

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
    const module = await wasmApi.compile(await readFile(wasmPath));
    const imports: Record<string, unknown> = { ...bindings };
    for (const name of Object.keys(imports).filter((key) => key.startsWith('__wbg_setTimeout_'))) {
      imports[name] = unrefSetTimeout;
    }
    const instance = await wasmApi.instantiate(module, { './schema_engine_bg.js': imports });
    bindings.__wbg_set_wasm(instance.exports);
    const start = instance.exports['__wbindgen_start'];
    if (typeof start !== 'function') throw new Error('@prisma/schema-engine-wasm has no __wbindgen_start export');
    start();
  })();
  bindingsReady.catch(() => (bindingsReady = undefined));
  return bindingsReady;
}

/**
 * The engine's timers are timeouts it never clears (e.g. 10 s around taking the migration advisory lock): left
 * referenced, each would keep Node alive for its full duration after the work is done.
 */
function unrefSetTimeout(callback: () => void, milliseconds: number): NodeJS.Timeout {
  return setTimeout(callback, milliseconds >>> 0).unref();
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
    this.cleanups.push(() => scratch.drop()); // registered first, so it also covers a failure in open()
    return this.open(scratch.url, () => scratch.drop());
  }

  /**
   * Releases every connection the engine opened and drops the shadow databases it did not dispose of. One at a time,
   * newest first, so a connection is closed before its database is dropped; every step runs even if one fails.
   */
  async close(): Promise<void> {
    let firstFailure: { error: unknown } | undefined;
    for (const cleanup of this.cleanups.splice(0).reverse()) {
      await cleanup().catch((error: unknown) => void (firstFailure ??= { error }));
    }
    if (firstFailure) throw firstFailure.error;
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

/**
 * Turns what the engine throws into a {@link SchemaEngineError}: its Rust span trace is cut from the message, but
 * the migration it names is kept, since the Wasm engine's own message for a failing migration does not say which.
 */
function toSchemaEngineError(error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof SchemaEngineError) return error;
  if (error instanceof wasmApi.RuntimeError) {
    return new SchemaEngineError(`The schema engine crashed: ${lastPanicMessage ?? error.message}`, { cause: error });
  }
  const [head = '', trace = ''] = error.message.split(/\n\s+0: /);
  const migrationName = /migration_name="([^"]+)"/.exec(trace)?.[1];
  let message = head.trim().replace(/^external connector error\n/, '') || error.message;
  if (migrationName && !message.includes(migrationName)) message = `Migration \`${migrationName}\` failed: ${message}`;
  const code = 'code' in error && typeof error.code === 'string' ? error.code : undefined;
  return new SchemaEngineError(message, {
    cause: error,
    ...(code ? { code } : {}),
    ...(migrationName ? { migrationName } : {}),
  });
}
