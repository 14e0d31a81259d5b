"""The `registry` command group: `flask --app wsgi registry …`."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from flask_migrate import upgrade

from registry.extensions import db
from registry.services import RecordInvalid, seeding, users
from registry.vocab import ROLES

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
            f"{counts['agreements']} agreements, {counts['users']} users.",
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
        users.create(username, password, role, region, full_name)
    except RecordInvalid as error:
        db.session.rollback()
        for field, message in error.errors.items():
            click.echo(f"{field}: {message}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"User {username} created ({role}).", err=True)
