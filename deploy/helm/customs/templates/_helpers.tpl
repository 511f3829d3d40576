{{/* The release's name prefix: the release name, with "-customs" unless it already says so. */}}
{{- define "customs.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "customs.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: customs
{{- end -}}

{{/* Labels that select one service's pods; with a role, one workload's. ctx: root, name, role */}}
{{- define "customs.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{ include "customs.componentLabels" . }}
{{- end -}}

{{/* What tells a service's (and a workload's) objects apart, beside customs.labels. */}}
{{- define "customs.componentLabels" -}}
app.kubernetes.io/component: {{ .name }}
{{- if .role }}
customs.io/role: {{ .role }}
{{- end }}
{{- end -}}

{{/* A workload's name: the service's, with "-consumer" for a consumer-only workload. */}}
{{- define "customs.workloadName" -}}
{{- if eq .role "consumer" -}}
{{- printf "%s-%s-consumer" (include "customs.fullname" .root) .name -}}
{{- else -}}
{{- printf "%s-%s" (include "customs.fullname" .root) .name -}}
{{- end -}}
{{- end -}}

{{- define "customs.serviceName" -}}
{{- printf "%s-%s" (include "customs.fullname" .root) .name -}}
{{- end -}}

{{- define "customs.image" -}}
{{- $image := .root.Values.image -}}
{{- printf "%s/%s%s:%s" $image.registry $image.repositoryPrefix .name (default .root.Chart.AppVersion $image.tag) -}}
{{- end -}}

{{- define "customs.secretName" -}}
{{- default (printf "%s-secrets" (include "customs.fullname" .)) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The most replicas a workload may run: its autoscaler's maximum, or its fixed count. */}}
{{- define "customs.maxReplicas" -}}
{{- if eq (.autoscaling.type | default "none") "none" -}}
{{- .replicas | int -}}
{{- else -}}
{{- .autoscaling.maxReplicas | int -}}
{{- end -}}
{{- end -}}

{{/* Pod-level settings shared by the Deployments and the migration Jobs. */}}
{{- define "customs.podCommon" -}}
automountServiceAccountToken: false
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
