{{/*
Platform knobs every Switchyard workload shares: image references (global.imageRegistry, digests) and scheduling (priorityClassName, topologySpreadConstraints, nodeSelector, tolerations, affinity).
*/}}

{{/*
Image reference. Argument: dict "ctx" $ "image" (a values map with repository, tag, digest) "tag" default-tag.
`global.imageRegistry` is prefixed to the repository (a mirror or a private registry); a digest (sha256:…) pins the
exact image and wins over the tag, which is then only informative and left out (a tag beside a digest is ignored by
the runtime anyway, and a mismatch would only mislead).
*/}}
{{- define "switchyard-lib.image" -}}
{{- $global := .ctx.Values.global | default dict -}}
{{- $registry := index $global "imageRegistry" | default "" -}}
{{- $repository := ternary (printf "%s/%s" (trimSuffix "/" $registry) .image.repository) .image.repository (ne $registry "") -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (.image.tag | default .tag) -}}
{{- end -}}
{{- end -}}

{{/*
Scheduling fields of a pod spec: priorityClassName, topologySpreadConstraints (an entry without labelSelector gets
the workload's selector labels, which is nearly always what is meant), nodeSelector, tolerations, affinity.
Argument: the chart context; `affinity` is left to the caller when it has a default of its own.
*/}}
{{- define "switchyard-lib.scheduling" -}}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- if .Values.topologySpreadConstraints }}
topologySpreadConstraints:
{{- range .Values.topologySpreadConstraints }}
  - {{ toYaml (ternary . (merge (dict "labelSelector" (dict "matchLabels" (include "switchyard-lib.selectorLabels" $ | fromYaml))) .) (hasKey . "labelSelector")) | nindent 4 | trim }}
{{- end }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
