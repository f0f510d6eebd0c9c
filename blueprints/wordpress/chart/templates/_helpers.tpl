{{- define "bp-wordpress.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "bp-wordpress.selectorLabels" -}}
app.kubernetes.io/name: wordpress
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "bp-wordpress.labels" -}}
{{ include "bp-wordpress.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
catalyst.openova.io/blueprint: {{ .Chart.Name }}
{{- end -}}

{{- define "bp-wordpress.image" -}}
{{- printf "%s/%s:%s" .registry .repository .tag -}}
{{- end -}}

{{/*
Database location: an existing bp-postgres Application in external mode
(its Service and `<ref>-credentials` Secret), the `db` dependency's outputs
in embedded mode.
*/}}
{{- define "bp-wordpress.dbHost" -}}
{{- if eq .Values.postgres.mode "external" -}}
{{- required "postgres.ref is required in external mode" .Values.postgres.ref -}}
{{- else -}}
{{- .Values.dependencies.db.host | default (printf "%s-postgres" .Release.Name) -}}
{{- end -}}
{{- end -}}

{{- define "bp-wordpress.dbSecret" -}}
{{- if eq .Values.postgres.mode "external" -}}
{{- printf "%s-credentials" (include "bp-wordpress.dbHost" .) -}}
{{- else -}}
{{- .Values.dependencies.db.connectionSecret | default (printf "%s-credentials" (include "bp-wordpress.dbHost" .)) -}}
{{- end -}}
{{- end -}}

{{/* Environment shared by the site and the install job. */}}
{{- define "bp-wordpress.env" -}}
- name: WORDPRESS_DB_HOST
  value: {{ printf "%s:%s" (include "bp-wordpress.dbHost" .) (toString .Values.dependencies.db.port) | quote }}
- name: WORDPRESS_DB_NAME
  value: {{ .Values.database.name | default .Release.Name | quote }}
- name: WORDPRESS_DB_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "bp-wordpress.dbSecret" . }}
      key: username
- name: WORDPRESS_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "bp-wordpress.dbSecret" . }}
      key: password
- name: WP_DOMAIN
  value: {{ .Values.domain | quote }}
{{- if .Values.cache.enabled }}
- name: WP_REDIS_HOST
  value: {{ .Values.dependencies.cache.host | default (printf "%s-valkey" .Release.Name) | quote }}
- name: WP_REDIS_PORT
  value: {{ .Values.dependencies.cache.port | quote }}
- name: WP_REDIS_USERNAME
  value: {{ .Release.Name | quote }}
- name: WP_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.dependencies.cache.authSecret | default (printf "%s-valkey-auth" .Release.Name) }}
      key: {{ .Release.Name }}
{{- end }}
- name: WORDPRESS_CONFIG_EXTRA
  valueFrom:
    configMapKeyRef:
      name: {{ include "bp-wordpress.fullname" . }}-config
      key: config-extra.php
{{- end -}}
