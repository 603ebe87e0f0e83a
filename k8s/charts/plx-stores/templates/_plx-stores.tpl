{{/*
plx-stores: the storage connections a run mounts, as `stores render` (plx-stores, no plugins)
gives them, from the chart's own values sections:

  persistence:     the legacy spelling (data / outputs / logs / repos / upload)
  artifactsStore:  the current spelling: one connection ...
  connections:     ... and a list of connections

Public templates; each takes the root context `.` (the run is then `.Values.plxStores.run`) or a
dict `(dict "values" .Values "run" $run)`, and prints a YAML list (`[]` when empty):

  plx-stores.volumes       the pod's volumes
  plx-stores.volumeMounts  the main container's volumeMounts
  plx-stores.env           the main container's env (credentials and the run contract)
  plx-stores.envFrom       the main container's envFrom
  plx-stores.patch         all four as one JSON object (for templates that post-process)

The run (the selection of `stores render`):

  uuid:        the run's uuid (required)
  owner:       default "default"
  project:     default "default"
  name:        the run's name (optional)
  namespace:   the run's namespace (optional; only for globals.namespace)
  data:        names of the data stores (or other connections) it mounts; absent or null: all
               data stores, [] none
  outputs:     the outputs store; absent: the first (with several legacy outputs stores it must
               be named: helm does not keep the order of a mapping)
  gcsDefault:  the GCS connection whose key is GOOGLE_APPLICATION_CREDENTIALS, when the selected
               GCS connections hold different keys

`{{ globals.x }}` in a connection's literal env values is resolved for the run's own globals
(uuid, owner_name, project_name, project_unique_name, run_info, context_path, artifacts_path,
run_artifacts_path, run_outputs_path; name and namespace when given); any other fails the render.
Not rendered here (use `stores render` for them): POLYAXON_CONNECTIONS_CATALOG, plugins (context
volume, init containers, sidecar), the connections' pod annotations.

The values are assumed valid (values.schema.json, `stores validate`); the rules here are those of
the Python renderer (k8s/ in plx-stores) and a differential test holds them equal.
*/}}

{{/* ---- small helpers: each prints a string ------------------------------------------------ */}}

{{/* an absolute path, normalised (posixpath.normpath, one leading slash) */}}
{{- define "plx-stores._abspath" -}}
{{- printf "/%s" (join "/" (without (splitList "/" (toString .)) "" ".")) -}}
{{- end -}}

{{/* a relative path, normalised */}}
{{- define "plx-stores._relpath" -}}
{{- $p := join "/" (without (splitList "/" (toString .)) "" ".") -}}
{{- if $p -}}{{- $p -}}{{- else -}}.{{- end -}}
{{- end -}}

{{/* a file mode: an integer, or a string of octal digits read as chmod does ("0400" = 256) */}}
{{- define "plx-stores._mode" -}}
{{- if kindIs "string" . -}}
{{- $n := 0 -}}
{{- range splitList "" . -}}{{- $n = add (mul $n 8) (atoi .) -}}{{- end -}}
{{- $n -}}
{{- else -}}
{{- int . -}}
{{- end -}}
{{- end -}}

{{/* a bucket URL in its normalised form: dict "kind" "url" */}}
{{- define "plx-stores._bucket" -}}
{{- $u := toString .url -}}
{{- if eq .kind "wasb" -}}
{{- $re := `^(wasbs?)://([^@/]+)@([^./]+)\.blob\.core\.windows\.net(?:/(.*))?$` -}}
{{- printf "%s://%s@%s.blob.core.windows.net/%s" (regexReplaceAll $re $u "${1}") (regexReplaceAll $re $u "${2}") (regexReplaceAll $re $u "${3}") (trimAll "/" (regexReplaceAll $re $u "${4}")) -}}
{{- else -}}
{{- $parts := splitn "://" 2 $u -}}
{{- $rest := splitn "/" 2 $parts._1 -}}
{{- $prefix := trimAll "/" ($rest._1 | default "") -}}
{{- if $prefix -}}{{- printf "%s://%s/%s" $parts._0 $rest._0 $prefix -}}{{- else -}}{{- printf "%s://%s" $parts._0 $rest._0 -}}{{- end -}}
{{- end -}}
{{- end -}}

