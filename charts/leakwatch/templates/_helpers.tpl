{{- define "leakwatch.labels" -}}
app.kubernetes.io/name: leakwatch
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "leakwatch.selector" -}}
app.kubernetes.io/name: leakwatch
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "leakwatch.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.leaseNamespace -}}
{{- end -}}
