{{/* Chart name, overridable. */}}
{{- define "keygate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name: the release name when it already contains the chart name (so
`helm install keygate ./helm/keygate` gives "keygate", not "keygate-keygate").
*/}}
{{- define "keygate.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "keygate.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "keygate.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keygate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "keygate.labels" -}}
helm.sh/chart: {{ include "keygate.chart" . }}
{{ include "keygate.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: {{ .Values.mode }}
{{- end }}

{{- define "keygate.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "keygate.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding admin-token, token-signing-key, pepper and redis-url. */}}
{{- define "keygate.secretName" -}}
{{- default (include "keygate.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{- define "keygate.configMapName" -}}
{{- printf "%s-config" (include "keygate.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "keygate.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
Secrets reach keygate as environment variables; the config refers to them as ${VAR}
(interpolated by keygate when it loads the file). Every reference is optional so that an
existingSecret may omit what it does not use; the config's ${VAR:-} defaults cover the gaps.
*/}}
{{- define "keygate.env" -}}
{{- $secret := include "keygate.secretName" . -}}
- name: KEYGATE_CONFIG
  value: /etc/keygate/keygate.yaml
- name: KEYGATE_ADMIN_TOKEN
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: admin-token, optional: true }
- name: KEYGATE_TOKEN_SIGNING_KEY
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: token-signing-key, optional: true }
- name: KEYGATE_KEY_PEPPER
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: pepper, optional: true }
{{- if .Values.redis.existingSecret }}
- name: KEYGATE_REDIS_URL
  valueFrom:
    secretKeyRef: { name: {{ .Values.redis.existingSecret }}, key: {{ .Values.redis.existingSecretKey }} }
{{- else if .Values.redis.url }}
{{- if .Values.secrets.existingSecret }}
{{- fail "redis.url cannot be combined with secrets.existingSecret: put the URL in a Secret and set redis.existingSecret" }}
{{- end }}
- name: KEYGATE_REDIS_URL
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: redis-url }
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Pod annotations that roll the pods. rollout: on any change of the route file. watch: routes,
roles, upstreams, principals, credentials and tokens reload in place, but the listeners, the
store, key issuing and logging are set up once at start, so a change there still rolls.
Either way a change of the chart's Secret rolls (env vars are read at start).
*/}}
{{- define "keygate.checksums" -}}
{{- if eq .Values.configReload "rollout" }}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- else }}
checksum/config-restart: {{ pick .Values.config "server" "admin" "store" "keys" "log" | toYaml | sha256sum }}
{{- end }}
{{- if not .Values.secrets.existingSecret }}
checksum/secret: {{ include (print .Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}