{{/* a DNS-1123 label for a name: the name itself when it is one, else a folded form with 8 hex
digits of its SHA-256 (k8s.naming.label_for) */}}
{{- define "plx-stores._label" -}}
{{- if and (le (len .) 63) (regexMatch `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$` .) -}}
{{- . -}}
{{- else -}}
{{- $digest := sha256sum . | trunc 8 -}}
{{- $head := regexReplaceAll `[^a-z0-9-]+` (lower .) "-" | trunc 54 | trimAll "-" -}}
{{- if $head -}}{{- printf "%s-%s" $head $digest -}}{{- else -}}{{- $digest -}}{{- end -}}
{{- end -}}
{{- end -}}

{{/* the pod-wide volume name of a key (k8s.naming.VolumeNamer.name): dict "namer" "key"
"desired" "family"; the key is the Python repr of the renderer's key (its hash names a clash) */}}
{{- define "plx-stores._volname" -}}
{{- $a := . -}}
{{- $byKey := $a.namer.byKey -}}
{{- $taken := $a.namer.taken -}}
{{- if hasKey $byKey $a.key -}}
{{- index $byKey $a.key -}}
{{- else -}}
{{- $cands := list (include "plx-stores._label" $a.desired) -}}
{{- if $a.family -}}{{- $cands = append $cands (include "plx-stores._label" (printf "%s-%s" $a.desired $a.family)) -}}{{- end -}}
{{- $chosen := "" -}}
{{- range $cands -}}{{- if and (not $chosen) (not (hasKey $taken .)) -}}{{- $chosen = . -}}{{- end -}}{{- end -}}
{{- if not $chosen -}}
{{- $chosen = printf "%s-%s" (regexReplaceAll "-+$" (last $cands | trunc 54) "") (sha256sum $a.key | trunc 8) -}}
{{- end -}}
{{- $_ := set $byKey $a.key $chosen -}}
{{- $_ := set $taken $chosen true -}}
{{- $chosen -}}
{{- end -}}
{{- end -}}

{{/* the key of a mounted secret / config map volume, as the renderer's repr: dict "family" "res" */}}
{{- define "plx-stores._reskey" -}}
{{- $items := list -}}
{{- range .res.items -}}
{{- $items = append $items (printf "('%s', '%s', %s)" .key .path (hasKey . "mode" | ternary (toString .mode) "None")) -}}
{{- end -}}
{{- $tuple := "()" -}}
{{- if eq (len $items) 1 -}}{{- $tuple = printf "(%s,)" (first $items) -}}{{- else if $items -}}{{- $tuple = printf "(%s)" (join ", " $items) -}}{{- end -}}
{{- printf "('%s', '%s', %s, %s)" .family .res.name $tuple (hasKey .res "defaultMode" | ternary (toString .res.defaultMode) "None") -}}
{{- end -}}

{{/* ---- values -> connections (JSON) -------------------------------------------------------- */}}

{{/* a secret or config map: {name, items: [{key, path[, mode]}], mountPath?, defaultMode?} */}}
{{- define "plx-stores._resource" -}}
{{- $r := . -}}
{{- $out := dict "name" $r.name -}}
{{- $items := list -}}
{{- range ($r.items | default list) -}}
{{- if kindIs "string" . -}}
{{- $items = append $items (dict "key" . "path" .) -}}
{{- else -}}
{{- $it := dict "key" .key "path" (.key) -}}
{{- if not (kindIs "invalid" .path) -}}{{- $_ := set $it "path" (include "plx-stores._relpath" .path) -}}{{- end -}}
{{- if not (kindIs "invalid" .mode) -}}{{- $_ := set $it "mode" (include "plx-stores._mode" .mode | atoi) -}}{{- end -}}
{{- $items = append $items $it -}}
{{- end -}}
{{- end -}}
{{- $_ := set $out "items" $items -}}
{{- if not (kindIs "invalid" $r.mountPath) -}}{{- $_ := set $out "mountPath" (include "plx-stores._abspath" $r.mountPath) -}}{{- end -}}
{{- if not (kindIs "invalid" $r.defaultMode) -}}{{- $_ := set $out "defaultMode" (include "plx-stores._mode" $r.defaultMode | atoi) -}}{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* an env var value given as a mapping or a [name, value] pair: non-strings as Polyaxon writes them */}}
{{- define "plx-stores._envvalue" -}}
{{- if kindIs "bool" . -}}{{- ternary "true" "false" . -}}
{{- else if kindIs "float64" . -}}{{- if eq (float64 (int64 .)) . -}}{{- int64 . -}}{{- else -}}{{- . -}}{{- end -}}
{{- else -}}{{- toString . -}}{{- end -}}
{{- end -}}

