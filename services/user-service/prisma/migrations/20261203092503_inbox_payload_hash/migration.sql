-- Rows recorded before this migration keep a NULL hash: the inbox counts them as the same payload (inbox.ts).
-- AlterTable
ALTER TABLE "inbox_events" ADD COLUMN     "payload_hash" BYTEA;
