"""Strict field check of Kubernetes manifests against the models of the `kubernetes` Python client.

    python deploy/k8s_strict.py deploy/k8s/*.yaml

kubernetes-models (npm) validates values but lets unknown fields pass (the Kubernetes OpenAPI
schemas allow them), so a typo such as `readinesProbe` would go unnoticed until the API server
dropped it. This walks every object with each model's `attribute_map` / `openapi_types` and reports
fields the API does not have, and lists where a mapping is expected (and the reverse).
Exit 0 when clean, 1 with one line per problem.
"""

import sys

import kubernetes.client as k8s
import yaml

SCALARS = {"str", "int", "bool", "float", "object", "datetime", "date"}


def model_for(api_version: str, kind: str):
    version = api_version.split("/")[-1]
    return getattr(k8s, f"{version[0].upper()}{version[1:]}{kind}", None)


def walk(obj, typ: str, path: str, errors: list[str]) -> None:
    if obj is None or typ in SCALARS:
        if typ == "str" and isinstance(obj, (dict, list)):
            errors.append(f"{path}: expected a scalar, got a {type(obj).__name__}")
        return
    # Type strings read "list[V1Container]" / "dict(str, str)" or, in newer clients,
    # "List[V1Container]" / "Dict[str, str]".
    if typ.lower().startswith("list["):
        if not isinstance(obj, list):
            errors.append(f"{path}: expected a list")
            return
        for i, item in enumerate(obj):
            walk(item, typ[5:-1].strip(), f"{path}[{i}]", errors)
        return
    if typ.lower().startswith(("dict(", "dict[")):
        if not isinstance(obj, dict):
            errors.append(f"{path}: expected a mapping")
            return
        inner = typ[typ.index(",") + 1 : -1].strip()
        for k, v in obj.items():
            walk(v, inner, f"{path}.{k}", errors)
        return
    cls = getattr(k8s.models, typ, None)
    if cls is None:
        return
    if not isinstance(obj, dict):
        errors.append(f"{path}: expected a mapping ({typ})")
        return
    by_json = {v: k for k, v in cls.attribute_map.items()}
    for key, value in obj.items():
        attr = by_json.get(key)
        if attr is None:
            errors.append(f"{path}.{key}: unknown field of {typ} (known: {', '.join(sorted(by_json))})")
            continue
        walk(value, cls.openapi_types[attr], f"{path}.{key}", errors)


def main(paths: list[str]) -> int:
    errors: list[str] = []
    checked = 0
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for i, doc in enumerate(yaml.safe_load_all(f)):
                if not doc or doc.get("kind") == "Kustomization":
                    continue
                cls = model_for(doc.get("apiVersion", ""), doc.get("kind", ""))
                where = f"{p}#{i} {doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
                if cls is None:
                    errors.append(f"{where}: no model for apiVersion {doc.get('apiVersion')} kind {doc.get('kind')}")
                    continue
                walk(doc, cls.__name__, where, errors)
                checked += 1
    for e in errors:
        print(e)
    print(f"k8s_strict: {checked} objects, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
