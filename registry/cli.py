"""The `registry` command group: `flask --app wsgi registry …`."""

from __future__ import annotations

import json
import sys
import unicodedata
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import select

from registry.extensions import db
from registry.models import Agreement, Institution
from registry.services import RecordInvalid, compliance, imports, seeding, users
from registry.services.formats import bureau, exchange, exports
from registry.services.imports import duplicates, profiles, uploaded
from registry.services.infra import backup, geocoding
from registry.vocab import ELDERCARE, MEDICAL, ROLES

registry_group = AppGroup("registry", help="医养结合登记系统 commands.")


@registry_group.command("init")
def init_command() -> None:
    """Migrate the database, then seed regions and target sets (safe to run again)."""
    upgrade()
    regions = seeding.load_regions()
    targets = seeding.load_target_sets()
    db.session.commit()
    click.echo(f"Database ready: {regions} new regions, {targets} new targets.", err=True)


@registry_group.command("demo")
@click.option("--print-logins", is_flag=True, help="Print the demo logins afterwards.")
def demo_command(print_logins: bool) -> None:
    """Load the synthetic demo register into an empty database."""
    if seeding.is_empty():
        counts = seeding.load_demo()
        db.session.commit()
        click.echo(
            f"Demo register loaded: {counts['institutions']} institutions, "
            f"{counts['agreements']} agreements, {counts['users']} users, "
            f"{counts['requests']} change requests, {counts['reports']} period reports.",
            err=True,
        )
    else:
        click.echo("The register is not empty: demo data not loaded.", err=True)
    if print_logins:
        click.echo("Demo logins (演示账号):")
        for username, password, role, region in seeding.demo_logins():
            click.echo(f"  {username:<18} {password}  {role:<18} {region or 'city 全市'}")


