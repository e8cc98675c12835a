"""Writing an export: RFC 4180 CSV in UTF-8, formula-safe cells, a data package, all or nothing.

Files are written into a hidden ``.partial`` folder beside the destination, each fsynced, and the
folder is renamed into place at the end: a full disk or an interrupt leaves no half-made export
(and a folder left by a crash is cleared at the next export).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ..domain.models import utcnow
from ..services.common import ServiceError
from ..services.merge import paused_gc
from ..store import durable
from .activity import ACTIVITY_HEADER
from .datapackage import package_of, resource_of
from .fhir import FHIR_JSON, fhir_json
from .plan import Column, ExportFormat, ExportPlan, Progress
from .redcap import write_redcap
from .sink import Sink, WrittenFile, write_csv, write_lines

PARTIAL = ".partial"


def dictionary_rows(plan: ExportPlan) -> tuple[list[str], list[list[Any]]]:
    """data_dictionary.csv: every column with its label and choices in every study language."""
    langs = plan.languages
    header = [
        "column",
        *[f"label_{lang}" for lang in langs],
        "type",
        *[f"choices_{lang}" for lang in langs],
        "versions",
        "identifying",
    ]
    rows = []
    for col in plan.columns:
        choices = [
            " | ".join(f"{code} = {labels.get(lang) or labels.get('en', '')}" for code, labels in col.choices) for lang in langs
        ]
        rows.append(
            [
                col.name,
                *[col.labels.get(lang, "") for lang in langs],
                col.type,
                *choices,
                " ".join(map(str, col.versions)),
                "yes" if col.identifying else "no",
            ]
        )
    return header, rows


def study_exports(study_folder: Path) -> Path:
    """DATA/exports/STUDY/: where a study's exports and reports go unless told otherwise, beside the data
    (never the folder the app happened to be started in, so personal data does not end up anywhere)."""
    return study_folder.parents[1] / "exports" / study_folder.name


def default_folder(study_folder: Path) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return study_exports(study_folder) / f"{study_folder.name}-{stamp}"


def clear_leftovers(parent: Path) -> int:
    """Remove ``.partial`` folders that an export stopped by a crash left behind."""
    removed = 0
    if not parent.is_dir():
        return 0
    for leftover in parent.glob(f".*{PARTIAL}"):
        try:
            pid = int(leftover.name.rsplit(".", 2)[-2])
        except (ValueError, IndexError):
            pid = 0
        if pid and pid != os.getpid() and _alive(pid):
            continue  # another export, still running
        shutil.rmtree(leftover, ignore_errors=True)
        removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_folder_write(out: Path, write_files, progress: Optional[Progress] = None) -> Path:
    """Run ``write_files(tmp)`` into a hidden folder and rename it to ``out`` when it all succeeded."""
    out = out.expanduser().absolute()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ServiceError(f"{out} already exists; choose another folder (--out) so that nothing is overwritten.")
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        clear_leftovers(parent)
        tmp = parent / f".{out.name}.{os.getpid()}{PARTIAL}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
    except OSError as exc:
        raise ServiceError(durable.plain_os_error(exc, parent).replace("saved", "written")) from exc
    try:
        write_files(tmp)
        durable.fsync_dir(tmp)
        if out.exists():
            out.rmdir()  # an empty folder named by the person: the export takes its place
        durable.replace(tmp, out)
        durable.fsync_dir(parent)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ServiceError(
            durable.plain_os_error(exc, out)
            .replace("nothing was saved", "no export was written")
            .replace("Nothing was saved", "No export was written")
        ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


@dataclass
class ExportResult:
    folder: Path
    package: dict[str, Any]  # datapackage.json: the export's one record (options, counts, hashes, approval)

    @property
    def manifest(self) -> dict[str, Any]:
        return self.package


def _numeric(columns: list[Column]) -> list[bool]:
    return [c.numeric for c in columns]


def package_json(plan: ExportPlan, files: list[WrittenFile], approved_by: str) -> dict[str, Any]:
    resources = [resource_of(plan, f.name, f.header, f.rows, f.sha256, f.bytes) for f in files]
    return package_of(plan, resources, approved_by)


def write_export(plan: ExportPlan, out: Path, approved_by: str, progress: Optional[Progress] = None) -> ExportResult:
    """Write the plan's files into ``out`` (all of them, or none); datapackage.json last."""
    if not approved_by.strip():
        raise ServiceError("An export needs the name of the person who approved it.")
    manifest: dict[str, Any] = {}

    def files(tmp: Path) -> None:
        bom = plan.options.bom
        written: list[WrittenFile] = []
        total = len(plan.contributions) or 1

        def rows_with_progress(rows: list[list[Any]]):
            for n, row in enumerate(rows):
                if progress and n % 5000 == 0:
                    progress(n, total, "writing contributions")
                yield row

        def written_so_far(n: int) -> None:
            if progress:
                progress(n, total, "writing contributions")

        if plan.options.format is ExportFormat.redcap:
            written += write_redcap(plan, tmp, bom, rows_with_progress)
        else:
            header = [c.name for c in plan.columns]
            if plan.lines is not None:  # laid out already (ready.py)
                written.append(write_lines(tmp, "contributions.csv", header, plan.lines, bom))
            else:
                written.append(
                    write_csv(tmp, "contributions.csv", header, plan.contributions, _numeric(plan.columns), bom, written_so_far)
                )
            written.append(
                write_csv(
                    tmp,
                    "participants.csv",
                    plan.participants_header,
                    plan.participants,
                    [h in ("consent_version", "contributions_exported") for h in plan.participants_header],
                    bom,
                )
            )
            written.append(
                write_csv(
                    tmp,
                    "consent_log.csv",
                    plan.consent_header,
                    plan.consent_log,
                    [h == "document_version" for h in plan.consent_header],
                    bom,
                )
            )
            d_header, d_rows = dictionary_rows(plan)
            written.append(write_csv(tmp, "data_dictionary.csv", d_header, d_rows, [False] * len(d_header), bom))
        if plan.activity_lines is not None:  # laid out already (activity.py)
            written.append(write_lines(tmp, "activity.csv", ACTIVITY_HEADER, plan.activity_lines, bom))
        else:
            written.append(write_csv(tmp, "activity.csv", ACTIVITY_HEADER, plan.activity, [False] * len(ACTIVITY_HEADER), bom))
        if plan.options.fhir:
            sink = Sink(tmp / FHIR_JSON, False)
            try:
                sink.write(fhir_json(plan))
                sink.close()
            except BaseException:
                sink.abandon()
                raise
            written.append(WrittenFile(FHIR_JSON, len(plan.consent_log), sink.sha.hexdigest(), sink.size))
        manifest.update(package_json(plan, written, approved_by.strip()))
        sink = Sink(tmp / "datapackage.json", False)
        try:
            sink.write(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
            sink.close()
        except BaseException:
            sink.abandon()
            raise
        if progress:
            progress(total, total, "finishing")

    with paused_gc():  # as while the rows were made (plan.prepare_export)
        folder = atomic_folder_write(out, files, progress)
    return ExportResult(folder, manifest)
