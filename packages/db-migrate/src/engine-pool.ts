import pg from 'pg';

/** PostgreSQL type OIDs involved in the workaround below. */
const PG_CHAR_OID = 18; // "char": the one-byte type of pg_catalog columns such as relkind or contype
const PG_TEXT_OID = 25;

/**
 * A pg client that reports `"char"` result columns as `text`.
 * The schema engine reads pg_catalog columns of type `"char"`, but @prisma/adapter-pg 7.10 has no mapping for that
 * type and fails with "Column type 'char' could not be deserialized from the database" as soon as the engine
 * describes a database (diff, drift checks). The value pg hands over is already a one-character string, so
 * relabelling the column in the row description is enough.
 */
class CatalogCharAsTextClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    // Prepended so it runs before the client's own handler, which copies the field list into the result.
    this.connection.prependListener('rowDescription', (message: { fields: Array<{ dataTypeID: number }> }) => {
      for (const field of message.fields) {
        if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
      }
    });
  }
}

/**
 * The pool behind one schema-engine connection. A single connection, because the engine relies on session state:
 * it takes a session-level advisory lock around migrations, which must be released on the session that took it.
 */
export function createEnginePool(connectionString: string): pg.Pool {
  return new pg.Pool({ connectionString, max: 1, Client: CatalogCharAsTextClient });
}