@registry_group.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(sorted(ROLES)), required=True)
@click.option("--region", default=None, help="Region code (required for district officials).")
@click.option("--name", "full_name", default="", help="Display name.")
@click.password_option(help="Password (at least 12 characters); prompted when absent.")
def create_user_command(username: str, role: str, region: str | None, full_name: str,
                        password: str) -> None:
    """Create a user account."""
    try:
        users.create(username, password, role, region, full_name, must_change_password=True)
    except RecordInvalid as error:
        db.session.rollback()
        for field, message in error.errors.items():
            click.echo(f"{field}: {message}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"User {username} created ({role}).", err=True)


@registry_group.command("compliance")
@click.option("--as-of", "as_of", required=True, help="The day to count on, YYYY-MM-DD.")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON of docs/indicators.md alone on stdout.")
@click.option("--target-set", default=compliance.DEFAULT_TARGET_SET, show_default=True)
def compliance_command(as_of: str, as_json: bool, target_set: str) -> None:
    """Indicators and targets as of a day: a readable table, or JSON."""
    try:
        day = date.fromisoformat(as_of)
    except ValueError as error:
        raise click.BadParameter("expected YYYY-MM-DD", param_hint="--as-of") from error
    report = compliance.compute(day, target_set)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
        return
    names = {r.code: r.name for r in report.regions}
    scopes = [compliance.CITY, *names]
    click.echo(f"{report.target_set.document_no if report.target_set else target_set}  as of {day}")
    header = ["indicator", *["全市" if s == compliance.CITY else names[s] for s in scopes]]
    rows = [header]
    for key, indicator in compliance.INDICATORS.items():
        cells = [key]
        for scope in scopes:
            figure = report.figure(key, scope)
            if indicator.share:
                cells.append("—" if figure.value is None else
                             f"{figure.value:.1%} ({figure.numerator}/{figure.denominator})")
            else:
                cells.append(str(figure.value))
        rows.append(cells)
    widths = [max(_width(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        click.echo("  ".join(cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row)))
    click.echo("")
    for result in report.targets:
        t = result.target
        state = "met" if result.met else ("OVERDUE" if result.overdue else "not met")
        click.echo(f"{t.indicator:<26} {t.scope:<10} {t.deadline}  {t.comparator} {float(t.value):g}"
                   f"  actual {result.actual}  {state}")


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


@registry_group.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--kind", type=click.Choice([ELDERCARE, MEDICAL]), default=None,
              help="The kind of the institutions on a bureau's sheet that has no kind column.")
@click.option("--profile", "profile_name", default=None,
              help="Read bureau sheets with the saved column mapping (映射方案) of this name.")
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--duplicates", "on_duplicates", type=click.Choice(["ask", "new", "same"]), default="ask",
              show_default=True,
              help="Rows that may be institutions already registered: ask (list them, import nothing), "
                   "new (import them as new), same (update the only candidate).")
def import_command(path: Path, kind: str | None, profile_name: str | None, dry_run: bool,
                   on_duplicates: str) -> None:
    """Import a workbook (.xlsx, .xls), a CSV file, or a folder of institutions.csv / agreements.csv (all or nothing).

    A file may be in the exchange format or in a bureau's own shape (docs/exchange-format.md). A new row
    that may be an institution already registered (a close name in its region, or within
    200 m) is listed, and nothing is imported until --duplicates says what it is.
    """
    regions = uploaded.regions()
    choices = _profile_choices(path, kind, regions, profile_name)
    reading = _read_import(path, kind, regions, choices)
    plan = imports.plan_reading(reading, None)
    possible = duplicates.find(plan, None)
    settled = {}
    if on_duplicates == "same":
        settled = {(p.source, p.row): p for p in possible if len(p.candidates) == 1}
    if settled:  # read the file again with each one's code written in, and plan it as updates
        reading = _read_import(path, kind, regions, choices)
        decisions = {key: p.candidates[0].code for key, p in settled.items()}
        duplicates.settle(reading.sheets, decisions)
        plan = imports.plan_reading(reading, None)
        possible = duplicates.find(plan, None, decided=decisions)
    for warning in plan.warnings:
        click.echo(warning, err=True)
    for error in plan.errors:
        click.echo(str(error), err=True)
    for same in settled.values():
        candidate = same.candidates[0]
        click.echo(f"{same}，按同一机构更新：{candidate.code} {candidate.name}（{candidate.reason}）", err=True)
    for duplicate in possible:
        click.echo(f"{duplicate}，按新机构导入：" if on_duplicates == "new" else f"{duplicate}：", err=True)
        for candidate in duplicate.candidates:
            region = regions.get(candidate.region_code, candidate.region_code)
            click.echo(f"  {candidate.code} {candidate.name}（{region}）：{candidate.reason}", err=True)
    counts = plan.counts()
    summary = ", ".join(f"{table}: {c['create']} to create, {c['update']} to update, {c['unchanged']} unchanged"
                        for table, c in counts.items())
    if not plan.ok:
        db.session.rollback()
        click.echo(f"{len(plan.errors)} errors: nothing imported. ({summary})", err=True)
        sys.exit(1)
    if dry_run:
        db.session.rollback()
        click.echo(f"Dry run, nothing written. {summary}")
        return
    if possible and on_duplicates == "ask":
        db.session.rollback()
        click.echo(f"{len(possible)} 行可能与已登记的机构重复，未导入：是新机构请加 --duplicates new，"
                   f"是同一机构（更新唯一的候选）请加 --duplicates same。 ({len(possible)} possible duplicates: "
                   f"nothing imported. Rerun with --duplicates new to import them as new, or --duplicates same "
                   f"to update the only candidate.)", err=True)
        sys.exit(1)
    if possible and on_duplicates == "same":
        db.session.rollback()
        click.echo(f"{len(possible)} 行有多个候选机构，无法按同一机构更新，未导入：请在文件中填写机构编码，"
                   f"或加 --duplicates new 按新机构导入。 ({len(possible)} possible duplicates with several "
                   f"candidates: nothing imported. Give their 机构编码 in the file, or rerun with "
                   f"--duplicates new.)", err=True)
        sys.exit(1)
    imports.apply(plan, None, path.name)
    db.session.commit()
    imports.refresh_statistics(counts)
    click.echo(f"Imported. {summary}")


def _profile_choices(path: Path, kind: str | None, regions: dict[str, str], name: str | None) -> dict | None:
    """Each bureau sheet of the file read with the named profile; exits when there is no such profile."""
    if not name:
        return None
    profile = profiles.named(name)
    if profile is None:
        saved = "、".join(profiles.names()) or "（无）"
        click.echo(f"找不到映射方案“{name}”。已保存的方案：{saved} (no saved column mapping of that name)", err=True)
        sys.exit(1)
    try:
        layouts = bureau.read_data(path.read_bytes(), path.name, kind, regions, layouts_only=True).layouts
    except (exchange.FileRefused, IsADirectoryError):
        return None  # said again, with the reason, when the file is read
    chosen = {layout.key: profiles.choice(profile, layout) for layout in layouts if layout.table.table == profile.table}
    for choice in chosen.values():
        choice.kind = kind or choice.kind
    return chosen


def _read_import(path: Path, kind: str | None, regions: dict[str, str], choices: dict | None = None
                 ) -> bureau.Reading:
    """The file (or folder) to import, read; a file that cannot be read is said on stderr, with exit status 1."""
    try:
        if path.is_dir():
            return bureau.Reading(exchange.read_path(path))
        return bureau.read_file(path, kind, regions, choices)
    except exchange.FileRefused as refused:
        click.echo(f"{path}: {refused}", err=True)
        sys.exit(1)


@registry_group.command("export")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def export_command(folder: Path) -> None:
    """Write institutions.csv, agreements.csv and registry.xlsx into FOLDER (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in exports.export_all(select(Institution), select(Agreement)).items():
        (folder / name).write_bytes(body)
        click.echo(f"{folder / name}", err=True)


@registry_group.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(file: Path) -> None:
    """Back up the database to FILE (SQLite online backup, or pg_dump's custom format)."""
    _or_exit(lambda: backup.backup(file), "Backup failed")
    click.echo(f"Backed up to {file}", err=True)


@registry_group.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(file: Path, yes: bool) -> None:
    """Replace the database's contents with the backup FILE."""
    if not yes:
        click.confirm("This replaces every record in the database. Continue?", abort=True)
    _or_exit(lambda: backup.restore(file), "Restore failed")
    click.echo(f"Restored from {file}", err=True)


def _or_exit(action, failure: str) -> None:
    """Run a backup or restore; on failure say why on stderr and exit with status 1."""
    try:
        action()
    except backup.BackupError as error:
        click.echo(f"{failure}: {error}", err=True)
        sys.exit(1)


@registry_group.command("geocode")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Look up at most N institutions.")
def geocode_command(limit: int | None) -> None:
    """Fill in coordinates from the address for institutions that have none (rate-limited)."""
    if geocoding.provider() is None:
        click.echo("No geocoder configured (GEOCODER=none): set GEOCODER=nominatim and GEOCODER_DOMAIN.",
                   err=True)
        sys.exit(1)
    counts = geocoding.fill_missing(limit, checkpoint=db.session.commit)
    click.echo(f"Geocoded: {counts['found']} found, {counts['not_found']} not found, "
               f"{counts['failed']} failed.")


@registry_group.command("worker")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Jobs this process runs at once (threads).")
def worker_command(workers: int) -> None:
    """Run background jobs (checks and imports of uploaded files) until SIGINT or SIGTERM."""
    from registry.services.infra import jobs

    jobs.work(workers)