{{/* one connection of the current spelling -> its normalised form (JSON) */}}
{{- define "plx-stores._connection" -}}
{{- $doc := . -}}
{{- $kind := toString $doc.kind -}}
{{- $schema := $doc.schema | default dict -}}
{{- $c := dict "name" (toString $doc.name) "kind" $kind "storage" (has $kind (list "host_path" "volume_claim" "s3" "gcs" "wasb")) "bucket" (has $kind (list "s3" "gcs" "wasb")) -}}
{{- if eq $kind "host_path" -}}
{{- $mp := include "plx-stores._abspath" $schema.mountPath -}}
{{- $hp := dict "path" (include "plx-stores._abspath" $schema.hostPath) -}}
{{- if not (kindIs "invalid" $schema.type) -}}{{- $_ := set $hp "type" $schema.type -}}{{- end -}}
{{- $mount := dict "mountPath" $mp -}}
{{- if not (kindIs "invalid" $schema.readOnly) -}}{{- $_ := set $mount "readOnly" $schema.readOnly -}}{{- end -}}
{{- $_ := set $c "storePath" $mp -}}
{{- $_ := set $c "volume" (dict "hostPath" $hp) -}}
{{- $_ := set $c "mount" $mount -}}
{{- else if eq $kind "volume_claim" -}}
{{- $mp := include "plx-stores._abspath" $schema.mountPath -}}
{{- $pvc := dict "claimName" $schema.volumeClaim -}}
{{- $mount := dict "mountPath" $mp -}}
{{- if not (kindIs "invalid" $schema.readOnly) -}}{{- $_ := set $pvc "readOnly" $schema.readOnly -}}{{- $_ := set $mount "readOnly" $schema.readOnly -}}{{- end -}}
{{- if not (kindIs "invalid" $schema.subPath) -}}{{- $_ := set $mount "subPath" (include "plx-stores._relpath" $schema.subPath) -}}{{- end -}}
{{- $_ := set $c "storePath" $mp -}}
{{- $_ := set $c "volume" (dict "persistentVolumeClaim" $pvc) -}}
{{- $_ := set $c "mount" $mount -}}
{{- else if has $kind (list "s3" "gcs" "wasb") -}}
{{- $_ := set $c "storePath" (include "plx-stores._bucket" (dict "kind" $kind "url" $schema.bucket)) -}}
{{- end -}}
{{- range $attr := list "secret" "configMap" -}}
{{- $r := index $doc $attr -}}
{{- if not (kindIs "invalid" $r) -}}{{- $_ := set $c $attr (include "plx-stores._resource" $r | fromJson) -}}{{- end -}}
{{- end -}}
{{- $env := list -}}
{{- $given := $doc.env | default list -}}
{{- if kindIs "map" $given -}}
{{- range $k, $v := $given -}}{{- $env = append $env (dict "name" $k "value" (include "plx-stores._envvalue" $v)) -}}{{- end -}}
{{- else -}}
{{- range $given -}}
{{- if kindIs "slice" . -}}
{{- $env = append $env (dict "name" (index . 0) "value" (include "plx-stores._envvalue" (index . 1))) -}}
{{- else if not (kindIs "invalid" .valueFrom) -}}
{{- $env = append $env (dict "name" .name "valueFrom" .valueFrom) -}}
{{- else -}}
{{- $env = append $env (dict "name" .name "value" .value) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $_ := set $c "env" $env -}}
{{- toJson $c -}}
{{- end -}}

