{{/* Labels every object of this chart carries. */}}
{{- define "pbh.labels" -}}
app.kubernetes.io/name: persistent-binderhub
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* Bytes of a z2jh memory amount: a number, or a number with K, M, G or T (powers of 1024). */}}
{{- define "pbh.bytes" -}}
{{- $text := toString . -}}
{{- $units := dict "K" 1024 "M" 1048576 "G" 1073741824 "T" 1099511627776 -}}
{{- $suffix := regexFind "[KMGT]$" $text -}}
{{- if $suffix -}}
{{- mulf (float64 (trimSuffix $suffix $text)) (get $units $suffix) -}}
{{- else -}}
{{- float64 $text -}}
{{- end -}}
{{- end }}

{{/*
Checks that JSON Schema cannot express: settings that contradict each other
or that authentication needs. Each failure names the key and the fix.
*/}}
{{- define "pbh.validate" -}}
{{- $bh := .Values.binderhub | default dict -}}
{{- $jh := $bh.jupyterhub | default dict -}}
{{- $hub := $jh.hub | default dict -}}
{{- $hubConfig := $hub.config | default dict -}}
{{- $single := $jh.singleuser | default dict -}}
{{- $bhConfig := ($bh.config | default dict).BinderHub | default dict -}}
{{- $auth := $bhConfig.auth_enabled -}}
{{- if ne (toString $auth) (toString (($hubConfig.BinderSpawner | default dict).auth_enabled)) -}}
{{- fail "binderhub.config.BinderHub.auth_enabled and binderhub.jupyterhub.hub.config.BinderSpawner.auth_enabled must be equal: set both to true for logged-in users" -}}
{{- end -}}
{{- if $auth -}}
{{- if ($jh.cull | default dict).users -}}
{{- fail "binderhub.jupyterhub.cull.users must be false when authentication is on: culling would delete logged-in users; idle servers are removed by cull.removeNamedServers" -}}
{{- end -}}
{{- $authenticator := ($hubConfig.JupyterHub | default dict).authenticator_class | default "" | toString -}}
{{- if or (eq $authenticator "") (eq $authenticator "null") -}}
{{- fail "binderhub.jupyterhub.hub.config.JupyterHub.authenticator_class is required when authentication is on, e.g. generic-oauth for an OIDC login" -}}
{{- end -}}
{{- if has $authenticator (list "generic-oauth" "oauthenticator.generic.GenericOAuthenticator" "oauthenticator.GenericOAuthenticator") -}}
{{- $oidc := $hubConfig.GenericOAuthenticator | default dict -}}
{{- range $key := list "client_id" "authorize_url" "token_url" "userdata_url" -}}
{{- if not (get $oidc $key) -}}
{{- fail (printf "binderhub.jupyterhub.hub.config.GenericOAuthenticator.%s is required for the OIDC login (authenticator_class %s)" $key $authenticator) -}}
{{- end -}}
{{- end -}}
{{- if get $oidc "client_secret" -}}
{{- fail "binderhub.jupyterhub.hub.config.GenericOAuthenticator.client_secret must not be in values: put it in a Secret and pass it as OAUTH_CLIENT_SECRET through binderhub.jupyterhub.hub.extraEnv (see values/cerit.yaml)" -}}
{{- end -}}
{{- end -}}
{{- if not ((($hub.services | default dict).binder | default dict).oauth_redirect_uri) -}}
{{- fail "binderhub.jupyterhub.hub.services.binder.oauth_redirect_uri is required when authentication is on: https://<binder host>/oauth_callback" -}}
{{- end -}}
{{- end -}}
{{- if not $hub.allowNamedServers -}}
{{- fail "binderhub.jupyterhub.hub.allowNamedServers must be true: every launch is a named server" -}}
{{- end -}}
{{- $storageType := toString (($single.storage | default dict).type) -}}
{{- if ne $storageType "none" -}}
{{- fail (printf "binderhub.jupyterhub.singleuser.storage.type is %q but must be none: the per-user volume comes from binderhub.jupyterhub.hub.config.UserStorage" $storageType) -}}
{{- end -}}
{{- $cpu := $single.cpu | default dict -}}
{{- if and $cpu.guarantee $cpu.limit (gt (float64 $cpu.guarantee) (float64 $cpu.limit)) -}}
{{- fail (printf "binderhub.jupyterhub.singleuser.cpu.limit (%v) is below cpu.guarantee (%v)" $cpu.limit $cpu.guarantee) -}}
{{- end -}}
{{- $memory := $single.memory | default dict -}}
{{- if and $memory.guarantee $memory.limit -}}
{{- if gt (float64 (include "pbh.bytes" $memory.guarantee)) (float64 (include "pbh.bytes" $memory.limit)) -}}
{{- fail (printf "binderhub.jupyterhub.singleuser.memory.limit (%v) is below memory.guarantee (%v)" $memory.limit $memory.guarantee) -}}
{{- end -}}
{{- end -}}
{{- $policy := $hubConfig.ResourcePolicy | default dict -}}
{{- range $what := list "cpu" "mem" -}}
{{- $guarantee := get $policy (printf "default_%s_guarantee" $what) -}}
{{- $limit := get $policy (printf "default_%s_limit" $what) -}}
{{- $max := get $policy (printf "max_%s" $what) -}}
{{- if and $guarantee $limit (gt (float64 $guarantee) (float64 $limit)) -}}
{{- fail (printf "binderhub.jupyterhub.hub.config.ResourcePolicy.default_%s_limit (%v) is below default_%s_guarantee (%v)" $what $limit $what $guarantee) -}}
{{- end -}}
{{- if and $limit $max (gt (float64 $limit) (float64 $max)) -}}
{{- fail (printf "binderhub.jupyterhub.hub.config.ResourcePolicy.default_%s_limit (%v) is above max_%s (%v)" $what $limit $what $max) -}}
{{- end -}}
{{- end -}}
{{- range $what, $single := dict "cpu" ($single.cpu | default dict) "mem" ($single.memory | default dict) -}}
{{- $max := get $policy (printf "max_%s" $what) -}}
{{- if and $max $single.limit (not (get $policy (printf "default_%s_limit" $what))) -}}
{{- $limit := ternary (float64 $single.limit) (divf (float64 (include "pbh.bytes" $single.limit)) 1073741824) (eq $what "cpu") -}}
{{- if gt $limit (float64 $max) -}}
{{- fail (printf "binderhub.jupyterhub.singleuser.%s.limit (%v) is above binderhub.jupyterhub.hub.config.ResourcePolicy.max_%s (%v): the default may not exceed the cap" (ternary "cpu" "memory" (eq $what "cpu")) $single.limit $what $max) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $storage := .Values.persistentBinderhub.storageClass -}}
{{- if and $storage.create (or (not $storage.nfs.server) (not $storage.nfs.share)) -}}
{{- fail "persistentBinderhub.storageClass.nfs.server and .share are required when persistentBinderhub.storageClass.create is true" -}}
{{- end -}}
{{- end }}
