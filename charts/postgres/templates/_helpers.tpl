{{/* Names are truncated to 63 characters (the DNS-1123 label limit for names and label values): see switchyard-lib. */}}
{{- define "postgres.name" -}}{{ include "switchyard-lib.name" . }}{{- end -}}
{{- define "postgres.fullname" -}}{{ include "switchyard-lib.fullname" . }}{{- end -}}
{{- define "postgres.labels" -}}{{ include "switchyard-lib.labels" . }}{{- end -}}
{{- define "postgres.selectorLabels" -}}{{ include "switchyard-lib.selectorLabels" . }}{{- end -}}

{{/*
A password generated once: the value already in the live Secret when there is one (so upgrades keep it),
a new random one otherwise. `helm template` has no cluster, so it always generates.
Argument: dict "ctx" $ "secret" name "key" key.
*/}}
{{- define "postgres.password" -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret -}}
{{- if and $existing (index ($existing.data | default dict) .key) -}}
{{- index $existing.data .key | b64dec -}}
{{- else -}}
{{- randAlphaNum 32 -}}
{{- end -}}
{{- end -}}
