{{- define "bp-db-backup.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "bp-db-backup.selectorLabels" -}}
app.kubernetes.io/name: db-backup
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bp-db-backup.labels" -}}
{{ include "bp-db-backup.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: backup
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
catalyst.openova.io/blueprint: {{ .Chart.Name }}
{{- end -}}

{{- define "bp-db-backup.image" -}}
{{- printf "%s/%s:%s" .registry .repository .tag -}}
{{- end -}}
