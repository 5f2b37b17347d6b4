-- Rows the relay gave up on (unroutable past MESSAGING_OUTBOX_UNROUTABLE_MAX_ATTEMPTS). Existing rows stay NULL: not parked.
-- AlterTable
ALTER TABLE "outbox_events" ADD COLUMN     "parked_at" TIMESTAMPTZ(6);