{{/* one legacy entry: dict "name" "entry" -> the connection it stands for (JSON) */}}
{{- define "plx-stores._legacy" -}}
{{- $name := toString .name -}}
{{- $e := .entry -}}
{{- $doc := dict "name" $name -}}
{{- if not (kindIs "invalid" $e.hostPath) -}}
{{- $schema := dict "hostPath" $e.hostPath "mountPath" $e.mountPath -}}
{{- if not (kindIs "invalid" $e.readOnly) -}}{{- $_ := set $schema "readOnly" $e.readOnly -}}{{- end -}}
{{- $_ := set $doc "kind" "host_path" -}}{{- $_ := set $doc "schema" $schema -}}
{{- else if not (kindIs "invalid" $e.existingClaim) -}}
{{- $schema := dict "volumeClaim" $e.existingClaim "mountPath" $e.mountPath -}}
{{- if not (kindIs "invalid" $e.readOnly) -}}{{- $_ := set $schema "readOnly" $e.readOnly -}}{{- end -}}
{{- $_ := set $doc "kind" "volume_claim" -}}{{- $_ := set $doc "schema" $schema -}}
{{- else -}}
{{- $_ := set $doc "kind" (index (dict "s3" "s3" "gcs" "gcs" "azure" "wasb") (toString $e.store)) -}}
{{- $_ := set $doc "schema" (dict "bucket" $e.bucket) -}}
{{- if not (kindIs "invalid" $e.secret) -}}
{{- $_ := set $doc "secret" (dict "name" $e.secret "items" (list (dict "key" $e.secretKey "path" "key.json")) "mountPath" (printf "/plx-secrets/%s" $name)) -}}
{{- end -}}
{{- end -}}
{{- include "plx-stores._connection" $doc -}}
{{- end -}}

{{/* the catalog: {data, outputs, artifactsStore, logs, repos, upload, connections} (JSON) */}}
{{- define "plx-stores._catalog" -}}
{{- $v := . | default dict -}}
{{- $cat := dict "data" list "outputs" list "connections" list -}}
{{- if hasKey $v "persistence" -}}
{{- $p := $v.persistence | default dict -}}
{{- $defaults := dict "data" (dict "default-data" (dict "mountPath" "/data" "hostPath" "/data")) "outputs" (dict "default-outputs" (dict "mountPath" "/outputs" "hostPath" "/outputs")) -}}
{{- range $role := list "data" "outputs" -}}
{{- $entries := index $p $role -}}
{{- if or (kindIs "invalid" $entries) (and (kindIs "map" $entries) (empty $entries)) -}}{{- $entries = index $defaults $role -}}{{- end -}}
{{- $conns := list -}}
{{- range $name, $entry := $entries -}}
{{- $conns = append $conns (include "plx-stores._legacy" (dict "name" $name "entry" $entry) | fromJson) -}}
{{- end -}}
{{- $_ := set $cat $role $conns -}}
{{- end -}}
{{- range $role := list "logs" "repos" "upload" -}}
{{- $entry := index $p $role -}}
{{- if not (kindIs "invalid" $entry) -}}{{- $_ := set $cat $role (include "plx-stores._legacy" (dict "name" $role "entry" $entry) | fromJson) -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- $store := index $v "artifactsStore" -}}
{{- if and (empty $store) (not (hasKey $v "persistence")) -}}
{{- $fallback := index $v "defaultArtifactsStore" -}}
{{- if not (empty $fallback) -}}
{{- $store = $fallback -}}
{{- else if and (empty (index $v "artifactsStore")) (empty (index $v "connections")) -}}
{{- $store = dict "name" "default-artifacts-store" "kind" "host_path" "schema" (dict "hostPath" "/tmp/artifactsStore" "mountPath" "/artifactsStore") -}}
{{- end -}}
{{- end -}}
{{- if not (empty $store) -}}{{- $_ := set $cat "artifactsStore" (include "plx-stores._connection" $store | fromJson) -}}{{- end -}}
{{- $conns := list -}}
{{- range (index $v "connections" | default list) -}}
{{- $conns = append $conns (include "plx-stores._connection" . | fromJson) -}}
{{- end -}}
{{- $_ := set $cat "connections" $conns -}}
{{- toJson $cat -}}
{{- end -}}

{{/* ---- the patch ------------------------------------------------------------------------------ */}}

{{- define "plx-stores.patch" -}}
{{- $values := dict -}}
{{- $run := dict -}}
{{- if hasKey . "Values" -}}
{{- $values = .Values | default dict -}}
{{- $run = (index (.Values.plxStores | default dict) "run") | default dict -}}
{{- else -}}
{{- $values = .values | default dict -}}
{{- $run = .run | default dict -}}
{{- end -}}
{{- if not $run.uuid -}}{{- fail "plx-stores: the run's uuid is required (plxStores.run.uuid, or \"run\" of the template's argument)" -}}{{- end -}}
{{- $uuid := toString $run.uuid -}}
{{- $owner := toString ($run.owner | default "default") -}}
{{- $project := toString ($run.project | default "default") -}}
{{- $cat := include "plx-stores._catalog" $values | fromJson -}}
{{- /* the globals a literal env value may use (stores.contract.globals), as `{{ globals.x }}` */ -}}
{{- $globals := dict "owner_name" $owner "project_name" $project "project_unique_name" (printf "%s.%s" $owner $project) "run_info" (printf "%s.%s.%s" $owner $project $uuid) "uuid" $uuid "context_path" "/plx-context" "artifacts_path" "/plx-context/artifacts" "run_artifacts_path" (printf "/plx-context/artifacts/%s" $uuid) "run_outputs_path" (printf "/plx-context/artifacts/%s/outputs" $uuid) -}}
{{- if $run.name -}}{{- $_ := set $globals "name" (toString $run.name) -}}{{- end -}}
{{- if $run.namespace -}}{{- $_ := set $globals "namespace" (toString $run.namespace) -}}{{- end -}}

