{{/* Names are truncated to 63 characters (the DNS-1123 label limit for names and label values): see switchyard-lib. */}}
{{- define "user-service.name" -}}{{ include "switchyard-lib.name" . }}{{- end -}}
{{- define "user-service.fullname" -}}{{ include "switchyard-lib.fullname" . }}{{- end -}}
{{- define "user-service.labels" -}}{{ include "switchyard-lib.labels" . }}{{- end -}}
{{- define "user-service.selectorLabels" -}}{{ include "switchyard-lib.selectorLabels" . }}{{- end -}}
