-- CreateTable
CREATE TABLE "order_cancellation_jobs" (
    "user_id" UUID NOT NULL,
    "cancelled_at" TIMESTAMPTZ(3) NOT NULL,
    "correlation_id" TEXT NOT NULL,
    "traceparent" TEXT,
    "tracestate" TEXT,
    "after_order_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "order_cancellation_jobs_pkey" PRIMARY KEY ("user_id")
);

-- AddForeignKey
ALTER TABLE "order_cancellation_jobs" ADD CONSTRAINT "order_cancellation_jobs_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "customer_profiles"("user_id") ON DELETE RESTRICT ON UPDATE CASCADE;
