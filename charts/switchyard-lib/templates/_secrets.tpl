{{/*
A generated credential that stays the same across `helm upgrade`, `helm template` and GitOps renders
(charts/README.md, "Stable secrets"), in this order:
1. the value already in the live Secret (`lookup`): a running install is never re-keyed, whatever the seed;
2. with `global.secretSeed` set, a value derived from it: the first 32 hex characters of
   sha256("<seed>/<namespace>/<release>/<purpose>"), so every render without cluster access (helm template, Argo CD,
   Flux) yields the same value, and each purpose, release and namespace its own (128 bits of the seed's entropy);
3. otherwise a random 32-character one: stable once installed (1.), but a render without cluster access differs
   each time, so GitOps installs must set global.secretSeed or give existingSecrets.
Argument: dict "ctx" $ "secret" <Secret name> "key" <data key> "purpose" <unique text, e.g. "postgres/user_service">.
*/}}
{{- define "switchyard-lib.generatedSecret" -}}
{{- $live := lookup "v1" "Secret" .ctx.Release.Namespace .secret -}}
{{- $seed := ((.ctx.Values.global | default dict).secretSeed | default "") -}}
{{- if and $live (index ($live.data | default dict) .key) -}}
{{- index $live.data .key | b64dec -}}
{{- else if $seed -}}
{{- printf "%s/%s/%s/%s" $seed .ctx.Release.Namespace .ctx.Release.Name .purpose | sha256sum | trunc 32 -}}
{{- else -}}
{{- randAlphaNum 32 -}}
{{- end -}}
{{- end -}}

{{/*
A generated EC P-256 private key (PEM, "EC PRIVATE KEY", what ES256 signing needs): the live Secret's when there
is one, a new `genPrivateKey "ecdsa"` otherwise. Sprig cannot derive a key from a seed, so renders without cluster
access must give the key through existingSecret (charts/README.md, "Stable secrets").
Argument: dict "ctx" $ "secret" <Secret name> "key" <data key>.
*/}}
{{- define "switchyard-lib.generatedEcKey" -}}
{{- $live := lookup "v1" "Secret" .ctx.Release.Namespace .secret -}}
{{- if and $live (index ($live.data | default dict) .key) -}}
{{- index $live.data .key | b64dec -}}
{{- else -}}
{{- genPrivateKey "ecdsa" -}}
{{- end -}}
{{- end -}}
