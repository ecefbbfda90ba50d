"""Writes dashboards.ts: every generated dashboard as an object literal typed with
@grafana/schema's ``Dashboard`` (run from tests/test_dashboards.py and .ci/run).

Literals get TypeScript's excess-property checks, with two named extensions of the type:
``expr`` on an annotation (Grafana's Prometheus annotations read it; the TS type has no
datasource-specific fields) and the interval-variable fields ``auto``, ``auto_count`` and
``auto_min`` the 11.6 SDK writes on every variable."""

from __future__ import annotations

import sys
from pathlib import Path

HEAD = '''import type { AnnotationQuery, Dashboard, VariableModel } from "@grafana/schema";

type PromAnnotation = AnnotationQuery & { expr: string };
type SdkVariable = VariableModel & { auto?: boolean; auto_count?: number; auto_min?: string };
type Generated = Omit<Dashboard, "annotations" | "templating"> & {
  annotations: { list: PromAnnotation[] };
  templating: { list: SdkVariable[] };
};
'''


def typescript(dashboards: list[Path]) -> str:
    """The .ts text checking every dashboard in ``dashboards``."""
    parts = [HEAD]
    for index, path in enumerate(dashboards):
        parts.append(f"// {path.name}\nconst literal{index}: Generated = {path.read_text().strip()};\n"
                     f"export const dashboard{index}: Dashboard = literal{index};\n")
    return "\n".join(parts)


if __name__ == "__main__":
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.write_text(typescript(sorted(folder.glob("*.json"))))
