{{/* Labels every object of this chart carries. */}}
{{- define "pbh.labels" -}}
app.kubernetes.io/name: persistent-binderhub
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/*
The namespace notebooks run in, with their claims, key Secrets, known hosts
ConfigMap, quota and LimitRange: hub.config.KubeSpawner.namespace when an
admin sets it (notebooks under a stricter Pod Security level than dind's),
else the release's.
*/}}
{{- define "pbh.notebookNamespace" -}}
{{- $hub := ((.Values.binderhub | default dict).jupyterhub | default dict).hub | default dict -}}
{{- $spawner := (($hub.config | default dict).KubeSpawner | default dict) -}}
{{- $spawner.namespace | default .Release.Namespace -}}
{{- end }}

{{/*
Checks that neither JSON Schema nor the hub's Python makes: settings that
contradict each other or that authentication needs. Every problem is
collected, each naming the key and the fix, and the render fails once with
all of them. Resource amounts (singleuser.cpu/memory, ResourcePolicy) are
checked by the hub's Python only (ResourcePolicy.contradictions): at hub
start and by `python -m pyconfig check --values`.
*/}}
{{- define "pbh.validate" -}}
{{- $problems := list -}}
{{- $bh := .Values.binderhub | default dict -}}
{{- $jh := $bh.jupyterhub | default dict -}}
{{- $hub := $jh.hub | default dict -}}
{{- $hubConfig := $hub.config | default dict -}}
{{- $single := $jh.singleuser | default dict -}}
{{- $bhConfig := ($bh.config | default dict).BinderHub | default dict -}}
{{- $auth := $bhConfig.auth_enabled -}}
{{- if ne (toString $auth) (toString (($hubConfig.BinderSpawner | default dict).auth_enabled)) -}}
{{- $problems = append $problems "binderhub.config.BinderHub.auth_enabled and binderhub.jupyterhub.hub.config.BinderSpawner.auth_enabled must be equal: set both to true for logged-in users" -}}
{{- end -}}
{{- if $auth -}}
{{- if ($jh.cull | default dict).users -}}
{{- $problems = append $problems "binderhub.jupyterhub.cull.users must be false when authentication is on: culling would delete logged-in users; idle servers are removed by cull.removeNamedServers" -}}
{{- end -}}
{{- $authenticator := ($hubConfig.JupyterHub | default dict).authenticator_class | default "" | toString -}}
{{- if or (eq $authenticator "") (eq $authenticator "null") -}}
{{- $problems = append $problems "binderhub.jupyterhub.hub.config.JupyterHub.authenticator_class is required when authentication is on, e.g. generic-oauth for an OIDC login" -}}
{{- end -}}
{{- if has $authenticator (list "generic-oauth" "oauthenticator.generic.GenericOAuthenticator" "oauthenticator.GenericOAuthenticator") -}}
{{- $oidc := $hubConfig.GenericOAuthenticator | default dict -}}
{{- range $key := list "client_id" "authorize_url" "token_url" "userdata_url" -}}
{{- if not (get $oidc $key) -}}
{{- $problems = append $problems (printf "binderhub.jupyterhub.hub.config.GenericOAuthenticator.%s is required for the OIDC login (authenticator_class %s)" $key $authenticator) -}}
{{- end -}}
{{- end -}}
{{- if get $oidc "client_secret" -}}
{{- $problems = append $problems "binderhub.jupyterhub.hub.config.GenericOAuthenticator.client_secret must not be in values: put it in a Secret and pass it as OAUTH_CLIENT_SECRET through binderhub.jupyterhub.hub.extraEnv (see values/cerit.yaml)" -}}
{{- end -}}
{{- end -}}
{{- if not ((($hub.services | default dict).binder | default dict).oauth_redirect_uri) -}}
{{- $problems = append $problems "binderhub.jupyterhub.hub.services.binder.oauth_redirect_uri is required when authentication is on: https://<binder host>/oauth_callback" -}}
{{- end -}}
{{- end -}}
{{- if not $hub.allowNamedServers -}}
{{- $problems = append $problems "binderhub.jupyterhub.hub.allowNamedServers must be true: every launch is a named server" -}}
{{- end -}}
{{- $storageType := toString (($single.storage | default dict).type) -}}
{{- if ne $storageType "none" -}}
{{- $problems = append $problems (printf "binderhub.jupyterhub.singleuser.storage.type is %q but must be none: the per-user volume comes from binderhub.jupyterhub.hub.config.UserStorage" $storageType) -}}
{{- end -}}
{{- $notebooks := include "pbh.notebookNamespace" . -}}
{{- if and (ne $notebooks .Release.Namespace) ((($hub.networkPolicy | default dict).enabled) | toString | ne "false") -}}
{{- $admitted := false -}}
{{- range $rule := (($hub.networkPolicy | default dict).ingress | default list) -}}
{{- range $peer := ($rule.from | default list) -}}
{{- if eq (toString (dig "namespaceSelector" "matchLabels" "kubernetes.io/metadata.name" "" $peer)) $notebooks -}}
{{- $admitted = true -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not $admitted -}}
{{- $problems = append $problems (printf "binderhub.jupyterhub.hub.networkPolicy.ingress must admit the notebooks' namespace %s (hub.config.KubeSpawner.namespace), or notebooks cannot reach the hub API: add a rule from namespaceSelector matchLabels kubernetes.io/metadata.name: %s with podSelector matchLabels hub.jupyter.org/network-access-hub: \"true\" (docs/admins.md, \"Pod Security and the notebook namespace\")" $notebooks $notebooks) -}}
{{- end -}}
{{- end -}}
{{- range $pod := list (list "binderhub.jupyterhub.hub" $hub) (list "binderhub" $bh) -}}
{{- $values := index $pod 1 -}}
{{- $volumes := list -}}
{{- range $volume := $values.extraVolumes | default list -}}
{{- $volumes = append $volumes $volume.name -}}
{{- end -}}
{{- $mounts := list -}}
{{- range $mount := $values.extraVolumeMounts | default list -}}
{{- $mounts = append $mounts $mount.name -}}
{{- end -}}
{{- if not (and (has "persistent-binderhub-pyconfig" $volumes) (has "persistent-binderhub-pyconfig" $mounts)) -}}
{{- $problems = append $problems (printf "%s.extraVolumes and %s.extraVolumeMounts must keep the chart's persistent-binderhub-pyconfig entries, or its pod runs without this project's code: a list in a values file replaces the chart's, so copy those entries from the chart's values.yaml into yours (values/cerit.yaml does)" (index $pod 0) (index $pod 0)) -}}
{{- end -}}
{{- end -}}
{{- $storage := .Values.persistentBinderhub.storageClass -}}
{{- if and $storage.create (or (not $storage.nfs.server) (not $storage.nfs.share)) -}}
{{- $problems = append $problems "persistentBinderhub.storageClass.nfs.server and .share are required when persistentBinderhub.storageClass.create is true" -}}
{{- end -}}
{{- if $problems -}}
{{- $count := printf "%d %s" (len $problems) (ternary "problem" "problems" (eq (len $problems) 1)) -}}
{{- fail (printf "the values have %s; fix each and run helm again:\n- %s" $count (join "\n- " $problems)) -}}
{{- end -}}
{{- end }}
