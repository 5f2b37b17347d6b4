{{/* Names are truncated to 63 characters (the DNS-1123 label limit for names and label values): see switchyard-lib. */}}
{{- define "switchyard.name" -}}{{ include "switchyard-lib.name" . }}{{- end -}}
{{- define "switchyard.fullname" -}}{{ include "switchyard-lib.fullname" . }}{{- end -}}
{{- define "switchyard.labels" -}}{{ include "switchyard-lib.labels" . }}{{- end -}}
{{- define "switchyard.selectorLabels" -}}{{ include "switchyard-lib.selectorLabels" . }}{{- end -}}
