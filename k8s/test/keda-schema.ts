// A minimal JSON Schema of KEDA's keda.sh/v1alpha1 ScaledObject and TriggerAuthentication, written here because
// KEDA publishes its CRDs only in its Helm chart and release YAML, not on npm (kubernetes-models has no KEDA
// package). It covers what charts/switchyard-lib renders, closed like a structural CRD schema (unknown fields
// rejected), with the fields and types of the KEDA v2 CRDs (keda.sh_scaledobjects.yaml,
// keda.sh_triggerauthentications.yaml) and the rabbitmq scaler's metadata rules (docs: keda.sh/docs/latest/scalers/rabbitmq-queue).
// It is weaker than the CRD: no defaults, no CEL, and only the spec fields we use or might.

const metadata = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 253 }, namespace: { type: 'string' }, labels: { type: 'object', additionalProperties: { type: 'string' } }, annotations: { type: 'object', additionalProperties: { type: 'string' } } },
  additionalProperties: false,
} as const;

const int32 = { type: 'integer', minimum: 0, maximum: 2147483647 } as const;

/** The rabbitmq trigger: queueName, QueueLength/MessageRate with a numeric value, host from metadata, env or auth. */
const rabbitmqTrigger = {
  if: { properties: { type: { const: 'rabbitmq' } } },
  then: {
    properties: {
      metadata: {
        type: 'object',
        required: ['queueName', 'mode', 'value'],
        properties: {
          protocol: { enum: ['amqp', 'http', 'auto'] },
          queueName: { type: 'string', minLength: 1 },
          mode: { enum: ['QueueLength', 'MessageRate'] },
          value: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$' },
          activationValue: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$' },
          host: { type: 'string' },
          hostFromEnv: { type: 'string' },
          vhostName: { type: 'string' },
          useRegex: { enum: ['true', 'false'] },
        },
        additionalProperties: false,
      },
    },
    anyOf: [{ properties: { metadata: { anyOf: [{ required: ['host'] }, { required: ['hostFromEnv'] }] } } }, { required: ['authenticationRef'] }],
  },
} as const;

export const scaledObjectSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'keda.sh/v1alpha1' },
    kind: { const: 'ScaledObject' },
    metadata,
    spec: {
      type: 'object',
      required: ['scaleTargetRef', 'triggers'],
      properties: {
        scaleTargetRef: {
          type: 'object',
          required: ['name'],
          properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, name: { type: 'string', minLength: 1 }, envSourceContainerName: { type: 'string' } },
          additionalProperties: false,
        },
        pollingInterval: int32,
        cooldownPeriod: int32,
        initialCooldownPeriod: int32,
        idleReplicaCount: int32,
        minReplicaCount: int32,
        maxReplicaCount: int32,
        fallback: { type: 'object', required: ['failureThreshold', 'replicas'], properties: { failureThreshold: int32, replicas: int32 }, additionalProperties: false },
        advanced: { type: 'object' },
        triggers: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['type', 'metadata'],
            properties: {
              type: { type: 'string', minLength: 1 },
              name: { type: 'string' },
              useCachedMetrics: { type: 'boolean' },
              metricType: { enum: ['AverageValue', 'Value', 'Utilization'] },
              metadata: { type: 'object', additionalProperties: { type: 'string' } },
              authenticationRef: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 }, kind: { enum: ['TriggerAuthentication', 'ClusterTriggerAuthentication'] } }, additionalProperties: false },
            },
            additionalProperties: false,
            allOf: [rabbitmqTrigger],
          },
        },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
} as const;

export const triggerAuthenticationSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'keda.sh/v1alpha1' },
    kind: { const: 'TriggerAuthentication' },
    metadata,
    spec: {
      type: 'object',
      properties: {
        secretTargetRef: {
          type: 'array',
          items: { type: 'object', required: ['parameter', 'name', 'key'], properties: { parameter: { type: 'string', minLength: 1 }, name: { type: 'string', minLength: 1 }, key: { type: 'string', minLength: 1 } }, additionalProperties: false },
        },
        env: { type: 'array' },
        podIdentity: { type: 'object' },
      },
      additionalProperties: false,
      minProperties: 1,
    },
  },
  additionalProperties: false,
} as const;