{{- /* the catalog's entries, in role order (stores.catalog.ROLES) */ -}}
{{- $entries := concat $cat.data $cat.outputs -}}
{{- range $role := list "artifactsStore" "logs" "repos" "upload" -}}
{{- if hasKey $cat $role -}}{{- $entries = append $entries (index $cat $role) -}}{{- end -}}
{{- end -}}
{{- $entries = concat $entries $cat.connections -}}

{{- /* the selection (stores.selection.select) */ -}}
{{- $dataCands := $cat.data -}}
{{- if not $dataCands -}}{{- range $cat.connections -}}{{- if .storage -}}{{- $dataCands = append $dataCands . -}}{{- end -}}{{- end -}}{{- end -}}
{{- $outCands := $cat.outputs -}}
{{- if and (not $outCands) (hasKey $cat "artifactsStore") -}}{{- $outCands = list $cat.artifactsStore -}}{{- end -}}
{{- $data := list -}}
{{- $others := list -}}
{{- if kindIs "invalid" $run.data -}}
{{- $data = $dataCands -}}
{{- else -}}
{{- $byName := dict -}}
{{- range $dataCands -}}{{- $_ := set $byName .name . -}}{{- end -}}
{{- if hasKey $cat "artifactsStore" -}}{{- if not (hasKey $byName $cat.artifactsStore.name) -}}{{- $_ := set $byName $cat.artifactsStore.name $cat.artifactsStore -}}{{- end -}}{{- end -}}
{{- range $cat.connections -}}{{- if not (hasKey $byName .name) -}}{{- $_ := set $byName .name . -}}{{- end -}}{{- end -}}
{{- $seen := dict -}}
{{- $names := $run.data -}}
{{- if kindIs "string" $names -}}{{- $names = list $names -}}{{- end -}}
{{- range $n := $names -}}
{{- if not (hasKey $byName $n) -}}{{- fail (printf "plx-stores: unknown data store %q; known: %s" $n (join ", " (keys $byName | sortAlpha))) -}}{{- end -}}
{{- if not (hasKey $seen $n) -}}
{{- $_ := set $seen $n true -}}
{{- $conn := index $byName $n -}}
{{- if $conn.storage -}}{{- $data = append $data $conn -}}{{- else -}}{{- $others = append $others $conn -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $outputs := dict -}}
{{- if $run.outputs -}}
{{- range $outCands -}}{{- if eq .name (toString $run.outputs) -}}{{- $outputs = . -}}{{- end -}}{{- end -}}
{{- if not $outputs -}}
{{- $known := list -}}{{- range $outCands -}}{{- $known = append $known .name -}}{{- end -}}
{{- fail (printf "plx-stores: unknown outputs store %q; known: %s" $run.outputs (join ", " ($known | default (list "(none)")))) -}}
{{- end -}}
{{- else if gt (len $cat.outputs) 1 -}}
{{- fail "plx-stores: persistence.outputs has several stores: name the run's outputs store (helm does not keep the order of a mapping, so \"the first\" is unknown here)" -}}
{{- else if $outCands -}}
{{- $outputs = first $outCands -}}
{{- end -}}

{{- /* volume names: the plugins' and every store volume of the catalog first (k8s.render.reserve_volume_names) */ -}}
{{- $namer := dict "byKey" dict "taken" dict -}}
{{- range list "artifacts-context" "shm" "docker" "plx-toolkit-tmp" -}}{{- $_ := set $namer.taken . true -}}{{- end -}}
{{- range $entries -}}
{{- if .volume -}}{{- $_ := include "plx-stores._volname" (dict "namer" $namer "key" (printf "('store', '%s')" .name) "desired" .name "family" "") -}}{{- end -}}
{{- end -}}

