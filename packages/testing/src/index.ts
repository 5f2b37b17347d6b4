export { createTestDatabase, TEST_POSTGRES_URL } from './test-database.js';
export type { TestDatabase } from './test-database.js';
export { waitFor } from './wait-for.js';
export { freePort, startServiceProcess, waitUntilReady } from './service-process.js';
export type { ServiceProcess } from './service-process.js';
export { createTestVhost } from './test-vhost.js';
export type { TestVhost } from './test-vhost.js';
export { IdentityPublisher } from './identity-publisher.js';
export {
  BROKER_IDENTITIES,
  brokerPermissions,
  DLQ_IDENTITY,
  EVENTS_EXCHANGE,
  OPERATOR_IDENTITY,
  SERVICE_IDENTITIES,
} from './broker-permissions.js';
export type { BrokerIdentityPermissions } from './broker-permissions.js';
export {
  brokerIdentityDefinitions,
  devBrokerPasswords,
  devBrokerPasswordsFile,
  provisionBrokerIdentities,
  rabbitPasswordHash,
} from './broker-identities.js';
export type { BrokerIdentitiesOptions, BrokerPasswords } from './broker-identities.js';
export { pgTransactions } from './pg-transactions.js';
export type { PgTransaction, PgTransactions } from './pg-transactions.js';
export { startOtlpReceiver } from './otlp-receiver.js';
export type { OtlpReceiver, ReceivedLink, ReceivedSpan, ReceivedSpanKind } from './otlp-receiver.js';
export { jaegerBinary, startJaeger } from './jaeger.js';
export type { Jaeger, JaegerReference, JaegerSpan, JaegerTrace, TraceSearch } from './jaeger.js';
export { startPrometheus } from './prometheus-server.js';
export type { PrometheusOptions, PrometheusServer, PrometheusTarget, PromSample } from './prometheus-server.js';
export { promtoolProblems, samples, valueOf } from './prometheus-exposition.js';
export type { Sample } from './prometheus-exposition.js';
export { helm, helmAsync, HelmError, k8sTools } from './helm.js';
export type { K8sTools } from './helm.js';
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
export type {
  HostileRequest,
  HttpAnswer,
  HttpMethod,
  MessageDefect,
  ProblemBody,
  RawMessage,
} from './hostile/index.js';
export { startFaultProxy } from './fault-proxy.js';
export type { FaultMode, FaultProxy, FaultProxyStats } from './fault-proxy.js';
export { startPrivateRabbitMq } from './private-rabbitmq.js';
export type { PrivateRabbitMq } from './private-rabbitmq.js';
export { startPrivatePostgres } from './private-postgres.js';
export type { PrivatePostgres } from './private-postgres.js';
export {
  applyCrd,
  compactEtcd,
  createTestNamespace,
  etcdUrl,
  restartApiServer,
  serviceAccountKubeconfig,
  sharedControlPlane,
  startPrivateControlPlane,
} from './kube-control-plane.js';
export type { ControlPlane, TestNamespace } from './kube-control-plane.js';
export {
  getToken,
  signTestToken,
  signUpAndGetToken,
  startTestTokenIssuer,
  tamperedTokens,
  withToken,
  writeTestSigningKey,
} from './auth/index.js';
export type { SignedUpUser, TestTokenIssuer } from './auth/index.js';
