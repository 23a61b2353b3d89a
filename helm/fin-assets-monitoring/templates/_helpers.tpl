{{/* The name of every object: the release name, then "-exporter", "-rules" or "-dashboards". */}}
{{- define "fin-assets-monitoring.name" -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "fin-assets-monitoring.labels" -}}
app.kubernetes.io/name: fin-assets-monitoring
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* The exporter's selector labels (Deployment, Service, ServiceMonitor). */}}
{{- define "fin-assets-monitoring.exporterSelector" -}}
app.kubernetes.io/name: fin-assets-monitoring
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: exporter
{{- end -}}
