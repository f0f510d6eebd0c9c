{{- define "bp-sso.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 54 | trimSuffix "-" -}}
{{- end -}}

{{- define "bp-sso.selectorLabels" -}}
app.kubernetes.io/name: keycloak
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bp-sso.labels" -}}
{{ include "bp-sso.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/component: identity-provider
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
catalyst.openova.io/blueprint: {{ .Chart.Name }}
{{- end -}}

{{/*
Database location. External mode names an existing bp-postgres Application,
whose Service and credentials Secret follow that Blueprint's outputs
(`<app>` and `<app>-credentials`). Embedded mode takes the outputs of the
`db` dependency.
*/}}
{{- define "bp-sso.dbHost" -}}
{{- if eq .Values.database.mode "external" -}}
{{- required "database.ref is required in external mode" .Values.database.ref -}}
{{- else -}}
{{- .Values.dependencies.db.host | default (printf "%s-postgres" .Release.Name) -}}
{{- end -}}
{{- end -}}

{{- define "bp-sso.dbSecret" -}}
{{- if eq .Values.database.mode "external" -}}
{{- printf "%s-credentials" (include "bp-sso.dbHost" .) -}}
{{- else -}}
{{- .Values.dependencies.db.connectionSecret | default (printf "%s-credentials" (include "bp-sso.dbHost" .)) -}}
{{- end -}}
{{- end -}}
