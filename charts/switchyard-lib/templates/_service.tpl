{{/*
Everything one Switchyard service chart renders (user-service, order-service): both charts hold only values and
call this, so the two cannot drift apart. Every object is separated by "---".
*/}}
{{- define "switchyard-lib.service.all" -}}
{{- $fullname := include "switchyard-lib.fullname" . -}}
{{- $port := int .Values.port -}}
{{- $dbSecret := tpl .Values.database.existingSecret . | default (printf "%s-secrets" $fullname) -}}
{{- $brokerSecret := tpl .Values.broker.existingSecret . | default (printf "%s-secrets" $fullname) -}}
{{- $dbKey := ternary .Values.database.existingSecretKey "DATABASE_URL" (ne (tpl .Values.database.existingSecret .) "") -}}
{{- $brokerKey := ternary .Values.broker.existingSecretKey "RABBITMQ_URL" (ne (tpl .Values.broker.existingSecret .) "") -}}
{{- $ownSecret := or (eq (tpl .Values.database.existingSecret .) "") (eq (tpl .Values.broker.existingSecret .) "") -}}
{{- $image := include "switchyard-lib.image" (dict "ctx" . "image" .Values.image "tag" .Chart.AppVersion) -}}
{{- if and .Values.autoscaling.enabled .Values.keda.enabled -}}
{{- fail "autoscaling.enabled and keda.enabled both scale the Deployment (KEDA creates its own HPA): set one of them to false" -}}
{{- end -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
data:
  PORT: {{ $port | quote }}
  METRICS_PORT: {{ .Values.metrics.port | int | quote }}
  API_DOCS_ENABLED: {{ .Values.apiDocs.enabled | quote }}
  {{- with include "switchyard-lib.service.securityConfig" . | trim }}
  {{- . | nindent 2 }}
  {{- end }}
  SWITCHYARD_SERVICE_NAME: {{ .Values.serviceName | quote }}
  LOG_LEVEL: {{ .Values.logLevel | quote }}
  DATABASE_POOL_MAX: {{ .Values.databasePool.max | quote }}
  DATABASE_STATEMENT_TIMEOUT_MS: {{ .Values.databasePool.statementTimeoutMs | quote }}
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: {{ .Values.databasePool.idleInTransactionTimeoutMs | quote }}
  RABBITMQ_EXCHANGE: {{ .Values.messaging.exchange | quote }}
  MESSAGING_RETRY_DELAYS_MS: {{ .Values.messaging.retryDelaysMs | quote }}
  MESSAGING_MAX_MESSAGE_BYTES: {{ .Values.messaging.maxMessageBytes | int | quote }}
  MESSAGING_OUTBOX_UNROUTABLE_MAX_ATTEMPTS: {{ .Values.messaging.outboxUnroutableMaxAttempts | int | quote }}
  SHUTDOWN_DELAY_MS: {{ .Values.shutdown.delayMs | quote }}
  SHUTDOWN_TIMEOUT_MS: {{ .Values.shutdown.timeoutMs | quote }}
  DEPLOYMENT_ENVIRONMENT: {{ .Values.deploymentEnvironment | quote }}
  {{- with tpl .Values.otel.endpoint . }}
  OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
  {{- end }}
  {{- if .Values.consumerPolicy.enabled }}
  # The live consumer policy the topology operator writes (retry delays, prefetch, pause), polled without a restart.
  CONSUMER_POLICY_DIR: {{ include "switchyard-lib.consumerPolicyMountPath" . | quote }}
  CONSUMER_POLICY_POLL_MS: {{ .Values.consumerPolicy.pollMs | quote }}
  {{- end }}
{{- if $ownSecret }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ $fullname }}-secrets
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
type: Opaque
stringData:
  {{- if eq (tpl .Values.database.existingSecret .) "" }}
  DATABASE_URL: {{ required "database.url or database.existingSecret is required" .Values.database.url | quote }}
  {{- end }}
  {{- if eq (tpl .Values.broker.existingSecret .) "" }}
  RABBITMQ_URL: {{ required "broker.url or broker.existingSecret is required" .Values.broker.url | quote }}
  {{- end }}
{{- end }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  selector:
    {{- include "switchyard-lib.selectorLabels" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
      {{- if and (eq .Values.service.type "NodePort") .Values.service.nodePort }}
      nodePort: {{ .Values.service.nodePort }}
      {{- end }}
---
# /metrics only, for ServiceMonitors; the API Service above does not expose it.
apiVersion: v1
kind: Service
metadata:
  name: {{ $fullname }}-metrics
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
    {{- include "switchyard-lib.service.metricsServiceLabel" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "switchyard-lib.selectorLabels" . | nindent 4 }}
  ports:
    - name: metrics
      port: {{ .Values.metrics.port | int }}
      targetPort: metrics
      protocol: TCP
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
  annotations:
    # Postgres connections one pod may open (pool + messaging's); the connection budget is counted from it.
    switchyard.io/postgres-connections-per-pod: {{ include "switchyard-lib.service.postgresConnectionsPerPod" . | quote }}
spec:
  {{- if not (or .Values.autoscaling.enabled .Values.keda.enabled) }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  selector:
    matchLabels:
      {{- include "switchyard-lib.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "switchyard-lib.labels" . | nindent 8 }}
        {{- with .Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        # Restart the pods when their configuration changes.
        checksum/config: {{ .Values | toJson | sha256sum }}
        {{- with .Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- include "switchyard-lib.service.podSpecCommon" . | nindent 6 }}
      # Above SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS, so the service always finishes its own graceful shutdown.
      terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
      containers:
        - name: {{ .Values.serviceName }}
          image: {{ $image | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ $port }}
              protocol: TCP
            - name: metrics
              containerPort: {{ .Values.metrics.port | int }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ $fullname }}
          env:
            {{- include "switchyard-lib.service.secretEnv" (dict "dbSecret" $dbSecret "dbKey" $dbKey "brokerSecret" $brokerSecret "brokerKey" $brokerKey) | nindent 12 }}
            - name: K8S_POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            - name: K8S_NAMESPACE_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.namespace
            {{- with .Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          startupProbe:
            httpGet:
              path: /health/startup
              port: http
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet:
              path: /health/live
              port: http
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /health/ready
              port: http
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          securityContext:
            {{- include "switchyard-lib.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            {{- if .Values.consumerPolicy.enabled }}
            - name: consumer-policy
              mountPath: {{ include "switchyard-lib.consumerPolicyMountPath" . }}
              readOnly: true
            {{- end }}
            {{- with include "switchyard-lib.service.securityVolumeMounts" . | trim }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- if .Values.consumerPolicy.enabled }}
        # Written by the topology operator, not by this chart. Optional: the pod starts before (or without) the
        # operator and the service uses its code defaults until the file appears; the kubelet fills the volume in
        # once the ConfigMap exists and swaps updates in atomically.
        - name: consumer-policy
          configMap:
            name: {{ tpl .Values.consumerPolicy.configMapName . }}
            optional: true
        {{- end }}
        {{- with include "switchyard-lib.service.securityVolumes" . | trim }}
        {{- . | nindent 8 }}
        {{- end }}
{{- include "switchyard-lib.service.signingKeySecret" . }}
{{- if .Values.pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
spec:
  maxUnavailable: {{ .Values.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "switchyard-lib.selectorLabels" . | nindent 6 }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $fullname }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- if .Values.migrations.enabled }}
{{- $migrationSecret := printf "%s-migrate" $fullname }}
{{- if eq (tpl .Values.database.existingSecret .) "" }}
---
# Hook Secret for the migration Job: pre-install hooks run before the release's ordinary objects exist, so the
# Job cannot read "{{ $fullname }}-secrets"; this copy is created first (lower weight) and deleted afterwards.
apiVersion: v1
kind: Secret
metadata:
  name: {{ $migrationSecret }}
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
  annotations:
    helm.sh/hook: {{ .Values.migrations.hooks | quote }}
    helm.sh/hook-weight: "-10"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
type: Opaque
stringData:
  # The owner's URL when given: migrations need DDL, which the runtime role of database.url lacks.
  DATABASE_URL: {{ .Values.database.migrationUrl | default (required "database.url or database.existingSecret is required" .Values.database.url) | quote }}
{{- end }}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ $fullname }}-migrate
  labels:
    {{- include "switchyard-lib.componentLabels" (dict "ctx" . "component" "migrate") | nindent 4 }}
  annotations:
    helm.sh/hook: {{ .Values.migrations.hooks | quote }}
    helm.sh/hook-weight: "0"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: {{ .Values.migrations.backoffLimit }}
  activeDeadlineSeconds: {{ .Values.migrations.activeDeadlineSeconds }}
  template:
    metadata:
      labels:
        {{- include "switchyard-lib.componentLabels" (dict "ctx" . "component" "migrate") | nindent 8 }}
    spec:
      {{- include "switchyard-lib.service.podSpecCommon" . | nindent 6 }}
      restartPolicy: Never
      containers:
        - name: migrate
          image: {{ $image | quote }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          command: ["npx", "switchyard-migrate", "deploy", "--schema", "prisma/schema.prisma"]
          env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef:
                  name: {{ ternary $migrationSecret $dbSecret (eq (tpl .Values.database.existingSecret .) "") }}
                  # The owner role (MIGRATION_DATABASE_URL of the postgres chart's Secret): DDL is the owner's alone.
                  key: {{ ternary "DATABASE_URL" (.Values.database.existingSecretMigrationKey | default $dbKey) (eq (tpl .Values.database.existingSecret .) "") }}
            # npx writes its cache under $HOME; the root filesystem is read-only.
            - name: HOME
              value: /tmp
            - name: npm_config_cache
              value: /tmp/.npm
          resources:
            {{- toYaml .Values.migrations.resources | nindent 12 }}
          securityContext:
            {{- include "switchyard-lib.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 256Mi
{{- end }}
{{- if .Values.networkPolicy.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $fullname }}-default-deny
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "switchyard-lib.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "switchyard-lib.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress, Egress]
  ingress:
    # Prometheus scraping GET /metrics, on its own port only.
    - from:
        {{- tpl (toYaml .Values.networkPolicy.prometheus.from) . | nindent 8 }}
      ports:
        - port: metrics
          protocol: TCP
    # Whatever calls the API, plus this chart's own `helm test` Pod.
    - from:
        - podSelector:
            matchLabels:
              app.kubernetes.io/instance: {{ .Release.Name }}
              app.kubernetes.io/component: helm-test
        {{- with .Values.networkPolicy.api.from }}
        {{- tpl (toYaml .) $ | nindent 8 }}
        {{- end }}
      ports:
        - port: http
          protocol: TCP
  egress:
    # DNS.
    - to:
        - namespaceSelector: {}
          podSelector:
            matchLabels:
              k8s-app: kube-dns
      ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    # Its own Postgres.
    - to:
        {{- tpl (toYaml .Values.networkPolicy.database.to) . | nindent 8 }}
      ports:
        - port: {{ .Values.networkPolicy.database.port }}
          protocol: TCP
    # RabbitMQ (AMQP).
    - to:
        {{- tpl (toYaml .Values.networkPolicy.broker.to) . | nindent 8 }}
      ports:
        - port: {{ .Values.networkPolicy.broker.port }}
          protocol: TCP
    {{- if .Values.networkPolicy.jwks.to }}
    # The token issuer's JWKS (AUTH_JWKS_URL).
    - to:
        {{- tpl (toYaml .Values.networkPolicy.jwks.to) . | nindent 8 }}
      ports:
        - port: {{ .Values.networkPolicy.jwks.port }}
          protocol: TCP
    {{- end }}
    {{- if .Values.networkPolicy.otel.to }}
    # The OTLP trace receiver.
    - to:
        {{- tpl (toYaml .Values.networkPolicy.otel.to) . | nindent 8 }}
      ports:
        - port: {{ .Values.networkPolicy.otel.port }}
          protocol: TCP
    {{- end }}
{{- end }}
{{- if .Values.serviceMonitor.enabled }}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ $fullname }}
  namespace: {{ .Values.serviceMonitor.namespace | default .Release.Namespace }}
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
    {{- with .Values.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace }}
  selector:
    matchLabels:
      {{- include "switchyard-lib.selectorLabels" . | nindent 6 }}
      {{- include "switchyard-lib.service.metricsServiceLabel" . | nindent 6 }}
  endpoints:
    - port: metrics
      path: /metrics
      interval: {{ .Values.serviceMonitor.interval }}
      {{- with .Values.serviceMonitor.scrapeTimeout }}
      scrapeTimeout: {{ . }}
      {{- end }}
      honorLabels: true
      {{- with .Values.serviceMonitor.metricRelabelings }}
      metricRelabelings:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      relabelings:
        # Same `service` target label as observability/prometheus/prometheus.yml, so rules and dashboards work.
        - targetLabel: service
          replacement: {{ .Values.serviceName }}
{{- end }}
{{- if .Values.serviceAccount.create }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "switchyard-lib.service.serviceAccountName" . }}
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- end }}
{{- if .Values.ingress.enabled }}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
  {{- with .Values.ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with .Values.ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with .Values.ingress.tls }}
  tls:
    {{- tpl (toYaml .) $ | nindent 4 }}
  {{- end }}
  rules:
    {{- if not .Values.ingress.hosts }}
    {{- fail "ingress.enabled needs at least one entry in ingress.hosts (e.g. --set ingress.hosts[0].host=api.example.com)" }}
    {{- end }}
    {{- range .Values.ingress.hosts }}
    - host: {{ tpl .host $ | quote }}
      http:
        paths:
          {{- range (.paths | default (list (dict "path" "/" "pathType" "Prefix"))) }}
          - path: {{ .path }}
            pathType: {{ .pathType | default "Prefix" }}
            backend:
              service:
                name: {{ $fullname }}
                port:
                  name: http
          {{- end }}
    {{- end }}
{{- end }}
{{- if .Values.keda.enabled }}
---
# KEDA scales the consumers on the depth of the queue this service consumes (ready messages; see keda.queueLength).
apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata:
  name: {{ $fullname }}-broker
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
spec:
  secretTargetRef:
    # The AMQP URL the service itself connects with (vhost included).
    - parameter: host
      name: {{ $brokerSecret }}
      key: {{ $brokerKey }}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: {{ $fullname }}
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $fullname }}
  minReplicaCount: {{ .Values.keda.minReplicaCount }}
  maxReplicaCount: {{ .Values.keda.maxReplicaCount }}
  pollingInterval: {{ .Values.keda.pollingInterval }}
  cooldownPeriod: {{ .Values.keda.cooldownPeriod }}
  triggers:
    - type: rabbitmq
      metadata:
        protocol: amqp
        queueName: {{ required "consumesQueue is required when keda.enabled" .Values.consumesQueue | quote }}
        mode: QueueLength
        value: {{ .Values.keda.queueLength | quote }}
      authenticationRef:
        name: {{ $fullname }}-broker
{{- end }}
{{- if .Values.tests.enabled }}
---
apiVersion: v1
kind: Pod
metadata:
  name: {{ $fullname }}-test-ready
  labels:
    {{- include "switchyard-lib.componentLabels" (dict "ctx" . "component" "helm-test") | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  {{- include "switchyard-lib.service.podSpecCommon" . | nindent 2 }}
  restartPolicy: Never
  containers:
    - name: readiness
      # The service image already has node (and its fetch); no extra image to pull.
      image: {{ $image | quote }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      command:
        - node
        - -e
        - >-
          fetch('http://{{ $fullname }}:{{ .Values.service.port }}/health/ready')
          .then((r) => { console.log('GET /health/ready', r.status); process.exit(r.ok ? 0 : 1); })
          .catch((e) => { console.error(e.message); process.exit(1); })
      resources:
        requests: { cpu: 10m, memory: 32Mi }
        limits: { memory: 128Mi }
      securityContext:
        {{- include "switchyard-lib.containerSecurityContext" . | nindent 8 }}
{{- end }}
{{- end -}}

{{- define "switchyard-lib.service.podSpecCommon" -}}
# The services never call the Kubernetes API: no token unless asked for (e.g. a projected-token integration).
automountServiceAccountToken: {{ .Values.serviceAccount.automountToken }}
{{- with ternary (include "switchyard-lib.service.serviceAccountName" .) .Values.serviceAccount.name .Values.serviceAccount.create }}
serviceAccountName: {{ . }}
{{- end }}
securityContext:
  {{- include "switchyard-lib.podSecurityContext" (dict "ctx" . "uid" 10001) | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- include "switchyard-lib.scheduling" . }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "switchyard-lib.service.secretEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .dbSecret }}
      key: {{ .dbKey }}
- name: RABBITMQ_URL
  valueFrom:
    secretKeyRef:
      name: {{ .brokerSecret }}
      key: {{ .brokerKey }}
{{- end -}}

{{/* Where a service reads its consumer policy: CONSUMER_POLICY_MOUNT_PATH in services/topology-operator/src/api/v1alpha1/names.ts. */}}
{{- define "switchyard-lib.consumerPolicyMountPath" -}}
/etc/switchyard/consumer-policy
{{- end -}}

{{/* The ServiceAccount the pods run as when serviceAccount.create: serviceAccount.name, or the fullname. */}}
{{- define "switchyard-lib.service.serviceAccountName" -}}
{{- default (include "switchyard-lib.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/*
Postgres connections one pod of a service may open: its Prisma pool (databasePool.max) plus messaging's 4 (the
outbox relay's pool of 2, its LISTEN connection, the outbox metrics' one; MESSAGING_DATABASE_CONNECTIONS in
packages/messaging, which k8s/test/connection-budget.spec.ts holds this to).
*/}}
{{- define "switchyard-lib.service.postgresConnectionsPerPod" -}}
{{- add (int .Values.databasePool.max) 4 -}}
{{- end -}}
