{{/* Names ---------------------------------------------------------------- */}}
{{- define "taskbeat.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "taskbeat.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "taskbeat.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "taskbeat.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "taskbeat.secretName" -}}
{{- default (include "taskbeat.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* Labels: common set, and the selector set of one component ("web", …). */}}
{{- define "taskbeat.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "taskbeat.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: taskbeat
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "taskbeat.selectorLabels" -}}
app.kubernetes.io/name: {{ include "taskbeat.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "taskbeat.componentLabels" -}}
{{ include "taskbeat.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "taskbeat.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry -}}{{- $repo = printf "%s/%s" .Values.image.registry .Values.image.repository -}}{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The bridge runs only with Kafka configured. */}}
{{- define "taskbeat.bridgeEnabled" -}}
{{- if and .Values.bridge.enabled .Values.kafka.bootstrapServers -}}true{{- end -}}
{{- end -}}

{{/* Secrets: setting name -> key in the Secret, only the settings given. With
"direct" (bridge, migrate) and postgresql.directUrlKey set, DATABASE_URL comes
from that key instead (a connection that bypasses PgBouncer). */}}
{{- define "taskbeat.secretItems" -}}
{{- $direct := and .direct .root.Values.postgresql.directUrlKey -}}
{{- range $setting, $key := .root.Values.secrets.keys }}
{{- if $key }}
- key: {{ if and $direct (eq $setting "DATABASE_URL") }}{{ $.root.Values.postgresql.directUrlKey }}{{ else }}{{ $key }}{{ end }}
  path: {{ $setting }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Data of the chart-created Secret (also copied into the migrate hook's Secret). */}}
{{- define "taskbeat.secretData" -}}
{{- range $setting, $key := .Values.secrets.keys }}
{{- if $key }}
{{- $value := index $.Values.secrets.values $setting | default "" }}
{{- if not $value }}
{{- fail (printf "secrets.values.%s is required when secrets.existingSecret is empty (or set secrets.keys.%s to \"\")" $setting $setting) }}
{{- end }}
{{ $key }}: {{ $value | b64enc | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{- define "taskbeat.directUrlData" -}}
{{- if .Values.postgresql.directUrlKey }}
{{- $value := index .Values.secrets.values "DIRECT_DATABASE_URL" | default "" }}
{{- if not $value }}
{{- fail "secrets.values.DIRECT_DATABASE_URL is required when postgresql.directUrlKey is set and secrets.existingSecret is empty" }}
{{- end }}
{{ .Values.postgresql.directUrlKey }}: {{ $value | b64enc | quote }}
{{- end }}
{{- end -}}

{{/* Data of the ConfigMap (also copied into the migrate hook's ConfigMap). */}}
{{- define "taskbeat.configData" -}}
{{- $hosts := list -}}
{{- range .Values.ingress.hosts }}{{- $hosts = append $hosts . -}}{{- end -}}
{{- $allowed := .Values.config.allowedHosts | default $hosts -}}
{{- $origins := list -}}
{{- range $hosts }}{{- $origins = append $origins (printf "https://%s" .) -}}{{- end -}}
{{- $csrf := .Values.config.csrfTrustedOrigins | default $origins -}}
{{- $public := .Values.config.publicBaseUrl | default (empty $hosts | ternary "" (printf "https://%s" (first $hosts | default ""))) -}}
DEBUG: {{ .Values.config.debug | quote }}
ALLOWED_HOSTS: {{ join "," $allowed | quote }}
CSRF_TRUSTED_ORIGINS: {{ join "," $csrf | quote }}
{{- with .Values.config.mcpAllowedOrigins }}
MCP_ALLOWED_ORIGINS: {{ join "," . | quote }}
{{- end }}
{{- if $public }}
PUBLIC_BASE_URL: {{ $public | quote }}
{{- end }}
LOG_LEVEL: {{ .Values.config.logLevel | quote }}
LOG_FORMAT: {{ .Values.config.logFormat | quote }}
NUM_PROXIES: {{ .Values.config.numProxies | quote }}
FORWARDED_ALLOW_IPS: {{ .Values.config.forwardedAllowIps | quote }}
API_DOCS_ENABLED: {{ .Values.config.apiDocsEnabled | quote }}
METRICS_PORT: {{ .Values.metrics.port | quote }}
{{- with .Values.otel.endpoint }}
OTEL_EXPORTER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
DATABASE_POOL: {{ .Values.postgresql.pool.enabled | quote }}
DATABASE_POOL_MIN_SIZE: {{ .Values.postgresql.pool.minSize | quote }}
DATABASE_POOL_MAX_SIZE: {{ .Values.postgresql.pool.maxSize | quote }}
DATABASE_PGBOUNCER: {{ .Values.postgresql.pgbouncer | quote }}
WEB_BIND: "0.0.0.0:8000"
WEB_WORKERS: {{ .Values.web.workers | quote }}
WEB_THREADS: {{ .Values.web.threads | quote }}
{{- if .Values.kafka.bootstrapServers }}
KAFKA_BOOTSTRAP_SERVERS: {{ .Values.kafka.bootstrapServers | quote }}
KAFKA_SECURITY_PROTOCOL: {{ .Values.kafka.securityProtocol | quote }}
KAFKA_REPLICATION_FACTOR: {{ .Values.kafka.replicationFactor | quote }}
KAFKA_TOPIC_PREFIX: {{ .Values.kafka.topicPrefix | quote }}
KAFKA_BRIDGE_BATCH_SIZE: {{ .Values.bridge.batchSize | quote }}
{{- with .Values.kafka.saslMechanism }}
KAFKA_SASL_MECHANISM: {{ . | quote }}
{{- end }}
{{- with .Values.kafka.saslUsername }}
KAFKA_SASL_USERNAME: {{ . | quote }}
{{- end }}
{{- end }}
{{- range $name, $value := .Values.config.extra }}
{{ $name }}: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Env of every container: the *_FILE pointers of the mounted secrets. */}}
{{- define "taskbeat.secretEnv" -}}
{{- range $setting, $key := .Values.secrets.keys }}
{{- if $key }}
- name: {{ $setting }}_FILE
  value: /etc/taskbeat/secrets/{{ $setting }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Pod template shared by every workload.
Args: root, component, spec (the component's values), command (list), ports (list of
{name, containerPort}), probes (bool: HTTP probes on the "http" port), configName,
secretName (the Secret to mount), serviceAccountName.
*/}}
{{- define "taskbeat.podTemplate" -}}
{{- $root := .root -}}
{{- $spec := .spec -}}
metadata:
  labels:
    {{- include "taskbeat.componentLabels" (dict "root" $root "component" .component) | nindent 4 }}
    {{- with $spec.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  annotations:
    checksum/config: {{ include "taskbeat.configData" $root | sha256sum }}
    {{- if not $root.Values.secrets.existingSecret }}
    checksum/secret: {{ include "taskbeat.secretData" $root | sha256sum }}
    {{- end }}
    {{- with $spec.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ .serviceAccountName }}
  automountServiceAccountToken: {{ $root.Values.serviceAccount.automountServiceAccountToken }}
  {{- with $root.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .restartPolicy }}
  restartPolicy: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ $spec.terminationGracePeriodSeconds | default 30 }}
  securityContext:
    {{- toYaml $root.Values.podSecurityContext | nindent 4 }}
  {{- with $spec.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $spec.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $spec.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if $spec.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml $spec.topologySpreadConstraints | nindent 4 }}
  {{- else if and $root.Values.defaultTopologySpread (not .restartPolicy) }}
  topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "taskbeat.selectorLabels" (dict "root" $root "component" .component) | nindent 10 }}
    - maxSkew: 1
      topologyKey: topology.kubernetes.io/zone
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          {{- include "taskbeat.selectorLabels" (dict "root" $root "component" .component) | nindent 10 }}
  {{- end }}
  containers:
    - name: {{ .component }}
      image: {{ include "taskbeat.image" $root }}
      imagePullPolicy: {{ $root.Values.image.pullPolicy }}
      command:
        {{- toYaml .command | nindent 8 }}
      envFrom:
        - configMapRef:
            name: {{ .configName }}
      env:
        {{- include "taskbeat.secretEnv" $root | nindent 8 }}
        - name: OTEL_SERVICE_NAME
          value: taskbeat-{{ .component }}
        {{- if and .direct $root.Values.postgresql.directUrlKey }}
        # Its DATABASE_URL bypasses PgBouncer (postgresql.directUrlKey).
        - name: DATABASE_PGBOUNCER
          value: "false"
        {{- end }}
        {{- with $spec.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- with .ports }}
      ports:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if .probes }}
      startupProbe:
        httpGet: {path: /health, port: http}
        periodSeconds: 2
        failureThreshold: 60
      livenessProbe:
        httpGet: {path: /health, port: http}
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet: {path: /ready, port: http}
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 2
      {{- else if .metricsProbes }}
      # No HTTP API in this process: the metrics exporter answers while the process lives.
      startupProbe:
        httpGet: {path: /metrics, port: metrics}
        periodSeconds: 2
        failureThreshold: 60
      livenessProbe:
        httpGet: {path: /metrics, port: metrics}
        periodSeconds: 20
        timeoutSeconds: 5
        failureThreshold: 3
      readinessProbe:
        httpGet: {path: /metrics, port: metrics}
        periodSeconds: 20
        timeoutSeconds: 5
        failureThreshold: 3
      {{- end }}
      resources:
        {{- toYaml $spec.resources | nindent 8 }}
      securityContext:
        {{- toYaml $root.Values.containerSecurityContext | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
        - name: secrets
          mountPath: /etc/taskbeat/secrets
          readOnly: true
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: {{ $root.Values.tmpSizeLimit }}
    - name: secrets
      secret:
        secretName: {{ .secretName }}
        defaultMode: 0440
        items:
          {{- include "taskbeat.secretItems" (dict "root" $root "direct" .direct) | nindent 10 }}
{{- end -}}

{{/* Refuse contradictory values early, with a message naming the fix. */}}
{{- define "taskbeat.validate" -}}
{{- if and .Values.worker.autoscaling.enabled .Values.worker.keda.enabled -}}
{{- fail "worker: enable either autoscaling (HPA) or keda, not both: two controllers would fight over one Deployment's replicas" -}}
{{- end -}}
{{- if and .Values.kafka.strimziTopics.enabled (not .Values.kafka.strimziTopics.cluster) -}}
{{- fail "kafka.strimziTopics.cluster is required when kafka.strimziTopics.enabled" -}}
{{- end -}}
{{- if and .Values.ingress.enabled (not .Values.ingress.hosts) -}}
{{- fail "ingress.hosts needs at least one host when ingress.enabled" -}}
{{- end -}}
{{- end -}}

{{/* checkov skips with their reasons, on every workload (annotations of the object). */}}
{{- define "taskbeat.checkovSkips" -}}
checkov.io/skip1: CKV_K8S_15=IfNotPresent is right for immutable release tags and digests; Always only adds a registry round trip per pod start
{{- if not .Values.image.digest }}
checkov.io/skip2: CKV_K8S_43=the tag is pinned to the release; set image.digest to pin by digest as well
{{- end }}
{{- end -}}
