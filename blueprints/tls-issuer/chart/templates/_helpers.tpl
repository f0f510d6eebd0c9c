{{- define "bp-tls-issuer.labels" -}}
app.kubernetes.io/name: tls-issuer
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
catalyst.openova.io/blueprint: {{ .Chart.Name }}
{{- end -}}
