{{/*
Resources are named after the release, which Catalyst sets to the
Application name: this is what the Blueprint's `outputs` advertise.
*/}}
{{- define "bp-postgres.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bp-postgres.selectorLabels" -}}
app.kubernetes.io/name: postgres
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bp-postgres.labels" -}}
{{ include "bp-postgres.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/component: database
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
catalyst.openova.io/blueprint: {{ .Chart.Name }}
{{- end -}}

{{/* An image reference from an `image: {registry, repository, tag}` block. */}}
{{- define "bp-postgres.image" -}}
{{- printf "%s/%s:%s" .registry .repository .tag -}}
{{- end -}}

{{- define "bp-postgres.appSecret" -}}
{{- default (printf "%s-credentials" (include "bp-postgres.fullname" .)) .Values.auth.existingSecret -}}
{{- end -}}

{{- define "bp-postgres.superuserSecret" -}}
{{- printf "%s-superuser" (include "bp-postgres.fullname" .) -}}
{{- end -}}

{{/*
A password kept across upgrades: reuse the key from the live Secret when
there is one, otherwise generate a new one. Call with (list $ secretName key).
*/}}
{{- define "bp-postgres.password" -}}
{{- $root := index . 0 -}}
{{- $existing := lookup "v1" "Secret" $root.Release.Namespace (index . 1) | default dict -}}
{{- $data := get $existing "data" | default dict -}}
{{- $value := "" -}}
{{- with get $data (index . 2) -}}{{- $value = b64dec . -}}{{- end -}}
{{- default (randAlphaNum 32) $value -}}
{{- end -}}