{{- /* the main container's connections: data, others, then the outputs store */ -}}
{{- $main := concat $data $others -}}
{{- if $outputs -}}
{{- $names := list -}}{{- range $main -}}{{- $names = append $names .name -}}{{- end -}}
{{- if not (has $outputs.name $names) -}}{{- $main = append $main $outputs -}}{{- end -}}
{{- end -}}
{{- $volumes := dict -}}
{{- $mounts := dict -}}
{{- $env := dict -}}
{{- $envFrom := dict -}}
{{- $envSeen := dict -}}
{{- $given := dict -}}
{{- range $conn := $main -}}
{{- if not (hasKey $given $conn.name) -}}
{{- $_ := set $given $conn.name true -}}
{{- /* the store volume */ -}}
{{- if $conn.volume -}}
{{- $vname := include "plx-stores._volname" (dict "namer" $namer "key" (printf "('store', '%s')" $conn.name) "desired" $conn.name "family" "") -}}
{{- $_ := set $volumes $vname (merge (dict "name" $vname) $conn.volume) -}}
{{- $m := merge (dict "name" $vname) $conn.mount -}}
{{- $_ := set $mounts (printf "%s\x00%s\x00%v\x00%v" $m.mountPath $vname (index $m "readOnly") (index $m "subPath")) $m -}}
{{- end -}}
{{- /* mounted secret / config map volumes (k8s.volumes.resource_volumes) */ -}}
{{- range $attr := list "secret" "configMap" -}}
{{- $r := index $conn $attr -}}
{{- if and $r (hasKey $r "mountPath") -}}
{{- $family := ternary "secret" "config_map" (eq $attr "secret") -}}
{{- $vname := include "plx-stores._volname" (dict "namer" $namer "key" (include "plx-stores._reskey" (dict "family" $family "res" $r)) "desired" $r.name "family" (ternary "secret" "config" (eq $attr "secret"))) -}}
{{- $src := dict -}}
{{- if eq $attr "secret" -}}{{- $_ := set $src "secretName" $r.name -}}{{- else -}}{{- $_ := set $src "name" $r.name -}}{{- end -}}
{{- if $r.items -}}{{- $_ := set $src "items" $r.items -}}{{- end -}}
{{- if hasKey $r "defaultMode" -}}{{- $_ := set $src "defaultMode" $r.defaultMode -}}{{- end -}}
{{- $_ := set $volumes $vname (dict "name" $vname $attr $src) -}}
{{- $_ := set $mounts (printf "%s\x00%s\x00true\x00<nil>" $r.mountPath $vname) (dict "name" $vname "mountPath" $r.mountPath "readOnly" true) -}}
{{- end -}}
{{- end -}}
{{- /* the resources' env and envFrom (k8s.env.resource_env) */ -}}
{{- range $attr := list "secret" "configMap" -}}
{{- $r := index $conn $attr -}}
{{- if $r -}}
{{- if not (and (hasKey $r "mountPath") (not (and (eq $attr "configMap") $r.items))) -}}
{{- $ref := ternary "secretRef" "configMapRef" (eq $attr "secret") -}}
{{- if not $r.items -}}
{{- $_ := set $envFrom (printf "%s\x00%s\x00" $ref $r.name) (dict $ref (dict "name" $r.name)) -}}
{{- else -}}
{{- range $r.items -}}
{{- if regexMatch `^[-._a-zA-Z][-._a-zA-Z0-9]*$` .key -}}
{{- $var := dict "name" .key "valueFrom" (dict (ternary "secretKeyRef" "configMapKeyRef" (eq $attr "secret")) (dict "name" $r.name "key" .key)) -}}
{{- $_ := set $env .key $var -}}
{{- $_ := set $envSeen .key (append (index $envSeen .key | default list) (toJson $var)) -}}
{{- else if not (hasKey $r "mountPath") -}}
{{- fail (printf "plx-stores: connection %q: item %q of %s %q cannot be an env var name; give the resource a mountPath to deliver it as a file" $conn.name .key $attr $r.name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- /* the connection's own env */ -}}
{{- range $conn.env -}}
{{- if hasKey . "value" -}}
{{- $value := toString .value -}}
{{- range $k, $g := $globals -}}{{- $value = regexReplaceAllLiteral (printf `\{\{\s*globals\.%s\s*\}\}` $k) $value $g -}}{{- end -}}
{{- $left := regexFind `\{\{\s*globals\.[A-Za-z_][A-Za-z0-9_]*\s*\}\}` $value -}}
{{- if $left -}}{{- fail (printf "plx-stores: connection %q: env var %s uses %s, which the chart does not know for this run (it knows %s; the run's name and namespace only when given)" $conn.name .name $left (keys $globals | sortAlpha | join ", ")) -}}{{- end -}}
{{- $_ := set . "value" $value -}}
{{- end -}}
{{- $_ := set $env .name . -}}{{- $_ := set $envSeen .name (append (index $envSeen .name | default list) (toJson .)) -}}{{- end -}}
{{- end -}}
{{- end -}}

{{- /* credentials: key files (stores.keyfile.key_file_path, k8s.env.credential_env) */ -}}
{{- $gcs := list -}}
{{- $seenCred := dict -}}
{{- range $conn := $main -}}
{{- if and (not (hasKey $seenCred $conn.name)) $conn.bucket $conn.secret (hasKey ($conn.secret | default dict) "mountPath") -}}
{{- $_ := set $seenCred $conn.name true -}}
{{- $s := $conn.secret -}}
{{- $root := trimSuffix "/" $s.mountPath -}}
{{- $keyFile := ternary "gc-secret.json" "key.json" (eq $conn.kind "gcs") -}}
{{- $path := "" -}}
{{- if eq (len $s.items) 1 -}}
{{- $path = printf "%s/%s" $root (first $s.items).path -}}
{{- else if not $s.items -}}
{{- $path = printf "%s/%s" $root $keyFile -}}
{{- else -}}
{{- $itemPaths := list -}}{{- range $s.items -}}{{- $itemPaths = append $itemPaths .path -}}{{- end -}}
{{- range $wanted := list $keyFile "key.json" -}}
{{- if and (not $path) (has $wanted $itemPaths) -}}{{- $path = printf "%s/%s" $root $wanted -}}{{- end -}}
{{- end -}}
{{- end -}}
{{- if $path -}}
{{- $var := printf "POLYAXON_CONNECTION_%s_KEY_FILE" (regexReplaceAll `[^A-Z0-9]` (upper $conn.name) "_") -}}
{{- $_ := set $env $var (dict "name" $var "value" $path) -}}
{{- if eq $conn.kind "gcs" -}}
{{- $file := base $path -}}
{{- $ident := printf "%s\x00%s" $s.name $file -}}
{{- range $s.items -}}{{- if eq .path $file -}}{{- $ident = printf "%s\x00%s" $s.name .key -}}{{- end -}}{{- end -}}
{{- $gcs = append $gcs (dict "name" $conn.name "path" $path "ident" $ident) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $run.gcsDefault -}}
{{- $chosen := "" -}}
{{- range $gcs -}}{{- if and (not $chosen) (eq .name (toString $run.gcsDefault)) -}}{{- $chosen = .path -}}{{- end -}}{{- end -}}
{{- if not $chosen -}}{{- fail (printf "plx-stores: GOOGLE_APPLICATION_CREDENTIALS: connection %q is not a selected gcs connection with a key file" $run.gcsDefault) -}}{{- end -}}
{{- $_ := set $env "GOOGLE_APPLICATION_CREDENTIALS" (dict "name" "GOOGLE_APPLICATION_CREDENTIALS" "value" $chosen) -}}
{{- else if $gcs -}}
{{- $idents := list -}}{{- range $gcs -}}{{- $idents = append $idents .ident -}}{{- end -}}
{{- if gt (len ($idents | uniq)) 1 -}}
{{- fail (printf "plx-stores: GOOGLE_APPLICATION_CREDENTIALS has two sources: connections %q and %q hold different gcs credentials; name the one the SDK gets (run.gcsDefault)" (index $gcs 0).name (index $gcs 1).name) -}}
{{- end -}}
{{- $_ := set $env "GOOGLE_APPLICATION_CREDENTIALS" (dict "name" "GOOGLE_APPLICATION_CREDENTIALS" "value" (first $gcs).path) -}}
{{- end -}}

{{- /* the run contract (stores.contract.write.contract_env) */ -}}
{{- $paths := dict -}}
{{- range $data -}}{{- $_ := set $paths .name .storePath -}}{{- end -}}
{{- /* JSON as Python writes it (sorted keys, ASCII only): Go's toJson would escape <, > and & and keep other characters as they are */ -}}
{{- $pairs := list -}}
{{- range $k := keys $paths | sortAlpha -}}{{- $pairs = append $pairs (printf "%+q:%+q" $k (index $paths $k)) -}}{{- end -}}
{{- $_ := set $env "POLYAXON_RUN_DATA_PATHS" (dict "name" "POLYAXON_RUN_DATA_PATHS" "value" (printf "{%s}" (join "," $pairs))) -}}
{{- if $outputs -}}
{{- $sub := join "/" (without (splitList "/" (printf "%s/outputs" $uuid)) "") -}}
{{- $base := $outputs.storePath -}}
{{- $out := "" -}}
{{- if contains "://" $base -}}{{- $out = printf "%s/%s" (regexReplaceAll "/+$" $base "") $sub -}}
{{- else if hasSuffix "/" $base -}}{{- $out = printf "%s%s" $base $sub -}}
{{- else -}}{{- $out = printf "%s/%s" $base $sub -}}{{- end -}}
{{- $_ := set $env "POLYAXON_RUN_OUTPUTS_PATH" (dict "name" "POLYAXON_RUN_OUTPUTS_PATH" "value" $out) -}}
{{- end -}}
{{- $contract := dict "POLYAXON_RUN_UUID" $uuid "POLYAXON_RUN_INSTANCE" (printf "%s.%s.runs.%s" $owner $project $uuid) "POLYAXON_RUN_OWNER" $owner "POLYAXON_RUN_PROJECT" $project "POLYAXON_CONTEXT_PATH" "/plx-context" "POLYAXON_RUN_ARTIFACTS_PATH" (printf "/plx-context/artifacts/%s" $uuid) -}}
{{- if $run.name -}}{{- $_ := set $contract "POLYAXON_RUN_NAME" (toString $run.name) -}}{{- end -}}
{{- if hasKey $cat "artifactsStore" -}}{{- $_ := set $contract "POLYAXON_ARTIFACTS_STORE_NAME" $cat.artifactsStore.name -}}
{{- else if $outputs -}}{{- $_ := set $contract "POLYAXON_ARTIFACTS_STORE_NAME" $outputs.name -}}{{- end -}}
{{- range $k, $v := $contract -}}{{- $_ := set $env $k (dict "name" $k "value" $v) -}}{{- end -}}

{{- /* what the renderer's checks refuse (k8s.checks): two mounts on one path, one env var twice */ -}}
{{- $byPath := dict -}}
{{- range $k, $m := $mounts -}}
{{- if hasKey $byPath $m.mountPath -}}{{- fail (printf "plx-stores: two mounts on %s in the main container: volume %q and volume %q" $m.mountPath (index $byPath $m.mountPath) $m.name) -}}{{- end -}}
{{- $_ := set $byPath $m.mountPath $m.name -}}
{{- end -}}
{{- range $k, $v := $envSeen -}}
{{- if gt (len ($v | uniq)) 1 -}}{{- fail (printf "plx-stores: env var %s is given twice, with different values, by the selected connections" $k) -}}{{- end -}}
{{- end -}}

{{- /* sorted as stores render sorts them (k8s.podpatch.PodPatch.to_dict) */ -}}
{{- $out := dict "volumes" list "volumeMounts" list "env" list "envFrom" list -}}
{{- range $k, $v := $volumes -}}{{- $_ := set $out "volumes" (append $out.volumes $v) -}}{{- end -}}
{{- range $k, $v := $mounts -}}{{- $_ := set $out "volumeMounts" (append $out.volumeMounts $v) -}}{{- end -}}
{{- range $k, $v := $env -}}{{- $_ := set $out "env" (append $out.env $v) -}}{{- end -}}
{{- range $k, $v := $envFrom -}}{{- $_ := set $out "envFrom" (append $out.envFrom $v) -}}{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{- define "plx-stores.volumes" -}}
{{- toYaml (include "plx-stores.patch" . | fromJson).volumes -}}
{{- end -}}

{{- define "plx-stores.volumeMounts" -}}
{{- toYaml (include "plx-stores.patch" . | fromJson).volumeMounts -}}
{{- end -}}

{{- define "plx-stores.env" -}}
{{- toYaml (include "plx-stores.patch" . | fromJson).env -}}
{{- end -}}

{{- define "plx-stores.envFrom" -}}
{{- toYaml (include "plx-stores.patch" . | fromJson).envFrom -}}
{{- end -}}
