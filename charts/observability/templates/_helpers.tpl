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
