{{/* Names are truncated to 63 characters (the DNS-1123 label limit for names and label values): see switchyard-lib. */}}
{{- define "topology-operator.name" -}}{{ include "switchyard-lib.name" . }}{{- end -}}
{{- define "topology-operator.fullname" -}}{{ include "switchyard-lib.fullname" . }}{{- end -}}
{{- define "topology-operator.labels" -}}{{ include "switchyard-lib.labels" . }}{{- end -}}
{{- define "topology-operator.selectorLabels" -}}{{ include "switchyard-lib.selectorLabels" . }}{{- end -}}

{{/* ServiceAccount the pods run as: the fullname unless serviceAccount.name says otherwise. */}}
{{- define "topology-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "topology-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false (name an existing ServiceAccount)" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Lease the replicas elect a leader with: leaseName, or the fullname (unique per release and namespace). */}}
{{- define "topology-operator.leaseName" -}}
{{- default (include "topology-operator.fullname" .) .Values.leaseName -}}
{{- end -}}

{{/*
Namespace of the reconciled EventSubscriptions (and of their ConfigMaps and Events): watchNamespace, or the release
namespace. With clusterWide the operator watches every namespace, and this is only where the chart's own
subscriptions go. Setting both is refused: the fix is spelled out.
*/}}
{{- define "topology-operator.subscriptionNamespace" -}}
{{- if and .Values.clusterWide .Values.watchNamespace -}}
{{- fail (printf "clusterWide: true watches every namespace, but watchNamespace names one (%s): set only one of them" .Values.watchNamespace) -}}
{{- end -}}
{{- default .Release.Namespace .Values.watchNamespace -}}
{{- end -}}

{{/* Secret and key RABBITMQ_URL comes from: an existing Secret, or the chart's own "<fullname>-broker". */}}
{{- define "topology-operator.brokerSecretName" -}}
{{- tpl .Values.broker.existingSecret . | default (printf "%s-broker" (include "topology-operator.fullname" .)) -}}
{{- end -}}
{{- define "topology-operator.brokerSecretKey" -}}
{{- ternary .Values.broker.existingSecretKey "RABBITMQ_URL" (ne (tpl .Values.broker.existingSecret .) "") -}}
{{- end -}}

{{/*
The operator's API usage, exactly (the contract with services/topology-operator; k8s/test/charts.spec.ts checks
the rendered Roles against the same list). Subscriptions, their status, the policy ConfigMaps and the Events about a
subscription all live in the subscription's namespace, so they share one scope: the watched namespace, or the
cluster. Events must be in the namespace of the object they are about (the API server rejects them elsewhere).
*/}}
{{- define "topology-operator.subscriptionRules" -}}
- apiGroups: ["switchyard.io"]
  resources: ["eventsubscriptions"]
  # list+watch: the informer (reads come from its cache, so no get); patch: finalizer add/remove (JSON merge patch on metadata).
  verbs: ["list", "watch", "patch"]
- apiGroups: ["switchyard.io"]
  resources: ["eventsubscriptions/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["configmaps"]
  # "<service>-consumer-policy": created on first use, then one data key merge-patched per queue.
  verbs: ["get", "create", "patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end -}}

{{/* Pod spec fields shared by the Deployment and the `helm test` Pod: UID 10001 (the image's USER), "restricted". */}}
{{- define "topology-operator.podSpecCommon" -}}
securityContext:
  {{- include "switchyard-lib.podSecurityContext" (dict "ctx" . "uid" 10001) | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- include "switchyard-lib.scheduling" . }}
{{- end -}}
