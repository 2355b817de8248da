"""Every setting in one list, and the generated README sections: the input contract and the
settings table come from the code, so the README cannot drift. `python -m churnguard.docs`
rewrites them; a test checks they are current."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"

SECRET_SETTINGS = frozenset({"api_keys", "log_salt"})


@dataclass(frozen=True)
class SettingRow:
    """One documented setting: its variable, default, current value (secrets masked) and meaning."""

    variable: str
    default: str
    value: str
    description: str


def configuration_rows() -> list[SettingRow]:
    """Every setting of churnguard and of its service, in one list (the README's table)."""
    from common.settings import get_settings
    from serving.config import get_serving_settings

    rows = []
    for settings in (get_settings(), get_serving_settings()):
        for name, field in type(settings).model_fields.items():
            value = getattr(settings, name)
            if name in SECRET_SETTINGS and value:
                value = "(set)"
            variable = (
                "MLFLOW_TRACKING_URI"
                if name == "mlflow_tracking_uri"
                else f"CHURNGUARD_{name.upper()}"
            )
            rows.append(
                SettingRow(variable, str(field.default), str(value), field.description or "")
            )
    return rows


def configuration_markdown() -> str:
    lines = ["| environment variable | default | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{r.variable}` | `{r.default}` | {r.description} |" for r in configuration_rows()]
    return "\n".join(lines)


def generated_sections() -> dict[str, str]:
    from features.reports import contract_markdown

    return {"configuration": configuration_markdown(), "contract": contract_markdown()}


def render(readme: str, sections: dict[str, str]) -> str:
    """The README with each `<!-- NAME:start -->...<!-- NAME:end -->` block replaced."""
    for name, body in sections.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.DOTALL)
        if not pattern.search(readme):
            raise ValueError(f"README has no <!-- {name}:start --> ... <!-- {name}:end --> block")
        readme = pattern.sub(
            lambda m, body=body: m.group(1) + body.rstrip() + "\n" + m.group(2), readme
        )
    return readme


def main() -> None:
    README.write_text(render(README.read_text(), generated_sections()))
    print(f"updated {README}")


if __name__ == "__main__":
    main()
