{{/*
Chart name, overridable. Truncated to 63 characters because Kubernetes names and label values (DNS-1123 labels)
may not be longer; the trailing "-" trim keeps the result a valid name after the cut.
*/}}
{{- define "switchyard-lib.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
Fully qualified name: "<release>-<chart>" (always both, so other charts of the umbrella can compute it), or
fullnameOverride. Truncated to 63 characters for the same DNS-1123 limit.
*/}}
{{- define "switchyard-lib.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "switchyard-lib.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* "chart-version" for the helm.sh/chart label; "+" is not allowed in label values. */}}
{{- define "switchyard-lib.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels every object carries. */}}
{{- define "switchyard-lib.labels" -}}
helm.sh/chart: {{ include "switchyard-lib.chart" . }}
{{ include "switchyard-lib.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: switchyard
{{- end -}}

{{/* Immutable subset used in selectors: never add labels here, a Deployment's selector cannot change. */}}
{{- define "switchyard-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchyard-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Pod-level security context meeting the "restricted" Pod Security Standard. Argument: the UID, or
dict "ctx" $ "uid" UID. With the dict and `global.openshift: true` the UID, GID and fsGroup are left out: OpenShift's
restricted-v2 SCC assigns them from the namespace's range and refuses pods that pick their own.
*/}}
{{- define "switchyard-lib.podSecurityContext" -}}
{{- $uid := . -}}
{{- $openshift := false -}}
{{- if kindIs "map" . -}}
{{- $uid = .uid -}}
{{- $openshift = include "switchyard-lib.openshift" .ctx | eq "true" -}}
{{- end -}}
runAsNonRoot: true
{{- if not $openshift }}
runAsUser: {{ $uid }}
runAsGroup: {{ $uid }}
fsGroup: {{ $uid }}
{{- end }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* "true" when global.openshift is set: security contexts leave the UID to the platform. */}}
{{- define "switchyard-lib.openshift" -}}
{{- $global := .Values.global | default dict -}}
{{- ternary "true" "false" (eq (toString (index $global "openshift" | default false)) "true") -}}
{{- end -}}

{{/* Container-level security context: "restricted" plus a read-only root filesystem. */}}
{{- define "switchyard-lib.containerSecurityContext" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/*
Labels for the one-off pods (migration Job, helm test Pod): a different app.kubernetes.io/name
("<name>-<component>") so the Deployment's Service, PDB and NetworkPolicy never select them.
Argument: dict "ctx" $ "component" "migrate".
*/}}
{{- define "switchyard-lib.componentLabels" -}}
helm.sh/chart: {{ include "switchyard-lib.chart" .ctx }}
app.kubernetes.io/name: {{ printf "%s-%s" (include "switchyard-lib.name" .ctx) .component | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: switchyard
{{- end -}}
