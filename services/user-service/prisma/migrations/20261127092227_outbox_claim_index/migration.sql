-- DropIndex
DROP INDEX "outbox_events_sent_at_next_attempt_at_idx";

-- CreateIndex
CREATE INDEX "outbox_events_sent_at_sequence_idx" ON "outbox_events"("sent_at", "sequence");
