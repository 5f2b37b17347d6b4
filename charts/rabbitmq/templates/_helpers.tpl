{{/* Names are truncated to 63 characters (the DNS-1123 label limit for names and label values): see switchyard-lib. */}}
{{- define "rabbitmq.name" -}}{{ include "switchyard-lib.name" . }}{{- end -}}
{{- define "rabbitmq.fullname" -}}{{ include "switchyard-lib.fullname" . }}{{- end -}}
{{- define "rabbitmq.labels" -}}{{ include "switchyard-lib.labels" . }}{{- end -}}
{{- define "rabbitmq.selectorLabels" -}}{{ include "switchyard-lib.selectorLabels" . }}{{- end -}}
