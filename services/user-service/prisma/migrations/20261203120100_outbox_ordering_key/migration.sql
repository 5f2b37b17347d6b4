-- Ordering keys: the relay publishes the rows of one key in sequence.
-- A constant default adds the column without rewriting the table. Only unsent rows are ever compared by key:
-- those get their own id as key (no order among rows written before keys existed, as before), sent ones keep
-- the empty string. Rows inserted without a key (an older release during a rolling deploy, raw SQL) get a random one.
-- AlterTable
ALTER TABLE "outbox_events" ADD COLUMN     "ordering_key" TEXT NOT NULL DEFAULT '';
UPDATE "outbox_events" SET "ordering_key" = "id"::text WHERE "sent_at" IS NULL;
ALTER TABLE "outbox_events" ALTER COLUMN "ordering_key" SET DEFAULT (gen_random_uuid())::text;

-- CreateIndex
CREATE INDEX "outbox_events_ordering_key_sent_at_sequence_idx" ON "outbox_events"("ordering_key", "sent_at", "sequence");
