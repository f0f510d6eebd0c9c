{{/* Resources are named after the release, i.e. the Application. */}}
{{- define "bp-valkey.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bp-valkey.selectorLabels" -}}
app.kubernetes.io/name: valkey
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bp-valkey.labels" -}}
{{ include "bp-valkey.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
catalyst.openova.io/blueprint: {{ .Chart.Name }}
{{- end -}}

{{- define "bp-valkey.image" -}}
{{- printf "%s/%s:%s" .registry .repository .tag -}}
{{- end -}}

{{- define "bp-valkey.authSecret" -}}
{{- printf "%s-auth" (include "bp-valkey.fullname" .) -}}
{{- end -}}
