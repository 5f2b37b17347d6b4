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
A generated EC P-256 private key (PEM "EC PRIVATE KEY", SEC1, what ES256 signing needs), in the same order as
switchyard-lib.generatedSecret: the live Secret's; with global.secretSeed, one derived from it (below); otherwise a
new `genPrivateKey "ecdsa"`.
Argument: dict "ctx" $ "secret" <Secret name> "key" <data key> "purpose" <unique text>.
*/}}
{{- define "switchyard-lib.generatedEcKey" -}}
{{- $live := lookup "v1" "Secret" .ctx.Release.Namespace .secret -}}
{{- $seed := ((.ctx.Values.global | default dict).secretSeed | default "") -}}
{{- if and $live (index ($live.data | default dict) .key) -}}
{{- index $live.data .key | b64dec -}}
{{- else if $seed -}}
{{- include "switchyard-lib.derivedEcKey" (printf "%s/%s/%s/%s" $seed .ctx.Release.Namespace .ctx.Release.Name .purpose) -}}
{{- else -}}
{{- genPrivateKey "ecdsa" -}}
{{- end -}}
{{- end -}}

{{/*
An EC P-256 private key derived from a text: the scalar d is sha256(text), written as SEC1 DER without the optional
public key (OpenSSL, hence Node, computes it on import): 30 31 | 02 01 01 | 04 20 <d> | a0 0a 06 08 <prime256v1 OID>.
Sprig has no hex decoding, so the 51 bytes' hex is base64-encoded here, 3 bytes (6 hex digits) to 4 characters.
d must lie in [1, n-1]; a digest at or above the curve order n starts with ffffffff (about 1 in 4 billion), and
is then hashed again.
Argument: the text.
*/}}
{{- define "switchyard-lib.derivedEcKey" -}}
{{- $d := sha256sum . -}}
{{- if hasPrefix "ffffffff" $d -}}{{- $d = sha256sum $d -}}{{- end -}}
{{- $der := printf "30310201010420%sa00a06082a8648ce3d030107" $d -}}
{{- $digits := dict "0" 0 "1" 1 "2" 2 "3" 3 "4" 4 "5" 5 "6" 6 "7" 7 "8" 8 "9" 9 "a" 10 "b" 11 "c" 12 "d" 13 "e" 14 "f" 15 -}}
{{- $alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" -}}
{{- $b64 := "" -}}
{{- range $group := until 17 -}}
{{- $n := 0 -}}
{{- range $k := until 6 -}}
{{- $at := add (mul $group 6) $k -}}
{{- $n = add (mul $n 16) (get $digits (substr (int $at) (int (add $at 1)) $der)) -}}
{{- end -}}
{{- range $shift := list 262144 4096 64 1 -}}
{{- $at := mod (div $n $shift) 64 -}}
{{- $b64 = print $b64 (substr (int $at) (int (add $at 1)) $alphabet) -}}
{{- end -}}
{{- end -}}
-----BEGIN EC PRIVATE KEY-----
{{ substr 0 64 $b64 }}
{{ substr 64 68 $b64 }}
-----END EC PRIVATE KEY-----
{{- end -}}
