{{/* Names are truncated to 63 characters (the DNS-1123 label limit for names and label values): see switchyard-lib. */}}
{{- define "order-service.name" -}}{{ include "switchyard-lib.name" . }}{{- end -}}
{{- define "order-service.fullname" -}}{{ include "switchyard-lib.fullname" . }}{{- end -}}
{{- define "order-service.labels" -}}{{ include "switchyard-lib.labels" . }}{{- end -}}
{{- define "order-service.selectorLabels" -}}{{ include "switchyard-lib.selectorLabels" . }}{{- end -}}
