{{- define "bp-observability.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "bp-observability.prometheusName" -}}
{{- printf "%s-prometheus" (include "bp-observability.fullname" .) -}}
{{- end -}}

{{- define "bp-observability.nodeExporterName" -}}
{{- printf "%s-node-exporter" (include "bp-observability.fullname" .) -}}
{{- end -}}

{{/* Labels; call with (dict "root" $ "name" "prometheus"). */}}
{{- define "bp-observability.selectorLabels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "bp-observability.labels" -}}
{{ include "bp-observability.selectorLabels" . }}
app.kubernetes.io/part-of: metrics-stack
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
catalyst.openova.io/blueprint: {{ .root.Chart.Name }}
{{- end -}}

{{- define "bp-observability.image" -}}
{{- printf "%s/%s:%s" .registry .repository .tag -}}
{{- end -}}

{{/* Alerting rules, loaded by the bundled Prometheus and, when enabled,
published as a PrometheusRule for an outside stack. */}}
{{- define "bp-observability.ruleGroups" -}}
- name: cluster-health
  rules:
    - alert: TargetDown
      expr: up == 0
      for: 10m
      labels:
        severity: warning
      annotations:
        summary: "{{ "{{" }} $labels.job {{ "}}" }} target {{ "{{" }} $labels.instance {{ "}}" }} is down."
    - alert: NodeFilesystemAlmostFull
      expr: |
        node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes < 0.10
      for: 15m
      labels:
        severity: warning
      annotations:
        summary: "Filesystem {{ "{{" }} $labels.mountpoint {{ "}}" }} on {{ "{{" }} $labels.instance {{ "}}" }} has under 10% free."
    - alert: PodCrashLooping
      expr: increase(kube_pod_container_status_restarts_total[15m]) > 3
      for: 5m
      labels:
        severity: warning
      annotations:
        summary: "{{ "{{" }} $labels.namespace {{ "}}" }}/{{ "{{" }} $labels.pod {{ "}}" }} restarts repeatedly."
    - alert: PrometheusStorageFilling
      expr: |
        predict_linear(prometheus_tsdb_storage_blocks_bytes[6h], 24 * 3600)
          > 0.9 * {{ include "bp-observability.storageBytes" . }}
      for: 1h
      labels:
        severity: warning
      annotations:
        summary: Prometheus storage will be full within a day.
{{- end -}}

{{/* The volume size in bytes, for the storage alert. */}}
{{- define "bp-observability.storageBytes" -}}
{{- $size := .Values.storage.size -}}
{{- if hasSuffix "Ti" $size -}}
{{- mul (trimSuffix "Ti" $size | int64) 1099511627776 -}}
{{- else -}}
{{- mul (trimSuffix "Gi" $size | int64) 1073741824 -}}
{{- end -}}
{{- end -}}
