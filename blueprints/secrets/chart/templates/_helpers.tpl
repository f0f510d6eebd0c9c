{{- define "bp-secrets.labels" -}}
app.kubernetes.io/name: secrets
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
catalyst.openova.io/blueprint: {{ .Chart.Name }}
{{- end -}}

{{/* Name of the subchart's Service, as the subchart computes it. */}}
{{- define "bp-secrets.openbaoService" -}}
{{- printf "%s-openbao" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
