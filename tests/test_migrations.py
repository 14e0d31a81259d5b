"""The Alembic migrations create the schema the models describe, on either database."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from registry import create_app
from registry.extensions import db
from registry.models import InstitutionSearchKey
from registry.models.search import indexed_by_the_database
from registry.services import name_search


@pytest.fixture()
def blank_database_url(database_url, tmp_path):
    """A database of its own: a new SQLite file, or a new PostgreSQL database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    name = f"{url.database}_migrations"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def include_object(_obj, name, _type, reflected, compare_to) -> bool:
    """The full-text index is built by DDL the models do not describe (models/search.py)."""
    return not (reflected and compare_to is None and indexed_by_the_database(name))


def test_migrations_create_the_schema_of_the_models(blank_database_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": blank_database_url})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True, "include_object": include_object})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        tables = set(inspect(db.engine).get_table_names())
        assert {"institutions", "agreements", "agreement_services", "users", "audit_events",
                "regions", "target_sets", "targets", "alembic_version"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite pragmas")
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 15000


def test_migrating_leaves_foreign_keys_on(blank_database_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": blank_database_url})
    with app.app_context():
        upgrade()
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.engine.dispose()


def test_the_migration_keys_the_institutions_already_registered(blank_database_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": blank_database_url})
    with app.app_context():
        upgrade(revision="0011_target_version")
        db.session.execute(text("INSERT INTO regions (code, name, name_en, kind, position) "
                                "VALUES ('440981', '高州市', 'Gaozhou City', 'county_city', 2)"))
        db.session.execute(text(
            "INSERT INTO institutions (code, kind, name, region_code, address, coord_source, opened_on, "
            "contact_person, phone, note, special_support, two_in_one, version, created_at, updated_at) "
            "VALUES ('YL0000001', 'eldercare', '长坡镇敬老院', '440981', '', '', '2020-01-01', '', '', '', "
            "false, false, 1, '2026-01-01', '2026-01-01')"))
        db.session.commit()
        upgrade()
        assert db.session.scalar(select(InstitutionSearchKey.sort_key)) == "chang po zhen jing lao yuan"
        assert len(list(db.session.scalars(name_search.matching_ids("cpz")))) == 1
        db.session.remove()
        db.engine.dispose()
