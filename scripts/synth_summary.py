"""Print a short summary of a cloud assembly: stacks, resources by type, where the templates are."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def main(outdir: str = "cdk.out") -> int:
    root = Path(outdir)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        print(f"error: {manifest_path} not found: run `npx cdk synth` first", file=sys.stderr)
        return 2
    manifest = json.loads(manifest_path.read_text())
    stacks = [
        (name, artifact)
        for name, artifact in manifest.get("artifacts", {}).items()
        if artifact.get("type") == "aws:cloudformation:stack"
    ]
    for name, artifact in stacks:
        template_file = root / artifact["properties"]["templateFile"]
        template = json.loads(template_file.read_text())
        resources = template.get("Resources", {})
        counts = Counter(resource.get("Type", "?") for resource in resources.values())
        print(f"Stack {name}: {len(resources)} resources  ({template_file})")
        for resource_type, count in sorted(counts.items()):
            print(f"  {count:4d}  {resource_type}")
        outputs = template.get("Outputs", {})
        if outputs:
            print(f"  outputs: {', '.join(sorted(outputs))}")
    report = root / "validation-report.json"
    if report.is_file():
        print(f"Policy validation report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
