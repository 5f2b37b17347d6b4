-- The profile of a deleted user becomes a tombstone: email and name are erased (NULL), user_id and deleted_at stay.
-- AlterTable
ALTER TABLE "customer_profiles" ALTER COLUMN "email" DROP NOT NULL,
ALTER COLUMN "name" DROP NOT NULL;

-- Profiles of users deleted before this migration are erased too.
UPDATE "customer_profiles" SET "email" = NULL, "name" = NULL WHERE "deleted_at" IS NOT NULL;
