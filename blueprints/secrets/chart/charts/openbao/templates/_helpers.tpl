{{- define "openbao.fullname" -}}
{{- printf "%s-openbao" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "openbao.selectorLabels" -}}
app.kubernetes.io/name: openbao
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "openbao.labels" -}}
{{ include "openbao.selectorLabels" . }}
app.kubernetes.io/component: server
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
