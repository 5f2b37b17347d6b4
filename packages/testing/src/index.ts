export { createTestDatabase, TEST_POSTGRES_URL } from './test-database.js';
export type { TestDatabase } from './test-database.js';
export { waitFor } from './wait-for.js';
export { freePort, startServiceProcess, waitUntilReady } from './service-process.js';
export type { ServiceProcess } from './service-process.js';
export { createTestVhost } from './test-vhost.js'; export type { TestVhost } from './test-vhost.js';
export { pgTransactions } from './pg-transactions.js';
export type { PgTransaction, PgTransactions } from './pg-transactions.js';
export { startOtlpReceiver } from './otlp-receiver.js';
export type { OtlpReceiver, ReceivedLink, ReceivedSpan, ReceivedSpanKind } from './otlp-receiver.js';
export { startPrometheus } from './prometheus-server.js'; export type { PrometheusOptions, PrometheusServer, PrometheusTarget, PromSample } from './prometheus-server.js';
export { promtoolProblems, samples, valueOf } from './prometheus-exposition.js';
export type { Sample } from './prometheus-exposition.js';
export { helm, helmAsync, HelmError, k8sTools } from './helm.js'; export type { K8sTools } from './helm.js';
export {
  asSent,
  assertDeadLettered,
  deeplyNestedJson,
  expectAcceptable,
  expectFieldsAmong,
  fieldsOf,
  hostileJsonValue,
  hostilePathSegment,
  hostileString,
  isOverLimit,
  messageDefects,
  misleadingHeaders,
  mutatedBody,
  nastyFragment,
  percentEncodeAll,
  problemFields,
  problemWithAnswer,
  sendHostile,
  withDefects,
  WorkQueueInjector,
} from './hostile/index.js';
export type { HostileRequest, HttpAnswer, HttpMethod, MessageDefect, ProblemBody, RawMessage } from './hostile/index.js';
export { startFaultProxy } from './fault-proxy.js'; export type { FaultMode, FaultProxy, FaultProxyStats } from './fault-proxy.js';
export { startPrivateRabbitMq } from './private-rabbitmq.js'; export type { PrivateRabbitMq } from './private-rabbitmq.js';
export { startPrivatePostgres } from './private-postgres.js'; export type { PrivatePostgres } from './private-postgres.js';
export { startKubeApiStandIn } from './kube-api/kube-api-stand-in.js';
export type { InjectedFault, KubeApiStandIn, KubeApiStandInOptions, KubeConfigOptions, RecordedRequest } from './kube-api/kube-api-stand-in.js';
export type { PolicyRule, Verb } from './kube-api/authorization.js'; export type { KubeObject } from './kube-api/object-store.js';
export { applyCrd, createTestNamespace, serviceAccountKubeconfig, sharedControlPlane, startPrivateControlPlane } from './kube-control-plane.js';
export type { ControlPlane, TestNamespace } from './kube-control-plane.js';
