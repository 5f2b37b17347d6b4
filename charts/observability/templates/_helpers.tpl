{{/* Names are truncated to 63 characters (the DNS-1123 label limit for names and label values): see switchyard-lib. */}}
{{- define "observability.name" -}}{{ include "switchyard-lib.name" . }}{{- end -}}
{{- define "observability.fullname" -}}{{ include "switchyard-lib.fullname" . }}{{- end -}}
{{- define "observability.labels" -}}{{ include "switchyard-lib.labels" . }}{{- end -}}
{{- define "observability.selectorLabels" -}}{{ include "switchyard-lib.selectorLabels" . }}{{- end -}}

{{/*
Selector labels of one component. Its app.kubernetes.io/name is the component's own name (prometheus, jaeger,
grafana): the service charts' NetworkPolicy admits scrapes from pods named "prometheus".
Argument: dict "ctx" $ "component" "prometheus".
*/}}
{{- define "observability.componentSelectorLabels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- end -}}

{{- define "observability.componentLabels" -}}
helm.sh/chart: {{ include "switchyard-lib.chart" .ctx }}
{{ include "observability.componentSelectorLabels" . }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: switchyard
{{- end -}}

{{/*
The Prometheus configuration, derived from files/prometheus/prometheus.yml (a symlink to
observability/prometheus/prometheus.yml): `global` is kept, rule_files point at the rules ConfigMap, and each
static scrape job becomes a Kubernetes pod discovery job that keeps the pods whose app.kubernetes.io/name equals
the job's `service` label, on the port of its static target, and copies that pod label into `service`.
*/}}
{{- define "observability.prometheusConfig" -}}
{{- $src := .Files.Get "files/prometheus/prometheus.yml" | fromYaml -}}
{{- $namespaces := .Values.prometheus.namespaces | default (list .Release.Namespace) -}}
{{- $jobs := list -}}
{{- range $src.scrape_configs -}}
{{- $static := index .static_configs 0 -}}
{{- $port := index $static.targets 0 | splitList ":" | last -}}
{{- $service := $static.labels.service -}}
{{- $relabel := list
  (dict "source_labels" (list "__meta_kubernetes_pod_phase") "regex" "Running" "action" "keep")
  (dict "source_labels" (list "__meta_kubernetes_pod_label_app_kubernetes_io_name") "regex" $service "action" "keep")
  (dict "source_labels" (list "__meta_kubernetes_pod_container_port_number") "regex" $port "action" "keep")
  (dict "source_labels" (list "__meta_kubernetes_pod_label_app_kubernetes_io_name") "target_label" "service")
  (dict "source_labels" (list "__meta_kubernetes_namespace") "target_label" "namespace")
  (dict "source_labels" (list "__meta_kubernetes_pod_name") "target_label" "pod") -}}
{{- $sd := list (dict "role" "pod" "namespaces" (dict "names" $namespaces)) -}}
{{- $job := merge (dict "kubernetes_sd_configs" $sd "relabel_configs" $relabel) (omit . "static_configs") -}}
{{- $jobs = append $jobs $job -}}
{{- end -}}
{{- toYaml (dict "global" $src.global "rule_files" (list "/etc/prometheus/rules/*.yml") "scrape_configs" $jobs) -}}
{{- end -}}

{{/*
Jaeger v2's configuration (an OpenTelemetry Collector's, modelled on cmd/jaeger/internal/all-in-one.yaml of the
pinned release): OTLP gRPC and HTTP in, in-memory storage, the query service (UI and API on 16686) and the v2 health
check on 13133 (GET /status), each listening on all interfaces (v2 defaults to localhost). No Jaeger/Zipkin
receivers and no sampling endpoints: the services send OTLP only. Its own telemetry stays off.
*/}}
{{- define "observability.jaegerConfig" -}}
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 0.0.0.0:13133
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 0.0.0.0:16686
    grpc:
      endpoint: 0.0.0.0:16685
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: {{ .Values.jaeger.maxTraces | int }}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 0.0.0.0:4317
      http:
        endpoint: 0.0.0.0:4318
processors:
  batch: {}
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
{{- end -}}
