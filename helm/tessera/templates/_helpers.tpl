{{- define "tessera.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "tessera.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "tessera.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{ include "tessera.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "tessera.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tessera.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "tessera.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "tessera.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "tessera.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "tessera.secretName" -}}
{{- default (include "tessera.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* The hardened security context every tessera container runs with. */}}
{{- define "tessera.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The environment shared by the server and the Jobs: settings and secrets. */}}
{{- define "tessera.env" -}}
- name: TESSERA_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "tessera.secretName" . }}
      key: database-url
- name: TESSERA_KEY_ENCRYPTION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "tessera.secretName" . }}
      key: key-encryption-key
- name: TESSERA_PEPPER
  valueFrom:
    secretKeyRef:
      name: {{ include "tessera.secretName" . }}
      key: pepper
{{- end }}

{{/*
"true" when the OAuth port is served: asked for, with TLS (never plaintext from the chart), and
with settings.issuer its public https:// URL (the binary serves it only then; NOTES says so).
*/}}
{{- define "tessera.oauthServed" -}}
{{- if and .Values.oauth.enabled .Values.tls.enabled (hasPrefix "https://" .Values.settings.issuer) -}}
true
{{- end -}}
{{- end }}
