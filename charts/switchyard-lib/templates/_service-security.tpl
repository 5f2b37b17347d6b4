{{/*
The security side of a service chart (README "Security"): token settings, the signing key Secret and its mount,
and the CA files for TLS to Postgres and RabbitMQ. Included by switchyard-lib.service.all.
*/}}

{{/* Where the service reads its signing keys and CA files. */}}
{{- define "switchyard-lib.service.authMountPath" -}}/etc/switchyard/auth{{- end -}}
{{- define "switchyard-lib.service.tlsMountPath" -}}/etc/switchyard/tls{{- end -}}

{{/* Label telling the metrics Service apart from the API Service (same selector labels), for ServiceMonitors. */}}
{{- define "switchyard-lib.service.metricsServiceLabel" -}}
switchyard.io/endpoint: metrics
{{- end -}}

{{/* The signing key's Secret: auth.existingSecret, or the generated "<fullname>-auth". */}}
{{- define "switchyard-lib.service.signingKeySecretName" -}}
{{- tpl .Values.auth.existingSecret . | default (printf "%s-auth" (include "switchyard-lib.fullname" .)) -}}
{{- end -}}

{{/* ConfigMap entries: token settings and CA file paths. */}}
{{- define "switchyard-lib.service.securityConfig" -}}
{{- if .Values.auth.signingKey }}
AUTH_SIGNING_KEY_FILE: {{ printf "%s/%s" (include "switchyard-lib.service.authMountPath" .) "signing-key.pem" | quote }}
{{- if .Values.auth.previousKeyKey }}
AUTH_PREVIOUS_SIGNING_KEY_FILE: {{ printf "%s/%s" (include "switchyard-lib.service.authMountPath" .) "previous-signing-key.pem" | quote }}
{{- end }}
AUTH_TOKEN_TTL_SECONDS: {{ .Values.auth.tokenTtlSeconds | int | quote }}
ADMIN_EMAILS: {{ .Values.auth.adminEmails | quote }}
{{- end }}
{{- with tpl .Values.auth.jwksUrl . }}
AUTH_JWKS_URL: {{ . | quote }}
{{- end }}
{{- if tpl .Values.broker.caSecret.name . }}
RABBITMQ_CA_FILE: {{ printf "%s/rabbitmq-ca.crt" (include "switchyard-lib.service.tlsMountPath" .) | quote }}
{{- end }}
{{- end -}}

{{- define "switchyard-lib.service.securityVolumeMounts" -}}
{{- if .Values.auth.signingKey }}
- name: auth
  mountPath: {{ include "switchyard-lib.service.authMountPath" . }}
  readOnly: true
{{- end }}
{{- if or (tpl .Values.database.caSecret.name .) (tpl .Values.broker.caSecret.name .) }}
- name: tls
  mountPath: {{ include "switchyard-lib.service.tlsMountPath" . }}
  readOnly: true
{{- end }}
{{- end -}}

{{- define "switchyard-lib.service.securityVolumes" -}}
{{- if .Values.auth.signingKey }}
- name: auth
  secret:
    secretName: {{ include "switchyard-lib.service.signingKeySecretName" . }}
    # Readable by the UID the platform picks too (OpenShift); nothing else runs in the container.
    defaultMode: 0444
    items:
      - key: {{ .Values.auth.existingSecretKey }}
        path: signing-key.pem
      {{- with .Values.auth.previousKeyKey }}
      - key: {{ . }}
        path: previous-signing-key.pem
      {{- end }}
{{- end }}
{{- if or (tpl .Values.database.caSecret.name .) (tpl .Values.broker.caSecret.name .) }}
- name: tls
  projected:
    sources:
      {{- with tpl .Values.database.caSecret.name . }}
      - secret:
          name: {{ . }}
          items:
            - key: {{ $.Values.database.caSecret.key }}
              path: postgres-ca.crt
      {{- end }}
      {{- with tpl .Values.broker.caSecret.name . }}
      - secret:
          name: {{ . }}
          items:
            - key: {{ $.Values.broker.caSecret.key }}
              path: rabbitmq-ca.crt
      {{- end }}
{{- end }}
{{- end -}}

{{/*
The generated signing key (EC P-256 PEM) when auth.signingKey and no auth.existingSecret: created once (derived from
global.secretSeed when set), read back with lookup on every upgrade, kept on uninstall (tokens signed with it stay
verifiable while they live).
*/}}
{{- define "switchyard-lib.service.signingKeySecret" -}}
{{- if and .Values.auth.signingKey (not (tpl .Values.auth.existingSecret .)) }}
{{- $name := include "switchyard-lib.service.signingKeySecretName" . }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ $name }}
  labels:
    {{- include "switchyard-lib.labels" . | nindent 4 }}
  annotations:
    helm.sh/resource-policy: keep
type: Opaque
stringData:
  {{ .Values.auth.existingSecretKey }}: |
    {{- include "switchyard-lib.generatedEcKey" (dict "ctx" . "secret" $name "key" .Values.auth.existingSecretKey "purpose" "auth/signing-key") | nindent 4 }}
{{- end }}
{{- end -}}
