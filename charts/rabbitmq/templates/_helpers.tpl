{{/* Names are truncated to 63 characters (the DNS-1123 label limit for names and label values): see switchyard-lib. */}}
{{- define "rabbitmq.name" -}}{{ include "switchyard-lib.name" . }}{{- end -}}
{{- define "rabbitmq.fullname" -}}{{ include "switchyard-lib.fullname" . }}{{- end -}}
{{- define "rabbitmq.labels" -}}{{ include "switchyard-lib.labels" . }}{{- end -}}
{{- define "rabbitmq.selectorLabels" -}}{{ include "switchyard-lib.selectorLabels" . }}{{- end -}}

{{/*
Scrape endpoints of RabbitMQ's exporter, shared by the ServiceMonitor and the PodMonitor (their endpoint types take
the same fields used here): /metrics, then /metrics/detailed with metrics.detailedFamilies when any are listed.
Both endpoints of one target share `job` and `instance`; rules joining rabbitmq_identity_info pick the aggregated
one with rabbitmq_endpoint!="detailed".
Argument: dict "monitor" (.Values.metrics.serviceMonitor or .podMonitor) "root" $.
*/}}
{{- define "rabbitmq.metricsEndpoints" -}}
{{- $m := .monitor }}
{{- $families := .root.Values.metrics.detailedFamilies }}
{{- range $path := ternary (list "/metrics" "/metrics/detailed") (list "/metrics") (gt (len $families) 0) }}
- port: prometheus
  path: {{ $path }}
  {{- if eq $path "/metrics/detailed" }}
  params:
    family:
      {{- toYaml $families | nindent 6 }}
  {{- end }}
  {{- with $m.interval }}
  interval: {{ . }}
  {{- end }}
  {{- with $m.scrapeTimeout }}
  scrapeTimeout: {{ . }}
  {{- end }}
  {{- with $m.relabelings }}
  relabelings:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $m.metricRelabelings }}
  metricRelabelings:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end -}}

{{/*
The Secret of one broker identity: its existingSecret, or "<fullname>-<name>".
Argument: dict "ctx" $ "user" <an entry of .Values.users>.
*/}}
{{- define "rabbitmq.userSecretName" -}}
{{- tpl (.user.existingSecret | default "") .ctx | default (printf "%s-%s" (include "rabbitmq.fullname" .ctx) .user.name | trunc 63 | trimSuffix "-") -}}
{{- end -}}

{{/*
amqp:// URL of this broker's Service for a user, the vhost path-encoded ("/" is the default vhost, left out).
Argument: dict "ctx" $ "username" name "password" password.
*/}}
{{- define "rabbitmq.amqpUrl" -}}
{{- $c := .ctx -}}
{{- printf "amqp://%s:%s@%s.%s.svc:%d%s" .username .password (include "rabbitmq.fullname" $c) $c.Release.Namespace (int $c.Values.service.amqpPort) (ternary "" (printf "/%s" ($c.Values.auth.vhost | urlquery)) (eq $c.Values.auth.vhost "/")) -}}
{{- end -}}
