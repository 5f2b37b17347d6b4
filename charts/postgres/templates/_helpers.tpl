{{/* Names are truncated to 63 characters (the DNS-1123 label limit for names and label values): see switchyard-lib. */}}
{{- define "postgres.name" -}}{{ include "switchyard-lib.name" . }}{{- end -}}
{{- define "postgres.fullname" -}}{{ include "switchyard-lib.fullname" . }}{{- end -}}
{{- define "postgres.labels" -}}{{ include "switchyard-lib.labels" . }}{{- end -}}
{{- define "postgres.selectorLabels" -}}{{ include "switchyard-lib.selectorLabels" . }}{{- end -}}

{{/*
The Secret holding one database's credentials: its existingSecret, or "<fullname>-<secretSuffix>" (generated).
Argument: dict "ctx" $ "database" <an entry of .Values.databases>.
*/}}
{{- define "postgres.databaseSecretName" -}}
{{- .database.existingSecret | default (printf "%s-%s" (include "postgres.fullname" .ctx) .database.secretSuffix | trunc 63 | trimSuffix "-") -}}
{{- end -}}

{{/* The runtime role of a database (DML only, owns nothing): "<database>_app", the name `npm start` and the tests use. */}}
{{- define "postgres.runtimeRole" -}}
{{- printf "%s_app" .name -}}
{{- end -}}
